"""Inputs whose change the provider cannot apply in place: ``pulumi preview`` shows a replace.

Every entry names where it comes from. The bridged providers (``aws``, ``gcp``) replace a
resource when an input marked ``ForceNew: true`` in the upstream Terraform provider schema
changes; ``azure-native`` marks path parameters and its own ``forceNewMap`` as
``willReplaceOnChanges``; the ``kubernetes`` provider computes ``forceNewProperties`` per kind.
Only inputs read from those sources are listed, for the types this platform deploys that hold
data or identity. **An input not listed here is treated as an in-place update**: the diff may
call a replacement an update for an unlisted type or input, never the other way round.

Some well-known inputs are deliberately absent because the provider now updates them in place:
RDS ``identifier``/``identifierPrefix`` (rename supported since terraform-provider-aws v5,
https://github.com/hashicorp/terraform-provider-aws/pull/32687), RDS ``dbSubnetGroupName``
(no ``ForceNew`` in the schema), EKS ``vpcConfig.subnetIds``/``securityGroupIds`` (in place
since v5.25.0, https://github.com/hashicorp/terraform-provider-aws/pull/34209).

Paths are dot-separated input names, camelCase as in the resource graph; the value at the path
is compared between the two graphs, so a path inside an object block (``vpcConfig.x``) also
catches the block being added or removed.
"""

from __future__ import annotations

from dataclasses import dataclass

_TF_AWS = "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/"
_TF_GOOGLE = "https://github.com/hashicorp/terraform-provider-google/blob/main/google/services/"
_AZURE_NATIVE = (
    "https://github.com/pulumi/pulumi-azure-native/blob/master/provider/pkg/gen/replacement.go"
    " (forceNewMap) and path parameters"
    " (https://github.com/pulumi/pulumi-azure-native/pull/3532)"
)
_K8S_DIFF = (
    "https://github.com/pulumi/pulumi-kubernetes/blob/master/provider/pkg/provider/diff.go"
    " (forceNewProperties)"
)


@dataclass(frozen=True)
class ReplaceRule:
    """The replace-on-change inputs of one resource type and where that is documented."""

    paths: tuple[str, ...]
    source: str
    removal_only: tuple[str, ...] = ()
    """Inputs whose *removal* (not any change) forces a replacement."""


def _tf_aws(file: str, *paths: str, removal_only: tuple[str, ...] = ()) -> ReplaceRule:
    return ReplaceRule(paths, f"{_TF_AWS}{file} (ForceNew)", removal_only)


def _tf_google(file: str, *paths: str) -> ReplaceRule:
    return ReplaceRule(paths, f"{_TF_GOOGLE}{file} (ForceNew)")


REPLACE_ON_CHANGES: dict[str, ReplaceRule] = {
    "aws:rds/instance:Instance": _tf_aws(
        "rds/instance.go",
        "availabilityZone",
        "characterSetName",
        "customIamInstanceProfile",
        "dbName",
        "engine",
        "kmsKeyId",
        "ncharCharacterSetName",
        "restoreToPointInTime",
        "snapshotIdentifier",
        "storageEncrypted",
        "timezone",
        "username",
    ),
    "aws:rds/subnetGroup:SubnetGroup": _tf_aws("rds/subnet_group.go", "name", "namePrefix"),
    "aws:s3/bucket:Bucket": _tf_aws("s3/bucket.go", "bucket", "bucketPrefix"),
    "aws:eks/cluster:Cluster": _tf_aws(
        "eks/cluster.go",
        "name",
        "roleArn",
        "bootstrapSelfManagedAddons",
        "accessConfig.bootstrapClusterCreatorAdminPermissions",
        "kubernetesNetworkConfig.ipFamily",
        "kubernetesNetworkConfig.serviceIpv4Cidr",
        "remoteNetworkConfig",
        "outpostConfig.controlPlaneInstanceType",
        # CustomizeDiff ForceNewIfChange: envelope encryption cannot be turned off again.
        removal_only=("encryptionConfig",),
    ),
    "aws:kms/key:Key": _tf_aws(
        "kms/key.go",
        "customKeyStoreId",
        "customerMasterKeySpec",
        "keyUsage",
        "multiRegion",
        "xksKeyId",
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": _tf_aws(
        "elasticache/replication_group.go",
        "atRestEncryptionEnabled",
        "dataTieringEnabled",
        "globalReplicationGroupId",
        "kmsKeyId",
        "networkType",
        "port",
        "replicationGroupId",
        "securityGroupNames",
        "snapshotArns",
        "snapshotName",
        "subnetGroupName",
    ),
    "aws:iam/role:Role": _tf_aws("iam/role.go", "name", "namePrefix", "path"),
    "aws:backup/vault:Vault": _tf_aws("backup/vault.go", "name", "kmsKeyArn"),
    "gcp:storage/bucket:Bucket": _tf_google(
        "storage/resource_storage_bucket.go",
        "name",
        "location",
        "project",
        "enableObjectRetention",
        "hierarchicalNamespace",
    ),
    "gcp:bigquery/dataset:Dataset": _tf_google(
        "bigquery/resource_bigquery_dataset.go",
        "datasetId",
        "location",
        "project",
        "externalDatasetReference",
    ),
    "gcp:kms/keyRing:KeyRing": _tf_google(
        "kms/resource_kms_key_ring.go", "name", "location", "project"
    ),
    "gcp:kms/cryptoKey:CryptoKey": _tf_google(
        "kms/resource_kms_crypto_key.go",
        "name",
        "keyRing",
        "purpose",
        "importOnly",
        "destroyScheduledDuration",
        "cryptoKeyBackend",
    ),
    "azure-native:storage:StorageAccount": ReplaceRule(
        ("accountName", "resourceGroupName", "location", "isHnsEnabled"), _AZURE_NATIVE
    ),
    "azure-native:storage:BlobContainer": ReplaceRule(
        ("accountName", "containerName", "resourceGroupName"), _AZURE_NATIVE
    ),
    "azure-native:keyvault:Vault": ReplaceRule(("vaultName", "resourceGroupName"), _AZURE_NATIVE),
    "azure-native:keyvault:Key": ReplaceRule(
        ("keyName", "vaultName", "resourceGroupName"), _AZURE_NATIVE
    ),
    "azure-native:resources:ResourceGroup": ReplaceRule(
        ("resourceGroupName", "location"), _AZURE_NATIVE
    ),
    "azure-native:authorization:RoleAssignment": ReplaceRule(
        ("roleAssignmentName", "scope", "principalId"), _AZURE_NATIVE
    ),
}

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
_HELM_RULE = ReplaceRule(
    ("name", "namespace"),
    "https://github.com/pulumi/pulumi-kubernetes/blob/master/provider/pkg/provider/"
    "helm_release.go (forceNewFields)",
)
_K8S_METADATA = ("metadata.name", "metadata.namespace")
_LABEL_SELECTOR = ("spec.selector",)
# "<group>/<version>:<Kind>" -> inputs the kubernetes provider replaces on, beyond the metadata
# name and namespace of every object. A ConfigMap's or Secret's content replaces it unless the
# provider enables mutability (this platform's provider does not).
_K8S_KINDS: dict[str, tuple[str, ...]] = {
    "core/v1:PersistentVolumeClaim": (
        "spec.accessModes",
        "spec.selector",
        "spec.storageClassName",
        "spec.volumeName",
    ),
    "core/v1:Secret": ("type", "stringData", "data"),
    "core/v1:ConfigMap": ("binaryData", "data"),
    "core/v1:Service": ("spec.clusterIP",),
    "apps/v1:Deployment": _LABEL_SELECTOR,
    "apps/v1:DaemonSet": _LABEL_SELECTOR,
    "apps/v1:StatefulSet": (
        "spec.podManagementPolicy",
        "spec.revisionHistoryLimit",
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
    ),
    "batch/v1:Job": ("spec.completions", "spec.parallelism", "spec.selector", "spec.template"),
    "storage.k8s.io/v1:StorageClass": ("parameters", "provisioner"),
    "rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("roleRef",),
    "rbac.authorization.k8s.io/v1:RoleBinding": ("roleRef",),
}


def rule_for(type_token: str) -> ReplaceRule | None:
    """The replace-on-change rule of a type, or None when every input updates in place."""
    if type_token in REPLACE_ON_CHANGES:
        return REPLACE_ON_CHANGES[type_token]
    if type_token == HELM_RELEASE:
        return _HELM_RULE
    if type_token.startswith("kubernetes:"):
        kind = type_token.split(":", 1)[1]
        return ReplaceRule((*_K8S_METADATA, *_K8S_KINDS.get(kind, ())), _K8S_DIFF)
    return None
