"""CloudWatch exporter component, rendered on the mock engine and checked against the chart.

The Helm values are checked against the vendored values.yaml; the Deployment the chart renders
from them against the Kubernetes 1.33 schema and the policy pack's pod rules; the exporter
configuration against the alert catalog's metric contract, with the exporter's own naming rule.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pytest
import yaml

from components.k8s.cloudwatch_exporter import (
    CHART,
    CHART_DIR,
    CHART_REPOSITORY,
    EDGE_REGION,
    EDGE_RELEASE,
    EDGE_SERVICE_ACCOUNT,
    NAMESPACE,
    PORT,
    REGIONAL_RELEASE,
    REGIONAL_SERVICE_ACCOUNT,
    VALUES_COMMENTED,
    VALUES_FREE_FORM,
    CloudWatchExporter,
    CloudWatchExporterArgs,
    edge_config,
    network_policy_specs,
    regional_config,
)
from components.k8s.metrics import PROMETHEUS_CHART
from components.monitoring import alerts, dashboards
from offline.engine import run_program
from offline.graph import UNKNOWN, Resource, StackGraph
from policies.ttbt2_policies import kubernetes as k8s_policies
from tests.conftest import of_type, one
from tests.support.policies import findings_for, resource
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
K8S_VERSION = "1.33"
WEB_ACL_METRIC = "ttbt2-prod-edge-waf"
ROLE_PREFIX = "arn:aws:iam::123456789012:role/cw-"

BASE = CloudWatchExporterArgs(
    environment="prod",
    region="eu-west-1",
    role_arn="unused",
    edge_role_arn="unused",
    web_acl_metric_name=WEB_ACL_METRIC,
)
DEV = replace(BASE, environment="dev", region="eu-west-3", web_acl_metric_name="ttbt2-dev-edge-waf")
CASES = [
    pytest.param(args, preview, id=f"{args.environment}-{'preview' if preview else 'up'}")
    for args in (BASE, DEV)
    for preview in (True, False)
]

_cache: dict[tuple[str, bool], StackGraph] = {}


def render(args: CloudWatchExporterArgs, *, preview: bool) -> StackGraph:
    """The component alone, behind a stand-in for the observability stack.

    The role ARNs are known only after ``up``, as IAM roles' are.
    """
    key = (repr(args), preview)
    if key not in _cache:

        def program() -> None:
            provider = k8s.Provider("k8s", kubeconfig="{}")
            on_k8s = pulumi.ResourceOptions(provider=provider)
            observability = k8s.core.v1.ConfigMap(
                "observability-stand-in",
                metadata={"name": "crds", "namespace": "monitoring"},
                opts=on_k8s,
            )
            suffix = random.RandomId("role-suffix", byte_length=4)
            CloudWatchExporter(
                "cw",
                replace(
                    args,
                    role_arn=suffix.hex.apply(lambda h: f"{ROLE_PREFIX}regional-{h}"),
                    edge_role_arn=suffix.hex.apply(lambda h: f"{ROLE_PREFIX}edge-{h}"),
                ),
                opts=pulumi.ResourceOptions(
                    providers={"kubernetes": provider}, depends_on=[observability]
                ),
            )

        _cache[key] = run_program(
            program, project="ttbt2-platform", stack=args.environment, preview=preview
        )
    return _cache[key]


def releases(graph: StackGraph) -> dict[str, Resource]:
    """The exporter releases by Helm release name."""
    return {r.props["name"]: r for r in of_type(graph, RELEASE)}


def exporter_config(release: Resource) -> dict[str, Any]:
    """The exporter configuration a release hands the chart (YAML text in ``config``)."""
    loaded: dict[str, Any] = yaml.safe_load(release.props["values"]["config"])
    return loaded


# ---- the exporter's naming -------------------------------------------------------------------
# Ported from prometheus/cloudwatch_exporter at tag v0.16.0 (the vendored chart's appVersion),
# src/main/java/io/prometheus/cloudwatch/CloudWatchCollector.java: toSnakeCase, safeName,
# safeLabelName, sampleLabelSuffixBy, and scrape(), which names a series
# safeName(lower(aws_namespace) + "_" + toSnakeCase(aws_metric_name)) + the statistic's suffix
# and labels it job, instance and safeLabelName(toSnakeCase(dimension)) per dimension.

_STATISTIC_SUFFIX = {
    "Sum": "_sum",
    "SampleCount": "_sample_count",
    "Minimum": "_minimum",
    "Maximum": "_maximum",
    "Average": "_average",
}


def to_snake_case(text: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()


def safe_name(text: str) -> str:
    return re.sub(r"__+", "_", re.sub(r"[^a-zA-Z0-9:_]", "_", text))


def safe_label_name(text: str) -> str:
    return re.sub(r"__+", "_", re.sub(r"[^a-zA-Z0-9_]", "_", text))


def exported_series(config: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Series name -> label names, for every rule and statistic of an exporter configuration."""
    series: dict[str, frozenset[str]] = {}
    for rule in config["metrics"]:
        base = safe_name(
            rule["aws_namespace"].lower() + "_" + to_snake_case(rule["aws_metric_name"])
        )
        labels = frozenset(
            {
                "job",
                "instance",
                *(safe_label_name(to_snake_case(d)) for d in rule["aws_dimensions"]),
            }
        )
        for statistic in rule.get("aws_statistics", list(_STATISTIC_SUFFIX)):
            series[base + _STATISTIC_SUFFIX[statistic]] = labels
    return series


def test_the_ported_naming_reproduces_the_exporters_documented_example() -> None:
    # The README at v0.16.0: AWS/ELB RequestCount [AvailabilityZone, LoadBalancerName] Sum
    # is exported as aws_elb_request_count_sum{job, instance, load_balancer_name,
    # availability_zone}.
    config = {
        "metrics": [
            {
                "aws_namespace": "AWS/ELB",
                "aws_metric_name": "RequestCount",
                "aws_dimensions": ["AvailabilityZone", "LoadBalancerName"],
                "aws_statistics": ["Sum"],
            }
        ]
    }
    assert exported_series(config) == {
        "aws_elb_request_count_sum": frozenset(
            {"job", "instance", "availability_zone", "load_balancer_name"}
        )
    }
    assert to_snake_case("DBInstanceIdentifier") == "dbinstance_identifier"
    assert to_snake_case("WebACL") == "web_acl"


# ---- the metric contract of the alerts and dashboards ----------------------------------------

_AWS_SERIES = re.compile(r"\baws_[a-z0-9_]+")
_BY = re.compile(r"\bby \(([^)]*)\)")


def _contract() -> dict[str, set[str]]:
    """Each ``aws_*`` series the alert catalog or the dashboards read -> labels they group by."""
    needed: dict[str, set[str]] = {}
    expressions = [
        rule["expr"] for group in alerts.rule_groups() for rule in group["rules"]
    ] + _AWS_SERIES.findall(json.dumps(dashboards.dashboards(), default=str))
    for expr in expressions:
        labels = {label.strip() for by in _BY.findall(expr) for label in by.split(",")}
        for name in _AWS_SERIES.findall(expr):
            needed.setdefault(name, set()).update(labels)
    return needed


def test_the_contract_names_the_rds_and_waf_series() -> None:
    # The reader of the contract must find what the issue is about, or the next test is empty.
    assert _contract() == {
        "aws_rds_read_latency_average": {"dbinstance_identifier"},
        "aws_rds_write_latency_average": {"dbinstance_identifier"},
        "aws_wafv2_blocked_requests_sum": {"web_acl", "rule"},
        # The cost dashboard's account-wide estimate (labels read by the dashboard only).
        "aws_billing_estimated_charges_maximum": set(),
    }


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_the_exporters_produce_every_series_and_label_the_alerts_read(
    args: CloudWatchExporterArgs, preview: bool
) -> None:
    produced: dict[str, frozenset[str]] = {}
    for release in releases(render(args, preview=preview)).values():
        produced.update(exported_series(exporter_config(release)))
    missing = {
        name: sorted(labels - produced.get(name, frozenset()))
        for name, labels in _contract().items()
        if name not in produced or not labels <= produced[name]
    }
    assert missing == {}


def test_the_contract_check_bites_on_a_renamed_dimension() -> None:
    config = regional_config("prod", "eu-west-1")
    for rule in config["metrics"]:
        if rule["aws_metric_name"] == "ReadLatency":
            rule["aws_dimensions"] = ["DBClusterIdentifier"]
    produced = exported_series(config)
    assert "dbinstance_identifier" not in produced["aws_rds_read_latency_average"]


def test_waf_counts_come_from_the_cdns_web_acl_over_the_alerts_5_minute_period() -> None:
    config = edge_config("prod", WEB_ACL_METRIC)
    assert config["region"] == EDGE_REGION
    [blocked] = [r for r in config["metrics"] if r["aws_metric_name"] == "BlockedRequests"]
    assert blocked["aws_namespace"] == "AWS/WAFV2"
    # A CLOUDFRONT-scope ACL reports without the Region dimension; the exporter keeps only
    # metrics whose dimension set is exactly this one.
    assert sorted(blocked["aws_dimensions"]) == ["Rule", "WebACL"]
    assert blocked["aws_dimension_select"] == {"WebACL": [WEB_ACL_METRIC]}
    assert blocked["aws_statistics"] == ["Sum"]
    # WafBotTrafficSurge: "blocked ... in the last 5-minute period".
    assert blocked["period_seconds"] == 300
    assert alerts.__doc__ is not None and "5-minute period" in alerts.__doc__


@pytest.mark.parametrize(
    "config",
    [regional_config("prod", "eu-west-1"), edge_config("prod", WEB_ACL_METRIC)],
    ids=["regional", "edge"],
)
def test_samples_are_fresh_when_the_alerts_evaluate_them(config: dict[str, Any]) -> None:
    # The alert contract: CloudWatch's timestamps are minutes old, Prometheus would not see
    # them at evaluation time.
    assert config["set_timestamp"] is False
    assert all(rule.get("set_timestamp", False) is False for rule in config["metrics"])
    # DatabaseLatencyCritical waits 5 minutes: the newest datapoint must be younger than that.
    assert config["delay_seconds"] + config["period_seconds"] <= 300
    assert config["range_seconds"] >= config["period_seconds"]


@pytest.mark.parametrize(
    "config",
    [regional_config("staging", "eu-west-1"), edge_config("staging", "ttbt2-staging-edge-waf")],
    ids=["regional", "edge"],
)
def test_every_rule_selects_only_the_stacks_own_resources(config: dict[str, Any]) -> None:
    for rule in config["metrics"]:
        tag_select = rule.get("aws_tag_select")
        if tag_select is not None:
            assert tag_select["tag_selections"] == {
                "project": ["ttbt2"],
                "environment": ["staging"],
            }, rule["aws_metric_name"]
            assert tag_select["resource_id_dimension"] in rule["aws_dimensions"]
        elif rule["aws_namespace"] == "AWS/Billing":
            # Billing metrics are the account's: no tag, no resource to select.
            assert rule["aws_dimensions"] == ["ServiceName", "Currency"]
        else:
            assert rule["aws_dimension_select"] == {"WebACL": ["ttbt2-staging-edge-waf"]}


def test_the_alb_rules_cut_the_load_balancer_dimension_out_of_the_arn() -> None:
    arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/k8s-ttbt2/50dc6c495c0c9188"
    [rule, *_] = [
        r
        for r in regional_config("prod", "eu-west-1")["metrics"]
        if r["aws_namespace"] == "AWS/ApplicationELB"
    ]
    match = re.search(rule["aws_tag_select"]["arn_resource_id_regexp"], arn)
    assert match is not None and match.group(1) == "app/k8s-ttbt2/50dc6c495c0c9188"


# ---- the releases ----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_two_releases_of_the_vendored_chart_share_one_restricted_namespace(
    args: CloudWatchExporterArgs, preview: bool
) -> None:
    graph = render(args, preview=preview)
    namespace = one(graph, NAMESPACE_TYPE)
    labels = namespace.props["metadata"]["labels"]
    assert namespace.props["metadata"]["name"] == NAMESPACE
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    found = releases(graph)
    assert sorted(found) == sorted([REGIONAL_RELEASE, EDGE_RELEASE])
    # The edge release's name contains the chart's, so the chart names its objects after it.
    assert CHART in EDGE_RELEASE
    stand_in = one(graph, "kubernetes:core/v1:ConfigMap")
    for release in found.values():
        props = release.props
        assert props["chart"] == chart["name"] == CHART
        assert props["version"] == chart["version"]
        assert props["repositoryOpts"] == {"repo": CHART_REPOSITORY}
        assert props["namespace"] in (NAMESPACE, UNKNOWN)
        assert props["atomic"] is True and props["createNamespace"] is False
        # The ServiceMonitor template renders only once the operator's CRDs exist.
        assert namespace.urn in release.dependencies
        assert stand_in.urn in release.dependencies
    assert exporter_config(found[REGIONAL_RELEASE])["region"] == args.region
    assert exporter_config(found[EDGE_RELEASE])["region"] == EDGE_REGION


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_every_value_path_exists_in_the_vendored_values_yaml(
    args: CloudWatchExporterArgs, preview: bool
) -> None:
    chart_values = load_chart_values(CHART_DIR)

    def unknown(values: dict[str, Any]) -> list[str]:
        paths = unknown_value_paths(values, chart_values, set(VALUES_FREE_FORM))
        return [p for p in paths if p not in VALUES_COMMENTED]

    for release in releases(render(args, preview=preview)).values():
        values = release.props["values"]
        assert unknown(values) == []
        typo = copy.deepcopy(values)
        typo["serviceMonitor"]["enable"] = typo["serviceMonitor"].pop("enabled")
        typo["serviceAccount"]["annotation"] = typo["serviceAccount"].pop("annotations")
        assert unknown(typo) == ["serviceAccount.annotation", "serviceMonitor.enable"]


def test_the_commented_value_paths_are_documented_in_the_vendored_values_yaml() -> None:
    text = (CHART_DIR / "values.yaml").read_text()

    def block_of(key: str) -> str:
        start = text.index(f"\n{key}:")
        rest = re.search(r"\n[^\s#]", text[start + 1 :])
        return text[start : start + 1 + rest.start()] if rest else text[start:]

    for path in VALUES_COMMENTED:
        parent, leaf = path.split(".")
        assert re.search(rf"\n  # {leaf}:", block_of(parent)), path


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_each_exporter_has_its_own_irsa_service_account_and_no_kubernetes_api_access(
    preview: bool,
) -> None:
    found = releases(render(BASE, preview=preview))
    expected = {
        REGIONAL_RELEASE: (REGIONAL_SERVICE_ACCOUNT, "regional"),
        EDGE_RELEASE: (EDGE_SERVICE_ACCOUNT, "edge"),
    }
    for name, (account, role) in expected.items():
        values = found[name].props["values"]
        service_account = values["serviceAccount"]
        assert service_account["create"] is True and service_account["name"] == account
        assert service_account["automountServiceAccountToken"] is False
        arn = service_account["annotations"]["eks.amazonaws.com/role-arn"]
        if preview:
            assert arn == UNKNOWN
        else:
            assert arn.startswith(f"{ROLE_PREFIX}{role}-")
        assert values["rbac"] == {"create": False}
        assert values["aws"]["stsRegional"] == {"enabled": True}


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_service_monitors_are_on_with_the_label_prometheus_selects(
    args: CloudWatchExporterArgs, preview: bool
) -> None:
    for release in releases(render(args, preview=preview)).values():
        monitor = release.props["values"]["serviceMonitor"]
        assert monitor["enabled"] is True
        # kube-prometheus-stack's default selector is its own release name, the chart's.
        assert monitor["labels"] == {"release": PROMETHEUS_CHART}
        interval = int(monitor["interval"].removesuffix("s"))
        assert int(monitor["timeout"].removesuffix("s")) < interval <= 60


# ---- the pods --------------------------------------------------------------------------------


def _merged(defaults: Any, ours: Any) -> Any:
    """Helm's merge of our values over the chart's: maps merge, anything else replaces."""
    if isinstance(defaults, dict) and isinstance(ours, dict):
        return {
            k: _merged(defaults.get(k), ours[k]) if k in ours else defaults[k]
            for k in defaults | ours
        }
    return ours


def chart_deployment(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The Deployment the chart renders from ``values``, written out by hand.

    From charts/prometheus-cloudwatch-exporter/templates/deployment.yaml at the chart's tag
    prometheus-cloudwatch-exporter-0.28.1 (prometheus-community/helm-charts).
    """
    v = _merged(load_chart_values(CHART_DIR), dict(values))
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    selector = {"app": CHART, "release": name}

    def probe(spec: Mapping[str, Any]) -> dict[str, Any]:
        keys = (
            "initialDelaySeconds",
            "periodSeconds",
            "timeoutSeconds",
            "successThreshold",
            "failureThreshold",
        )
        return {
            "httpGet": {"path": spec["path"], "port": "container-port"},
            **{k: spec[k] for k in keys},
        }

    container: dict[str, Any] = {
        "name": CHART,
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "image": f"{v['image']['repository']}:{v['image']['tag'] or 'v' + chart['appVersion']}",
        "imagePullPolicy": v["image"]["pullPolicy"],
        "ports": [
            {"name": "container-port", "containerPort": v["containerPort"], "protocol": "TCP"}
        ],
        "livenessProbe": probe(v["livenessProbe"]),
        "readinessProbe": probe(v["readinessProbe"]),
        "resources": v["resources"],
        "volumeMounts": [{"name": "vol-prometheus-cloudwatch-exporter", "mountPath": "/config"}],
    }
    if v["command"]:
        container["command"] = v["command"]
    if v["containerSecurityContext"]:
        container["securityContext"] = v["containerSecurityContext"]
    pod: dict[str, Any] = {
        "containers": [container],
        "serviceAccountName": v["serviceAccount"]["name"] or name,
        "volumes": [
            {
                "name": "vol-prometheus-cloudwatch-exporter",
                "configMap": {"defaultMode": 420, "name": name},
            }
        ],
    }
    if v["securityContext"]:
        pod["securityContext"] = v["securityContext"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": selector},
        "spec": {
            "replicas": v["replicaCount"],
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": {**selector, **v["pod"]["labels"]}}, "spec": pod},
        },
    }


POD_RULES = [
    k8s_policies.probes,
    k8s_policies.resource_requests_limits,
    k8s_policies.image_tag_pinned,
    k8s_policies.not_privileged,
    k8s_policies.no_host_namespaces,
    k8s_policies.no_privilege_escalation,
    k8s_policies.not_default_namespace,
    k8s_policies.read_only_root_filesystem,
    k8s_policies.run_as_non_root,
    k8s_policies.high_uid,
    k8s_policies.seccomp_profile,
    k8s_policies.drop_capabilities,
]
"""The pack's pod rules; the token rule reads the pod spec, the chart sets it on the account."""


def _violations(deployment: dict[str, Any]) -> list[str]:
    res = resource("kubernetes:apps/v1:Deployment", deployment)
    return [f"{rule.name}: {f.message}" for rule in POD_RULES for f in findings_for(rule, [res])]


@pytest.mark.parametrize("name", [REGIONAL_RELEASE, EDGE_RELEASE])
def test_the_pods_the_chart_renders_are_hardened(name: str) -> None:
    values = releases(render(BASE, preview=False))[name].props["values"]
    deployment = chart_deployment(name, values)
    assert kubernetes_validate.validate(deployment, K8S_VERSION, strict=True) == K8S_VERSION
    assert _violations(deployment) == []
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "prom/cloudwatch-exporter:v0.16.0"
    # The image's own entrypoint and the config file the chart mounts.
    assert container["command"][-3:] == [
        "/cloudwatch_exporter.jar",
        str(PORT),
        "/config/config.yml",
    ]
    # The checks bite: the chart's own defaults run as nobody (a low UID) on a writable root.
    chart_defaults = {"serviceAccount": {"name": "x"}}
    assert _violations(chart_deployment(name, chart_defaults)) != []


# ---- network policies ------------------------------------------------------------------------


def test_the_namespace_denies_everything_but_scrapes_dns_and_https_out() -> None:
    specs = network_policy_specs("monitoring")
    assert specs["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    [scrape] = specs["allow-scrape"]["ingress"]
    assert scrape["ports"] == [{"protocol": "TCP", "port": PORT}]
    [source] = scrape["from"]
    assert source == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    dns, https = specs["allow-egress"]["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    assert https["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_the_policies_are_in_the_namespace_and_satisfy_the_pack(
    args: CloudWatchExporterArgs, preview: bool
) -> None:
    graph = render(args, preview=preview)
    policies = of_type(graph, NETWORK_POLICY)
    assert sorted(p.props["metadata"]["name"] for p in policies) == sorted(
        network_policy_specs("monitoring")
    )
    namespace = one(graph, NAMESPACE_TYPE)
    for policy in policies:
        assert policy.props["metadata"]["namespace"] in (NAMESPACE, UNKNOWN)
        assert namespace.urn in policy.dependencies
        ours = policy.props["spec"]
        assert (
            ours
            == network_policy_specs(args.monitoring_namespace)[policy.props["metadata"]["name"]]
        )
    resources = [namespace, *policies]
    assert findings_for(k8s_policies.namespace_network_policy, resources) == []
    assert findings_for(k8s_policies.namespace_network_policy, [namespace]) != []


# ---- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"environment": "Prod"}, "environment must be a DNS label"),
        ({"region": "europe"}, "region must be an AWS region"),
        ({"web_acl_metric_name": ""}, "web_acl_metric_name must name"),
        ({"monitoring_namespace": "Mon"}, "monitoring_namespace must be a DNS label"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(BASE, **change)
