"""VaultConfig: Kubernetes logins, per-service read-only policies, rotating database credentials.

The component is rendered on the mock engine in both modes; the pure helpers are tested alone.
Policies are checked by parsing their HCL with the policy pack's parser, not by comparing text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pulumi_vault as vault
import pytest

from components.vault.config import (
    MIGRATIONS_USER,
    PolicyRule,
    VaultConfig,
    VaultConfigArgs,
    connection_url,
    credential_max_ttl,
    deployer_policy_hcl,
    dynamic_creation_statements,
    dynamic_revocation_statements,
    policy_hcl,
    quote_ident,
    require_pem,
    service_policy_hcl,
    snapshot_policy_hcl,
    token_max_ttl,
    validate_args,
)
from offline.engine import run_program
from offline.evaluate import evaluate
from offline.graph import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, Resource, StackGraph
from offline.secrets_audit import audit
from policies.ttbt2_policies import ALL_POLICIES
from policies.ttbt2_policies.vault import glob_matches, parse_vault_policy

PEM = "-----BEGIN CERTIFICATE-----\nMIIBoffline\n-----END CERTIFICATE-----\n"
PASSWORD = "offline-bootstrap-password"
SERVICES = ["api", "worker"]
POLICY = "vault:index/policy:Policy"
AUTH = "vault:index/authBackend:AuthBackend"
AUTH_CONFIG = "vault:kubernetes/authBackendConfig:AuthBackendConfig"
ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
MOUNT = "vault:index/mount:Mount"
CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
DB_ROLE = "vault:database/secretBackendRole:SecretBackendRole"
STATIC_ROLE = "vault:database/secretBackendStaticRole:SecretBackendStaticRole"
ALL_TYPES = (POLICY, AUTH, AUTH_CONFIG, ROLE, MOUNT, CONNECTION, DB_ROLE, STATIC_ROLE)
WRITES = {"create", "update", "patch", "delete"}


def make_args(**changes: Any) -> VaultConfigArgs:
    base: dict[str, Any] = {
        "environment": "staging",
        "kv_mount": "kv",
        "services": SERVICES,
        "app_namespace": "ttbt2",
        # The first service is delivered as a Rollout, in a namespace of its own.
        "rollout_services": (SERVICES[0],),
        "kubernetes_host": "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
        "kubernetes_ca_cert": PEM,
        "database_host": "ttbt2-staging-db.cabc.eu-west-1.rds.amazonaws.com",
        "database_name": "ttbt2",
        "database_admin_username": "vault_admin",
        "database_admin_password": PASSWORD,
        "credential_ttl_seconds": 900,
        "static_rotation_seconds": 7200,
    }
    base.update(changes)
    return VaultConfigArgs(**base)


def program(args: VaultConfigArgs, *, with_provider: bool = True) -> Callable[[], None]:
    def run() -> None:
        opts = None
        if with_provider:
            provider = vault.Provider(
                "vault",
                address="https://vault.example:8200",
                token=pulumi.Output.secret("offline"),
                # No child-token request; the mock engine contacts nothing anyway.
                skip_child_token=True,
            )
            opts = pulumi.ResourceOptions(providers={"vault": provider})
        config = VaultConfig("vault", args, opts=opts)
        pulumi.export("kubernetesAuthPath", config.kubernetes_auth_path)
        pulumi.export("databaseMountPath", config.database_mount_path)
        pulumi.export("policyNames", config.policy_names)

    return run


def render(args: VaultConfigArgs | None = None, *, preview: bool = False) -> StackGraph:
    return run_program(
        program(args or make_args()), project="ttbt2-platform", stack="staging", preview=preview
    )


@pytest.fixture(scope="module", params=[False, True], ids=["update", "preview"])
def graph(request: pytest.FixtureRequest) -> StackGraph:
    return render(preview=request.param)


@pytest.fixture(scope="module")
def updated() -> StackGraph:
    return render(preview=False)


def of_type(graph: StackGraph, token: str) -> list[Resource]:
    return [r for r in graph.resources if r.type == token]


def one(graph: StackGraph, token: str) -> Resource:
    [found] = of_type(graph, token)
    return found


def by_prop(graph: StackGraph, token: str, key: str) -> dict[str, Resource]:
    return {r.props[key]: r for r in of_type(graph, token)}


def grants(hcl: str) -> dict[str, set[str]]:
    merged: dict[str, set[str]] = {}
    for rule in parse_vault_policy(hcl):
        merged.setdefault(rule.path, set()).update(rule.capabilities)
    return merged


# --- component, both modes -------------------------------------------------------------------


def test_resources_and_their_shape(graph: StackGraph) -> None:
    component = one(graph, "ttbt2:vault:VaultConfig")
    counts = {t: len(of_type(graph, t)) for t in ALL_TYPES}
    assert counts == {
        POLICY: 2,
        AUTH: 1,
        AUTH_CONFIG: 1,
        ROLE: 2,
        MOUNT: 1,
        CONNECTION: 1,
        DB_ROLE: 2,
        STATIC_ROLE: 1,
    }
    provider = one(graph, "pulumi:providers:vault")
    for res in graph.resources:
        if res.type in ALL_TYPES:
            assert res.parent == component.urn, res.name
            assert res.name.startswith("vault-"), res.name
            # Each child uses the caller's provider, never the default one.
            assert res.provider is not None and res.provider.startswith(provider.urn + "::")


def test_outputs(graph: StackGraph) -> None:
    outputs = {k: v["value"] for k, v in graph.outputs.items()}
    assert outputs == {
        "kubernetesAuthPath": "kubernetes-staging",
        "databaseMountPath": "database-staging",
        "policyNames": ["ttbt2-staging-api", "ttbt2-staging-worker"],
    }


def test_kubernetes_auth_mount_and_config(graph: StackGraph) -> None:
    mount = one(graph, AUTH).props
    assert (mount["type"], mount["path"]) == ("kubernetes", "kubernetes-staging")
    config = one(graph, AUTH_CONFIG).props
    assert config["backend"] == "kubernetes-staging"
    assert config["kubernetesHost"] == "https://ABC.gr7.eu-west-1.eks.amazonaws.com"
    assert config["kubernetesCaCert"] == PEM
    assert config["disableIssValidation"] is True
    assert config["disableLocalCaJwt"] is True
    assert "tokenReviewerJwt" not in config


def test_one_role_per_service_bound_to_exactly_its_account(graph: StackGraph) -> None:
    roles = by_prop(graph, ROLE, "roleName")
    assert set(roles) == set(SERVICES)
    for service, role in roles.items():
        props = role.props
        assert props["backend"] == "kubernetes-staging"
        assert props["boundServiceAccountNames"] == [service]
        # A delivered service's account is in its own namespace; the others share ttbt2.
        namespace = service if service == SERVICES[0] else "ttbt2"
        assert props["boundServiceAccountNamespaces"] == [namespace]
        assert "boundServiceAccountNamespaceSelector" not in props
        assert props["tokenPolicies"] == [f"ttbt2-staging-{service}"]
        assert props["audience"] == "vault"
        assert props["tokenTtl"] == 3600
        assert props["tokenMaxTtl"] == 14400
        assert not props.get("tokenNoDefaultPolicy")  # the default policy renews leases


def test_each_policy_grants_only_read_on_its_own_service_paths(graph: StackGraph) -> None:
    policies = by_prop(graph, POLICY, "name")
    assert set(policies) == {"ttbt2-staging-api", "ttbt2-staging-worker"}
    for service in SERVICES:
        res = policies[f"ttbt2-staging-{service}"]
        assert res.props["allowOverwrite"] is False
        granted = grants(res.props["policy"])
        assert granted == {
            f"kv/data/ttbt2/staging/{service}": {"read"},
            f"kv/data/ttbt2/staging/{service}/*": {"read"},
            f"database-staging/creds/{service}": {"read"},
        }
        own = [
            f"kv/data/ttbt2/staging/{service}",
            f"kv/data/ttbt2/staging/{service}/db/url",
            f"database-staging/creds/{service}",
        ]
        others = [
            f"kv/data/ttbt2/prod/{service}/x",
            f"kv/metadata/ttbt2/staging/{service}/x",
            "database-staging/static-creds/staging-migrations",
            "sys/policies/acl/ttbt2-staging-api",
            *(f"kv/data/ttbt2/staging/{o}/x" for o in SERVICES if o != service),
            *(f"database-staging/creds/{o}" for o in SERVICES if o != service),
        ]
        for path in own:
            assert any(glob_matches(g, path) for g in granted), path
        for path in others:
            assert not any(glob_matches(g, path) for g in granted), path


def test_database_mount_and_connection(graph: StackGraph) -> None:
    mount = one(graph, MOUNT).props
    assert (mount["type"], mount["path"]) == ("database", "database-staging")
    assert mount["defaultLeaseTtlSeconds"] == 900
    assert mount["maxLeaseTtlSeconds"] == 21600
    conn = one(graph, CONNECTION).props
    assert conn["backend"] == "database-staging"
    assert conn["name"] == "postgresql"
    assert conn["verifyConnection"] is True
    assert sorted(conn["allowedRoles"]) == ["api", "staging-migrations", "worker"]
    assert conn["rootRotationStatements"] == [
        "ALTER ROLE \"{{username}}\" WITH PASSWORD '{{password}}';"
    ]


def test_admin_password_reaches_the_connection_as_a_secret(graph: StackGraph) -> None:
    block = one(graph, CONNECTION).props["postgresql"]
    # The recorder lifts a nested secret to its enclosing object, as the engine's wire does.
    assert block[SECRET_SIG_KEY] == SECRET_SIG
    inner = block["value"]
    assert inner["password"] == PASSWORD
    assert inner["username"] == "vault_admin"
    assert inner["passwordAuthentication"] == "scram-sha-256"


def test_connection_url_verifies_the_server(updated: StackGraph) -> None:
    url = one(updated, CONNECTION).props["postgresql"]["value"]["connectionUrl"]
    assert url == (
        "postgresql://{{username}}:{{password}}@"
        "ttbt2-staging-db.cabc.eu-west-1.rds.amazonaws.com:5432/ttbt2?sslmode=verify-full"
    )


def test_dynamic_roles_ttls_and_statements(graph: StackGraph) -> None:
    roles = by_prop(graph, DB_ROLE, "name")
    assert set(roles) == set(SERVICES)
    for role in roles.values():
        props = role.props
        assert props["backend"] == "database-staging"
        assert props["dbName"] == "postgresql"
        assert props["defaultTtl"] == 900
        assert props["maxTtl"] == 21600
        creation = " ".join(props["creationStatements"])
        assert "VALID UNTIL '{{expiration}}'" in creation
        assert 'GRANT CONNECT ON DATABASE "ttbt2"' in creation
        assert 'GRANT "ttbt2_app" TO "{{name}}"' in creation
        assert props["revocationStatements"][-1] == 'DROP ROLE IF EXISTS "{{name}}";'


def test_static_migrations_role_rotates_on_the_given_period(graph: StackGraph) -> None:
    props = one(graph, STATIC_ROLE).props
    assert props["name"] == "staging-migrations"
    assert props["username"] == MIGRATIONS_USER == "ttbt2_migrations"
    assert props["rotationPeriod"] == 7200
    assert props["dbName"] == "postgresql"
    assert props["rotationStatements"] == ["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';"]


def test_children_wait_for_what_they_configure(graph: StackGraph) -> None:
    urns = {r.name: r.urn for r in graph.resources}
    deps = {r.name: set(r.dependencies) for r in graph.resources}
    assert urns["vault-kubernetes"] in deps["vault-kubernetes-config"]
    for service in SERVICES:
        assert urns[f"vault-policy-{service}"] in deps[f"vault-role-{service}"]
        assert urns["vault-postgresql"] in deps[f"vault-db-role-{service}"]
    assert urns["vault-database"] in deps["vault-postgresql"]
    assert urns["vault-postgresql"] in deps["vault-db-static-migrations"]


def test_no_blocking_policy_finding(graph: StackGraph) -> None:
    findings = evaluate(graph, ALL_POLICIES)
    assert [f for f in findings if f.blocking] == []
    assert [f for f in findings if f.kind == "violation"] == []


def test_no_plaintext_secret_input_in_the_component(graph: StackGraph) -> None:
    """The provider's own config is the caller's; every input of the component is clean."""
    findings = audit(graph)
    assert [f for f in findings if "providers:vault" not in f.urn] == []


def test_preview_leaves_the_url_unknown_when_the_host_is() -> None:
    def run() -> None:
        provider = vault.Provider("vault", token=pulumi.Output.secret("offline"))
        # An output of a resource created in the same run is unknown during a first preview.
        host = vault.Mount("host-source", path="x", type="kv").accessor
        VaultConfig(
            "vault",
            make_args(database_host=host),
            opts=pulumi.ResourceOptions(providers={"vault": provider}),
        )

    graph = run_program(run, project="ttbt2-platform", stack="staging", preview=True)
    block = one(graph, CONNECTION).props["postgresql"]
    assert block["value"]["connectionUrl"] == UNKNOWN


def test_refuses_to_run_without_a_vault_provider() -> None:
    with pytest.raises(ValueError, match="needs an explicit Vault provider"):
        run_program(
            program(make_args(), with_provider=False),
            project="ttbt2-platform",
            stack="staging",
            preview=False,
        )


def test_base64_ca_is_refused_before_any_resource() -> None:
    """EKS reports the CA base64-encoded; the caller must decode it.

    Only a known value is tried here: a failing ``apply`` (the check of an output) would leave
    its error pending in the mock engine's runtime for the next test's run.
    """
    with pytest.raises(ValueError, match="must be a PEM certificate"):
        render(make_args(kubernetes_ca_cert="LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="))


def _uncovered(graph: StackGraph, hcl: str, count: int) -> list[tuple[str, set[str]]]:
    """What the render writes (``count`` objects) that the deployer policy ``hcl`` lacks."""
    granted = grants(hcl)
    needed = list(_api_paths(graph))
    assert len(needed) == count
    missing = []
    for path, caps in needed:
        held: set[str] = set()
        for glob, glob_caps in granted.items():
            if glob_matches(glob, path):
                held |= glob_caps
        if not caps <= held:
            missing.append((path, caps - held))
    return missing


def _api_paths(graph: StackGraph) -> Iterator[tuple[str, set[str]]]:
    """Each Vault object of the render and the API path the provider writes it at."""
    crud = {"create", "read", "update", "delete"}
    for res in graph.resources:
        p = res.props
        if res.type == POLICY:
            yield f"sys/policies/acl/{p['name']}", crud
        elif res.type == ROLE:
            yield f"auth/{p['backend']}/role/{p['roleName']}", crud


def test_snapshot_job_gets_a_read_only_snapshot_policy_and_a_role_bound_to_its_account() -> None:
    graph = render(make_args(snapshot_account=("ttbt2", "vault-snapshot")))
    policy = by_prop(graph, POLICY, "name")["ttbt2-staging-vault-snapshot"].props
    assert grants(policy["policy"]) == {"sys/storage/raft/snapshot": {"read"}}
    assert policy["policy"] == snapshot_policy_hcl("staging")
    role = by_prop(graph, ROLE, "roleName")["vault-snapshot"].props
    assert role["boundServiceAccountNames"] == ["vault-snapshot"]
    assert role["boundServiceAccountNamespaces"] == ["ttbt2"]
    assert role["tokenPolicies"] == ["ttbt2-staging-vault-snapshot"]
    assert role["audience"] == "vault" and role["tokenMaxTtl"] <= 900
    # The deploy identity may write them only when the stack takes snapshots.
    with_snapshots = deployer_policy_hcl("staging", "kv", SERVICES, snapshots=True)
    assert _uncovered(graph, with_snapshots, 6) == []
    assert {p for p, _ in _uncovered(graph, deployer_policy_hcl("staging", "kv", SERVICES), 6)} == {
        "sys/policies/acl/ttbt2-staging-vault-snapshot",
        "auth/kubernetes-staging/role/vault-snapshot",
    }


def test_without_a_snapshot_account_there_is_no_snapshot_policy(updated: StackGraph) -> None:
    assert "vault-snapshot" not in by_prop(updated, ROLE, "roleName")
    assert not [n for n in by_prop(updated, POLICY, "name") if n.endswith("vault-snapshot")]


def test_a_service_named_like_the_snapshot_role_is_refused() -> None:
    with pytest.raises(ValueError, match="clashes with the snapshot job"):
        validate_args(make_args(services=["vault-snapshot"], rollout_services=()))


def test_deployer_policy_covers_every_resource_the_component_writes(updated: StackGraph) -> None:
    """Each Vault object of the render maps to the API path the provider writes it at."""
    granted = grants(deployer_policy_hcl("staging", "kv", SERVICES))

    def api_paths() -> Iterator[tuple[str, set[str]]]:
        crud = {"create", "read", "update", "delete"}
        for res in updated.resources:
            p = res.props
            if res.type == POLICY:
                yield f"sys/policies/acl/{p['name']}", crud
            elif res.type == AUTH:
                yield f"sys/auth/{p['path']}", crud | {"sudo"}
            elif res.type == AUTH_CONFIG:
                yield f"auth/{p['backend']}/config", crud
            elif res.type == ROLE:
                yield f"auth/{p['backend']}/role/{p['roleName']}", crud
            elif res.type == MOUNT:
                yield f"sys/mounts/{p['path']}", crud
            elif res.type == CONNECTION:
                yield f"{p['backend']}/config/{p['name']}", crud
            elif res.type == DB_ROLE:
                yield f"{p['backend']}/roles/{p['name']}", crud
            elif res.type == STATIC_ROLE:
                yield f"{p['backend']}/static-roles/{p['name']}", crud

    needed = list(api_paths())
    assert len(needed) == 11
    for path, caps in needed:
        held: set[str] = set()
        for glob, glob_caps in granted.items():
            if glob_matches(glob, path):
                held |= glob_caps
        assert caps <= held, (path, caps - held)
    # Writes only on exact paths; sudo on exactly one.
    assert not [g for g, c in granted.items() if c & WRITES and ("*" in g or "+" in g)]
    assert [g for g, c in granted.items() if "sudo" in c] == ["sys/auth/kubernetes-staging"]


# --- pure helpers --------------------------------------------------------------------------------


def test_service_policy_hcl_is_exactly_read_on_three_paths() -> None:
    hcl = service_policy_hcl("prod", "secret/team", "api")
    assert hcl.startswith("# ttbt2-prod-api: read-only access of service 'api' in prod.\n")
    assert grants(hcl) == {
        "secret/team/data/ttbt2/prod/api": {"read"},
        "secret/team/data/ttbt2/prod/api/*": {"read"},
        "database-prod/creds/api": {"read"},
    }


def test_policy_hcl_renders_blocks_in_order() -> None:
    hcl = policy_hcl(
        [PolicyRule("a/b", ("read",)), PolicyRule("c/+/*", ("read", "list"))], "two\nlines"
    )
    assert hcl == (
        "# two\n# lines\n"
        'path "a/b" {\n  capabilities = ["read"]\n}\n'
        'path "c/+/*" {\n  capabilities = ["read", "list"]\n}\n'
    )


@pytest.mark.parametrize("path", ['kv/"x', "kv/x\ny", "", "kv//x", "kv/x y", "kv/../sys"])
def test_policy_hcl_refuses_paths_that_could_escape(path: str) -> None:
    with pytest.raises(ValueError, match="invalid Vault policy path"):
        policy_hcl([PolicyRule(path, ("read",))])


def test_policy_hcl_refuses_an_empty_capability_list() -> None:
    with pytest.raises(ValueError, match="lists no capability"):
        policy_hcl([PolicyRule("kv/x", ())])


@pytest.mark.parametrize(
    ("ttl", "max_ttl"), [(300, 7200), (900, 21600), (3600, 86400), (7200, 86400), (86400, 86400)]
)
def test_credential_max_ttl_is_24_times_capped_at_a_day(ttl: int, max_ttl: int) -> None:
    assert credential_max_ttl(ttl) == max_ttl


@pytest.mark.parametrize(("ttl", "token_max"), [(300, 14400), (3600, 14400), (86400, 86400)])
def test_token_outlives_one_credential_ttl(ttl: int, token_max: int) -> None:
    assert token_max_ttl(ttl) == token_max


def test_connection_url_escapes_the_database_name() -> None:
    assert connection_url("db.internal", 6432, "a/b c") == (
        "postgresql://{{username}}:{{password}}@db.internal:6432/a%2Fb%20c?sslmode=verify-full"
    )


def test_sql_identifiers_are_quoted() -> None:
    assert quote_ident('we"ird') == '"we""ird"'
    assert dynamic_creation_statements("db", "app")[1:] == [
        'GRANT CONNECT ON DATABASE "db" TO "{{name}}";',
        'GRANT "app" TO "{{name}}";',
    ]
    assert dynamic_revocation_statements("db", "app") == [
        'REVOKE "app" FROM "{{name}}";',
        'REVOKE CONNECT ON DATABASE "db" FROM "{{name}}";',
        'DROP ROLE IF EXISTS "{{name}}";',
    ]


def test_require_pem() -> None:
    assert require_pem(PEM) == PEM
    with pytest.raises(ValueError, match=r"decode certificateAuthority\.data"):
        require_pem("LS0tLS1CRUdJTi==")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"services": ["api", "api"]}, "name a service twice"),
        ({"services": ["Api"]}, "service 'Api'"),
        ({"services": ["staging-migrations"]}, "clashes with the static role"),
        ({"environment": "Prod"}, "environment 'Prod'"),
        ({"app_namespace": "a_b"}, "app_namespace 'a_b'"),
        ({"rollout_services": ("web",)}, "rollout_services ['web'] are not in services"),
        ({"kv_mount": 'kv"'}, "kv_mount"),
        ({"kv_mount": "kv/.."}, "kv_mount"),
        ({"database_name": 'x"; DROP'}, "database_name"),
        ({"database_admin_username": "Admin"}, "database_admin_username"),
        ({"credential_ttl_seconds": 0}, "credential_ttl_seconds 0"),
        ({"credential_ttl_seconds": 86401}, "credential_ttl_seconds 86401"),
        ({"static_rotation_seconds": 1}, "static_rotation_seconds 1"),
        ({"database_port": 70000}, "database_port 70000"),
    ],
)
def test_bad_args_are_refused_before_any_resource(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError, match="invalid VaultConfigArgs") as caught:
        validate_args(make_args(**changes))
    assert expected in str(caught.value)


def test_good_args_pass_validation() -> None:
    validate_args(make_args())
    validate_args(make_args(services=[], rollout_services=(), kv_mount="secret/team/"))
