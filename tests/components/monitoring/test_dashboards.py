"""The Grafana dashboards: structure, PromQL checked by the real ``promtool``, ConfigMaps, targets."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.monitoring.dashboards import config_map, dashboards, panels, queries

EXPECTED = {
    "executive": ("ttbt2-executive", "TTBT2 / Executive"),
    "technical": ("ttbt2-technical", "TTBT2 / Technical"),
    "security": ("ttbt2-security", "TTBT2 / Security"),
    "business": ("ttbt2-business", "TTBT2 / Business"),
    "deployments": ("ttbt2-deployments", "TTBT2 / Deployments"),
    "recovery": ("ttbt2-recovery", "TTBT2 / Recovery drills"),
    "cost": ("ttbt2-cost", "TTBT2 / Cost and right-sizing"),
}

# Grafana replaces these before the query reaches Prometheus; promtool does not know them and
# would reject `[$__range]` as a bad duration, so each gets a concrete value of the right kind
# (durations for windows, a number for `$__range_s`, label values for the dashboard filters).
GRAFANA_VARIABLES = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "1d",
    "__range_s": "86400",
    "service": ".*",
    "namespace": "ttbt2",
    "environment": "production",
}
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")

needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool missing")


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, Any]]:
    """All dashboards, built once."""
    return dashboards()


def substitute(expr: str) -> str:
    """``expr`` with Grafana's variables replaced; an unknown one fails instead of slipping by."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GRAFANA_VARIABLES:
            raise KeyError(f"no test value for Grafana variable ${name} in {expr!r}")
        return GRAFANA_VARIABLES[name]

    return _VARIABLE.sub(value, expr)


def promtool_check(exprs: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``promtool check rules`` on ``exprs`` written as recording rules."""
    rules = [
        {"record": f"ttbt2_dashboard_check:{n}", "expr": substitute(expr)}
        for n, expr in enumerate(exprs)
    ]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard-check", "rules": rules}]}))
    return subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )


def by_title(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    """The one panel of ``dashboard`` called ``title``."""
    matches = [p for p in panels(dashboard) if p.get("title") == title]
    assert len(matches) == 1, f"{title!r}: {len(matches)} panels"
    return matches[0]


def steps(panel: dict[str, Any]) -> list[tuple[float | None, str]]:
    """The panel's threshold steps as (value, colour)."""
    config = panel["fieldConfig"]["defaults"]["thresholds"]
    assert config["mode"] == "absolute"
    return [(s["value"], s["color"]) for s in config["steps"]]


def test_dashboards_with_stable_uids_and_titles(boards: dict[str, dict[str, Any]]) -> None:
    assert {name: (b["uid"], b["title"]) for name, b in boards.items()} == EXPECTED
    for board in boards.values():
        assert "ttbt2" in board["tags"]
        assert board["refresh"] and board["time"]["to"] == "now"
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"


def test_every_dashboard_has_panels_with_queries(boards: dict[str, dict[str, Any]]) -> None:
    for name, board in boards.items():
        graphs = [p for p in panels(board) if p["type"] != "row"]
        assert len(graphs) >= 4, name
        for panel in graphs:
            assert panel["targets"], (name, panel["title"])
            # Every panel reads the datasource variable, not a hard-coded instance.
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            ref_ids = [t["refId"] for t in panel["targets"]]
            assert all(ref_ids) and len(set(ref_ids)) == len(ref_ids), (name, panel["title"])


def test_json_round_trips(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        assert json.loads(json.dumps(board)) == board
    # Building twice gives the same JSON: the ConfigMaps do not churn between previews.
    assert dashboards() == boards


def test_panel_ids_unique_within_each_dashboard(boards: dict[str, dict[str, Any]]) -> None:
    for name, board in boards.items():
        ids = [p["id"] for p in panels(board)]
        assert len(ids) == len(set(ids)), (name, ids)


def test_queries_include_panels_nested_in_collapsed_rows(
    boards: dict[str, dict[str, Any]],
) -> None:
    technical = boards["technical"]
    nested = [p for row in technical["panels"] for p in row.get("panels", [])]
    assert nested, "the technical dashboard keeps its resource panels in a collapsed row"
    assert any("container_cpu_usage_seconds_total" in q for q in queries(technical))


@needs_promtool
def test_every_query_is_valid_promql(boards: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    exprs = [q for board in boards.values() for q in queries(board)]
    assert len(exprs) >= 40
    result = promtool_check(exprs, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout


@needs_promtool
def test_promtool_check_rejects_a_broken_query(tmp_path: Path) -> None:
    result = promtool_check(
        ["sum(rate(http_server_requests_seconds_count[$__rate_interval])"], tmp_path
    )
    assert result.returncode != 0
    assert "parse error" in result.stdout + result.stderr


def test_substitution_refuses_unknown_variables() -> None:
    assert substitute('x{service=~"$service"}[${__range}]') == 'x{service=~".*"}[1d]'
    with pytest.raises(KeyError, match="typo"):
        substitute("rate(x[$typo])")


def test_config_map_for_the_grafana_sidecar(boards: dict[str, dict[str, Any]]) -> None:
    for name, board in boards.items():
        manifest = config_map(name, board, "monitoring")
        assert manifest["apiVersion"] == "v1" and manifest["kind"] == "ConfigMap"
        metadata = manifest["metadata"]
        assert metadata["namespace"] == "monitoring"
        assert metadata["labels"]["grafana_dashboard"] == "1"
        assert metadata["annotations"]["grafana_folder"] == "TTBT2"
        assert list(manifest["data"]) == [f"{name}.json"]
        payload = manifest["data"][f"{name}.json"]
        assert json.loads(payload) == board
        # A ConfigMap holds at most 1 MiB.
        assert len(payload.encode()) < 1024 * 1024
    names = {config_map(n, b, "monitoring")["metadata"]["name"] for n, b in boards.items()}
    assert len(names) == len(boards)


def test_config_map_keeps_the_sidecar_label_over_the_callers() -> None:
    manifest = config_map("x", {}, "monitoring", {"environment": "dev", "grafana_dashboard": "0"})
    labels = manifest["metadata"]["labels"]
    assert labels["environment"] == "dev"
    assert labels["grafana_dashboard"] == "1"
    assert manifest["metadata"]["name"] == "grafana-dashboard-x"


def test_deployments_dashboard_covers_seed_4_10_1(boards: dict[str, dict[str, Any]]) -> None:
    board = boards["deployments"]
    lead = by_title(board, "Mean lead time commit to production")
    assert "ttbt2_deployment_lead_time_seconds_sum" in lead["targets"][0]["expr"]
    assert lead["fieldConfig"]["defaults"]["unit"] == "s"
    assert steps(lead) == [(None, "green"), (7200, "red")]  # < 2 h

    success = by_title(board, "Deployment success rate")
    assert 'outcome="success"' in success["targets"][0]["expr"]
    assert steps(success) == [(None, "red"), (0.99, "green")]  # > 99 %

    rollback = by_title(board, "Mean rollback time")
    assert "ttbt2_rollback_duration_seconds_count" in rollback["targets"][0]["expr"]
    assert steps(rollback) == [(None, "green"), (600, "red")]  # < 10 min

    frequency = by_title(board, "Deployments per day")
    assert "ttbt2_deployments_total" in frequency["targets"][0]["expr"]
    assert steps(frequency) == [(None, "red"), (5, "green"), (10, "orange")]  # 5-10 per day


def test_deployments_dashboard_covers_seed_4_10_2(boards: dict[str, dict[str, Any]]) -> None:
    board = boards["deployments"]
    assert steps(by_title(board, "Hotfix ratio")) == [(None, "green"), (0.01, "red")]
    # Post-deployment errors are counted per release (< 0.1 % of releases), not per request.
    for title in ("Releases followed by errors", "Releases followed by errors (7 days)"):
        errored = by_title(board, title)
        assert steps(errored) == [(None, "green"), (0.001, "red")]
        expr = errored["targets"][0]["expr"]
        assert "ttbt2:releases_followed_by_errors:" in expr
        assert "http_server_requests" not in expr
    share = by_title(board, "Releases followed by errors")["targets"][0]["expr"]
    assert (
        'ttbt2:deployments:increase1m_offset30m{environment="$environment",outcome="success"}'
        in share
    )
    validation = by_title(board, "Longest release validation")
    assert "ttbt2_release_validation_seconds" in validation["targets"][0]["expr"]
    assert steps(validation) == [(None, "green"), (1800, "red")]


def test_dashboards_use_the_metric_contract(boards: dict[str, dict[str, Any]]) -> None:
    expected = {
        "executive": ["ttbt2:http_success_ratio:rate5m", "ttbt2:http_requests:rate5m"],
        "technical": [
            "ttbt2:http_request_duration_seconds:p95_5m",
            "http_server_requests_seconds_bucket",
            "kube_pod_container_resource_limits",
        ],
        "security": [
            "ttbt2_auth_failures_total",
            "ttbt2_auth_unauthorized_total",
            "aws_wafv2_blocked_requests_sum",
            "trivy_image_vulnerabilities",
        ],
        "business": ["ttbt2_signups_total", "ttbt2_conversions_total", "ttbt2_orders_total"],
        "deployments": ["ttbt2_hotfixes_total", "ttbt2_release_validation_seconds"],
    }
    for name, metrics in expected.items():
        text = "\n".join(queries(boards[name]))
        for metric in metrics:
            assert metric in text, (name, metric)
