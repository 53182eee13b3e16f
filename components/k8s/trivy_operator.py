"""trivy-operator: vulnerability reports and ``trivy_image_vulnerabilities`` for every image.

The ``CriticalVulnerabilityDetected`` alert and the Security dashboard read
``trivy_image_vulnerabilities`` (see the metric contract of :mod:`components.monitoring.alerts`);
the operator publishes it from the VulnerabilityReports its scan jobs write. This component:

- Namespace :data:`NAMESPACE` and the vendored chart in it, CRDs included (Helm installs the
  chart's ``crds/``). The operator and its scan jobs run there (``scanJobsInSameNamespace``
  stays false, so no scanner pod lands in an application namespace).
- **Pod Security ``restricted``, enforced.** The operator pod and the scan jobs' pods get the
  platform's restricted contexts (fixed high UID, RuntimeDefault seccomp, no capabilities,
  read-only root). Scan jobs in ``image`` mode pull the scanned image over the registry API
  and need no root (``filesystem``/``rootfs`` modes would, and are not used) and mount only
  emptyDir and Secret volumes. The one job kind that could not run restricted is the
  node-collector (hostPath mounts and host PID for the CIS node checks): the operator starts
  it only for infra assessment, which is off, and so is cluster compliance, whose CIS/NSA
  specs read the node-collector's results. EKS runs the control plane, and the nodes come from
  the hardened node group and Karpenter classes.
- Scanning sized for production: :func:`scan_concurrency` scan jobs at a time, each bounded in
  CPU and memory, a 10-minute timeout, reports refreshed daily (new CVEs appear without a
  new image); SBOM reports off (large objects in etcd that nothing reads).
- Its ServiceMonitor (the chart's), scraped by the monitoring namespace's Prometheus.
- NetworkPolicies: Prometheus reaches the operator's metrics port; the namespace's pods reach
  DNS and HTTPS (the API server, the vulnerability database registry, the scanned images'
  registries and STS for IRSA), never the node's instance metadata.
- ECR: services run private ECR images, which the scan jobs (they use the operator's service
  account) pull with the IRSA role ``ecr_role_arn`` when given: read-only on those
  repositories (:mod:`components.aws.ecr_pull`).

The Kubernetes provider comes from ``opts``; what ``opts`` waits for (the observability stack,
whose CRDs the chart's ServiceMonitor needs) holds back every child.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.dependencies import inherited_depends_on
from components.k8s.charts import chart_dir
from components.k8s.network_rules import (
    dns_egress,
    https_egress,
    ingress_from_namespace,
    network_policy,
)
from components.k8s.observability_common import MONITORING_NAMESPACE
from components.k8s.pod_security import container_security_context, pod_security_context
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs

CHART = "trivy-operator"
CHART_DIR = chart_dir(CHART)
CRD_DIR = CHART_DIR / "crds"
CHART_REPOSITORY = "https://aquasecurity.github.io/helm-charts/"
NAMESPACE = "trivy-system"
SERVICE_ACCOUNT = CHART
"""The operator's service account, which its scan jobs use too (the IRSA role trusts it)."""
OPERATOR_LABELS = {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": CHART}
"""The chart's selector labels on the operator's pod (release named after the chart)."""
METRICS_PORT = 8080
"""The operator's metrics port (``OPERATOR_METRICS_BIND_ADDRESS``), behind the Service's 80."""
SCAN_JOB_TIMEOUT = "10m"
REPORT_TTL = "24h"

VALUES_FREE_FORM = frozenset(
    {
        "securityContext",
        "trivyOperator.scanJobPodTemplateContainerSecurityContext",
    }
)
"""Chart values passed through whole: security contexts, typed by Kubernetes, not values.yaml."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def scan_concurrency(environment: str) -> int:
    """Scan jobs at a time: enough to catch up after a release, few enough to stay small."""
    return 3 if environment == "prod" else 2


def helm_values(environment: str, ecr_role_arn: pulumi.Input[str] | None = None) -> dict[str, Any]:
    """The chart values (see the module docstring for the reasons)."""
    service_account: dict[str, Any] = {"create": True, "name": SERVICE_ACCOUNT}
    if ecr_role_arn is not None:
        service_account["annotations"] = {"eks.amazonaws.com/role-arn": ecr_role_arn}
    return {
        "operator": {
            "replicas": 1,
            "scanJobsConcurrentLimit": scan_concurrency(environment),
            "scanJobTimeout": SCAN_JOB_TIMEOUT,
            "scannerReportTTL": REPORT_TTL,
            "vulnerabilityScannerEnabled": True,
            "vulnerabilityScannerScanOnlyCurrentRevisions": True,
            "configAuditScannerEnabled": True,
            "rbacAssessmentScannerEnabled": True,
            "exposedSecretScannerEnabled": True,
            "infraAssessmentScannerEnabled": False,
            "clusterComplianceEnabled": False,
            "sbomGenerationEnabled": False,
            "builtInTrivyServer": False,
            # trivy_image_vulnerabilities; per-CVE series would multiply its cardinality.
            "metricsFindingsEnabled": True,
            "metricsVulnIdEnabled": False,
        },
        "trivyOperator": {
            "scanJobsInSameNamespace": False,
            "scanJobAutomountServiceAccountToken": False,
            "scanJobPodTemplatePodSecurityContext": pod_security_context(),
            "scanJobPodTemplateContainerSecurityContext": container_security_context(),
        },
        "trivy": {
            "mode": "Standalone",
            "command": "image",
            "timeout": "10m0s",
            "resources": {
                "requests": {"cpu": "100m", "memory": "256M"},
                "limits": {"cpu": "1", "memory": "1G"},
            },
        },
        "serviceAccount": service_account,
        "automountServiceAccountToken": True,  # the operator watches the API
        "podSecurityContext": pod_security_context(),
        "securityContext": container_security_context(),
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "serviceMonitor": {
            "enabled": True,
            "interval": "60s",
            "honorLabels": True,
            "labels": {"environment": environment},
        },
    }


def network_policy_specs(monitoring_namespace: str) -> dict[str, dict[str, Any]]:
    """Specs of the namespace's policies, by policy name."""
    return {
        f"{CHART}-metrics-ingress": {
            "podSelector": {"matchLabels": dict(OPERATOR_LABELS)},
            "policyTypes": ["Ingress"],
            "ingress": [ingress_from_namespace(monitoring_namespace, METRICS_PORT)],
        },
        f"{CHART}-egress": {
            # The operator and every scan job: the API server, the registries (vulnerability
            # database and images) and STS, all over HTTPS.
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [dns_egress(), https_egress()],
        },
    }


@dataclass(frozen=True)
class TrivyOperatorArgs:
    """Arguments of :class:`TrivyOperator`.

    ``ecr_role_arn`` is the IRSA role that lets the scan jobs pull the services' private ECR
    images (trusting ``system:serviceaccount:trivy-system:trivy-operator``), or None when no
    scanned image is in ECR.
    """

    environment: str
    ecr_role_arn: pulumi.Input[str] | None = None
    monitoring_namespace: str = MONITORING_NAMESPACE
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse names Kubernetes would reject."""
        for what in ("environment", "monitoring_namespace"):
            value = getattr(self, what)
            if not _DNS_LABEL.match(value):
                raise ValueError(f"{what} must be a DNS label, got {value!r}")


class TrivyOperator(pulumi.ComponentResource):
    """trivy-operator in :data:`NAMESPACE`, and its NetworkPolicies.

    Children: ``<name>-operator`` (:class:`NamespacedRelease`) and ``<name>-netpol-<policy>``.
    """

    def __init__(
        self, name: str, args: TrivyOperatorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:TrivyOperator", name, None, opts)
        waits = inherited_depends_on(opts)
        labels = {"environment": args.environment, **args.labels}
        self.namespace_name = NAMESPACE
        self.operator = NamespacedRelease(
            f"{name}-operator",
            NamespacedReleaseArgs(
                namespace=NAMESPACE,
                labels=labels,
                # The operator and its image-mode scan jobs meet restricted (module docstring);
                # the node-collector, which would not, never runs.
                enforce="restricted",
                audit="restricted",
                chart=CHART,
                chart_directory=CHART_DIR,
                repository=CHART_REPOSITORY,
                values=helm_values(args.environment, args.ecr_role_arn),
                release_depends_on=waits,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        after_namespace = pulumi.ResourceOptions(
            parent=self, depends_on=[*waits, self.operator.namespace]
        )
        for policy, spec in network_policy_specs(args.monitoring_namespace).items():
            network_policy(
                f"{name}-netpol-{policy.removeprefix(CHART + '-')}",
                name=policy,
                namespace=NAMESPACE,
                labels=labels,
                spec=spec,
                opts=after_namespace,
            )
        self.register_outputs({"namespace": NAMESPACE, "chart": CHART})
