"""Azure redundancy and the S3 -> Azure backup copier, rendered on the mock engine.

Seeds 4.1.2 (Azure provides redundancy) and 4.7.2 (RPO < 1 h). Each test reads what the
components register, in a first preview (outputs unknown) and in an update (outputs known).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi_azure_native import provider as azure_provider

from components.azure.redundancy import (
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    Redundancy,
    RedundancyArgs,
)
from components.k8s.backup_copy import BackupCopy, BackupCopyArgs, max_interval_minutes
from offline.engine import run_program
from offline.graph import SECRET_SIG, UNKNOWN, Resource, StackGraph
from offline.mocks import AZURE_SUBSCRIPTION_ID, _suffix
from tests.conftest import of_type, one

ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
ROLE_ARN = "arn:aws:iam::123456789012:role/ttbt2-backup-copier"
TENANT = "11111111-2222-4333-8444-555555555555"
NAMESPACE, SERVICE_ACCOUNT = "backup", "backup-copier"
AZ = "azure-native:"
ACCOUNT = f"{AZ}storage:StorageAccount"
CONTAINER = f"{AZ}storage:BlobContainer"
ROLE = f"{AZ}authorization:RoleAssignment"
IDENTITY = f"{AZ}managedidentity:UserAssignedIdentity"
CRONJOB = "kubernetes:batch/v1:CronJob"
SA = "kubernetes:core/v1:ServiceAccount"
MODES = pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])

BASE = RedundancyArgs(
    location="westeurope",
    environment="prod",
    tags={"project": "ttbt2"},
    tenant_id=TENANT,
    oidc_issuer_url=ISSUER,
    copier_namespace=NAMESPACE,
    copier_service_account=SERVICE_ACCOUNT,
    protect=True,
)


def render(
    preview: bool,
    args: RedundancyArgs = BASE,
    copy: Callable[[BackupCopyArgs], BackupCopyArgs] = lambda a: a,
) -> StackGraph:
    """Both components, wired as the platform wires them, with their outputs exported."""

    def program() -> None:
        azure = azure_provider.Provider("azure", location=args.location)
        cluster = k8s.Provider("k8s", kubeconfig="{}")
        dr = Redundancy("dr", args, opts=pulumi.ResourceOptions(providers={"azure-native": azure}))
        BackupCopy(
            "backup-copy",
            copy(
                BackupCopyArgs(
                    namespace=NAMESPACE,
                    service_account=SERVICE_ACCOUNT,
                    s3_bucket="ttbt2-prod-backups",
                    s3_prefix="exports/",
                    s3_region="eu-west-1",
                    storage_account=dr.storage_account_name,
                    container=dr.container_name,
                    aws_role_arn=ROLE_ARN,
                    azure_client_id=dr.copier_client_id,
                    azure_tenant_id=dr.tenant_id,
                )
            ),
            opts=pulumi.ResourceOptions(providers={"kubernetes": cluster}),
        )
        pulumi.export("storageAccount", dr.storage_account_name)
        pulumi.export("container", dr.container_name)
        pulumi.export("copierClientId", dr.copier_client_id)
        pulumi.export("tenantId", dr.tenant_id)

    return run_program(program, project="t", stack="unit", preview=preview)


_graphs: dict[bool, StackGraph] = {}


def graph(preview: bool) -> StackGraph:
    if preview not in _graphs:
        _graphs[preview] = render(preview)
    return _graphs[preview]


def role_definition(guid: str) -> str:
    return (
        f"/subscriptions/{AZURE_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{guid}"
    )


def cronjob_object(res: Resource) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", **res.props}


def pod_spec(g: StackGraph) -> dict[str, Any]:
    spec: dict[str, Any] = one(g, CRONJOB).props["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


@MODES
def test_every_resource_is_a_child_of_its_component_with_the_passed_provider(preview: bool) -> None:
    g = graph(preview)
    components = {r.type: r for r in g.resources if not r.custom}
    azure = [r for r in g.resources if r.type.startswith(AZ)]
    kube = [r for r in g.resources if r.type.startswith("kubernetes:")]
    assert {r.type.rsplit(":", 1)[1] for r in azure} == {
        "ResourceGroup",
        "Vault",
        "Key",
        "UserAssignedIdentity",
        "RoleAssignment",
        "StorageAccount",
        "BlobServiceProperties",
        "BlobContainer",
        "BlobContainerImmutabilityPolicy",
        "FederatedIdentityCredential",
    }
    assert {r.type for r in kube} == {SA, CRONJOB}
    for res in azure:
        assert res.parent == components["ttbt2:azure:Redundancy"].urn, res.name
        assert res.provider and "pulumi:providers:azure-native::azure::" in res.provider
    for res in kube:
        assert res.parent == components["ttbt2:k8s:BackupCopy"].urn, res.name
        assert res.provider and "pulumi:providers:kubernetes::k8s::" in res.provider


@MODES
def test_storage_account_is_geo_zone_redundant_and_closed_to_keys_and_anonymous_reads(
    preview: bool,
) -> None:
    props = one(graph(preview), ACCOUNT).props
    assert props["kind"] == "StorageV2"
    assert props["sku"] == {"name": "Standard_RAGZRS"}
    assert props["enableHttpsTrafficOnly"] is True
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["allowBlobPublicAccess"] is False
    assert props["allowSharedKeyAccess"] is False
    assert len(props["accountName"]) <= 24 and props["accountName"].isalnum()


def test_storage_account_network_rules_follow_allowed_ip_ranges() -> None:
    assert "networkRuleSet" not in one(graph(False), ACCOUNT).props
    g = render(False, replace(BASE, allowed_ip_ranges=("203.0.113.10", "203.0.113.11")))
    rules = one(g, ACCOUNT).props["networkRuleSet"]
    assert rules["defaultAction"] == "Deny"
    assert [r["iPAddressOrRange"] for r in rules["ipRules"]] == ["203.0.113.10", "203.0.113.11"]


@MODES
def test_storage_account_is_encrypted_with_the_cmk_through_its_own_identity(
    preview: bool,
) -> None:
    g = graph(preview)
    account = one(g, ACCOUNT)
    identity = one(g, IDENTITY, "storage-identity")
    key = one(g, f"{AZ}keyvault:Key")
    vault = one(g, f"{AZ}keyvault:Vault")
    key_access = one(g, ROLE, "storage-key-access")
    encryption = account.props["encryption"]
    assert encryption["keySource"] == "Microsoft.Keyvault"
    assert encryption["requireInfrastructureEncryption"] is True
    assert "keyVersion" not in encryption["keyVaultProperties"]  # follows key rotation
    assert set(account.property_dependencies["encryption"]) == {identity.urn, key.urn, vault.urn}
    assert account.props["identity"]["type"] == "UserAssigned"
    assert account.property_dependencies["identity"] == [identity.urn]
    # The identity can use the key before the account is encrypted with it.
    assert key_access.urn in account.dependencies
    assert key_access.props["roleDefinitionId"] == role_definition(
        KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
    )
    assert key_access.property_dependencies["scope"] == [vault.urn]
    assert key_access.property_dependencies["principalId"] == [identity.urn]
    if not preview:
        assert encryption["keyVaultProperties"] == {
            "keyName": "storage-cmk",
            "keyVaultUri": f"https://{vault.props['vaultName']}.vault.azure.net/",
        }


@MODES
def test_key_vault_has_purge_protection_rbac_and_long_soft_delete(preview: bool) -> None:
    g = graph(preview)
    props = one(g, f"{AZ}keyvault:Vault").props["properties"]
    assert props["enablePurgeProtection"] is True
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == 90
    assert props["sku"] == {"family": "A", "name": "standard"}
    assert props["tenantId"] == TENANT
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert "accessPolicies" not in props
    key = one(g, f"{AZ}keyvault:Key").props["properties"]
    assert key["kty"] == "RSA" and key["keySize"] >= 2048
    assert set(key["keyOps"]) == {"wrapKey", "unwrapKey"}


@MODES
@pytest.mark.parametrize("days", [35, 7])
def test_blob_soft_delete_and_versioning(preview: bool, days: int) -> None:
    g = graph(preview) if days == 35 else render(preview, replace(BASE, soft_delete_days=days))
    props = one(g, f"{AZ}storage:BlobServiceProperties").props
    assert props["blobServicesName"] == "default"
    assert props["isVersioningEnabled"] is True
    assert props["deleteRetentionPolicy"] == {"enabled": True, "days": days}
    assert props["containerDeleteRetentionPolicy"] == {"enabled": True, "days": days}


@MODES
@pytest.mark.parametrize("days", [35, 90])
def test_backups_container_is_private_and_immutable(preview: bool, days: int) -> None:
    g = graph(preview) if days == 35 else render(preview, replace(BASE, immutability_days=days))
    container = one(g, CONTAINER)
    assert container.props["containerName"] == "backups"
    assert container.props["publicAccess"] == "None"
    policy = one(g, f"{AZ}storage:BlobContainerImmutabilityPolicy")
    assert policy.props["immutabilityPeriodSinceCreationInDays"] == days
    assert policy.props["allowProtectedAppendWrites"] is True
    assert policy.property_dependencies["containerName"] == [container.urn]
    if not preview:
        assert policy.props["containerName"] == "backups"


@MODES
def test_copier_identity_trusts_only_the_eks_service_account(preview: bool) -> None:
    g = graph(preview)
    federation = one(g, f"{AZ}managedidentity:FederatedIdentityCredential")
    assert federation.props["issuer"] == ISSUER
    assert federation.props["subject"] == f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
    assert federation.props["audiences"] == ["api://AzureADTokenExchange"]
    copier = one(g, IDENTITY, "copier-identity")
    assert federation.property_dependencies["resourceName"] == [copier.urn]


@MODES
def test_copier_role_is_blob_data_contributor_on_the_container_only(preview: bool) -> None:
    g = graph(preview)
    role = one(g, ROLE, "copier")
    container = one(g, CONTAINER)
    assert role.props["roleDefinitionId"] == role_definition(STORAGE_BLOB_DATA_CONTRIBUTOR)
    assert role.props["principalType"] == "ServicePrincipal"
    assert role.property_dependencies["scope"] == [container.urn]
    assert role.property_dependencies["principalId"] == [one(g, IDENTITY, "copier-identity").urn]
    # In an update the scope is the container's id (the mock's id of that container).
    expected = UNKNOWN if preview else f"blobcontainer-{_suffix(container.name)}"
    assert role.props["scope"] == expected
    # No other assignment grants data access on the account or anything wider.
    grants = [
        r
        for r in of_type(g, ROLE)
        if r.props["roleDefinitionId"].endswith(STORAGE_BLOB_DATA_CONTRIBUTOR)
    ]
    assert grants == [role]


@MODES
def test_nothing_stores_a_secret(preview: bool) -> None:
    g = graph(preview)
    text = json.dumps([r.props for r in g.resources])
    assert SECRET_SIG not in text
    assert not [r for r in g.resources if r.type.startswith("random:")]
    for word in ("accountKey", "sasToken", "clientSecret", "AWS_SECRET_ACCESS_KEY", "secretKeyRef"):
        assert word not in text


@pytest.mark.parametrize("protect", [True, False])
def test_stores_are_protected_when_asked(protect: bool) -> None:
    g = graph(False) if protect else render(False, replace(BASE, protect=False))
    for typ in (
        "resources:ResourceGroup",
        "keyvault:Vault",
        "keyvault:Key",
        "storage:StorageAccount",
        "storage:BlobContainer",
    ):
        assert one(g, f"{AZ}{typ}").option("protect") is protect, typ


def test_outputs_are_account_container_client_and_tenant() -> None:
    g = graph(False)
    out = {k: v["value"] for k, v in g.outputs.items()}
    assert out["storageAccount"] == one(g, ACCOUNT).props["accountName"]
    assert out["container"] == "backups"
    copier = one(g, IDENTITY, "copier-identity")
    assert out["copierClientId"] == str(
        __import__("uuid").UUID(_suffix(f"{copier.name}-client", 32))
    )
    assert out["tenantId"] == TENANT
    preview = graph(True).outputs
    assert preview["tenantId"]["known"] and not preview["copierClientId"]["known"]


@MODES
def test_service_account_carries_both_federations(preview: bool) -> None:
    g = graph(preview)
    meta = one(g, SA).props["metadata"]
    assert meta["name"] == SERVICE_ACCOUNT and meta["namespace"] == NAMESPACE
    assert meta["labels"]["azure.workload.identity/use"] == "true"
    assert meta["annotations"]["eks.amazonaws.com/role-arn"] == ROLE_ARN
    client = meta["annotations"]["azure.workload.identity/client-id"]
    assert client == (UNKNOWN if preview else g.outputs["copierClientId"]["value"])
    assert pod_spec(g)["serviceAccountName"] == SERVICE_ACCOUNT


@MODES
def test_cronjob_is_valid_kubernetes_1_33(preview: bool) -> None:
    kubernetes_validate.validate(cronjob_object(one(graph(preview), CRONJOB)), "1.33", strict=True)
    kubernetes_validate.validate(
        {"apiVersion": "v1", "kind": "ServiceAccount", **one(graph(preview), SA).props},
        "1.33",
        strict=True,
    )


@MODES
def test_cronjob_meets_the_rpo(preview: bool) -> None:
    spec = one(graph(preview), CRONJOB).props["spec"]
    assert max_interval_minutes(spec["schedule"]) < 60
    assert spec["schedule"] == "*/30 * * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 0 < spec["startingDeadlineSeconds"] < 30 * 60
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    # A hung copy ends before the next run is due.
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 30 * 60


@pytest.mark.parametrize(
    ("schedule", "minutes"),
    [("*/30 * * * *", 30), ("0 * * * *", 60), ("5,50 * * * *", 45), ("0-10/5 * * * *", 50)],
)
def test_max_interval_minutes(schedule: str, minutes: int) -> None:
    assert max_interval_minutes(schedule) == minutes


@pytest.mark.parametrize("schedule", ["0 * * * *", "0 */2 * * *", "*/30 * * * 1", "61 * * * *"])
def test_schedule_beyond_the_rpo_is_refused(schedule: str) -> None:
    with pytest.raises(ValueError, match=r"schedule|cron"):
        render(False, copy=lambda a: replace(a, schedule=schedule))


@MODES
def test_copier_pod_is_restricted_and_sized(preview: bool) -> None:
    spec = pod_spec(graph(preview))
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    image = container["image"]
    assert ":" in image and not image.endswith(":latest")


@MODES
def test_copier_is_configured_by_env_with_no_credential(preview: bool) -> None:
    g = graph(preview)
    spec = pod_spec(g)
    (container,) = spec["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert all(set(e) == {"name", "value"} for e in container["env"])  # no secretKeyRef
    assert "envFrom" not in container
    assert env["RCLONE_CONFIG_S3_ENV_AUTH"] == "true"
    assert env["RCLONE_CONFIG_AZURE_ENV_AUTH"] == "true"
    assert env["RCLONE_SOURCE"] == "s3:ttbt2-prod-backups/exports"
    assert env["RCLONE_IMMUTABLE"] == "true"
    assert container["args"] == ["copy", "$(RCLONE_SOURCE)", "$(RCLONE_DESTINATION)"]
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AZURE_CLIENT_SECRET"} & set(env)
    # The Azure token is projected with the audience the federated credential expects.
    token_dir = env["AZURE_FEDERATED_TOKEN_FILE"].rsplit("/", 1)[0]
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == token_dir)
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    (source,) = volume["projected"]["sources"]
    assert source["serviceAccountToken"]["audience"] == "api://AzureADTokenExchange"
    assert env["AZURE_FEDERATED_TOKEN_FILE"].endswith("/" + source["serviceAccountToken"]["path"])
    if not preview:
        assert env["RCLONE_CONFIG_AZURE_ACCOUNT"] == g.outputs["storageAccount"]["value"]
        assert env["RCLONE_DESTINATION"] == "azure:backups/exports"
        assert env["AZURE_CLIENT_ID"] == g.outputs["copierClientId"]["value"]
        assert env["AZURE_TENANT_ID"] == TENANT
