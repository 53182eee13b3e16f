"""Deployment events of the application pipeline (``.github/workflows/app-pipeline.yml``).

Standard library only: the deploy jobs run it on a bare runner, after a sparse checkout.

``wait``
    Polls the service's public version endpoint until it serves the revision just deployed,
    many answers in a row (the canary fully promoted), or until the revision, once seen, has
    stopped answering for long enough (the canary was aborted and rolled back), or times out.
    GitOps: the pipeline never talks to the cluster, and Argo CD's API is not reachable from
    outside it (ClusterIP only, ``components/k8s/gitops.py``), so the public endpoint is the
    only witness it has. A rollback is timed by that witness too: from the first answer of the
    new revision (the bad canary live) to the first answer of the unbroken run of previous
    ones that follows its last answer (traffic back on the stable version).

``push``
    Records one deployment on the Prometheus Pushgateway, in the metrics the Deployments
    dashboard queries (``components/monitoring/dashboards.py``, "Metric contract") and the
    delivery recording rules and alerts read (``components/monitoring/alerts.py``, "Releases
    followed by errors"; ``--service`` must be the service's catalog name, the ``service``
    label of its HTTP metrics, for the two to join):

    * ``ttbt2_deployments_total{environment,outcome}`` (counter),
    * ``ttbt2_deployment_lead_time_seconds`` (histogram, commit to running in production),
    * ``ttbt2_hotfixes_total`` (counter),
    * ``ttbt2_release_validation_seconds`` (gauge, staging ready to production approval),
    * ``ttbt2_rollback_duration_seconds`` (histogram, bad canary live to previous version
      serving alone, as ``wait`` measured it).

    A Pushgateway keeps the last value pushed per group and cannot add, so a counter pushed
    as ``1`` by every run would never increase. Each push therefore reads the group's current
    values (``GET /api/v1/metrics``), adds this event and replaces the group (``PUT``). One
    group per service and environment (``job="ttbt2-delivery"``); the pipeline's deploy jobs
    hold a concurrency group per service and environment, so no two runs write one group at
    once. A Pushgateway restart without persistence resets the counters, which Prometheus'
    ``increase()`` treats as an ordinary counter reset.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

JOB = "ttbt2-delivery"
ENVIRONMENTS = ("staging", "production")
OUTCOMES = ("success", "failure")

DEPLOYMENTS = "ttbt2_deployments_total"
HOTFIXES = "ttbt2_hotfixes_total"
LEAD_TIME = "ttbt2_deployment_lead_time_seconds"
VALIDATION = "ttbt2_release_validation_seconds"
ROLLBACK = "ttbt2_rollback_duration_seconds"

# Bucket edges include the dashboard target (2 h) so a quantile crossing it falls on an edge
# instead of being interpolated across it.
LEAD_TIME_BUCKETS = (300.0, 900.0, 1800.0, 3600.0, 5400.0, 7200.0, 14400.0, 43200.0, 86400.0)
# Likewise the rollback target (seed 4.10.1: under 10 minutes).
ROLLBACK_BUCKETS = (60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
ROLLED_BACK_AFTER = 90
"""Answers in a row without the new revision, after it was seen, that prove a rollback. At a
10 % canary weight such a run happens by chance about once in 13,000 canaries (0.9 ** 90); at
5 %, once in a hundred: a service whose first step is below 10 % should pass a larger
``--rolled-back-after``."""

_HELP = {
    DEPLOYMENTS: "Deployments by environment and outcome (success or failure).",
    HOTFIXES: "Deployments flagged as hotfixes.",
    LEAD_TIME: "Time from commit to running in production, in seconds.",
    VALIDATION: "Duration of the last release validation (checks plus sign-off), in seconds.",
    ROLLBACK: "Time from a new revision first serving to the previous one serving alone again.",
}


class EventError(Exception):
    """A bad argument or an unusable answer from the Pushgateway."""


@dataclass
class Histogram:
    """A cumulative Prometheus histogram: ``buckets`` maps each finite upper edge to a count."""

    edges: tuple[float, ...]
    buckets: dict[float, int] = field(default_factory=dict)
    count: int = 0
    total: float = 0.0

    def observe(self, value: float) -> None:
        """Add one observation (cumulative buckets: every edge at or above it)."""
        if value < 0 or not math.isfinite(value):
            raise EventError(f"a duration must be a finite number >= 0, got {value}")
        for edge in self.edges:
            self.buckets[edge] = self.buckets.get(edge, 0) + (1 if value <= edge else 0)
        self.count += 1
        self.total += value


@dataclass
class State:
    """Everything the Pushgateway holds for one service in one environment."""

    deployments: dict[str, int] = field(default_factory=dict)
    hotfixes: int = 0
    lead_time: Histogram = field(default_factory=lambda: Histogram(LEAD_TIME_BUCKETS))
    validation: float | None = None
    rollback: Histogram = field(default_factory=lambda: Histogram(ROLLBACK_BUCKETS))


@dataclass(frozen=True)
class Event:
    """One deployment as the pipeline saw it."""

    outcome: str
    hotfix: bool = False
    lead_time_seconds: float | None = None
    validation_seconds: float | None = None
    rollback_seconds: float | None = None


@dataclass(frozen=True)
class Verdict:
    """How a rollout ended, as the version endpoint showed it.

    ``result`` is ``healthy``, ``rolled-back`` or ``timeout``; ``rollback_seconds`` is set for
    ``rolled-back`` only.
    """

    result: str
    rollback_seconds: float | None = None


# ---------------------------------------------------------------------------------------------
# Pushgateway


def _number(value: Any) -> float:
    """A sample value as the Pushgateway JSON API gives it (a string)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise EventError(f"not a number in the Pushgateway answer: {value!r}") from None


def _histogram(family: Mapping[str, Any] | None, edges: tuple[float, ...]) -> Histogram:
    hist = Histogram(edges)
    metrics = (family or {}).get("metrics") or []
    if not metrics:
        return hist
    sample = metrics[0]
    known = {_number(edge): int(_number(n)) for edge, n in (sample.get("buckets") or {}).items()}
    # Edges added since the last push start from the count of the next lower edge.
    running = 0
    for edge in edges:
        running = known.get(edge, running)
        hist.buckets[edge] = running
    hist.count = int(_number(sample.get("count", 0)))
    hist.total = _number(sample.get("sum", 0))
    return hist


def parse_state(answer: Mapping[str, Any], environment: str, service: str) -> State:
    """The group ``job=ttbt2-delivery,environment,service`` from ``GET /api/v1/metrics``."""
    if answer.get("status") != "success" or not isinstance(answer.get("data"), list):
        raise EventError(f"unexpected Pushgateway answer: {str(answer)[:200]}")
    wanted = {"job": JOB, "environment": environment, "service": service}
    for group in answer["data"]:
        labels = group.get("labels") or {}
        # Exactly this grouping key; a label the gateway adds empty (instance="") is no key.
        if any(labels.get(k) != v for k, v in wanted.items()) or any(
            value for key, value in labels.items() if key not in wanted
        ):
            continue
        state = State()
        for sample in (group.get(DEPLOYMENTS) or {}).get("metrics") or []:
            outcome = (sample.get("labels") or {}).get("outcome")
            if outcome in OUTCOMES:
                state.deployments[outcome] = int(_number(sample.get("value")))
        for sample in (group.get(HOTFIXES) or {}).get("metrics") or []:
            state.hotfixes = int(_number(sample.get("value")))
        state.lead_time = _histogram(group.get(LEAD_TIME), LEAD_TIME_BUCKETS)
        state.rollback = _histogram(group.get(ROLLBACK), ROLLBACK_BUCKETS)
        for sample in (group.get(VALIDATION) or {}).get("metrics") or []:
            state.validation = _number(sample.get("value"))
        return state
    return State()


def apply(state: State, event: Event) -> State:
    """``state`` with ``event`` added (mutated in place and returned)."""
    if event.outcome not in OUTCOMES:
        raise EventError(f"outcome must be one of {OUTCOMES}, got {event.outcome!r}")
    state.deployments[event.outcome] = state.deployments.get(event.outcome, 0) + 1
    if event.hotfix:
        state.hotfixes += 1
    if event.lead_time_seconds is not None:
        state.lead_time.observe(event.lead_time_seconds)
    if event.validation_seconds is not None:
        if event.validation_seconds < 0:
            raise EventError("validation time must be >= 0")
        state.validation = event.validation_seconds
    if event.rollback_seconds is not None:
        if event.outcome != "failure":
            raise EventError("a rollback time belongs to a failed deployment (outcome failure)")
        state.rollback.observe(event.rollback_seconds)
    return state


def _fmt(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _render_histogram(name: str, hist: Histogram) -> list[str]:
    lines = [f"# HELP {name} {_HELP[name]}", f"# TYPE {name} histogram"]
    lines += [
        f'{name}_bucket{{le="{_fmt(edge)}"}} {hist.buckets.get(edge, 0)}' for edge in hist.edges
    ]
    lines += [f'{name}_bucket{{le="+Inf"}} {hist.count}', f"{name}_sum {_fmt(hist.total)}"]
    lines.append(f"{name}_count {hist.count}")
    return lines


def render(state: State) -> str:
    """The whole group in the Prometheus text format (a PUT replaces every metric of it).

    The grouping labels (job, environment, service) come from the URL, not from the samples.
    """
    lines = [f"# HELP {DEPLOYMENTS} {_HELP[DEPLOYMENTS]}", f"# TYPE {DEPLOYMENTS} counter"]
    lines += [f'{DEPLOYMENTS}{{outcome="{o}"}} {state.deployments.get(o, 0)}' for o in OUTCOMES]
    lines += [f"# HELP {HOTFIXES} {_HELP[HOTFIXES]}", f"# TYPE {HOTFIXES} counter"]
    lines.append(f"{HOTFIXES} {state.hotfixes}")
    lines += _render_histogram(LEAD_TIME, state.lead_time)
    lines += _render_histogram(ROLLBACK, state.rollback)
    if state.validation is not None:
        lines += [f"# HELP {VALIDATION} {_HELP[VALIDATION]}", f"# TYPE {VALIDATION} gauge"]
        lines.append(f"{VALIDATION} {_fmt(state.validation)}")
    return "\n".join(lines) + "\n"


def group_url(gateway: str, environment: str, service: str) -> str:
    """The Pushgateway URL of one service's group in one environment."""
    if environment not in ENVIRONMENTS:
        raise EventError(f"environment must be one of {ENVIRONMENTS}, got {environment!r}")
    if not service:
        raise EventError("service must not be empty")
    quote = urllib.parse.quote
    return (
        f"{gateway.rstrip('/')}/metrics/job/{JOB}"
        f"/environment/{quote(environment, safe='')}/service/{quote(service, safe='')}"
    )


Fetch = Callable[[urllib.request.Request], bytes]


def _fetch(request: urllib.request.Request) -> bytes:
    """Send ``request``; the URL comes from workflow configuration (http or https only)."""
    if urllib.parse.urlsplit(request.full_url).scheme not in ("http", "https"):
        raise EventError(f"only http(s) URLs are allowed: {request.full_url}")
    with urllib.request.urlopen(request, timeout=30) as response:
        body: bytes = response.read()
        return body


def push(
    gateway: str,
    environment: str,
    service: str,
    event: Event,
    *,
    fetch: Fetch = _fetch,
) -> str:
    """Add ``event`` to the service's group on ``gateway``; returns the text pushed.

    No credential: the gateway admits the CI runners by their security group (seed 4.9.1).
    """
    headers: dict[str, str] = {}
    url = group_url(gateway, environment, service)
    read = urllib.request.Request(f"{gateway.rstrip('/')}/api/v1/metrics", headers=headers)
    state = apply(parse_state(json.loads(fetch(read)), environment, service), event)
    body = render(state)
    write = urllib.request.Request(
        url,
        data=body.encode(),
        method="PUT",
        headers={**headers, "Content-Type": "text/plain; version=0.0.4"},
    )
    fetch(write)
    return body


# ---------------------------------------------------------------------------------------------
# rollout


def serves(body: bytes, revision: str) -> bool:
    """Whether a version endpoint's answer names ``revision``, the commit the image comes from."""
    return revision.encode() in body


def wait(
    url: str,
    revision: str,
    *,
    timeout: float,
    consecutive: int = 10,
    rolled_back_after: int = ROLLED_BACK_AFTER,
    interval: float = 5.0,
    fetch: Fetch = _fetch,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Verdict:
    """Poll ``url`` until the rollout of ``revision`` is over, or ``timeout`` seconds pass.

    - ``healthy``: ``consecutive`` answers in a row serve ``revision``. During an Argo Rollouts
      canary only a share of the requests reach the new version, so one answer naming it
      proves little; ten in a row mean the canary was promoted (at 50 % canary weight, ten in
      a row happen by chance one time in a thousand).
    - ``rolled-back``: ``revision`` was served, then ``rolled_back_after`` answers in a row
      did not serve it (see :data:`ROLLED_BACK_AFTER`). ``rollback_seconds`` runs from its
      first answer to the first answer of that run. Errors (a pod restarting, a 5xx) neither
      extend nor break the run: they say nothing about which version serves.
    - ``timeout``: the deadline passed first (the sync never happened, or the revision never
      served).
    """
    if consecutive < 1 or rolled_back_after < 1:
        raise EventError("consecutive and rolled_back_after must be at least 1")
    deadline = clock() + timeout
    streak = 0
    first_seen: float | None = None
    previous_since = 0.0
    previous_run = 0
    while True:
        try:
            hit = serves(fetch(urllib.request.Request(url)), revision)
            answered = True
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            print(f"{url}: {exc}", file=sys.stderr)
            hit = answered = False
        now = clock()  # when this answer came: the times below and the deadline use it
        streak = streak + 1 if hit else 0
        if hit:
            first_seen = now if first_seen is None else first_seen
            previous_run = 0
        elif answered and first_seen is not None:
            previous_since = now if previous_run == 0 else previous_since
            previous_run += 1
        if streak >= consecutive:
            return Verdict("healthy")
        if first_seen is not None and previous_run >= rolled_back_after:
            return Verdict("rolled-back", previous_since - first_seen)
        if now >= deadline:
            return Verdict("timeout")
        sleep(interval)


# ---------------------------------------------------------------------------------------------
# command line


def _optional_seconds(text: str) -> float | None:
    return float(text) if text.strip() else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; exit 0 on success, 1 on a failed rollout or push, 2 on bad arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p_push = sub.add_parser("push", help="record one deployment on the Pushgateway")
    p_push.add_argument("--gateway", required=True)
    p_push.add_argument("--environment", required=True, choices=ENVIRONMENTS)
    p_push.add_argument("--service", required=True)
    p_push.add_argument("--outcome", required=True, choices=OUTCOMES)
    p_push.add_argument("--hotfix", default="false", choices=("true", "false"))
    # Empty strings are accepted so a workflow can pass a step output that may be unset.
    p_push.add_argument("--lead-time-seconds", type=_optional_seconds, default=None)
    p_push.add_argument("--validation-seconds", type=_optional_seconds, default=None)
    p_push.add_argument("--rollback-seconds", type=_optional_seconds, default=None)

    p_wait = sub.add_parser("wait", help="wait until a URL serves a revision")
    p_wait.add_argument("--url", required=True)
    p_wait.add_argument("--revision", required=True)
    p_wait.add_argument("--timeout-minutes", type=float, default=30.0)
    p_wait.add_argument("--consecutive", type=int, default=10)
    p_wait.add_argument("--rolled-back-after", type=int, default=ROLLED_BACK_AFTER)
    p_wait.add_argument(
        "--rollback-output",
        default="",
        help="append rollback-seconds=<s> (empty unless rolled back) to this file, "
        "such as $GITHUB_OUTPUT",
    )
    p_wait.add_argument("--interval-seconds", type=float, default=5.0)

    args = parser.parse_args(argv)
    try:
        if args.command == "push":
            event = Event(
                outcome=args.outcome,
                hotfix=args.hotfix == "true",
                lead_time_seconds=args.lead_time_seconds,
                validation_seconds=args.validation_seconds,
                rollback_seconds=args.rollback_seconds,
            )
            print(push(args.gateway, args.environment, args.service, event))
            return 0
        with contextlib.ExitStack() as files:
            # Opened before the wait: an unwritable file is a bad argument, found before, not
            # after, half an hour of polling.
            output = None
            if args.rollback_output:
                try:
                    output = files.enter_context(open(args.rollback_output, "a", encoding="utf-8"))
                except OSError as exc:
                    raise EventError(
                        f"--rollback-output {args.rollback_output!r} cannot be written: "
                        f"{exc.strerror}"
                    ) from None
            verdict = wait(
                args.url,
                args.revision,
                timeout=args.timeout_minutes * 60,
                consecutive=args.consecutive,
                rolled_back_after=args.rolled_back_after,
                interval=args.interval_seconds,
            )
            if output is not None:
                seconds = (
                    "" if verdict.rollback_seconds is None else f"{verdict.rollback_seconds:.0f}"
                )
                output.write(f"rollback-seconds={seconds}\n")
    except EventError as exc:
        print(f"::error::{exc}", file=sys.stderr)
        return 2
    except (urllib.error.URLError, TimeoutError) as exc:
        print(f"::error::{exc}", file=sys.stderr)
        return 1
    print(verdict.result)
    return 0 if verdict.result == "healthy" else 1


if __name__ == "__main__":
    sys.exit(main())
