"""A baseline NetworkPolicy for each platform namespace (CKV2_K8S_6).

Platform namespaces (monitoring, operators, controllers) run charts whose traffic the charts
themselves know best, so their baseline is deliberately simple and safe to apply under any
chart: ingress only from pods of the same namespace, from the namespaces named (Prometheus
scrapes from ``monitoring``), and from the VPC (the EKS control plane calls admission webhooks
from its cross-account interfaces in the VPC; the load balancer reaches ``ip`` targets from it).
Pods of any other namespace, the application services included, cannot reach them. Egress is
left to each chart: controllers call the Kubernetes API and AWS APIs at addresses no policy can
pin. The services' own namespaces get a default-deny in both directions instead
(:mod:`components.k8s.service_delivery`).

:class:`PlatformNetworkPolicies` registers one baseline per platform namespace, each after the
component that creates its namespace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

NAME = "baseline-ingress"


def baseline_spec(vpc_cidr: str, allow_namespaces: Sequence[str]) -> dict[str, Any]:
    """The policy's spec: every pod of the namespace, ingress from the sources above only."""
    sources: list[dict[str, Any]] = [{"podSelector": {}}]
    if allow_namespaces:
        sources.append(
            {
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "In",
                            "values": sorted(allow_namespaces),
                        }
                    ]
                }
            }
        )
    sources.append({"ipBlock": {"cidr": vpc_cidr}})
    return {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": sources}]}


def baseline_policy(
    name: str,
    namespace: str,
    *,
    vpc_cidr: str,
    allow_namespaces: Sequence[str] = ("monitoring",),
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.networking.v1.NetworkPolicy:
    """Register the baseline policy in ``namespace`` (which must exist first: pass it in opts)."""
    others = [ns for ns in allow_namespaces if ns != namespace]
    spec = baseline_spec(vpc_cidr, others)
    return k8s.networking.v1.NetworkPolicy(
        name,
        metadata={
            "name": NAME,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "ttbt2", "ttbt2.io/policy": "baseline"},
        },
        # A plain dict cast at the call: see components/k8s/backup_copy.py.
        spec=cast(k8s.networking.v1.NetworkPolicySpecArgs, spec),
        opts=opts,
    )


@dataclass(frozen=True)
class PlatformNetworkPoliciesArgs:
    """The platform's namespaces and who may reach them.

    ``namespaces`` maps each namespace name to the resource that creates it (the policy waits
    for it); ``allow_namespaces`` are admitted into every one of them (Prometheus scrapes from
    the monitoring namespace).
    """

    namespaces: Mapping[str, pulumi.Resource]
    vpc_cidr: str
    allow_namespaces: Sequence[str]


class PlatformNetworkPolicies(pulumi.ComponentResource):
    """A baseline NetworkPolicy ``<name>-<namespace>`` in each platform namespace (CKV2_K8S_6).

    The Kubernetes provider comes from ``opts`` (``providers={"kubernetes": ...}``). ``policies``
    maps each namespace to its policy.
    """

    policies: dict[str, k8s.networking.v1.NetworkPolicy]

    def __init__(
        self,
        name: str,
        args: PlatformNetworkPoliciesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ttbt2:k8s:PlatformNetworkPolicies", name, None, opts)
        self.policies = {}
        for namespace, owner in args.namespaces.items():
            policy_name = f"{name}-{namespace}"
            self.policies[namespace] = baseline_policy(
                policy_name,
                namespace,
                vpc_cidr=args.vpc_cidr,
                allow_namespaces=args.allow_namespaces,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[owner],
                    # Registered at the stack's root before this component owned them: the
                    # alias lets ``pulumi up`` adopt each policy in place.
                    aliases=[pulumi.Alias(name=policy_name, parent=pulumi.ROOT_STACK_RESOURCE)],
                ),
            )
        self.register_outputs({})
