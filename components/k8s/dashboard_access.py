"""Grafana and Kibana on the environment's internal load balancer, behind single sign-on.

Both dashboards share one **internal** ALB (ingress group ``<alb_group>``): it has no public
address, so only the VPC and the networks routed into it (the VPN) reach it; the public edge
never forwards to it. HTTPS only (port 80 answers with a redirect), with the environment's ACM
certificate, to the pods' IPs (``target-type: ip``).

- Grafana signs users in itself (:func:`components.k8s.dashboard_sso.grafana_sso_ini`, set by
  the metrics stack); the load balancer only forwards.
- Kibana has no OIDC realm on Elastic's basic licence, so the load balancer authenticates every
  request at the IdP first (``auth-type: oidc``). The AWS Load Balancer Controller reads the
  client credentials from Secret ``kibana-oidc`` (keys ``clientID``, ``clientSecret``), which
  this component creates from the value read in Vault; a Role lets the controller read that
  one Secret, as the chart grants it no Secret access (``clusterSecretsPermissions``).
- A NetworkPolicy per dashboard admits the load balancer (the VPC's addresses) to the pod port.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.dependencies import inherited_depends_on
from components.k8s.dashboard_sso import (
    KIBANA_OIDC_SECRET,
    GrafanaSso,
    KibanaSso,
    alb_oidc_annotations,
)
from components.k8s.load_balancer_controller import INGRESS_CLASS
from components.k8s.load_balancer_controller import NAMESPACE as CONTROLLER_NAMESPACE
from components.k8s.load_balancer_controller import SERVICE_ACCOUNT as CONTROLLER_ACCOUNT
from components.k8s.logs import KIBANA_NAME
from components.k8s.metrics import PROMETHEUS_CHART
from components.k8s.observability_common import MONITORING_NAMESPACE

SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class Backend:
    """A dashboard as the load balancer sees it: Service, pods, port and health check."""

    service: str
    service_port: int
    pod_labels: dict[str, str]
    pod_port: int
    health_path: str
    https: bool = False


GRAFANA = Backend(
    service=f"{PROMETHEUS_CHART}-grafana",
    service_port=80,
    pod_labels={
        "app.kubernetes.io/name": "grafana",
        "app.kubernetes.io/instance": PROMETHEUS_CHART,
    },
    pod_port=3000,
    health_path="/api/health",
)
"""The grafana subchart's Service (release ``kube-prometheus-stack``) and pods."""
KIBANA = Backend(
    service=f"{KIBANA_NAME}-kb-http",
    service_port=5601,
    pod_labels={"kibana.k8s.elastic.co/name": KIBANA_NAME},
    pod_port=5601,
    # ECK's own readiness probe; it answers without a session.
    health_path="/login",
    # ECK serves Kibana over its self-signed TLS; the load balancer does not verify it.
    https=True,
)
"""The Service and pods ECK creates for Kibana ``logs``."""


@dataclass(frozen=True)
class DashboardAccessArgs:
    """Arguments of :class:`DashboardAccess`.

    ``kibana_client_secret`` is the load balancer's OIDC client secret for Kibana, read from
    Vault. ``alb_group`` names the internal load balancer (it must differ from the
    internet-facing group of the services). ``vpc_cidr`` is where the load balancer reaches the
    pods from.
    """

    environment: str
    grafana: GrafanaSso
    kibana: KibanaSso
    kibana_client_secret: pulumi.Input[str]
    certificate_arn: pulumi.Input[str]
    vpc_cidr: str
    alb_group: str
    namespace: str = MONITORING_NAMESPACE


def internal_alb_annotations(
    args: DashboardAccessArgs, backend: Backend
) -> dict[str, pulumi.Input[str]]:
    """Annotations of a dashboard's Ingress on the internal, HTTPS-only load balancer."""
    prefix = "alb.ingress.kubernetes.io/"
    annotations: dict[str, pulumi.Input[str]] = {
        prefix + "group.name": args.alb_group,
        prefix + "scheme": "internal",
        prefix + "target-type": "ip",
        prefix + "listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]),
        prefix + "ssl-redirect": "443",
        prefix + "certificate-arn": args.certificate_arn,
        prefix + "ssl-policy": SSL_POLICY,
        prefix + "healthcheck-path": backend.health_path,
    }
    if backend.https:
        annotations[prefix + "backend-protocol"] = "HTTPS"
        annotations[prefix + "healthcheck-protocol"] = "HTTPS"
    return annotations


def ingress_spec(host: str, backend: Backend) -> dict[str, Any]:
    """Every path of ``host`` to the dashboard's Service."""
    return {
        "ingressClassName": INGRESS_CLASS,
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {
                                "service": {
                                    "name": backend.service,
                                    "port": {"number": backend.service_port},
                                }
                            },
                        }
                    ]
                },
            }
        ],
    }


def network_policy_spec(vpc_cidr: str, backend: Backend) -> dict[str, Any]:
    """The load balancer (the VPC's addresses) may reach the dashboard's pod port."""
    return {
        "podSelector": {"matchLabels": dict(backend.pod_labels)},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"ipBlock": {"cidr": vpc_cidr}}],
                "ports": [{"protocol": "TCP", "port": backend.pod_port}],
            }
        ],
    }


def secret_reader_rules() -> list[dict[str, Any]]:
    """Read access to Kibana's OIDC Secret alone (the controller gets and watches it by name)."""
    return [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [KIBANA_OIDC_SECRET],
            "verbs": ["get", "list", "watch"],
        }
    ]


class DashboardAccess(pulumi.ComponentResource):
    """Ingresses ``grafana`` and ``kibana`` on the internal ALB, Kibana's OIDC Secret and access.

    Children: ``<name>-kibana-oidc`` (Secret), ``<name>-kibana-oidc-reader`` (Role and
    RoleBinding ``-binding``), ``<name>-grafana-ingress``, ``<name>-kibana-ingress``,
    ``<name>-grafana-netpol`` and ``<name>-kibana-netpol``. The Kubernetes provider comes from
    ``opts``; what ``opts`` depends on (the monitoring namespace, the load balancer controller)
    holds back every child.
    """

    def __init__(
        self, name: str, args: DashboardAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:DashboardAccess", name, None, opts)
        waits = inherited_depends_on(opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=waits)
        labels = {"app.kubernetes.io/part-of": "ttbt2", "environment": args.environment}

        def meta(obj: str) -> k8s.meta.v1.ObjectMetaArgs:
            body = {"name": obj, "namespace": args.namespace, "labels": labels}
            return cast(k8s.meta.v1.ObjectMetaArgs, body)

        self.kibana_secret = k8s.core.v1.Secret(
            f"{name}-kibana-oidc",
            metadata=meta(KIBANA_OIDC_SECRET),
            type="Opaque",
            string_data={
                "clientID": args.kibana.client_id,
                "clientSecret": pulumi.Output.secret(args.kibana_client_secret),
            },
            opts=child,
        )
        role = k8s.rbac.v1.Role(
            f"{name}-kibana-oidc-reader",
            metadata=meta("kibana-oidc-reader"),
            rules=cast(list[k8s.rbac.v1.PolicyRuleArgs], secret_reader_rules()),
            opts=child,
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-kibana-oidc-reader-binding",
            metadata=meta("kibana-oidc-reader"),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name="kibana-oidc-reader"
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="ServiceAccount", name=CONTROLLER_ACCOUNT, namespace=CONTROLLER_NAMESPACE
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*waits, role]),
        )
        self.grafana_ingress = self._ingress(
            name,
            dashboard="grafana",
            args=args,
            backend=GRAFANA,
            host=args.grafana.host,
            opts=child,
        )
        self.kibana_ingress = self._ingress(
            name,
            dashboard="kibana",
            args=args,
            backend=KIBANA,
            host=args.kibana.host,
            auth=alb_oidc_annotations(args.kibana, KIBANA_OIDC_SECRET),
            # The controller reads the Secret while it builds the load balancer's rules.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*waits, self.kibana_secret, binding]
            ),
        )
        for dashboard, backend in (("grafana", GRAFANA), ("kibana", KIBANA)):
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{dashboard}-netpol",
                metadata=meta(f"{dashboard}-from-load-balancer"),
                spec=cast(
                    k8s.networking.v1.NetworkPolicySpecArgs,
                    network_policy_spec(args.vpc_cidr, backend),
                ),
                opts=child,
            )
        self.register_outputs(
            {"grafanaUrl": args.grafana.root_url, "kibanaUrl": args.kibana.public_url}
        )

    def _ingress(
        self,
        name: str,
        *,
        dashboard: str,
        args: DashboardAccessArgs,
        backend: Backend,
        host: str,
        opts: pulumi.ResourceOptions,
        auth: dict[str, str] | None = None,
    ) -> k8s.networking.v1.Ingress:
        """The dashboard's Ingress on the internal load balancer, with ``auth`` annotations."""
        annotations = {**internal_alb_annotations(args, backend), **(auth or {})}
        return k8s.networking.v1.Ingress(
            f"{name}-{dashboard}-ingress",
            metadata=cast(
                k8s.meta.v1.ObjectMetaArgs,
                {
                    "name": dashboard,
                    "namespace": args.namespace,
                    "labels": {"app.kubernetes.io/part-of": "ttbt2"},
                    "annotations": annotations,
                },
            ),
            spec=cast(k8s.networking.v1.IngressSpecArgs, ingress_spec(host, backend)),
            opts=opts,
        )
