"""The alert catalog, checked and unit-tested with the real ``promtool`` (Prometheus 2.42)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.monitoring.alerts import (
    ALERTS,
    RECORDING_RULES,
    RELEASE_RULES,
    RESPONSE_TIME,
    RUNBOOK_BASE_URL,
    TREND_RULES,
    Alert,
    alerts_by_name,
    by_severity,
    prometheus_rule,
    recording_groups,
    rule_groups,
)
from components.monitoring.dashboards import dashboards, queries

ROOT = Path(__file__).resolve().parents[3]
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not on PATH")

# Seed 4.4.2, written out here rather than imported so the catalog cannot redefine it.
SEED_METRICS: dict[str, tuple[str, ...]] = {
    "performance": (
        "API endpoint latency",
        "CPU and memory per component",
        "database response time",
        "request throughput",
    ),
    "health": (
        "success rate of critical operations",
        "concurrent active users",
        "status of dependent services",
        "uptime",
    ),
    "security": (
        "unauthorised access attempts",
        "suspicious bot activity (WAF)",
        "authentication errors",
        "detected vulnerabilities",
    ),
}
RUNBOOK_HEADINGS = ("Detection", "Classification", "Assignment", "Resolution", "Post-mortem")


# --- promtool helpers ------------------------------------------------------------------------


def _write_rules(directory: Path, groups: list[dict[str, Any]]) -> Path:
    path = directory / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False
    )


def _ok(result: subprocess.CompletedProcess[str]) -> bool:
    # Shown by pytest on failure, so the promtool diagnostics are in the report.
    print(result.stdout, result.stderr)
    return result.returncode == 0


# --- Critical alert cases --------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Synthetic series that make a critical alert fire, and healthy ones that keep it quiet."""

    firing: dict[str, str]
    healthy: dict[str, str]
    labels: dict[str, str]
    description: str
    eval_time: str = "15m"


def _alternating(n: int) -> str:
    """``1 0 1 0 ...``: a probe that fails every other time."""
    return " ".join("1" if i % 2 == 0 else "0" for i in range(n))


_BUCKET = 'http_server_requests_seconds_bucket{service="api",route="/orders",status="200",le="%s"}'
_COUNT = 'http_server_requests_seconds_count{service="api",route="/orders",status="%s"}'

CRITICAL_CASES: dict[str, Case] = {
    "ApiLatencyCritical": Case(
        # Every request lands in the (2.5s, 5s] bucket: p95 = 2.5 + 2.5 * 0.95 = 4.875s.
        firing={
            _BUCKET % "0.5": "0+0x20",
            _BUCKET % "1": "0+0x20",
            _BUCKET % "2.5": "0+0x20",
            _BUCKET % "5": "0+60x20",
            _BUCKET % "+Inf": "0+60x20",
            _COUNT % "200": "0+60x20",
        },
        healthy={
            _BUCKET % "0.5": "0+60x20",
            _BUCKET % "1": "0+60x20",
            _BUCKET % "2.5": "0+60x20",
            _BUCKET % "5": "0+60x20",
            _BUCKET % "+Inf": "0+60x20",
            _COUNT % "200": "0+60x20",
        },
        labels={"service": "api", "route": "/orders"},
        description="p95 latency of api /orders is 4.875s (threshold 2.5s) for 5 minutes.",
    ),
    "ApiSuccessRatioCritical": Case(
        firing={_COUNT % "200": "0+54x20", _COUNT % "500": "0+6x20"},
        # 404s are the client's fault and must not count as failures.
        healthy={
            _COUNT % "200": "0+600x20",
            _COUNT % "404": "0+300x20",
            _COUNT % "500": "0+1x20",
        },
        labels={"service": "api"},
        description="Only 90% of api requests succeed (critical below 95%).",
    ),
    "CriticalOperationsFailing": Case(
        firing={
            'ttbt2_critical_operations_total{service="payments",operation="checkout",'
            'outcome="success"}': "0+48x20",
            'ttbt2_critical_operations_total{service="payments",operation="checkout",'
            'outcome="failure"}': "0+12x20",
        },
        healthy={
            'ttbt2_critical_operations_total{service="payments",operation="checkout",'
            'outcome="success"}': "0+600x20",
            'ttbt2_critical_operations_total{service="payments",operation="checkout",'
            'outcome="failure"}': "0+6x20",
        },
        labels={"service": "payments", "operation": "checkout"},
        description="Operation checkout of payments succeeds only 80% of the time "
        "(critical below 90%).",
    ),
    "DatabaseLatencyCritical": Case(
        # The worse of read and write latency is what the application waits for.
        firing={
            'aws_rds_read_latency_average{dbinstance_identifier="ttbt2-prod"}': "0.004x20",
            'aws_rds_write_latency_average{dbinstance_identifier="ttbt2-prod"}': "0.25x20",
        },
        healthy={
            'aws_rds_read_latency_average{dbinstance_identifier="ttbt2-prod"}': "0.004x20",
            'aws_rds_write_latency_average{dbinstance_identifier="ttbt2-prod"}': "0.006x20",
        },
        labels={"dbinstance_identifier": "ttbt2-prod"},
        description="RDS instance ttbt2-prod I/O latency is 250ms (threshold 100ms) for 5 minutes.",
    ),
    "ServiceEndpointDown": Case(
        firing={
            'probe_success{job="blackbox-uptime",instance="https://app.ttbt2.com"}': "1 1 1 0x20"
        },
        # Lost probes that alternate with good ones are network blips, not an outage.
        healthy={
            'probe_success{job="blackbox-uptime",instance="https://app.ttbt2.com"}': (
                _alternating(21)
            )
        },
        labels={"job": "blackbox-uptime", "instance": "https://app.ttbt2.com"},
        description="https://app.ttbt2.com failed every blackbox probe for the last 5 minutes.",
    ),
    "DeploymentUnavailable": Case(
        firing={
            'kube_deployment_status_replicas_available{namespace="ttbt2",deployment="api"}': (
                "3 3 0x20"
            ),
            'kube_deployment_spec_replicas{namespace="ttbt2",deployment="api"}': "3x20",
        },
        # A deployment scaled to zero on purpose is not down.
        healthy={
            'kube_deployment_status_replicas_available{namespace="ttbt2",deployment="api"}': (
                "3x20"
            ),
            'kube_deployment_spec_replicas{namespace="ttbt2",deployment="api"}': "3x20",
            'kube_deployment_status_replicas_available{namespace="ttbt2",deployment="batch"}': (
                "0x20"
            ),
            'kube_deployment_spec_replicas{namespace="ttbt2",deployment="batch"}': "0x20",
        },
        labels={"namespace": "ttbt2", "deployment": "api"},
        description="Deployment ttbt2/api has had no available replica for 5 minutes.",
    ),
    "RolloutUnavailable": Case(
        firing={
            'rollout_info_replicas_available{namespace="api",name="api"}': "3 3 0x20",
            'rollout_info_replicas_desired{namespace="api",name="api"}': "3x20",
        },
        # A Rollout scaled to zero on purpose is not down.
        healthy={
            'rollout_info_replicas_available{namespace="api",name="api"}': "3x20",
            'rollout_info_replicas_desired{namespace="api",name="api"}': "3x20",
            'rollout_info_replicas_available{namespace="web",name="web"}': "0x20",
            'rollout_info_replicas_desired{namespace="web",name="web"}': "0x20",
        },
        labels={"namespace": "api", "name": "api"},
        description="Rollout api/api has had no available replica for 5 minutes.",
    ),
    "CredentialStuffingSuspected": Case(
        # 30/s + 10/s across reasons: the alert sums them per service.
        firing={
            'ttbt2_auth_failures_total{service="auth",reason="bad_password"}': "0+1800x20",
            'ttbt2_auth_failures_total{service="auth",reason="unknown_user"}': "0+600x20",
        },
        healthy={
            'ttbt2_auth_failures_total{service="auth",reason="bad_password"}': "0+300x20",
            'ttbt2_auth_failures_total{service="auth",reason="unknown_user"}': "0+300x20",
        },
        labels={"service": "auth"},
        description="auth rejects 40 logins per second (critical above 20/s): likely "
        "credential stuffing.",
    ),
}


def _unit_test_file(alert: Alert, case: Case, rules: Path) -> dict[str, Any]:
    """A ``promtool test rules`` file with the firing and the healthy scenario of ``alert``."""

    def series(values: dict[str, str]) -> list[dict[str, str]]:
        return [{"series": name, "values": v} for name, v in values.items()]

    expected = {
        "exp_labels": {**alert.labels(), **case.labels},
        "exp_annotations": {
            "summary": alert.summary,
            "description": case.description,
            "runbook_url": alert.runbook_url,
        },
    }
    return {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series(case.firing),
                "alert_rule_test": [
                    {"eval_time": case.eval_time, "alertname": alert.name, "exp_alerts": [expected]}
                ],
            },
            {
                "interval": "1m",
                "input_series": series(case.healthy),
                "alert_rule_test": [
                    {"eval_time": case.eval_time, "alertname": alert.name, "exp_alerts": []}
                ],
            },
        ],
    }


def _run_case(tmp_path: Path, alert: Alert, case: Case) -> subprocess.CompletedProcess[str]:
    rules = _write_rules(tmp_path, rule_groups())
    test_file = tmp_path / "test.yml"
    test_file.write_text(yaml.safe_dump(_unit_test_file(alert, case, rules), sort_keys=False))
    return _promtool("test", "rules", str(test_file))


CRITICAL = [alert for alert in ALERTS if alert.severity == "critical"]


def test_every_critical_alert_has_a_promtool_case() -> None:
    assert set(CRITICAL_CASES) == {alert.name for alert in CRITICAL}


@needs_promtool
@pytest.mark.parametrize("alert", CRITICAL, ids=lambda a: a.name)
def test_critical_alert_fires_and_stays_quiet(tmp_path: Path, alert: Alert) -> None:
    assert _ok(_run_case(tmp_path, alert, CRITICAL_CASES[alert.name]))


@needs_promtool
def test_promtool_case_fails_when_alert_is_not_expected(tmp_path: Path) -> None:
    """Guards the harness itself: swapping scenarios must make promtool fail."""
    alert = alerts_by_name()["ApiSuccessRatioCritical"]
    case = CRITICAL_CASES[alert.name]
    swapped = dataclasses.replace(case, firing=case.healthy, healthy=case.firing)
    assert not _ok(_run_case(tmp_path, alert, swapped))


# --- promtool check rules --------------------------------------------------------------------


@needs_promtool
def test_promtool_accepts_rule_groups(tmp_path: Path) -> None:
    result = _promtool("check", "rules", str(_write_rules(tmp_path, rule_groups())))
    assert _ok(result)
    total = len(RECORDING_RULES) + len(RELEASE_RULES) + len(TREND_RULES) + len(ALERTS)
    assert f"SUCCESS: {total} rules found" in result.stdout


@needs_promtool
def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    groups = rule_groups()
    broken = dict(groups[-1]["rules"][0], alert="BrokenExpression", expr="rate(up[5m]")
    groups[-1]["rules"].append(broken)
    assert not _ok(_promtool("check", "rules", str(_write_rules(tmp_path, groups))))


# --- Catalog consistency ---------------------------------------------------------------------


def test_alert_names_are_unique_pascal_case() -> None:
    names = [alert.name for alert in ALERTS]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Z][a-zA-Z0-9]+", name) for name in names)


def test_every_rule_has_routing_labels_and_annotations() -> None:
    alerts = alerts_by_name()
    rules = [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]
    assert len(rules) == len(ALERTS)
    for rule in rules:
        alert = alerts[rule["alert"]]
        assert set(rule["labels"]) == {"severity", "priority", "team", "category"}
        assert all(rule["labels"].values()), rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert all(v.strip() for v in rule["annotations"].values()), rule["alert"]
        assert rule["annotations"]["runbook_url"] == f"{RUNBOOK_BASE_URL}/{alert.kebab_name}.md"
        assert rule["for"] == alert.for_
        # Every description says what is measured: it templates the value or the culprit.
        assert "{{ $value" in alert.description or "{{ $labels." in alert.description


def test_groups_are_split_by_category() -> None:
    recording = recording_groups()
    assert rule_groups()[: len(recording)] == recording
    assert all("alert" not in rule for group in recording for rule in group["rules"])
    for group in rule_groups()[len(recording) :]:
        category = group["name"].removeprefix("ttbt2.")
        assert {rule["labels"]["category"] for rule in group["rules"]} == {category}


def test_severity_matches_priority_and_response_time() -> None:
    assert RESPONSE_TIME == {"critical": "15m", "high": "1h", "medium": "4h", "low": "24h"}
    for alert in ALERTS:
        if alert.severity == "critical":
            assert (alert.priority, alert.response_time) == ("critical", "15m"), alert.name
        elif alert.severity == "info":
            assert alert.priority == "low", alert.name
        else:
            assert alert.priority in ("high", "medium"), alert.name


def test_severity_priority_mismatch_is_rejected() -> None:
    alert = ALERTS[0]
    with pytest.raises(ValueError, match="priority"):
        dataclasses.replace(alert, severity="critical", priority="high")
    with pytest.raises(ValueError, match=r"4\.4\.2"):
        dataclasses.replace(alert, metric="disk usage")
    with pytest.raises(ValueError, match="PascalCase"):
        dataclasses.replace(alert, name="api_latency")


def test_every_seed_metric_is_covered_in_its_category() -> None:
    assert sum(len(metrics) for metrics in SEED_METRICS.values()) == 12
    for category, metrics in SEED_METRICS.items():
        covered = {alert.metric for alert in ALERTS if alert.category == category}
        assert covered == set(metrics), category


def test_every_severity_and_team_is_used() -> None:
    assert all(by_severity().values()), by_severity()
    assert sum(by_severity().values()) == len(ALERTS)
    assert {alert.team for alert in ALERTS} == {"sre", "backend", "security", "product"}
    # Info alerts are business events (4.5.1), owned by product, never a page.
    assert {alert.team for alert in ALERTS if alert.severity == "info"} == {"product"}


def test_recording_rules_are_used_and_defined() -> None:
    rules = (*RECORDING_RULES, *RELEASE_RULES, *TREND_RULES)
    records = {rule.record for rule in rules}
    assert len(records) == len(rules)
    # What reads a recorded series: an alert, a later rule or a dashboard panel.
    readers = [alert.expr for alert in ALERTS] + [rule.expr for rule in rules]
    readers += [query for board in dashboards().values() for query in queries(board)]
    # level:metric[:operations]
    used = set(re.findall(r"ttbt2:[a-z0-9_]+(?::[a-z0-9_]+)?", " ".join(readers)))
    assert used <= records, used - records
    assert records <= used, records - used
    # An alert reads only what is recorded before it in the rule file, and a rule only what an
    # earlier rule of its own group or an earlier group records.
    seen: set[str] = set()
    for rule in rules:
        read = set(re.findall(r"ttbt2:[a-z0-9_]+:[a-z0-9_]+", rule.expr))
        assert read <= seen, (rule.record, read - seen)
        seen.add(rule.record)
    assert all(re.fullmatch(r"ttbt2:[a-z0-9_]+(:[a-z0-9_]+)?", record) for record in records)


def test_prometheus_rule_manifest() -> None:
    manifest = prometheus_rule("monitoring", {"release": "kube-prometheus-stack"})
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["metadata"] == {
        "name": "ttbt2-alerts",
        "namespace": "monitoring",
        "labels": {"release": "kube-prometheus-stack"},
    }
    assert manifest["spec"]["groups"] == rule_groups()


# --- Runbooks --------------------------------------------------------------------------------


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a.name)
def test_every_alert_has_a_runbook(alert: Alert) -> None:
    path = ROOT / alert.runbook_path
    assert path.is_file(), f"missing {alert.runbook_path}"
    text = path.read_text()
    headings = re.findall(r"^## (.+?)\s*$", text, flags=re.MULTILINE)
    assert headings == list(RUNBOOK_HEADINGS), headings
    assert alert.name in text
    # The runbook must describe the rule as deployed, not an older version of it.
    assert alert.expr in text
    assert alert.severity in text and RESPONSE_TIME[alert.priority] in text
