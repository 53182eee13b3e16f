"""Network policies layer: a baseline NetworkPolicy in every platform namespace (CKV2_K8S_6).

Platform namespaces get a baseline (ingress from the namespace itself, monitoring and the VPC
only); the services' namespaces their own default-deny (components/k8s/service_delivery.py).
Each earlier layer names the namespaces it creates and the component creating each one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.k8s.network_baseline import PlatformNetworkPolicies, PlatformNetworkPoliciesArgs
from config import Settings
from stacks.layers.foundation import Foundation
from stacks.layers.observability import ObservabilityLayer


@dataclass(frozen=True)
class NetworkPolicies:
    """The baselines, one per platform namespace."""

    component: PlatformNetworkPolicies


def network_policies(
    cfg: Settings,
    base: Foundation,
    obs: ObservabilityLayer,
    *owners: Mapping[str, pulumi.Resource],
) -> NetworkPolicies:
    """Register the baselines of the observability namespaces and of every map in ``owners``."""
    namespaces: dict[str, pulumi.Resource] = dict(obs.namespaces)
    for more in owners:
        namespaces.update(more)
    return NetworkPolicies(
        component=PlatformNetworkPolicies(
            f"{base.prefix}-netpol",
            PlatformNetworkPoliciesArgs(
                namespaces=namespaces,
                vpc_cidr=cfg.network.vpc_cidr,
                allow_namespaces=[obs.monitoring_namespace],
            ),
            opts=base.on_k8s,
        )
    )
