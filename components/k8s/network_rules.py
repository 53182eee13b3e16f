"""NetworkPolicy rules the platform's namespaces share: DNS, HTTPS out, scraping in.

Each function returns one ingress or egress rule as a plain dict, ready for a NetworkPolicy
``spec``; the components compose them. Keeping them here means every namespace resolves names
the same way and none can reach the node's instance metadata by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

NODE_METADATA = "169.254.169.254/32"
"""The node's instance metadata address: a pod that reached it could borrow the node's role."""


def namespace_selector(namespace: str) -> dict[str, Any]:
    """A ``namespaceSelector`` for the namespace named ``namespace``."""
    return {"matchLabels": {"kubernetes.io/metadata.name": namespace}}


def dns_egress() -> dict[str, Any]:
    """Egress to the cluster DNS (kube-dns in kube-system), UDP and TCP 53."""
    return {
        "to": [
            {
                "namespaceSelector": namespace_selector("kube-system"),
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def https_egress() -> dict[str, Any]:
    """Egress over HTTPS to any address but the node's instance metadata.

    For AWS APIs, registries and public endpoints, whose addresses no policy can pin.
    """
    return {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [NODE_METADATA]}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    }


def ingress_from_namespace(namespace: str, port: int) -> dict[str, Any]:
    """Ingress on TCP ``port`` from every pod of ``namespace`` (Prometheus scraping, say)."""
    return {
        "from": [{"namespaceSelector": namespace_selector(namespace)}],
        "ports": [{"protocol": "TCP", "port": port}],
    }


def egress_only_spec(labels: Mapping[str, str], *egress: Mapping[str, Any]) -> dict[str, Any]:
    """The spec of a batch pod's policy: nothing in; out DNS, HTTPS and ``egress`` only."""
    return {
        "podSelector": {"matchLabels": dict(labels)},
        "policyTypes": ["Ingress", "Egress"],
        "egress": [dns_egress(), https_egress(), *egress],
    }


def network_policy(
    logical: str,
    *,
    name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    spec: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.NetworkPolicy:
    """NetworkPolicy ``name`` in ``namespace`` from a plain ``spec`` built with the rules above.

    The spec stays a plain dict, cast at the call: checking a literal this deep against the
    SDK's typed dicts costs more than it catches (``components/k8s/backup_copy.py``).
    """
    return k8s.networking.v1.NetworkPolicy(
        logical,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=dict(labels)),
        spec=cast(k8s.networking.v1.NetworkPolicySpecArgs, spec),
        opts=opts,
    )
