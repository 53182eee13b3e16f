"""The TTBT2 alert catalog: the single source of Prometheus alerts and recording rules.

This module is pure data (no Pulumi resources) so the same catalog feeds the ``PrometheusRule``
that the monitoring component applies, the runbooks in ``docs/runbooks`` and the offline report,
and so ``promtool`` can check and unit-test it without a cluster.

Seed references: 4.4.2 (what to monitor), 4.5.1 (severities), 4.6.1 (incident procedure, which
each runbook follows), 4.6.2 (response time per priority) and 4.10 (deployment metrics, the
``delivery`` category).

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
  number of requests blocked in the exporter's 5-minute period, per rule and, as
  ``rule="ALL"``, for the whole web ACL.
* blackbox-exporter probes (``components/k8s/blackbox.py``, one Probe per job),
  ``probe_success{job, instance}``: ``job="blackbox-uptime"`` probes each delivered service's
  health path through the public host (the CDN: ``https://<host><healthPath>``),
  ``job="blackbox-dependencies"`` the same health paths on the services' in-cluster Services
  (``http://<svc>.<svc>.svc:<port><healthPath>``), which the other services and the load
  balancer depend on. ``instance`` is the probed URL.
* trivy-operator (``components/k8s/trivy_operator.py``): ``trivy_image_vulnerabilities{namespace,
  resource_name, image_repository, image_tag, severity}``.
* Deployment events, pushed by the application pipeline (``scripts/deploy_event.py``) to the
  Pushgateway and scraped with ``honorLabels``, every series with the group labels
  ``job="ttbt2-delivery"``, ``environment`` (``staging``/``production``) and ``service`` (the
  pipeline's ``service`` input, the same name as the Kubernetes Service whose ServiceMonitor
  gives the HTTP metrics their ``service`` label): ``ttbt2_deployments_total{outcome}``,
  ``ttbt2_hotfixes_total``, ``ttbt2_deployment_lead_time_seconds_sum`` / ``_count``,
  ``ttbt2_rollback_duration_seconds_sum`` / ``_count`` and the gauge
  ``ttbt2_release_validation_seconds``. Prometheus also attaches the gateway's ``pod`` and
  ``instance``, so a new gateway pod starts new series that carry on the old values; the
  release counting below never reads such a series as new deployments.

Releases followed by errors (seed 4.10.2)
-----------------------------------------
A *release* is a successful production deployment. It is *followed by errors* when, in the 30
minutes after it was recorded, its service answered more than 1 % of its requests with a 5xx,
at least 5 of them. 1 % is the platform's availability objective (``ApiSuccessRatioLow``), so a
release counts when the service misses, right after it, the objective it is held to; a
per-request threshold of 0.1 % would sit inside the background error rate of a service that
meets that objective, and would measure the background rather than the release. The floor of
5 failed requests keeps a single 5xx on an idle service from condemning a release. The seed's
0.1 % is the target for the *share of releases* so judged.

Each release is counted exactly once by the ``ttbt2.delivery.releases`` group, evaluated every
minute: it records the deployments of the minute that ended 30 minutes ago (consecutive
evaluations are one minute apart, so those minutes tile time and every counter step falls in
exactly one of them) and, for production successes, whether the 30 minutes since then were
above the threshold. A counter step is the difference between the two ends of the minute,
never negative (a gateway restored from an older persistence file goes backwards, and that is
no deployment); a series that did not exist at the start of the minute counts its value only
when its service had no deployment series at all in the 7 days before and shows at most one
deployment (a new service's first push), not when an existing group reappears under a new
gateway pod, nor when a new Prometheus meets a gateway that already holds history. Every 4.10
indicator is summed from these per-minute counts, so all of them agree and none is inflated by
a reset.

Limits: the join is on ``service`` alone, so the production events must reach the Pushgateway
scraped by the Prometheus that scrapes the production services (the prod stack's); an
evaluation Prometheus skips (a restart) loses that minute's deployments; the first release
pushed after the gateway lost its whole volume is not counted (its counter restarts at 1 and
the group is known).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final, Literal

from components.monitoring import credential_expiry

Category = Literal["performance", "health", "security", "delivery", "recovery"]
Severity = Literal["critical", "warning", "info"]
Priority = Literal["critical", "high", "medium", "low"]
Team = Literal["sre", "backend", "security", "product"]

CATEGORIES: Final[tuple[Category, ...]] = (
    "performance",
    "health",
    "security",
    "delivery",
    "recovery",
)
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

DELIVERY_METRICS: Final[tuple[str, ...]] = (
    # 4.10.1 efficiency
    "deployment lead time",
    "deployment success rate",
    "rollback time",
    "deployment frequency",
    # 4.10.2 quality
    "hotfixes",
    "post-deployment errors",
    "release validation time",
)
"""Every item of seed 4.10; the ``delivery`` alerts cover each of them."""

RECOVERY_METRICS: Final[tuple[str, ...]] = ("recovery drills",)
"""Seed 4.7: the quarterly recovery drill, pushed by scripts/recovery_drill.py."""

DRILL_OVERDUE_DAYS: Final = 100
"""A quarter (92 days at most) plus a week to re-run a failed drill."""

CREDENTIAL_EXPIRY: Final = credential_expiry.METRIC
CREDENTIAL_WARNING_DAYS: Final = credential_expiry.WARNING_DAYS
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
        if self.category == "delivery":
            if self.metric not in DELIVERY_METRICS:
                raise ValueError(f"{self.name}: {self.metric!r} is not a seed 4.10 metric")
        elif self.category == "recovery":
            if self.metric not in RECOVERY_METRICS:
                raise ValueError(f"{self.name}: {self.metric!r} is not a seed 4.7 metric")
        elif self.metric not in MONITORED_METRICS:
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

# --- Delivery recording rules (seed 4.10; see "Releases followed by errors" above) -----------

RELEASE_WINDOW: Final = "30m"
"""How long after a release its service's errors count against it."""
RELEASE_ERROR_RATIO: Final = 0.01
"""Share of 5xx answers after a release above which it is followed by errors."""
RELEASE_MIN_ERRORS: Final = 5
"""Fewest 5xx answers after a release for it to be followed by errors."""
TREND_WINDOW: Final = "7d"
TREND_DAYS: Final = 7
MIN_DEPLOYMENTS: Final = 20
"""Fewest deployments in the trend window before a ratio or mean target is judged."""

DEPLOYMENTS_MINUTE = "ttbt2:deployments:increase1m_offset30m"
HOTFIXES_MINUTE = "ttbt2:hotfixes:increase1m_offset30m"
LEAD_TIME_SUM_MINUTE = "ttbt2:deployment_lead_time_seconds_sum:increase1m_offset30m"
LEAD_TIME_COUNT_MINUTE = "ttbt2:deployment_lead_time_seconds_count:increase1m_offset30m"
ROLLBACK_SUM_MINUTE = "ttbt2:rollback_duration_seconds_sum:increase1m_offset30m"
ROLLBACK_COUNT_MINUTE = "ttbt2:rollback_duration_seconds_count:increase1m_offset30m"
NEW_GROUPS = "ttbt2:deployment_groups:new_offset30m"
HTTP_ERRORS_30M = "ttbt2:http_server_errors:increase30m"
HTTP_REQUESTS_30M = "ttbt2:http_requests:increase30m"
ERRORED_RELEASES_MINUTE = "ttbt2:releases_followed_by_errors:increase1m_offset30m"

DEPLOYMENTS_7D = "ttbt2:deployments:increase7d"
RELEASES_7D = "ttbt2:releases:increase7d"
RELEASES_PER_DAY_7D = "ttbt2:releases_per_day:increase7d"
SUCCESS_RATIO_7D = "ttbt2:deployment_success_ratio:ratio7d"
LEAD_TIME_MEAN_7D = "ttbt2:deployment_lead_time_seconds:mean7d"
ROLLBACK_MEAN_7D = "ttbt2:rollback_duration_seconds:mean7d"
HOTFIX_RATIO_7D = "ttbt2:hotfix_ratio:ratio7d"
ERRORED_RELEASES_7D = "ttbt2:releases_followed_by_errors:increase7d"
ERRORED_RATIO_7D = "ttbt2:releases_followed_by_errors:ratio7d"

_PROD_RELEASES = f'{DEPLOYMENTS_MINUTE}{{environment="production",outcome="success"}}'


def _minute_increase(counter: str, by: str) -> str:
    """PromQL: how much ``counter`` grew in the minute that ended 30 minutes ago, by ``by``.

    Exact (the two ends of the minute, no extrapolation), never negative, and a series that
    appeared during the minute counts only if its group is new (:data:`NEW_GROUPS`).
    """
    return (
        f"sum by ({by}) ("
        f"clamp_min({counter} offset 30m - {counter} offset 31m, 0)"
        f" or ({counter} offset 30m and on (environment, service) {NEW_GROUPS})"
        ")"
    )


def _sum_7d(series: str, by: str = "environment") -> str:
    return f"sum by ({by}) (sum_over_time({series}[{TREND_WINDOW}]))"


RELEASE_RULES: Final[tuple[RecordingRule, ...]] = (
    # A deployment group (environment, service) seen for the first time: its first push.
    # A first push writes 0 or 1 deployments; a larger total is a gateway Prometheus had not
    # seen before (a new Prometheus, an outage longer than the window), never new deployments.
    RecordingRule(
        NEW_GROUPS,
        "sum by (environment, service) (ttbt2_deployments_total offset 30m) <= 1"
        " unless on (environment, service) "
        f"max_over_time(ttbt2_deployments_total[{TREND_WINDOW}] offset 31m)",
    ),
    RecordingRule(
        DEPLOYMENTS_MINUTE,
        _minute_increase("ttbt2_deployments_total", "environment, service, outcome"),
    ),
    RecordingRule(
        HOTFIXES_MINUTE, _minute_increase("ttbt2_hotfixes_total", "environment, service")
    ),
    RecordingRule(
        LEAD_TIME_SUM_MINUTE,
        _minute_increase("ttbt2_deployment_lead_time_seconds_sum", "environment, service"),
    ),
    RecordingRule(
        LEAD_TIME_COUNT_MINUTE,
        _minute_increase("ttbt2_deployment_lead_time_seconds_count", "environment, service"),
    ),
    RecordingRule(
        ROLLBACK_SUM_MINUTE,
        _minute_increase("ttbt2_rollback_duration_seconds_sum", "environment, service"),
    ),
    RecordingRule(
        ROLLBACK_COUNT_MINUTE,
        _minute_increase("ttbt2_rollback_duration_seconds_count", "environment, service"),
    ),
    # The 30 minutes since the minute above ended: the releases of that minute are judged on them.
    RecordingRule(
        HTTP_ERRORS_30M,
        "sum by (service) "
        f'(increase(http_server_requests_seconds_count{{status=~"5.."}}[{RELEASE_WINDOW}]))',
    ),
    RecordingRule(
        HTTP_REQUESTS_30M,
        f"sum by (service) (increase(http_server_requests_seconds_count[{RELEASE_WINDOW}]))",
    ),
    # Releases of that minute times 1 if the service then missed the threshold, else 0; 0 too
    # when the service served nothing (no HTTP series), so every release is in the series.
    RecordingRule(
        ERRORED_RELEASES_MINUTE,
        f"sum by (environment, service) ({_PROD_RELEASES}) * on (service) group_left () ("
        f"({HTTP_ERRORS_30M} > bool {RELEASE_ERROR_RATIO} * {HTTP_REQUESTS_30M})"
        f" * ({HTTP_ERRORS_30M} >= bool {RELEASE_MIN_ERRORS})"
        f") or 0 * sum by (environment, service) ({_PROD_RELEASES})",
    ),
)
"""Evaluated every minute, exactly: the per-minute counts tile time only at that interval."""

TREND_RULES: Final[tuple[RecordingRule, ...]] = (
    RecordingRule(DEPLOYMENTS_7D, _sum_7d(DEPLOYMENTS_MINUTE)),
    RecordingRule(RELEASES_7D, _sum_7d(f'{DEPLOYMENTS_MINUTE}{{outcome="success"}}')),
    RecordingRule(RELEASES_PER_DAY_7D, f"{RELEASES_7D} / {TREND_DAYS}"),
    RecordingRule(SUCCESS_RATIO_7D, f"{RELEASES_7D} / {DEPLOYMENTS_7D}"),
    RecordingRule(
        LEAD_TIME_MEAN_7D, f"{_sum_7d(LEAD_TIME_SUM_MINUTE)} / {_sum_7d(LEAD_TIME_COUNT_MINUTE)}"
    ),
    RecordingRule(
        ROLLBACK_MEAN_7D, f"{_sum_7d(ROLLBACK_SUM_MINUTE)} / {_sum_7d(ROLLBACK_COUNT_MINUTE)}"
    ),
    RecordingRule(HOTFIX_RATIO_7D, f"{_sum_7d(HOTFIXES_MINUTE)} / {DEPLOYMENTS_7D}"),
    RecordingRule(ERRORED_RELEASES_7D, _sum_7d(ERRORED_RELEASES_MINUTE)),
    RecordingRule(ERRORED_RATIO_7D, f"{ERRORED_RELEASES_7D} / {RELEASES_7D}"),
)
"""The seed 4.10 indicators over a rolling week, by environment (alerts read production).

A week holds the weekday/weekend cycle (a one-day window would miss the frequency target every
Sunday) and, at the 5-10 releases a day of the target, 35-70 deployments: enough for a mean to
settle, and short enough that a problem fixed stops alerting within a week. It is well inside
the production retention (30 days)."""

_PROD = '{environment="production"}'
# Below MIN_DEPLOYMENTS a single event moves a ratio by 5 points: too few to judge a target on
# (the frequency alert already says the week was thin).
_ENOUGH_DEPLOYMENTS = f"and on (environment) {DEPLOYMENTS_7D} >= {MIN_DEPLOYMENTS}"
_ENOUGH_RELEASES = f"and on (environment) {RELEASES_7D} >= {MIN_DEPLOYMENTS}"

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
        # CloudWatch also publishes the ACL's total as rule="ALL": left out, so one surge
        # fires once, for the rule that blocks it.
        expr='sum by (web_acl, rule) (aws_wafv2_blocked_requests_sum{rule!="ALL"}) > 500',
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
    # Delivery (seed 4.10) ----------------------------------------------------------------------
    # Weekly trends are warnings of medium priority or info: e-mail and Slack in working hours,
    # never a page at night.
    Alert(
        name="DeploymentSuccessRateLow",
        category="delivery",
        metric="deployment success rate",
        expr=f"{SUCCESS_RATIO_7D}{_PROD} < 0.99 {_ENOUGH_DEPLOYMENTS}",
        for_="1h",
        severity="warning",
        priority="medium",
        summary="Fewer than 99% of production deployments succeeded this week",
        description=(
            "Only {{ $value | humanizePercentage }} of the production deployments of the last "
            "7 days succeeded (seed 4.10.1 target > 99%)."
        ),
        team="sre",
    ),
    Alert(
        name="RollbackTimeHigh",
        category="delivery",
        metric="rollback time",
        # No volume guard: rollbacks are rare, and one that took longer than the rollout plan's
        # computed bound (components/delivery/rollback.py) is already worth a look.
        expr=f"{ROLLBACK_MEAN_7D}{_PROD} > 600",
        for_="1h",
        severity="warning",
        priority="medium",
        summary="Production rollbacks took more than 10 minutes on average this week",
        description=(
            "Production rollbacks of the last 7 days took {{ $value | humanizeDuration }} on "
            "average (seed 4.10.1 target < 10 min)."
        ),
        team="sre",
    ),
    Alert(
        name="DeploymentLeadTimeHigh",
        category="delivery",
        metric="deployment lead time",
        expr=f"{LEAD_TIME_MEAN_7D}{_PROD} > 7200 {_ENOUGH_DEPLOYMENTS}",
        for_="1h",
        severity="info",
        priority="low",
        summary="Commits took more than 2 hours on average to reach production this week",
        description=(
            "Mean lead time commit to production over the last 7 days: "
            "{{ $value | humanizeDuration }} (seed 4.10.1 target < 2h)."
        ),
        team="product",
    ),
    Alert(
        name="DeploymentFrequencyLow",
        category="delivery",
        metric="deployment frequency",
        expr=f"{RELEASES_PER_DAY_7D}{_PROD} < 5",
        for_="1h",
        severity="info",
        priority="low",
        summary="Fewer than 5 production releases a day this week",
        description=(
            "{{ $value | humanize }} successful production deployments a day over the last "
            "7 days (seed 4.10.1 target 5-10 a day)."
        ),
        team="product",
    ),
    Alert(
        name="HotfixRatioHigh",
        category="delivery",
        metric="hotfixes",
        expr=f"{HOTFIX_RATIO_7D}{_PROD} > 0.01 {_ENOUGH_DEPLOYMENTS}",
        for_="1h",
        severity="warning",
        priority="medium",
        summary="More than 1% of production deployments were hotfixes this week",
        description=(
            "{{ $value | humanizePercentage }} of the production deployments of the last 7 days "
            "were hotfixes (seed 4.10.2 target < 1%)."
        ),
        team="backend",
    ),
    Alert(
        name="ReleasesFollowedByErrorsHigh",
        category="delivery",
        metric="post-deployment errors",
        expr=f"{ERRORED_RATIO_7D}{_PROD} > 0.001 {_ENOUGH_RELEASES}",
        for_="1h",
        severity="warning",
        priority="medium",
        summary="More than 0.1% of this week's releases were followed by errors",
        description=(
            "{{ $value | humanizePercentage }} of the production releases of the last 7 days "
            "were followed by errors (seed 4.10.2 target < 0.1%)."
        ),
        team="backend",
    ),
    Alert(
        name="ReleaseFollowedByErrors",
        category="delivery",
        metric="post-deployment errors",
        # One per release, as soon as its 30 minutes are over; it stays for 30 minutes so the
        # notification is sent before it resolves.
        expr=f"sum_over_time({ERRORED_RELEASES_MINUTE}[{RELEASE_WINDOW}]) > 0",
        for_="0m",
        severity="warning",
        priority="high",
        summary="A production release was followed by errors",
        description=(
            "{{ $labels.service }} answered more than 1% of its requests with a 5xx in the 30 "
            "minutes after a production release ({{ $value }} release(s) so judged)."
        ),
        team="backend",
    ),
    Alert(
        name="ReleaseValidationSlow",
        category="delivery",
        metric="release validation time",
        # The gauge holds the last release's validation; a change is a new release's (the
        # pipeline pushes it with the production deployment), so each slow one alerts once.
        expr=(
            "max by (environment, service) "
            f"(ttbt2_release_validation_seconds{_PROD}) > 1800"
            " and on (environment, service) sum by (environment, service) "
            f"(changes(ttbt2_release_validation_seconds{_PROD}[{RELEASE_WINDOW}])) > 0"
        ),
        for_="0m",
        severity="info",
        priority="low",
        summary="A release took more than 30 minutes to validate",
        description=(
            "The last production release of {{ $labels.service }} took "
            "{{ $value | humanizeDuration }} from staging to production approval "
            "(seed 4.10.2 target < 30 min)."
        ),
        team="product",
    ),
    # The drill pushes its last success only when it restored everything within the
    # objectives (scripts/recovery_drill.py); the Pushgateway keeps it across restarts.
    Alert(
        name="RecoveryDrillOverdue",
        category="recovery",
        metric="recovery drills",
        expr=(
            "time() - max(ttbt2_drill_last_success_timestamp_seconds) "
            f"> {DRILL_OVERDUE_DAYS} * 86400"
        ),
        for_="1h",
        severity="warning",
        priority="medium",
        summary=f"No successful recovery drill for more than {DRILL_OVERDUE_DAYS} days",
        description=(
            "The last recovery drill that restored everything within the objectives ended "
            "{{ $value | humanizeDuration }} ago (seed 4.7: a drill every quarter)."
        ),
        team="sre",
    ),
    # Third-party credentials (Slack, SMTP, SMS) cannot be rotated by the stack: their expiry
    # dates come from Vault's metadata (components/monitoring/credential_expiry.py).
    Alert(
        name="CredentialExpiringSoon",
        category="health",
        metric="status of dependent services",
        expr=(
            f"min by (consumer) ({CREDENTIAL_EXPIRY}) - time() < {CREDENTIAL_WARNING_DAYS} * 86400"
        ),
        for_="10m",
        severity="warning",
        priority="medium",
        summary=f"A third-party credential expires within {CREDENTIAL_WARNING_DAYS} days",
        description=(
            "The credential of {{ $labels.consumer }} (Vault KV) expires in "
            "{{ $value | humanizeDuration }}; once expired, alerts stop reaching that channel."
        ),
        team="sre",
    ),
)

_GROUP_INTERVAL: Final[dict[str, str]] = {
    # CloudWatch-sourced metrics change every minute at best; evaluating faster only costs.
    "security": "1m",
}


def alerts_by_name() -> dict[str, Alert]:
    """The catalog keyed by alert name."""
    return {alert.name: alert for alert in ALERTS}


def recording_groups() -> list[dict[str, Any]]:
    """The recording-rule groups: the platform's, the per-minute releases, the weekly trends."""
    return [
        {"name": "ttbt2.recording", "rules": [rule.to_rule() for rule in RECORDING_RULES]},
        # Exactly one minute: each evaluation counts the minute that ended 30 minutes ago.
        {
            "name": "ttbt2.delivery.releases",
            "interval": "1m",
            "rules": [rule.to_rule() for rule in RELEASE_RULES],
        },
        # Week-long sums move slowly; five minutes is fresh enough and five times cheaper.
        {
            "name": "ttbt2.delivery.trends",
            "interval": "5m",
            "rules": [rule.to_rule() for rule in TREND_RULES],
        },
    ]


def rule_groups() -> list[dict[str, Any]]:
    """Prometheus rule-file groups: recording rules first, then one group per category."""
    groups = recording_groups()
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
