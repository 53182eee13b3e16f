"""Vault (seed 4.7.1, 4.9.1): how the deploy reads secrets and what services get from it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from config.fields import Domain, setting

_CONSUMER = r"^[a-z][a-z0-9-]{0,40}$"

VaultAuthMethod = Literal["token", "jwt", "kubernetes", "approle"]
VaultSnapshots = Literal["this-stack", "elsewhere"]


class VaultSecretRef(BaseModel):
    """One secret the stack reads from Vault at deploy time: a key of a KV v2 secret."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    consumer: str = Field(
        description="What uses the value: e.g. cdn-origin-verify, alertmanager-smtp-password, "
        "or an application service name.",
        pattern=_CONSUMER,
    )
    path: str = Field(
        description="Secret path inside the mount, under ttbt2/<environment>/.",
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
    )
    key: str = Field(description="Key inside the secret.", pattern=r"^[A-Za-z0-9_.-]+$")
    mount: str = Field(default="", description="KV v2 mount; empty = ttbt2:vaultKvMount.")


class VaultSettings(Domain):
    """The Vault server, the deploy's login, the secrets read and the services served."""

    address: str = setting(
        "https://vault.ttbt2.example:8200",
        "Vault address (https) for deploy-time reads.",
        key="vaultAddress",
    )
    namespace: str = setting("", "Vault Enterprise namespace; empty = none.", key="vaultNamespace")
    auth_method: VaultAuthMethod = setting(
        "jwt",
        "How the deploy logs in: jwt (CI's OIDC id-token), kubernetes, approle or token.",
        key="vaultAuthMethod",
    )
    auth_mount: str = setting(
        "", "Mount path of the auth method; empty = its name.", key="vaultAuthMount"
    )
    auth_role: str = setting(
        "ttbt2-deployer",
        "Vault role of the deploy identity (jwt, kubernetes, approle).",
        key="vaultAuthRole",
    )
    ca_bundle: str = setting(
        "", "CA bundle file for Vault's TLS; empty = system trust.", key="vaultCaBundle"
    )
    kv_mount: str = setting("kv", "KV v2 mount holding the platform's secrets.", key="vaultKvMount")
    secrets: list[VaultSecretRef] = setting(
        [],
        "Secrets read at deploy time, per consumer (objects: consumer, path, key, mount).",
        key="vaultSecrets",
    )
    services: list[str] = setting(
        [],
        "Application services that get a Vault policy, a Kubernetes auth role and synced "
        "secrets (service account = service name; namespace = the service's own when it is "
        "in services, where its pods mount the secrets, else appNamespace).",
        key="vaultServices",
    )
    database_admin_username: str = setting(
        "vault_admin",
        "PostgreSQL role Vault's database engine connects as (created once).",
        key="vaultDatabaseAdminUsername",
    )
    credential_ttl_seconds: int = setting(
        3600,
        "Lifetime of dynamic database credentials (seed 4.9.1 rotation), in seconds.",
        key="vaultCredentialTtlSeconds",
        ge=300,
        le=86400,
    )
    static_rotation_seconds: int = setting(
        86400,
        "Rotation period of static database roles, in seconds.",
        key="vaultStaticRotationSeconds",
        ge=3600,
        le=2_592_000,
    )
    snapshots: VaultSnapshots = setting(
        "elsewhere",
        "Who takes Vault's raft snapshots (seed 4.7.1): this-stack (an hourly CronJob writes "
        "vault/<env>/ in the snapshot store; needs vaultServices) or elsewhere (then "
        "vaultSnapshotsBy says who; required in prod).",
        key="vaultSnapshots",
    )
    snapshots_by: str = setting(
        "",
        "Who snapshots Vault when vaultSnapshots is elsewhere: the stack, or the provider's "
        "service and where its snapshot policy is written down.",
        key="vaultSnapshotsBy",
    )
