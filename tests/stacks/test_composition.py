"""The composition registers components only, and what moved into components kept its identity.

Resources that the composition used to register itself (at the stack's root) and IRSA roles
that used to hang off the cluster now live in components. Each carries an alias naming its
old URN, so ``pulumi up`` updates it in place rather than replacing it.
"""

from __future__ import annotations

import pytest

from offline.graph import StackGraph
from tests.conftest import STACKS, render

PROJECT = "ttbt2-platform"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PLATFORM_NAMESPACES = (
    "ttbt2",
    "monitoring",
    "monitoring-node-agents",
    "elastic-system",
    "vertical-pod-autoscaler",
    "karpenter",
    "velero",
    "argo-rollouts",
    "vault-secrets-operator-system",
    "argocd",
)
"""prod's platform namespaces: each had a root-level baseline NetworkPolicy."""


def _is_provider(resource_type: str) -> bool:
    return resource_type.startswith("pulumi:providers:")


@pytest.mark.parametrize("stack", STACKS)
def test_the_composition_registers_only_providers_and_components(stack: str) -> None:
    graph = render(stack)
    root = f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"
    components = {r.urn for r in graph.resources if not r.custom}
    at_root = [r for r in graph.resources if r.parent == root]
    assert at_root, "nothing registered at the stack's root"
    bare = [r.urn for r in at_root if r.custom and not _is_provider(r.type)]
    assert bare == []
    # Every other resource hangs off a component of ours, never off a provider or a resource.
    for resource in graph.resources:
        if resource.parent != root:
            assert resource.parent in components, resource.urn


def _stack_urn(stack: str, resource_type: str, name: str, parent_type: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{parent_type}${resource_type}::{name}"


def _old_urns_by_alias(graph: StackGraph) -> dict[str, str]:
    """Old URN -> the resource whose aliases name it (the recorder resolves alias specs)."""
    return {old: r.urn for r in graph.resources for old in r.option("aliases")}


def test_moved_resources_alias_their_old_urns() -> None:
    graph = render("prod")
    prefix = "ttbt2-prod"
    root, cluster = "pulumi:pulumi:Stack", "ttbt2:aws:KubernetesCluster"
    expected = {
        _stack_urn("prod", ROLE_POLICY, f"{prefix}-lbc", root),
        _stack_urn("prod", ROLE_POLICY, f"{prefix}-svc-api", root),
        _stack_urn("prod", ROLE_POLICY, f"{prefix}-velero-volume-snapshots", root),
        _stack_urn("prod", ROLE, f"{prefix}-lbc", cluster),
        _stack_urn("prod", ROLE, f"{prefix}-svc-api", cluster),
        _stack_urn("prod", ROLE, f"{prefix}-svc-web", cluster),
        *(
            _stack_urn("prod", NETWORK_POLICY, f"{prefix}-netpol-{ns}", root)
            for ns in PLATFORM_NAMESPACES
        ),
    }
    current = {r.urn for r in graph.resources}
    aliased = _old_urns_by_alias(graph)
    for old, new in aliased.items():
        assert old not in current, f"{new} aliases a URN still in use: {old}"
    assert expected <= set(aliased)
    for old in expected:
        new = aliased[old]
        # Same type and name: only the parent changed.
        assert new.rsplit("::", 1)[1] == old.rsplit("::", 1)[1]
        assert new.split("::")[2].split("$")[-1] == old.split("::")[2].split("$")[-1]


def test_the_graph_records_the_alias_of_each_moved_network_policy() -> None:
    graph = render("prod")
    moved = [
        r
        for r in graph.resources
        if r.type == NETWORK_POLICY
        # Namespaces added since (blackbox-exporter, trivy-system) never were at the root.
        and r.name.removeprefix("ttbt2-prod-netpol-") in PLATFORM_NAMESPACES
    ]
    assert len(moved) == len(PLATFORM_NAMESPACES)
    for resource in moved:
        old = _stack_urn("prod", NETWORK_POLICY, resource.name, "pulumi:pulumi:Stack")
        assert old in resource.option("aliases"), resource.urn
