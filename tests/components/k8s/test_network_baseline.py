"""Baseline NetworkPolicies of the platform namespaces (CKV2_K8S_6)."""

from __future__ import annotations

import kubernetes_validate
import pytest

from components.k8s.network_baseline import NAME, baseline_spec
from offline.evaluate import evaluate
from policies.ttbt2_policies import kubernetes as k8s_policies
from tests.conftest import STACKS, of_type
from tests.support.stacks import StackRenders


def test_baseline_admits_the_namespace_monitoring_and_the_vpc_only() -> None:
    spec = baseline_spec("10.30.0.0/16", ["monitoring"])
    assert spec["podSelector"] == {} and spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    assert rule["from"] == [
        {"podSelector": {}},
        {
            "namespaceSelector": {
                "matchExpressions": [
                    {
                        "key": "kubernetes.io/metadata.name",
                        "operator": "In",
                        "values": ["monitoring"],
                    }
                ]
            }
        },
        {"ipBlock": {"cidr": "10.30.0.0/16"}},
    ]
    kubernetes_validate.validate(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": NAME, "namespace": "velero"},
            "spec": spec,
        },
        "1.33",
        strict=True,
    )


def test_monitoring_itself_needs_no_namespace_selector() -> None:
    spec = baseline_spec("10.30.0.0/16", [])
    assert [list(source) for source in spec["ingress"][0]["from"]] == [
        ["podSelector"],
        ["ipBlock"],
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_of_the_stack_has_a_network_policy(
    stack: str, stacks: StackRenders
) -> None:
    graph = stacks.graph(stack)
    namespaces = {
        r.props["metadata"]["name"] for r in of_type(graph, "kubernetes:core/v1:Namespace")
    }
    covered = {
        r.props["metadata"]["namespace"]
        for r in of_type(graph, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    assert namespaces and namespaces <= covered, sorted(namespaces - covered)
    findings = evaluate(graph, [k8s_policies.namespace_network_policy])
    assert [f for f in findings if f.kind == "violation"] == []
