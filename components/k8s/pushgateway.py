"""The Prometheus Pushgateway that receives deployment events (seed 4.10).

The application pipeline (``.github/workflows/app-pipeline.yml``, ``scripts/deploy_event.py``)
pushes one event per deployment: outcome, lead time, and whether it was a hotfix. Prometheus
scrapes them from here with ``honorLabels`` (the job, environment and service labels are the
pipeline's), and the Deployments dashboard and the delivery alerts
(``components/monitoring/alerts.py``) count them.

The gateway is internal: it has an ALB of its own (group ``ttbt2-<env>-internal``, scheme
``internal``) that admits the VPC only, and serves ``/pushgateway`` there over HTTPS, behind
basic authentication. The pipeline's deployment jobs push to it from self-hosted runners inside
the VPC; they reach the internal ALB by a private DNS name that its certificate covers (see
docs/pipelines.md). The ``web.yml`` (with the bcrypt hash of the pipeline's password) comes from
Vault as the ``pushgateway-web-config`` consumer and is mounted, never written in config.
Metrics are kept on a small volume so a restart does not reset the counters the pipeline
increments.
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
WEB_CONFIG_SECRET = "pushgateway-web-config"
WEB_CONFIG_KEY = "web.yml"
SCRAPE_USER = "prometheus"
VAULT_CONSUMERS = ("pushgateway-web-config", "pushgateway-scrape-password")
"""Vault consumers a stack declares to get a Pushgateway (see components/vault/refs.py)."""


@dataclass(frozen=True)
class PushgatewayArgs:
    """Arguments of :class:`Pushgateway`.

    ``web_config`` is the exporter-toolkit web configuration (basic-auth users with bcrypt
    hashes: the pipeline's and ``prometheus``), and ``scrape_password`` the plain password of
    ``prometheus``, with which Prometheus scrapes; both are secrets from Vault. ``alb_group``,
    ``certificate_arn`` and ``host`` put the gateway on the services' shared load balancer;
    ``vpc_cidr`` is where that load balancer reaches its ``ip`` targets from.
    """

    environment: str
    web_config: pulumi.Input[str]
    scrape_password: pulumi.Input[str]
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
                            f"--web.config.file=/etc/pushgateway/{WEB_CONFIG_KEY}",
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
                        "volumeMounts": [
                            {"name": "data", "mountPath": "/data"},
                            {
                                "name": "web-config",
                                "mountPath": "/etc/pushgateway",
                                "readOnly": True,
                            },
                        ],
                    }
                ],
                "volumes": [
                    {"name": "data", "persistentVolumeClaim": {"claimName": NAME}},
                    {"name": "web-config", "secret": {"secretName": WEB_CONFIG_SECRET}},
                ],
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
    """Only the load balancer (the VPC) and Prometheus reach the gateway's port."""
    return {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {"ipBlock": {"cidr": args.vpc_cidr}},
                    {"podSelector": {}},
                ],
                "ports": [{"protocol": "TCP", "port": PORT}],
            }
        ],
    }


class Pushgateway(pulumi.ComponentResource):
    """Secret, volume, Deployment, Service, ServiceMonitor, Ingress and NetworkPolicy."""

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

        secret = k8s.core.v1.Secret(
            f"{name}-web-config",
            metadata=meta(WEB_CONFIG_SECRET),
            string_data={
                WEB_CONFIG_KEY: pulumi.Output.secret(args.web_config),
                "scrape-username": SCRAPE_USER,
                "scrape-password": pulumi.Output.secret(args.scrape_password),
            },
            opts=child,
        )
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*waits, secret, claim]),
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
                        "basicAuth": {
                            "username": {"name": WEB_CONFIG_SECRET, "key": "scrape-username"},
                            "password": {"name": WEB_CONFIG_SECRET, "key": "scrape-password"},
                        },
                    }
                ],
            },
            opts=child,
        )
        ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=meta(
                NAME,
                annotations={
                    **group_annotations(args.load_balancer, args.certificate_arn),
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
