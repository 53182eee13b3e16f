"""Worst-case time from a bad canary to a completed rollback (seed 4.10.1: under 10 minutes).

The figure follows the Argo Rollouts behaviour that ``components/k8s/service_delivery.py``
configures:

1. **Steps before the analysis.** Background analysis starts when the rollout reaches step
   ``startingStep``; every timed pause before that step runs with no analysis watching, so it
   counts whole. A ``pauseUntilPromoted`` step before it waits for a person: the time is
   unbounded and the service is refused. ``setWeight`` steps take no time of their own: Argo
   shifts traffic to the canary only once its pods are available, and a canary that never
   becomes available gets no traffic (``progressDeadlineAbort`` then aborts it).
2. **Initial delay.** The AnalysisRun waits ``initialDelaySeconds`` before its first
   measurement.
3. **Metrics lag.** A failed request shows in Prometheus only after the next scrape
   (:data:`SCRAPE_INTERVAL_SECONDS`, the ServiceMonitor's interval).
4. **Detection.** A metric fails after ``failureLimit + 1`` failed measurements, taken every
   ``intervalSeconds``. The worst case counts ``failureLimit + 1`` whole intervals: the
   measurement taken just before the canary turns bad passes, so the failures start one
   interval later.
5. **Query timeout.** The last measurement may wait :data:`QUERY_TIMEOUT_SECONDS` for
   Prometheus.
6. **Traffic shift.** On abort the controller sets the ALB action back to 100 % stable; the
   AWS Load Balancer Controller rewrites the listener rule (:data:`TRAFFIC_SHIFT_SECONDS`).
   The stable ReplicaSet is never scaled down during a canary, so no pod has to start.
7. **Canary drain.** The canary ReplicaSet is scaled down after
   :data:`ABORT_SCALE_DOWN_DELAY_SECONDS`, and the ALB drains its targets for
   :data:`DEREGISTRATION_DELAY_SECONDS`.

The terms are summed, never overlapped, so the figure is an upper bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.delivery.spec import ServiceSpec

ROLLBACK_LIMIT_SECONDS = 600
"""Seed 4.10.1: a rollback completes in under 10 minutes."""
SCRAPE_INTERVAL_SECONDS = 15
"""Scrape interval of every service's ServiceMonitor."""
QUERY_TIMEOUT_SECONDS = 10
"""Timeout of one Prometheus query of the AnalysisTemplate (its ``provider.prometheus.timeout``)."""
TRAFFIC_SHIFT_SECONDS = 60
"""Rollout controller reconcile plus the AWS Load Balancer Controller's listener-rule update."""
ABORT_SCALE_DOWN_DELAY_SECONDS = 30
"""The Rollout's ``abortScaleDownDelaySeconds``: the canary keeps its pods while the ALB's
weights change, so no request is sent to a pod that is already gone."""
DEREGISTRATION_DELAY_SECONDS = 30
"""The target groups' ``deregistration_delay.timeout_seconds`` (the ALB default is 300 s)."""


@dataclass(frozen=True)
class RollbackBreakdown:
    """Each term of a service's worst-case rollback time, in seconds.

    ``total_seconds`` is ``None`` when the time is unbounded (``unbounded_by`` says why).
    """

    service: str
    pauses_before_analysis: int
    initial_delay: int
    metrics_lag: int
    detection: int
    query_timeout: int
    traffic_shift: int
    abort_scale_down_delay: int
    deregistration_delay: int
    total_seconds: int | None
    unbounded_by: str = ""

    @property
    def within_limit(self) -> bool:
        """Whether the rollback completes in under :data:`ROLLBACK_LIMIT_SECONDS`."""
        return self.total_seconds is not None and self.total_seconds < ROLLBACK_LIMIT_SECONDS

    def as_dict(self) -> dict[str, object]:
        """The breakdown as plain data, for the offline report."""
        return asdict(self)

    def problem(self) -> str:
        """What is allowed, naming the service and its figure (for a config error)."""
        limit = f"a rollback under {ROLLBACK_LIMIT_SECONDS} s (seed 4.10.1)"
        if self.total_seconds is None:
            return (
                f"service {self.service}: rollback time is unbounded ({self.unbounded_by}); "
                f"needs {limit}: move startingStep before the manual pause"
            )
        return (
            f"service {self.service}: worst-case rollback takes {self.total_seconds} s "
            f"({self.describe()}); needs {limit}: shorten the pauses before startingStep, "
            "initialDelaySeconds, intervalSeconds or failureLimit"
        )

    def describe(self) -> str:
        """The sum written out, e.g. ``pauses 0 + initial delay 60 + ... = 385 s``."""
        terms = [
            ("pauses", self.pauses_before_analysis),
            ("initial delay", self.initial_delay),
            ("metrics lag", self.metrics_lag),
            ("detection", self.detection),
            ("query timeout", self.query_timeout),
            ("traffic shift", self.traffic_shift),
            ("abort scale-down delay", self.abort_scale_down_delay),
            ("deregistration", self.deregistration_delay),
        ]
        text = " + ".join(f"{label} {value}" for label, value in terms)
        total = "unbounded" if self.total_seconds is None else f"{self.total_seconds} s"
        return f"{text} = {total}"


def rollback_breakdown(service: ServiceSpec) -> RollbackBreakdown:
    """The worst-case rollback time of ``service``, term by term (see the module docstring)."""
    analysis = service.canary.analysis
    before = service.canary.steps[: analysis.starting_step]
    pauses = sum(step.pause_seconds or 0 for step in before)
    manual = [i for i, step in enumerate(before) if step.pause_until_promoted]
    detection = (analysis.failure_limit + 1) * analysis.interval_seconds
    total = (
        pauses
        + analysis.initial_delay_seconds
        + SCRAPE_INTERVAL_SECONDS
        + detection
        + QUERY_TIMEOUT_SECONDS
        + TRAFFIC_SHIFT_SECONDS
        + ABORT_SCALE_DOWN_DELAY_SECONDS
        + DEREGISTRATION_DELAY_SECONDS
    )
    unbounded_by = (
        f"step {manual[0]} waits for a manual promotion before the analysis starts at step "
        f"{analysis.starting_step}"
        if manual
        else ""
    )
    return RollbackBreakdown(
        service=service.name,
        pauses_before_analysis=pauses,
        initial_delay=analysis.initial_delay_seconds,
        metrics_lag=SCRAPE_INTERVAL_SECONDS,
        detection=detection,
        query_timeout=QUERY_TIMEOUT_SECONDS,
        traffic_shift=TRAFFIC_SHIFT_SECONDS,
        abort_scale_down_delay=ABORT_SCALE_DOWN_DELAY_SECONDS,
        deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
        total_seconds=None if manual else total,
        unbounded_by=unbounded_by,
    )
