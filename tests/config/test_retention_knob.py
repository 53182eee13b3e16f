"""``dbBackupRetentionDays`` is the one knob for how long backups are kept, in every store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from offline.engine import run_stack
from offline.graph import StackGraph
from offline.stackfile import load_stack
from tests.conftest import ROOT, of_type, one

PLAN = "aws:backup/plan:Plan"
SCHEDULE = "kubernetes:velero.io/v1:Schedule"


def _render(stack_file: Callable[..., Path], days: int) -> StackGraph:
    path = stack_file("staging", base="staging", dbBackupRetentionDays=days)
    return run_stack(ROOT, load_stack(ROOT, "staging", path), preview=False)


def test_database_backup_rule_and_velero_keep_backups_the_same_days(
    stack_file: Callable[..., Path],
) -> None:
    """21 days is neither staging's floor (14) nor the maximum (35): each store follows it."""
    graph = _render(stack_file, 21)
    db = one(graph, "aws:rds/instance:Instance")
    assert db.props["backupRetentionPeriod"] == 21
    [daily] = [r for r in one(graph, PLAN).props["rules"] if r["ruleName"] == "daily"]
    assert daily["lifecycle"] == {"deleteAfter": 21}
    [velero_daily] = [
        s for s in of_type(graph, SCHEDULE) if s.props["metadata"]["name"].endswith("daily")
    ]
    assert velero_daily.props["spec"]["template"]["ttl"] == f"{21 * 24}h0m0s"
