"""The Prometheus Pushgateway that receives deployment events (seed 4.10).

The application pipeline (``.github/workflows/app-pipeline.yml``, ``scripts/deploy_event.py``)
pushes one event per deployment: outcome, lead time, and whether it was a hotfix. Prometheus
scrapes them from here with ``honorLabels`` (the job, environment and service labels are the
pipeline's), and the Deployments dashboard and the delivery alerts
(``components/monitoring/alerts.py``) count them.

The gateway is internal and admits pushers by network identity, not by a password (seed
4.9.1: no static shared credential). It has an ALB of its own (group ``ttbt2-<env>-pushgateway``,
scheme ``internal``) whose only security group, ``pusher_security_group_id``, admits HTTPS from
the CI runners' security group alone: the pipeline's deployment and drill jobs push from those
CodeBuild runners inside the VPC, reaching the ALB by a private DNS name its certificate covers
(docs/pipelines.md). Runners run only the jobs of the organisation's repositories they are
registered for, so who may push is who may run a job there; a leaked password could be used
from anywhere in the VPC, the runners' identity cannot. In the cluster, the gateway's
NetworkPolicy admits the load balancer (from the VPC's addresses) and, by pod label, Prometheus,
which scrapes without credentials. Policies add up: the ``monitoring`` namespace's baseline
(:mod:`components.k8s.network_baseline`) still admits that namespace's own pods and the VPC, so
what keeps other workloads from pushing to the pod directly is their own egress policy (the
services' allow DNS, HTTPS and their data stores only). Metrics are kept on a small volume so a
restart does not reset the counters the pipeline increments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.dependencies import inherited_depends_on
from components.k8s.alb import AlbGroup, group_annotations
from components.k8s.pod_security import container_security_context, pod_security_context

IMAGE = "prom/pushgateway:v1.11.1"
"""A released version; a new one is taken by changing this line, not by a registry push."""
NAME = "pushgateway"
PORT = 9091
ROUTE_PREFIX = "/pushgateway"
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
"""The label prometheus-operator puts on the Prometheus pods, the gateway's only scraper."""


@dataclass(frozen=True)
class PushgatewayArgs:
    """Arguments of :class:`Pushgateway`.

    ``pusher_security_group_id`` is the ALB's security group, admitting the CI runners only
    (the controller adds the rules from the ALB to the pods). ``alb_group``,
    ``certificate_arn`` and ``host`` name the gateway's own internal load balancer; ``vpc_cidr``
    is where that load balancer reaches its ``ip`` targets from.
    """

    environment: str
    pusher_security_group_id: pulumi.Input[str]
    certificate_arn: pulumi.Input[str]
    vpc_cidr: str
    alb_group: str
    host: str = ""
    log_bucket: pulumi.Input[str] | None = None
    deletion_protection: bool = False
    namespace: str = "monitoring"
    storage_gb: int = 1

    @property
    def load_balancer(self) -> AlbGroup:
        """The gateway's internal ALB."""
        return AlbGroup.internal(
            self.alb_group,
            (self.vpc_cidr,),
            log_bucket=self.log_bucket,
            deletion_protection=self.deletion_protection,
        )

    def __post_init__(self) -> None:
        if not 1 <= self.storage_gb <= 20:
            raise ValueError(f"storage_gb must be between 1 and 20, got {self.storage_gb}")


def deployment_spec() -> dict[str, Any]:
    """One replica (the gateway keeps state on its volume), restricted, probed and bounded."""
    labels = {"app.kubernetes.io/name": NAME}
    probe = {"httpGet": {"path": f"{ROUTE_PREFIX}/-/ready", "port": PORT}, "periodSeconds": 10}
    return {
        "replicas": 1,
        # Recreate: two gateways must never share the persistence file.
        "strategy": {"type": "Recreate"},
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                # fsGroup (= the pod's group) lets the uid write the data volume.
                "securityContext": pod_security_context(),
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": NAME,
                        "image": IMAGE,
                        "args": [
                            f"--web.route-prefix={ROUTE_PREFIX}",
                            "--persistence.file=/data/metrics",
                            "--persistence.interval=1m",
                        ],
                        "ports": [{"name": "http", "containerPort": PORT}],
                        "readinessProbe": probe,
                        "livenessProbe": {
                            **probe,
                            "httpGet": {"path": f"{ROUTE_PREFIX}/-/healthy", "port": PORT},
                        },
                        "resources": {
                            "requests": {"cpu": "20m", "memory": "32Mi"},
                            "limits": {"cpu": "200m", "memory": "128Mi"},
                        },
                        "securityContext": container_security_context(),
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    }
                ],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": NAME}}],
            },
        },
    }


def ingress_spec(args: PushgatewayArgs) -> dict[str, Any]:
    """``/pushgateway`` on the internal load balancer, HTTPS only."""
    host = {"host": args.host} if args.host else {}
    return {
        "ingressClassName": "alb",
        "rules": [
            {
                **host,
                "http": {
                    "paths": [
                        {
                            "path": ROUTE_PREFIX,
                            "pathType": "Prefix",
                            "backend": {"service": {"name": NAME, "port": {"number": PORT}}},
                        }
                    ]
                },
            }
        ],
    }


def network_policy_spec(args: PushgatewayArgs) -> dict[str, Any]:
    """The load balancer (the VPC) and Prometheus, named by its pods' label, reach the port."""
    return {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {"ipBlock": {"cidr": args.vpc_cidr}},
                    {"podSelector": {"matchLabels": dict(PROMETHEUS_POD_LABELS)}},
                ],
                "ports": [{"protocol": "TCP", "port": PORT}],
            }
        ],
    }


class Pushgateway(pulumi.ComponentResource):
    """Volume, Deployment, Service, ServiceMonitor, Ingress and NetworkPolicy."""

    def __init__(
        self, name: str, args: PushgatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:Pushgateway", name, None, opts)
        # What the caller waits for (the namespace, CRDs) holds back every child.
        waits = inherited_depends_on(opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=waits)
        labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "ttbt2"}

        def meta(obj: str, **extra: Any) -> k8s.meta.v1.ObjectMetaArgs:
            body = {"name": obj, "namespace": args.namespace, "labels": labels, **extra}
            return cast(k8s.meta.v1.ObjectMetaArgs, body)

        claim_spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{args.storage_gb}Gi"}},
        }
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data",
            metadata=meta(NAME),
            spec=cast(k8s.core.v1.PersistentVolumeClaimSpecArgs, claim_spec),
            opts=child,
        )
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta(NAME),
            spec=cast(k8s.apps.v1.DeploymentSpecArgs, deployment_spec()),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*waits, claim]),
        )
        service_spec: dict[str, Any] = {
            "selector": {"app.kubernetes.io/name": NAME},
            "ports": [{"name": "http", "port": PORT, "targetPort": PORT}],
        }
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta(NAME),
            spec=cast(k8s.core.v1.ServiceSpecArgs, service_spec),
            opts=child,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-servicemonitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=meta(NAME),
            spec={
                "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
                "endpoints": [
                    {
                        "port": "http",
                        "path": f"{ROUTE_PREFIX}/metrics",
                        # The pipeline's job, environment and service labels are the truth.
                        "honorLabels": True,
                        "interval": "30s",
                    }
                ],
            },
            opts=child,
        )
        # The group's own security group replaces the controller's CIDR-based one.
        annotations = group_annotations(args.load_balancer, args.certificate_arn)
        annotations.pop("alb.ingress.kubernetes.io/inbound-cidrs", None)
        ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=meta(
                NAME,
                annotations={
                    **annotations,
                    # The ALB's only group admits the CI runners; the controller still opens
                    # the pods' port to the ALB (its shared backend group).
                    "alb.ingress.kubernetes.io/security-groups": args.pusher_security_group_id,
                    "alb.ingress.kubernetes.io/manage-backend-security-group-rules": "true",
                    "alb.ingress.kubernetes.io/target-type": "ip",
                    "alb.ingress.kubernetes.io/healthcheck-path": f"{ROUTE_PREFIX}/-/healthy",
                },
            ),
            spec=cast(k8s.networking.v1.IngressSpecArgs, ingress_spec(args)),
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata=meta(f"{NAME}-ingress"),
            spec=cast(k8s.networking.v1.NetworkPolicySpecArgs, network_policy_spec(args)),
            opts=child,
        )
        self.load_balancer_dns_name: pulumi.Output[str] = ingress.status.apply(_ingress_hostname)
        """The internal ALB's own DNS name, once the controller has created it."""
        self.register_outputs(
            {
                "deployment": self.deployment.metadata["name"],
                "loadBalancerDnsName": self.load_balancer_dns_name,
            }
        )


def _ingress_hostname(status: Any) -> str:
    """``status.loadBalancer.ingress[0].hostname`` of an Ingress, "" before it has one."""
    balancer = getattr(status, "load_balancer", None)
    entries = getattr(balancer, "ingress", None) or []
    return str(getattr(entries[0], "hostname", None) or "") if entries else ""
