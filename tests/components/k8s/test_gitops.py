"""GitOps component (Argo CD), rendered on the mock engine and checked offline.

AppProject and Applications are validated against the vendored Argo CD CRDs, the Helm values
against the vendored values.yaml (Redis HA values against its subchart's).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.k8s.gitops import (
    API_VERSION,
    CHART_DIR,
    CHART_REPOSITORY,
    IN_CLUSTER,
    NAMESPACE,
    NAMESPACED_KINDS,
    VALUES_COMMENTED,
    VALUES_FREE_FORM,
    GitOps,
    GitOpsArgs,
    helm_values,
)
from offline.engine import run_program
from offline.graph import Resource, StackGraph
from tests.conftest import of_type, one
from tests.support.validate.crds import validate_custom_resource
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

RELEASE = "kubernetes:helm.sh/v3:Release"
CR_PREFIX = f"kubernetes:{API_VERSION}:"
CRD_DIRS = [CHART_DIR / "crds"]
REPO = "https://github.com/ttbt2/app-config.git"

DEV = GitOpsArgs(environment="dev", config_repo=REPO, service_namespaces=["ttbt2"])
STAGING = replace(DEV, environment="staging", service_namespaces=["ttbt2", "ttbt2-batch"])
PROD = GitOpsArgs(
    environment="prod",
    config_repo=REPO,
    service_namespaces=["ttbt2", "ttbt2-batch"],
    hostname="argocd.internal.ttbt2.example",
    oidc_issuer="https://login.ttbt2.example/realms/ttbt2",
    oidc_client_id="argocd",
    oidc_client_secret_ref="$argocd-oidc:client-secret",
    oidc_admin_group="sre",
)
ALL = (DEV, STAGING, PROD)
CASES = [
    pytest.param(args, preview, id=f"{args.environment}-{'preview' if preview else 'up'}")
    for args in ALL
    for preview in (True, False)
]

_cache: dict[tuple[str, bool], StackGraph] = {}


def render(args: GitOpsArgs, *, preview: bool) -> StackGraph:
    """Render the component alone, with the caller's Kubernetes provider (nothing contacted)."""
    key = (repr(args), preview)
    if key not in _cache:

        def program() -> None:
            provider = k8s.Provider("k8s", kubeconfig="{}")
            GitOps("gitops", args, opts=pulumi.ResourceOptions(providers={"kubernetes": provider}))

        _cache[key] = run_program(
            program, project="ttbt2-platform", stack=args.environment, preview=preview
        )
    return _cache[key]


def as_object(resource: Resource) -> dict[str, Any]:
    props = resource.props
    return {k: copy.deepcopy(props[k]) for k in ("apiVersion", "kind", "metadata", "spec")}


def custom_resources(graph: StackGraph) -> list[Resource]:
    return [r for r in graph.resources if r.type.startswith(CR_PREFIX)]


def applications(graph: StackGraph) -> dict[str, dict[str, Any]]:
    return {r.props["metadata"]["name"]: r.props for r in of_type(graph, CR_PREFIX + "Application")}


# ---- custom resources against the CRDs ------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_project_and_applications_match_the_vendored_crds(args: GitOpsArgs, preview: bool) -> None:
    resources = custom_resources(render(args, preview=preview))
    kinds = sorted(r.props["kind"] for r in resources)
    assert kinds == sorted(["AppProject"] + ["Application"] * len(args.service_namespaces))
    for r in resources:
        assert validate_custom_resource(as_object(r), CRD_DIRS) == [], r.name


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_broken_copies_are_rejected_by_the_crd_check(args: GitOpsArgs, preview: bool) -> None:
    for r in custom_resources(render(args, preview=preview)):
        obj = as_object(r)
        first = sorted(obj["spec"])[0]
        typo = copy.deepcopy(obj)
        typo["spec"][first + "x"] = typo["spec"].pop(first)
        errors = validate_custom_resource(typo, CRD_DIRS)
        assert any(f"$.spec.{first}x: unknown field" in e for e in errors), errors


# ---- AppProject -----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_project_allows_one_repository_its_namespaces_and_no_cluster_kinds(
    args: GitOpsArgs, preview: bool
) -> None:
    (project,) = of_type(render(args, preview=preview), CR_PREFIX + "AppProject")
    assert project.props["metadata"] == {
        "name": f"ttbt2-{args.environment}",
        "namespace": NAMESPACE,
        "labels": {"environment": args.environment},
    }
    spec = project.props["spec"]
    assert spec["sourceRepos"] == [REPO]
    assert spec["destinations"] == [
        {"server": IN_CLUSTER, "namespace": ns} for ns in args.service_namespaces
    ]
    assert spec["clusterResourceWhitelist"] == []
    kinds = {(k["group"], k["kind"]) for k in spec["namespaceResourceWhitelist"]}
    assert kinds == set(NAMESPACED_KINDS)
    assert {k for _, k in kinds} == {
        "Rollout",
        "AnalysisTemplate",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "VerticalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ServiceMonitor",
        "ConfigMap",
        "ServiceAccount",
    }
    assert ("", "Secret") not in kinds
    assert spec["orphanedResources"] == {"warn": True}
    # No wildcard anywhere: a "*" would reopen what the lists close.
    assert "*" not in repr(spec)


# ---- Applications ---------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_one_application_per_namespace_on_its_env_path(args: GitOpsArgs, preview: bool) -> None:
    apps = applications(render(args, preview=preview))
    assert sorted(apps) == sorted(args.service_namespaces)
    expected_revision = "release/prod" if args.environment == "prod" else "main"
    for ns, app in apps.items():
        assert app["metadata"]["namespace"] == NAMESPACE
        assert "finalizers" not in app["metadata"], "deleting an Application must not cascade"
        spec = app["spec"]
        assert spec["project"] == f"ttbt2-{args.environment}"
        assert spec["source"] == {
            "repoURL": REPO,
            "targetRevision": expected_revision,
            "path": f"envs/{args.environment}/{ns}",
        }
        assert spec["destination"] == {"server": IN_CLUSTER, "namespace": ns}


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_sync_is_automated_outside_prod_and_manual_in_prod(args: GitOpsArgs, preview: bool) -> None:
    for app in applications(render(args, preview=preview)).values():
        policy = app["spec"]["syncPolicy"]
        if args.environment == "prod":
            assert "automated" not in policy
        else:
            assert policy["automated"] == {"prune": True, "selfHeal": True, "allowEmpty": False}
        assert "PruneLast=true" in policy["syncOptions"]
        assert "CreateNamespace=true" not in policy["syncOptions"]
        assert policy["retry"]["limit"] > 0


def test_a_stack_may_pin_another_revision() -> None:
    apps = applications(render(replace(PROD, target_revision="v2026.11.1"), preview=False))
    assert {a["spec"]["source"]["targetRevision"] for a in apps.values()} == {"v2026.11.1"}


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_custom_resources_wait_for_the_release(args: GitOpsArgs, preview: bool) -> None:
    graph = render(args, preview=preview)
    release = one(graph, RELEASE)
    project = one(graph, CR_PREFIX + "AppProject")
    assert release.urn in project.dependencies
    for app in of_type(graph, CR_PREFIX + "Application"):
        assert {release.urn, project.urn} <= set(app.dependencies)


# ---- Argo CD install ------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_release_installs_the_vendored_chart_in_a_restricted_namespace(
    args: GitOpsArgs, preview: bool
) -> None:
    graph = render(args, preview=preview)
    ns = one(graph, "kubernetes:core/v1:Namespace")
    assert ns.props["metadata"]["name"] == NAMESPACE
    for mode in ("enforce", "audit", "warn"):
        assert ns.props["metadata"]["labels"][f"pod-security.kubernetes.io/{mode}"] == "restricted"
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    release = one(graph, RELEASE)
    props = release.props
    assert props["chart"] == chart["name"] == "argo-cd"
    assert props["version"] == chart["version"]
    assert props["repositoryOpts"] == {"repo": CHART_REPOSITORY}
    assert props["namespace"] == NAMESPACE and props.get("createNamespace") is False
    assert props["atomic"] is True and not props.get("skipCrds")
    assert ns.urn in release.dependencies


def _unknown_paths(values: dict[str, Any]) -> list[str]:
    chart = load_chart_values(CHART_DIR)
    redis_ha = load_chart_values(CHART_DIR / "charts" / "redis-ha")
    problems = unknown_value_paths(values, chart, set(VALUES_FREE_FORM))
    # ``redis-ha.enabled`` is the parent's dependency condition, not a subchart value.
    subchart = {k: v for k, v in values["redis-ha"].items() if k != "enabled"}
    problems += [f"redis-ha.{p}" for p in unknown_value_paths(subchart, redis_ha, set())]
    return sorted(p for p in problems if p not in VALUES_COMMENTED)


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_every_helm_value_path_exists_in_the_vendored_values(
    args: GitOpsArgs, preview: bool
) -> None:
    values = one(render(args, preview=preview), RELEASE).props["values"]
    assert values == helm_values(args)
    assert _unknown_paths(values) == []
    typo = copy.deepcopy(values)
    typo["configs"]["cm"]["admin.enable"] = typo["configs"]["cm"].pop("admin.enabled")
    assert _unknown_paths(typo) == ['configs.cm["admin.enable"]']


def test_commented_values_are_documented_in_the_vendored_values() -> None:
    text = (CHART_DIR / "values.yaml").read_text()
    assert "    # oidc.config: |" in text
    assert sorted(VALUES_COMMENTED) == ['configs.cm["oidc.config"]']


@pytest.mark.parametrize("args", ALL, ids=lambda a: a.environment)
def test_argo_cd_is_private_and_has_no_local_admin(args: GitOpsArgs) -> None:
    values = helm_values(args)
    cm = values["configs"]["cm"]
    assert cm["admin.enabled"] is False
    assert cm["exec.enabled"] is False
    assert values["server"]["service"] == {"type": "ClusterIP"}
    assert values["server"]["ingress"] == {"enabled": False}
    assert values["dex"] == {"enabled": False}
    assert values["configs"]["rbac"]["policy.default"] == ""
    if args.sso:
        oidc = yaml.safe_load(cm["oidc.config"])
        assert oidc["issuer"] == args.oidc_issuer
        assert oidc["clientID"] == args.oidc_client_id
        # A reference to a Secret key, never the secret itself.
        assert oidc["clientSecret"] == "$argocd-oidc:client-secret"
        assert values["configs"]["rbac"]["policy.csv"] == "g, sre, role:admin\n"
        assert values["global"]["domain"] == args.hostname
    else:
        assert "oidc.config" not in cm
        assert values["configs"]["rbac"]["policy.csv"] == ""


@pytest.mark.parametrize("args", ALL, ids=lambda a: a.environment)
def test_argo_cd_is_highly_available_in_prod_and_restricted_everywhere(args: GitOpsArgs) -> None:
    values = helm_values(args)
    prod = args.environment == "prod"
    assert values["redis-ha"]["enabled"] is prod
    assert values["controller"]["replicas"] == 1
    for component in ("server", "repoServer", "applicationSet"):
        assert values[component]["replicas"] == (2 if prod else 1), component
        assert values[component]["pdb"]["enabled"] is prod, component
    assert values["global"]["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for component in ("controller", "server", "repoServer", "applicationSet"):
        ctx = values[component]["containerSecurityContext"]
        assert ctx["allowPrivilegeEscalation"] is False, component
        assert ctx["capabilities"] == {"drop": ["ALL"]}, component
        assert ctx["runAsNonRoot"] is True and ctx["readOnlyRootFilesystem"] is True, component
        assert values[component]["metrics"]["serviceMonitor"]["enabled"] is True, component
        assert set(values[component]["resources"]) == {"requests", "limits"}, component


# ---- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"config_repo": "git@github.com:ttbt2/app-config.git"}, "ttbt2:appConfigRepo"),
        ({"config_repo": "http://github.com/ttbt2/app-config.git"}, "https Git URL"),
        ({"service_namespaces": []}, "at least one"),
        ({"service_namespaces": ["a", "a"]}, "unique"),
        ({"service_namespaces": ["kube-system"]}, "kube-system"),
        ({"target_revision": "main..x"}, "ttbt2:gitopsTargetRevision"),
        ({"oidc_admin_group": ""}, "missing \\['oidc_admin_group'\\]"),
        ({"oidc_issuer": "http://login.example"}, "oidc_issuer"),
        ({"oidc_client_secret_ref": "hunter2"}, "\\$<secret>:<key>"),
        ({"hostname": ""}, "hostname"),
        ({"environment": "Prod"}, "environment"),
    ],
)
def test_bad_arguments_are_refused_with_the_key_named(change: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        replace(PROD, **change)
