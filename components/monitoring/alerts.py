"""The TTBT2 alert catalog: the single source of Prometheus alerts and recording rules.

This module is pure data (no Pulumi resources) so the same catalog feeds the ``PrometheusRule``
that the monitoring component applies, the runbooks in ``docs/runbooks`` and the offline report,
and so ``promtool`` can check and unit-test it without a cluster.

Seed references: 4.4.2 (what to monitor), 4.5.1 (severities), 4.6.1 (incident procedure, which
each runbook follows) and 4.6.2 (response time per priority).

Metric contract
---------------
The alerts only use series that a real stack exposes:

* kube-prometheus-stack (cAdvisor, kube-state-metrics, Prometheus itself):
  ``container_cpu_usage_seconds_total``, ``container_memory_working_set_bytes``,
  ``kube_pod_container_resource_limits{resource}``, ``kube_deployment_status_replicas_available``,
  ``kube_deployment_spec_replicas``, ``up``.
* Application HTTP metrics (Micrometer/Prometheus naming, the services' contract):
  ``http_server_requests_seconds_bucket`` / ``_count`` with the labels ``service`` (the
  Kubernetes service name), ``route`` (the route *template*, never the raw path, to bound
  cardinality), ``status`` (the numeric HTTP status code) and ``le`` on buckets. The buckets
  must include 0.5, 1, 2.5 and 5 seconds so the p95 thresholds below fall on a bucket edge.
* Application business/security metrics:
  ``ttbt2_critical_operations_total{service, operation, outcome="success"|"failure"}``,
  ``ttbt2_active_sessions{service}`` (gauge), ``ttbt2_auth_failures_total{service, reason}``
  (failed logins/token checks) and ``ttbt2_auth_unauthorized_total{service, route}`` (401/403
  answers to requests that reached the application).
* Database: RDS through the CloudWatch exporter, ``aws_rds_read_latency_average`` and
  ``aws_rds_write_latency_average`` (seconds, label ``dbinstance_identifier``). RDS is chosen
  over postgres-exporter's ``pg_stat_activity_max_tx_duration`` because it measures the storage
  latency every query pays, whereas the longest transaction is dominated by batch jobs. The
  exporter must run with ``set_timestamp: false`` so samples are not stale on arrival.
* WAF through the CloudWatch exporter: ``aws_wafv2_blocked_requests_sum{web_acl, rule}``, the
  number of requests blocked in the exporter's 5-minute period.
* blackbox-exporter probes (``components/k8s/blackbox.py``, one Probe per job),
  ``probe_success{job, instance}``: ``job="blackbox-uptime"`` probes each delivered service's
  health path through the public host (the CDN: ``https://<host><healthPath>``),
  ``job="blackbox-dependencies"`` the same health paths on the services' in-cluster Services
  (``http://<svc>.<svc>.svc:<port><healthPath>``), which the other services and the load
  balancer depend on. ``instance`` is the probed URL.
* trivy-operator (``components/k8s/trivy_operator.py``): ``trivy_image_vulnerabilities{namespace,
  resource_name, image_repository, image_tag, severity}``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final, Literal

Category = Literal["performance", "health", "security"]
Severity = Literal["critical", "warning", "info"]
Priority = Literal["critical", "high", "medium", "low"]
Team = Literal["sre", "backend", "security", "product"]

CATEGORIES: Final[tuple[Category, ...]] = ("performance", "health", "security")
SEVERITIES: Final[tuple[Severity, ...]] = ("critical", "warning", "info")
TEAMS: Final[tuple[Team, ...]] = ("sre", "backend", "security", "product")

RESPONSE_TIME: Final[dict[Priority, str]] = {
    "critical": "15m",
    "high": "1h",
    "medium": "4h",
    "low": "24h",
}
"""Seed 4.6.2: the longest time before someone acts on an alert of each priority."""

ALLOWED_PRIORITIES: Final[dict[Severity, tuple[Priority, ...]]] = {
    # A critical alert means the system is down (4.5.1), so it always gets the 15-minute response.
    "critical": ("critical",),
    "warning": ("high", "medium"),
    # Info alerts are business events: nobody is paged, they are read within the working day.
    "info": ("low",),
}

MONITORED_METRICS: Final[tuple[str, ...]] = (
    # performance
    "API endpoint latency",
    "CPU and memory per component",
    "database response time",
    "request throughput",
    # application health
    "success rate of critical operations",
    "concurrent active users",
    "status of dependent services",
    "uptime",
    # security
    "unauthorised access attempts",
    "suspicious bot activity (WAF)",
    "authentication errors",
    "detected vulnerabilities",
)
"""Every item of seed 4.4.2; each must be covered by at least one alert."""

RUNBOOK_BASE_URL: Final = "https://github.com/ttbt2/platform/blob/main/docs/runbooks"
RUNBOOK_DIR: Final = "docs/runbooks"

_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_PASCAL = re.compile(r"^[A-Z][a-zA-Z0-9]+$")


def kebab(name: str) -> str:
    """``ApiLatencyCritical`` -> ``api-latency-critical`` (runbook file names)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


@dataclass(frozen=True)
class RecordingRule:
    """A precomputed series shared by alerts and dashboards, named ``level:metric:operations``."""

    record: str
    expr: str

    def to_rule(self) -> dict[str, str]:
        """The rule as it appears in a Prometheus rule group."""
        return {"record": self.record, "expr": self.expr}


@dataclass(frozen=True)
class Alert:
    """One alerting rule with everything the incident procedure (seed 4.6.1) needs."""

    name: str
    category: Category
    metric: str
    expr: str
    for_: str
    severity: Severity
    priority: Priority
    summary: str
    description: str
    team: Team

    def __post_init__(self) -> None:
        # Fail at import rather than ship a rule Alertmanager routes wrongly.
        if not _PASCAL.match(self.name):
            raise ValueError(f"alert name {self.name!r} must be PascalCase")
        if not _DURATION.match(self.for_):
            raise ValueError(f"{self.name}: 'for' {self.for_!r} is not a Prometheus duration")
        if self.priority not in ALLOWED_PRIORITIES[self.severity]:
            raise ValueError(
                f"{self.name}: priority {self.priority} is not allowed for {self.severity}"
            )
        if self.metric not in MONITORED_METRICS:
            raise ValueError(f"{self.name}: {self.metric!r} is not a seed 4.4.2 metric")

    @property
    def kebab_name(self) -> str:
        """The alert name in kebab case, used for the runbook file."""
        return kebab(self.name)

    @property
    def runbook_path(self) -> str:
        """Runbook location relative to the repository root."""
        return f"{RUNBOOK_DIR}/{self.kebab_name}.md"

    @property
    def runbook_url(self) -> str:
        """Where on-call opens the runbook from the notification."""
        return f"{RUNBOOK_BASE_URL}/{self.kebab_name}.md"

    @property
    def response_time(self) -> str:
        """The seed 4.6.2 response time of this alert's priority."""
        return RESPONSE_TIME[self.priority]

    def labels(self) -> dict[str, str]:
        """Labels Alertmanager routes on (team receiver, severity/priority escalation)."""
        return {
            "severity": self.severity,
            "priority": self.priority,
            "team": self.team,
            "category": self.category,
        }

    def annotations(self) -> dict[str, str]:
        """Human-facing text of the notification."""
        return {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": self.runbook_url,
        }

    def to_rule(self) -> dict[str, Any]:
        """The rule as it appears in a Prometheus rule group."""
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": self.labels(),
            "annotations": self.annotations(),
        }


# --- Recording rules -------------------------------------------------------------------------
# Order matters: a group evaluates its rules in sequence, so later rules read the fresh values
# of earlier ones in the same evaluation.

HTTP_RATE = "ttbt2:http_requests:rate5m"
HTTP_P95 = "ttbt2:http_request_duration_seconds:p95_5m"
HTTP_SUCCESS = "ttbt2:http_success_ratio:rate5m"
OPS_SUCCESS = "ttbt2:critical_operations_success_ratio:rate5m"
RDS_LATENCY = "ttbt2:rds_latency_seconds:max"
CPU_LIMIT_RATIO = "ttbt2:container_cpu_limit_ratio:rate5m"
MEMORY_LIMIT_RATIO = "ttbt2:container_memory_limit_ratio"

RECORDING_RULES: Final[tuple[RecordingRule, ...]] = (
    # Kept per status so the success ratio and dashboards (per-route error panels) reuse it.
    RecordingRule(
        HTTP_RATE,
        "sum by (service, route, status) (rate(http_server_requests_seconds_count[5m]))",
    ),
    RecordingRule(
        HTTP_P95,
        "histogram_quantile(0.95, sum by (service, route, le) "
        "(rate(http_server_requests_seconds_bucket[5m])))",
    ),
    # 4xx are the client's doing; only 5xx count against the service.
    RecordingRule(
        HTTP_SUCCESS,
        f'sum by (service) ({HTTP_RATE}{{status!~"5.."}}) / sum by (service) ({HTTP_RATE})',
    ),
    RecordingRule(
        OPS_SUCCESS,
        'sum by (service, operation) (rate(ttbt2_critical_operations_total{outcome="success"}[5m]))'
        " / sum by (service, operation) (rate(ttbt2_critical_operations_total[5m]))",
    ),
    RecordingRule(
        RDS_LATENCY,
        "max by (dbinstance_identifier) "
        '({__name__=~"aws_rds_read_latency_average|aws_rds_write_latency_average"})',
    ),
    # container!="" drops the pod-level cgroup cAdvisor also reports, which would double count.
    RecordingRule(
        CPU_LIMIT_RATIO,
        'sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!=""}'
        "[5m])) / sum by (namespace, pod, container) "
        '(kube_pod_container_resource_limits{resource="cpu"})',
    ),
    RecordingRule(
        MEMORY_LIMIT_RATIO,
        'sum by (namespace, pod, container) (container_memory_working_set_bytes{container!=""})'
        " / sum by (namespace, pod, container) "
        '(kube_pod_container_resource_limits{resource="memory"})',
    ),
)

# A route with almost no traffic makes p95 swing on a single slow request: only alert on
# routes that serve at least one request every 10 seconds.
_BUSY_ROUTE = f"and on (service, route) sum by (service, route) ({HTTP_RATE}) > 0.1"

# --- Alerts ----------------------------------------------------------------------------------

ALERTS: Final[tuple[Alert, ...]] = (
    # Performance ------------------------------------------------------------------------------
    Alert(
        name="ApiLatencyHigh",
        category="performance",
        metric="API endpoint latency",
        expr=f"{HTTP_P95} > 1 {_BUSY_ROUTE}",
        for_="10m",
        severity="warning",
        priority="high",
        summary="API p95 latency above 1s",
        description=(
            "p95 latency of {{ $labels.service }} {{ $labels.route }} is "
            "{{ $value | humanizeDuration }} (threshold 1s) for 10 minutes."
        ),
        team="backend",
    ),
    Alert(
        name="ApiLatencyCritical",
        category="performance",
        metric="API endpoint latency",
        expr=f"{HTTP_P95} > 2.5 {_BUSY_ROUTE}",
        for_="5m",
        severity="critical",
        priority="critical",
        summary="API p95 latency above 2.5s, users see timeouts",
        description=(
            "p95 latency of {{ $labels.service }} {{ $labels.route }} is "
            "{{ $value | humanizeDuration }} (threshold 2.5s) for 5 minutes."
        ),
        team="sre",
    ),
    Alert(
        name="ContainerCpuNearLimit",
        category="performance",
        metric="CPU and memory per component",
        expr=f"{CPU_LIMIT_RATIO} > 0.9",
        for_="15m",
        severity="warning",
        priority="medium",
        summary="Container uses more than 90% of its CPU limit",
        description=(
            "{{ $labels.namespace }}/{{ $labels.pod }} container {{ $labels.container }} uses "
            "{{ $value | humanizePercentage }} of its CPU limit; it is being throttled."
        ),
        team="sre",
    ),
    Alert(
        name="ContainerMemoryNearLimit",
        category="performance",
        metric="CPU and memory per component",
        expr=f"{MEMORY_LIMIT_RATIO} > 0.9",
        for_="10m",
        severity="warning",
        priority="high",
        summary="Container uses more than 90% of its memory limit",
        description=(
            "{{ $labels.namespace }}/{{ $labels.pod }} container {{ $labels.container }} uses "
            "{{ $value | humanizePercentage }} of its memory limit; the OOM killer is next."
        ),
        team="sre",
    ),
    Alert(
        name="DatabaseLatencyHigh",
        category="performance",
        metric="database response time",
        expr=f"{RDS_LATENCY} > 0.02",
        for_="10m",
        severity="warning",
        priority="high",
        summary="RDS read/write latency above 20ms",
        description=(
            "RDS instance {{ $labels.dbinstance_identifier }} I/O latency is "
            "{{ $value | humanizeDuration }} (threshold 20ms) for 10 minutes."
        ),
        team="sre",
    ),
    Alert(
        name="DatabaseLatencyCritical",
        category="performance",
        metric="database response time",
        expr=f"{RDS_LATENCY} > 0.1",
        for_="5m",
        severity="critical",
        priority="critical",
        summary="RDS read/write latency above 100ms, the application stalls",
        description=(
            "RDS instance {{ $labels.dbinstance_identifier }} I/O latency is "
            "{{ $value | humanizeDuration }} (threshold 100ms) for 5 minutes."
        ),
        team="sre",
    ),
    Alert(
        name="RequestThroughputDrop",
        category="performance",
        metric="request throughput",
        # Compared with the same time last week so the daily and weekly cycle is not an
        # anomaly; the last-week floor keeps quiet services from alerting on noise.
        expr=(
            f"sum by (service) ({HTTP_RATE}) < 0.5 * sum by (service) ({HTTP_RATE} offset 1w)"
            f" and on (service) sum by (service) ({HTTP_RATE} offset 1w) > 1"
        ),
        for_="15m",
        severity="warning",
        priority="medium",
        summary="Request throughput below half of last week's",
        description=(
            "{{ $labels.service }} serves {{ $value | humanize }} req/s, less than half of the "
            "same time last week."
        ),
        team="backend",
    ),
    # Application health ------------------------------------------------------------------------
    Alert(
        name="ApiSuccessRatioLow",
        category="health",
        metric="success rate of critical operations",
        expr=f"{HTTP_SUCCESS} < 0.99",
        for_="10m",
        severity="warning",
        priority="high",
        summary="More than 1% of API requests fail with 5xx",
        description=(
            "Only {{ $value | humanizePercentage }} of {{ $labels.service }} requests succeed "
            "(objective 99%)."
        ),
        team="backend",
    ),
    Alert(
        name="ApiSuccessRatioCritical",
        category="health",
        metric="success rate of critical operations",
        expr=f"{HTTP_SUCCESS} < 0.95",
        for_="5m",
        severity="critical",
        priority="critical",
        summary="More than 5% of API requests fail with 5xx",
        description=(
            "Only {{ $value | humanizePercentage }} of {{ $labels.service }} requests succeed "
            "(critical below 95%)."
        ),
        team="sre",
    ),
    Alert(
        name="CriticalOperationsFailing",
        category="health",
        metric="success rate of critical operations",
        expr=f"{OPS_SUCCESS} < 0.9",
        for_="5m",
        severity="critical",
        priority="critical",
        summary="A critical business operation fails more than 10% of the time",
        description=(
            "Operation {{ $labels.operation }} of {{ $labels.service }} succeeds only "
            "{{ $value | humanizePercentage }} of the time (critical below 90%)."
        ),
        team="backend",
    ),
    Alert(
        name="ActiveSessionsDrop",
        category="health",
        metric="concurrent active users",
        expr=(
            "sum(ttbt2_active_sessions) < 0.5 * sum(ttbt2_active_sessions offset 1w)"
            " and sum(ttbt2_active_sessions offset 1w) > 50"
        ),
        for_="30m",
        severity="info",
        priority="low",
        summary="Active users fell below half of last week's",
        description=(
            "{{ $value | humanize }} concurrent sessions, under half of the same time last week."
        ),
        team="product",
    ),
    Alert(
        name="ActiveSessionsSurge",
        category="health",
        metric="concurrent active users",
        expr=(
            "sum(ttbt2_active_sessions) > 2 * sum(ttbt2_active_sessions offset 1w)"
            " and sum(ttbt2_active_sessions) > 100"
        ),
        for_="30m",
        severity="info",
        priority="low",
        summary="Active users doubled compared with last week",
        description=(
            "{{ $value | humanize }} concurrent sessions, more than twice the same time last "
            "week: check capacity and whether a campaign explains it."
        ),
        team="product",
    ),
    Alert(
        name="DependencyDown",
        category="health",
        metric="status of dependent services",
        # Over 5 minutes so one lost probe (a network blip) does not page.
        expr='avg_over_time(probe_success{job="blackbox-dependencies"}[5m]) < 0.5',
        for_="5m",
        severity="warning",
        priority="high",
        summary="A service TTBT2 depends on fails its probes",
        description=(
            "Dependency {{ $labels.instance }} answered only {{ $value | humanizePercentage }} "
            "of probes in the last 5 minutes."
        ),
        team="sre",
    ),
    Alert(
        name="ServiceEndpointDown",
        category="health",
        metric="uptime",
        expr='max_over_time(probe_success{job="blackbox-uptime"}[3m]) == 0',
        for_="2m",
        severity="critical",
        priority="critical",
        summary="A public TTBT2 endpoint is down",
        description="{{ $labels.instance }} failed every blackbox probe for the last 5 minutes.",
        team="sre",
    ),
    Alert(
        name="DeploymentUnavailable",
        category="health",
        metric="uptime",
        # Deployments scaled to zero on purpose are not outages.
        expr=(
            "kube_deployment_status_replicas_available == 0"
            " and on (namespace, deployment) kube_deployment_spec_replicas > 0"
        ),
        for_="5m",
        severity="critical",
        priority="critical",
        summary="A deployment has no available replica",
        description=(
            "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has had no available "
            "replica for 5 minutes."
        ),
        team="sre",
    ),
    Alert(
        name="RolloutUnavailable",
        category="health",
        metric="uptime",
        # The services run as Argo Rollouts, which kube-state-metrics does not see; the Argo
        # Rollouts controller reports their replicas. A Rollout scaled to zero is no outage.
        expr=(
            "rollout_info_replicas_available == 0"
            " and on (namespace, name) rollout_info_replicas_desired > 0"
        ),
        for_="5m",
        severity="critical",
        priority="critical",
        summary="A service's Rollout has no available replica",
        description=(
            "Rollout {{ $labels.namespace }}/{{ $labels.name }} has had no available "
            "replica for 5 minutes."
        ),
        team="sre",
    ),
    Alert(
        name="ScrapeTargetDown",
        category="health",
        metric="uptime",
        expr="up == 0",
        for_="10m",
        severity="warning",
        priority="medium",
        summary="Prometheus cannot scrape a target",
        description=(
            "Target {{ $labels.instance }} of job {{ $labels.job }} has been unreachable for "
            "10 minutes; its alerts are blind meanwhile."
        ),
        team="sre",
    ),
    # Security ----------------------------------------------------------------------------------
    Alert(
        name="UnauthorizedAccessSpike",
        category="security",
        metric="unauthorised access attempts",
        expr="sum by (service) (rate(ttbt2_auth_unauthorized_total[5m])) > 5",
        for_="10m",
        severity="warning",
        priority="high",
        summary="Many requests refused with 401/403",
        description=(
            "{{ $labels.service }} refuses {{ $value | humanize }} unauthorised requests per "
            "second: possible probing of protected routes."
        ),
        team="security",
    ),
    Alert(
        name="WafBotTrafficSurge",
        category="security",
        metric="suspicious bot activity (WAF)",
        # The exporter reports the 5-minute CloudWatch sum: 500 blocked in 5 min ~ 1.7 req/s.
        expr="sum by (web_acl, rule) (aws_wafv2_blocked_requests_sum) > 500",
        for_="10m",
        severity="warning",
        priority="high",
        summary="The WAF blocks an unusual volume of requests",
        description=(
            "WAF {{ $labels.web_acl }} rule {{ $labels.rule }} blocked {{ $value | humanize }} "
            "requests in the last 5-minute period."
        ),
        team="security",
    ),
    Alert(
        name="AuthenticationFailuresHigh",
        category="security",
        metric="authentication errors",
        expr="sum by (service) (rate(ttbt2_auth_failures_total[5m])) > 2",
        for_="10m",
        severity="warning",
        priority="high",
        summary="Authentication failures above normal",
        description="{{ $labels.service }} rejects {{ $value | humanize }} logins per second.",
        team="security",
    ),
    Alert(
        name="CredentialStuffingSuspected",
        category="security",
        metric="authentication errors",
        expr="sum by (service) (rate(ttbt2_auth_failures_total[5m])) > 20",
        for_="5m",
        severity="critical",
        priority="critical",
        summary="Authentication failures at attack level",
        description=(
            "{{ $labels.service }} rejects {{ $value | humanize }} logins per second "
            "(critical above 20/s): likely credential stuffing."
        ),
        team="security",
    ),
    Alert(
        name="CriticalVulnerabilityDetected",
        category="security",
        metric="detected vulnerabilities",
        expr=(
            "sum by (namespace, resource_name, image_repository, image_tag) "
            '(trivy_image_vulnerabilities{severity="Critical"}) > 0'
        ),
        for_="15m",
        severity="warning",
        priority="high",
        summary="A running image has critical vulnerabilities",
        description=(
            "{{ $labels.image_repository }}:{{ $labels.image_tag }} used by "
            "{{ $labels.namespace }}/{{ $labels.resource_name }} has {{ $value }} critical "
            "vulnerabilities."
        ),
        team="security",
    ),
)

_GROUP_INTERVAL: Final[dict[str, str]] = {
    # CloudWatch-sourced metrics change every minute at best; evaluating faster only costs.
    "security": "1m",
}


def alerts_by_name() -> dict[str, Alert]:
    """The catalog keyed by alert name."""
    return {alert.name: alert for alert in ALERTS}


def rule_groups() -> list[dict[str, Any]]:
    """Prometheus rule-file groups: recording rules first, then one group per category."""
    groups: list[dict[str, Any]] = [
        {"name": "ttbt2.recording", "rules": [rule.to_rule() for rule in RECORDING_RULES]}
    ]
    for category in CATEGORIES:
        group: dict[str, Any] = {"name": f"ttbt2.{category}"}
        if category in _GROUP_INTERVAL:
            group["interval"] = _GROUP_INTERVAL[category]
        group["rules"] = [alert.to_rule() for alert in ALERTS if alert.category == category]
        groups.append(group)
    return groups


def prometheus_rule(
    namespace: str, labels: dict[str, str], name: str = "ttbt2-alerts"
) -> dict[str, Any]:
    """The ``PrometheusRule`` manifest the Prometheus Operator loads the catalog from.

    ``labels`` must include the operator's ``ruleSelector`` labels, otherwise the rules are
    silently ignored.
    """
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"groups": rule_groups()},
    }


def by_severity() -> dict[str, int]:
    """Number of alerts per severity, every severity listed (for the offline report)."""
    counts = Counter(alert.severity for alert in ALERTS)
    return {severity: counts[severity] for severity in SEVERITIES}
