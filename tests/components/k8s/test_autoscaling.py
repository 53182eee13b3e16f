"""metrics-server and the Vertical Pod Autoscaler, rendered on the mock engine.

Seed 4.8.1. The Helm values are checked against the vendored values.yaml, the namespace against
the Kubernetes schema.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.k8s.autoscaling import (
    METRICS_SERVER_DIR,
    METRICS_SERVER_FREE_FORM,
    METRICS_SERVER_REPOSITORY,
    VPA_DIR,
    VPA_FREE_FORM,
    VPA_REPOSITORY,
    PodAutoscaling,
    PodAutoscalingArgs,
    metrics_server_values,
    vpa_values,
)
from offline.engine import run_program
from offline.graph import StackGraph
from tests.conftest import of_type, one
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

RELEASE = "kubernetes:helm.sh/v3:Release"
ENVS = ("dev", "staging", "prod")
CASES = pytest.mark.parametrize(
    ("environment", "preview"),
    [(e, p) for e in ENVS for p in (True, False)],
    ids=[f"{e}-{'preview' if p else 'update'}" for e in ENVS for p in (True, False)],
)

_graphs: dict[tuple[str, bool], StackGraph] = {}


def graph(environment: str, preview: bool) -> StackGraph:
    key = (environment, preview)
    if key not in _graphs:

        def program() -> None:
            provider = k8s.Provider("k8s", kubeconfig="{}")
            PodAutoscaling(
                "autoscaling",
                PodAutoscalingArgs(environment=environment),
                opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
            )

        _graphs[key] = run_program(program, project="t", stack=environment, preview=preview)
    return _graphs[key]


def releases(g: StackGraph) -> dict[str, dict[str, Any]]:
    return {r.props["name"]: r.props for r in of_type(g, RELEASE)}


@CASES
def test_releases_install_the_vendored_chart_versions(environment: str, preview: bool) -> None:
    found = releases(graph(environment, preview))
    assert set(found) == {"metrics-server", "vertical-pod-autoscaler"}
    for name, chart_dir, repo in (
        ("metrics-server", METRICS_SERVER_DIR, METRICS_SERVER_REPOSITORY),
        ("vertical-pod-autoscaler", VPA_DIR, VPA_REPOSITORY),
    ):
        chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
        props = found[name]
        assert props["chart"] == chart["name"]
        assert props["version"] == chart["version"]
        assert props["repositoryOpts"] == {"repo": repo}
        assert props["atomic"] is True
    assert found["metrics-server"]["namespace"] == "kube-system"
    assert found["vertical-pod-autoscaler"]["namespace"] == "vertical-pod-autoscaler"
    assert found["metrics-server"]["values"] == metrics_server_values(environment)
    assert found["vertical-pod-autoscaler"]["values"] == vpa_values(environment)


@pytest.mark.parametrize("environment", ENVS)
def test_every_helm_value_path_exists_in_the_vendored_values(environment: str) -> None:
    for values, chart_dir, free in (
        (metrics_server_values(environment), METRICS_SERVER_DIR, METRICS_SERVER_FREE_FORM),
        (vpa_values(environment), VPA_DIR, VPA_FREE_FORM),
    ):
        chart_values = load_chart_values(chart_dir)
        assert unknown_value_paths(values, chart_values, set(free)) == []
        typo = copy.deepcopy(values)
        typo["replica"] = 3
        assert unknown_value_paths(typo, chart_values, set(free)) == ["replica"]


@pytest.mark.parametrize(("environment", "replicas"), [("dev", 1), ("staging", 2), ("prod", 2)])
def test_metrics_server_is_highly_available_outside_dev(environment: str, replicas: int) -> None:
    values = metrics_server_values(environment)
    assert values["replicas"] == replicas
    assert values["podDisruptionBudget"]["enabled"] is (replicas > 1)
    keys = {c["topologyKey"] for c in values["topologySpreadConstraints"]}
    assert keys == (
        {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} if replicas > 1 else set()
    )


@pytest.mark.parametrize("environment", ENVS)
def test_metrics_server_meets_the_restricted_profile(environment: str) -> None:
    values = metrics_server_values(environment)
    pod = values["podSecurityContext"]
    container = values["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["allowPrivilegeEscalation"] is False
    assert container["readOnlyRootFilesystem"] is True
    assert container["runAsNonRoot"] is True
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["seccompProfile"] == {"type": "RuntimeDefault"}
    # Both contexts must be valid Kubernetes objects where the chart puts them.
    pod_spec = {
        "securityContext": pod,
        "containers": [{"name": "metrics-server", "image": "x", "securityContext": container}],
    }
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "m"}, "spec": pod_spec}
    assert kubernetes_validate.validate(obj, "1.33", strict=True) == "1.33"


@pytest.mark.parametrize(
    ("environment", "applies"), [("dev", True), ("staging", True), ("prod", False)]
)
def test_prod_is_recommendation_only(environment: str, applies: bool) -> None:
    values = vpa_values(environment)
    assert values["recommender"]["enabled"] is True
    assert values["updater"]["enabled"] is applies
    assert values["admissionController"]["enabled"] is applies


@pytest.mark.parametrize("environment", ENVS)
def test_vpa_pdbs_never_block_a_drain(environment: str) -> None:
    values = vpa_values(environment)
    for component in ("recommender", "updater", "admissionController"):
        spec = values[component]
        # A PDB of minAvailable 1 over a single replica would block every node drain.
        if spec["podDisruptionBudget"]["enabled"]:
            assert spec["replicas"] >= 2 and spec["enabled"]
        if spec["replicas"] > 1 and component != "admissionController":
            assert spec["leaderElection"]["enabled"] is True


@pytest.mark.parametrize("environment", ENVS)
def test_vpa_pods_meet_the_restricted_profile(environment: str) -> None:
    values = vpa_values(environment)
    assert values["podSecurityContext"]["runAsNonRoot"] is True
    assert values["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = values["containerSecurityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}


@CASES
def test_vpa_namespace_enforces_the_restricted_profile(environment: str, preview: bool) -> None:
    ns = one(graph(environment, preview), "kubernetes:core/v1:Namespace")
    obj = {"apiVersion": "v1", "kind": "Namespace", **ns.props}
    assert kubernetes_validate.validate(obj, "1.33", strict=True) == "1.33"
    labels = ns.props["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    assert labels["environment"] == environment


@CASES
def test_vpa_waits_for_its_namespace_and_the_metrics_api(environment: str, preview: bool) -> None:
    g = graph(environment, preview)
    vpa = one(g, RELEASE, "autoscaling-vpa")
    assert one(g, RELEASE, "metrics-server").urn in vpa.dependencies
    assert one(g, "kubernetes:core/v1:Namespace").urn in vpa.dependencies


def test_bad_environment_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="environment must be a DNS label, got 'Prod'"):
        PodAutoscalingArgs(environment="Prod")
