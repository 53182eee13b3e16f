"""Argo Rollouts controller component, rendered on the mock engine and checked offline.

The Helm values are checked against the vendored values.yaml, the pod the values describe
against the Kubernetes 1.33 schema and the restricted Pod Security profile.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.k8s.rollouts import (
    ALL_PROVIDERS,
    CHART_DIR,
    CHART_REPOSITORY,
    NAMESPACE,
    VALUES_FREE_FORM,
    RolloutsController,
    RolloutsControllerArgs,
    helm_values,
)
from offline.engine import run_program
from offline.graph import StackGraph
from tests.conftest import of_type, one
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_VERSION = "1.33"
ENVS = ("dev", "staging", "prod")
CASES = [
    pytest.param(env, preview, id=f"{env}-{'preview' if preview else 'up'}")
    for env in ENVS
    for preview in (True, False)
]

_cache: dict[tuple[str, bool], StackGraph] = {}


def render(env: str, *, preview: bool) -> StackGraph:
    """Render the component alone, with the caller's Kubernetes provider (nothing contacted)."""
    if (env, preview) not in _cache:

        def program() -> None:
            provider = k8s.Provider("k8s", kubeconfig="{}")
            RolloutsController(
                "rollouts",
                RolloutsControllerArgs(environment=env),
                opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
            )

        _cache[(env, preview)] = run_program(
            program, project="ttbt2-platform", stack=env, preview=preview
        )
    return _cache[(env, preview)]


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_namespace_enforces_the_restricted_profile(env: str, preview: bool) -> None:
    ns = one(render(env, preview=preview), "kubernetes:core/v1:Namespace")
    assert ns.props["metadata"]["name"] == NAMESPACE
    labels = ns.props["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    assert kubernetes_validate.validate(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": ns.props["metadata"]},
        K8S_VERSION,
        strict=True,
    )


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_release_installs_the_vendored_chart_into_its_namespace(env: str, preview: bool) -> None:
    graph = render(env, preview=preview)
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    release = one(graph, RELEASE)
    props = release.props
    assert props["chart"] == chart["name"] == "argo-rollouts"
    assert props["version"] == chart["version"]
    assert props["repositoryOpts"] == {"repo": CHART_REPOSITORY}
    assert props["namespace"] == NAMESPACE
    assert props["atomic"] is True and props["cleanupOnFail"] is True
    assert props.get("createNamespace") is False
    assert not props.get("skipCrds")
    assert one(graph, "kubernetes:core/v1:Namespace").urn in release.dependencies


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_every_helm_value_path_exists_in_the_vendored_values(env: str, preview: bool) -> None:
    values = one(render(env, preview=preview), RELEASE).props["values"]
    assert values == helm_values(env)
    chart_values = load_chart_values(CHART_DIR)
    assert unknown_value_paths(values, chart_values, set(VALUES_FREE_FORM)) == []
    typo = copy.deepcopy(values)
    typo["controller"]["metrics"]["serviceMonitr"] = typo["controller"]["metrics"].pop(
        "serviceMonitor"
    )
    assert unknown_value_paths(typo, chart_values, set(VALUES_FREE_FORM)) == [
        "controller.metrics.serviceMonitr"
    ]


@pytest.mark.parametrize("env", ENVS)
def test_metrics_are_scraped_and_the_dashboard_is_off(env: str) -> None:
    values = helm_values(env)
    assert values["controller"]["metrics"] == {"enabled": True, "serviceMonitor": {"enabled": True}}
    assert values["dashboard"] == {"enabled": False}
    assert values["installCRDs"] is True and values["keepCRDs"] is True


@pytest.mark.parametrize("env", ENVS)
def test_controller_is_sized_and_highly_available_outside_dev(env: str) -> None:
    controller = helm_values(env)["controller"]
    resources = controller["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    if env == "dev":
        assert controller["replicas"] == 1
        assert controller["pdb"]["enabled"] is False
        assert "topologySpreadConstraints" not in controller
    else:
        assert controller["replicas"] == 2
        assert controller["pdb"] == {"enabled": True, "maxUnavailable": 1}
        (spread,) = controller["topologySpreadConstraints"]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"


@pytest.mark.parametrize("env", ENVS)
def test_controller_pod_passes_the_restricted_profile_and_the_pod_schema(env: str) -> None:
    values = helm_values(env)
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "argo-rollouts"},
        "spec": {
            "securityContext": values["podSecurityContext"],
            "containers": [
                {
                    "name": "argo-rollouts",
                    "image": "example",
                    "resources": values["controller"]["resources"],
                    "securityContext": values["containerSecurityContext"],
                }
            ],
            "tolerations": values["controller"]["tolerations"],
        },
    }
    assert kubernetes_validate.validate(pod, K8S_VERSION, strict=True) == K8S_VERSION
    assert values["podSecurityContext"]["runAsNonRoot"] is True
    assert values["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    ctx = values["containerSecurityContext"]
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["readOnlyRootFilesystem"] is True


def test_rbac_is_granted_only_for_the_alb_traffic_router() -> None:
    rbac = helm_values("prod")["providerRBAC"]
    chart = load_chart_values(CHART_DIR)["providerRBAC"]["providers"]
    # Every provider the chart knows is switched explicitly, so a new default cannot slip in.
    assert sorted(rbac["providers"]) == sorted(chart) == sorted(ALL_PROVIDERS)
    assert [p for p, on in rbac["providers"].items() if on] == ["awsLoadBalancerController"]


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_children_hang_off_the_component_and_use_the_callers_provider(
    env: str, preview: bool
) -> None:
    graph = render(env, preview=preview)
    component = one(graph, "ttbt2:k8s:RolloutsController")
    (provider,) = of_type(graph, "pulumi:providers:kubernetes")
    children = [r for r in graph.resources if r.custom and not r.type.startswith("pulumi:")]
    assert len(children) == 2
    installation = one(graph, "ttbt2:k8s:NamespacedRelease")
    assert installation.parent == component.urn
    for child in children:
        assert child.parent == installation.urn
        assert child.provider is not None and child.provider.startswith(provider.urn + "::")


@pytest.mark.parametrize("env", ["", "Prod", "prod_1"])
def test_an_environment_that_is_not_a_dns_label_is_refused(env: str) -> None:
    with pytest.raises(ValueError, match="environment must be a DNS label"):
        RolloutsControllerArgs(environment=env)
