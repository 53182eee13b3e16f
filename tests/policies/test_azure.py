"""Azure: storage account transport, exposure, redundancy, shared keys; Key Vault deletion."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import Policy

from offline.graph import Resource
from policies.ttbt2_policies.azure import (
    keyvault_purge_protection,
    keyvault_soft_delete,
    storage_https_only,
    storage_minimum_tls,
    storage_no_blob_public_access,
    storage_no_shared_key,
    storage_replicated_sku,
)
from tests.support.policies import (
    UNKNOWN,
    assert_compliant,
    assert_missing,
    assert_unknown_is_a_note,
    assert_violation,
    assert_wrong_type,
    case_ids,
    findings_for,
    resource,
    without_none,
)

ACCOUNT = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
ACCOUNT_BASE: dict[str, Any] = {
    "resourceGroupName": "rg-data",
    "kind": "StorageV2",
    "sku": {"name": "Standard_GZRS"},
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False,
}
VAULT_PROPERTIES: dict[str, Any] = {
    "tenantId": "00000000-0000-0000-0000-000000000000",
    "sku": {"family": "A", "name": "standard"},
    "enablePurgeProtection": True,
    "enableSoftDelete": True,
    "enableRbacAuthorization": True,
}
ACCOUNT_POLICIES = [
    storage_https_only,
    storage_minimum_tls,
    storage_no_blob_public_access,
    storage_replicated_sku,
    storage_no_shared_key,
]
VAULT_POLICIES = [keyvault_purge_protection, keyvault_soft_delete]


def account(**changes: Any) -> Resource:
    return resource(ACCOUNT, without_none(ACCOUNT_BASE, changes))


def vault(**changes: Any) -> Resource:
    properties = without_none(VAULT_PROPERTIES, changes)
    return resource(VAULT, {"resourceGroupName": "rg-data", "properties": properties})


def target(policy: Policy, **changes: Any) -> Resource:
    return vault(**changes) if policy in VAULT_POLICIES else account(**changes)


def run(policy: Policy, r: Resource) -> list[Any]:
    return findings_for(policy, [r])


@pytest.mark.parametrize("policy", ACCOUNT_POLICIES + VAULT_POLICIES, ids=lambda p: p.name)
def test_baseline_is_compliant(policy: Policy) -> None:
    assert_compliant(run(policy, target(policy)))


VIOLATIONS: list[tuple[Policy, dict[str, Any], str]] = [
    (storage_https_only, {"enableHttpsTrafficOnly": False}, "accepts plain HTTP"),
    (storage_minimum_tls, {"minimumTlsVersion": "TLS1_1"}, "minimumTlsVersion is 'TLS1_1'"),
    (storage_minimum_tls, {"minimumTlsVersion": "TLS1_0"}, "set it to 'TLS1_2'"),
    (storage_no_blob_public_access, {"allowBlobPublicAccess": True}, "is true"),
    (storage_replicated_sku, {"sku": {"name": "Standard_LRS"}}, "'Standard_LRS'"),
    (storage_replicated_sku, {"sku": {"name": "Standard_ZRS"}}, "kept in one region"),
    (storage_replicated_sku, {"sku": {"name": "Premium_LRS"}}, "'Premium_LRS'"),
    (storage_no_shared_key, {"allowSharedKeyAccess": True}, "allowSharedKeyAccess is true"),
    (keyvault_purge_protection, {"enablePurgeProtection": False}, "is false"),
    (keyvault_soft_delete, {"enableSoftDelete": False}, "cannot be recovered"),
]


@pytest.mark.parametrize(
    ("policy", "changes", "expected"),
    VIOLATIONS,
    ids=case_ids(VIOLATIONS),
)
def test_one_changed_property_is_a_violation(
    policy: Policy, changes: dict[str, Any], expected: str
) -> None:
    assert_violation(run(policy, target(policy, **changes)), policy, expected, mandatory=True)


MISSING: list[tuple[Policy, str, str | None]] = [
    # azure-native 3.x API versions default HTTPS-only to true: unset is compliant.
    (storage_https_only, "enableHttpsTrafficOnly", None),
    (storage_minimum_tls, "minimumTlsVersion", "minimumTlsVersion is not set"),
    (storage_no_blob_public_access, "allowBlobPublicAccess", "allowBlobPublicAccess is not set"),
    (storage_replicated_sku, "sku", "sku.name is not set"),
    (storage_no_shared_key, "allowSharedKeyAccess", "Azure defaults it to true"),
    (keyvault_purge_protection, "enablePurgeProtection", "Azure leaves it off"),
    # Soft delete is on by default (and can no longer be turned off on new vaults).
    (keyvault_soft_delete, "enableSoftDelete", None),
]


@pytest.mark.parametrize(
    ("policy", "key", "expected"), MISSING, ids=[f"{p.name}-{k}" for p, k, _e in MISSING]
)
def test_missing_property(policy: Policy, key: str, expected: str | None) -> None:
    assert_missing(run(policy, target(policy, **{key: None})), policy, expected)


def test_missing_sku_name_is_a_violation() -> None:
    [finding] = run(storage_replicated_sku, account(sku={}))
    assert "sku.name is not set" in finding.message


def test_missing_vault_properties() -> None:
    bare = resource(VAULT, {"resourceGroupName": "rg-data"})
    [finding] = run(keyvault_purge_protection, bare)
    assert "not set" in finding.message
    assert run(keyvault_soft_delete, bare) == []


WRONG_TYPES: list[tuple[Policy, dict[str, Any], str]] = [
    (storage_https_only, {"enableHttpsTrafficOnly": "false"}, "must be true or false"),
    (storage_minimum_tls, {"minimumTlsVersion": 1.2}, "minimumTlsVersion must be a string"),
    (storage_no_blob_public_access, {"allowBlobPublicAccess": 0}, "got number 0"),
    (storage_replicated_sku, {"sku": "Standard_GRS"}, "sku must be an object"),
    (storage_replicated_sku, {"sku": {"name": ["Standard_GRS"]}}, "sku.name must be a string"),
    (storage_no_shared_key, {"allowSharedKeyAccess": "no"}, "must be true or false"),
    (keyvault_purge_protection, {"enablePurgeProtection": "true"}, "must be true or false"),
    (keyvault_soft_delete, {"enableSoftDelete": 0}, "must be true or false"),
]


@pytest.mark.parametrize(
    ("policy", "changes", "expected"),
    WRONG_TYPES,
    ids=case_ids(WRONG_TYPES),
)
def test_wrongly_typed_prop_is_a_violation(
    policy: Policy, changes: dict[str, Any], expected: str
) -> None:
    assert_wrong_type(run(policy, target(policy, **changes)), expected)


@pytest.mark.parametrize("policy", VAULT_POLICIES, ids=lambda p: p.name)
def test_vault_properties_of_the_wrong_type(policy: Policy) -> None:
    found = run(policy, resource(VAULT, {"properties": "purge"}))
    assert [f.kind for f in found] == ["violation"]
    assert "properties must be an object" in found[0].message


UNKNOWNS: list[tuple[Policy, dict[str, Any]]] = [
    (storage_https_only, {"enableHttpsTrafficOnly": UNKNOWN}),
    (storage_minimum_tls, {"minimumTlsVersion": UNKNOWN}),
    (storage_no_blob_public_access, {"allowBlobPublicAccess": UNKNOWN}),
    (storage_replicated_sku, {"sku": {"name": UNKNOWN}}),
    (storage_no_shared_key, {"allowSharedKeyAccess": UNKNOWN}),
    (keyvault_purge_protection, {"enablePurgeProtection": UNKNOWN}),
    (keyvault_soft_delete, {"enableSoftDelete": UNKNOWN}),
]


@pytest.mark.parametrize(("policy", "changes"), UNKNOWNS, ids=[p.name for p, _c in UNKNOWNS])
def test_unknown_value_is_a_note(policy: Policy, changes: dict[str, Any]) -> None:
    assert_unknown_is_a_note(run(policy, target(policy, **changes)), policy)


# --- details -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sku", ["Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS", "StandardV2_GRS"]
)
def test_replicated_skus_are_compliant(sku: str) -> None:
    assert run(storage_replicated_sku, account(sku={"name": sku})) == []


def test_tls_1_3_is_compliant() -> None:
    assert run(storage_minimum_tls, account(minimumTlsVersion="TLS1_3")) == []


def test_account_rules_ignore_vaults_and_vault_rules_ignore_accounts() -> None:
    for policy in ACCOUNT_POLICIES:
        assert run(policy, resource(VAULT, {"properties": {}})) == []
    for policy in VAULT_POLICIES:
        assert run(policy, resource(ACCOUNT, {})) == []
