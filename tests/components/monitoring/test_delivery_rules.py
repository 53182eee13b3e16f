"""The seed 4.10 delivery rules, unit-tested with the real ``promtool test rules``.

The input series are what Prometheus scrapes from the Pushgateway (one group per environment
and service, with the gateway pod's ``pod`` and ``instance``) every 30 seconds, and the
services' HTTP counters. The release tests prove the counting: each release once, a clean one
as clean, two in a minute as two, no phantom from a counter going back, a new gateway pod or a
Prometheus meeting a gateway with history, and a brand-new service's first release counted.
The alert tests make every delivery alert fire when its target is missed and stay silent when
it is met or when there are too few deployments to judge. Mutation tests break a rule on
purpose and check that the scenario catches it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.monitoring.alerts import (
    DELIVERY_METRICS,
    ERRORED_RELEASES_MINUTE,
    NEW_GROUPS,
    RELEASE_RULES,
    Alert,
    alerts_by_name,
    rule_groups,
)

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not on PATH")

DEPLOYMENTS = "ttbt2:deployments:increase1m_offset30m"
_GATEWAY = 'job="ttbt2-delivery",environment="production",service="{service}"'
_POD = 'pod="{pod}",instance="{instance}"'


def deployments(
    service: str, outcome: str, pod: str = "pushgateway-a", instance: str = "10.0.0.5:9091"
) -> str:
    """A ``ttbt2_deployments_total`` series as Prometheus stores it from the gateway."""
    labels = _GATEWAY.format(service=service) + "," + _POD.format(pod=pod, instance=instance)
    return f'ttbt2_deployments_total{{{labels},outcome="{outcome}"}}'


def gateway(metric: str, service: str = "api") -> str:
    """Another series of the service's production group (hotfixes, histogram sums, gauge)."""
    labels = _GATEWAY.format(service=service) + "," + _POD.format(pod="pushgateway-a", instance="x")
    return f"{metric}{{{labels}}}"


def http(service: str, status: str) -> str:
    """The service's request counter for one status code, as its ServiceMonitor labels it."""
    return (
        f'http_server_requests_seconds_count{{service="{service}",namespace="{service}",'
        f'route="/orders",status="{status}",pod="{service}-1"}}'
    )


def _groups_with(replace: dict[str, tuple[str, ...]] | None = None) -> list[dict[str, Any]]:
    """The catalog's rule groups, optionally with one rule's expression edited (mutations).

    ``replace`` maps a record to ``(old, new, old, new, ...)`` text replacements.
    """
    # Only the recording rules and the delivery groups: the other categories' rules read none
    # of these series, and evaluating them minute by minute for hours is most of promtool's time.
    groups = [
        g
        for g in rule_groups()
        if g["name"] == "ttbt2.recording" or g["name"].startswith("ttbt2.delivery")
    ]
    for record, pairs in (replace or {}).items():
        rule = next(r for g in groups for r in g["rules"] if r.get("record") == record)
        for old, new in zip(pairs[::2], pairs[1::2], strict=True):
            assert old in rule["expr"], (record, old)
            rule["expr"] = rule["expr"].replace(old, new)
    return groups


def promtool_test(
    tmp_path: Path,
    tests: list[dict[str, Any]],
    replace: dict[str, tuple[str, ...]] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``promtool test rules`` on ``tests`` against the catalog's groups."""
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": _groups_with(replace)}, sort_keys=False))
    unit = tmp_path / "test.yml"
    unit.write_text(
        yaml.safe_dump(
            {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": tests},
            sort_keys=False,
        )
    )
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "test", "rules", str(unit)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(result.stdout, result.stderr)  # shown by pytest when a test fails
    return result


def series(values: dict[str, str]) -> list[dict[str, str]]:
    """Input series for promtool from ``{series: values}``."""
    return [{"series": name, "values": v} for name, v in values.items()]


def sample(labels: str, value: float) -> dict[str, Any]:
    """One expected sample of a ``promql_expr_test``."""
    return {"labels": labels, "value": value}


def expected(alert: Alert, labels: dict[str, str], description: str) -> dict[str, Any]:
    """The alert as promtool must see it: routing labels, culprit labels and annotations."""
    return {
        "exp_labels": {**alert.labels(), **labels},
        "exp_annotations": {
            "summary": alert.summary,
            "description": description,
            "runbook_url": alert.runbook_url,
        },
    }


# --- Releases: counted once, judged once ------------------------------------------------------
#
# Samples every 30 s for two hours. The api release is pushed between the scrapes at 10 min and
# 10.5 min: the counter steps at 10.5 min, inside the minute (10, 11], which the evaluation at
# 41 min counts (the minute that ended 30 minutes before), judged on the 30 minutes (11, 41].

_SCRAPES = 240  # 2 h at 30 s
_TOTAL_ERRORED = f"sum by (service) (sum_over_time({ERRORED_RELEASES_MINUTE}[3h]))"


def _release_scenario() -> dict[str, str]:
    """Four services, one minute of releases.

    api: one release followed by 10 % errors, although its counter already stood at 5.
    web: one clean release. batch: two releases in one minute, followed by errors. quiet: a
    release followed by 3 errors out of 30 requests (too few errors to judge).
    """
    before, after = 21, _SCRAPES - 21  # samples up to 10 min, then from 10.5 min
    return {
        deployments("api", "success"): f"5x{before - 1} 6x{after}",
        deployments("api", "failure"): f"0x{_SCRAPES}",
        http("api", "200"): f"0+54x{_SCRAPES}",
        http("api", "500"): f"0x{before - 1} 0+6x{after}",
        deployments("web", "success"): f"3x{before - 1} 4x{after}",
        deployments("web", "failure"): f"1x{_SCRAPES}",
        http("web", "200"): f"0+60x{_SCRAPES}",
        http("web", "500"): f"0x{_SCRAPES}",
        # 10.5 min and 11 min: two pushes between the ends of the same minute.
        deployments("batch", "success"): f"2x{before - 1} 3 4x{after - 1}",
        deployments("batch", "failure"): f"0x{_SCRAPES}",
        http("batch", "200"): f"0+54x{_SCRAPES}",
        http("batch", "500"): f"0x{before - 1} 0+6x{after}",
        deployments("quiet", "success"): f"7x{before - 1} 8x{after}",
        deployments("quiet", "failure"): f"0x{_SCRAPES}",
        http("quiet", "200"): f"0x{before - 1} 0+0.5x{after}",
        http("quiet", "500"): f"0x{before - 1} 0x10 1x10 2x10 3x{after - 31}",
    }


_SUCCESSES = f'sum by (service) (sum_over_time({DEPLOYMENTS}{{outcome="success"}}[3h]))'

_COUNTED_ONCE: dict[str, Any] = {
    "interval": "30s",
    "input_series": series(_release_scenario()),
    "promql_expr_test": [
        # Not 30 (one per evaluation of the 30-minute window), not 0, and not the 5
        # deployments the api counter held before this Prometheus first saw it.
        {
            "expr": _SUCCESSES,
            "eval_time": "110m",
            "exp_samples": [
                sample('{service="api"}', 1),
                sample('{service="batch"}', 2),
                sample('{service="quiet"}', 1),
                sample('{service="web"}', 1),
            ],
        },
        {
            "expr": _TOTAL_ERRORED,
            "eval_time": "110m",
            "exp_samples": [
                sample('{service="api"}', 1),
                sample('{service="batch"}', 2),
                sample('{service="quiet"}', 0),
                sample('{service="web"}', 0),
            ],
        },
        # The release is judged at 41 min exactly, once the 30 minutes after it are over.
        {
            "expr": f'{ERRORED_RELEASES_MINUTE}{{service="api"}}',
            "eval_time": "41m",
            "exp_samples": [
                sample(f'{ERRORED_RELEASES_MINUTE}{{environment="production",service="api"}}', 1)
            ],
        },
        {
            "expr": f'{ERRORED_RELEASES_MINUTE}{{service="api"}}',
            "eval_time": "40m",
            "exp_samples": [
                sample(f'{ERRORED_RELEASES_MINUTE}{{environment="production",service="api"}}', 0)
            ],
        },
        # Failed deployments are counted too (for the success rate), and none happened.
        {
            "expr": f'sum(sum_over_time({DEPLOYMENTS}{{outcome="failure"}}[3h]))',
            "eval_time": "110m",
            "exp_samples": [sample("{}", 0)],
        },
    ],
}


def test_each_release_is_counted_once_and_judged_once(tmp_path: Path) -> None:
    assert promtool_test(tmp_path, [_COUNTED_ONCE]).returncode == 0


def test_release_alert_fires_for_the_release_followed_by_errors_only(tmp_path: Path) -> None:
    alert = alerts_by_name()["ReleaseFollowedByErrors"]

    def firing(service: str, count: int) -> dict[str, Any]:
        return expected(
            alert,
            {"environment": "production", "service": service},
            f"{service} answered more than 1% of its requests with a 5xx in the 30 minutes after "
            f"a production release ({count} release(s) so judged).",
        )

    test = {
        "interval": "30s",
        "input_series": series(_release_scenario()),
        "alert_rule_test": [
            {"eval_time": "40m", "alertname": alert.name, "exp_alerts": []},
            {
                "eval_time": "45m",
                "alertname": alert.name,
                "exp_alerts": [firing("api", 1), firing("batch", 2)],
            },
            # Half an hour later it has been notified and resolves.
            {"eval_time": "75m", "alertname": alert.name, "exp_alerts": []},
        ],
    }
    assert promtool_test(tmp_path, [test]).returncode == 0


def _reset_scenario() -> dict[str, str]:
    """Counters that step back or move, with one real push each, all followed by errors.

    restored: the gateway restarted from an older persistence file (9 -> 8), then a real push
    (8 -> 9). moved: the gateway came back as a new pod, the group's series now carry its pod
    and address, with the same value. fresh: a service whose group appears for the first time
    with its first release.
    """
    old = deployments("moved", "success")
    new = deployments("moved", "success", pod="pushgateway-b", instance="10.0.0.6:9091")
    return {
        deployments("restored", "success"): f"9x20 8x10 9x{_SCRAPES - 31}",
        deployments("restored", "failure"): f"0x{_SCRAPES}",
        old: "9x20 stale",
        deployments("moved", "failure"): "0x20 stale",
        new: f"_x22 9x{_SCRAPES - 23}",
        deployments("moved", "failure", "pushgateway-b", "10.0.0.6:9091"): (
            f"_x22 0x{_SCRAPES - 23}"
        ),
        deployments("fresh", "success"): f"_x40 1x{_SCRAPES - 41}",
        deployments("fresh", "failure"): f"_x40 0x{_SCRAPES - 41}",
        **{http(s, "200"): f"0+54x{_SCRAPES}" for s in ("restored", "moved", "fresh")},
        **{http(s, "500"): f"0+6x{_SCRAPES}" for s in ("restored", "moved", "fresh")},
    }


_RESET_TEST: dict[str, Any] = {
    "interval": "30s",
    "input_series": series(_reset_scenario()),
    "promql_expr_test": [
        {
            "expr": f'sum by (service) (sum_over_time({DEPLOYMENTS}{{outcome="success"}}[3h]))',
            "eval_time": "110m",
            "exp_samples": [
                sample('{service="fresh"}', 1),
                sample('{service="moved"}', 0),
                sample('{service="restored"}', 1),
            ],
        },
        {
            "expr": _TOTAL_ERRORED,
            "eval_time": "110m",
            "exp_samples": [
                sample('{service="fresh"}', 1),
                sample('{service="moved"}', 0),
                sample('{service="restored"}', 1),
            ],
        },
    ],
}


def test_counter_resets_and_new_series_count_no_phantom_release(tmp_path: Path) -> None:
    assert promtool_test(tmp_path, [_RESET_TEST]).returncode == 0


# --- Mutations: the scenarios above catch a broken rule ----------------------------------------


@pytest.mark.parametrize(
    ("scenario", "replace"),
    [
        # Minutes that overlap count every release twice.
        pytest.param(
            _COUNTED_ONCE,
            {DEPLOYMENTS: ("offset 31m", "offset 32m")},
            id="overlapping-minutes",
        ),
        # Without the clamp, a counter going back counts negative releases.
        pytest.param(
            _RESET_TEST,
            {DEPLOYMENTS: ("clamp_min(", "(", ", 0) or", ") or")},
            id="no-clamp",
        ),
        # Without the new-group test, a moved gateway counts its whole history.
        pytest.param(
            _RESET_TEST,
            {NEW_GROUPS: (" unless on (environment, service) ", " or on (environment, service) ")},
            id="every-series-new",
        ),
        # Without the first-push bound, a Prometheus meeting a gateway with history counts it.
        pytest.param(_COUNTED_ONCE, {NEW_GROUPS: ("<= 1", ">= 0")}, id="no-first-push-bound"),
        # Releases judged on the wrong 30 minutes (before them) are not followed by errors.
        pytest.param(
            _COUNTED_ONCE,
            {"ttbt2:http_server_errors:increase30m": ("[30m]", "[30m] offset 30m")},
            id="errors-before-the-release",
        ),
    ],
)
def test_a_broken_release_rule_fails_the_scenario(
    tmp_path: Path, scenario: dict[str, Any], replace: dict[str, tuple[str, ...]]
) -> None:
    # The broken rules are still valid PromQL: the scenario fails on the values, not the syntax.
    rules = tmp_path / "broken.yml"
    rules.write_text(yaml.safe_dump({"groups": _groups_with(replace)}, sort_keys=False))
    assert PROMTOOL is not None
    check = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    # The scenarios pass as they are (the tests above); broken, they must fail.
    result = promtool_test(tmp_path, [scenario], replace)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


# --- Weekly targets -----------------------------------------------------------------------------
#
# Samples every 5 minutes; a few hours stand in for the week (the 7-day sums cover whatever
# the window holds). Each alert waits an hour ("for: 1h"), so the checks are at 330 min.


_STEPS = 66  # 5.5 h at 5 min


def _releases(count: int, failures: int = 0, service: str = "api") -> dict[str, str]:
    """Production deployments every 5 minutes.

    ``count`` successes from 5 min on, and ``failures`` failures from 55 min on.
    """
    flat = _STEPS - count - 1
    fail_flat = _STEPS - 11 - failures
    return {
        deployments(service, "success"): f"0+1x{count} {count}x{flat}",
        deployments(service, "failure"): f"0x10 1+1x{failures - 1} {failures}x{fail_flat}"
        if failures
        else f"0x{_STEPS}",
    }


def _weekly_case(
    alert: str, inputs: dict[str, str], description: str | None, labels: dict[str, str]
) -> dict[str, Any]:
    """A promtool test: the alert fires with ``description`` at 330 min, or not at all."""
    rule = alerts_by_name()[alert]
    exp = [] if description is None else [expected(rule, labels, description)]
    return {
        "interval": "5m",
        "input_series": series(inputs),
        "alert_rule_test": [{"eval_time": "330m", "alertname": alert, "exp_alerts": exp}],
    }


PROD = {"environment": "production"}


def _errors_at_125_to_130(service: str = "api") -> dict[str, str]:
    """600 requests every 5 minutes, and 60 of them failing between 125 and 130 min."""
    return {
        http(service, "200"): f"0+600x{_STEPS}",
        http(service, "500"): f"0x25 60x{_STEPS - 26}",
    }


def _every_ten_minutes(count: int, service: str = "api") -> dict[str, str]:
    """``count`` releases, one every 10 minutes from 10 min on (steps at 10, 20, ... min)."""
    values = []
    for i in range(_STEPS + 1):
        values.append(str(min(i // 2, count)))
    return {
        deployments(service, "success"): " ".join(values),
        deployments(service, "failure"): f"0x{_STEPS}",
    }


WEEKLY: dict[str, dict[str, Any]] = {
    # 48 successes and 2 failures: 96 % < 99 %.
    "DeploymentSuccessRateLow": {
        "firing": (
            _releases(48, failures=2),
            "Only 96% of the production deployments of the "
            "last 7 days succeeded (seed 4.10.1 target > 99%).",
        ),
        "met": _releases(48),
        # One failure in 10: 90 %, but too few deployments to judge.
        "thin": _releases(10, failures=1),
    },
    "RollbackTimeHigh": {
        "firing": (
            {
                **_releases(30, failures=1),
                gateway("ttbt2_rollback_duration_seconds_count"): "0x10 1x56",
                gateway("ttbt2_rollback_duration_seconds_sum"): "0x10 900x56",
            },
            "Production rollbacks of the last 7 days took 15m 0s on average "
            "(seed 4.10.1 target < 10 min).",
        ),
        "met": {
            **_releases(30, failures=1),
            gateway("ttbt2_rollback_duration_seconds_count"): "0x10 1x56",
            gateway("ttbt2_rollback_duration_seconds_sum"): "0x10 300x56",
        },
    },
    "DeploymentLeadTimeHigh": {
        "firing": (
            {
                **_releases(30),
                gateway("ttbt2_deployment_lead_time_seconds_count"): "0+1x30 30x36",
                gateway("ttbt2_deployment_lead_time_seconds_sum"): "0+10800x30 324000x36",
            },
            "Mean lead time commit to production over the last 7 days: 3h 0m 0s "
            "(seed 4.10.1 target < 2h).",
        ),
        "met": {
            **_releases(30),
            gateway("ttbt2_deployment_lead_time_seconds_count"): "0+1x30 30x36",
            gateway("ttbt2_deployment_lead_time_seconds_sum"): "0+3600x30 108000x36",
        },
        # Three slow releases only: too few to judge.
        "thin": {
            **_releases(3),
            gateway("ttbt2_deployment_lead_time_seconds_count"): "0+1x3 3x63",
            gateway("ttbt2_deployment_lead_time_seconds_sum"): "0+10800x3 32400x63",
        },
    },
    # 14 releases: 2 a day; 42 releases: 6 a day.
    "DeploymentFrequencyLow": {
        "firing": (
            _releases(14),
            "2 successful production deployments a day over the last 7 days "
            "(seed 4.10.1 target 5-10 a day).",
        ),
        "met": _releases(42),
    },
    # 1 hotfix in 48 deployments: 2.083 % > 1 %.
    "HotfixRatioHigh": {
        "firing": (
            {**_releases(48), gateway("ttbt2_hotfixes_total"): "0x20 1x46"},
            "2.083% of the production deployments of the last 7 days were hotfixes "
            "(seed 4.10.2 target < 1%).",
        ),
        "met": {**_releases(48), gateway("ttbt2_hotfixes_total"): "0x66"},
        "thin": {**_releases(10), gateway("ttbt2_hotfixes_total"): "0x20 1x46"},
    },
    # 24 releases, one every 10 minutes; the errors at 125-130 min follow the releases of 100,
    # 110 and 120 min only (each is judged on the 30 minutes after it): 3 of 24, 12.5 %.
    "ReleasesFollowedByErrorsHigh": {
        "firing": (
            {**_every_ten_minutes(24), **_errors_at_125_to_130()},
            "12.5% of the production releases of the last 7 days were followed by errors "
            "(seed 4.10.2 target < 0.1%).",
        ),
        "met": {
            **_every_ten_minutes(24),
            http("api", "200"): f"0+600x{_STEPS}",
            http("api", "500"): f"0x{_STEPS}",
        },
        # 1 of 10 releases followed by errors: too few releases to judge the share.
        "thin": {
            **_every_ten_minutes(10),
            http("api", "200"): f"0+600x{_STEPS}",
            http("api", "500"): f"0x9 60x{_STEPS - 10}",
        },
    },
}


def _weekly_params() -> list[Any]:
    params = []
    for alert, cases in WEEKLY.items():
        inputs, description = cases["firing"]
        params.append(pytest.param(alert, inputs, description, id=f"{alert}-fires"))
        for kind in ("met", "thin"):
            if kind in cases:
                params.append(pytest.param(alert, cases[kind], None, id=f"{alert}-{kind}"))
    return params


@pytest.mark.parametrize(("alert", "inputs", "description"), _weekly_params())
def test_weekly_target_alert(
    tmp_path: Path, alert: str, inputs: dict[str, str], description: str | None
) -> None:
    case = _weekly_case(alert, inputs, description, PROD)
    assert promtool_test(tmp_path, [case]).returncode == 0


def test_frequency_low_is_silent_when_nothing_is_recorded(tmp_path: Path) -> None:
    """No deployment series at all (a stack without the gateway) is no missed target."""
    case = _weekly_case("DeploymentFrequencyLow", {http("api", "200"): "0+600x66"}, None, PROD)
    assert promtool_test(tmp_path, [case]).returncode == 0


def test_validation_alert_fires_once_per_slow_release(tmp_path: Path) -> None:
    alert = alerts_by_name()["ReleaseValidationSlow"]
    slow = expected(
        alert,
        {"environment": "production", "service": "api"},
        "The last production release of api took 45m 0s from staging to production approval "
        "(seed 4.10.2 target < 30 min).",
    )
    test = {
        "interval": "5m",
        "input_series": series(
            {
                # A 10-minute validation, then a 45-minute one pushed at 55 min.
                gateway("ttbt2_release_validation_seconds"): "600x10 2700x30",
                # web: 20 minutes, within target.
                gateway("ttbt2_release_validation_seconds", "web"): "600x10 1200x30",
            }
        ),
        "alert_rule_test": [
            {"eval_time": "50m", "alertname": alert.name, "exp_alerts": []},
            {"eval_time": "60m", "alertname": alert.name, "exp_alerts": [slow]},
            # Notified; the gauge keeps the value until the next release, the alert does not.
            {"eval_time": "120m", "alertname": alert.name, "exp_alerts": []},
        ],
    }
    assert promtool_test(tmp_path, [test]).returncode == 0


def test_every_delivery_alert_is_tested() -> None:
    delivery = {a.name for a in alerts_by_name().values() if a.category == "delivery"}
    assert delivery == {*WEEKLY, "ReleaseFollowedByErrors", "ReleaseValidationSlow"}
    covered = {a.metric for a in alerts_by_name().values() if a.category == "delivery"}
    assert covered == set(DELIVERY_METRICS)


def test_release_rules_are_one_minute_apart() -> None:
    """The per-minute counts tile time only if the group runs every minute, exactly."""
    (group,) = [g for g in rule_groups() if g["name"] == "ttbt2.delivery.releases"]
    assert group["interval"] == "1m"
    assert [r["record"] for r in group["rules"]] == [r.record for r in RELEASE_RULES]
