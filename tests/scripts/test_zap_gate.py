"""scripts/zap_gate.py: the ZAP plan of the ephemeral scan and the High-alert verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import zap_gate


def _alert(riskcode: str, name: str = "SQL Injection", plugin: str = "40018") -> dict[str, Any]:
    """An alert as ZAP's traditional JSON report writes it (codes as strings)."""
    return {
        "pluginid": plugin,
        "alert": name,
        "name": name,
        "riskcode": riskcode,
        "confidence": "2",
        "riskdesc": f"{zap_gate.RISKS[int(riskcode)]} (Medium)",
        "instances": [{"uri": "http://service:8080/api/items", "method": "GET"}],
        "count": "1",
    }


def _report(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "@programName": "ZAP",
        "site": [{"@name": "http://service:8080", "@host": "service", "alerts": list(alerts)}],
    }


# ---------------------------------------------------------------------------------------------
# the plan


def test_plan_scans_the_spec_against_the_ephemeral_target() -> None:
    """The spec's servers are replaced by the target; active scan; JSON report where checked."""
    plan = zap_gate.plan("/zap/wrk/openapi", "http://service:8080", max_minutes=15)
    jobs = {job["type"]: job.get("parameters", {}) for job in plan["jobs"]}
    assert jobs["openapi"] == {
        "apiFile": "/zap/wrk/openapi",
        "targetUrl": "http://service:8080",
        "context": "ephemeral",
    }
    assert jobs["activeScan"] == {"context": "ephemeral", "maxScanDurationInMins": 15}
    (context,) = plan["env"]["contexts"]
    assert context == {"name": "ephemeral", "urls": ["http://service:8080/"]}
    assert plan["env"]["parameters"]["failOnError"] is True
    reports = [j["parameters"] for j in plan["jobs"] if j["type"] == "report"]
    assert {
        "template": "traditional-json",
        "reportDir": "/zap/wrk",
        "reportFile": "report.json",
    } in (reports)
    order = [job["type"] for job in plan["jobs"]]
    assert order.index("openapi") < order.index("activeScan") < order.index("report")


@pytest.mark.parametrize(
    ("target", "minutes", "message"),
    [
        ("service:8080", 20, "--target"),
        ("ftp://service", 20, "--target"),
        ("http://service:8080", 0, "--max-minutes"),
    ],
)
def test_plan_refuses_bad_input(target: str, minutes: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        zap_gate.plan("/zap/wrk/openapi", target, max_minutes=minutes)


def test_plan_command_writes_yaml(tmp_path: Path) -> None:
    """The file is JSON text, which ZAP's YAML reader takes as it is."""
    out = tmp_path / "plan.yaml"
    argv = ["plan", "--spec", "/zap/wrk/openapi", "--target", "http://service:9000", "--out"]
    assert zap_gate.main([*argv, str(out)]) == 0
    assert yaml.safe_load(out.read_text()) == zap_gate.plan(
        "/zap/wrk/openapi", "http://service:9000"
    )
    assert zap_gate.main(["plan", "--spec", "x", "--target", "service", "--out", str(out)]) == 2


# ---------------------------------------------------------------------------------------------
# the verdict


def test_high_alerts_are_listed() -> None:
    report = _report(_alert("3"), _alert("2", "CSP Header Not Set", "10038"), _alert("0"))
    assert zap_gate.high_alerts(report) == [
        "SQL Injection [40018] on http://service:8080 (1 instances)"
    ]
    assert zap_gate.summary(report) == "High 1, Medium 1, Low 0, Informational 1"


def test_medium_and_below_pass() -> None:
    report = _report(_alert("2"), _alert("1"), _alert("0"))
    assert zap_gate.high_alerts(report) == []


def test_an_empty_scan_passes() -> None:
    assert zap_gate.high_alerts({"site": []}) == []
    assert zap_gate.high_alerts({"site": [{"@name": "http://service:8080"}]}) == []


@pytest.mark.parametrize(
    "report",
    [
        {},
        {"site": {}},
        {"site": ["x"]},
        {"site": [{"@name": "s", "alerts": [{"name": "no risk"}]}]},
        {"site": [{"@name": "s", "alerts": [{"riskcode": "High"}]}]},
    ],
    ids=["no-site", "site-not-list", "site-not-object", "no-riskcode", "riskcode-not-number"],
)
def test_malformed_reports_are_refused(report: dict[str, Any]) -> None:
    """A report the gate cannot read is no pass: it is an error of its own."""
    with pytest.raises(zap_gate.ReportError):
        zap_gate.high_alerts(report)


def _check(tmp_path: Path, report: object) -> int:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report) if not isinstance(report, str) else report)
    return zap_gate.main(["check", str(path)])


def test_check_fails_on_high(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(tmp_path, _report(_alert("3"), _alert("1"))) == 1
    out = capsys.readouterr().out
    assert "::error::ZAP High alert: SQL Injection [40018]" in out
    assert "High 1, Medium 0, Low 1" in out


def test_check_passes_without_high(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(tmp_path, _report(_alert("2"))) == 0
    assert "::error::" not in capsys.readouterr().out


@pytest.mark.parametrize("content", ["not json", {"site": "x"}])
def test_check_without_a_usable_report_is_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object
) -> None:
    assert _check(tmp_path, content) == 2
    assert "::error::no usable ZAP report" in capsys.readouterr().err


def test_check_of_a_missing_report_is_2(tmp_path: Path) -> None:
    assert zap_gate.main(["check", str(tmp_path / "missing.json")]) == 2
