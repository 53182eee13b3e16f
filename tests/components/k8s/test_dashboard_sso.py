"""Dashboards behind single sign-on (issue 15): Grafana's OIDC, Kibana's, the internal ALB.

Grafana's OIDC values and role mapping, Kibana behind the load balancer's OIDC sign-in, both
on the internal load balancer.

The real stacks are rendered on the mock engine; the Grafana values are checked against the
vendored chart values, the Ingresses against the Kubernetes schemas, and the role expression
is evaluated (:mod:`tests.support.jmespath_subset`, or the ``jmespath`` package when present).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pytest

from components.k8s.dashboard_access import GRAFANA, KIBANA
from components.k8s.dashboard_sso import (
    GRAFANA_OIDC_SECRET,
    GRAFANA_OIDC_SECRET_KEY,
    KIBANA_OIDC_SECRET,
    GrafanaSso,
    OidcProvider,
    RoleGroups,
    role_attribute_path,
)
from components.k8s.load_balancer_controller import SERVICE_ACCOUNT
from components.k8s.metrics import (
    GRAFANA_ADMIN_SECRET,
    GRAFANA_CHART_DIR,
    GRAFANA_VALUES_FREE_FORM,
    PROMETHEUS_CHART_DIR,
    PROMETHEUS_VALUES_COMMENTED,
    MetricsStackArgs,
    home_dashboard_path,
)
from components.monitoring import dashboards as dashboard_catalog
from offline.graph import SECRET_SIG, SECRET_SIG_KEY, Resource, StackGraph
from tests.conftest import STACKS, of_type, one, raw_settings
from tests.support import jmespath_subset
from tests.support.stacks import StackRenders
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

RELEASE = "kubernetes:helm.sh/v3:Release"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SECRET = "kubernetes:core/v1:Secret"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ALB = "alb.ingress.kubernetes.io/"
PLACEHOLDER = "offline-placeholder:vault:"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def unwrap(value: Any) -> Any:
    if is_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def grafana_values(graph: StackGraph) -> dict[str, Any]:
    found = [r for r in of_type(graph, RELEASE) if r.props["chart"] == "kube-prometheus-stack"]
    assert len(found) == 1
    return dict(found[0].props["values"]["grafana"])


def grafana_unknown_paths(values: dict[str, Any]) -> list[str]:
    """Paths of the grafana subchart values that neither chart's values.yaml has."""
    parent = load_chart_values(PROMETHEUS_CHART_DIR)["grafana"]
    chart = deep_merge(load_chart_values(GRAFANA_CHART_DIR), parent)
    free = set(GRAFANA_VALUES_FREE_FORM)
    # The chart's own commented-out paths (PROMETHEUS_VALUES_COMMENTED, see test_observability).
    commented = {p.removeprefix("grafana.") for p in PROMETHEUS_VALUES_COMMENTED}
    return [p for p in unknown_value_paths(values, chart, free) if p not in commented]


# ---- Grafana: values, secret as a file ------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_sso_values_exist_in_the_vendored_chart(stack: str, stacks: StackRenders) -> None:
    values = grafana_values(stacks.graph(stack))
    assert values["grafana.ini"]["auth.generic_oauth"]["enabled"] is True
    assert grafana_unknown_paths(values) == []
    # grafana.ini is Grafana's own file; everything else is still checked.
    typo = copy.deepcopy(values)
    typo["extraSecretMount"] = typo.pop("extraSecretMounts")
    assert grafana_unknown_paths(typo) == ["extraSecretMount"]


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_reads_its_client_secret_from_a_mounted_vault_secret(
    stack: str, stacks: StackRenders
) -> None:
    graph = stacks.graph(stack)
    values = grafana_values(graph)
    oauth = values["grafana.ini"]["auth.generic_oauth"]
    # Never an environment variable: nothing in the values puts a Secret into env.
    for key in ("envValueFrom", "envFromSecret", "envFromSecrets", "envRenderSecret"):
        assert key not in values
    # ``env`` holds plain values only (the admin user name and its password file's path).
    assert all(isinstance(v, str) and not v.startswith("$") for v in values["env"].values())
    mounts = [m for m in values["extraSecretMounts"] if m.get("secretName") == GRAFANA_OIDC_SECRET]
    assert len(mounts) == 1 and mounts[0]["readOnly"] is True
    assert (
        oauth["client_secret"] == f"$__file{{{mounts[0]['mountPath']}/{GRAFANA_OIDC_SECRET_KEY}}}"
    )
    secret = one(graph, SECRET, "metrics-grafana-oidc")
    assert secret.props["metadata"]["name"] == GRAFANA_OIDC_SECRET
    data = secret.props["stringData"]
    value = (
        data[GRAFANA_OIDC_SECRET_KEY]
        if not is_secret(data)
        else data["value"][GRAFANA_OIDC_SECRET_KEY]
    )
    assert is_secret(data) or is_secret(value)
    assert unwrap(value) == f"{PLACEHOLDER}kv/ttbt2/{stack}/grafana#oidc_client_secret"
    # The release waits for the Secret it mounts.
    release = next(
        r for r in of_type(graph, RELEASE) if r.props["chart"] == "kube-prometheus-stack"
    )
    assert secret.urn in release.dependencies


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_is_strict_single_sign_on_with_a_break_glass_admin(
    stack: str, stacks: StackRenders
) -> None:
    ini = grafana_values(stacks.graph(stack))["grafana.ini"]
    settings = raw_settings(stack)
    oauth = ini["auth.generic_oauth"]
    assert oauth["role_attribute_strict"] is True
    assert oauth["auto_login"] is True
    assert oauth["client_id"] == settings["grafanaOidcClientId"]
    assert oauth["auth_url"] == settings["ssoAuthorizationUrl"]
    assert oauth["token_url"] == settings["ssoTokenUrl"]
    assert oauth["api_url"] == settings["ssoUserInfoUrl"]
    assert "openid" in oauth["scopes"].split()
    assert ini["users"]["allow_sign_up"] is False
    assert ini["server"]["root_url"] == f"https://{settings['grafanaHost']}/"


@pytest.mark.parametrize("stack", STACKS)
def test_the_executive_dashboard_is_home(stack: str, stacks: StackRenders) -> None:
    graph = stacks.graph(stack)
    values = grafana_values(graph)
    path = values["grafana.ini"]["dashboards"]["default_home_dashboard_path"]
    # The sidecar writes <folder>/<grafana_folder annotation>/<ConfigMap data key>.
    config_map = one(graph, "kubernetes:core/v1:ConfigMap", "dashboard-executive")
    folder = config_map.props["metadata"]["annotations"][dashboard_catalog.FOLDER_ANNOTATION]
    (file_name,) = config_map.props["data"]
    sidecar_dir = values["sidecar"]["dashboards"]["folder"]
    assert path == f"{sidecar_dir}/{folder}/{file_name}" == home_dashboard_path("executive")


# ---- Grafana: role mapping -------------------------------------------------------------------

STAGING_ROLES = RoleGroups(admin=("sre",), editor=("qa",), viewer=("stakeholders",))


def evaluators() -> list[Any]:
    found: list[Any] = [jmespath_subset.search]
    try:
        import jmespath
    except ImportError:
        return found
    return [*found, jmespath.search]


@pytest.mark.parametrize("search", evaluators())
@pytest.mark.parametrize(
    ("claims", "role"),
    [
        ({"groups": ["sre"]}, "Admin"),
        ({"groups": ["stakeholders"]}, "Viewer"),
        ({"groups": ["qa"]}, "Editor"),
        ({"groups": ["stakeholders", "sre"]}, "Admin"),  # the strongest role wins
        ({"groups": ["developers"]}, None),
        ({"groups": []}, None),
        ({}, None),
        ({"groups": None}, None),
        ({"groups": "not-sre"}, None),  # a lone group as a string: no substring match
        ({"groups": "sre"}, "Admin"),
        ({"groups": ["SRE"]}, None),  # group names are exact
    ],
)
def test_the_role_expression_maps_sre_stakeholders_and_nobody_else(
    search: Any, claims: dict[str, Any], role: str | None
) -> None:
    result = search(role_attribute_path("groups", STAGING_ROLES), claims)
    # Grafana reads a non-string result as no role; role_attribute_strict then refuses.
    assert (result if isinstance(result, str) else None) == role


def test_the_role_expression_quotes_unusual_claim_names() -> None:
    expression = role_attribute_path("cognito:groups", RoleGroups(viewer=("exec team",)))
    assert jmespath_subset.search(expression, {"cognito:groups": ["exec team"]}) == "Viewer"
    assert jmespath_subset.search(expression, {"groups": ["exec team"]}) is False


def test_the_subset_evaluator_refuses_what_it_does_not_implement() -> None:
    with pytest.raises(jmespath_subset.JmesPathError):
        jmespath_subset.search("groups[?@ == 'sre']", {"groups": ["sre"]})
    with pytest.raises(jmespath_subset.JmesPathError):
        jmespath_subset.search("contains(`1`, 'a')", {})


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_maps_its_configured_groups(stack: str, stacks: StackRenders) -> None:
    settings = raw_settings(stack)
    expression = grafana_values(stacks.graph(stack))["grafana.ini"]["auth.generic_oauth"][
        "role_attribute_path"
    ]
    expected = {
        "Admin": settings.get("grafanaAdminGroups", ["sre"]),
        "Editor": settings.get("grafanaEditorGroups", []),
        "Viewer": settings.get("grafanaViewerGroups", ["stakeholders"]),
    }
    for role, groups in expected.items():
        for group in groups:
            assert jmespath_subset.search(expression, {"groups": [group]}) == role
    assert jmespath_subset.search(expression, {"groups": ["someone-else"]}) is False
    assert expected["Admin"] == ["sre"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"admin": ("it's",)}, "no quotes"),
        ({"admin": ("sre",), "viewer": ("sre",)}, "both Admin and Viewer"),
        ({}, "at least one group"),
    ],
)
def test_role_groups_refuse_what_the_expression_cannot_express(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RoleGroups(**kwargs)


def test_the_provider_refuses_plain_http_and_missing_openid() -> None:
    def provider(token_url: str, scopes: tuple[str, ...] = ("openid",)) -> OidcProvider:
        return OidcProvider(
            issuer_url="https://idp.example",
            authorization_url="https://idp.example/auth",
            token_url=token_url,
            userinfo_url="https://idp.example/userinfo",
            scopes=scopes,
        )

    provider("https://idp.example/token")
    with pytest.raises(ValueError, match="token_url"):
        provider("http://idp.example/token")
    with pytest.raises(ValueError, match="openid"):
        provider("https://idp.example/token", scopes=("email",))


# ---- Ingresses: internal, HTTPS, Kibana behind the ALB's OIDC --------------------------------


def ingress(graph: StackGraph, dashboard: str) -> Resource:
    return one(graph, INGRESS, f"dashboard-access-{dashboard}-ingress")


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("dashboard", ["grafana", "kibana"])
def test_dashboards_are_on_an_internal_https_load_balancer(
    stack: str, dashboard: str, stacks: StackRenders
) -> None:
    graph = stacks.graph(stack)
    settings = raw_settings(stack)
    res = ingress(graph, dashboard)
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", **unwrap(res.props)}
    kubernetes_validate.validate(obj, "1.33", strict=True)
    notes = res.props["metadata"]["annotations"]
    assert notes[ALB + "scheme"] == "internal"
    assert notes[ALB + "target-type"] == "ip"
    assert notes[ALB + "certificate-arn"] == settings["albCertificateArn"]
    assert notes[ALB + "ssl-redirect"] == "443"
    assert {"HTTPS": 443} in json.loads(notes[ALB + "listen-ports"])
    # Its own load balancer: an ingress group has one scheme, the services' is public.
    assert notes[ALB + "group.name"] == f"ttbt2-{stack}-internal"
    (rule,) = res.props["spec"]["rules"]
    assert rule["host"] == settings[f"{dashboard}Host"]
    backend = GRAFANA if dashboard == "grafana" else KIBANA
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": backend.service,
        "port": {"number": backend.service_port},
    }


@pytest.mark.parametrize("stack", STACKS)
def test_no_ingress_of_the_stack_publishes_a_dashboard_publicly(
    stack: str, stacks: StackRenders
) -> None:
    for res in of_type(stacks.graph(stack), INGRESS):
        rules = res.props["spec"]["rules"]
        services = {p["backend"]["service"]["name"] for r in rules for p in r["http"]["paths"]}
        if services & {GRAFANA.service, KIBANA.service}:
            assert res.props["metadata"]["annotations"][ALB + "scheme"] == "internal", res.name


@pytest.mark.parametrize("stack", STACKS)
def test_kibana_is_behind_the_load_balancers_oidc_sign_in(stack: str, stacks: StackRenders) -> None:
    graph = stacks.graph(stack)
    settings = raw_settings(stack)
    notes = ingress(graph, "kibana").props["metadata"]["annotations"]
    assert notes[ALB + "auth-type"] == "oidc"
    assert notes[ALB + "auth-on-unauthenticated-request"] == "authenticate"
    idp = json.loads(notes[ALB + "auth-idp-oidc"])
    assert idp == {
        "issuer": settings["ssoIssuerUrl"],
        "authorizationEndpoint": settings["ssoAuthorizationUrl"],
        "tokenEndpoint": settings["ssoTokenUrl"],
        "userInfoEndpoint": settings["ssoUserInfoUrl"],
        "secretName": KIBANA_OIDC_SECRET,
    }
    # Grafana signs users in itself: no second sign-in at the load balancer.
    assert ALB + "auth-type" not in ingress(graph, "grafana").props["metadata"]["annotations"]


@pytest.mark.parametrize("stack", STACKS)
def test_kibanas_oidc_secret_comes_from_vault_and_only_the_controller_reads_it(
    stack: str, stacks: StackRenders
) -> None:
    graph = stacks.graph(stack)
    secret = one(graph, SECRET, "dashboard-access-kibana-oidc")
    assert secret.props["metadata"]["name"] == KIBANA_OIDC_SECRET
    assert secret.props["metadata"]["namespace"] == "monitoring"
    data = secret.props["stringData"]
    assert is_secret(data) or is_secret(data["clientSecret"])
    plain = unwrap(data)
    # The keys the AWS Load Balancer Controller reads.
    assert plain == {
        "clientID": raw_settings(stack)["kibanaOidcClientId"],
        "clientSecret": f"{PLACEHOLDER}kv/ttbt2/{stack}/kibana#oidc_client_secret",
    }
    assert secret.urn in ingress(graph, "kibana").dependencies
    role = one(graph, "kubernetes:rbac.authorization.k8s.io/v1:Role", "kibana-oidc-reader")
    assert role.props["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [KIBANA_OIDC_SECRET],
            "verbs": ["get", "list", "watch"],
        }
    ]
    binding = one(graph, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "kibana-oidc")
    assert binding.props["roleRef"]["name"] == role.props["metadata"]["name"]
    assert binding.props["subjects"] == [
        {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": "kube-system"}
    ]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("dashboard", ["grafana", "kibana"])
def test_network_policies_admit_the_load_balancer_to_the_dashboard_pods(
    stack: str, dashboard: str, stacks: StackRenders
) -> None:
    graph = stacks.graph(stack)
    policy = one(graph, NETPOL, f"dashboard-access-{dashboard}-netpol")
    backend = GRAFANA if dashboard == "grafana" else KIBANA
    spec = policy.props["spec"]
    assert policy.props["metadata"]["namespace"] == "monitoring"
    assert spec["podSelector"] == {"matchLabels": backend.pod_labels}
    assert spec["ingress"] == [
        {
            "from": [{"ipBlock": {"cidr": raw_settings(stack)["vpcCidr"]}}],
            "ports": [{"protocol": "TCP", "port": backend.pod_port}],
        }
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_kibana_knows_the_url_users_open(stack: str, stacks: StackRenders) -> None:
    kibana = one(stacks.graph(stack), "kubernetes:kibana.k8s.elastic.co/v1:Kibana")
    host = raw_settings(stack)["kibanaHost"]
    assert kibana.props["spec"]["config"] == {"server.publicBaseUrl": f"https://{host}"}


def test_the_metrics_stack_refuses_sso_without_its_client_secret() -> None:
    provider = OidcProvider(
        issuer_url="https://idp.example",
        authorization_url="https://idp.example/auth",
        token_url="https://idp.example/token",
        userinfo_url="https://idp.example/userinfo",
    )
    sso = GrafanaSso(provider=provider, client_id="grafana", roles=STAGING_ROLES, host="g.example")
    MetricsStackArgs(environment="dev", grafana_sso=sso, grafana_oidc_client_secret="from-vault")
    with pytest.raises(ValueError, match="grafana_oidc_client_secret"):
        MetricsStackArgs(environment="dev", grafana_sso=sso)


@pytest.mark.parametrize("stack", STACKS)
def test_grafanas_admin_password_is_a_mounted_file_and_the_sidecars_need_none(
    stack: str, stacks: StackRenders
) -> None:
    """CKV_K8S_35 for the chart's own pods, which the pack cannot see in a Helm release.

    The grafana chart (12.11.1, templates/_pod.tpl) gives the Grafana container
    GF_SECURITY_ADMIN_PASSWORD, and each sidecar REQ_PASSWORD, from the admin Secret as
    environment variables unless ``env.GF_SECURITY_ADMIN_PASSWORD__FILE`` is set; the sidecars
    then have no password, so they must not call Grafana's reload API (``skipReload``).
    """
    values = grafana_values(stacks.graph(stack))
    password_file = values["env"]["GF_SECURITY_ADMIN_PASSWORD__FILE"]
    [mount] = [m for m in values["extraSecretMounts"] if m["secretName"] == GRAFANA_ADMIN_SECRET]
    assert mount["readOnly"] is True
    assert password_file == f"{mount['mountPath']}/{values['admin']['passwordKey']}"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in values["env"]
    for sidecar in ("dashboards", "datasources"):
        assert values["sidecar"][sidecar]["skipReload"] is True, sidecar
