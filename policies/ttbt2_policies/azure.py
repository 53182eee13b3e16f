"""Azure (azure-native 3.x): storage accounts and Key Vaults.

- storage accounts accept HTTPS only (CKV_AZURE_3), require TLS 1.2 (CKV_AZURE_44), forbid
  anonymous blob access (CKV_AZURE_59, CKV_AZURE_190), replicate across regions (CKV_AZURE_206)
  and refuse shared-key (account key / SAS) authorization so that access goes through Entra ID
  (platform rule);
- Key Vaults enable purge protection (CKV_AZURE_110) and keep soft delete on (CKV_AZURE_111).

Missing properties, judged by the defaults of the API version azure-native 3.x deploys:

- ``enableHttpsTrafficOnly`` not set: Azure defaults it to true, so it is compliant;
- ``enableSoftDelete`` not set: Azure defaults it to true (soft delete can no longer be turned
  off on new vaults), so it is compliant;
- ``minimumTlsVersion``, ``allowBlobPublicAccess``, ``allowSharedKeyAccess``,
  ``enablePurgeProtection`` and ``sku.name`` not set are violations: the rules require the
  setting to be explicit.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Policy, ResourceValidationArgs

from .common import MANDATORY, bool_prop, resource_policy, str_prop

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
USED_TYPES = frozenset({STORAGE_ACCOUNT, KEY_VAULT})
"""Every type token this module names (checked against the installed SDK by the tests)."""

REQUIRED_TLS = "TLS1_2"
ALLOWED_TLS = frozenset({"TLS1_2", "TLS1_3"})
REPLICATED_REDUNDANCY = frozenset({"GRS", "RAGRS", "GZRS", "RAGZRS"})


def _https_only(args: ResourceValidationArgs) -> Iterator[str]:
    if bool_prop(args.props, "enableHttpsTrafficOnly") is False:
        yield "enableHttpsTrafficOnly is false: the account accepts plain HTTP"


def _minimum_tls(args: ResourceValidationArgs) -> Iterator[str]:
    version = str_prop(args.props, "minimumTlsVersion")
    if version not in ALLOWED_TLS:
        got = "not set" if version is None else repr(version)
        yield f"minimumTlsVersion is {got}; set it to '{REQUIRED_TLS}'"


def _no_blob_public_access(args: ResourceValidationArgs) -> Iterator[str]:
    allowed = bool_prop(args.props, "allowBlobPublicAccess")
    if allowed is not False:
        why = "is true" if allowed else "is not set"
        yield (
            f"allowBlobPublicAccess {why}: containers could be opened to anonymous reads; "
            "set it to false"
        )


def _replicated_sku(args: ResourceValidationArgs) -> Iterator[str]:
    name = str_prop(args.props, "sku.name")
    redundancy = name.rsplit("_", 1)[-1].upper() if name else None
    if redundancy not in REPLICATED_REDUNDANCY:
        got = "not set" if name is None else repr(name)
        yield (
            f"sku.name is {got}: data is kept in one region; use a geo-replicated SKU "
            "(GRS, RAGRS, GZRS or RAGZRS)"
        )


def _no_shared_key(args: ResourceValidationArgs) -> Iterator[str]:
    allowed = bool_prop(args.props, "allowSharedKeyAccess")
    if allowed is not False:
        why = "is true" if allowed else "is not set and Azure defaults it to true"
        yield (
            f"allowSharedKeyAccess {why}: account keys and SAS tokens bypass Entra ID; "
            "set it to false"
        )


def _purge_protection(args: ResourceValidationArgs) -> Iterator[str]:
    enabled = bool_prop(args.props, "properties.enablePurgeProtection")
    if not enabled:
        why = "is false" if enabled is False else "is not set and Azure leaves it off"
        yield (
            f"properties.enablePurgeProtection {why}: deleted secrets and keys can be purged "
            "before the retention period ends"
        )


def _soft_delete(args: ResourceValidationArgs) -> Iterator[str]:
    if bool_prop(args.props, "properties.enableSoftDelete") is False:
        yield "properties.enableSoftDelete is false: deleted secrets and keys cannot be recovered"


storage_https_only = resource_policy(
    name="azure-storage-https-only",
    description=(
        "Storage accounts do not set enableHttpsTrafficOnly to false (unset: Azure default "
        "true) (CKV_AZURE_3)."
    ),
    enforcement=MANDATORY,
    applies_to={STORAGE_ACCOUNT},
    check=_https_only,
)

storage_minimum_tls = resource_policy(
    name="azure-storage-minimum-tls",
    description="Storage accounts set minimumTlsVersion to TLS1_2 (CKV_AZURE_44).",
    enforcement=MANDATORY,
    applies_to={STORAGE_ACCOUNT},
    check=_minimum_tls,
)

storage_no_blob_public_access = resource_policy(
    name="azure-storage-no-blob-public-access",
    description=(
        "Storage accounts set allowBlobPublicAccess to false (CKV_AZURE_59, CKV_AZURE_190)."
    ),
    enforcement=MANDATORY,
    applies_to={STORAGE_ACCOUNT},
    check=_no_blob_public_access,
)

storage_replicated_sku = resource_policy(
    name="azure-storage-replicated-sku",
    description=(
        "Storage accounts use a geo-replicated SKU: GRS, RAGRS, GZRS or RAGZRS (CKV_AZURE_206)."
    ),
    enforcement=MANDATORY,
    applies_to={STORAGE_ACCOUNT},
    check=_replicated_sku,
)

storage_no_shared_key = resource_policy(
    name="azure-storage-no-shared-key",
    description=(
        "Platform rule: storage accounts set allowSharedKeyAccess to false, so every request "
        "is authorized through Entra ID."
    ),
    enforcement=MANDATORY,
    applies_to={STORAGE_ACCOUNT},
    check=_no_shared_key,
)

keyvault_purge_protection = resource_policy(
    name="azure-keyvault-purge-protection",
    description="Key Vaults set properties.enablePurgeProtection to true (CKV_AZURE_110).",
    enforcement=MANDATORY,
    applies_to={KEY_VAULT},
    check=_purge_protection,
)

keyvault_soft_delete = resource_policy(
    name="azure-keyvault-soft-delete",
    description=(
        "Key Vaults do not set properties.enableSoftDelete to false (unset: Azure default on) "
        "(CKV_AZURE_111)."
    ),
    enforcement=MANDATORY,
    applies_to={KEY_VAULT},
    check=_soft_delete,
)

POLICIES: list[Policy] = [
    storage_https_only,
    storage_minimum_tls,
    storage_no_blob_public_access,
    storage_replicated_sku,
    storage_no_shared_key,
    keyvault_purge_protection,
    keyvault_soft_delete,
]
