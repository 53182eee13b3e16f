"""The composition registers components only, and what moved into components kept its identity.

Resources that the composition used to register itself (at the stack's root) and IRSA roles
that used to hang off the cluster now live in components. Each carries an alias naming its
old URN, so ``pulumi up`` updates it in place rather than replacing it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

import offline.engine
from offline.graph import StackGraph
from offline.recorder import Recorder
from offline.stackfile import load_stack
from tests.conftest import ROOT, STACKS, render

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


class _AliasRecorder(Recorder):
    """The recorder, keeping each alias whole (the graph keeps only its name)."""

    specs: ClassVar[dict[str, list[dict[str, Any]]]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        _AliasRecorder.specs[response.urn] = [
            {
                "urn": alias.urn,
                "name": alias.spec.name,
                "type": alias.spec.type,
                "parent": alias.spec.parentUrn,
                "no_parent": alias.spec.noParent,
            }
            for alias in request.aliases
        ]
        return response


def _old_urns(stack: str, resource_type: str, specs: list[dict[str, Any]]) -> set[str]:
    """The URNs the aliases name, as this engine names a resource under a parent."""
    root = f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"
    urns = set()
    for spec in specs:
        if spec["urn"]:
            urns.add(spec["urn"])
            continue
        if not spec["name"]:
            continue  # a type alias of the provider SDK, not ours
        parent = root if spec["no_parent"] else spec["parent"]
        parent_type = parent.split("::")[2].split("$")[-1]
        kind = spec["type"] or resource_type
        urns.add(f"urn:pulumi:{stack}::{PROJECT}::{parent_type}${kind}::{spec['name']}")
    return urns


@pytest.fixture(scope="module")
def prod_with_aliases() -> tuple[StackGraph, dict[str, list[dict[str, Any]]]]:
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(offline.engine, "Recorder", _AliasRecorder)
    _AliasRecorder.specs = {}
    try:
        graph = offline.engine.run_stack(ROOT, load_stack(ROOT, "prod"), preview=False)
    finally:
        monkeypatch.undo()
    return graph, dict(_AliasRecorder.specs)


def _stack_urn(stack: str, resource_type: str, name: str, parent_type: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{parent_type}${resource_type}::{name}"


def test_moved_resources_alias_their_old_urns(
    prod_with_aliases: tuple[StackGraph, dict[str, list[dict[str, Any]]]],
) -> None:
    graph, specs = prod_with_aliases
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
    aliased: dict[str, str] = {}
    for resource in graph.resources:
        for old in _old_urns("prod", resource.type, specs[resource.urn]):
            assert old not in current, f"{resource.urn} aliases a URN still in use: {old}"
            aliased[old] = resource.urn
    assert set(aliased) == expected
    for old, new in aliased.items():
        # Same type and name: only the parent changed.
        assert new.rsplit("::", 1)[1] == old.rsplit("::", 1)[1]
        assert new.split("::")[2].split("$")[-1] == old.split("::")[2].split("$")[-1]


def test_the_graph_records_the_alias_of_each_moved_resource(
    prod_with_aliases: tuple[StackGraph, dict[str, list[dict[str, Any]]]],
) -> None:
    graph, _ = prod_with_aliases
    moved = [
        r
        for r in graph.resources
        if r.type == NETWORK_POLICY and r.name.startswith("ttbt2-prod-netpol-")
    ]
    assert len(moved) == len(PLATFORM_NAMESPACES)
    for resource in moved:
        assert resource.name in resource.option("aliases"), resource.urn
