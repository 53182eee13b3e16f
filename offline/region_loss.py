"""Region-loss RTO: how long bringing the platform up in the DR region takes (``ttbt2:drActive``).

At a loss of the primary region the pilot light (network, keys, replicated backups, images) is
already in the DR region; what is missing is what ``ttbt2:drActive`` adds: the EKS cluster and
its nodes, the add-ons, the services and Argo CD, the database restored from the replicated
backups, and CloudFront's failover origin (:mod:`stacks.layers.dr_active`). The recovery is one
``pulumi up`` with the switch set, so the region-loss RTO is the critical path of that update:

- the layer is what the update creates or changes: the resources of the stack rendered with
  ``ttbt2:drActive: true`` that the same stack rendered with ``false`` lacks or has with other
  inputs (:func:`dr_layer`, through :func:`offline.diff.diff_graphs`);
- the path runs through the full graph of the active stack (:func:`offline.rto.estimate_rto`),
  with every resource outside the layer already running (no time, its place in the ordering
  kept) and every resource of the layer timed from :mod:`offline.restore_times`; the database
  takes its restore figure, being restored from the replicated automated backups.

The figure is the same whichever way the stack is set: with ``ttbt2:drActive`` false it is how
long the failover takes from the moment the switch is set; with it true the layer is up and the
failover itself is CloudFront's (seconds, per request), the figure being what the layer took and
takes again if it has to be rebuilt. It is compared with ``ttbt2:rtoObjectiveMinutes``; above it
the preview fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from offline.diff import diff_graphs
from offline.graph import StackGraph
from offline.rto import RtoEstimate, estimate_rto, path_lines

DR_ACTIVE_KEY = "ttbt2:drActive"
OBJECTIVE_KEY = "ttbt2:rtoObjectiveMinutes"


def dr_layer(active: StackGraph, standby: StackGraph) -> frozenset[str]:
    """URNs of ``active`` that the update from ``standby`` creates, updates or replaces."""
    return frozenset(
        change.urn for change in diff_graphs(standby, active).changes if change.op != "delete"
    )


@dataclass(frozen=True)
class RegionLossEstimate:
    """The critical path of the DR layer, and whether the stack already has it up."""

    estimate: RtoEstimate
    dr_active: bool
    layer_size: int
    """How many resources the layer creates or changes."""

    @property
    def within_objective(self) -> bool:
        """True when the estimate is at most ``ttbt2:rtoObjectiveMinutes``."""
        return self.estimate.within_objective

    def failure(self) -> str | None:
        """Why the estimate fails the objective (naming its key), or None when it meets it."""
        if self.within_objective:
            return None
        est = self.estimate
        steps = ", ".join(f"{s.name} ({s.type}, {s.minutes:g} min)" for s in est.longest_steps())
        return (
            f"region-loss RTO of stack '{est.stack}' is estimated at {est.total_minutes:g} min, "
            f"above {OBJECTIVE_KEY} ({est.objective_minutes:g} min); longest steps: {steps}"
        )


def estimate_region_loss(
    active: StackGraph, standby: StackGraph, *, objective: float, dr_active: bool
) -> RegionLossEstimate:
    """The region-loss RTO from the stack rendered with the DR region active and standing by.

    ``dr_active`` says which of the two the stack's own configuration is (for the report's
    wording only: the figure is the same). Raises :class:`offline.rto.RtoGraphError` on a
    dependency cycle.
    """
    layer = dr_layer(active, standby)
    return RegionLossEstimate(
        estimate_rto(active, objective=objective, timed=layer),
        dr_active=dr_active,
        layer_size=len(layer),
    )


def format_region_loss(result: RegionLossEstimate) -> list[str]:
    """The report section: the region-loss RTO line, what it measures, the critical path."""
    est = result.estimate
    verdict = "✅" if result.within_objective else "❌"
    if result.dr_active:
        meaning = (
            f"{DR_ACTIVE_KEY} is true: the DR region's layer is up and CloudFront fails over to "
            "it; this is how long rebuilding that layer takes"
        )
    else:
        meaning = (
            f"{DR_ACTIVE_KEY} is false: set it and run `pulumi up`; this is how long that "
            "update takes"
        )
    lines = [
        f"Region-loss RTO: {verdict} {est.total_minutes:g} min "
        f"(objective {OBJECTIVE_KEY} {est.objective_minutes:g} min)",
        f"    {meaning} ({result.layer_size} resources created or changed; critical path, "
        "planning figures, not a measurement)",
        *path_lines(est),
    ]
    failure = result.failure()
    if failure:
        lines.append(f"    {failure}")
    return lines
