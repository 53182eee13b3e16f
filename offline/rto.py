"""RTO estimate: the critical path of restoring prod in the DR region, from the resource graph.

Restoring prod in the DR region means running the program there with the data stores restored
from their copies. Resources are created in dependency order and in parallel where the graph
allows, so the time to restore is the longest path, by duration, through the dependency DAG:

- edges are the recorded ``dependencies``, the resource's provider (Kubernetes objects wait
  for the cluster through the provider's kubeconfig), and parent/child: a component completes
  when its children do, so whatever depends on a component waits for all of them;
- each resource in the recovery scope takes its duration from :mod:`offline.restore_times`:
  the restore figure for a store restored from a backup (RDS from a snapshot), the creation
  figure otherwise; resources outside the scope (by default GCP and Azure, which a loss of the
  AWS region leaves standing) take no time but keep their place in the ordering.

The estimate is compared with an objective (seed 4.7: 120 minutes); an estimate above it is a
failure whose message names the objective, the estimate and the three longest steps.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from offline.graph import Resource, StackGraph, provider_urn
from offline.restore_times import duration_for, is_structural

DEFAULT_OBJECTIVE_MINUTES = 120.0
"""Seed 4.7: prod is restored in the DR region in less than two hours."""

MAX_OBJECTIVE_MINUTES = 120.0
OBJECTIVE_KEY = "ttbt2:rtoObjectiveMinutes"

DEFAULT_SCOPE_CLOUDS: frozenset[str] = frozenset({"aws", "kubernetes", "vault", "random", "tls"})
"""Packages whose resources are rebuilt in the DR region; GCP and Azure stay where they are."""

RESTORED_TYPES: frozenset[str] = frozenset({"aws:rds/instance:Instance"})
"""Types whose DR step is a restore from a copy (data copied back), not an empty creation."""


class RtoGraphError(ValueError):
    """The graph cannot be ordered (a dependency cycle); the message names the resources."""


@dataclass(frozen=True)
class Step:
    """One resource on the critical path."""

    name: str
    type: str
    urn: str
    minutes: float
    action: str
    """``restore``, ``create``, ``none`` (component or provider), ``kept`` (out of scope) or
    ``running`` (up before the recovery starts)."""
    source: str
    basis: str
    defaulted: bool = False


@dataclass(frozen=True)
class RtoEstimate:
    """The critical path, its total, and the objective it is compared with."""

    stack: str
    path: tuple[Step, ...]
    total_minutes: float
    objective_minutes: float
    defaulted_types: tuple[str, ...]

    @property
    def within_objective(self) -> bool:
        """True when the estimate is at most the objective."""
        return self.total_minutes <= self.objective_minutes

    def longest_steps(self, count: int = 3) -> list[Step]:
        """The ``count`` longest steps of the path, longest first (path order breaks ties)."""
        timed = [s for s in self.path if s.minutes > 0]
        return sorted(timed, key=lambda s: -s.minutes)[:count]

    def failure(self) -> str | None:
        """Why the estimate fails the objective, or None when it meets it."""
        if self.within_objective:
            return None
        steps = ", ".join(
            f"{s.name} ({s.type}, {_minutes(s.minutes)})" for s in self.longest_steps()
        )
        return (
            f"RTO objective of {_minutes(self.objective_minutes)} exceeded: restoring stack "
            f"'{self.stack}' in the DR region is estimated at {_minutes(self.total_minutes)}; "
            f"longest steps: {steps}"
        )


def _minutes(value: float) -> str:
    return f"{value:g} min"


def objective_minutes(value: object) -> float:
    """The RTO objective from the stack setting ``ttbt2:rtoObjectiveMinutes`` (None: default).

    Raises ValueError naming the key and what is allowed: a number above 0, at most 120.
    """
    if value is None:
        return DEFAULT_OBJECTIVE_MINUTES
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f"{OBJECTIVE_KEY} must be a number of minutes above 0 and at most "
            f"{MAX_OBJECTIVE_MINUTES:g}, got {type(value).__name__} {value!r}"
        )
    if not 0 < value <= MAX_OBJECTIVE_MINUTES:
        raise ValueError(
            f"{OBJECTIVE_KEY} must be above 0 and at most {MAX_OBJECTIVE_MINUTES:g} minutes "
            f"(seed 4.7: RTO < 2 h), got {value:g}"
        )
    return float(value)


def _ancestors(res: Resource, by_urn: Mapping[str, Resource]) -> set[str]:
    found: set[str] = set()
    parent = res.parent
    while parent is not None and parent in by_urn and parent not in found:
        found.add(parent)
        parent = by_urn[parent].parent
    return found


def predecessors(graph: StackGraph) -> dict[str, list[str]]:
    """For each URN, the URNs that must be complete before it can be: its edges in the DAG.

    A dependency on one's own ancestor component is dropped: the component completes with its
    children, so the edge would only loop back.
    """
    by_urn = graph.by_urn()
    urns = set(by_urn)
    preds: dict[str, list[str]] = {urn: [] for urn in by_urn}
    for res in graph.resources:
        ancestors = _ancestors(res, by_urn)
        edges = [d for d in res.dependencies if d in urns and d not in ancestors]
        provider = provider_urn(res, urns)
        if provider is not None and provider not in ancestors:
            edges.append(provider)
        preds[res.urn].extend(edges)
        if res.parent in urns:
            preds[res.parent].append(res.urn)
    return {urn: list(dict.fromkeys(edges)) for urn, edges in preds.items()}


def _topological(preds: Mapping[str, Sequence[str]], names: Mapping[str, str]) -> list[str]:
    """URNs in an order where every predecessor comes first; raises on a cycle."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in preds:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            urn, i = stack[-1]
            edges = preds[urn]
            if i < len(edges):
                stack[-1] = (urn, i + 1)
                nxt = edges[i]
                if state.get(nxt) == 1:
                    loop = [u for u, _ in stack]
                    cycle = [*loop[loop.index(nxt) :], nxt]
                    raise RtoGraphError(
                        "dependency cycle, the restore order cannot be computed: "
                        + " -> ".join(names.get(u, u) for u in cycle)
                    )
                if not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[urn] = 2
                order.append(urn)
                stack.pop()
    return order


def _step(res: Resource, scope: Collection[str], timed: Collection[str] | None) -> Step:
    structural = is_structural(res.type, res.custom)
    if not structural and res.cloud not in scope:
        return Step(res.name, res.type, res.urn, 0.0, "kept", "-", "outside the recovery scope")
    if not structural and timed is not None and res.urn not in timed:
        return Step(res.name, res.type, res.urn, 0.0, "running", "-", "up before the recovery")
    restore = res.type in RESTORED_TYPES
    duration, defaulted = duration_for(res.type, custom=res.custom, restore=restore)
    action = "restore" if restore and duration.minutes else "create"
    if structural:
        action = "none"
    return Step(
        res.name,
        res.type,
        res.urn,
        float(duration.minutes),
        action,
        duration.source,
        duration.basis,
        defaulted,
    )


def estimate_rto(
    graph: StackGraph,
    *,
    objective: float = DEFAULT_OBJECTIVE_MINUTES,
    scope: Collection[str] = DEFAULT_SCOPE_CLOUDS,
    timed: Collection[str] | None = None,
) -> RtoEstimate:
    """The critical path of restoring ``graph``'s stack, its total and the objective.

    ``scope`` is the set of packages (``Resource.cloud``) rebuilt in the DR region. ``timed``,
    when given, is the URNs the recovery creates or changes; every other resource is already
    running and takes no time but keeps its place in the ordering. Raises
    :class:`RtoGraphError` when the dependencies form a cycle.
    """
    by_urn = graph.by_urn()
    preds = predecessors(graph)
    order = _topological(preds, {u: r.name for u, r in by_urn.items()})
    steps = {urn: _step(by_urn[urn], scope, timed) for urn in order}
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for urn in order:
        before = max(preds[urn], key=lambda p: finish[p], default=None)
        start = finish[before] if before is not None else 0.0
        finish[urn] = start + steps[urn].minutes
        via[urn] = before
    path: list[Step] = []
    end = max(order, key=lambda u: finish[u], default=None)
    total = finish[end] if end is not None else 0.0
    while end is not None:
        path.append(steps[end])
        end = via[end]
    path.reverse()
    defaulted = sorted({s.type for s in steps.values() if s.defaulted})
    return RtoEstimate(graph.stack, tuple(path), round(total, 2), objective, tuple(defaulted))


def format_rto(estimate: RtoEstimate) -> list[str]:
    """The report section: verdict, the critical path with each step's source, defaults used."""
    verdict = "✅ within" if estimate.within_objective else "❌ over"
    lines = [
        "RTO (DR restore):",
        f"    {verdict} objective: estimate {_minutes(estimate.total_minutes)}, "
        f"objective {_minutes(estimate.objective_minutes)} (critical path, "
        "planning figures, not a measurement)",
        *path_lines(estimate),
    ]
    failure = estimate.failure()
    if failure:
        lines.append(f"    {failure}")
    return lines


def path_lines(estimate: RtoEstimate) -> list[str]:
    """The critical path, each timed step with its source, and the types given the default."""
    lines = ["    critical path:"]
    for step in estimate.path:
        if step.minutes <= 0:
            continue
        flag = " [default]" if step.defaulted else ""
        lines.append(
            f"      {_minutes(step.minutes):>9}  {step.action:<7} {step.type}: {step.name}{flag}"
        )
        lines.append(f"                 source: {step.source}; {step.basis}")
    if estimate.defaulted_types:
        lines.append(
            "    types without a figure (default used): " + ", ".join(estimate.defaulted_types)
        )
    return lines
