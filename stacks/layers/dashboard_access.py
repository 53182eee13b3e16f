"""Dashboard access layer: Grafana and Kibana on the internal load balancer, behind SSO.

Issue 15: the stakeholders open the Executive dashboard in Grafana as Viewers, the SRE
administer it, and engineers reach Kibana, all through the IdP and only from the internal
network (the VPC and the VPN). Nothing is published unless the stack names an IdP
(``ttbt2:ssoIssuerUrl``). Grafana's own sign-in is part of the metrics stack
(:func:`stacks.layers.sso.dashboard_sso`); this layer adds the load balancer side.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.k8s.dashboard_access import DashboardAccess, DashboardAccessArgs
from components.k8s.dashboard_sso import VAULT_CONSUMERS
from components.vault.source import SecretSource
from config import Settings
from stacks.layers.addons import Addons
from stacks.layers.foundation import Foundation
from stacks.layers.observability import ObservabilityLayer
from stacks.layers.sso import dashboard_sso

KIBANA_CONSUMER = VAULT_CONSUMERS[1]


@dataclass(frozen=True)
class DashboardAccessLayer:
    """The published dashboards, or None when the stack names no IdP."""

    access: DashboardAccess | None


def dashboard_access(
    cfg: Settings,
    base: Foundation,
    obs: ObservabilityLayer,
    controllers: Addons,
    secrets: SecretSource,
) -> DashboardAccessLayer:
    """Publish both dashboards on the internal load balancer, when the stack names an IdP."""
    sso = dashboard_sso(cfg)
    grafana, kibana = sso.grafana, sso.kibana
    client_secret = secrets.for_consumer(KIBANA_CONSUMER)
    if grafana is None or kibana is None or client_secret is None:
        # The settings refuse an IdP without both Vault consumers, so None means "no SSO".
        return DashboardAccessLayer(access=None)
    env = cfg.identity.environment
    access = DashboardAccess(
        f"{base.prefix}-dashboard-access",
        DashboardAccessArgs(
            environment=env,
            grafana=grafana,
            kibana=kibana,
            kibana_client_secret=client_secret,
            certificate_arn=cfg.delivery.alb_certificate_arn,
            vpc_cidr=cfg.network.vpc_cidr,
            # Not the services' internet-facing group: one load balancer has one scheme.
            alb_group=f"ttbt2-{env}-internal",
        ),
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": base.k8s},
            depends_on=[obs.stack, controllers.load_balancer_controller],
        ),
    )
    return DashboardAccessLayer(access=access)
