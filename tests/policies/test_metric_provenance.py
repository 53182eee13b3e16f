"""Metric provenance (platform rule): every metric the stack reads has a producer in the stack."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from offline import cli
from offline.evaluate import Finding
from offline.graph import Resource, StackGraph, mask_secrets
from policies.ttbt2_policies.metric_catalog import METRIC_FAMILIES_ANNOTATION, chart_name
from policies.ttbt2_policies.metric_provenance import (
    argo_promql,
    grafana_promql,
    metric_provenance,
    reads,
    variable_reads,
)
from tests.support.policies import findings_for, resource, violations
from tests.support.stacks import StackRenders

RELEASE = "kubernetes:helm.sh/v3:Release"
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
PROBE = "kubernetes:monitoring.coreos.com/v1:Probe"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
TEMPLATE = "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"

RDS_CONFIG = """
region: eu-west-1
metrics:
- {aws_namespace: AWS/RDS, aws_metric_name: ReadLatency, aws_statistics: [Average]}
"""


def _run(*resources: Resource) -> list[Finding]:
    return findings_for(metric_provenance, resources, stack="prod")


def _messages(*resources: Resource) -> list[str]:
    found = _run(*resources)
    assert all(f.kind == "violation" for f in found), found
    return [f.message for f in found]


def _release(chart: str, version: str | None, values: Any = None, name: str = "") -> Resource:
    props: dict[str, Any] = {"chart": chart}
    if version is not None:
        props["version"] = version
    if values is not None:
        props["values"] = values
    return resource(RELEASE, props, name=name or chart_name(chart), stack="prod")


KPS = _release("kube-prometheus-stack", "88.5.3", {}, name="prometheus-stack")
BLACKBOX = _release("prometheus-blackbox-exporter", "11.17.2", {}, name="blackbox")


def _cloudwatch(config: Any = RDS_CONFIG, monitor: Any = True) -> Resource:
    values: dict[str, Any] = {"serviceMonitor": {"enabled": monitor}}
    if config is not None:
        values["config"] = config
    return _release("prometheus-cloudwatch-exporter", "0.28.1", values, name="cloudwatch")


def _alert(name: str, expr: Any) -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": "5m"}


def _record(name: str, expr: str) -> dict[str, Any]:
    return {"record": name, "expr": expr}


def _rules(*rules: dict[str, Any], name: str = "rules") -> Resource:
    props = {"metadata": {"name": name}, "spec": {"groups": [{"name": "g", "rules": list(rules)}]}}
    return resource(RULE, props, name=name, stack="prod")


def _dashboard(
    title: str, panels: Iterable[tuple[str, str]], variables: Iterable[tuple[str, Any]] = ()
) -> Resource:
    board = {
        "title": title,
        "panels": [
            {"type": "row", "title": "row", "panels": []},
            *({"title": t, "targets": [{"expr": e, "refId": "A"}]} for t, e in panels),
        ],
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                *({"name": n, "type": "query", "query": q} for n, q in variables),
            ]
        },
    }
    props = {
        "metadata": {"name": "board", "labels": {"grafana_dashboard": "1"}},
        "data": {"board.json": json.dumps(board)},
    }
    return resource(CONFIG_MAP, props, name=title.replace(" ", ""), stack="prod")


def _analysis(query: str, name: str = "api-slo") -> Resource:
    metric = {"name": "success-rate", "provider": {"prometheus": {"query": query}}}
    props = {"metadata": {"name": name}, "spec": {"metrics": [metric]}}
    return resource(TEMPLATE, props, name=name, stack="prod")


def _monitor(families: Any = None, name: str = "api", raw: Any = None) -> Resource:
    listed = [{"name": n, "type": t} for n, t in families or []]
    text = json.dumps(listed) if raw is None else raw
    metadata: dict[str, Any] = {"name": name, "namespace": name}
    if families is not None or raw is not None:
        metadata["annotations"] = {METRIC_FAMILIES_ANNOTATION: text}
    return resource(MONITOR, {"metadata": metadata}, name=f"{name}-monitor", stack="prod")


def _probe(job: str | None, name: str = "uptime") -> Resource:
    spec: dict[str, Any] = {"prober": {"url": "blackbox:9115"}}
    if job is not None:
        spec["jobName"] = job
    props = {"metadata": {"name": name, "namespace": "monitoring"}, "spec": spec}
    return resource(PROBE, props, name=name, stack="prod")


def _pushgateway(image: str = "prom/pushgateway:v1.11.1") -> Resource:
    container = {"name": "pushgateway", "image": image}
    props = {"spec": {"template": {"spec": {"containers": [container]}}}}
    return resource(DEPLOYMENT, props, name="pushgateway", stack="prod")


HTTP = [("http_server_requests_seconds", "histogram")]

# --- releases and their parts --------------------------------------------------------------------


def test_alert_on_kube_prometheus_stack_series_is_compliant() -> None:
    rule = _rules(
        _alert("CpuHigh", 'rate(container_cpu_usage_seconds_total{container!=""}[5m]) > 1')
    )
    assert _run(KPS, rule) == []


def test_alert_without_its_producer_names_alert_rule_metric_and_producer() -> None:
    rule = _rules(_alert("DeploymentUnavailable", "kube_deployment_status_replicas_available == 0"))
    found = violations(_run(rule))
    assert [(f.message, f.urn, f.enforcement) for f in found] == [
        (
            "alert DeploymentUnavailable (PrometheusRule rules) reads "
            "kube_deployment_status_replicas_available: no producer in this stack "
            "(expected: kube-prometheus-stack (kube-state-metrics))",
            rule.urn,
            "mandatory",
        )
    ]


def test_a_part_turned_off_in_the_values_produces_nothing() -> None:
    off = _release("kube-prometheus-stack", "88.5.3", {"kubeStateMetrics": {"enabled": False}})
    rule = _rules(_alert("A", "kube_pod_info == 0 and up == 0"))
    assert _messages(off, rule) == [
        "alert A (PrometheusRule rules) reads kube_pod_info: no producer in this stack (expected: "
        "kube-prometheus-stack (kube-state-metrics), which release kube-prometheus-stack deploys "
        "without scraping: kubeStateMetrics.enabled is false, must be true)"
    ]


def test_a_string_toggle_counts_like_a_boolean() -> None:
    on = _release(
        "argo-rollouts",
        "2.41.0",
        {"controller": {"metrics": {"enabled": "true", "serviceMonitor": {"enabled": True}}}},
    )
    assert _messages(on, _rules(_alert("A", "rollout_info_replicas_available == 0"))) == []


def test_a_default_off_toggle_left_unset_produces_nothing() -> None:
    rollouts = _release("argo-rollouts", "2.41.0", {})
    [message] = _messages(rollouts, _rules(_alert("A", "rollout_info_replicas_available == 0")))
    assert "controller.metrics.enabled is unset, must be true" in message


def test_release_at_an_uncatalogued_version_is_one_violation_naming_chart_and_version() -> None:
    upgraded = _release("kube-prometheus-stack", "99.0.0", {}, name="prometheus-stack")
    found = violations(_run(upgraded, _rules(_alert("Down", "up == 0"))))
    assert [(f.message, f.urn) for f in found] == [
        (
            "release prometheus-stack: catalog has no entry for chart kube-prometheus-stack "
            "version 99.0.0: review its metrics (catalogued: 88.5.3; "
            "policies/ttbt2_policies/metric_catalog.py)",
            upgraded.urn,
        )
    ]


def test_release_without_a_version_has_no_catalog_entry() -> None:
    [message] = _messages(_release("trivy-operator", None, {}))
    assert "catalog has no entry for chart trivy-operator version (none)" in message


def test_charts_the_catalog_does_not_know_are_neither_producers_nor_violations() -> None:
    karpenter = _release("oci://public.ecr.aws/karpenter/karpenter", "1.14.1", {})
    assert _messages(karpenter, _rules(_alert("A", "karpenter_nodes_total > 0"))) == [
        "alert A (PrometheusRule rules) reads karpenter_nodes_total: no producer in this stack "
        "(expected: a service declaring it in its ttbt2:services metrics, or a catalogued exporter)"
    ]


def test_release_values_of_the_wrong_type_are_a_violation_on_the_release() -> None:
    bad = _release("kube-prometheus-stack", "88.5.3", {"kubeStateMetrics": "off"})
    found = violations(_run(bad))
    assert [(f.message, f.urn) for f in found] == [
        ("kubeStateMetrics must be an object, got string 'off'", bad.urn)
    ]


# --- the CloudWatch exporter ---------------------------------------------------------------------


def test_cloudwatch_series_from_the_release_config_are_produced() -> None:
    rule = _rules(_alert("DbSlow", "aws_rds_read_latency_average > 0.02"))
    assert _run(_cloudwatch(), rule) == []


def test_cloudwatch_series_missing_from_the_config_names_what_to_add() -> None:
    rule = _rules(_alert("WafBotTrafficSurge", "sum(aws_wafv2_blocked_requests_sum) > 500"))
    assert _messages(_cloudwatch(), rule) == [
        "alert WafBotTrafficSurge (PrometheusRule rules) reads aws_wafv2_blocked_requests_sum: "
        "no producer in this stack (expected: prometheus-cloudwatch-exporter with AWS/WAFV2 "
        "BlockedRequests Sum)"
    ]


def test_cloudwatch_without_its_service_monitor_is_not_scraped() -> None:
    rule = _rules(_alert("DbSlow", "aws_rds_read_latency_average > 0.02"))
    [message] = _messages(_cloudwatch(monitor=False), rule)
    assert (
        "which release cloudwatch deploys without scraping: serviceMonitor.enabled is false"
        in message
    )


def test_cloudwatch_without_config_runs_the_chart_default() -> None:
    rule = _rules(
        _alert("ElbSlow", "aws_elb_latency_average > 1"),
        _alert("Db", "aws_rds_read_latency_average > 1"),
    )
    [message] = _messages(_cloudwatch(config=None), rule)
    assert message.startswith("alert Db ")


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ("metrics: [", "values.config is not YAML"),
        ({"metrics": []}, "values.config must be a YAML string, got object"),
        (
            "metrics:\n- {aws_namespace: AWS/RDS, aws_metric_name: X, aws_statistics: [Mean]}",
            "'Mean' is not one of",
        ),
    ],
)
def test_cloudwatch_config_the_exporter_refuses_is_a_violation(config: Any, problem: str) -> None:
    release = _cloudwatch(config=config)
    found = violations(_run(release))
    assert len(found) == 1 and problem in found[0].message and found[0].urn == release.urn


def test_two_cloudwatch_releases_add_up() -> None:
    waf = _cloudwatch(
        config="metrics:\n- {aws_namespace: AWS/WAFV2, aws_metric_name: BlockedRequests, aws_statistics: [Sum]}"
    )
    waf = dataclasses.replace(waf, urn=waf.urn + "-us-east-1", name="cloudwatch-us-east-1")
    rule = _rules(_alert("A", "aws_rds_read_latency_average + on() aws_wafv2_blocked_requests_sum"))
    assert _run(_cloudwatch(), waf, rule) == []


# --- the blackbox exporter and Probes -------------------------------------------------------------


def test_probe_series_need_the_exporter_and_a_probe_of_the_job_read() -> None:
    rule = _rules(
        _alert(
            "ServiceEndpointDown", 'max_over_time(probe_success{job="blackbox-uptime"}[3m]) == 0'
        )
    )
    assert _run(BLACKBOX, _probe("blackbox-uptime"), rule) == []
    assert _messages(BLACKBOX, _probe("blackbox-dependencies"), rule) == [
        "alert ServiceEndpointDown (PrometheusRule rules) reads "
        'probe_success{job="blackbox-uptime"}: no producer in this stack '
        "(expected: prometheus-blackbox-exporter and a Probe with jobName blackbox-uptime)"
    ]
    [without_exporter] = _messages(_probe("blackbox-uptime"), rule)
    assert "no producer in this stack" in without_exporter


def test_probe_job_regex_matchers_select_jobs() -> None:
    rule = _rules(_alert("A", 'probe_success{job=~"blackbox-.*", job!="blackbox-uptime"} == 0'))
    assert _run(BLACKBOX, _probe("blackbox-dependencies"), rule) == []
    assert len(_messages(BLACKBOX, _probe("blackbox-uptime"), rule)) == 1


def test_probe_job_regexes_are_anchored_as_in_prometheus() -> None:
    rule = _rules(_alert("A", 'probe_success{job=~"blackbox"} == 0'))
    assert len(_messages(BLACKBOX, _probe("blackbox-uptime"), rule)) == 1


def test_probe_without_job_name_gets_the_operators_job() -> None:
    named = _rules(_alert("A", 'probe_success{job="blackbox-uptime"} == 0'))
    assert len(_messages(BLACKBOX, _probe(None), named)) == 1
    default = _rules(_alert("B", 'probe_success{job="probe/monitoring/uptime"} == 0'))
    assert _run(BLACKBOX, _probe(None), default) == []


def test_probe_read_without_job_matcher_needs_any_probe() -> None:
    rule = _rules(_alert("A", "avg(probe_success) < 1"))
    assert _run(BLACKBOX, _probe("x"), rule) == []
    assert len(_messages(BLACKBOX, rule)) == 1


# --- services, the Pushgateway and AnalysisTemplates ----------------------------------------------


def test_a_service_declared_family_counts_only_on_its_service_monitor() -> None:
    template = _analysis(
        'sum(rate(http_server_requests_seconds_count{rollouts_pod_template_hash="{{args.canary-hash}}"}[1m]))'
    )
    assert _run(_monitor(HTTP), template) == []
    expected = (
        'AnalysisTemplate api-slo metric "success-rate" reads http_server_requests_seconds_count: '
        "no producer in this stack (expected: a service declaring http_server_requests_seconds "
        "(histogram) in its ttbt2:services metrics)"
    )
    assert _messages(_monitor(None), template) == [expected]
    annotated_elsewhere = resource(
        CONFIG_MAP,
        {
            "metadata": {
                "annotations": {
                    METRIC_FAMILIES_ANNOTATION: json.dumps(
                        [dict(zip(("name", "type"), HTTP[0], strict=True))]
                    )
                }
            }
        },
        stack="prod",
    )
    assert _messages(annotated_elsewhere, template) == [expected]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("not json", "must be a JSON list of {name, type} objects"),
        ('{"name": "x"}', "must be a JSON list"),
        ('[{"name": "x"}]', "[0] must be an object with name and type strings"),
        ('[{"name": "orders", "type": "counter"}]', "[0]: counter 'orders' must end in _total"),
    ],
)
def test_malformed_declarations_are_violations_on_the_service_monitor(
    raw: str, problem: str
) -> None:
    monitor = _monitor(raw=raw)
    found = violations(_run(monitor))
    assert len(found) == 1 and problem in found[0].message and found[0].urn == monitor.urn
    assert f"ServiceMonitor api: annotation {METRIC_FAMILIES_ANNOTATION}" in found[0].message


def test_the_pushgateway_produces_the_pipeline_families() -> None:
    board = _dashboard(
        "TTBT2 / Deployments",
        [
            (
                "Deployments per day",
                'sum(increase(ttbt2_deployments_total{environment="$environment"}[$__range])) / ($__range_s / 86400)',
            )
        ],
        [("environment", "label_values(ttbt2_deployments_total, environment)")],
    )
    assert _run(_pushgateway(), board) == []
    assert _messages(board) == [
        'dashboard "TTBT2 / Deployments" panel "Deployments per day" reads ttbt2_deployments_total: '
        "no producer in this stack (expected: a Deployment of image prom/pushgateway "
        "(delivery pipeline pushes))",
        'dashboard "TTBT2 / Deployments" variable "environment" reads ttbt2_deployments_total: '
        "no producer in this stack (expected: a Deployment of image prom/pushgateway "
        "(delivery pipeline pushes))",
    ]


def test_a_pushgateway_at_an_uncatalogued_tag_is_a_violation() -> None:
    [message] = _messages(_pushgateway("quay.io/prometheus/pushgateway:v1.99.0"))
    assert message.startswith(
        "pushgateway: catalog has no entry for image prom/pushgateway tag v1.99.0"
    )


# --- recording rules ------------------------------------------------------------------------------


def test_a_dark_input_darkens_the_recording_rule_and_its_readers() -> None:
    rule = _rules(
        _record(
            "ttbt2:rds:max",
            'max({__name__=~"aws_rds_read_latency_average|aws_rds_write_latency_average"})',
        ),
        _record("ttbt2:rds:double", "2 * ttbt2:rds:max"),
        _alert("DatabaseLatencyHigh", "ttbt2:rds:double > 0.02"),
    )
    assert _messages(_cloudwatch(), rule) == [
        "recording rule ttbt2:rds:max (PrometheusRule rules) reads aws_rds_write_latency_average: "
        "no producer in this stack (expected: prometheus-cloudwatch-exporter with AWS/RDS "
        "WriteLatency Average)",
        "recording rule ttbt2:rds:double (PrometheusRule rules) reads ttbt2:rds:max, recorded "
        "from aws_rds_write_latency_average: no producer in this stack (expected: "
        "prometheus-cloudwatch-exporter with AWS/RDS WriteLatency Average)",
        "alert DatabaseLatencyHigh (PrometheusRule rules) reads ttbt2:rds:double, recorded from "
        "ttbt2:rds:max, recorded from aws_rds_write_latency_average: no producer in this stack "
        "(expected: prometheus-cloudwatch-exporter with AWS/RDS WriteLatency Average)",
    ]


def test_live_inputs_make_the_recorded_series_live() -> None:
    rule = _rules(_record("job:up:sum", "sum by (job) (up)"), _alert("Down", "job:up:sum == 0"))
    assert _run(KPS, rule) == []


def test_a_series_recorded_twice_is_live_when_one_rule_is() -> None:
    rule = _rules(
        _record("x:y:z", "sum(up)"),
        _record("x:y:z", "sum(missing_series)"),
        _alert("A", "x:y:z == 0"),
    )
    # The dark definition is still reported; the alert is not.
    assert _messages(KPS, rule) == [
        "recording rule x:y:z (PrometheusRule rules) reads missing_series: no producer in this "
        "stack (expected: a service declaring it in its ttbt2:services metrics, or a catalogued "
        "exporter)"
    ]


def test_a_recording_rule_reading_itself_is_dark() -> None:
    rule = _rules(_record("a:b:c", "a:b:c + up"), _alert("A", "a:b:c > 0"))
    found = _messages(KPS, rule)
    assert found and all("its recording rule reads itself" in m for m in found)


def test_an_unrecorded_colon_name_asks_for_a_recording_rule() -> None:
    [message] = _messages(_rules(_alert("A", "ttbt2:missing:rate5m > 1")))
    assert "expected: a recording rule of that name in a PrometheusRule of this stack" in message


# --- reading expressions --------------------------------------------------------------------------


def test_name_patterns_need_one_matching_series() -> None:
    rule = _rules(_alert("A", 'count({__name__=~"kube_deployment_.*"}) == 0'))
    assert _run(KPS, rule) == []
    assert _messages(rule) == [
        'alert A (PrometheusRule rules) reads {__name__=~"kube_deployment_.*"}: no producer in '
        "this stack has such a series"
    ]


def test_an_expression_that_does_not_parse_is_a_violation_naming_where() -> None:
    rule = _rules(_alert("Broken", "sum(rate(up[5m])"))
    [message] = _messages(KPS, rule)
    assert message.startswith("alert Broken (PrometheusRule rules): expression does not parse (")
    assert message.endswith("): sum(rate(up[5m])")


def test_dashboard_panels_and_variables_are_named_in_messages() -> None:
    board = _dashboard(
        "TTBT2 / Security",
        [("WAF blocked requests", "sum(aws_wafv2_blocked_requests_sum)"), ("Bad", "sum(")],
        [
            ("service", "label_values(http_server_requests_seconds_count, service)"),
            ("x", {"query": "query_result(topk(5, up))"}),
        ],
    )
    assert _messages(KPS, board) == [
        # Problems with the expressions come first, then what has no producer.
        'dashboard "TTBT2 / Security" panel "Bad": expression does not parse (unclosed left '
        "parenthesis): sum(",
        'dashboard "TTBT2 / Security" panel "WAF blocked requests" reads '
        "aws_wafv2_blocked_requests_sum: no producer in this stack (expected: "
        "prometheus-cloudwatch-exporter with AWS/WAFV2 BlockedRequests Sum)",
        'dashboard "TTBT2 / Security" variable "service" reads http_server_requests_seconds_count: '
        "no producer in this stack (expected: a service declaring http_server_requests_seconds "
        "(histogram) in its ttbt2:services metrics)",
    ]


def test_config_maps_without_the_dashboard_label_are_not_read() -> None:
    board = _dashboard("T", [("P", "sum(missing)")])
    board.props["metadata"]["labels"] = {"app": "x"}
    assert _run(board) == []


@pytest.mark.parametrize(
    ("expr", "promql"),
    [
        ("sum(increase(x[$__range])) / ($__range_s / 86400)", "sum(increase(x[5m])) / (1 / 86400)"),
        ('rate(x{service=~"$service"}[$__rate_interval])', 'rate(x{service=~"x"}[5m])'),
        ('x{a="${var:csv}", b="[[old]]"}[1h:$__interval]', 'x{a="x", b="x"}[1h:5m]'),
    ],
)
def test_grafana_macros_and_variables_become_placeholders(expr: str, promql: str) -> None:
    assert grafana_promql(expr) == promql
    assert reads(promql)


def test_argo_arguments_become_placeholders() -> None:
    query = 'sum(rate(a{h="{{args.canary-hash}}"}[{{ args.window }}])) > {{args.limit}}'
    assert argo_promql(query) == 'sum(rate(a{h="x"}[5m])) > 1'


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ('label_values(up{job="a,b"}, instance)', ["up"]),
        ("label_values(instance)", []),
        ("query_result(sum by (x) (kube_pod_info))", ["kube_pod_info"]),
        ("rate(up[$__rate_interval])", ["up"]),
    ],
)
def test_grafana_variable_queries(query: str, names: list[str]) -> None:
    assert [n for r in variable_reads(query) for n in r.names] == names


def test_metrics_variable_reads_a_name_pattern() -> None:
    [read] = variable_reads("metrics(ttbt2_)")
    assert read.pattern == "ttbt2_.*" and read.names == ()


# --- missing and wrongly typed properties ---------------------------------------------------------


def test_a_prometheus_rule_without_spec_reads_nothing() -> None:
    assert _run(resource(RULE, {"metadata": {"name": "empty"}}, stack="prod")) == []


def test_a_rule_without_expr_is_a_violation() -> None:
    rule = _rules({"alert": "NoExpr", "for": "5m"})
    assert _messages(rule) == ["alert NoExpr (PrometheusRule rules) has no expr"]


def test_a_dashboard_config_map_without_data_reads_nothing() -> None:
    props = {"metadata": {"name": "b", "labels": {"grafana_dashboard": "1"}}}
    assert _run(resource(CONFIG_MAP, props, stack="prod")) == []


def test_an_analysis_template_without_a_prometheus_provider_reads_nothing() -> None:
    props = {
        "metadata": {"name": "t"},
        "spec": {"metrics": [{"name": "web", "provider": {"web": {}}}]},
    }
    assert _run(resource(TEMPLATE, props, stack="prod")) == []


def test_groups_of_the_wrong_type_are_one_violation_on_the_rule() -> None:
    rule = resource(RULE, {"metadata": {"name": "r"}, "spec": {"groups": "none"}}, stack="prod")
    found = violations(_run(rule))
    assert [(f.message, f.urn) for f in found] == [
        ("spec.groups must be an array, got string 'none'", rule.urn)
    ]


def test_a_dashboard_that_is_not_json_is_a_violation() -> None:
    board = _dashboard("T", [])
    board.props["data"] = {"b.json": "{not json"}
    [message] = _messages(board)
    assert message.startswith("dashboard ConfigMap board key b.json is not JSON")


# --- the real prod graph through `python -m offline check` ----------------------------------------

NEW_PRODUCERS = {
    "prometheus-cloudwatch-exporter": [
        "alert DatabaseLatencyHigh (PrometheusRule ttbt2-rules) reads ttbt2:rds_latency_seconds:max",
        "alert WafBotTrafficSurge (PrometheusRule ttbt2-rules) reads aws_wafv2_blocked_requests_sum",
        'dashboard "TTBT2 / Security" panel "WAF blocked requests" reads aws_wafv2_blocked_requests_sum',
    ],
    "prometheus-blackbox-exporter": [
        'alert ServiceEndpointDown (PrometheusRule ttbt2-rules) reads probe_success{job="blackbox-uptime"}',
        'alert DependencyDown (PrometheusRule ttbt2-rules) reads probe_success{job="blackbox-dependencies"}',
    ],
    "trivy-operator": [
        "alert CriticalVulnerabilityDetected (PrometheusRule ttbt2-rules) reads trivy_image_vulnerabilities",
        'dashboard "TTBT2 / Security" panel "Critical vulnerabilities" reads trivy_image_vulnerabilities',
    ],
}
PRESENT_PRODUCERS = {
    "kube-prometheus-stack": [
        "alert ContainerCpuNearLimit (PrometheusRule ttbt2-rules) reads "
        "ttbt2:container_cpu_limit_ratio:rate5m, recorded from container_cpu_usage_seconds_total",
        "alert DeploymentUnavailable (PrometheusRule ttbt2-rules) reads "
        "kube_deployment_status_replicas_available",
        "alert ScrapeTargetDown (PrometheusRule ttbt2-rules) reads up: no producer",
        'dashboard "TTBT2 / Technical" panel "Container restarts" reads '
        "kube_pod_container_status_restarts_total",
    ],
    "prom/pushgateway": [
        'dashboard "TTBT2 / Deployments" panel "Deployment success rate" reads ttbt2_deployments_total',
        'dashboard "TTBT2 / Deployments" variable "environment" reads ttbt2_deployments_total',
    ],
}


def _is_producer(res: Resource, producer: str) -> bool:
    if res.type == RELEASE:
        return chart_name(str(res.props.get("chart", ""))) == producer
    if res.type == DEPLOYMENT:
        containers = (
            res.props.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        )
        return any(str(c.get("image", "")).startswith(producer + ":") for c in containers)
    return False


def _check(
    tmp_path: Path, graph: StackGraph, keep: Callable[[Resource], bool], name: str
) -> tuple[int, str]:
    """``python -m offline check`` on ``graph`` with only the resources ``keep`` accepts.

    The command's main runs in this process (the module entry is tested in
    tests/offline/test_cli.py): with ``session_engine`` the pack evaluates each file's graph
    once per session, the whole prod stack once for every producer.
    """
    copies = [
        dataclasses.replace(r, props=mask_secrets(r.props)) for r in graph.resources if keep(r)
    ]
    path = tmp_path / f"{name}.json"
    StackGraph(graph.project, graph.stack, copies, graph.outputs).write(path)
    out = io.StringIO()
    return cli.main(["check", str(path)], out=out), out.getvalue()


@pytest.fixture(scope="module")
def prod_graph(stacks: StackRenders) -> StackGraph:
    """The rendered prod stack (shared: never changed, only copied)."""
    return stacks.graph("prod")


def _removal(tmp_path: Path, graph: StackGraph, producer: str, darkened: list[str]) -> None:
    assert any(_is_producer(r, producer) for r in graph.resources), f"{producer} is not in prod"
    _, whole = _check(tmp_path, graph, lambda _: True, "whole")
    code, without = _check(tmp_path, graph, lambda r: not _is_producer(r, producer), "without")
    assert code == 1, without
    for words in darkened:
        assert words not in whole, f"{words!r} is dark with {producer} deployed"
        assert words in without, f"{words!r} not reported without {producer}:\n{without}"


@pytest.mark.usefixtures("session_engine")
@pytest.mark.parametrize("producer", sorted(PRESENT_PRODUCERS))
def test_removing_a_producer_from_prod_darkens_named_consumers(
    tmp_path: Path, prod_graph: StackGraph, producer: str
) -> None:
    _removal(tmp_path, prod_graph, producer, PRESENT_PRODUCERS[producer])


@pytest.mark.usefixtures("session_engine")
@pytest.mark.parametrize("producer", sorted(NEW_PRODUCERS))
def test_removing_a_monitoring_exporter_from_prod_darkens_named_consumers(
    tmp_path: Path, prod_graph: StackGraph, producer: str
) -> None:
    # Issue 14's done-when: prod deploys each exporter, and removing it darkens named consumers.
    assert any(_is_producer(r, producer) for r in prod_graph.resources), producer
    _removal(tmp_path, prod_graph, producer, NEW_PRODUCERS[producer])
