"""Grafana dashboards of the TTBT2 platform (seed 4.4.3, 4.7, 4.10.1, 4.10.2), as code.

Pure: it imports no Pulumi resource and registers nothing. Each dashboard is built with the
``grafana-foundation-sdk`` builders and encoded with its JSON encoder; the Pulumi program ships
the result as ConfigMaps (:func:`config_map`) that the kube-prometheus-stack Grafana sidecar
picks up, so a dashboard is reviewed and versioned like any other code.

Metric contract
===============
The panels query the metrics below; renaming one of them breaks a dashboard silently (Grafana
shows "No data"), so a change here and in the producer goes in the same review.

Application (every TTBT2 service, Micrometer/OpenTelemetry naming):

* ``http_server_requests_seconds_bucket/_count{service,route,status}``: HTTP server latency
  histogram; ``status`` is the numeric response code.
* ``ttbt2_active_sessions{service}``: gauge, sessions open now.
* ``ttbt2_critical_operations_total{service,outcome}``: counter of business-critical operations
  (payments, account changes), ``outcome`` is ``success`` or ``failure``.
* ``ttbt2_auth_failures_total``: counter of failed logins.
* ``ttbt2_auth_unauthorized_total``: counter of requests refused for lack of rights (401/403).
* ``ttbt2_signups_total``: counter of completed sign-ups.
* ``ttbt2_conversions_total``: counter of sign-ups that reached the conversion goal (first paid
  order); the conversion rate is conversions over sign-ups on the same range.
* ``ttbt2_orders_total``: counter of orders placed.

Recording rules (defined with the alerts in ``components/monitoring/alerts.py``), by ``service``:

* ``ttbt2:http_request_duration_seconds:p95_5m``: 95th percentile latency over 5 minutes, per
  service and route.
* ``ttbt2:http_requests:rate5m``: requests per second over 5 minutes.
* ``ttbt2:http_success_ratio:rate5m``: share of non-5xx responses over 5 minutes.

Delivery recording rules (same module, "Releases followed by errors"), by ``environment`` and
``service``:

* ``ttbt2:deployments:increase1m_offset30m{outcome}``: deployments in the minute that ended 30
  minutes ago; summed over a range, the deployments of that range, each exactly once.
* ``ttbt2:releases_followed_by_errors:increase1m_offset30m``: the successful production
  deployments of that minute whose service then answered more than 1 % 5xx for 30 minutes.
* ``ttbt2:releases_followed_by_errors:ratio7d``: their share over the last 7 days, by
  ``environment`` only.

Delivery pipeline (pushed to the Pushgateway by CI/CD at the end of each run):

* ``ttbt2_deployments_total{environment,outcome}``: counter of deployments, ``outcome`` is
  ``success`` or ``failure``.
* ``ttbt2_deployment_lead_time_seconds``: histogram, commit to running in production.
* ``ttbt2_rollback_duration_seconds``: histogram, rollback start to previous version serving.
* ``ttbt2_hotfixes_total``: counter of deployments flagged as hotfixes.
* ``ttbt2_release_validation_seconds``: gauge, duration of the last release validation
  (automated checks plus sign-off), pushed once per release.

Recovery drill (pushed to the Pushgateway as job ``ttbt2-drill`` by the quarterly drill,
``scripts/recovery_drill.py``): gauges ``ttbt2_drill_rto_seconds``,
``ttbt2_drill_rpo_seconds{source}`` (``database``, ``velero``, ``vault``),
``ttbt2_drill_region_loss_rto_seconds``, ``ttbt2_drill_rto_objective_seconds``,
``ttbt2_drill_rpo_objective_seconds``, ``ttbt2_drill_success`` and
``ttbt2_drill_last_success_timestamp_seconds``.

Infrastructure: ``probe_success{job="blackbox-uptime"}`` (blackbox exporter, public probes;
``components/k8s/blackbox.py``), ``aws_wafv2_blocked_requests_sum``
(CloudWatch exporter), ``trivy_image_vulnerabilities{severity}`` (trivy-operator,
``components/k8s/trivy_operator.py``),
``container_cpu_usage_seconds_total`` / ``container_memory_working_set_bytes`` (cAdvisor) and
``kube_pod_container_resource_limits`` / ``kube_pod_container_status_restarts_total``
(kube-state-metrics).

Cost (seed 4.11.2): ``aws_billing_estimated_charges_maximum{service_name,currency}`` (the
us-east-1 CloudWatch exporter), ``kube_pod_container_resource_requests{resource}`` and
``kube_node_status_allocatable{resource}`` (kube-state-metrics) and
``kube_customresource_vpa_containerrecommendations_target{namespace,container,resource}``
(kube-state-metrics' custom resource state, ``components/k8s/vpa_metrics.py``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

# Seed targets, mirrored in the panel thresholds so a red panel means "target missed".
SUCCESS_RATIO_TARGET = 0.99  # 4.10.1: deployment success rate > 99 %; also HTTP availability.
LEAD_TIME_TARGET_SECONDS = 2 * 3600  # 4.10.1: mean time commit to production < 2 h.
ROLLBACK_TARGET_SECONDS = 10 * 60  # 4.10.1: mean rollback time < 10 min.
DEPLOYS_PER_DAY_MIN = 5  # 4.10.1: deployment frequency 5-10 per day.
DEPLOYS_PER_DAY_MAX = 10
HOTFIX_RATIO_TARGET = 0.01  # 4.10.2: hotfixes < 1 % of deployments.
POST_DEPLOY_ERROR_TARGET = 0.001  # 4.10.2: post-deployment errors < 0.1 % of releases.
VALIDATION_TARGET_SECONDS = 30 * 60  # 4.10.2: validation time < 30 min.
RTO_TARGET_SECONDS = 2 * 3600  # 4.7: recovery time objective < 2 h (ttbt2:rtoObjectiveMinutes).
RPO_TARGET_SECONDS = 3600  # 4.7: recovery point objective < 1 h.
DRILL_OVERDUE_SECONDS = 100 * 86400  # 4.7: a drill a quarter, plus a week (RecoveryDrillOverdue).
# Not a seed number: the platform's latency objective, used to colour the latency panels.
LATENCY_P95_TARGET_SECONDS = 0.5

FOLDER = "TTBT2"
"""The Grafana folder every dashboard of the platform lands in."""
SIDECAR_LABEL = "grafana_dashboard"
"""The label the kube-prometheus-stack Grafana sidecar watches (the chart's default)."""
SIDECAR_LABEL_VALUE = "1"
FOLDER_ANNOTATION = "grafana_folder"
"""The ConfigMap annotation the sidecar reads as the dashboard's folder (the metrics stack sets
``grafana.sidecar.dashboards.folderAnnotation`` to it)."""

# Every panel reads from the datasource variable, so one dashboard serves every environment's
# Prometheus without a per-stack copy.
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")

# Common filters, kept here so every panel of a dashboard filters the same way.
_SVC = 'service=~"$service"'
_HTTP_ALL = f"http_server_requests_seconds_count{{{_SVC}}}"
_HTTP_5XX = f'http_server_requests_seconds_count{{{_SVC},status=~"5.."}}'
_ENV = 'environment="$environment"'

Steps = list[tuple[float | None, str]]

# Deployments per day: red under 5, green in the 5-10 band, orange above (more than planned).
_FREQUENCY_BAND: Steps = [
    (None, "red"),
    (DEPLOYS_PER_DAY_MIN, "green"),
    (DEPLOYS_PER_DAY_MAX, "orange"),
]


def _target(expr: str, legend: str, ref: str) -> prometheus.Dataquery:
    """One PromQL query; the refId must be unique within a panel for Grafana to keep both."""
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref)


def _targets(queries: list[tuple[str, str]]) -> list[cogbuilder.Builder[cogvariants.Dataquery]]:
    """Queries ``(expr, legend)`` with refIds A, B, ... in order."""
    return [_target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(queries)]


def _thresholds(steps: Steps) -> dashboard_builder.ThresholdsConfig:
    """Absolute thresholds; the first step (value ``None``) is the colour below every other."""
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value, color) for value, color in steps])
    )


def _below(target: float) -> Steps:
    """Green while the value stays under ``target`` (durations, error ratios), red at it."""
    return [(None, "green"), (target, "red")]


def _above(target: float) -> Steps:
    """Red below ``target``, green from it (success ratios); Grafana colours "met or exceeded"."""
    return [(None, "red"), (target, "green")]


def _stat(
    ids: Iterator[int],
    title: str,
    description: str,
    unit: str,
    queries: list[tuple[str, str]],
    *,
    steps: Steps | None = None,
    width: int = 6,
) -> stat.Panel:
    """A single-number panel showing the last value, coloured by ``steps``."""
    panel = (
        stat.Panel()
        .id(next(ids))
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .targets(_targets(queries))
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .height(4)
        .span(width)
    )
    if steps is not None:
        panel = panel.thresholds(_thresholds(steps))
    return panel


def _series(
    ids: Iterator[int],
    title: str,
    description: str,
    unit: str,
    queries: list[tuple[str, str]],
    *,
    steps: Steps | None = None,
    width: int = 12,
) -> timeseries.Panel:
    """A graph; with ``steps`` the target is drawn as a dashed line so drift is visible."""
    panel = (
        timeseries.Panel()
        .id(next(ids))
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .targets(_targets(queries))
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .height(8)
        .span(width)
    )
    if steps is not None:
        panel = panel.thresholds(_thresholds(steps)).thresholds_style(
            common_builder.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)
        )
    return panel


def _base(
    uid: str, title: str, tags: list[str], refresh: str, since: str
) -> dashboard_builder.Dashboard:
    """Dashboard skeleton: uid, title, tags, refresh, time range and the datasource variable.

    The uid is fixed so links and bookmarks survive a re-provisioning.
    """
    return (
        dashboard_builder.Dashboard(title)
        .uid(uid)
        .tags(["ttbt2", *tags])
        .refresh(refresh)
        .time(since, "now")
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .readonly()
        .with_variable(
            dashboard_builder.DatasourceVariable("datasource")
            .label("Prometheus")
            .type("prometheus")
        )
    )


def _query_variable(
    name: str, label: str, query: str, *, all_values: bool
) -> dashboard_builder.QueryVariable:
    """A variable filled from Prometheus label values; "All" becomes the regex ``.*``."""
    variable = (
        dashboard_builder.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )
    if all_values:
        variable = variable.multi(True).include_all(True).all_value(".*")
    return variable


def _service_variable() -> dashboard_builder.QueryVariable:
    """The ``$service`` filter, fed from the HTTP metric every service exposes."""
    return _query_variable(
        "service",
        "Service",
        "label_values(http_server_requests_seconds_count, service)",
        all_values=True,
    )


def _executive() -> model.Dashboard:
    """High-level figures for stakeholders: availability, speed, usage and delivery."""
    ids = itertools.count(1)
    http_ok = 'http_server_requests_seconds_count{status!~"5.."}'
    return (
        _base("ttbt2-executive", "TTBT2 / Executive", ["executive"], "5m", "now-7d")
        .with_row(dashboard_builder.Row("Service level").id(next(ids)).collapsed(False))
        .with_panel(
            _stat(
                ids,
                "Availability",
                "Share of requests answered without a server error over the range (> 99 %).",
                "percentunit",
                [
                    (
                        f"sum(increase({http_ok}[$__range]))"
                        " / sum(increase(http_server_requests_seconds_count[$__range]))",
                        "availability",
                    )
                ],
                steps=_above(SUCCESS_RATIO_TARGET),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Latency p95 (worst service)",
                "Slowest service's 95th percentile response time now.",
                "s",
                [("max(ttbt2:http_request_duration_seconds:p95_5m)", "p95")],
                steps=_below(LATENCY_P95_TARGET_SECONDS),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Uptime probes",
                "Share of external blackbox probes that succeeded over the range.",
                "percentunit",
                # The public probes only: the in-cluster ones (job blackbox-dependencies)
                # measure the services' health, not what users reach.
                [('avg(avg_over_time(probe_success{job="blackbox-uptime"}[$__range]))', "uptime")],
                steps=_above(SUCCESS_RATIO_TARGET),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Active sessions",
                "Sessions open now across every service.",
                "short",
                [("sum(ttbt2_active_sessions)", "sessions")],
            )
        )
        .with_row(dashboard_builder.Row("Trends").id(next(ids)).collapsed(False))
        .with_panel(
            _series(
                ids,
                "Success ratio by service",
                "Share of non-5xx responses per service; the dashed line is the 99 % target.",
                "percentunit",
                [("ttbt2:http_success_ratio:rate5m", "{{service}}")],
                steps=_above(SUCCESS_RATIO_TARGET),
            )
        )
        .with_panel(
            _series(
                ids,
                "Traffic",
                "Requests per second across every service.",
                "reqps",
                [("sum(ttbt2:http_requests:rate5m)", "requests/s")],
            )
        )
        .with_panel(
            _series(
                ids,
                "Production deployments per day",
                "Successful production deployments per day (target 5-10).",
                "short",
                [
                    (
                        "sum(increase(ttbt2_deployments_total"
                        '{environment="production",outcome="success"}[1d]))',
                        "deployments",
                    )
                ],
            )
        )
        .with_panel(
            _series(
                ids,
                "Critical operations failure ratio",
                "Share of business-critical operations (payments, account changes) that failed.",
                "percentunit",
                [
                    (
                        "sum(rate(ttbt2_critical_operations_total"
                        '{outcome="failure"}[$__rate_interval]))'
                        " / sum(rate(ttbt2_critical_operations_total[$__rate_interval]))",
                        "failure ratio",
                    )
                ],
                steps=_below(1 - SUCCESS_RATIO_TARGET),
            )
        )
        .build()
    )


def _technical() -> model.Dashboard:
    """Performance and error details per service and route, and the pods' resources."""
    ids = itertools.count(1)
    pods = 'namespace=~"$namespace", container!="", container!="POD"'
    return (
        _base("ttbt2-technical", "TTBT2 / Technical", ["technical"], "30s", "now-6h")
        .with_variable(_service_variable())
        .with_variable(
            _query_variable(
                "namespace", "Namespace", "label_values(kube_pod_info, namespace)", all_values=True
            )
        )
        .with_row(dashboard_builder.Row("Golden signals").id(next(ids)).collapsed(False))
        .with_panel(
            _series(
                ids,
                "Requests by route",
                "Requests per second per route of the selected services.",
                "reqps",
                [(f"sum by (route) (rate({_HTTP_ALL}[$__rate_interval]))", "{{route}}")],
            )
        )
        .with_panel(
            _series(
                ids,
                "Server errors by status",
                "5xx responses per second, by status code.",
                "reqps",
                [(f"sum by (status) (rate({_HTTP_5XX}[$__rate_interval]))", "{{status}}")],
            )
        )
        .with_panel(
            _series(
                ids,
                "Latency p95 by service",
                "95th percentile response time (recording rule, 5 minute window).",
                "s",
                # The recording rule is per service and route: the slowest route is the
                # service's p95 here.
                [
                    (
                        f"max by (service) (ttbt2:http_request_duration_seconds:p95_5m{{{_SVC}}})",
                        "{{service}}",
                    )
                ],
                steps=_below(LATENCY_P95_TARGET_SECONDS),
            )
        )
        .with_panel(
            _series(
                ids,
                "Latency p99 by route",
                "99th percentile response time per route, from the raw histogram.",
                "s",
                [
                    (
                        "histogram_quantile(0.99, sum by (le, route) (rate("
                        f"http_server_requests_seconds_bucket{{{_SVC}}}[$__rate_interval])))",
                        "{{route}}",
                    )
                ],
            )
        )
        .with_panel(
            _series(
                ids,
                "Success ratio by service",
                "Share of non-5xx responses; the dashed line is the 99 % target.",
                "percentunit",
                [(f"ttbt2:http_success_ratio:rate5m{{{_SVC}}}", "{{service}}")],
                steps=_above(SUCCESS_RATIO_TARGET),
            )
        )
        .with_panel(
            _series(
                ids,
                "Critical operations by outcome",
                "Business-critical operations per second, success against failure.",
                "ops",
                [
                    (
                        "sum by (outcome) (rate("
                        f"ttbt2_critical_operations_total{{{_SVC}}}[$__rate_interval]))",
                        "{{outcome}}",
                    )
                ],
            )
        )
        # Collapsed: resources are a drill-down, and Grafana keeps a row's own panels only
        # when the row is collapsed.
        .with_row(
            dashboard_builder.Row("Resources")
            .id(next(ids))
            .collapsed(True)
            .with_panel(
                _series(
                    ids,
                    "CPU by pod",
                    "CPU cores used per pod (cAdvisor).",
                    "short",
                    [
                        (
                            "sum by (pod) (rate(container_cpu_usage_seconds_total"
                            f"{{{pods}}}[$__rate_interval]))",
                            "{{pod}}",
                        )
                    ],
                    width=8,
                )
            )
            .with_panel(
                _series(
                    ids,
                    "Memory use against limit",
                    "Working set over the memory limit per pod; 1 means OOM-kill territory.",
                    "percentunit",
                    [
                        (
                            f"sum by (pod) (container_memory_working_set_bytes{{{pods}}})"
                            " / sum by (pod) (kube_pod_container_resource_limits"
                            '{namespace=~"$namespace", resource="memory"})',
                            "{{pod}}",
                        )
                    ],
                    steps=[(None, "green"), (0.8, "orange"), (0.95, "red")],
                    width=8,
                )
            )
            .with_panel(
                _series(
                    ids,
                    "Container restarts",
                    "Restarts per pod over the last 15 minutes (kube-state-metrics).",
                    "short",
                    [
                        (
                            "sum by (pod) (increase(kube_pod_container_status_restarts_total"
                            '{namespace=~"$namespace"}[15m]))',
                            "{{pod}}",
                        )
                    ],
                    width=8,
                )
            )
        )
        .build()
    )


def _security() -> model.Dashboard:
    """Authentication activity, blocked traffic and detected vulnerabilities."""
    ids = itertools.count(1)
    return (
        _base("ttbt2-security", "TTBT2 / Security", ["security"], "1m", "now-24h")
        .with_row(dashboard_builder.Row("Threats").id(next(ids)).collapsed(False))
        .with_panel(
            _stat(
                ids,
                "Critical vulnerabilities",
                "Critical CVEs in running images (trivy-operator); any is a finding.",
                "short",
                [('sum(trivy_image_vulnerabilities{severity="Critical"})', "critical")],
                steps=[(None, "green"), (1, "red")],
            )
        )
        .with_panel(
            _stat(
                ids,
                "High vulnerabilities",
                "High-severity CVEs in running images (trivy-operator).",
                "short",
                [('sum(trivy_image_vulnerabilities{severity="High"})', "high")],
                steps=[(None, "green"), (1, "orange")],
            )
        )
        .with_panel(
            _stat(
                ids,
                "Failed logins (range)",
                "Failed logins over the selected range.",
                "short",
                [("sum(increase(ttbt2_auth_failures_total[$__range]))", "failures")],
            )
        )
        .with_panel(
            _stat(
                ids,
                "WAF blocked requests",
                "Requests the AWS WAF blocked in the last CloudWatch period.",
                "short",
                [('sum(aws_wafv2_blocked_requests_sum{rule="ALL"})', "blocked")],
            )
        )
        .with_row(dashboard_builder.Row("Activity").id(next(ids)).collapsed(False))
        .with_panel(
            _series(
                ids,
                "Authentication failures",
                "Failed logins and refused requests per second; a spike is brute force.",
                "ops",
                [
                    ("sum(rate(ttbt2_auth_failures_total[$__rate_interval]))", "failed logins"),
                    ("sum(rate(ttbt2_auth_unauthorized_total[$__rate_interval]))", "unauthorized"),
                ],
            )
        )
        .with_panel(
            _series(
                ids,
                "HTTP 401/403 by service",
                "Responses refusing access, per service.",
                "reqps",
                [
                    (
                        "sum by (service, status) (rate(http_server_requests_seconds_count"
                        '{status=~"401|403"}[$__rate_interval]))',
                        "{{service}} {{status}}",
                    )
                ],
            )
        )
        .with_panel(
            _series(
                ids,
                "WAF blocked requests",
                "Requests the AWS WAF blocked per CloudWatch period.",
                "short",
                [('sum(aws_wafv2_blocked_requests_sum{rule="ALL"})', "blocked")],
            )
        )
        .with_panel(
            _series(
                ids,
                "Vulnerabilities by severity",
                "CVEs in running images by severity (trivy-operator).",
                "short",
                [("sum by (severity) (trivy_image_vulnerabilities)", "{{severity}}")],
            )
        )
        .build()
    )


def _business() -> model.Dashboard:
    """Usage and conversion: sign-ups, conversions, orders and sessions."""
    ids = itertools.count(1)
    return (
        _base("ttbt2-business", "TTBT2 / Business", ["business"], "5m", "now-30d")
        .with_row(dashboard_builder.Row("Totals over the range").id(next(ids)).collapsed(False))
        .with_panel(
            _stat(
                ids,
                "Sign-ups",
                "Completed sign-ups over the range.",
                "short",
                [("sum(increase(ttbt2_signups_total[$__range]))", "sign-ups")],
            )
        )
        .with_panel(
            _stat(
                ids,
                "Conversions",
                "Sign-ups that reached the conversion goal over the range.",
                "short",
                [("sum(increase(ttbt2_conversions_total[$__range]))", "conversions")],
            )
        )
        .with_panel(
            _stat(
                ids,
                "Conversion rate",
                "Conversions over sign-ups on the same range.",
                "percentunit",
                [
                    (
                        "sum(increase(ttbt2_conversions_total[$__range]))"
                        " / sum(increase(ttbt2_signups_total[$__range]))",
                        "conversion rate",
                    )
                ],
            )
        )
        .with_panel(
            _stat(
                ids,
                "Orders",
                "Orders placed over the range.",
                "short",
                [("sum(increase(ttbt2_orders_total[$__range]))", "orders")],
            )
        )
        .with_row(dashboard_builder.Row("Usage").id(next(ids)).collapsed(False))
        .with_panel(
            _series(
                ids,
                "Sign-ups, conversions and orders per hour",
                "Hourly counts; compare the curves to spot a funnel step that broke.",
                "short",
                [
                    ("sum(increase(ttbt2_signups_total[1h]))", "sign-ups"),
                    ("sum(increase(ttbt2_conversions_total[1h]))", "conversions"),
                    ("sum(increase(ttbt2_orders_total[1h]))", "orders"),
                ],
            )
        )
        .with_panel(
            _series(
                ids,
                "Active sessions",
                "Sessions open, per service.",
                "short",
                [("sum by (service) (ttbt2_active_sessions)", "{{service}}")],
            )
        )
        .with_panel(
            _series(
                ids,
                "Daily conversion rate",
                "Conversions over sign-ups per day.",
                "percentunit",
                [
                    (
                        "sum(increase(ttbt2_conversions_total[1d]))"
                        " / sum(increase(ttbt2_signups_total[1d]))",
                        "conversion rate",
                    )
                ],
                width=24,
            )
        )
        .build()
    )


def _mean(histogram: str, window: str, selector: str = "") -> str:
    """Mean of a Prometheus histogram over ``window``: increase of _sum over increase of _count."""
    return (
        f"sum(increase({histogram}_sum{selector}[{window}]))"
        f" / sum(increase({histogram}_count{selector}[{window}]))"
    )


def _deployments() -> model.Dashboard:
    """Delivery performance against the seed 4.10.1 and 4.10.2 targets."""
    ids = itertools.count(1)
    deploys = f"ttbt2_deployments_total{{{_ENV}}}"
    success = f'ttbt2_deployments_total{{{_ENV},outcome="success"}}'
    # Releases judged on the 30 minutes after them, each once (components/monitoring/alerts.py).
    errored_share = (
        "sum(sum_over_time(ttbt2:releases_followed_by_errors:increase1m_offset30m"
        f"{{{_ENV}}}[$__range])) / sum(sum_over_time(ttbt2:deployments:increase1m_offset30m"
        f'{{{_ENV},outcome="success"}}[$__range]))'
    )
    return (
        _base("ttbt2-deployments", "TTBT2 / Deployments", ["deployments", "dora"], "5m", "now-30d")
        .with_variable(
            _query_variable(
                "environment",
                "Environment",
                "label_values(ttbt2_deployments_total, environment)",
                all_values=False,
            )
        )
        .with_row(dashboard_builder.Row("Seed 4.10.1 targets").id(next(ids)).collapsed(False))
        .with_panel(
            _stat(
                ids,
                "Mean lead time commit to production",
                "Mean time from commit to running in production over the range (< 2 h).",
                "s",
                [(_mean("ttbt2_deployment_lead_time_seconds", "$__range"), "lead time")],
                steps=_below(LEAD_TIME_TARGET_SECONDS),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Deployment success rate",
                "Successful deployments over all deployments on the range (> 99 %).",
                "percentunit",
                [
                    (
                        f"sum(increase({success}[$__range])) / sum(increase({deploys}[$__range]))",
                        "success rate",
                    )
                ],
                steps=_above(SUCCESS_RATIO_TARGET),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Mean rollback time",
                "Mean time from rollback start to the previous version serving (< 10 min).",
                "s",
                [(_mean("ttbt2_rollback_duration_seconds", "$__range"), "rollback")],
                steps=_below(ROLLBACK_TARGET_SECONDS),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Deployments per day",
                "Mean deployments per day over the range (target 5-10; above 10 is orange).",
                "short",
                [
                    (
                        f"sum(increase({deploys}[$__range])) / ($__range_s / 86400)",
                        "per day",
                    )
                ],
                steps=_FREQUENCY_BAND,
            )
        )
        .with_row(dashboard_builder.Row("Seed 4.10.2 quality").id(next(ids)).collapsed(False))
        .with_panel(
            _stat(
                ids,
                "Hotfix ratio",
                "Hotfixes over all deployments on the range (< 1 %).",
                "percentunit",
                [
                    (
                        "sum(increase(ttbt2_hotfixes_total[$__range]))"
                        f" / sum(increase({deploys}[$__range]))",
                        "hotfixes",
                    )
                ],
                steps=_below(HOTFIX_RATIO_TARGET),
                width=8,
            )
        )
        .with_panel(
            _stat(
                ids,
                "Releases followed by errors",
                "Share of the production releases on the range whose service answered more "
                "than 1 % of requests with a 5xx in the 30 minutes after (< 0.1 % of releases).",
                "percentunit",
                [(errored_share, "releases followed by errors")],
                steps=_below(POST_DEPLOY_ERROR_TARGET),
                width=8,
            )
        )
        .with_panel(
            _stat(
                ids,
                "Longest release validation",
                "Longest release validation over the range (< 30 min).",
                "s",
                [("max(max_over_time(ttbt2_release_validation_seconds[$__range]))", "validation")],
                steps=_below(VALIDATION_TARGET_SECONDS),
                width=8,
            )
        )
        .with_row(dashboard_builder.Row("Trends").id(next(ids)).collapsed(False))
        .with_panel(
            _series(
                ids,
                "Deployments per day by outcome",
                "Deployments per day; the band between the dashed lines is the 5-10 target.",
                "short",
                [(f"sum by (outcome) (increase({deploys}[1d]))", "{{outcome}}")],
                steps=_FREQUENCY_BAND,
            )
        )
        .with_panel(
            _series(
                ids,
                "Lead time, mean and p95 (daily)",
                "Commit to production per day; the dashed line is the 2 h target.",
                "s",
                [
                    (_mean("ttbt2_deployment_lead_time_seconds", "1d"), "mean"),
                    (
                        "histogram_quantile(0.95, sum by (le) "
                        "(increase(ttbt2_deployment_lead_time_seconds_bucket[1d])))",
                        "p95",
                    ),
                ],
                steps=_below(LEAD_TIME_TARGET_SECONDS),
            )
        )
        .with_panel(
            _series(
                ids,
                "Releases followed by errors (7 days)",
                "Share of the last 7 days' production releases followed by more than 1 % 5xx in "
                "their first 30 minutes; the dashed line is the 0.1 % target (seed 4.10.2).",
                "percentunit",
                [
                    (
                        f"ttbt2:releases_followed_by_errors:ratio7d{{{_ENV}}}",
                        "releases followed by errors",
                    )
                ],
                steps=_below(POST_DEPLOY_ERROR_TARGET),
            )
        )
        .with_panel(
            _series(
                ids,
                "Rollback and validation times",
                "Mean rollback time per day and last validation time (targets 10 and 30 min).",
                "s",
                [
                    (_mean("ttbt2_rollback_duration_seconds", "1d"), "rollback (mean)"),
                    ("max(ttbt2_release_validation_seconds)", "validation"),
                ],
            )
        )
        .build()
    )


def _recovery() -> model.Dashboard:
    """The quarterly recovery drill's achieved RTO and RPO against the seed 4.7 objectives.

    Every figure is what scripts/recovery_drill.py pushed at the end of the last drill (job
    ``ttbt2-drill``); a failed drill pushes NaN for what it did not reach, so a panel is empty
    rather than showing the previous drill's value.
    """
    ids = itertools.count(1)
    rto, rpo = "max(ttbt2_drill_rto_seconds)", "max(ttbt2_drill_rpo_seconds)"
    since = "time() - max(ttbt2_drill_last_success_timestamp_seconds)"
    return (
        _base("ttbt2-recovery", "TTBT2 / Recovery drills", ["recovery", "dr"], "5m", "now-1y")
        .with_row(dashboard_builder.Row("Last drill (seed 4.7)").id(next(ids)).collapsed(False))
        .with_panel(
            _stat(
                ids,
                "Achieved RTO",
                "Drill start to every restore done and checked: database, user data, cluster "
                "objects (Velero), Vault (objective 2 h).",
                "s",
                [(rto, "RTO")],
                steps=_below(RTO_TARGET_SECONDS),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Achieved RPO (worst source)",
                "Drill start minus the oldest newest-restored point of database, Velero backup "
                "and Vault snapshot (objective 1 h).",
                "s",
                [(rpo, "RPO")],
                steps=_below(RPO_TARGET_SECONDS),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Region-loss RTO (failover preview)",
                "The offline preview's planning figure for prod with ttbt2:drActive: true "
                "(objective 2 h); not a measurement.",
                "s",
                [("max(ttbt2_drill_region_loss_rto_seconds)", "region-loss RTO")],
                steps=_below(RTO_TARGET_SECONDS),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Since the last successful drill",
                "Time since a drill last restored everything within the objectives; "
                "RecoveryDrillOverdue fires above 100 days.",
                "s",
                [(since, "since last success")],
                steps=_below(DRILL_OVERDUE_SECONDS),
            )
        )
        .with_row(dashboard_builder.Row("Drill history").id(next(ids)).collapsed(False))
        .with_panel(
            _series(
                ids,
                "RTO against its objective",
                "Achieved RTO of each drill and the objective it was checked against.",
                "s",
                [(rto, "achieved RTO"), ("max(ttbt2_drill_rto_objective_seconds)", "objective")],
                steps=_below(RTO_TARGET_SECONDS),
            )
        )
        .with_panel(
            _series(
                ids,
                "RPO by source against its objective",
                "Age of the newest restored point per source at the drill's start.",
                "s",
                [
                    ("max by (source) (ttbt2_drill_rpo_seconds)", "{{source}}"),
                    ("max(ttbt2_drill_rpo_objective_seconds)", "objective"),
                ],
                steps=_below(RPO_TARGET_SECONDS),
            )
        )
        .with_panel(
            _stat(
                ids,
                "Last drill result",
                "1: the last drill restored everything within the objectives; 0: it did not.",
                "none",
                [("max(ttbt2_drill_success)", "success")],
                steps=_above(1),
                width=12,
            )
        )
        .build()
    )


# Cost and right-sizing (seed 4.11.2): the families the cost dashboard reads.
BILLING_CHARGES = "aws_billing_estimated_charges_maximum"
"""CloudWatch AWS/Billing EstimatedCharges (Maximum) per ServiceName and Currency, from the
us-east-1 CloudWatch exporter (components/k8s/cloudwatch_exporter.py, BILLING_RULES)."""
VPA_TARGET = "kube_customresource_vpa_containerrecommendations_target"
"""The VPA recommender's target per container, from kube-state-metrics' custom resource state
(components/k8s/vpa_metrics.py)."""
_REQUESTS = "kube_pod_container_resource_requests"
_NS = 'namespace=~"$namespace"'


def _requested_vs_target(resource: str) -> list[tuple[str, str]]:
    """Per container: the mean request of its pods, and the VPA's target for it."""
    return [
        (
            f'avg by (namespace, container) ({_REQUESTS}{{resource="{resource}",{_NS}}})',
            "{{namespace}}/{{container}} requested",
        ),
        (
            f'max by (namespace, container) ({VPA_TARGET}{{resource="{resource}",{_NS}}})',
            "{{namespace}}/{{container}} VPA target",
        ),
    ]


def _over_target(resource: str) -> str:
    """Requested over recommended, per container: above 1 is paid-for capacity left idle."""
    return (
        f'avg by (namespace, container) ({_REQUESTS}{{resource="{resource}",{_NS}}}) '
        f"/ on (namespace, container) max by (namespace, container) "
        f'({VPA_TARGET}{{resource="{resource}",{_NS}}})'
    )


def _cost() -> model.Dashboard:
    """What the account spends, what the cluster reserves, and what the VPA says it needs.

    Spend is the account's (CloudWatch Billing has no tag dimension); the budgets per
    environment and the anomaly alerts are in AWS Budgets and Cost Anomaly Detection
    (docs/cost.md). The right-sizing rows put each container's requests next to the VPA
    recommender's target.
    """
    ids = itertools.count(1)
    usd = 'currency="USD"'
    board = (
        _base("ttbt2-cost", "TTBT2 / Cost and right-sizing", ["cost"], "5m", "now-30d")
        .with_variable(
            _query_variable(
                "namespace",
                "Namespace",
                f"label_values({VPA_TARGET}, namespace)",
                all_values=True,
            )
        )
        .with_row(dashboard_builder.Row("AWS spend (account)").id(next(ids)).collapsed(False))
        .with_panel(
            _stat(
                ids,
                "Estimated charges, month to date",
                "The account's estimated charges this month (CloudWatch Billing, updated a few "
                "times a day): every environment in the account.",
                "currencyUSD",
                [(f"sum({BILLING_CHARGES}{{{usd}}})", "month to date")],
            )
        )
        .with_panel(
            _series(
                ids,
                "Estimated charges by service",
                "Month-to-date estimate per AWS service, the ten largest; resets each month.",
                "currencyUSD",
                [
                    (
                        f"topk(10, sum by (service_name) ({BILLING_CHARGES}{{{usd}}}))",
                        "{{service_name}}",
                    )
                ],
                width=18,
            )
        )
        .with_row(dashboard_builder.Row("Cluster reservations").id(next(ids)).collapsed(False))
        .with_panel(
            _stat(
                ids,
                "CPU requested of allocatable",
                "Share of the nodes' allocatable CPU that pods request; low means idle nodes.",
                "percentunit",
                [
                    (
                        f'sum({_REQUESTS}{{resource="cpu"}}) '
                        '/ sum(kube_node_status_allocatable{resource="cpu"})',
                        "requested",
                    )
                ],
            )
        )
        .with_panel(
            _stat(
                ids,
                "Memory requested of allocatable",
                "Share of the nodes' allocatable memory that pods request.",
                "percentunit",
                [
                    (
                        f'sum({_REQUESTS}{{resource="memory"}}) '
                        '/ sum(kube_node_status_allocatable{resource="memory"})',
                        "requested",
                    )
                ],
            )
        )
        .with_panel(
            _series(
                ids,
                "CPU requested and used by namespace",
                "Cores requested by the pods of each namespace, and cores they use.",
                "short",
                [
                    (
                        f'sum by (namespace) ({_REQUESTS}{{resource="cpu"}})',
                        "{{namespace}} requested",
                    ),
                    (
                        'sum by (namespace) (rate(container_cpu_usage_seconds_total{container!=""}'
                        "[$__rate_interval]))",
                        "{{namespace}} used",
                    ),
                ],
            )
        )
        .with_panel(
            _series(
                ids,
                "Memory requested and used by namespace",
                "Bytes requested by the pods of each namespace, and their working set.",
                "bytes",
                [
                    (
                        f'sum by (namespace) ({_REQUESTS}{{resource="memory"}})',
                        "{{namespace}} requested",
                    ),
                    (
                        'sum by (namespace) (container_memory_working_set_bytes{container!=""})',
                        "{{namespace}} used",
                    ),
                ],
            )
        )
    )
    return _with_rightsizing(board, ids).build()


def _with_rightsizing(
    board: dashboard_builder.Dashboard, ids: Iterator[int]
) -> dashboard_builder.Dashboard:
    """The right-sizing row: each container's requests next to the VPA recommender's target."""
    return (
        board.with_row(
            dashboard_builder.Row("Right-sizing: VPA target against requests")
            .id(next(ids))
            .collapsed(False)
        )
        .with_panel(
            _series(
                ids,
                "CPU: requested and VPA target",
                "Per container, the mean CPU request of its pods and the VPA recommender's target.",
                "short",
                _requested_vs_target("cpu"),
            )
        )
        .with_panel(
            _series(
                ids,
                "Memory: requested and VPA target",
                "Per container, the mean memory request of its pods and the VPA's target.",
                "bytes",
                _requested_vs_target("memory"),
            )
        )
        .with_panel(
            _series(
                ids,
                "Requested over VPA target",
                "Above 1: the container reserves more than the VPA recommends (lower its "
                "requests); below 1: it risks throttling or eviction.",
                "none",
                [
                    (_over_target("cpu"), "{{namespace}}/{{container}} cpu"),
                    (_over_target("memory"), "{{namespace}}/{{container}} memory"),
                ],
                steps=[(None, "green"), (1.5, "orange")],
                width=24,
            )
        )
    )


def _encode(dashboard: model.Dashboard) -> dict[str, Any]:
    """The dashboard as plain JSON data, through the SDK's own encoder."""
    data: dict[str, Any] = json.loads(json.dumps(dashboard, cls=JSONEncoder))
    return data


def dashboards() -> dict[str, dict[str, Any]]:
    """Every TTBT2 dashboard by short name, as Grafana dashboard JSON."""
    return {
        "executive": _encode(_executive()),
        "technical": _encode(_technical()),
        "security": _encode(_security()),
        "business": _encode(_business()),
        "deployments": _encode(_deployments()),
        "recovery": _encode(_recovery()),
        "cost": _encode(_cost()),
    }


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel of a dashboard, rows included, with the panels a collapsed row holds."""
    found: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of every panel, including those nested in collapsed rows."""
    return [
        target["expr"]
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def config_map(
    name: str,
    dashboard: dict[str, Any],
    namespace: str,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The core/v1 ConfigMap ``grafana-dashboard-<name>`` the Grafana sidecar loads.

    It lands in the :data:`FOLDER` folder; ``labels`` are added to the sidecar's and the
    platform's own.

    The metrics stack deploys exactly these (components/k8s/metrics.py).
    """
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"grafana-dashboard-{name}",
            "namespace": namespace,
            "labels": {
                **(labels or {}),
                SIDECAR_LABEL: SIDECAR_LABEL_VALUE,
                "app.kubernetes.io/part-of": "ttbt2",
            },
            "annotations": {FOLDER_ANNOTATION: FOLDER},
        },
        # sort_keys: the same dashboard always renders the same bytes, so previews stay quiet.
        "data": {f"{name}.json": json.dumps(dashboard, sort_keys=True)},
    }
