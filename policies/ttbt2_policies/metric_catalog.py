"""The catalog of metric producers: which metric families each exporter version exports.

Pure data and small functions, read by the metric-provenance policy (``metric_provenance``) and
by the services' settings (``components/delivery/spec.py``), which validate declared families
with :func:`family_problem`.

Format
------
A :class:`Producer` is keyed by chart name and chart version (:data:`CHARTS`), or by image
repository and tag for a producer deployed as a plain Deployment (:data:`IMAGES`). It is made
of :class:`Part` s, one per exporter it deploys (kube-prometheus-stack: cAdvisor, kube-state-
metrics, node-exporter, Prometheus, Alertmanager), each with the exporter's own version, the
:class:`Source` files the family names were read from (upstream file URLs at the release tag),
and the :class:`Toggle` s of the release's Helm values that must be on for Prometheus to
scrape it. A part whose families depend on the release's configuration names a deriver
(``derive``: the CloudWatch exporter's families come from its ``config`` value, see
:func:`cloudwatch_families`); a part whose series exist only for the targets of Probe
resources says so (``probe_targets``: the blackbox exporter, whose ``job`` label is the
Probe's ``spec.jobName``).

Family names are the names of the text format's ``# TYPE`` line: a counter keeps its
``_total``; a histogram ``x`` is read as ``x_bucket``, ``x_count`` and ``x_sum``; a summary as
``x``, ``x_count`` and ``x_sum`` (:meth:`Family.samples`).

A release of a chart this catalog knows, at a version it does not list, is a violation of the
policy, so a chart upgrade comes with a review of the families it exports. Add the new version
by copying the entry, checking each family against the new tag's sources and updating the URLs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final, Literal

Kind = Literal["counter", "gauge", "histogram", "summary"]
KINDS: Final[tuple[Kind, ...]] = ("counter", "gauge", "histogram", "summary")

METRIC_FAMILIES_ANNOTATION: Final = "ttbt2.io/metric-families"
"""Annotation of a service's ServiceMonitor: the JSON list of ``{"name", "type"}`` families the
scraped service exposes (its ``ttbt2:services`` entry's ``metrics``)."""

_FAMILY_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SAMPLE_SUFFIXES = ("_bucket", "_count", "_sum")


@dataclass(frozen=True)
class Family:
    """One metric family: its name (as in the ``# TYPE`` line) and type."""

    name: str
    kind: Kind

    def samples(self) -> tuple[str, ...]:
        """The series names a query reads of this family."""
        if self.kind == "histogram":
            return tuple(self.name + s for s in _SAMPLE_SUFFIXES)
        if self.kind == "summary":
            return (self.name, self.name + "_count", self.name + "_sum")
        return (self.name,)

    def describe(self) -> str:
        """``name (type)``, for messages."""
        return f"{self.name} ({self.kind})"


def family_problem(name: str, kind: str) -> str | None:
    """Why ``name`` of type ``kind`` is not a valid declared family, or None when it is.

    Names are Prometheus metric names without ``:`` (reserved for recording rules); a counter
    ends in ``_total``; a histogram or summary is named without its sample suffixes.
    """
    if kind not in KINDS:
        return f"type {kind!r} is not one of {', '.join(KINDS)}"
    if not _FAMILY_NAME.match(name):
        return f"{name!r} is not a metric name (letters, digits and _, not starting with a digit)"
    if kind == "counter" and not name.endswith("_total"):
        return f"counter {name!r} must end in _total"
    if kind in ("histogram", "summary") and name.endswith(_SAMPLE_SUFFIXES):
        return f"{kind} {name!r} is named without _bucket, _count or _sum"
    return None


def families(kind: Kind, *names: str) -> tuple[Family, ...]:
    """Families of one type."""
    return tuple(Family(n, kind) for n in names)


@dataclass(frozen=True)
class Source:
    """Families read from one file: an upstream URL at the release tag, or a repository path."""

    url: str
    families: tuple[Family, ...]


@dataclass(frozen=True)
class Toggle:
    """A Helm value (dotted path) that must be true for the part to be scraped."""

    path: str
    default: bool


@dataclass(frozen=True)
class Part:
    """One exporter a producer deploys, with the families Prometheus scrapes from it."""

    name: str
    version: str
    sources: tuple[Source, ...] = ()
    toggles: tuple[Toggle, ...] = ()
    probe_targets: bool = False
    """Its series exist only for targets of Probe resources (job label = ``spec.jobName``)."""
    derive: str | None = None
    """The name of a deriver in :data:`DERIVERS`: families computed from the release values."""

    def families(self) -> tuple[Family, ...]:
        """Every family of every source."""
        return tuple(f for s in self.sources for f in s.families)


@dataclass(frozen=True)
class Producer:
    """A chart at one version (or an image at one tag) and the parts it deploys."""

    name: str
    version: str
    app_version: str
    source: str
    """The chart's Chart.yaml (or the image's release) at that version."""
    parts: tuple[Part, ...]
    notes: str = ""


_GH = "https://github.com"

# --- kube-prometheus-stack 88.5.3 --------------------------------------------------------------

_KPS = f"{_GH}/prometheus-community/helm-charts/blob/kube-prometheus-stack-88.5.3"
_KSM = f"{_GH}/kubernetes/kube-state-metrics/blob/v2.20.0/internal/store"
_KSM_CUSTOM = (
    f"{_GH}/kubernetes/kube-state-metrics/blob/v2.20.0/docs/metrics/extend/"
    "customresourcestate-metrics.md"
)
_CADVISOR = f"{_GH}/google/cadvisor/blob/v0.52.1/metrics/prometheus.go"
_NODE = f"{_GH}/prometheus/node_exporter/blob/v1.12.1/collector"
_PROM = f"{_GH}/prometheus/prometheus/blob/v3.14.0"
_AM = f"{_GH}/prometheus/alertmanager/blob/v0.34.0"

KUBE_PROMETHEUS_STACK_88_5_3 = Producer(
    name="kube-prometheus-stack",
    version="88.5.3",
    app_version="v0.93.1",
    source=f"{_KPS}/charts/kube-prometheus-stack/Chart.yaml",
    notes=(
        "Versions of the parts: subcharts kube-state-metrics 8.4.0 (app 2.20.0) and "
        "prometheus-node-exporter 4.56.1 (app 1.12.1), images prometheus v3.14.0 and "
        "alertmanager v0.34.0 from the chart's values.yaml; cAdvisor is the kubelet's, "
        "v0.52.1 in Kubernetes 1.33. The chart's cAdvisorMetricRelabelings drop "
        "container_cpu_{cfs_throttled_seconds,load_average_10s,system_seconds,user_seconds}, "
        "container_fs_io_*, container_memory_{mapped_file,swap}, container_spec_* and others: "
        "none of those is listed."
    ),
    parts=(
        Part(
            name="kubelet/cAdvisor",
            version="0.52.1",
            toggles=(
                Toggle("kubelet.enabled", True),
                Toggle("kubelet.serviceMonitor.cAdvisor", True),
            ),
            sources=(
                Source(
                    _CADVISOR,
                    families(
                        "counter",
                        "container_cpu_usage_seconds_total",
                        "container_cpu_cfs_periods_total",
                        "container_cpu_cfs_throttled_periods_total",
                        "container_network_receive_bytes_total",
                        "container_network_transmit_bytes_total",
                        "container_oom_events_total",
                    )
                    + families(
                        "gauge",
                        "container_memory_working_set_bytes",
                        "container_memory_rss",
                        "container_memory_cache",
                        "container_memory_usage_bytes",
                        "container_fs_usage_bytes",
                        "container_fs_limit_bytes",
                    ),
                ),
            ),
        ),
        Part(
            name="kube-state-metrics",
            version="2.20.0",
            toggles=(Toggle("kubeStateMetrics.enabled", True),),
            sources=(
                Source(
                    f"{_KSM}/pod.go",
                    families(
                        "gauge",
                        "kube_pod_container_resource_limits",
                        "kube_pod_container_resource_requests",
                        "kube_pod_container_status_ready",
                        "kube_pod_container_status_waiting_reason",
                        "kube_pod_container_status_last_terminated_reason",
                        "kube_pod_status_phase",
                        "kube_pod_status_ready",
                        "kube_pod_info",
                        "kube_pod_owner",
                    )
                    + families("counter", "kube_pod_container_status_restarts_total"),
                ),
                Source(
                    f"{_KSM}/deployment.go",
                    families(
                        "gauge",
                        "kube_deployment_spec_replicas",
                        "kube_deployment_status_replicas",
                        "kube_deployment_status_replicas_available",
                        "kube_deployment_status_replicas_unavailable",
                        "kube_deployment_status_replicas_updated",
                        "kube_deployment_status_condition",
                        "kube_deployment_metadata_generation",
                        "kube_deployment_status_observed_generation",
                    ),
                ),
                Source(
                    f"{_KSM}/node.go",
                    families(
                        "gauge",
                        "kube_node_info",
                        "kube_node_status_allocatable",
                        "kube_node_status_capacity",
                        "kube_node_status_condition",
                        "kube_node_spec_unschedulable",
                    ),
                ),
            ),
        ),
        Part(
            # Families the release's customResourceState config defines (the VPA's
            # recommendations, components/k8s/vpa_metrics.py): ksm_custom_resource_families.
            name="kube-state-metrics custom resources",
            version="2.20.0",
            toggles=(
                Toggle("kubeStateMetrics.enabled", True),
                Toggle("kube-state-metrics.customResourceState.enabled", False),
            ),
            derive="ksm_custom_resources",
            # The naming rule; the families themselves come from the config.
            sources=(Source(_KSM_CUSTOM, ()),),
        ),
        Part(
            name="node-exporter",
            version="1.12.1",
            toggles=(Toggle("nodeExporter.enabled", True),),
            sources=(
                Source(f"{_NODE}/cpu_common.go", families("counter", "node_cpu_seconds_total")),
                Source(
                    f"{_NODE}/meminfo_linux.go",
                    families(
                        "gauge", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes"
                    ),
                ),
                Source(
                    f"{_NODE}/filesystem_common.go",
                    families("gauge", "node_filesystem_avail_bytes", "node_filesystem_size_bytes"),
                ),
                Source(
                    f"{_NODE}/loadavg.go",
                    families("gauge", "node_load1", "node_load5", "node_load15"),
                ),
            ),
        ),
        Part(
            # Series Prometheus writes itself for every target and every alerting rule.
            name="Prometheus (scrape and rule series)",
            version="3.14.0",
            toggles=(Toggle("prometheus.enabled", True),),
            sources=(
                Source(
                    f"{_PROM}/scrape/scrape.go",
                    families(
                        "gauge",
                        "up",
                        "scrape_duration_seconds",
                        "scrape_samples_scraped",
                        "scrape_samples_post_metric_relabeling",
                        "scrape_series_added",
                    ),
                ),
                Source(
                    f"{_PROM}/rules/alerting.go", families("gauge", "ALERTS", "ALERTS_FOR_STATE")
                ),
            ),
        ),
        Part(
            name="Prometheus (self-monitoring)",
            version="3.14.0",
            toggles=(
                Toggle("prometheus.enabled", True),
                Toggle("prometheus.serviceMonitor.selfMonitor", True),
            ),
            sources=(
                Source(f"{_PROM}/tsdb/head.go", families("gauge", "prometheus_tsdb_head_series")),
                Source(
                    f"{_PROM}/rules/group.go",
                    families("counter", "prometheus_rule_evaluation_failures_total"),
                ),
            ),
        ),
        Part(
            name="Alertmanager",
            version="0.34.0",
            toggles=(
                Toggle("alertmanager.enabled", True),
                Toggle("alertmanager.serviceMonitor.selfMonitor", True),
            ),
            sources=(
                Source(
                    f"{_AM}/notify/metrics.go",
                    families(
                        "counter",
                        "alertmanager_notifications_total",
                        "alertmanager_notifications_failed_total",
                    ),
                ),
                Source(f"{_AM}/dispatch/metric.go", families("gauge", "alertmanager_alerts")),
                Source(
                    f"{_AM}/config/coordinator.go",
                    families("gauge", "alertmanager_config_last_reload_successful"),
                ),
            ),
        ),
    ),
)

# --- argo-rollouts 2.41.0 ----------------------------------------------------------------------

ARGO_ROLLOUTS_2_41_0 = Producer(
    name="argo-rollouts",
    version="2.41.0",
    app_version="v1.9.0",
    source=f"{_GH}/argoproj/argo-helm/blob/argo-rollouts-2.41.0/charts/argo-rollouts/Chart.yaml",
    parts=(
        Part(
            name="controller",
            version="1.9.0",
            toggles=(
                Toggle("controller.metrics.enabled", False),
                Toggle("controller.metrics.serviceMonitor.enabled", False),
            ),
            sources=(
                Source(
                    f"{_GH}/argoproj/argo-rollouts/blob/v1.9.0/controller/metrics/prommetrics.go",
                    families(
                        "gauge",
                        "rollout_info",
                        "rollout_info_replicas_available",
                        "rollout_info_replicas_unavailable",
                        "rollout_info_replicas_desired",
                        "rollout_info_replicas_updated",
                        "analysis_run_info",
                        "analysis_run_metric_phase",
                    ),
                ),
            ),
        ),
    ),
)

# --- prometheus-blackbox-exporter 11.17.2 ------------------------------------------------------

_BLACKBOX = f"{_GH}/prometheus/blackbox_exporter/blob/v0.28.0/prober"

BLACKBOX_EXPORTER_11_17_2 = Producer(
    name="prometheus-blackbox-exporter",
    version="11.17.2",
    app_version="v0.28.0",
    source=(
        f"{_GH}/prometheus-community/helm-charts/blob/prometheus-blackbox-exporter-11.17.2/"
        "charts/prometheus-blackbox-exporter/Chart.yaml"
    ),
    parts=(
        Part(
            name="blackbox exporter probes",
            version="0.28.0",
            probe_targets=True,
            sources=(
                Source(
                    f"{_BLACKBOX}/handler.go",
                    families("gauge", "probe_success", "probe_duration_seconds"),
                ),
                Source(
                    f"{_BLACKBOX}/http.go",
                    families(
                        "gauge",
                        "probe_http_status_code",
                        "probe_http_duration_seconds",
                        "probe_http_content_length",
                        "probe_http_redirects",
                        "probe_http_ssl",
                        "probe_http_version",
                    ),
                ),
                Source(
                    f"{_BLACKBOX}/prober.go",
                    families(
                        "gauge",
                        "probe_ssl_earliest_cert_expiry",
                        "probe_tls_version_info",
                    ),
                ),
                Source(
                    f"{_BLACKBOX}/utils.go",
                    families("gauge", "probe_dns_lookup_time_seconds", "probe_ip_protocol"),
                ),
            ),
        ),
    ),
)

# --- trivy-operator 0.34.0 ---------------------------------------------------------------------

_TRIVY_COLLECTOR = f"{_GH}/aquasecurity/trivy-operator/blob/v0.32.0/pkg/metrics/collector.go"

TRIVY_OPERATOR_0_34_0 = Producer(
    name="trivy-operator",
    version="0.34.0",
    app_version="0.32.0",
    source=f"{_GH}/aquasecurity/trivy-operator/blob/v0.32.0/deploy/helm/Chart.yaml",
    parts=(
        Part(
            name="operator findings",
            version="0.32.0",
            toggles=(
                Toggle("serviceMonitor.enabled", False),
                Toggle("operator.metricsFindingsEnabled", True),
            ),
            sources=(
                Source(
                    _TRIVY_COLLECTOR,
                    families(
                        "gauge",
                        "trivy_image_vulnerabilities",
                        "trivy_image_exposedsecrets",
                        "trivy_resource_configaudits",
                        "trivy_role_rbacassessments",
                        "trivy_clusterrole_clusterrbacassessments",
                        "trivy_resource_infraassessments",
                        "trivy_cluster_compliance",
                    ),
                ),
            ),
        ),
        Part(
            name="operator vulnerability ids",
            version="0.32.0",
            toggles=(
                Toggle("serviceMonitor.enabled", False),
                Toggle("operator.metricsVulnIdEnabled", False),
            ),
            sources=(Source(_TRIVY_COLLECTOR, families("gauge", "trivy_vulnerability_id")),),
        ),
    ),
)

# --- prometheus-cloudwatch-exporter 0.28.1 -----------------------------------------------------

_CLOUDWATCH = f"{_GH}/prometheus/cloudwatch_exporter/blob/v0.16.0/src/main/java/io/prometheus"

CLOUDWATCH_EXPORTER_0_28_1 = Producer(
    name="prometheus-cloudwatch-exporter",
    version="0.28.1",
    app_version="0.16.0",
    source=(
        f"{_GH}/prometheus-community/helm-charts/blob/prometheus-cloudwatch-exporter-0.28.1/"
        "charts/prometheus-cloudwatch-exporter/Chart.yaml"
    ),
    notes=(
        "Families named by CloudWatchCollector.java from the release's config value "
        "(aws_<namespace lower>_<metric snake>_<statistic>); without config, the chart's "
        "default config (values.yaml: AWS/ELB metrics) applies."
    ),
    parts=(
        Part(
            name="exporter",
            version="0.16.0",
            toggles=(Toggle("serviceMonitor.enabled", False),),
            derive="cloudwatch",
            sources=(
                Source(
                    f"{_CLOUDWATCH}/cloudwatch/CloudWatchCollector.java",
                    families(
                        "gauge",
                        "cloudwatch_exporter_scrape_duration_seconds",
                        "cloudwatch_exporter_scrape_error",
                    )
                    + families("counter", "cloudwatch_requests_total"),
                ),
                Source(
                    f"{_CLOUDWATCH}/cloudwatch/BuildInfoCollector.java",
                    families("gauge", "cloudwatch_exporter_build_info"),
                ),
            ),
        ),
    ),
)

CLOUDWATCH_DEFAULT_CONFIG: Final = """\
region: eu-west-1
period_seconds: 240
metrics:
- aws_namespace: AWS/ELB
  aws_metric_name: HealthyHostCount
  aws_dimensions: [AvailabilityZone, LoadBalancerName]
  aws_statistics: [Average]
- aws_namespace: AWS/ELB
  aws_metric_name: UnHealthyHostCount
  aws_dimensions: [AvailabilityZone, LoadBalancerName]
  aws_statistics: [Average]
- aws_namespace: AWS/ELB
  aws_metric_name: RequestCount
  aws_dimensions: [AvailabilityZone, LoadBalancerName]
  aws_statistics: [Sum]
- aws_namespace: AWS/ELB
  aws_metric_name: Latency
  aws_dimensions: [AvailabilityZone, LoadBalancerName]
  aws_statistics: [Average]
- aws_namespace: AWS/ELB
  aws_metric_name: SurgeQueueLength
  aws_dimensions: [AvailabilityZone, LoadBalancerName]
  aws_statistics: [Maximum, Sum]
"""
"""The chart's default ``config`` (prometheus-cloudwatch-exporter 0.28.1 values.yaml, comment
lines left out), which the exporter runs with when the release sets none."""

# --- the Pushgateway and the delivery pipeline ------------------------------------------------

PIPELINE_SOURCE: Final = "scripts/deploy_event.py"

PIPELINE_FAMILIES: Final[tuple[Family, ...]] = (
    Family("ttbt2_deployments_total", "counter"),
    Family("ttbt2_hotfixes_total", "counter"),
    Family("ttbt2_deployment_lead_time_seconds", "histogram"),
    Family("ttbt2_rollback_duration_seconds", "histogram"),
    Family("ttbt2_release_validation_seconds", "gauge"),
)
"""What the application pipeline pushes (``scripts/deploy_event.py``, its ``render``)."""

DRILL_SOURCE: Final = "scripts/recovery_drill.py"

DRILL_FAMILIES: Final[tuple[Family, ...]] = families(
    "gauge",
    "ttbt2_drill_rto_seconds",
    "ttbt2_drill_rpo_seconds",
    "ttbt2_drill_region_loss_rto_seconds",
    "ttbt2_drill_rto_objective_seconds",
    "ttbt2_drill_rpo_objective_seconds",
    "ttbt2_drill_success",
    "ttbt2_drill_last_success_timestamp_seconds",
)
"""What the quarterly recovery drill pushes (``scripts/recovery_drill.py``, its ``render``)."""

PUSHGATEWAY_1_11_1 = Producer(
    name="prom/pushgateway",
    version="v1.11.1",
    app_version="v1.11.1",
    source=f"{_GH}/prometheus/pushgateway/releases/tag/v1.11.1",
    parts=(
        Part(
            name="Pushgateway",
            version="1.11.1",
            sources=(
                Source(
                    f"{_GH}/prometheus/pushgateway/blob/v1.11.1/storage/diskmetricstore.go",
                    families("gauge", "push_time_seconds", "push_failure_time_seconds"),
                ),
            ),
        ),
        Part(
            name="delivery pipeline pushes",
            version="1.11.1",
            sources=(Source(PIPELINE_SOURCE, PIPELINE_FAMILIES),),
        ),
        Part(
            name="recovery drill pushes",
            version="1.11.1",
            sources=(Source(DRILL_SOURCE, DRILL_FAMILIES),),
        ),
    ),
)

# --- the services ------------------------------------------------------------------------------

HTTP_FAMILY: Final = Family("http_server_requests_seconds", "histogram")
"""The services' HTTP contract (Micrometer naming), read by the AnalysisTemplates and alerts."""

SERVICE_DEFAULT_FAMILIES: Final[tuple[Family, ...]] = (HTTP_FAMILY,)

# --- the catalog -------------------------------------------------------------------------------

CHARTS: Final[Mapping[tuple[str, str], Producer]] = {
    (p.name, p.version): p
    for p in (
        KUBE_PROMETHEUS_STACK_88_5_3,
        ARGO_ROLLOUTS_2_41_0,
        BLACKBOX_EXPORTER_11_17_2,
        TRIVY_OPERATOR_0_34_0,
        CLOUDWATCH_EXPORTER_0_28_1,
    )
}
"""Producers deployed as Helm releases, by (chart name, chart version)."""

IMAGES: Final[Mapping[tuple[str, str], Producer]] = {
    (p.name, p.version): p for p in (PUSHGATEWAY_1_11_1,)
}
"""Producers deployed as Deployments, by (image repository without registry, tag)."""

IMAGE_REGISTRIES: Final = ("docker.io/", "quay.io/", "registry-1.docker.io/")
"""Registry prefixes an image reference may carry in front of the repository the key names;
``quay.io/prometheus/pushgateway`` and ``prom/pushgateway`` are the same release."""

IMAGE_ALIASES: Final[Mapping[str, str]] = {"prometheus/pushgateway": "prom/pushgateway"}


def chart_name(chart: str) -> str:
    """The chart's name from a release's ``chart``: ``oci://host/org/karpenter`` -> karpenter."""
    return chart.rstrip("/").rsplit("/", 1)[-1]


def image_key(image: str) -> tuple[str, str] | None:
    """``(repository, tag)`` of an image reference, registry and digest dropped; None untagged."""
    reference = image.split("@", 1)[0]
    for registry in IMAGE_REGISTRIES:
        reference = reference.removeprefix(registry)
    repository, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        return None
    return IMAGE_ALIASES.get(repository, repository), tag


def known_names(table: Mapping[tuple[str, str], Producer]) -> frozenset[str]:
    """The names (charts or images) of a table, whatever the version."""
    return frozenset(name for name, _ in table)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def newest(table: Mapping[tuple[str, str], Producer], name: str) -> Producer | None:
    """The newest catalogued version of ``name``, None when the catalog does not know it."""
    entries = [p for (n, _), p in table.items() if n == name]
    return max(entries, key=lambda p: _version_key(p.version), default=None)


# --- the CloudWatch exporter's names -----------------------------------------------------------

CLOUDWATCH_STATISTICS: Final[Mapping[str, str]] = {
    "Sum": "_sum",
    "SampleCount": "_sample_count",
    "Minimum": "_minimum",
    "Maximum": "_maximum",
    "Average": "_average",
}
"""CloudWatchCollector.sampleLabelSuffixBy: the suffix of each standard statistic."""

_EXTENDED = re.compile(r"^(p\d+(\.\d+)?|tm\d+|tc\d+|ts\d+|wm\d+|pr\(.*\)|tm\(.*\)|IQM)$")


class DerivedConfigError(ValueError):
    """A release's exporter configuration (:data:`DERIVERS`) its exporter would refuse."""


class CloudWatchConfigError(DerivedConfigError):
    """A CloudWatch exporter config the exporter would refuse."""


def _snake(text: str) -> str:
    """CloudWatchCollector.toSnakeCase."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()


def _safe(text: str) -> str:
    """CloudWatchCollector.safeName."""
    return re.sub(r"__+", "_", re.sub(r"[^a-zA-Z0-9:_]", "_", text))


def cloudwatch_name(namespace: str, metric: str, statistic: str) -> str:
    """The series the exporter names for one statistic of one CloudWatch metric.

    ``cloudwatch_name("AWS/RDS", "ReadLatency", "Average")`` -> ``aws_rds_read_latency_average``.
    """
    base = _safe(namespace.lower() + "_" + _snake(metric))
    suffix = CLOUDWATCH_STATISTICS.get(statistic)
    return base + (suffix if suffix is not None else "_" + _safe(_snake(statistic)))


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CloudWatchConfigError(f"{where} must be a list of strings")
    return list(value)


def cloudwatch_entries(config: Any) -> list[tuple[str, str, str]]:
    """``(namespace, metric, statistic)`` for every series a parsed exporter config asks for.

    Follows CloudWatchCollector.loadConfig: ``aws_statistics`` defaults to all five standard
    statistics unless ``aws_extended_statistics`` is given. Raises
    :class:`CloudWatchConfigError` where the exporter would refuse the config.
    """
    if not isinstance(config, dict):
        raise CloudWatchConfigError("the config must be a mapping with a metrics list")
    rules = config.get("metrics")
    if not isinstance(rules, list):
        raise CloudWatchConfigError("the config must have a metrics list")
    found: list[tuple[str, str, str]] = []
    for i, rule in enumerate(rules):
        where = f"metrics[{i}]"
        if not isinstance(rule, dict):
            raise CloudWatchConfigError(f"{where} must be a mapping")
        namespace, metric = rule.get("aws_namespace"), rule.get("aws_metric_name")
        if not isinstance(namespace, str) or not isinstance(metric, str):
            raise CloudWatchConfigError(f"{where} needs aws_namespace and aws_metric_name strings")
        stats = rule.get("aws_statistics")
        extended = rule.get("aws_extended_statistics")
        if stats is None and extended is None:
            chosen = list(CLOUDWATCH_STATISTICS)
        else:
            chosen = [] if stats is None else _str_list(stats, f"{where}.aws_statistics")
            for stat in chosen:
                if stat not in CLOUDWATCH_STATISTICS:
                    raise CloudWatchConfigError(
                        f"{where}.aws_statistics: {stat!r} is not one of "
                        f"{', '.join(CLOUDWATCH_STATISTICS)}"
                    )
            more = (
                [] if extended is None else _str_list(extended, f"{where}.aws_extended_statistics")
            )
            for stat in more:
                if not _EXTENDED.match(stat):
                    raise CloudWatchConfigError(
                        f"{where}.aws_extended_statistics: {stat!r} is not a percentile or "
                        "trimmed statistic (p99, p99.9, tm90...)"
                    )
            chosen += more
        found += [(namespace, metric, stat) for stat in chosen]
    return found


def cloudwatch_families(config: Any) -> list[Family]:
    """The families a parsed exporter config makes the exporter publish (gauges)."""
    names = dict.fromkeys(cloudwatch_name(*entry) for entry in cloudwatch_entries(config))
    if isinstance(config, dict) and any(
        isinstance(r, dict) and "aws_tag_select" in r for r in config.get("metrics") or []
    ):
        names["aws_resource_info"] = None
    return [Family(n, "gauge") for n in names]


CLOUDWATCH_NAMESPACES: Final[Mapping[str, str]] = {
    ns.lower().replace("/", "_"): ns
    for ns in (
        "AWS/ApplicationELB",
        "AWS/Billing",
        "AWS/CloudFront",
        "AWS/DynamoDB",
        "AWS/EBS",
        "AWS/EC2",
        "AWS/ELB",
        "AWS/ElastiCache",
        "AWS/Lambda",
        "AWS/NATGateway",
        "AWS/NetworkELB",
        "AWS/RDS",
        "AWS/S3",
        "AWS/SQS",
        "AWS/WAFV2",
    )
}
"""Namespaces a name can be read back to (the exporter only lowercases the namespace)."""


def cloudwatch_origin(sample: str) -> str | None:
    """``AWS/RDS ReadLatency Average`` for ``aws_rds_read_latency_average``; None otherwise.

    The reverse of :func:`cloudwatch_name` for the namespaces of :data:`CLOUDWATCH_NAMESPACES`
    and the standard statistics; metric names are read back in PascalCase, which is how
    CloudWatch spells most of them (acronyms such as CPU cannot be told apart).
    """
    for prefix, namespace in sorted(CLOUDWATCH_NAMESPACES.items(), key=lambda kv: -len(kv[0])):
        if not sample.startswith(prefix + "_"):
            continue
        rest = sample[len(prefix) + 1 :]
        for statistic, suffix in CLOUDWATCH_STATISTICS.items():
            if rest.endswith(suffix) and len(rest) > len(suffix):
                metric = "".join(w.capitalize() for w in rest[: -len(suffix)].split("_"))
                return f"{namespace} {metric} {statistic}"
    return None


# --- kube-state-metrics custom resource state ----------------------------------------------------

KSM_CUSTOM_RESOURCE_DOCS: Final = _KSM_CUSTOM
"""Where the naming below is specified: each metric is ``<metricNamePrefix>_<name>``, the prefix
``kube_customresource`` unless the resource sets its own (``""``: the name alone); Gauge,
StateSet and Info metrics are all exposed as gauges (pkg/customresourcestate/config.go)."""
KSM_CUSTOM_RESOURCE_PREFIX: Final = "kube_customresource"
_KSM_METRIC_TYPES = frozenset({"Gauge", "StateSet", "Info"})


def _plain(value: Any) -> Any:
    """Mappings and sequences as dicts and lists (policy props are read-only views)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value


def ksm_custom_resource_families(config: Any) -> list[Family]:
    """The families a kube-state-metrics ``CustomResourceStateMetrics`` config defines.

    Raises :class:`DerivedConfigError` where kube-state-metrics would refuse the config.
    """
    config = _plain(config)
    if not isinstance(config, dict) or config.get("kind") != "CustomResourceStateMetrics":
        raise DerivedConfigError("must be a mapping of kind CustomResourceStateMetrics")
    spec = config.get("spec")
    resources = spec.get("resources") if isinstance(spec, dict) else None
    if not isinstance(resources, list):
        raise DerivedConfigError("must have a spec.resources list")
    names: dict[str, None] = {}
    for i, resource in enumerate(resources):
        where = f"spec.resources[{i}]"
        gvk = resource.get("groupVersionKind") if isinstance(resource, dict) else None
        if not isinstance(gvk, dict) or not all(
            isinstance(gvk.get(k), str) for k in ("group", "version", "kind")
        ):
            raise DerivedConfigError(f"{where} needs groupVersionKind group, version and kind")
        prefix = resource.get("metricNamePrefix", KSM_CUSTOM_RESOURCE_PREFIX)
        if not isinstance(prefix, str):
            raise DerivedConfigError(f"{where}.metricNamePrefix must be a string")
        metrics = resource.get("metrics")
        if not isinstance(metrics, list):
            raise DerivedConfigError(f"{where} needs a metrics list")
        for j, metric in enumerate(metrics):
            name = metric.get("name") if isinstance(metric, dict) else None
            each = metric.get("each") if isinstance(metric, dict) else None
            kind = each.get("type") if isinstance(each, dict) else None
            if not isinstance(name, str) or kind not in _KSM_METRIC_TYPES:
                raise DerivedConfigError(
                    f"{where}.metrics[{j}] needs a name and each.type "
                    f"({', '.join(sorted(_KSM_METRIC_TYPES))})"
                )
            full = f"{prefix}_{name}" if prefix else name
            problem = family_problem(full, "gauge")
            if problem is not None:
                raise DerivedConfigError(f"{where}.metrics[{j}]: {problem}")
            names[full] = None
    return [Family(n, "gauge") for n in names]


Deriver = Callable[[Any], list[Family]]

DERIVERS: Final[Mapping[str, Deriver]] = {
    "cloudwatch": cloudwatch_families,
    "ksm_custom_resources": ksm_custom_resource_families,
}


@dataclass(frozen=True)
class DeriverInput:
    """Where a deriver's config sits in the release values, and in what form.

    ``text``: a YAML string (the chart writes it as is); otherwise a mapping (the chart renders
    it with ``toYaml``). ``default`` is what the exporter runs with when the values set none
    (``None``: no families).
    """

    path: str
    text: bool
    default: str | None = None


DERIVER_INPUTS: Final[Mapping[str, DeriverInput]] = {
    "cloudwatch": DeriverInput("config", text=True, default=CLOUDWATCH_DEFAULT_CONFIG),
    "ksm_custom_resources": DeriverInput(
        "kube-state-metrics.customResourceState.config", text=False
    ),
}


# --- who could produce a name: hints for messages ---------------------------------------------


@dataclass(frozen=True)
class Origin:
    """A catalogued producer of a series name, for the "expected:" part of a message."""

    producer: str
    part: str
    family: Family
    probe_targets: bool = False
    toggles: tuple[Toggle, ...] = field(default=())


@cache
def origins() -> Mapping[str, tuple[Origin, ...]]:
    """Every catalogued series name (all versions) with the producers that export it."""
    index: dict[str, dict[tuple[str, str], Origin]] = {}
    for table in (CHARTS, IMAGES):
        for producer in table.values():
            for part in producer.parts:
                for family in part.families():
                    origin = Origin(
                        producer.name, part.name, family, part.probe_targets, part.toggles
                    )
                    for sample in family.samples():
                        index.setdefault(sample, {})[producer.name, part.name] = origin
    return {name: tuple(found.values()) for name, found in index.items()}


def declared_family_of(
    sample: str, declared: Iterable[Family] = SERVICE_DEFAULT_FAMILIES
) -> Family | None:
    """The family of ``declared`` that ``sample`` is a series of, if any."""
    return next((f for f in declared if sample in f.samples()), None)


__all__ = [
    "CHARTS",
    "CLOUDWATCH_DEFAULT_CONFIG",
    "DERIVERS",
    "DERIVER_INPUTS",
    "HTTP_FAMILY",
    "IMAGES",
    "KINDS",
    "METRIC_FAMILIES_ANNOTATION",
    "PIPELINE_FAMILIES",
    "SERVICE_DEFAULT_FAMILIES",
    "CloudWatchConfigError",
    "DerivedConfigError",
    "Family",
    "Origin",
    "Part",
    "Producer",
    "Source",
    "Toggle",
    "chart_name",
    "cloudwatch_entries",
    "cloudwatch_families",
    "cloudwatch_name",
    "cloudwatch_origin",
    "family_problem",
    "image_key",
    "ksm_custom_resource_families",
    "newest",
    "origins",
]
