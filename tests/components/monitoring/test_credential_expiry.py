"""Third-party credentials' expiry: the recorded series and the alert, run by ``promtool``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.monitoring.alerts import alerts_by_name, rule_groups
from components.monitoring.credential_expiry import GROUP, METRIC, expiry_rule_group

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not on PATH")
DAY = 86400


def test_one_constant_series_per_consumer() -> None:
    group = expiry_rule_group({"alertmanager-smtp-password": 20 * DAY, "b": 1})
    assert group is not None and group["name"] == GROUP
    assert group["rules"] == [
        {
            "record": METRIC,
            "expr": f"vector({20 * DAY})",
            "labels": {"consumer": "alertmanager-smtp-password"},
        },
        {"record": METRIC, "expr": "vector(1)", "labels": {"consumer": "b"}},
    ]


def test_no_expiry_no_group() -> None:
    assert expiry_rule_group({}) is None


@pytest.mark.parametrize("when", [0, -5, True, 1.5])
def test_an_expiry_that_is_not_positive_epoch_seconds_is_refused(when: Any) -> None:
    with pytest.raises(ValueError, match="alertmanager-smtp-password"):
        expiry_rule_group({"alertmanager-smtp-password": when})


def test_the_alert_reads_the_recorded_series() -> None:
    alert = alerts_by_name()["CredentialExpiringSoon"]
    assert METRIC in alert.expr and "14 * 86400" in alert.expr
    assert alert.team == "sre" and alert.severity == "warning"


def _promtool_case(tmp_path: Path, *, eval_days: int, fires: bool) -> bool:
    """A credential expiring on day 20, evaluated on day ``eval_days``."""
    assert PROMTOOL is not None
    alert = alerts_by_name()["CredentialExpiringSoon"]
    recorded = expiry_rule_group({"alertmanager-smtp-password": 20 * DAY})
    assert recorded is not None
    (health,) = [g for g in rule_groups() if g["name"] == "ttbt2.health"]
    only = {**health, "rules": [r for r in health["rules"] if r.get("alert") == alert.name]}
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": [recorded, only]}, sort_keys=False))
    left = 20 - eval_days
    expected = {
        "exp_labels": {**alert.labels(), "consumer": "alertmanager-smtp-password"},
        "exp_annotations": {
            "summary": alert.summary,
            "description": "The credential of alertmanager-smtp-password (Vault KV) expires in "
            f"{left}d 0h 0m 0s; once expired, alerts stop reaching that channel.",
            "runbook_url": alert.runbook_url,
        },
    }
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "5m",
        "tests": [
            {
                "interval": "5m",
                "input_series": [],
                "alert_rule_test": [
                    {
                        "eval_time": f"{eval_days}d",
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
def test_fires_thirteen_days_before_the_expiry(tmp_path: Path) -> None:
    assert _promtool_case(tmp_path, eval_days=7, fires=True)


@needs_promtool
def test_quiet_fifteen_days_before_the_expiry(tmp_path: Path) -> None:
    assert _promtool_case(tmp_path, eval_days=5, fires=False)


@needs_promtool
def test_the_case_fails_when_the_expectation_is_wrong(tmp_path: Path) -> None:
    """Guards the harness: the firing scenario expected quiet must fail."""
    assert not _promtool_case(tmp_path, eval_days=7, fires=False)
