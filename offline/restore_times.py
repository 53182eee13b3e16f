"""Typical creation and restore durations per Pulumi resource type, each with its source.

The RTO estimate (:mod:`offline.rto`) walks the resource graph and adds these figures along the
critical path. They are planning figures, not guarantees, and every one says where it comes from:

- ``ESTIMATE``: an engineering estimate. The provider documentation of most services gives no
  creation time at all, so the figure is our reading of how long the create call and the
  provider's wait-until-ready take, with the reasoning in ``basis``. Replace it with a measured
  figure (``MEASURED``) once a DR drill has timed the type.
- a documentation URL: the page documents the behaviour the figure relies on (for instance that
  RDS restores a new instance from a snapshot, loading data lazily). The page is cited for the
  behaviour described in ``basis``, never for a number it does not state.

Size-dependent restores (RDS from a snapshot or to a point in time) are given as a base for an
instance of the platform's size, and say so: the real time grows with the data volume and with
the transaction log to replay.

Types that are not in the table use :data:`DEFAULT`; the RTO report lists which types did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ESTIMATE = "engineering estimate"
MEASURED = "measured"


@dataclass(frozen=True)
class Duration:
    """A duration in minutes, where the figure comes from, and why it is that figure."""

    minutes: float
    source: str
    """A documentation URL, :data:`ESTIMATE` or :data:`MEASURED`."""
    basis: str
    """The reasoning behind the figure, or what the cited page documents."""


@dataclass(frozen=True)
class TypeTimes:
    """How long a type takes to create, and to restore when restoring it means copying data."""

    create: Duration
    restore: Duration | None = None


def _est(minutes: float, basis: str) -> Duration:
    return Duration(minutes, ESTIMATE, basis)


_INSTANT = _est(0.2, "a control-plane record; the API call returns when it exists")
_K8S_OBJECT = _est(
    0.5, "a Kubernetes object is stored by the API server at once; the provider waits for it"
)

RDS_RESTORE_DOC = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RestoreFromSnapshot.html"
)
RDS_PITR_DOC = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html"
ALB_INGRESS_DOC = "https://docs.aws.amazon.com/eks/latest/userguide/alb-ingress.html"
ARGOCD_SYNC_DOC = "https://argo-cd.readthedocs.io/en/stable/user-guide/auto_sync/"
ROUTE53_CHANGE_DOC = (
    "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html"
)

TIMES: Mapping[str, TypeTimes] = {
    # --- AWS: network ------------------------------------------------------------------------
    "aws:ec2/vpc:Vpc": TypeTimes(_est(0.5, "VPC creation is a control-plane call of seconds")),
    "aws:ec2/subnet:Subnet": TypeTimes(_est(0.5, "subnet creation is a control-plane call")),
    "aws:ec2/internetGateway:InternetGateway": TypeTimes(_est(0.5, "create plus attach")),
    "aws:ec2/eip:Eip": TypeTimes(_est(0.2, "address allocation is immediate")),
    "aws:ec2/natGateway:NatGateway": TypeTimes(
        _est(3, "the provider waits for state 'available'; a few minutes in our experience")
    ),
    "aws:ec2/routeTable:RouteTable": TypeTimes(_INSTANT),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": TypeTimes(_INSTANT),
    "aws:ec2/route:Route": TypeTimes(_INSTANT),
    "aws:ec2/securityGroup:SecurityGroup": TypeTimes(_est(0.3, "create plus rule calls")),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": TypeTimes(_INSTANT),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": TypeTimes(_INSTANT),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": TypeTimes(_INSTANT),
    "aws:ec2/vpcEndpoint:VpcEndpoint": TypeTimes(
        _est(2, "interface/gateway endpoint: the provider waits for state 'available'")
    ),
    "aws:ec2/flowLog:FlowLog": TypeTimes(_INSTANT),
    "aws:ec2/launchTemplate:LaunchTemplate": TypeTimes(_INSTANT),
    # --- AWS: identity and keys --------------------------------------------------------------
    "aws:iam/role:Role": TypeTimes(
        _est(0.5, "create is immediate; IAM is eventually consistent, so allow propagation")
    ),
    "aws:iam/rolePolicy:RolePolicy": TypeTimes(_INSTANT),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": TypeTimes(_INSTANT),
    "aws:iam/policy:Policy": TypeTimes(_INSTANT),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": TypeTimes(_INSTANT),
    "aws:kms/key:Key": TypeTimes(_est(0.5, "key creation is a control-plane call of seconds")),
    "aws:kms/alias:Alias": TypeTimes(_INSTANT),
    "aws:cloudwatch/logGroup:LogGroup": TypeTimes(_INSTANT),
    # --- AWS: EKS ----------------------------------------------------------------------------
    "aws:eks/cluster:Cluster": TypeTimes(
        _est(
            15,
            "control plane until ACTIVE: about 10-15 minutes in our experience; the EKS guide "
            "only says provisioning takes several minutes",
        )
    ),
    "aws:eks/nodeGroup:NodeGroup": TypeTimes(
        _est(5, "EC2 instances launched, bootstrapped and joined until the group is ACTIVE")
    ),
    "aws:eks/addon:Addon": TypeTimes(_est(2, "the provider waits until the add-on is ACTIVE")),
    "aws:eks/accessEntry:AccessEntry": TypeTimes(_INSTANT),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": TypeTimes(_INSTANT),
    # --- AWS: data ---------------------------------------------------------------------------
    "aws:rds/instance:Instance": TypeTimes(
        create=_est(
            20, "an empty Multi-AZ instance until 'available' (primary and standby provisioned)"
        ),
        restore=Duration(
            45,
            RDS_RESTORE_DOC,
            "base for the platform's size (db.r7g.xlarge, 200 GB, Multi-AZ): RDS restores a new "
            "instance from the snapshot (documented); the 45 minutes are our estimate and grow "
            f"with data volume; point-in-time restore ({RDS_PITR_DOC}) adds log replay",
        ),
    ),
    "aws:rds/parameterGroup:ParameterGroup": TypeTimes(_INSTANT),
    "aws:rds/subnetGroup:SubnetGroup": TypeTimes(_INSTANT),
    "aws:elasticache/replicationGroup:ReplicationGroup": TypeTimes(
        _est(
            15,
            "a multi-node, multi-AZ group until 'available'; created empty in DR because "
            "the platform's Redis is a cache rebuilt from the database",
        )
    ),
    "aws:elasticache/parameterGroup:ParameterGroup": TypeTimes(_INSTANT),
    "aws:elasticache/subnetGroup:SubnetGroup": TypeTimes(_INSTANT),
    "aws:s3/bucket:Bucket": TypeTimes(
        _est(
            0.3,
            "the bucket itself; its content is already in the DR region when replication "
            "(checked by the RPO policy) put it there, so no copy is on the path",
        )
    ),
    "aws:s3/bucketV2:BucketV2": TypeTimes(_est(0.3, "as aws:s3/bucket:Bucket")),
    "aws:s3/bucketPolicy:BucketPolicy": TypeTimes(_INSTANT),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": TypeTimes(_INSTANT),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": TypeTimes(_INSTANT),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        TypeTimes(_INSTANT)
    ),
    "aws:s3/bucketVersioning:BucketVersioning": TypeTimes(_INSTANT),
    "aws:s3/bucketLogging:BucketLogging": TypeTimes(_INSTANT),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": TypeTimes(_INSTANT),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": TypeTimes(_INSTANT),
    # --- AWS: edge ---------------------------------------------------------------------------
    "aws:cloudfront/distribution:Distribution": TypeTimes(
        _est(
            15,
            "the provider waits until the distribution is 'Deployed' to every edge location; "
            "5-15 minutes in our experience",
        )
    ),
    "aws:cloudfront/cachePolicy:CachePolicy": TypeTimes(_INSTANT),
    "aws:cloudfront/originAccessControl:OriginAccessControl": TypeTimes(_INSTANT),
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": TypeTimes(_INSTANT),
    "aws:wafv2/webAcl:WebAcl": TypeTimes(_est(1, "web ACL creation; propagation to CloudFront")),
    "aws:acm/certificate:Certificate": TypeTimes(_est(0.5, "the request; validation is separate")),
    "aws:acm/certificateValidation:CertificateValidation": TypeTimes(
        _est(
            10,
            "DNS validation once the record exists; usually minutes, can be longer, so the "
            "figure is deliberately above the common case",
        )
    ),
    "aws:route53/record:Record": TypeTimes(
        Duration(
            1,
            ROUTE53_CHANGE_DOC,
            "the provider waits until the change is INSYNC on Route 53's name servers "
            "(documented); one minute is our figure for that wait, not resolver TTLs",
        )
    ),
    # --- AWS Backup (no creation wait worth counting) -------------------------------------------
    "aws:backup/vault:Vault": TypeTimes(_INSTANT),
    "aws:backup/plan:Plan": TypeTimes(_INSTANT),
    "aws:backup/selection:Selection": TypeTimes(_INSTANT),
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": TypeTimes(
        _est(0, "feeds the DR region before the disaster; nothing waits for it in a restore")
    ),
    "aws:ecr/replicationConfiguration:ReplicationConfiguration": TypeTimes(_INSTANT),
    # --- Kubernetes ------------------------------------------------------------------------------
    "kubernetes:helm.sh/v3:Release": TypeTimes(
        _est(
            5,
            "chart install with the provider waiting for its workloads to be ready "
            "(operators, kube-prometheus-stack); images pulled on fresh nodes",
        )
    ),
    "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch": TypeTimes(
        _est(
            10,
            "ECK creates the StatefulSets and volumes; a multi-node cluster forms and goes "
            "green; snapshot restore into it is not modelled (size-dependent)",
        )
    ),
    "kubernetes:kibana.k8s.elastic.co/v1:Kibana": TypeTimes(
        _est(3, "one deployment that waits for Elasticsearch")
    ),
    "kubernetes:beat.k8s.elastic.co/v1beta1:Beat": TypeTimes(_est(2, "a DaemonSet rollout")),
    "kubernetes:batch/v1:Job": TypeTimes(_est(2, "the provider waits for the Job to complete")),
    "kubernetes:core/v1:Namespace": TypeTimes(_K8S_OBJECT),
    "kubernetes:core/v1:ConfigMap": TypeTimes(_K8S_OBJECT),
    "kubernetes:core/v1:Secret": TypeTimes(_K8S_OBJECT),
    "kubernetes:core/v1:ServiceAccount": TypeTimes(_K8S_OBJECT),
    "kubernetes:batch/v1:CronJob": TypeTimes(_K8S_OBJECT),
    "kubernetes:storage.k8s.io/v1:StorageClass": TypeTimes(_K8S_OBJECT),
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": TypeTimes(_K8S_OBJECT),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": TypeTimes(_K8S_OBJECT),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": TypeTimes(_K8S_OBJECT),
    "kubernetes:rbac.authorization.k8s.io/v1:Role": TypeTimes(_K8S_OBJECT),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": TypeTimes(_K8S_OBJECT),
    "kubernetes:monitoring.coreos.com/v1:Probe": TypeTimes(_K8S_OBJECT),
    "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth": TypeTimes(_K8S_OBJECT),
    "kubernetes:secrets.hashicorp.com/v1beta1:VaultConnection": TypeTimes(_K8S_OBJECT),
    "kubernetes:secrets.hashicorp.com/v1beta1:VaultDynamicSecret": TypeTimes(_K8S_OBJECT),
    "kubernetes:secrets.hashicorp.com/v1beta1:VaultStaticSecret": TypeTimes(_K8S_OBJECT),
    "kubernetes:core/v1:Service": TypeTimes(_K8S_OBJECT),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": TypeTimes(_K8S_OBJECT),
    "kubernetes:policy/v1:PodDisruptionBudget": TypeTimes(_K8S_OBJECT),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": TypeTimes(_K8S_OBJECT),
    "kubernetes:autoscaling.k8s.io/v1:VerticalPodAutoscaler": TypeTimes(_K8S_OBJECT),
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": TypeTimes(_K8S_OBJECT),
    "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate": TypeTimes(_K8S_OBJECT),
    "kubernetes:argoproj.io/v1alpha1:AppProject": TypeTimes(_K8S_OBJECT),
    "kubernetes:networking.k8s.io/v1:Ingress": TypeTimes(
        Duration(
            4,
            ALB_INGRESS_DOC,
            "the load balancer controller provisions an ALB for the Ingress (documented) and the "
            "provider waits until the Ingress reports its address; the 4 minutes (ALB active, "
            "targets registered and healthy) are our estimate",
        )
    ),
    "kubernetes:argoproj.io/v1alpha1:Application": TypeTimes(
        Duration(
            5,
            ARGOCD_SYNC_DOC,
            "the Application is stored at once; Argo CD then syncs the service's manifests from "
            "the configuration repository (documented; in prod an operator starts the sync) and "
            "the pods pull their images from the registry's replica; the 5 minutes until the "
            "pods are ready are our estimate",
        )
    ),
    # --- Vault (configuration calls against a running Vault) ----------------------------------
    "vault:index/mount:Mount": TypeTimes(_INSTANT),
    "vault:index/policy:Policy": TypeTimes(_INSTANT),
    "vault:index/authBackend:AuthBackend": TypeTimes(_INSTANT),
    "vault:kubernetes/authBackendConfig:AuthBackendConfig": TypeTimes(_INSTANT),
    "vault:kubernetes/authBackendRole:AuthBackendRole": TypeTimes(_INSTANT),
    "vault:database/secretBackendConnection:SecretBackendConnection": TypeTimes(
        _est(0.5, "Vault verifies the connection to the database")
    ),
    "vault:database/secretBackendRole:SecretBackendRole": TypeTimes(_INSTANT),
    "vault:database/secretBackendStaticRole:SecretBackendStaticRole": TypeTimes(_INSTANT),
    # --- Azure and GCP: kept for completeness; outside the AWS DR scope by default ----------------
    "azure-native:resources:ResourceGroup": TypeTimes(_INSTANT),
    "azure-native:storage:StorageAccount": TypeTimes(_est(1, "account provisioning")),
    "azure-native:storage:BlobContainer": TypeTimes(_INSTANT),
    "azure-native:storage:BlobServiceProperties": TypeTimes(_INSTANT),
    "azure-native:storage:BlobContainerImmutabilityPolicy": TypeTimes(_INSTANT),
    "azure-native:keyvault:Vault": TypeTimes(_est(1, "vault provisioning")),
    "azure-native:keyvault:Key": TypeTimes(_INSTANT),
    "azure-native:managedidentity:UserAssignedIdentity": TypeTimes(_INSTANT),
    "azure-native:managedidentity:FederatedIdentityCredential": TypeTimes(_INSTANT),
    "azure-native:authorization:RoleAssignment": TypeTimes(_INSTANT),
    "gcp:storage/bucket:Bucket": TypeTimes(_INSTANT),
    "gcp:bigquery/dataset:Dataset": TypeTimes(_INSTANT),
    "gcp:projects/service:Service": TypeTimes(_est(1, "enabling an API takes up to a minute")),
    "gcp:kms/keyRing:KeyRing": TypeTimes(_INSTANT),
    "gcp:kms/cryptoKey:CryptoKey": TypeTimes(_INSTANT),
    "gcp:vertex/aiDataset:AiDataset": TypeTimes(_est(1, "long-running operation")),
}
"""Known types. Order follows the platform's layers; lookups are by exact type token."""

NO_WAIT = Duration(0, ESTIMATE, "nothing is created: a component or a provider configuration")
"""Components (``ttbt2:*``) and provider resources take no time of their own."""

DEFAULT = Duration(
    2, ESTIMATE, "type not in the table: a generic cloud API create with a short readiness wait"
)
"""Any other type; the report lists the types that used it."""


def is_structural(resource_type: str, custom: bool) -> bool:
    """True for components and provider resources, which create nothing themselves."""
    return not custom or resource_type.startswith("pulumi:providers:")


def duration_for(
    resource_type: str, *, custom: bool = True, restore: bool = False
) -> tuple[Duration, bool]:
    """The duration of one resource and whether it came from :data:`DEFAULT`.

    ``restore`` picks the restore figure when the type has one (a store restored from a
    backup); otherwise the creation figure applies.
    """
    if is_structural(resource_type, custom):
        return NO_WAIT, False
    known = TIMES.get(resource_type)
    if known is None:
        return DEFAULT, True
    if restore and known.restore is not None:
        return known.restore, False
    return known.create, False
