"""The recovery drill's metrics on the dashboard, in the alert and in the metric catalog.

The "TTBT2 / Recovery drills" dashboard and RecoveryDrillOverdue read what
scripts/recovery_drill.py pushes; the catalog names it as their producer.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.k8s import pushgateway
from components.monitoring.alerts import alerts_by_name, rule_groups
from components.monitoring.dashboards import dashboards, panels, queries
from policies.ttbt2_policies.metric_catalog import (
    DRILL_FAMILIES,
    DRILL_SOURCE,
    IMAGES,
    image_key,
)
from scripts import recovery_drill

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not on PATH")

_FULL = {
    "objectives_met": True,
    "rto_seconds": 3600,
    "rpo_seconds_by_source": {"database": 120, "velero": 300, "vault": 500},
    "rto_target_seconds": 7200,
    "rpo_target_seconds": 3600,
    "region_loss_rto_minutes": 45.7,
}


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(ttbt2_drill_[a-z_]+)\b", expr))


# --- the catalog --------------------------------------------------------------------------------


def test_catalog_lists_exactly_what_the_drill_pushes() -> None:
    pushed = dict(
        re.findall(
            r"^# TYPE (\S+) (\S+)$", recovery_drill.render(_FULL, now=1.0), flags=re.MULTILINE
        )
    )
    assert pushed == {f.name: f.kind for f in DRILL_FAMILIES}
    assert DRILL_SOURCE == "scripts/recovery_drill.py"


def test_the_pushgateway_produces_the_drill_families() -> None:
    key = image_key(pushgateway.IMAGE)
    assert key is not None
    (part,) = [p for p in IMAGES[key].parts if p.name == "recovery drill pushes"]
    assert part.families() == DRILL_FAMILIES


# --- the dashboard ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    return dashboards()["recovery"]


def _panel(board: dict[str, Any], title: str) -> dict[str, Any]:
    (panel,) = [p for p in panels(board) if p.get("title") == title]
    return panel


def _steps(panel: dict[str, Any]) -> list[tuple[float | None, str]]:
    return [
        (s["value"], s["color"]) for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    ]


def test_recovery_dashboard_reads_only_catalogued_drill_metrics(board: dict[str, Any]) -> None:
    assert (board["uid"], board["title"]) == ("ttbt2-recovery", "TTBT2 / Recovery drills")
    read = set().union(*(_metric_names(q) for q in queries(board)))
    assert read == {f.name for f in DRILL_FAMILIES}


def test_recovery_panels_are_coloured_by_the_objectives(board: dict[str, Any]) -> None:
    rto = _panel(board, "Achieved RTO")
    assert rto["targets"][0]["expr"] == "max(ttbt2_drill_rto_seconds)"
    assert _steps(rto) == [(None, "green"), (7200, "red")]
    rpo = _panel(board, "Achieved RPO (worst source)")
    assert rpo["targets"][0]["expr"] == "max(ttbt2_drill_rpo_seconds)"
    assert _steps(rpo) == [(None, "green"), (3600, "red")]
    since = _panel(board, "Since the last successful drill")
    assert "time() - max(ttbt2_drill_last_success_timestamp_seconds)" in since["targets"][0]["expr"]
    assert _steps(since) == [(None, "green"), (100 * 86400, "red")]
    history = _panel(board, "RPO by source against its objective")
    assert [t["legendFormat"] for t in history["targets"]] == ["{{source}}", "objective"]


# --- the alert ----------------------------------------------------------------------------------


def test_overdue_alert_reads_the_last_success() -> None:
    alert = alerts_by_name()["RecoveryDrillOverdue"]
    assert _metric_names(alert.expr) == {recovery_drill.LAST_SUCCESS}
    assert alert.category == "recovery" and alert.team == "sre"


def _promtool_case(tmp_path: Path, values: str, *, fires: bool) -> bool:
    """The last success pushed at time 0 (or as ``values`` says), evaluated at day 101."""
    assert PROMTOOL is not None
    alert = alerts_by_name()["RecoveryDrillOverdue"]
    # Only the recovery group: the others evaluate every minute, for no purpose over 101 days.
    groups = [g for g in rule_groups() if g["name"] == "ttbt2.recovery"]
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    expected = {
        "exp_labels": alert.labels(),
        "exp_annotations": {
            "summary": alert.summary,
            "description": "The last recovery drill that restored everything within the "
            "objectives ended 101d 0h 0m 0s ago (seed 4.7: a drill every quarter).",
            "runbook_url": alert.runbook_url,
        },
    }
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1h",
        "tests": [
            {
                "interval": "1h",
                "input_series": [
                    {"series": "ttbt2_drill_last_success_timestamp_seconds", "values": values}
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "2424h",  # 101 days
                        "alertname": alert.name,
                        "exp_alerts": [expected] if fires else [],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    done = subprocess.run(
        [PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    print(done.stdout, done.stderr)
    return done.returncode == 0


@needs_promtool
def test_overdue_fires_101_days_after_the_last_success(tmp_path: Path) -> None:
    assert _promtool_case(tmp_path, "0x2430", fires=True)


@needs_promtool
def test_overdue_is_quiet_after_a_recent_success(tmp_path: Path) -> None:
    # A success at day 95 (2280 h = 8208000 s): six days old at day 101.
    assert _promtool_case(tmp_path, "0x2279 8208000x150", fires=False)


@needs_promtool
def test_overdue_case_fails_when_the_expectation_is_wrong(tmp_path: Path) -> None:
    """Guards the harness: the firing scenario expected quiet must fail."""
    assert not _promtool_case(tmp_path, "0x2430", fires=False)
