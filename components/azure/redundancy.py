"""Azure redundancy: an immutable, geo-redundant, CMK-encrypted copy of the platform's backups.

Seed 4.1.2 (Azure provides redundancy) and 4.7.2 (RPO < 1 h, met by the copier CronJob of
:mod:`components.k8s.backup_copy`). Nothing here holds a secret: the storage account refuses
shared keys, the copier authenticates with a Kubernetes service-account token federated to an
Azure managed identity, and the storage account reaches its key with a managed identity.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, keyvault, managedidentity, resources, storage

CONTAINER_NAME = "backups"
TOKEN_AUDIENCE = "api://AzureADTokenExchange"
"""Audience Entra ID requires in a federated token (and the copier's projected token carries)."""
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KEY_VAULT_SOFT_DELETE_DAYS = 90
"""The maximum: a deleted key vault (and the key every backup depends on) stays recoverable."""


def role_definition_id(subscription_id: pulumi.Input[str], role_guid: str) -> pulumi.Output[str]:
    """The subscription-scoped id of a built-in role, as role assignments expect it."""
    return pulumi.Output.concat(
        "/subscriptions/",
        subscription_id,
        "/providers/Microsoft.Authorization/roleDefinitions/",
        role_guid,
    )


def workload_subject(namespace: str, service_account: str) -> str:
    """The ``sub`` claim of a Kubernetes service-account token: what the federation trusts."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def global_name(name: str, environment: str, tenant_id: str, *, max_length: int) -> str:
    """A lowercase alphanumeric name for globally unique Azure names (storage, key vault).

    Both live in a global DNS namespace and storage accounts allow neither dashes nor more than
    24 characters, so Pulumi's auto-naming (logical name plus a random suffix) does not fit. A
    hash of tenant, environment and logical name keeps the name stable across runs and distinct
    between tenants and stacks.
    """
    digest = hashlib.sha256(f"{tenant_id}/{environment}/{name}".encode()).hexdigest()[:8]
    stem = re.sub(r"[^a-z0-9]", "", f"{name}{environment}".lower())
    return f"{stem[: max_length - len(digest)]}{digest}"


@dataclass(frozen=True)
class RedundancyArgs:
    """Arguments of :class:`Redundancy`.

    ``oidc_issuer_url`` is the EKS cluster's OIDC issuer: Entra ID trusts tokens it signs for
    ``copier_namespace``/``copier_service_account`` only. ``immutability_days`` is the WORM
    period of every backup blob; ``soft_delete_days`` how long deleted blobs, versions and
    containers stay recoverable. ``allowed_ip_ranges`` (the cluster's NAT egress addresses), when
    given, closes the storage account to every other network.
    """

    location: str
    environment: str
    tags: dict[str, str]
    tenant_id: str
    oidc_issuer_url: pulumi.Input[str]
    copier_namespace: str
    copier_service_account: str
    protect: bool
    immutability_days: int = 35
    soft_delete_days: int = 35
    allowed_ip_ranges: Sequence[str] = field(default_factory=tuple)


class Redundancy(pulumi.ComponentResource):
    """The Azure side of the backup copy.

    - a resource group holding everything, so the copy's lifecycle is one unit;
    - a key vault (RBAC only, purge protection, 90-day soft delete) with the RSA key that
      encrypts the storage account (customer-managed key, read through a managed identity);
    - a StorageV2 account replicated read-access geo-zone-redundantly (``Standard_RAGZRS``:
      three zones here plus a paired region), HTTPS and TLS 1.2 only, no public blobs, no shared
      keys (Entra ID only), with blob and container soft delete and versioning;
    - the ``backups`` container under a time-based immutability policy, so neither an attacker
      with the copier's identity nor an operator can alter or delete a backup before it expires;
    - the copier's managed identity, federated to the EKS service account and allowed to write
      blobs in that container only.
    """

    storage_account_name: pulumi.Output[str]
    container_name: pulumi.Output[str]
    copier_client_id: pulumi.Output[str]
    tenant_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: RedundancyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:azure:Redundancy", name, None, opts)
        tags = {**args.tags, "environment": args.environment}
        subscription_id = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).subscription_id

        group = resources.ResourceGroup(
            f"{name}-rg", location=args.location, tags=tags, opts=self._kept(args)
        )
        vault, key = self._key_vault(name, args, group, tags)
        storage_identity, key_access = self._storage_identity(
            name, args, group=group, tags=tags, vault=vault, subscription_id=subscription_id
        )
        account = self._account(
            name,
            args,
            group=group,
            tags=tags,
            vault=vault,
            key=key,
            storage_identity=storage_identity,
            key_access=key_access,
        )
        container = self._backups(name, args, group, account)
        copier = self._copier(
            name,
            args,
            group=group,
            tags=tags,
            container=container,
            subscription_id=subscription_id,
        )

        self.storage_account_name = account.name
        self.container_name = container.name
        self.copier_client_id = copier.client_id
        self.tenant_id = pulumi.Output.from_input(args.tenant_id)
        # Cost controls scope the environment's Azure budget to this group (docs/cost.md).
        self.resource_group_id = group.id
        self.register_outputs(
            {
                "storage_account_name": self.storage_account_name,
                "container_name": self.container_name,
                "copier_client_id": self.copier_client_id,
                "tenant_id": self.tenant_id,
            }
        )

    def _kept(self, args: RedundancyArgs) -> pulumi.ResourceOptions:
        """Child options of what holds or protects backups: protected in production."""
        # Losing the key vault, the key or the account loses every copy.
        return pulumi.ResourceOptions(parent=self, protect=args.protect)

    def _key_vault(
        self,
        name: str,
        args: RedundancyArgs,
        group: resources.ResourceGroup,
        tags: dict[str, str],
    ) -> tuple[keyvault.Vault, keyvault.Key]:
        """The RBAC-only, purge-protected key vault and the storage account's rotating RSA key."""
        kept = self._kept(args)
        vault = keyvault.Vault(
            f"{name}-kv",
            resource_group_name=group.name,
            location=args.location,
            vault_name=global_name(f"{name}kv", args.environment, args.tenant_id, max_length=24),
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                # Access through Azure RBAC only: no access policies to drift out of review.
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=KEY_VAULT_SOFT_DELETE_DAYS,
                # Purge protection cannot be turned off again: nobody can destroy the key (and
                # with it every encrypted backup) before the retention period ends.
                enable_purge_protection=True,
                # The data plane is closed to every network; Azure Storage reaches the key as a
                # trusted Microsoft service, and the key itself is created through ARM (the
                # management plane), which the firewall does not filter.
                public_network_access="Enabled",
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action=keyvault.NetworkRuleAction.DENY,
                    bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                ),
            ),
            tags=tags,
            opts=kept,
        )
        key = keyvault.Key(
            f"{name}-cmk",
            resource_group_name=group.name,
            vault_name=vault.name,
            key_name="storage-cmk",
            properties=keyvault.KeyPropertiesArgs(
                kty=keyvault.JsonWebKeyType.RSA,
                key_size=3072,
                key_ops=[
                    keyvault.JsonWebKeyOperation.WRAP_KEY,
                    keyvault.JsonWebKeyOperation.UNWRAP_KEY,
                ],
                # Key Vault rotates the key yearly; the storage account follows the latest
                # version because it names no version.
                rotation_policy=keyvault.RotationPolicyArgs(
                    attributes=keyvault.KeyRotationPolicyAttributesArgs(expiry_time="P2Y"),
                    lifetime_actions=[
                        keyvault.LifetimeActionArgs(
                            action=keyvault.ActionArgs(
                                type=keyvault.KeyRotationPolicyActionType.ROTATE
                            ),
                            trigger=keyvault.TriggerArgs(time_after_create="P1Y"),
                        )
                    ],
                ),
            ),
            tags=tags,
            opts=kept,
        )
        return vault, key

    def _storage_identity(
        self,
        name: str,
        args: RedundancyArgs,
        *,
        group: resources.ResourceGroup,
        tags: dict[str, str],
        vault: keyvault.Vault,
        subscription_id: pulumi.Output[str],
    ) -> tuple[managedidentity.UserAssignedIdentity, authorization.RoleAssignment]:
        """The identity the storage account reads its key through, and its role on the vault."""
        child = pulumi.ResourceOptions(parent=self)
        storage_identity = managedidentity.UserAssignedIdentity(
            f"{name}-storage-identity",
            resource_group_name=group.name,
            location=args.location,
            tags=tags,
            opts=child,
        )
        key_access = authorization.RoleAssignment(
            f"{name}-storage-key-access",
            principal_id=storage_identity.principal_id,
            # Service principal: skips the directory lookup that fails for a new identity.
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(
                subscription_id, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
            ),
            scope=vault.id,
            description="Storage account wraps and unwraps its data keys with the CMK",
            opts=child,
        )
        return storage_identity, key_access

    def _account(
        self,
        name: str,
        args: RedundancyArgs,
        *,
        group: resources.ResourceGroup,
        tags: dict[str, str],
        vault: keyvault.Vault,
        key: keyvault.Key,
        storage_identity: managedidentity.UserAssignedIdentity,
        key_access: authorization.RoleAssignment,
    ) -> storage.StorageAccount:
        """The RA-GZRS StorageV2 account: Entra ID only, CMK-encrypted, optionally IP-filtered."""
        kept = self._kept(args)
        network_rules = (
            storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY,
                bypass=storage.Bypass.NONE,
                ip_rules=[
                    storage.IPRuleArgs(i_p_address_or_range=cidr, action=storage.Action.ALLOW)
                    for cidr in args.allowed_ip_ranges
                ],
            )
            if args.allowed_ip_ranges
            else None
        )
        account = storage.StorageAccount(
            f"{name}-storage",
            resource_group_name=group.name,
            location=args.location,
            account_name=global_name(f"{name}st", args.environment, args.tenant_id, max_length=24),
            kind=storage.Kind.STORAGE_V2,
            # Three zones in this region plus the paired region, readable there if this region
            # is lost: the copy survives both a zone and a region outage.
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_RAGZRS),
            access_tier=storage.AccessTier.COOL,
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            # Entra ID only: no account key or SAS exists that could leak or be stored.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            # The copier writes from EKS, outside Azure: the endpoint must be public, but only
            # Entra ID tokens (and, when given, only the cluster's egress addresses) get in.
            public_network_access=storage.PublicNetworkAccess.ENABLED,
            network_rule_set=network_rules,
            identity=storage.IdentityArgs(
                type=storage.IdentityType.USER_ASSIGNED,
                user_assigned_identities=[storage_identity.id],
            ),
            encryption=storage.EncryptionArgs(
                key_source=storage.KeySource.MICROSOFT_KEYVAULT,
                key_vault_properties=storage.KeyVaultPropertiesArgs(
                    key_name=key.name, key_vault_uri=vault.properties.vault_uri
                ),
                encryption_identity=storage.EncryptionIdentityArgs(
                    encryption_user_assigned_identity=storage_identity.id
                ),
                require_infrastructure_encryption=True,
                services=storage.EncryptionServicesArgs(
                    blob=storage.EncryptionServiceArgs(
                        enabled=True, key_type=storage.KeyType.ACCOUNT
                    ),
                ),
            ),
            tags=tags,
            # The identity must be able to use the key before the account is encrypted with it.
            opts=pulumi.ResourceOptions.merge(
                kept, pulumi.ResourceOptions(depends_on=[key_access])
            ),
        )
        return account

    def _backups(
        self,
        name: str,
        args: RedundancyArgs,
        group: resources.ResourceGroup,
        account: storage.StorageAccount,
    ) -> storage.BlobContainer:
        """Soft delete and versioning on the blobs, and the immutable ``backups`` container."""
        child = pulumi.ResourceOptions(parent=self)
        kept = self._kept(args)
        blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            resource_group_name=group.name,
            account_name=account.name,
            blob_services_name="default",
            # Soft delete and versioning: an overwritten or deleted blob stays recoverable even
            # where immutability does not reach (before a policy locks, or after it expires).
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.soft_delete_days
            ),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.soft_delete_days
            ),
            is_versioning_enabled=True,
            opts=child,
        )
        container = storage.BlobContainer(
            f"{name}-backups",
            resource_group_name=group.name,
            account_name=account.name,
            container_name=CONTAINER_NAME,
            public_access=storage.PublicAccess.NONE,
            opts=pulumi.ResourceOptions.merge(
                kept, pulumi.ResourceOptions(depends_on=[blob_service])
            ),
        )
        storage.BlobContainerImmutabilityPolicy(
            f"{name}-backups-immutability",
            resource_group_name=group.name,
            account_name=account.name,
            container_name=container.name,
            immutability_policy_name="default",
            # WORM: a backup cannot be modified or deleted for this many days after it is
            # written. New blobs can still be added (protected append writes for append blobs).
            immutability_period_since_creation_in_days=args.immutability_days,
            allow_protected_append_writes=True,
            opts=child,
        )
        return container

    def _copier(
        self,
        name: str,
        args: RedundancyArgs,
        *,
        group: resources.ResourceGroup,
        tags: dict[str, str],
        container: storage.BlobContainer,
        subscription_id: pulumi.Output[str],
    ) -> managedidentity.UserAssignedIdentity:
        """The copier's identity, federated to its EKS service account, writing the container."""
        child = pulumi.ResourceOptions(parent=self)
        copier = managedidentity.UserAssignedIdentity(
            f"{name}-copier-identity",
            resource_group_name=group.name,
            location=args.location,
            tags=tags,
            opts=child,
        )
        managedidentity.FederatedIdentityCredential(
            f"{name}-copier-federation",
            resource_group_name=group.name,
            resource_name_=copier.name,
            federated_identity_credential_resource_name="eks-backup-copier",
            # Only tokens the EKS cluster issues for the copier's service account are exchanged.
            issuer=args.oidc_issuer_url,
            subject=workload_subject(args.copier_namespace, args.copier_service_account),
            audiences=[TOKEN_AUDIENCE],
            opts=child,
        )
        authorization.RoleAssignment(
            f"{name}-copier-writes-backups",
            principal_id=copier.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(subscription_id, STORAGE_BLOB_DATA_CONTRIBUTOR),
            # The container, not the account: the copier can touch no other data.
            scope=container.id,
            description="Backup copier writes the backups container only",
            opts=child,
        )
        return copier
