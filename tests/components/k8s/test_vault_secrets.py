"""Vault Secrets Operator component, rendered on the mock engine and checked offline.

Custom resources are checked against the vendored CRDs, core objects against the Kubernetes
1.33 schemas (kubernetes-validate) and the Helm values against the vendored values.yaml.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.k8s.vault_secrets import (
    API_VERSION,
    CHART_DIR,
    CHART_REPOSITORY,
    OPERATOR_NAMESPACE,
    VALUES_FREE_FORM,
    VaultSecretsOperator,
    VaultSecretsOperatorArgs,
    helm_values,
)
from offline.engine import run_program
from offline.graph import Resource, StackGraph
from tests.conftest import of_type, one
from tests.support.validate.crds import validate_custom_resource
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

CRD_DIRS = [CHART_DIR / "crds"]
K8S_VERSION = "1.33"
COMPONENT = "ttbt2:k8s:VaultSecretsOperator"
RELEASE = "kubernetes:helm.sh/v3:Release"
CR_PREFIX = f"kubernetes:{API_VERSION}:"
SERVICES = ["api", "worker"]
CRB = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"


def deployment_services(args: VaultSecretsOperatorArgs) -> list[str]:
    """The services whose ServiceAccount the component creates (not delivered as Rollouts)."""
    return [s for s in args.services if s not in args.rollout_services]


BASE = VaultSecretsOperatorArgs(
    environment="prod",
    vault_address="https://vault.ttbt2.example:8200",
    vault_namespace="admin/ttbt2",
    kubernetes_auth_mount="kubernetes-prod",
    kv_mount="kv",
    database_mount="database-prod",
    services=SERVICES,
    app_namespace="ttbt2",
    rollout_services=("api",),
    ca_cert_secret="vault-ca",
    refresh_after="15m",
)
DEV = replace(
    BASE,
    environment="dev",
    vault_namespace="",
    kubernetes_auth_mount="kubernetes-dev",
    database_mount="database-dev",
    services=["api"],
    rollout_services=(),
    ca_cert_secret="",
    refresh_after="1h",
)

_cache: dict[tuple[str, bool], tuple[StackGraph, VaultSecretsOperator]] = {}


def render(args: VaultSecretsOperatorArgs, *, preview: bool) -> tuple[StackGraph, Any]:
    """Render the component alone, with the caller's Kubernetes provider (nothing contacted)."""
    key = (repr(args), preview)
    if key not in _cache:
        built: dict[str, VaultSecretsOperator] = {}

        def program() -> None:
            provider = k8s.Provider("k8s", kubeconfig="{}")
            built["vso"] = VaultSecretsOperator(
                "vso", args, opts=pulumi.ResourceOptions(providers={"kubernetes": provider})
            )

        graph = run_program(
            program, project="ttbt2-platform", stack=args.environment, preview=preview
        )
        _cache[key] = (graph, built["vso"])
    return _cache[key]


CASES = [
    pytest.param(args, preview, id=f"{args.environment}-{'preview' if preview else 'up'}")
    for args in (BASE, DEV)
    for preview in (True, False)
]


def custom_resources(graph: StackGraph) -> list[Resource]:
    return [r for r in graph.resources if r.type.startswith(CR_PREFIX)]


def as_object(resource: Resource) -> dict[str, Any]:
    """The Kubernetes object a recorded resource asks for, rebuilt from its inputs."""
    props = resource.props
    obj = {key: copy.deepcopy(props[key]) for key in ("apiVersion", "kind", "metadata")}
    if "spec" in props:
        obj["spec"] = copy.deepcopy(props["spec"])
    for key, value in props.items():
        if key not in obj:
            obj[key] = copy.deepcopy(value)
    return obj


def cr(graph: StackGraph, kind: str, name: str) -> Resource:
    found = [r for r in of_type(graph, CR_PREFIX + kind) if r.props["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, got {[r.name for r in found]}"
    return found[0]


# ---- schemas -------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_every_custom_resource_matches_the_vendored_crds(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    resources = custom_resources(graph)
    kinds = sorted(r.props["kind"] for r in resources)
    n = len(args.services)
    assert kinds == sorted(
        ["VaultConnection"] + ["VaultAuth", "VaultStaticSecret", "VaultDynamicSecret"] * n
    )
    for resource in resources:
        assert resource.type == f"{CR_PREFIX}{resource.props['kind']}"
        assert validate_custom_resource(as_object(resource), CRD_DIRS) == [], resource.name


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_broken_copies_of_each_custom_resource_are_rejected(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    for resource in custom_resources(graph):
        obj = as_object(resource)
        kind, name = obj["kind"], obj["metadata"]["name"]
        first = sorted(obj["spec"])[0]

        typo = copy.deepcopy(obj)
        typo["spec"][first + "x"] = typo["spec"].pop(first)
        errors = validate_custom_resource(typo, CRD_DIRS)
        assert f"{kind} {name}: $.spec.{first}x: unknown field (did you mean '{first}'?); " in (
            "\n".join(errors) + " "
        )

        wrong = copy.deepcopy(obj)
        wrong["spec"][first] = 42 if isinstance(obj["spec"][first], str) else "42"
        errors = validate_custom_resource(wrong, CRD_DIRS)
        assert len(errors) == 1 and errors[0].startswith(f"{kind} {name}: $.spec.{first}: "), errors


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_core_objects_pass_the_kubernetes_schema(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    core = (
        of_type(graph, "kubernetes:core/v1:Namespace")
        + of_type(graph, "kubernetes:core/v1:ServiceAccount")
        + of_type(graph, CRB)
    )
    assert len(core) == 1 + len(deployment_services(args)) + 1
    for resource in core:
        obj = as_object(resource)
        assert kubernetes_validate.validate(obj, K8S_VERSION, strict=True) == K8S_VERSION
        broken = copy.deepcopy(obj)
        broken["metadata"]["lables"] = broken["metadata"].pop("labels")
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


# ---- operator install ----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_operator_namespace_enforces_the_restricted_profile(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    ns = one(graph, "kubernetes:core/v1:Namespace")
    assert ns.props["metadata"]["name"] == OPERATOR_NAMESPACE
    labels = ns.props["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_release_installs_the_vendored_chart_version_into_the_operator_namespace(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    release = one(graph, RELEASE)
    props = release.props
    assert props["chart"] == chart["name"]
    assert props["version"] == chart["version"]
    assert props["repositoryOpts"] == {"repo": CHART_REPOSITORY}
    assert props["namespace"] == OPERATOR_NAMESPACE
    assert props["atomic"] is True and props["cleanupOnFail"] is True
    assert props.get("createNamespace") is False
    assert not props.get("skipCrds"), "the chart's CRDs are what the custom resources need"
    ns = one(graph, "kubernetes:core/v1:Namespace")
    assert ns.urn in release.dependencies


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_every_helm_value_path_exists_in_the_vendored_values(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    values = one(graph, RELEASE).props["values"]
    assert values == helm_values(args.environment)
    chart_values = load_chart_values(CHART_DIR)
    assert unknown_value_paths(values, chart_values, set(VALUES_FREE_FORM)) == []
    # The check is live: a typo in what we set is caught.
    typo = copy.deepcopy(values)
    typo["controller"]["replica"] = typo["controller"].pop("replicas")
    assert unknown_value_paths(typo, chart_values, set(VALUES_FREE_FORM)) == ["controller.replica"]


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_helm_values_leave_connection_and_auth_to_explicit_objects(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    values = one(graph, RELEASE).props["values"]
    assert values["defaultVaultConnection"] == {"enabled": False}
    assert values["defaultAuthMethod"] == {"enabled": False}
    assert values["controller"]["manager"]["globalVaultAuthOptions"] == {
        "allowDefaultGlobals": False
    }
    assert values["telemetry"]["serviceMonitor"]["enabled"] is False
    assert values["hooks"]["upgradeCRDs"]["enabled"] is True


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_controller_is_sized_and_highly_available_outside_dev(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    controller = one(graph, RELEASE).props["values"]["controller"]
    for container in (controller["manager"], controller["kubeRbacProxy"]):
        resources = container["resources"]
        assert set(resources) == {"requests", "limits"}
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    if args.environment == "dev":
        assert controller["replicas"] == 1
        assert controller["podDisruptionBudget"]["enabled"] is False
    else:
        assert controller["replicas"] == 2
        pdb = controller["podDisruptionBudget"]
        # The chart renders every non-empty bound; the API refuses a PDB with both.
        assert pdb == {"enabled": True, "maxUnavailable": "1", "minAvailable": ""}
        (spread,) = controller["topologySpreadConstraints"]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_operator_pods_pass_the_restricted_profile_and_the_pod_schema(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    controller = one(graph, RELEASE).props["values"]["controller"]
    # The pod the chart's deployment template builds from these values (and its hook Jobs
    # use the same security contexts).
    containers = [
        {
            "name": name,
            "image": "example",
            "resources": controller[key]["resources"],
            "securityContext": controller["securityContext"],
        }
        for name, key in (("manager", "manager"), ("kube-rbac-proxy", "kubeRbacProxy"))
    ]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "vso"},
        "spec": {
            "containers": containers,
            "securityContext": controller["podSecurityContext"],
            "tolerations": controller["tolerations"],
            "topologySpreadConstraints": controller.get("topologySpreadConstraints", []),
        },
    }
    assert kubernetes_validate.validate(pod, K8S_VERSION, strict=True) == K8S_VERSION
    pod_ctx = controller["podSecurityContext"]
    assert pod_ctx["runAsNonRoot"] is True
    assert pod_ctx["seccompProfile"]["type"] == "RuntimeDefault"
    ctx = controller["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"]["drop"] == ["ALL"]
    assert "add" not in ctx["capabilities"]
    assert not ctx.get("privileged")


# ---- per-service wiring --------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_connection_points_at_vault_over_verified_tls(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, vso = render(args, preview=preview)
    (conn,) = of_type(graph, CR_PREFIX + "VaultConnection")
    meta, spec = conn.props["metadata"], conn.props["spec"]
    assert meta["name"] == vso.connection_name
    assert meta["namespace"] == OPERATOR_NAMESPACE
    assert spec["address"] == args.vault_address
    assert spec["skipTLSVerify"] is False
    if args.ca_cert_secret:
        assert spec["caCertSecretRef"] == args.ca_cert_secret
    else:
        assert "caCertSecretRef" not in spec


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_each_service_authenticates_as_its_own_role_and_service_account(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, vso = render(args, preview=preview)
    accounts = {
        r.props["metadata"]["name"]: r for r in of_type(graph, "kubernetes:core/v1:ServiceAccount")
    }
    # A delivered service's account comes with its Rollout (and IRSA role), not from here.
    assert sorted(accounts) == sorted(deployment_services(args))
    for service in args.services:
        namespace = args.namespace_of(service)
        assert vso.namespaces[service] == namespace
        if service in args.rollout_services:
            assert namespace == service
        else:
            assert namespace == args.app_namespace
            account = accounts[service]
            assert account.props["metadata"]["namespace"] == namespace
            assert account.props["automountServiceAccountToken"] is False

        auth = cr(graph, "VaultAuth", vso.auth_names[service])
        assert auth.props["metadata"]["namespace"] == namespace
        spec = auth.props["spec"]
        assert spec["method"] == "kubernetes"
        assert spec["mount"] == args.kubernetes_auth_mount
        assert spec["kubernetes"] == {
            "role": service,
            "serviceAccount": service,
            "audiences": ["vault"],
        }
        # The connection is in the operator's namespace; the prefix reaches it from any other.
        assert spec["vaultConnectionRef"] == f"{OPERATOR_NAMESPACE}/{vso.connection_name}"
        if args.vault_namespace:
            assert spec["namespace"] == args.vault_namespace
        else:
            assert "namespace" not in spec


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_each_service_syncs_its_config_and_database_credentials(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, vso = render(args, preview=preview)
    for service in args.services:
        kind = "argo.Rollout" if service in args.rollout_services else "Deployment"
        restart = [{"kind": kind, "name": service}]
        namespace = args.namespace_of(service)

        static = cr(graph, "VaultStaticSecret", f"{service}-config").props
        assert static["metadata"]["namespace"] == namespace
        spec = static["spec"]
        assert spec["vaultAuthRef"] == vso.auth_names[service]
        assert spec["type"] == "kv-v2"
        assert spec["mount"] == args.kv_mount
        assert spec["path"] == f"ttbt2/{args.environment}/{service}/config"
        assert spec["refreshAfter"] == args.refresh_after
        assert (
            spec["destination"]["name"] == vso.config_secret_names[service] == f"{service}-config"
        )
        assert spec["destination"]["create"] is True
        assert spec["rolloutRestartTargets"] == restart

        dynamic = cr(graph, "VaultDynamicSecret", f"{service}-db").props
        assert dynamic["metadata"]["namespace"] == namespace
        spec = dynamic["spec"]
        assert spec["vaultAuthRef"] == vso.auth_names[service]
        assert spec["mount"] == args.database_mount
        assert spec["path"] == f"creds/{service}"
        assert spec["destination"]["name"] == vso.database_secret_names[service] == f"{service}-db"
        assert spec["destination"]["create"] is True
        assert 0 < spec["renewalPercent"] <= 90
        assert spec["revoke"] is True
        assert spec["rolloutRestartTargets"] == restart

        for secret in (static, dynamic):
            if args.vault_namespace:
                assert secret["spec"]["namespace"] == args.vault_namespace
            else:
                assert "namespace" not in secret["spec"]


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_every_account_that_logs_in_may_review_its_own_token(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    """Vault reviews each login with the client's own token: all of them hold auth-delegator."""
    graph, _ = render(args, preview=preview)
    binding = one(graph, CRB).props
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "system:auth-delegator",
    }
    subjects = {(s["kind"], s["namespace"], s["name"]) for s in binding["subjects"]}
    expected = {("ServiceAccount", args.namespace_of(s), s) for s in args.services}
    assert subjects == expected
    assert len(binding["subjects"]) == len(args.services)


# ---- graph shape ---------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_custom_resources_wait_for_the_release_and_their_references(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    release = one(graph, RELEASE)
    for resource in custom_resources(graph):
        assert release.urn in resource.dependencies, resource.name
    conn = one(graph, CR_PREFIX + "VaultConnection")
    accounts = {
        r.props["metadata"]["name"]: r.urn
        for r in of_type(graph, "kubernetes:core/v1:ServiceAccount")
    }
    for service in args.services:
        auth = cr(graph, "VaultAuth", service)
        assert conn.urn in auth.dependencies
        if service in accounts:
            assert accounts[service] in auth.dependencies
        for kind, name in (("VaultStaticSecret", "config"), ("VaultDynamicSecret", "db")):
            assert auth.urn in cr(graph, kind, f"{service}-{name}").dependencies


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_children_hang_off_the_component_and_use_the_callers_provider(
    args: VaultSecretsOperatorArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    component = one(graph, COMPONENT)
    (provider,) = of_type(graph, "pulumi:providers:kubernetes")
    assert provider.name == "k8s", "the component must not build a provider of its own"
    children = [r for r in graph.resources if r.custom and not r.type.startswith("pulumi:")]
    # namespace, release, connection, token-review binding; per service auth and two secrets;
    # and the accounts of the Deployment services.
    assert len(children) == 4 + 3 * len(args.services) + len(deployment_services(args))
    installation = one(graph, "ttbt2:k8s:NamespacedRelease")
    assert installation.parent == component.urn
    for child in children:
        assert child.parent in (component.urn, installation.urn), child.name
        assert child.name.startswith("vso-"), child.name
        assert child.provider is not None and child.provider.startswith(provider.urn + "::")


def test_component_exposes_the_names_it_documents() -> None:
    _, vso = render(BASE, preview=False)
    assert vso.connection_name == "vault"
    assert vso.namespaces == {"api": "api", "worker": "ttbt2"}
    assert vso.auth_names == {"api": "api", "worker": "worker"}
    assert vso.config_secret_names == {"api": "api-config", "worker": "worker-config"}
    assert vso.database_secret_names == {"api": "api-db", "worker": "worker-db"}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"vault_address": "http://vault:8200"}, "https://"),
        ({"refresh_after": "1d"}, "refresh_after"),
        ({"services": []}, "at least one"),
        ({"services": ["api", "api"]}, "unique"),
        ({"services": ["API"]}, "DNS label"),
        ({"kv_mount": ""}, "kv_mount"),
        ({"app_namespace": "Apps"}, "app_namespace"),
        ({"rollout_services": ("web",)}, r"rollout_services \['web'\] are not in services"),
        ({"ca_cert_secret": "vault_ca"}, "ca_cert_secret"),
    ],
)
def test_arguments_the_operator_would_reject_are_refused(
    change: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        replace(BASE, **change)
