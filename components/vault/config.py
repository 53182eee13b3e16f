"""Vault configuration as code: Kubernetes login, per-service policies, database credentials.

Seed 4.7.1 and 4.9.1: application services log in to Vault with their Kubernetes service account
(no Vault token is ever handed out), read only their own secrets, and get PostgreSQL credentials
that Vault creates on demand and drops when they expire; the one long-lived database user
(migrations) has its password rotated by Vault on a schedule.

The pure helpers (policy HCL, SQL statements, names, TTLs) register nothing and are unit-tested
without Pulumi; :class:`VaultConfig` only wires them into resources.

Database bootstrap (runbook, once per environment, by the DBA; PostgreSQL 16+ role semantics):
``vault_admin`` (``database_admin_username``) is a LOGIN role with CREATEROLE, ADMIN OPTION on
``ttbt2_app`` (the NOLOGIN role that holds the app schema's privileges) and on
``ttbt2_migrations``, and CONNECT on the database WITH GRANT OPTION. It reads no table itself.
Its first password goes into Vault KV for the first deploy; right after, the operator runs
``vault write -f database-<env>/rotate-root/postgresql`` so that only Vault knows it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_vault as vault

from components.delivery.spec import service_namespace

MIGRATIONS_USER = "ttbt2_migrations"
"""Pre-existing database user of schema migrations, whose password Vault rotates (static role)."""
SNAPSHOT_ROLE = "vault-snapshot"
"""Kubernetes auth role (and policy suffix) of the job that saves Vault's raft snapshots."""
SNAPSHOT_PATH = "sys/storage/raft/snapshot"
"""The API path ``vault operator raft snapshot save`` reads; a GET streams the snapshot."""
SNAPSHOT_TOKEN_TTL_SECONDS = 900
CONNECTION_NAME = "postgresql"
TOKEN_AUDIENCE = "vault"
"""Audience of the projected service-account tokens pods present to Vault."""
TOKEN_TTL_SECONDS = 3600
TOKEN_MAX_TTL_SECONDS = 4 * 3600
MAX_CREDENTIAL_TTL_SECONDS = 86400
CREDENTIAL_MAX_TTL_FACTOR = 24

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]+$")
_SQL_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")
_PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


# --- names and paths -----------------------------------------------------------------------------


def kubernetes_auth_path(environment: str) -> str:
    """Mount path of the environment's Kubernetes auth method: one per cluster."""
    return f"kubernetes-{environment}"


def database_mount_path(environment: str) -> str:
    """Mount path of the environment's database secrets engine."""
    return f"database-{environment}"


def policy_name(environment: str, service: str) -> str:
    """Name of a service's Vault policy, ``ttbt2-<environment>-<service>``."""
    return f"ttbt2-{environment}-{service}"


def static_role_name(environment: str) -> str:
    """Name of the migrations static role, ``<environment>-migrations``."""
    return f"{environment}-migrations"


def credential_max_ttl(default_ttl_seconds: int) -> int:
    """Longest a dynamic credential may be renewed: 24 times its TTL, at most one day."""
    return min(CREDENTIAL_MAX_TTL_FACTOR * default_ttl_seconds, MAX_CREDENTIAL_TTL_SECONDS)


def token_max_ttl(credential_ttl_seconds: int) -> int:
    """Maximum lifetime of a service's Vault token.

    Leases are children of the token that created them: when the token dies, Vault revokes its
    database credentials. The token may therefore live at least one credential TTL, so that a
    credential is never cut short, and otherwise a few hours; the client logs in again.
    """
    return max(TOKEN_MAX_TTL_SECONDS, credential_ttl_seconds)


# --- policy HCL ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyRule:
    """One ``path`` block: the glob and its capabilities."""

    path: str
    capabilities: tuple[str, ...]


def _is_segment(value: str) -> bool:
    """A plain path segment: no quote, backslash or space to break out of HCL, no '.' or '..'."""
    return bool(_PATH_SEGMENT.match(value)) and value not in (".", "..")


def _check_path(path: str) -> None:
    body = path.removesuffix("*")
    segments = body.removesuffix("/").split("/") if body else []
    if not segments or not all(s == "+" or _is_segment(s) for s in segments):
        raise ValueError(f"invalid Vault policy path {path!r}")


def policy_hcl(rules: Sequence[PolicyRule], comment: str = "") -> str:
    """Render path blocks as Vault policy HCL, one block per rule, in order."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    for rule in rules:
        _check_path(rule.path)
        if not rule.capabilities:
            raise ValueError(f"path {rule.path!r} lists no capability")
        caps = ", ".join(f'"{c}"' for c in rule.capabilities)
        lines += [f'path "{rule.path}" {{', f"  capabilities = [{caps}]", "}"]
    return "\n".join(lines) + "\n"


def service_policy_rules(environment: str, kv_mount: str, service: str) -> tuple[PolicyRule, ...]:
    """What one service may do in Vault: read its own KV secrets and its database credentials.

    KV v2 serves values under ``<mount>/data/``; the service's secrets live under
    ``ttbt2/<environment>/<service>``, as a secret at that exact path and as secrets below it,
    hence both rules. ``list``, metadata and other versions' deletion stay out of reach.
    """
    kv = f"{kv_mount.strip('/')}/data/ttbt2/{environment}/{service}"
    read = ("read",)
    return (
        PolicyRule(kv, read),
        PolicyRule(f"{kv}/*", read),
        PolicyRule(f"{database_mount_path(environment)}/creds/{service}", read),
    )


def service_policy_hcl(environment: str, kv_mount: str, service: str) -> str:
    """The HCL of a service's policy (see :func:`service_policy_rules`)."""
    return policy_hcl(
        service_policy_rules(environment, kv_mount, service),
        comment=(
            f"{policy_name(environment, service)}: read-only access of service '{service}' "
            f"in {environment}.\nManaged by Pulumi (components/vault/config.py)."
        ),
    )


def snapshot_policy_hcl(environment: str) -> str:
    """The snapshot job's policy: read the raft snapshot, nothing else (no secret by path).

    The snapshot holds every secret, encrypted with Vault's barrier key: it is useless
    without the unseal or recovery keys, which stay with Vault's operators.
    """
    return policy_hcl(
        (PolicyRule(SNAPSHOT_PATH, ("read",)),),
        comment=(
            f"{policy_name(environment, SNAPSHOT_ROLE)}: save raft snapshots of Vault from "
            f"the {environment} cluster.\nManaged by Pulumi (components/vault/config.py)."
        ),
    )


def deployer_policy_rules(
    environment: str, kv_mount: str, services: Sequence[str], *, snapshots: bool = False
) -> tuple[PolicyRule, ...]:
    """What the deploy identity needs to apply :class:`VaultConfig` for one environment.

    Not created by this program: Vault administrators attach it to the deploy role (it is the
    one policy that holds ``sudo``, which enabling and reading an auth method requires). Every
    write is on an exact path, so adding a service means re-applying this policy first.
    """
    crud = ("create", "read", "update", "delete")
    auth = kubernetes_auth_path(environment)
    db = database_mount_path(environment)
    rules = [
        PolicyRule(f"{kv_mount.strip('/')}/data/ttbt2/{environment}/*", ("read",)),
        # Preflight reads the expiry dates of third-party credentials there (no value).
        PolicyRule(f"{kv_mount.strip('/')}/metadata/ttbt2/{environment}/*", ("read",)),
        PolicyRule("sys/capabilities-self", ("update",)),
        PolicyRule(f"sys/auth/{auth}", (*crud, "sudo")),
        PolicyRule(f"sys/mounts/auth/{auth}/tune", ("read", "update")),
        PolicyRule(f"auth/{auth}/config", crud),
        PolicyRule(f"sys/mounts/{db}", crud),
        PolicyRule(f"sys/mounts/{db}/tune", ("read", "update")),
        PolicyRule(f"{db}/config/{CONNECTION_NAME}", crud),
        PolicyRule(f"{db}/static-roles/{static_role_name(environment)}", crud),
    ]
    for service in services:
        rules += [
            PolicyRule(f"sys/policies/acl/{policy_name(environment, service)}", crud),
            PolicyRule(f"auth/{auth}/role/{service}", crud),
            PolicyRule(f"{db}/roles/{service}", crud),
        ]
    if snapshots:
        rules += [
            PolicyRule(f"sys/policies/acl/{policy_name(environment, SNAPSHOT_ROLE)}", crud),
            PolicyRule(f"auth/{auth}/role/{SNAPSHOT_ROLE}", crud),
        ]
    # The provider logs in and then works with a short-lived child token (its default).
    rules.append(PolicyRule("auth/token/create", ("update",)))
    return tuple(rules)


def deployer_policy_hcl(
    environment: str, kv_mount: str, services: Sequence[str], *, snapshots: bool = False
) -> str:
    """The HCL of the deploy identity's policy (see :func:`deployer_policy_rules`).

    ``snapshots``: the stack takes Vault's snapshots (``ttbt2:vaultSnapshots: this-stack``).
    """
    return policy_hcl(
        deployer_policy_rules(environment, kv_mount, services, snapshots=snapshots),
        comment=(
            f"ttbt2-deployer-{environment}: what `pulumi up` needs to apply the Vault "
            f"configuration of {environment}.\nManaged by Vault administrators, not by Pulumi."
        ),
    )


# --- SQL -----------------------------------------------------------------------------------------


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, double-quoted with embedded quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def connection_url(host: str, port: int, database: str) -> str:
    """The templated URL Vault connects with; Vault fills in ``{{username}}``/``{{password}}``.

    ``sslmode=verify-full``: RDS refuses plain connections (``rds.force_ssl``), and ``require``
    would encrypt without checking who answers, so a spoofed endpoint could collect the admin
    password; verify-full checks the certificate chain and that it names this host.
    """
    return (
        f"postgresql://{{{{username}}}}:{{{{password}}}}@{host}:{port}/"
        f"{quote(database, safe='')}?sslmode=verify-full"
    )


def dynamic_creation_statements(database: str, app_role: str) -> list[str]:
    """Create a login that expires with its lease, can connect, and acts as the app role.

    The schema's privileges belong to the NOLOGIN ``app_role`` (kept up to date by migrations'
    default privileges), so a credential issued before a migration sees the new tables too, and
    Vault's own admin user needs no privilege on any table.
    """
    return [
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
        "VALID UNTIL '{{expiration}}' INHERIT;",
        f'GRANT CONNECT ON DATABASE {quote_ident(database)} TO "{{{{name}}}}";',
        f'GRANT {quote_ident(app_role)} TO "{{{{name}}}}";',
    ]


def dynamic_revocation_statements(database: str, app_role: str) -> list[str]:
    """Undo :func:`dynamic_creation_statements`; the role owns nothing, so DROP ROLE succeeds."""
    return [
        f'REVOKE {quote_ident(app_role)} FROM "{{{{name}}}}";',
        f'REVOKE CONNECT ON DATABASE {quote_ident(database)} FROM "{{{{name}}}}";',
        'DROP ROLE IF EXISTS "{{name}}";',
    ]


def root_rotation_statements() -> list[str]:
    """How Vault changes its own admin password (``rotate-root``)."""
    return ["ALTER ROLE \"{{username}}\" WITH PASSWORD '{{password}}';"]


def static_rotation_statements() -> list[str]:
    """How Vault changes the migrations user's password on each rotation."""
    return ["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';"]


def require_pem(value: str) -> str:
    """The cluster CA as PEM; refuses the base64 form EKS reports (the caller decodes it)."""
    if not value.lstrip().startswith(_PEM_CERTIFICATE):
        raise ValueError(
            "kubernetes_ca_cert must be a PEM certificate (-----BEGIN CERTIFICATE-----); "
            "EKS reports it base64-encoded: decode certificateAuthority.data first"
        )
    return value


# --- component -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VaultConfigArgs:
    """Arguments of :class:`VaultConfig`.

    ``database_admin_password`` is the bootstrap password of ``database_admin_username`` (from
    Vault KV at deploy time, or an offline placeholder); it is made a secret whatever is passed.
    ``database_app_role`` is the NOLOGIN role holding the app schema's privileges, granted to
    each dynamic credential. ``database_ca_cert`` (PEM, RDS's regional bundle) lets Vault verify
    the server certificate without that CA in its host's trust store (Vault 1.18+).
    """

    environment: str
    kv_mount: str
    services: list[str]
    app_namespace: str
    kubernetes_host: pulumi.Input[str]
    kubernetes_ca_cert: pulumi.Input[str]
    database_host: pulumi.Input[str]
    database_name: str
    database_admin_username: str
    database_admin_password: pulumi.Input[str]
    credential_ttl_seconds: int = 3600
    static_rotation_seconds: int = 86400
    database_port: int = 5432
    database_app_role: str = "ttbt2_app"
    database_ca_cert: pulumi.Input[str] | None = None
    snapshot_account: tuple[str, str] | None = None
    """(namespace, service account) of the job saving Vault's raft snapshots; None: no job."""
    rollout_services: tuple[str, ...] = ()
    """Services delivered as Argo Rollouts, each in a namespace of its own named after it; the
    others run in ``app_namespace`` (:func:`components.delivery.spec.service_namespace`)."""

    def namespace_of(self, service: str) -> str:
        """The namespace whose service account ``<service>`` may log in as role ``<service>``."""
        return service_namespace(service, self.rollout_services, self.app_namespace)


def validate_args(args: VaultConfigArgs) -> None:
    """Raise ValueError for arguments that would produce a broken or unsafe configuration."""
    problems: list[str] = []
    for what, value in (("environment", args.environment), ("app_namespace", args.app_namespace)):
        if not _NAME.match(value):
            problems.append(f"{what} {value!r} is not a Kubernetes-style name")
    for service in args.services:
        if not _NAME.match(service):
            problems.append(f"service {service!r} is not a Kubernetes service-account name")
    if len(set(args.services)) != len(args.services):
        problems.append(f"services {args.services} name a service twice")
    strays = sorted(set(args.rollout_services) - set(args.services))
    if strays:
        problems.append(f"rollout_services {strays} are not in services {args.services}")
    if static_role_name(args.environment) in args.services:
        problems.append(
            f"service {static_role_name(args.environment)!r} clashes with the static role"
        )
    if SNAPSHOT_ROLE in args.services:
        problems.append(f"service {SNAPSHOT_ROLE!r} clashes with the snapshot job's role")
    if not all(_is_segment(s) for s in args.kv_mount.strip("/").split("/")):
        problems.append(f"kv_mount {args.kv_mount!r} is not a Vault mount path")
    for what, value in (
        ("database_name", args.database_name),
        ("database_admin_username", args.database_admin_username),
        ("database_app_role", args.database_app_role),
    ):
        if not _SQL_NAME.match(value):
            problems.append(f"{what} {value!r} is not a lowercase PostgreSQL name")
    if not 0 < args.credential_ttl_seconds <= MAX_CREDENTIAL_TTL_SECONDS:
        problems.append(f"credential_ttl_seconds {args.credential_ttl_seconds} is not in 1..86400")
    if args.static_rotation_seconds < 5:  # Vault's minimum rotation period
        problems.append(f"static_rotation_seconds {args.static_rotation_seconds} is below 5")
    if isinstance(args.kubernetes_ca_cert, str):
        # A known value is checked here, before any resource; an output is checked when known.
        try:
            require_pem(args.kubernetes_ca_cert)
        except ValueError as exc:
            problems.append(str(exc))
    if not 0 < args.database_port < 65536:
        problems.append(f"database_port {args.database_port} is not a TCP port")
    if problems:
        raise ValueError("invalid VaultConfigArgs: " + "; ".join(problems))


class VaultConfig(pulumi.ComponentResource):
    """Vault's configuration for one environment (seed 4.7.1, 4.9.1).

    - a Kubernetes auth method for the environment's cluster, and per service one role bound to
      exactly the service account ``<service>`` of the service's namespace
      (:meth:`VaultConfigArgs.namespace_of`), issuing short-lived tokens
      that carry only the service's policy;
    - per service one policy: read its own KV secrets and its database credentials, nothing else;
    - a database secrets engine on the environment's PostgreSQL: per service a dynamic role whose
      logins expire with their lease, and a static role for the migrations user whose password
      Vault rotates every ``static_rotation_seconds``; Vault can rotate its own admin password.

    Every child uses the Vault provider the caller passes in ``opts.providers["vault"]`` (or
    inherits from a parent): this component never builds one, and refuses to fall back to the
    default provider, whose credentials would come from whatever environment runs the deploy.
    """

    def __init__(
        self, name: str, args: VaultConfigArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        validate_args(args)
        super().__init__("ttbt2:vault:VaultConfig", name, None, opts)
        if self.get_provider("vault:index/policy:Policy") is None:
            raise ValueError(
                f"VaultConfig {name!r} needs an explicit Vault provider: pass "
                'pulumi.ResourceOptions(providers={"vault": provider})'
            )
        child = pulumi.ResourceOptions(parent=self)
        env = args.environment
        self._environment = env

        self.policies = [
            vault.Policy(
                f"{name}-policy-{service}",
                name=policy_name(env, service),
                policy=service_policy_hcl(env, args.kv_mount, service),
                # Fail rather than silently take over a hand-written policy of the same name.
                allow_overwrite=False,
                opts=child,
            )
            for service in args.services
        ]

        self.kubernetes_auth = vault.AuthBackend(
            f"{name}-kubernetes",
            type="kubernetes",
            path=kubernetes_auth_path(env),
            description=f"Service-account logins from the {env} cluster",
            opts=child,
        )
        vault.kubernetes.AuthBackendConfig(
            f"{name}-kubernetes-config",
            backend=self.kubernetes_auth.path,
            kubernetes_host=args.kubernetes_host,
            kubernetes_ca_cert=pulumi.Output.from_input(args.kubernetes_ca_cert).apply(require_pem),
            # EKS signs service-account tokens with its OIDC issuer URL, not the
            # kubernetes/serviceaccount issuer Vault would otherwise expect; the TokenReview
            # call still proves each token. Vault recommends this since 1.9.
            disable_iss_validation=True,
            # Vault does not run in this cluster: never use the CA and token of the pod it may
            # run in. With no reviewer JWT, each client's own token calls TokenReview, so the
            # services' accounts need the system:auth-delegator role.
            disable_local_ca_jwt=True,
            opts=child,
        )
        for service, policy in zip(args.services, self.policies, strict=True):
            vault.kubernetes.AuthBackendRole(
                f"{name}-role-{service}",
                backend=self.kubernetes_auth.path,
                role_name=service,
                bound_service_account_names=[service],
                bound_service_account_namespaces=[args.namespace_of(service)],
                audience=TOKEN_AUDIENCE,
                token_policies=[policy.name],
                token_ttl=TOKEN_TTL_SECONDS,
                token_max_ttl=token_max_ttl(args.credential_ttl_seconds),
                opts=child,
            )

        if args.snapshot_account is not None:
            self._snapshot_role(name, args.snapshot_account, child)

        max_ttl = credential_max_ttl(args.credential_ttl_seconds)
        self.database_mount = vault.Mount(
            f"{name}-database",
            path=database_mount_path(env),
            type="database",
            description=f"Short-lived PostgreSQL credentials of {env}",
            default_lease_ttl_seconds=args.credential_ttl_seconds,
            # A ceiling for every role of the mount, whatever a role says.
            max_lease_ttl_seconds=max_ttl,
            opts=child,
        )
        static_role = static_role_name(env)
        connection = vault.database.SecretBackendConnection(
            f"{name}-postgresql",
            backend=self.database_mount.path,
            name=CONNECTION_NAME,
            allowed_roles=[*args.services, static_role],
            verify_connection=True,
            root_rotation_statements=root_rotation_statements(),
            postgresql=vault.database.SecretBackendConnectionPostgresqlArgs(
                connection_url=pulumi.Output.from_input(args.database_host).apply(
                    lambda host: connection_url(host, args.database_port, args.database_name)
                ),
                username=args.database_admin_username,
                # The provider sends the password only when it changes, so once Vault has
                # rotated it (rotate-root) later updates of this connection keep Vault's value.
                password=pulumi.Output.secret(args.database_admin_password),
                # Vault hashes passwords before sending them: no plaintext in PostgreSQL logs.
                password_authentication="scram-sha-256",
                tls_ca=args.database_ca_cert,
            ),
            opts=child,
        )
        for service in args.services:
            vault.database.SecretBackendRole(
                f"{name}-db-role-{service}",
                backend=self.database_mount.path,
                name=service,
                db_name=connection.name,
                creation_statements=dynamic_creation_statements(
                    args.database_name, args.database_app_role
                ),
                revocation_statements=dynamic_revocation_statements(
                    args.database_name, args.database_app_role
                ),
                default_ttl=args.credential_ttl_seconds,
                max_ttl=max_ttl,
                opts=child,
            )
        vault.database.SecretBackendStaticRole(
            f"{name}-db-static-migrations",
            backend=self.database_mount.path,
            name=static_role,
            db_name=connection.name,
            username=MIGRATIONS_USER,
            rotation_period=args.static_rotation_seconds,
            rotation_statements=static_rotation_statements(),
            opts=child,
        )

        self.kubernetes_auth_path = self.kubernetes_auth.path
        self.database_mount_path = self.database_mount.path
        self.policy_names = pulumi.Output.all(*[p.name for p in self.policies])
        self.register_outputs(
            {
                "kubernetesAuthPath": self.kubernetes_auth_path,
                "databaseMountPath": self.database_mount_path,
                "policyNames": self.policy_names,
            }
        )

    def _snapshot_role(
        self, name: str, account: tuple[str, str], child: pulumi.ResourceOptions
    ) -> None:
        """The snapshot job's policy and its login, bound to its one service account."""
        env_policy = vault.Policy(
            f"{name}-policy-{SNAPSHOT_ROLE}",
            name=policy_name(self._environment, SNAPSHOT_ROLE),
            policy=snapshot_policy_hcl(self._environment),
            allow_overwrite=False,
            opts=child,
        )
        namespace, service_account = account
        vault.kubernetes.AuthBackendRole(
            f"{name}-role-{SNAPSHOT_ROLE}",
            backend=self.kubernetes_auth.path,
            role_name=SNAPSHOT_ROLE,
            bound_service_account_names=[service_account],
            bound_service_account_namespaces=[namespace],
            audience=TOKEN_AUDIENCE,
            token_policies=[env_policy.name],
            # One snapshot per token: it expires soon after the save, and the job revokes it.
            token_ttl=SNAPSHOT_TOKEN_TTL_SECONDS,
            token_max_ttl=SNAPSHOT_TOKEN_TTL_SECONDS,
            opts=child,
        )
