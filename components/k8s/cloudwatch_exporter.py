"""CloudWatch metrics in Prometheus: RDS, ElastiCache, ALB, CloudFront and WAF (seed 4.4.2).

The alert catalog and the dashboards read AWS-managed services through the series of
prometheus-cloudwatch-exporter (the Java exporter, chart ``vendor/charts/prometheus-cloudwatch-
exporter``): ``aws_<namespace>_<metric>_<statistic>`` with one label per CloudWatch dimension,
both snake-cased (``aws_rds_read_latency_average{dbinstance_identifier}``,
``aws_wafv2_blocked_requests_sum{web_acl, rule}``; see "Metric contract" in
:mod:`components.monitoring.alerts`).

An exporter reads one region, and CloudFront and its CLOUDFRONT-scope web ACL report only in
us-east-1, so two releases of the chart share the namespace ``cloudwatch-exporter``:

- ``prometheus-cloudwatch-exporter`` reads the stack's region: RDS, ElastiCache and the ALBs;
- ``prometheus-cloudwatch-exporter-edge`` reads us-east-1: CloudFront and the web ACL, and the
  account's estimated charges (``AWS/Billing``, published there only).

Each runs as its own service account with its own IRSA role
(:mod:`components.aws.cloudwatch_exporter_iam`), and selects only this stack's resources: by
the ``project`` and ``environment`` tags every resource of the stack carries (the load balancer
controller puts them on the ALBs), and the web ACL by its metric name. Environments that share
an account and region thus never report each other's database.

Samples are exposed without CloudWatch's timestamp (``set_timestamp: false``), so Prometheus
stores them at scrape time and the alerts see them at once; each holds the newest complete
datapoint ``delay_seconds`` back, the time CloudWatch takes to converge. The WAF counts are
5-minute sums (the WafBotTrafficSurge threshold is per 5 minutes), the rest 1-minute values.

Pods run restricted (non-root high UID, read-only root filesystem, no capabilities,
RuntimeDefault seccomp, no Kubernetes API token or RBAC: the exporter never calls the API).
The namespace denies all traffic but Prometheus's scrape from the monitoring namespace, DNS,
and HTTPS out to the AWS APIs (never the node's instance metadata). The ServiceMonitors need the
Prometheus Operator CRDs: the chart renders them only when the API exists, so the caller makes
this component wait for the observability stack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml

from components.dependencies import inherited_depends_on
from components.k8s.charts import chart_dir, vendored_release
from components.k8s.metrics import PROMETHEUS_CHART
from components.k8s.network_rules import (
    dns_egress,
    https_egress,
    ingress_from_namespace,
    network_policy,
)
from components.k8s.observability_common import MONITORING_NAMESPACE
from components.k8s.pod_security import container_security_context, pod_security_context
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs

CHART = "prometheus-cloudwatch-exporter"
CHART_DIR = chart_dir(CHART)
CHART_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
APP_VERSION = str(yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"])
"""The exporter version the vendored chart pins; its image tag is ``v<APP_VERSION>``."""
NAMESPACE = "cloudwatch-exporter"
REGIONAL_RELEASE = CHART
EDGE_RELEASE = f"{CHART}-edge"
"""Contains the chart name, so the chart names its objects after the release alone."""
REGIONAL_SERVICE_ACCOUNT = "cloudwatch-exporter"
EDGE_SERVICE_ACCOUNT = "cloudwatch-exporter-edge"
EDGE_REGION = "us-east-1"
"""Where CloudFront and CLOUDFRONT-scope WAF publish their metrics."""
PORT = 9106
"""The chart's containerPort and Service port."""
CONFIG_PATH = "/config/config.yml"
"""Where the chart mounts its ConfigMap's ``config.yml``."""
JAR = "/cloudwatch_exporter.jar"

PERIOD_SECONDS = 60
WAF_PERIOD_SECONDS = 300
"""WafBotTrafficSurge compares the blocked requests of one 5-minute period with its threshold."""
DELAY_SECONDS = 120
"""CloudWatch's 1-minute metrics settle within two minutes; the exporter default (600) would
delay every database alert by ten minutes."""
RANGE_SECONDS = 600
LIST_METRICS_CACHE_SECONDS = 600
"""ListMetrics is called per rule and scrape unless cached; a new resource shows up within it."""
SCRAPE_INTERVAL = "60s"
"""Every scrape calls CloudWatch (billed per request): once a minute, the metrics' resolution."""
SCRAPE_TIMEOUT = "50s"

VALUES_FREE_FORM = frozenset({"securityContext", "containerSecurityContext"})
"""Chart values passed through whole to the pod spec: Kubernetes types them, not values.yaml."""
VALUES_COMMENTED = frozenset(
    {
        "serviceAccount.annotations",
        "serviceMonitor.interval",
        "serviceMonitor.labels",
        "serviceMonitor.timeout",
    }
)
"""Paths accepted though values.yaml only documents them in a comment."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")


@dataclass(frozen=True)
class MetricRule:
    """One CloudWatch metric to export: namespace, name, the exact dimension set, statistics."""

    namespace: str
    name: str
    dimensions: tuple[str, ...]
    statistics: tuple[str, ...]


@dataclass(frozen=True)
class TagSelect:
    """How the exporter finds the stack's resources of a namespace through their tags.

    ``resource_type`` is the Resource Groups Tagging API type, ``dimension`` the CloudWatch
    dimension holding the resource ID, ``arn_regexp`` how to cut that ID out of the ARN when
    the exporter's default (the part after the last ``:`` or the first ``/``) is not it.
    """

    resource_type: str
    dimension: str
    arn_regexp: str | None = None


REGIONAL_RULES: tuple[MetricRule, ...] = (
    # Database response time (DatabaseLatencyHigh/Critical), then capacity.
    MetricRule("AWS/RDS", "ReadLatency", ("DBInstanceIdentifier",), ("Average",)),
    MetricRule("AWS/RDS", "WriteLatency", ("DBInstanceIdentifier",), ("Average",)),
    MetricRule("AWS/RDS", "CPUUtilization", ("DBInstanceIdentifier",), ("Average",)),
    MetricRule("AWS/RDS", "DatabaseConnections", ("DBInstanceIdentifier",), ("Average",)),
    MetricRule("AWS/RDS", "FreeStorageSpace", ("DBInstanceIdentifier",), ("Minimum",)),
    MetricRule("AWS/RDS", "FreeableMemory", ("DBInstanceIdentifier",), ("Minimum",)),
    # Per node of the Redis replication group.
    MetricRule(
        "AWS/ElastiCache", "CPUUtilization", ("CacheClusterId", "CacheNodeId"), ("Average",)
    ),
    MetricRule(
        "AWS/ElastiCache", "EngineCPUUtilization", ("CacheClusterId", "CacheNodeId"), ("Average",)
    ),
    MetricRule(
        "AWS/ElastiCache",
        "DatabaseMemoryUsagePercentage",
        ("CacheClusterId", "CacheNodeId"),
        ("Average",),
    ),
    MetricRule("AWS/ElastiCache", "Evictions", ("CacheClusterId", "CacheNodeId"), ("Sum",)),
    MetricRule(
        "AWS/ElastiCache", "CurrConnections", ("CacheClusterId", "CacheNodeId"), ("Average",)
    ),
    # The services' load balancers (one per Ingress group).
    MetricRule("AWS/ApplicationELB", "RequestCount", ("LoadBalancer",), ("Sum",)),
    MetricRule("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", ("LoadBalancer",), ("Sum",)),
    MetricRule("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", ("LoadBalancer",), ("Sum",)),
    MetricRule("AWS/ApplicationELB", "TargetResponseTime", ("LoadBalancer",), ("Average",)),
)
"""What the stack-region exporter reads."""

CLOUDFRONT_RULES: tuple[MetricRule, ...] = (
    MetricRule("AWS/CloudFront", "Requests", ("DistributionId", "Region"), ("Sum",)),
    MetricRule("AWS/CloudFront", "5xxErrorRate", ("DistributionId", "Region"), ("Average",)),
    MetricRule("AWS/CloudFront", "4xxErrorRate", ("DistributionId", "Region"), ("Average",)),
)
# A CLOUDFRONT-scope web ACL reports without the Region dimension regional ACLs carry; Rule is
# each rule's metric name, or ALL for the whole ACL.
WAF_RULES: tuple[MetricRule, ...] = (
    MetricRule("AWS/WAFV2", "BlockedRequests", ("WebACL", "Rule"), ("Sum",)),
    MetricRule("AWS/WAFV2", "AllowedRequests", ("WebACL", "Rule"), ("Sum",)),
)

# The account's estimated month-to-date charges per service (seed 4.11.2: the cost dashboard).
# Billing publishes them in us-east-1 only, a few times a day, once "Receive Billing Alerts" is
# on in the account's billing preferences; they carry no tag, so they are the account's, not
# only this stack's. The total is their sum: a second rule with only Currency would expose a
# second family of the same name, which the exposition format forbids.
BILLING_RULES: tuple[MetricRule, ...] = (
    MetricRule("AWS/Billing", "EstimatedCharges", ("ServiceName", "Currency"), ("Maximum",)),
)
BILLING_PERIOD_SECONDS = 21600
"""Billing updates the estimate every few hours: the newest 6-hour maximum within a day."""
BILLING_RANGE_SECONDS = 86400

TAG_SELECTS: Mapping[str, TagSelect] = {
    "AWS/RDS": TagSelect("rds:db", "DBInstanceIdentifier"),
    "AWS/ElastiCache": TagSelect("elasticache:cluster", "CacheClusterId"),
    # The LoadBalancer dimension is app/<name>/<id>, the ARN's tail after "loadbalancer/".
    "AWS/ApplicationELB": TagSelect(
        "elasticloadbalancing:loadbalancer", "LoadBalancer", r"loadbalancer/(app/[^/]+/[^/]+)$"
    ),
    "AWS/CloudFront": TagSelect("cloudfront:distribution", "DistributionId"),
}
"""Per namespace, how the exporter narrows a rule to the stack's resources by tag."""


def stack_tags(environment: str) -> dict[str, list[str]]:
    """Tag filter of the stack's resources: both tags must match (see config.Settings.tags)."""
    return {"project": ["ttbt2"], "environment": [environment]}


def _rule(rule: MetricRule, environment: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "aws_namespace": rule.namespace,
        "aws_metric_name": rule.name,
        "aws_dimensions": list(rule.dimensions),
        "aws_statistics": list(rule.statistics),
    }
    select = TAG_SELECTS.get(rule.namespace)
    if select is not None:
        tag_select: dict[str, Any] = {
            "tag_selections": stack_tags(environment),
            "resource_type_selection": select.resource_type,
            "resource_id_dimension": select.dimension,
        }
        if select.arn_regexp:
            tag_select["arn_resource_id_regexp"] = select.arn_regexp
        body["aws_tag_select"] = tag_select
    return body


def _base_config(region: str) -> dict[str, Any]:
    return {
        "region": region,
        "period_seconds": PERIOD_SECONDS,
        "range_seconds": RANGE_SECONDS,
        "delay_seconds": DELAY_SECONDS,
        # Scrape-time timestamps: CloudWatch's own are delay_seconds old, so Prometheus would
        # see nothing at "now" and the alerts would never evaluate them.
        "set_timestamp": False,
        # GetMetricStatistics, the one the IAM policy grants.
        "use_get_metric_data": False,
        "list_metrics_cache_ttl": LIST_METRICS_CACHE_SECONDS,
    }


def regional_config(environment: str, region: str) -> dict[str, Any]:
    """Exporter configuration of the stack's region: RDS, ElastiCache, ALB."""
    return {
        **_base_config(region),
        "metrics": [_rule(rule, environment) for rule in REGIONAL_RULES],
    }


def edge_config(environment: str, web_acl_metric_name: str) -> dict[str, Any]:
    """Exporter configuration of us-east-1: CloudFront, the CLOUDFRONT-scope web ACL, Billing."""
    metrics = [_rule(rule, environment) for rule in CLOUDFRONT_RULES]
    for body in metrics:
        # Region=Global is the distribution's total; per-region series exist only when the
        # distribution's additional metrics are on.
        body["aws_dimension_select"] = {"Region": ["Global"]}
    for rule in WAF_RULES:
        body = _rule(rule, environment)
        body["aws_dimension_select"] = {"WebACL": [web_acl_metric_name]}
        body["period_seconds"] = WAF_PERIOD_SECONDS
        metrics.append(body)
    for rule in BILLING_RULES:
        body = _rule(rule, environment)
        body["period_seconds"] = BILLING_PERIOD_SECONDS
        body["range_seconds"] = BILLING_RANGE_SECONDS
        metrics.append(body)
    return {**_base_config(EDGE_REGION), "metrics": metrics}


def helm_values(
    config: Mapping[str, Any],
    *,
    service_account: str,
    role_arn: pulumi.Input[str],
    prometheus_release: str = PROMETHEUS_CHART,
) -> dict[str, Any]:
    """Chart values of one exporter reading ``config`` as ``service_account`` with ``role_arn``.

    ``config`` is the exporter's configuration; the chart takes it as YAML text. The
    ServiceMonitor carries the ``release`` label kube-prometheus-stack's default selector
    matches (ours selects every ServiceMonitor; the label keeps it selected if that changes).
    """
    return {
        "image": {"tag": f"v{APP_VERSION}"},
        # The image's own command, without the JVM's perf-data file (/tmp is read-only).
        "command": ["java", "-XX:-UsePerfData", "-jar", JAR, str(PORT), CONFIG_PATH],
        "resources": {
            "requests": {"cpu": "50m", "memory": "256Mi"},
            "limits": {"cpu": "500m", "memory": "512Mi"},
        },
        "aws": {"stsRegional": {"enabled": True}},
        "serviceAccount": {
            "create": True,
            "name": service_account,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
            # IRSA projects its own token; the exporter never calls the Kubernetes API.
            "automountServiceAccountToken": False,
        },
        # The chart's ClusterRole only lets it read its own Secret, which IRSA makes unused.
        "rbac": {"create": False},
        "config": yaml.safe_dump(dict(config), sort_keys=False),
        "securityContext": pod_security_context(),
        "containerSecurityContext": container_security_context(),
        "pod": {"labels": {"app.kubernetes.io/part-of": "ttbt2"}},
        "serviceMonitor": {
            "enabled": True,
            "interval": SCRAPE_INTERVAL,
            "timeout": SCRAPE_TIMEOUT,
            "labels": {"release": prometheus_release},
        },
    }


def network_policy_specs(monitoring_namespace: str) -> dict[str, dict[str, Any]]:
    """The namespace's policies by name: deny all, then scrape, DNS and AWS APIs."""
    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-scrape": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [ingress_from_namespace(monitoring_namespace, PORT)],
        },
        "allow-egress": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            # CloudWatch, the tagging API and STS (IRSA) over HTTPS.
            "egress": [dns_egress(), https_egress()],
        },
    }


@dataclass(frozen=True)
class CloudWatchExporterArgs:
    """Arguments of :class:`CloudWatchExporter`.

    ``region`` is the stack's AWS region; ``role_arn`` and ``edge_role_arn`` are the IRSA roles
    of :data:`REGIONAL_SERVICE_ACCOUNT` and :data:`EDGE_SERVICE_ACCOUNT` in :data:`NAMESPACE`;
    ``web_acl_metric_name`` is the CloudWatch metric name of the CDN's web ACL.
    """

    environment: str
    region: str
    role_arn: pulumi.Input[str]
    edge_role_arn: pulumi.Input[str]
    web_acl_metric_name: str
    monitoring_namespace: str = MONITORING_NAMESPACE

    def __post_init__(self) -> None:
        """Refuse values the exporter or Kubernetes would reject."""
        if not _DNS_LABEL.match(self.environment):
            raise ValueError(f"environment must be a DNS label, got {self.environment!r}")
        if not _REGION.match(self.region):
            raise ValueError(f"region must be an AWS region such as eu-west-1, got {self.region!r}")
        if not self.web_acl_metric_name:
            raise ValueError("web_acl_metric_name must name the web ACL's CloudWatch metric")
        if not _DNS_LABEL.match(self.monitoring_namespace):
            raise ValueError(
                f"monitoring_namespace must be a DNS label, got {self.monitoring_namespace!r}"
            )


class CloudWatchExporter(pulumi.ComponentResource):
    """Namespace ``cloudwatch-exporter``, its two exporter releases and its NetworkPolicies.

    Children: ``<name>`` (:class:`NamespacedRelease`: the namespace and the stack-region
    release), ``<name>-edge-release`` and ``<name>-<policy>`` per NetworkPolicy. The Kubernetes
    provider comes from ``opts``; what ``opts`` depends on (the observability stack) holds
    back every child.
    """

    def __init__(
        self, name: str, args: CloudWatchExporterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:CloudWatchExporter", name, None, opts)
        labels = {"environment": args.environment, "app.kubernetes.io/part-of": "ttbt2"}
        # The releases' ServiceMonitors need the CRDs of what the caller waits for.
        waits = inherited_depends_on(opts)
        self.regional = NamespacedRelease(
            name,
            NamespacedReleaseArgs(
                namespace=NAMESPACE,
                labels=labels,
                chart=CHART,
                chart_directory=CHART_DIR,
                repository=CHART_REPOSITORY,
                values=helm_values(
                    regional_config(args.environment, args.region),
                    service_account=REGIONAL_SERVICE_ACCOUNT,
                    role_arn=args.role_arn,
                ),
                release_depends_on=waits,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        namespace = self.regional.namespace
        self.edge_release = vendored_release(
            f"{name}-edge-release",
            CHART,
            CHART_DIR,
            repository=CHART_REPOSITORY,
            release_name=EDGE_RELEASE,
            namespace=namespace.metadata.name,
            values=helm_values(
                edge_config(args.environment, args.web_acl_metric_name),
                service_account=EDGE_SERVICE_ACCOUNT,
                role_arn=args.edge_role_arn,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *waits]),
        )
        self.network_policies = {
            policy: network_policy(
                f"{name}-{policy}",
                name=policy,
                namespace=namespace.metadata.name,
                labels=labels,
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
            for policy, spec in network_policy_specs(args.monitoring_namespace).items()
        }
        self.register_outputs(
            {"namespace": NAMESPACE, "releases": [REGIONAL_RELEASE, EDGE_RELEASE]}
        )
