"""One TTBT2 service, delivered by an Argo Rollouts canary behind the environment's ALB.

Per service ``<name>`` (a :class:`components.delivery.spec.ServiceSpec`), in namespace
``<name>``:

- Namespace enforcing the ``restricted`` Pod Security profile, with ALB pod readiness gates
  injected (a pod takes traffic only once its ALB target is healthy);
- ServiceAccount ``<name>`` carrying the caller's IRSA role;
- Services ``<name>`` (every pod: the ALB action name and the scrape target),
  ``<name>-stable`` and ``<name>-canary`` (Argo Rollouts pins each to one ReplicaSet);
- Ingress ``<name>`` on the ``alb`` class: IP targets, HTTPS only with the given certificate
  and a TLS 1.2+ policy, the service's public paths and health path;
- AnalysisTemplate ``<name>-slo``: canary success rate and p95 latency against the SLO;
- Rollout ``<name>``: the configured canary steps, ALB weights, background analysis from
  ``startingStep``; an abort sends all traffic back to the stable ReplicaSet, which is never
  scaled down during a canary;
- HorizontalPodAutoscaler and VerticalPodAutoscaler targeting the Rollout,
  PodDisruptionBudget, default-deny NetworkPolicy plus the allows (the blackbox exporter's
  probes included, when ``prober_namespace`` is given), ServiceMonitor.

The worst-case rollback time of this configuration is computed by
:mod:`components.delivery.rollback`; its constants are used here, so the two cannot drift.

Every object is built as a plain dict by :func:`build_manifests` (pure, so the offline report
can print it) and registered from it. The Kubernetes provider comes from ``opts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.aws.access import APPLICATION_LABEL
from components.delivery.rollback import (
    ABORT_SCALE_DOWN_DELAY_SECONDS,
    DEREGISTRATION_DELAY_SECONDS,
    QUERY_TIMEOUT_SECONDS,
    SCRAPE_INTERVAL_SECONDS,
)
from components.delivery.spec import ServiceSpec
from components.k8s.alb import AlbGroup, group_annotations
from components.k8s.blackbox import EXPORTER_LABELS as PROBER_LABELS
from components.k8s.metrics import PROMETHEUS_CHART
from components.k8s.network_rules import dns_egress, https_egress, namespace_selector
from components.k8s.pod_security import (
    container_security_context,
    http_probe,
    pod_security_context,
    restricted_pod_fields,
)

ROLLOUTS_API = "argoproj.io/v1alpha1"
VPA_API = "autoscaling.k8s.io/v1"
MONITORING_API = "monitoring.coreos.com/v1"
RATE_WINDOW = "1m"
"""Window of the analysis queries: four scrapes, short enough that a bad canary shows at once."""
DATABASE_PORTS = (5432, 6379)
"""PostgreSQL (RDS) and Valkey/Redis (ElastiCache), both inside the VPC."""
CANARY_HASH_ARG = "canary-hash"
ROLE_LABEL = "ttbt2.io/service-role"
"""Label telling the root, stable and canary Services apart (only root is scraped)."""
TERMINATION_GRACE_SECONDS = 45
PRE_STOP_SLEEP_SECONDS = 15
"""A stopping pod keeps serving while the ALB deregisters it and kube-proxy forgets it."""
SECRET_MOUNT_ROOT = "/var/run/secrets/ttbt2"
"""Each Secret a service reads is a read-only directory ``<root>/<secret>``, one file a key."""


def prometheus_url(monitoring_namespace: str = "monitoring") -> str:
    """In-cluster URL of the Prometheus that kube-prometheus-stack installs.

    The release is named after the chart, so the chart's Service is ``<chart>-prometheus``
    on port 9090.
    """
    return f"http://{PROMETHEUS_CHART}-prometheus.{monitoring_namespace}.svc:9090"


@dataclass(frozen=True)
class ServiceDeliveryArgs:
    """Arguments of :class:`ServiceDelivery`.

    ``role_arn`` is the service's IRSA role (created by the caller, trusting
    ``system:serviceaccount:<name>:<name>``); ``certificate_arn`` the ACM certificate of the
    ALB listener; ``prometheus_url`` the in-cluster Prometheus the analysis queries;
    ``alb_group`` the ALB every service of the environment shares (default ``ttbt2-<env>``);
    ``alb`` describes it (public behind CloudFront, its access logs; see
    :mod:`components.k8s.alb`). Without ``alb`` the Ingress is on an *internal* ALB of that
    group, reachable from the VPC only: a service is never published without a restriction.
    ``crd_dependencies`` are the resources that install the Argo Rollouts, VPA and
    prometheus-operator CRDs (Helm releases), which the custom resources wait for.
    """

    service: ServiceSpec
    environment: str
    role_arn: pulumi.Input[str]
    certificate_arn: pulumi.Input[str]
    vpc_cidr: str
    prometheus_url: str
    monitoring_namespace: str = "monitoring"
    alb_group: str = ""
    database_ports: tuple[int, ...] = DATABASE_PORTS
    crd_dependencies: Sequence[pulumi.Resource] = field(default_factory=tuple)
    secrets: tuple[str, ...] = ()
    """Secrets of the service's namespace its pods read, mounted as files under
    :data:`SECRET_MOUNT_ROOT` (never as environment variables, which leak into crash dumps and
    child processes). A pod does not start until they exist: the Vault Secrets Operator
    creates them, and restarts the Rollout when they rotate."""
    prober_namespace: str = ""
    """Namespace of the blackbox exporter (:mod:`components.k8s.blackbox`), whose pods then
    reach the service's port (the in-cluster probes of its health path); empty: none."""
    alb: AlbGroup | None = None
    rollout_by_gitops: bool = False
    """Argo CD applies the Rollout from the configuration repository (where each release
    changes the image through a reviewed pull request); everything around it stays here. The
    Rollout's manifest is still built (``manifests``), for the repository's first commit."""

    def __post_init__(self) -> None:
        if self.alb is not None and self.alb_group and self.alb.name != self.alb_group:
            raise ValueError(f"alb_group {self.alb_group!r} differs from alb {self.alb.name!r}")

    @property
    def group(self) -> str:
        """The ALB group name."""
        if self.alb is not None:
            return self.alb.name
        return self.alb_group or f"ttbt2-{self.environment}"

    @property
    def load_balancer(self) -> AlbGroup:
        """The ALB of the service: ``alb``, or an internal one reachable from the VPC."""
        return self.alb or AlbGroup.internal(self.group, (self.vpc_cidr,))


def _meta(name: str, namespace: str, labels: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels, **extra}


def analysis_queries(service: ServiceSpec) -> dict[str, str]:
    """PromQL of the canary's success rate and p95 latency (seconds), by metric name.

    Only the canary's pods count: the ServiceMonitor copies the pod label
    ``rollouts-pod-template-hash`` to every series, and the Rollout passes the canary's hash as
    the ``canary-hash`` argument. Only 5xx answers count against the service, as in the
    platform's ``ttbt2:http_success_ratio:rate5m`` recording rule.
    """
    selector = (
        f'namespace="{service.name}", service="{service.name}", '
        f'rollouts_pod_template_hash="{{{{args.{CANARY_HASH_ARG}}}}}"'
    )
    count = "http_server_requests_seconds_count"
    return {
        "success-rate": (
            f'sum(rate({count}{{{selector}, status!~"5.."}}[{RATE_WINDOW}]))'
            f" / sum(rate({count}{{{selector}}}[{RATE_WINDOW}]))"
        ),
        "p95-latency": (
            "histogram_quantile(0.95, sum by (le) "
            f"(rate(http_server_requests_seconds_bucket{{{selector}}}[{RATE_WINDOW}])))"
        ),
    }


def success_conditions(service: ServiceSpec) -> dict[str, str]:
    """Argo Rollouts success conditions, by metric name.

    No requests in the window (an empty result, or NaN from 0/0) is not a failure: a canary
    without traffic shows no errors, and one that cannot serve never becomes available (its
    readiness probe and ALB readiness gate fail, and ``progressDeadlineAbort`` aborts it).
    There is deliberately no failureCondition: a measurement that misses the success
    condition is Failed, never Inconclusive (which would pause the rollout, not abort it).
    """
    no_data = "len(result) == 0 || isNaN(result[0])"
    seconds = service.slo.p95_latency_ms / 1000
    return {
        "success-rate": f"{no_data} || result[0] >= {service.slo.success_rate}",
        "p95-latency": f"{no_data} || result[0] <= {seconds}",
    }


def analysis_template_spec(service: ServiceSpec, prometheus_url: str) -> dict[str, Any]:
    """Spec of the AnalysisTemplate ``<name>-slo``."""
    analysis = service.canary.analysis
    queries, conditions = analysis_queries(service), success_conditions(service)
    return {
        "args": [{"name": CANARY_HASH_ARG}],
        "metrics": [
            {
                "name": metric,
                "interval": f"{analysis.interval_seconds}s",
                "initialDelay": f"{analysis.initial_delay_seconds}s",
                "failureLimit": analysis.failure_limit,
                # Fail closed: if Prometheus cannot answer, the canary aborts as fast as if
                # it had failed, instead of after the default five errors.
                "consecutiveErrorLimit": analysis.failure_limit,
                "successCondition": conditions[metric],
                "provider": {
                    "prometheus": {
                        "address": prometheus_url,
                        "query": queries[metric],
                        "timeout": QUERY_TIMEOUT_SECONDS,
                    }
                },
            }
            for metric in ("success-rate", "p95-latency")
        ],
    }


def pod_template(
    service: ServiceSpec, labels: dict[str, str], secrets: Sequence[str] = ()
) -> dict[str, Any]:
    """The Rollout's pod template: restricted, read-only, probed, spread over zones.

    Each of ``secrets`` is mounted read-only at ``<SECRET_MOUNT_ROOT>/<secret>``.
    """
    res = service.resources
    container: dict[str, Any] = {
        "name": service.name,
        "image": service.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": service.port, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": res.requests.cpu, "memory": res.requests.memory},
            "limits": {"cpu": res.limits.cpu, "memory": res.limits.memory},
        },
        "readinessProbe": http_probe(service.health_path, "http", period_seconds=5),
        # Liveness waits longer than readiness: a slow pod leaves the ALB first, and is only
        # restarted if it stays unhealthy.
        "livenessProbe": http_probe(service.health_path, "http", failure_threshold=6),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SLEEP_SECONDS}}},
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            *(
                {"name": secret, "mountPath": f"{SECRET_MOUNT_ROOT}/{secret}", "readOnly": True}
                for secret in secrets
            ),
        ],
    }
    return {
        "metadata": {"labels": labels},
        "spec": {
            **restricted_pod_fields(),
            "serviceAccountName": service.name,
            "securityContext": pod_security_context(),
            "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
            "containers": [container],
            # The root filesystem is read-only: scratch space is an emptyDir.
            "volumes": [
                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                # Read-only files, readable through the pod's fsGroup and by no other user.
                *(
                    {"name": secret, "secret": {"secretName": secret, "defaultMode": 0o440}}
                    for secret in secrets
                ),
            ],
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    # ScheduleAnyway: dev runs its nodes in one zone.
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": service.name}},
                }
            ],
        },
    }


def rollout_spec(
    service: ServiceSpec, labels: dict[str, str], secrets: Sequence[str] = ()
) -> dict[str, Any]:
    """Spec of the Rollout ``<name>``, whose pods mount ``secrets`` (see :func:`pod_template`).

    No ``replicas``: the HPA owns the count, and a value here would reset it on every update.
    """
    name = service.name
    analysis = service.canary.analysis
    return {
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        "revisionHistoryLimit": 5,
        # A canary that never becomes available is aborted, not left half-rolled.
        "progressDeadlineSeconds": 600,
        "progressDeadlineAbort": True,
        "template": pod_template(service, labels, secrets),
        "strategy": {
            "canary": {
                "stableService": f"{name}-stable",
                "canaryService": f"{name}-canary",
                "abortScaleDownDelaySeconds": ABORT_SCALE_DOWN_DELAY_SECONDS,
                "trafficRouting": {
                    "alb": {"ingress": name, "rootService": name, "servicePort": service.port}
                },
                "steps": [step.to_argo() for step in service.canary.steps],
                "analysis": {
                    "templates": [{"templateName": f"{name}-slo"}],
                    "startingStep": analysis.starting_step,
                    "args": [
                        {
                            "name": CANARY_HASH_ARG,
                            "valueFrom": {"podTemplateHashValue": "Latest"},
                        }
                    ],
                },
            }
        },
    }


def vpa_spec(service: ServiceSpec, environment: str) -> dict[str, Any]:
    """Spec of the VerticalPodAutoscaler.

    Prod: ``Off``, recommendations only; people apply them through the service config, so a
    production pod is never evicted by the autoscaler. Elsewhere it resizes memory only: the
    HPA scales on CPU utilisation of the request, and a VPA that also moved the CPU request
    would change the HPA's denominator, so the two would chase each other.
    """
    target = {"apiVersion": ROLLOUTS_API, "kind": "Rollout", "name": service.name}
    if environment == "prod":
        return {
            "targetRef": target,
            "updatePolicy": {"updateMode": "Off"},
            "resourcePolicy": {
                "containerPolicies": [
                    {"containerName": service.name, "controlledResources": ["cpu", "memory"]}
                ]
            },
        }
    memory = service.resources
    return {
        "targetRef": target,
        "updatePolicy": {"updateMode": "Recreate", "minReplicas": 2},
        "resourcePolicy": {
            "containerPolicies": [
                {
                    "containerName": service.name,
                    "controlledResources": ["memory"],
                    "minAllowed": {"memory": memory.requests.memory},
                    "maxAllowed": {"memory": memory.limits.memory},
                }
            ]
        },
    }


def network_policies(args: ServiceDeliveryArgs, labels: dict[str, str]) -> list[dict[str, Any]]:
    """Default deny, then the ingress and egress the service needs, nothing more."""
    name = args.service.name
    pods = {"matchLabels": {"app.kubernetes.io/name": name}}
    port = [{"protocol": "TCP", "port": args.service.port}]

    def policy(suffix: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(f"{name}-{suffix}", name, labels),
            "spec": spec,
        }

    probes: list[dict[str, Any]] = []
    if args.prober_namespace:
        probes.append(
            policy(
                "allow-probes",
                {
                    "podSelector": pods,
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        # The blackbox exporter probes the health path on the service port.
                        {
                            "from": [
                                {
                                    "namespaceSelector": namespace_selector(args.prober_namespace),
                                    "podSelector": {"matchLabels": dict(PROBER_LABELS)},
                                }
                            ],
                            "ports": port,
                        }
                    ],
                },
            )
        )
    return [
        policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        policy(
            "allow-ingress",
            {
                "podSelector": pods,
                "policyTypes": ["Ingress"],
                "ingress": [
                    # The ALB sends to pod IPs (target-type ip) from its VPC addresses.
                    {"from": [{"ipBlock": {"cidr": args.vpc_cidr}}], "ports": port},
                    # Prometheus scrapes the metrics path on the service port.
                    {
                        "from": [
                            {"namespaceSelector": namespace_selector(args.monitoring_namespace)}
                        ],
                        "ports": port,
                    },
                ],
            },
        ),
        policy(
            "allow-egress",
            {
                "podSelector": pods,
                "policyTypes": ["Egress"],
                "egress": [
                    dns_egress(),
                    {
                        "to": [{"ipBlock": {"cidr": args.vpc_cidr}}],
                        "ports": [{"protocol": "TCP", "port": p} for p in args.database_ports],
                    },
                    https_egress(),  # AWS APIs (STS for IRSA, S3, ...)
                ],
            },
        ),
        *probes,
    ]


def service_labels(name: str, environment: str) -> dict[str, str]:
    """The labels of every object of service ``name``, its pods' included."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": "ttbt2",
        "app.kubernetes.io/managed-by": "pulumi",
        "environment": environment,
    }


def build_manifests(args: ServiceDeliveryArgs) -> list[dict[str, Any]]:
    """Every object of the service as a plain manifest, in the order they are registered.

    Values are as given in ``args`` (``role_arn`` and ``certificate_arn`` may be Outputs).
    """
    svc = args.service
    name = svc.name
    labels = service_labels(name, args.environment)
    return [
        _namespace_manifest(name, labels),
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(
                name, name, labels, annotations={"eks.amazonaws.com/role-arn": args.role_arn}
            ),
            "automountServiceAccountToken": False,
        },
        _service_manifest(svc, labels, "", "root"),
        _service_manifest(svc, labels, "-stable", "stable"),
        _service_manifest(svc, labels, "-canary", "canary"),
        _ingress_manifest(args, labels),
        {
            "apiVersion": ROLLOUTS_API,
            "kind": "AnalysisTemplate",
            "metadata": _meta(f"{name}-slo", name, labels),
            "spec": analysis_template_spec(svc, args.prometheus_url),
        },
        {
            "apiVersion": ROLLOUTS_API,
            "kind": "Rollout",
            "metadata": _meta(name, name, labels),
            "spec": rollout_spec(svc, labels, args.secrets),
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(name, name, labels),
            "spec": _hpa_spec(svc),
        },
        {
            "apiVersion": VPA_API,
            "kind": "VerticalPodAutoscaler",
            "metadata": _meta(name, name, labels),
            "spec": vpa_spec(svc, args.environment),
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(name, name, labels),
            "spec": {
                "maxUnavailable": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            },
        },
        *network_policies(args, labels),
        _service_monitor_manifest(svc, labels),
    ]


# Services and the Ingress are not awaited: their endpoints only exist once the Rollout, which
# must wait for them, has pods.
_NO_WAIT = {"pulumi.com/skipAwait": "true"}


def _namespace_manifest(name: str, labels: dict[str, str]) -> dict[str, Any]:
    """The service's namespace: restricted Pod Security, ALB readiness gates injected."""
    psa = {f"pod-security.kubernetes.io/{m}": "restricted" for m in ("enforce", "audit", "warn")}
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                **labels,
                **psa,
                # The application tier: access to the application covers this namespace.
                APPLICATION_LABEL[0]: APPLICATION_LABEL[1],
                # The ALB controller adds a readiness gate: a pod is Ready (and the canary
                # step proceeds) only once its ALB target is healthy.
                "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
            },
        },
    }


def _service_manifest(
    svc: ServiceSpec, labels: dict[str, str], suffix: str, role: str
) -> dict[str, Any]:
    """The ClusterIP Service ``<name><suffix>`` of traffic role ``role`` (root, stable, canary)."""
    name = svc.name
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(
            name + suffix, name, {**labels, ROLE_LABEL: role}, annotations=dict(_NO_WAIT)
        ),
        "spec": {
            "type": "ClusterIP",
            # Argo Rollouts adds the ReplicaSet hash to the stable and canary selectors.
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": svc.port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _ingress_manifest(args: ServiceDeliveryArgs, labels: dict[str, str]) -> dict[str, Any]:
    """The ALB Ingress: HTTPS only, the public paths and the health path to the root Service.

    The load balancer's sources, web ACL and attributes are the group's
    (:func:`components.k8s.alb.group_annotations`).
    """
    svc = args.service
    name = svc.name
    annotations: dict[str, Any] = {
        **_NO_WAIT,
        **group_annotations(args.load_balancer, args.certificate_arn),
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/backend-protocol": "HTTP",
        "alb.ingress.kubernetes.io/healthcheck-path": svc.health_path,
        "alb.ingress.kubernetes.io/target-group-attributes": (
            f"deregistration_delay.timeout_seconds={DEREGISTRATION_DELAY_SECONDS}"
        ),
    }
    paths = [*svc.public_paths, *([] if svc.health_path in svc.public_paths else [svc.health_path])]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(name, name, labels, annotations=annotations),
        "spec": {
            "ingressClassName": "alb",
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": path,
                                "pathType": "Prefix",
                                # Argo Rollouts writes the weighted action of this name.
                                "backend": {
                                    "service": {
                                        "name": name,
                                        "port": {"name": "use-annotation"},
                                    }
                                },
                            }
                            for path in paths
                        ]
                    }
                }
            ],
        },
    }


def _hpa_spec(svc: ServiceSpec) -> dict[str, Any]:
    """HorizontalPodAutoscaler spec: CPU utilization on the Rollout, slow scale-down."""
    return {
        "scaleTargetRef": {"apiVersion": ROLLOUTS_API, "kind": "Rollout", "name": svc.name},
        "minReplicas": svc.min_replicas,
        "maxReplicas": svc.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {
                        "type": "Utilization",
                        "averageUtilization": svc.target_cpu_utilization,
                    },
                },
            }
        ],
        # Scale down slowly: a brief lull must not leave too few pods for the next peak.
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    }


def _service_monitor_manifest(svc: ServiceSpec, labels: dict[str, str]) -> dict[str, Any]:
    """The ServiceMonitor scraping every pod once through the root Service."""
    name = svc.name
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        # The families the service declares, for the metric-provenance policy: a family
        # counts as produced only where a ServiceMonitor scrapes it.
        "metadata": _meta(name, name, labels, annotations=svc.metric_families_annotation()),
        "spec": {
            # Only the root Service: it spans stable and canary pods, so each pod is
            # scraped once and the `service` label is the service name the alerts use.
            "selector": {"matchLabels": {"app.kubernetes.io/name": name, ROLE_LABEL: "root"}},
            "podTargetLabels": ["rollouts-pod-template-hash"],
            "endpoints": [
                {
                    "port": "http",
                    "path": svc.metrics_path,
                    "interval": f"{SCRAPE_INTERVAL_SECONDS}s",
                    "scrapeTimeout": "10s",
                }
            ],
        },
    }


_CORE: dict[str, Any] = {
    "Namespace": k8s.core.v1.Namespace,
    "ServiceAccount": k8s.core.v1.ServiceAccount,
    "Service": k8s.core.v1.Service,
    "Ingress": k8s.networking.v1.Ingress,
    "HorizontalPodAutoscaler": k8s.autoscaling.v2.HorizontalPodAutoscaler,
    "PodDisruptionBudget": k8s.policy.v1.PodDisruptionBudget,
    "NetworkPolicy": k8s.networking.v1.NetworkPolicy,
}
_CUSTOM = frozenset({"AnalysisTemplate", "Rollout", "VerticalPodAutoscaler", "ServiceMonitor"})


class ServiceDelivery(pulumi.ComponentResource):
    """The namespace, workload, traffic, scaling, network and monitoring of one service.

    ``manifests`` holds every object as registered (see :func:`build_manifests`);
    ``namespace`` and ``rollout_name`` are outputs; ``namespace_resource`` is the service's
    Namespace, for components that put objects into it and must wait for it.
    """

    namespace: pulumi.Output[str]
    namespace_resource: k8s.core.v1.Namespace
    rollout_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServiceDeliveryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:ServiceDelivery", name, None, opts)
        self.manifests = build_manifests(args)
        self.resources: dict[str, pulumi.CustomResource] = {}
        namespace: pulumi.Resource | None = None
        before_rollout: list[pulumi.Resource] = []
        for manifest in self.manifests:
            kind, obj_name = manifest["kind"], manifest["metadata"]["name"]
            if kind == "Rollout" and args.rollout_by_gitops:
                continue
            logical = f"{name}-{kind.lower()}-{obj_name}"
            deps: list[pulumi.Resource] = [namespace] if namespace else []
            if kind in _CUSTOM:
                deps += list(args.crd_dependencies)
            if kind == "Rollout":
                # Argo refuses a Rollout whose services, ingress or template are missing.
                deps += before_rollout
            child = pulumi.ResourceOptions(parent=self, depends_on=deps)
            resource = self._register(logical, manifest, child)
            self.resources[f"{kind}/{obj_name}"] = resource
            if kind == "Namespace":
                namespace = resource
            elif kind in ("Service", "Ingress", "AnalysisTemplate"):
                before_rollout.append(resource)
        ns = cast(k8s.core.v1.Namespace, self.resources[f"Namespace/{args.service.name}"])
        # Without a Rollout of ours, consumers wait for the namespace it will be applied in.
        rollout = self.resources.get(f"Rollout/{args.service.name}", ns)
        rollout_name = args.service.name
        self.namespace_resource = ns
        self.namespace = ns.metadata.apply(lambda m: m.name or "")
        # Known at preview, yet resolved only once the Rollout is registered, so a consumer
        # of the output depends on it.
        self.rollout_name = rollout.urn.apply(lambda _: rollout_name)
        self.register_outputs({"namespace": self.namespace, "rollout_name": self.rollout_name})

    @staticmethod
    def _register(
        logical: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions
    ) -> pulumi.CustomResource:
        kind = manifest["kind"]
        metadata = cast(k8s.meta.v1.ObjectMetaArgs, manifest["metadata"])
        if kind in _CUSTOM:
            return k8s.apiextensions.CustomResource(
                logical,
                api_version=manifest["apiVersion"],
                kind=kind,
                metadata=metadata,
                spec=manifest["spec"],
                opts=opts,
            )
        fields = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")}
        if kind == "ServiceAccount":
            return k8s.core.v1.ServiceAccount(
                logical,
                metadata=metadata,
                automount_service_account_token=fields["automountServiceAccountToken"],
                opts=opts,
            )
        # The SDK takes the camelCase dicts at run time; the tests validate them against the
        # Kubernetes schema rather than mypy against the SDK's TypedDicts (see backup_copy).
        resource: pulumi.CustomResource = _CORE[kind](
            logical, metadata=metadata, opts=opts, **fields
        )
        return resource
