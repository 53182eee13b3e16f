"""Blackbox probes of the services: inside the cluster and through the public edge.

The alerts ``DependencyDown`` and ``ServiceEndpointDown`` and the Executive dashboard's uptime
panel read ``probe_success`` (see the metric contract of :mod:`components.monitoring.alerts`).
This component produces it:

- Namespace :data:`NAMESPACE` enforcing the ``restricted`` Pod Security profile, and the
  vendored ``prometheus-blackbox-exporter`` chart in it: hardened pods (fixed high UID,
  read-only root, no capabilities, RuntimeDefault seccomp, no service-account token), two
  replicas spread over zones with a PodDisruptionBudget outside dev, and a ServiceMonitor of
  the exporter itself.
- Two exporter modules: :data:`IN_CLUSTER_MODULE` (plain HTTP 2xx, for the services' Services)
  and :data:`PUBLIC_MODULE` (HTTPS only, a certificate that verifies, 2xx after redirects), whose
  probes also report the certificate's expiry (``probe_ssl_earliest_cert_expiry``).
- Probe ``blackbox-dependencies`` (job :data:`DEPENDENCIES_JOB`): each delivered service's health
  path on its in-cluster Service, ``http://<svc>.<svc>.svc:<port><healthPath>``.
- Probe ``blackbox-uptime`` (job :data:`UPTIME_JOB`): each service's health path through the
  public host (the CDN), ``https://<host><healthPath>``: what a user reaches, CDN, WAF, load
  balancer and pods included.
- NetworkPolicies: Prometheus (monitoring namespace) reaches the exporter's port; the exporter
  reaches DNS, each service's pods on the service port and HTTPS anywhere except the node's
  instance metadata, nothing else. Each service's namespace admits the exporter with its own
  policy (:func:`components.k8s.service_delivery.network_policies`, :data:`EXPORTER_LABELS`).

Probes carry no selector labels: the Prometheus of kube-prometheus-stack selects every Probe of
every namespace (``probeSelectorNilUsesHelmValues: false`` in :mod:`components.k8s.metrics`).
The Kubernetes provider comes from ``opts``; what ``opts`` waits for (the observability stack,
which installs the Probe and ServiceMonitor CRDs) holds back every child.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.delivery.spec import ServiceSpec
from components.dependencies import inherited_depends_on
from components.k8s.charts import chart_dir
from components.k8s.network_rules import (
    dns_egress,
    https_egress,
    ingress_from_namespace,
    namespace_selector,
    network_policy,
)
from components.k8s.observability_common import MONITORING_NAMESPACE
from components.k8s.pod_security import container_security_context, pod_security_context
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs

CHART = "prometheus-blackbox-exporter"
CHART_DIR = chart_dir(CHART)
CHART_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
NAMESPACE = "blackbox-exporter"
PORT = 9115
"""The exporter's port (the chart's ``service.port`` and ``containerPort``)."""
SERVICE = CHART
"""The chart's Service: its full name, which is the release name (the chart's name)."""
EXPORTER_LABELS = {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": CHART}
"""The chart's selector labels on the exporter's pods (release named after the chart)."""
PROBE_API = "monitoring.coreos.com/v1"

UPTIME_JOB = "blackbox-uptime"
"""``job`` of the public probes: ``ServiceEndpointDown`` and the uptime panel read it."""
DEPENDENCIES_JOB = "blackbox-dependencies"
"""``job`` of the in-cluster probes: ``DependencyDown`` reads it."""
IN_CLUSTER_MODULE = "http_2xx"
PUBLIC_MODULE = "https_2xx"
PROBE_INTERVAL = "30s"
"""Six probes in the 3 minutes over which ``ServiceEndpointDown`` asks for every one failing."""
PROBE_TIMEOUT = "10s"
MODULE_TIMEOUT = "8s"
"""Below the scrape timeout, so a slow target reports failure instead of a failed scrape."""

VALUES_FREE_FORM = frozenset({"securityContext", "config.modules"})
"""Chart values passed through whole: the container security context (typed by Kubernetes) and
the exporter's module configuration (typed by the blackbox exporter, not values.yaml)."""

_HOST = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def modules() -> dict[str, Any]:
    """The exporter's modules: in-cluster HTTP and public HTTPS, both answering 2xx."""
    http: dict[str, Any] = {
        "valid_http_versions": ["HTTP/1.1", "HTTP/2.0"],
        # No valid_status_codes: the exporter then accepts 2xx only.
        "preferred_ip_protocol": "ip4",
    }
    return {
        IN_CLUSTER_MODULE: {
            "prober": "http",
            "timeout": MODULE_TIMEOUT,
            # A health path that redirects is misconfigured, not healthy.
            "http": {**http, "follow_redirects": False},
        },
        PUBLIC_MODULE: {
            "prober": "http",
            "timeout": MODULE_TIMEOUT,
            "http": {
                **http,
                "follow_redirects": True,
                # Plain HTTP (a lost redirect to HTTPS) or a certificate that does not verify
                # is an outage for users, so it fails the probe.
                "fail_if_not_ssl": True,
                "tls_config": {"insecure_skip_verify": False, "min_version": "TLS12"},
            },
        },
    }


def helm_values(environment: str) -> dict[str, Any]:
    """The chart values: hardened pods, our modules, the exporter's own ServiceMonitor.

    The chart's NetworkPolicy stays off: it selects the monitoring namespace by a ``name``
    label namespaces do not carry; the component writes its own policies.
    """
    high_availability = environment != "dev"
    values: dict[str, Any] = {
        "replicas": 2 if high_availability else 1,
        "podDisruptionBudget": {"maxUnavailable": 1} if high_availability else {},
        "automountServiceAccountToken": False,
        "podSecurityContext": pod_security_context(),
        "securityContext": container_security_context(),
        "resources": {
            "requests": {"cpu": "25m", "memory": "32Mi"},
            "limits": {"cpu": "250m", "memory": "128Mi"},
        },
        "config": {"modules": modules()},
        "pod": {"labels": {"environment": environment}},
        "serviceMonitor": {
            "selfMonitor": {"enabled": True, "labels": {"environment": environment}},
            # Probes are our own Probe objects, not one ServiceMonitor per chart target.
            "enabled": False,
        },
        "networkPolicy": {"enabled": False},
    }
    if high_availability:
        values["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": dict(EXPORTER_LABELS)},
            }
        ]
    return values


def dependency_targets(services: Sequence[ServiceSpec]) -> list[str]:
    """Each service's health path on its in-cluster Service (namespace and Service = name)."""
    return [f"http://{s.name}.{s.name}.svc:{s.port}{s.health_path}" for s in services]


def uptime_targets(public_host: str, services: Sequence[ServiceSpec]) -> list[str]:
    """Each service's health path through the public host (HTTPS)."""
    return [f"https://{public_host}{s.health_path}" for s in services]


def probe_spec(
    job: str, module: str, targets: pulumi.Input[list[str]], labels: dict[str, str]
) -> dict[str, Any]:
    """Spec of a Probe of job ``job`` sending ``targets`` through module ``module``."""
    return {
        "jobName": job,
        "prober": {"url": f"{SERVICE}.{NAMESPACE}.svc:{PORT}", "scheme": "http", "path": "/probe"},
        "module": module,
        "interval": PROBE_INTERVAL,
        "scrapeTimeout": PROBE_TIMEOUT,
        "targets": {"staticConfig": {"static": targets, "labels": labels}},
    }


def network_policy_specs(
    services: Sequence[ServiceSpec], monitoring_namespace: str
) -> dict[str, dict[str, Any]]:
    """Specs of the exporter's policies, by policy name: who reaches it, what it reaches."""
    pods = {"matchLabels": dict(EXPORTER_LABELS)}
    return {
        f"{SERVICE}-ingress": {
            "podSelector": pods,
            "policyTypes": ["Ingress"],
            "ingress": [ingress_from_namespace(monitoring_namespace, PORT)],
        },
        f"{SERVICE}-egress": {
            "podSelector": pods,
            "policyTypes": ["Egress"],
            "egress": [
                dns_egress(),
                *(
                    {
                        "to": [
                            {
                                "namespaceSelector": namespace_selector(s.name),
                                "podSelector": {"matchLabels": {"app.kubernetes.io/name": s.name}},
                            }
                        ],
                        "ports": [{"protocol": "TCP", "port": s.port}],
                    }
                    for s in services
                ),
                https_egress(),  # the public edge
            ],
        },
    }


@dataclass(frozen=True)
class BlackboxExporterArgs:
    """Arguments of :class:`BlackboxExporter`.

    ``services`` are the delivered services (probed in the cluster and through
    ``public_host``, the host name users reach: the CDN's custom domain or its own name, which
    may be known only after deployment).
    """

    environment: str
    services: Sequence[ServiceSpec]
    public_host: pulumi.Input[str]
    monitoring_namespace: str = MONITORING_NAMESPACE
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse names Kubernetes would reject and a public host that is not a host name."""
        for what in ("environment", "monitoring_namespace"):
            value = getattr(self, what)
            if not _DNS_LABEL.match(value):
                raise ValueError(f"{what} must be a DNS label, got {value!r}")
        if isinstance(self.public_host, str) and not _HOST.match(self.public_host):
            raise ValueError(
                f"public_host must be a bare DNS host name (no scheme, port or path), "
                f"got {self.public_host!r}"
            )


class BlackboxExporter(pulumi.ComponentResource):
    """The blackbox exporter, its Probes and NetworkPolicies (see the module docstring).

    Children: ``<name>-exporter`` (:class:`NamespacedRelease`), ``<name>-probe-uptime`` and
    ``<name>-probe-dependencies`` (when there are services to probe) and
    ``<name>-netpol-<policy>``. ``probes`` maps each Probe's job to its resource.
    """

    probes: dict[str, k8s.apiextensions.CustomResource]

    def __init__(
        self, name: str, args: BlackboxExporterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:BlackboxExporter", name, None, opts)
        waits = inherited_depends_on(opts)
        labels = {"environment": args.environment, **args.labels}
        self.namespace_name = NAMESPACE
        self.exporter = NamespacedRelease(
            f"{name}-exporter",
            NamespacedReleaseArgs(
                namespace=NAMESPACE,
                labels=labels,
                chart=CHART,
                chart_directory=CHART_DIR,
                repository=CHART_REPOSITORY,
                values=helm_values(args.environment),
                # The chart's ServiceMonitor needs the prometheus-operator CRDs.
                release_depends_on=waits,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        after_namespace = pulumi.ResourceOptions(
            parent=self, depends_on=[*waits, self.exporter.namespace]
        )
        services = list(args.services)
        planned: dict[str, tuple[str, str, pulumi.Input[list[str]]]] = {
            "dependencies": (DEPENDENCIES_JOB, IN_CLUSTER_MODULE, dependency_targets(services)),
            "uptime": (
                UPTIME_JOB,
                PUBLIC_MODULE,
                # The CDN's own name is known only once it exists.
                pulumi.Output.from_input(args.public_host).apply(
                    lambda host: uptime_targets(host, services)
                ),
            ),
        }
        self.probes = {}
        # Without services there is nothing to probe (an empty Probe is an empty scrape job).
        for role, (job, module, targets) in planned.items() if services else ():
            self.probes[job] = k8s.apiextensions.CustomResource(
                f"{name}-probe-{role}",
                api_version=PROBE_API,
                kind="Probe",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=job, namespace=NAMESPACE, labels=labels),
                spec=probe_spec(job, module, targets, {"environment": args.environment}),
                opts=after_namespace,
            )
        for policy, spec in network_policy_specs(args.services, args.monitoring_namespace).items():
            network_policy(
                f"{name}-netpol-{policy.removeprefix(SERVICE + '-')}",
                name=policy,
                namespace=NAMESPACE,
                labels=labels,
                spec=spec,
                opts=after_namespace,
            )
        self.register_outputs({"namespace": NAMESPACE, "probes": sorted(self.probes)})
