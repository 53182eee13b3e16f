"""Analytics and AI on Google Cloud: BigQuery, a GCS landing zone, Pub/Sub and Vertex AI.

Everything is encrypted with one customer-managed key of the component, and the only writer is
an AWS workload, let in by workload identity federation rather than a service-account key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.gcp.request_logs import RequestLogs, RequestLogsArgs
from config.constants import GCS_DUAL_REGIONS

APIS = (
    "bigquery",
    "storage",
    "pubsub",
    "cloudkms",
    "aiplatform",
    "iam",
    "iamcredentials",
    "sts",
)
"""APIs the component uses, enabled on the project (``<api>.googleapis.com``)."""

MAX_ROTATION_DAYS = 90
KEY_USER_ROLE = "roles/cloudkms.cryptoKeyEncrypterDecrypter"

# IAM role names: what AWS accepts, and nothing that could escape the CEL string literal.
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


@dataclass(frozen=True)
class AnalyticsArgs:
    """Arguments of :class:`Analytics`.

    ``aws_account_id`` is the AWS account whose tokens the pool accepts and
    ``aws_writer_role_arn`` the IRSA role, in that account, of the one workload allowed to write.
    ``key_rotation_days`` is at most 90 (seed 4.1.2). ``landing_location`` is a predefined
    dual-region (such as ``EUR4``) holding the landing bucket with turbo replication, so its data
    has a copy in a second region within 15 minutes (seed 4.7: RPO < 1 h, a copy outside the
    region). ``access_log_retention_days`` is how long the landing bucket's usage logs are kept.
    """

    project: str
    region: str
    environment: str
    labels: dict[str, str]
    aws_account_id: pulumi.Input[str]
    aws_writer_role_arn: pulumi.Input[str]
    key_rotation_days: int = 90
    landing_retention_days: int = 30
    landing_location: str = "EUR4"
    access_log_retention_days: int = 90
    protect: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.key_rotation_days <= MAX_ROTATION_DAYS:
            raise ValueError(
                f"key_rotation_days must be between 1 and {MAX_ROTATION_DAYS}, "
                f"got {self.key_rotation_days}"
            )
        if self.landing_location not in GCS_DUAL_REGIONS:
            raise ValueError(
                f"landing_location must be a predefined dual-region "
                f"({', '.join(sorted(GCS_DUAL_REGIONS))}), got {self.landing_location!r}"
            )
        if self.landing_retention_days < 1:
            raise ValueError(
                f"landing_retention_days must be at least 1, got {self.landing_retention_days}"
            )
        if self.access_log_retention_days < 1:
            raise ValueError(
                "access_log_retention_days must be at least 1, "
                f"got {self.access_log_retention_days}"
            )


def role_name(role_arn: str) -> str:
    """The name of an IAM role from its ARN: the last path segment, as in an assumed-role ARN.

    Raises ``ValueError`` for anything that is not a role ARN, so that a typo cannot end up
    inside the pool provider's condition.
    """
    resource = role_arn.split(":", 5)[-1]
    name = resource.rsplit("/", 1)[-1]
    if (
        not role_arn.startswith("arn:")
        or not resource.startswith("role/")
        or not _ROLE_NAME.match(name)
    ):
        raise ValueError(f"not an IAM role ARN: {role_arn!r}")
    return name


class Analytics(pulumi.ComponentResource):
    """The platform's analytics and AI project resources.

    - the APIs it uses, enabled and left enabled on destroy (other workloads may use them);
    - one KMS key, rotated at most every 90 days, used by BigQuery, GCS, Pub/Sub and Vertex AI,
      whose service agents get encrypter/decrypter on that key only;
    - a BigQuery dataset, a versioned landing bucket with a retention policy, uniform access and
      public access prevention, a Pub/Sub topic and a Vertex AI dataset, all under that key;
    - the landing bucket's request logs (:class:`RequestLogs`): usage logs into a log bucket of
      the same location under the landing key, and Data Access audit logs for Cloud Storage;
    - a service account with no project-level role: it may only write to the dataset, create
      objects in the bucket and publish to the topic, and it has no key;
    - a workload identity pool trusting the AWS account, whose provider admits only the writer
      role, which may impersonate the service account.
    """

    def __init__(
        self, name: str, args: AnalyticsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:gcp:Analytics", name, None, opts)
        prefix = f"ttbt2-{args.environment}"
        apis = self._apis(name, args.project)
        self.key, self.landing_key = self._keys(name, args, prefix, apis)
        grants = self._key_grants(name, args.project, apis)

        def encrypted(api: str) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=[apis[api], grants[api]])

        self.request_logs = RequestLogs(
            f"{name}-request-logs",
            RequestLogsArgs(
                project=args.project,
                environment=args.environment,
                location=args.landing_location,
                kms_key_name=self.landing_key.id,
                retention_days=args.access_log_retention_days,
                labels=args.labels,
                protect=args.protect,
            ),
            opts=encrypted("storage"),
        )
        self._stores(name, args, prefix, encrypted)
        self.service_account = self._writer(name, args, prefix, apis)
        self.pool_provider = self._federation(name, args, prefix, apis)

        self.dataset_id = self.dataset.dataset_id
        self.bucket_name = self.bucket.name
        self.topic_id = self.topic.id
        self.service_account_email = self.service_account.email
        self.pool_provider_name = self.pool_provider.name
        self.register_outputs(
            {
                "datasetId": self.dataset_id,
                "bucketName": self.bucket_name,
                "topicId": self.topic_id,
                "serviceAccountEmail": self.service_account_email,
                "poolProviderName": self.pool_provider_name,
            }
        )

    def _after(self, apis: dict[str, gcp.projects.Service], *names: str) -> pulumi.ResourceOptions:
        """Child options that wait for the given APIs to be enabled."""
        return pulumi.ResourceOptions(parent=self, depends_on=[apis[n] for n in names])

    def _apis(self, name: str, project: str) -> dict[str, gcp.projects.Service]:
        """Enable the APIs the component uses, left enabled on destroy."""
        return {
            api: gcp.projects.Service(
                f"{name}-api-{api}",
                project=project,
                service=f"{api}.googleapis.com",
                disable_on_destroy=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for api in APIS
        }

    def _keys(
        self,
        name: str,
        args: AnalyticsArgs,
        prefix: str,
        apis: dict[str, gcp.projects.Service],
    ) -> tuple[gcp.kms.CryptoKey, gcp.kms.CryptoKey]:
        """The regional key and the landing bucket's dual-region key, each in its own ring."""
        key_ring = gcp.kms.KeyRing(
            f"{name}-keyring",
            name=f"{prefix}-analytics",
            project=args.project,
            location=args.region,
            opts=self._after(apis, "cloudkms"),
        )
        key = gcp.kms.CryptoKey(
            f"{name}-key",
            name=f"{prefix}-analytics",
            key_ring=key_ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=f"{args.key_rotation_days * 86400}s",
            labels=args.labels,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )

        # A dual-region bucket needs a key of its own location: a second ring and key there.
        landing_ring = gcp.kms.KeyRing(
            f"{name}-landing-keyring",
            name=f"{prefix}-analytics-landing",
            project=args.project,
            location=args.landing_location.lower(),
            opts=self._after(apis, "cloudkms"),
        )
        landing_key = gcp.kms.CryptoKey(
            f"{name}-landing-key",
            name=f"{prefix}-analytics-landing",
            key_ring=landing_ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=f"{args.key_rotation_days * 86400}s",
            labels=args.labels,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        return key, landing_key

    def _key_grants(
        self, name: str, project: str, apis: dict[str, gcp.projects.Service]
    ) -> dict[str, gcp.kms.CryptoKeyIAMMember]:
        """Let each service agent use the key of its service's location, keyed by API."""
        child = pulumi.ResourceOptions(parent=self)
        # The service agents encrypt on the services' behalf: each needs the key before its
        # service can create anything under CMEK. Pub/Sub and Vertex agents are created on
        # demand; the GCS and BigQuery ones are looked up, as ServiceIdentity does not cover them.
        pubsub_agent = gcp.projects.ServiceIdentity(
            f"{name}-agent-pubsub",
            project=project,
            service="pubsub.googleapis.com",
            opts=self._after(apis, "pubsub"),
        )
        vertex_agent = gcp.projects.ServiceIdentity(
            f"{name}-agent-aiplatform",
            project=project,
            service="aiplatform.googleapis.com",
            opts=self._after(apis, "aiplatform"),
        )
        storage_agent = gcp.storage.get_project_service_account_output(
            project=project,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[apis["storage"]]),
        )
        bigquery_agent = gcp.bigquery.get_default_service_account_output(
            project=project,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[apis["bigquery"]]),
        )
        agents: dict[str, pulumi.Input[str]] = {
            "bigquery": bigquery_agent.member,
            "storage": storage_agent.member,
            "pubsub": pubsub_agent.member,
            "aiplatform": vertex_agent.member,
        }
        # Each agent may use the key of its service's location only.
        keys = {api: self.key for api in agents} | {"storage": self.landing_key}
        return {
            api: gcp.kms.CryptoKeyIAMMember(
                f"{name}-key-user-{api}",
                crypto_key_id=keys[api].id,
                role=KEY_USER_ROLE,
                member=member,
                opts=child,
            )
            for api, member in agents.items()
        }

    def _stores(
        self,
        name: str,
        args: AnalyticsArgs,
        prefix: str,
        encrypted: Callable[[str], pulumi.ResourceOptions],
    ) -> None:
        """The dataset, landing bucket, topic and Vertex dataset, all under the CMEK keys."""
        project, region, env, labels = args.project, args.region, args.environment, args.labels
        dataset_id = f"ttbt2_{env}_analytics".replace("-", "_")
        self.dataset = gcp.bigquery.Dataset(
            f"{name}-dataset",
            project=project,
            dataset_id=dataset_id,
            location=region,
            description=f"TTBT2 {env} analytics",
            default_encryption_configuration=gcp.bigquery.DatasetDefaultEncryptionConfigurationArgs(
                kms_key_name=self.key.id
            ),
            labels=labels,
            # No `accesses`: BigQuery's defaults (project owners, editors, viewers), never
            # allAuthenticatedUsers or allUsers; everything else is granted by IAM members.
            opts=encrypted("bigquery"),
        )
        self.bucket = gcp.storage.Bucket(
            f"{name}-landing",
            name=f"{project}-{prefix}-landing",
            project=project,
            location=args.landing_location,
            # Turbo replication: every object is in both regions within 15 minutes.
            rpo="ASYNC_TURBO",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=self.landing_key.id),
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            retention_policy=gcp.storage.BucketRetentionPolicyArgs(
                retention_period=str(args.landing_retention_days * 86400)
            ),
            logging=gcp.storage.BucketLoggingArgs(
                log_bucket=self.request_logs.bucket_name, log_object_prefix=f"{prefix}-landing/"
            ),
            labels=labels,
            opts=encrypted("storage"),
        )
        self.topic = gcp.pubsub.Topic(
            f"{name}-topic",
            name=f"{prefix}-analytics",
            project=project,
            kms_key_name=self.key.id,
            labels=labels,
            opts=encrypted("pubsub"),
        )
        # Placeholder the platform's models will train on; Vertex needs the key in its region.
        self.vertex_dataset = gcp.vertex.AiDataset(
            f"{name}-vertex",
            project=project,
            region=region,
            display_name=f"{prefix}-analytics",
            metadata_schema_uri=(
                "gs://google-cloud-aiplatform/schema/dataset/metadata/tabular_1.0.0.yaml"
            ),
            encryption_spec=gcp.vertex.AiDatasetEncryptionSpecArgs(kms_key_name=self.key.id),
            labels=labels,
            opts=encrypted("aiplatform"),
        )

    def _writer(
        self,
        name: str,
        args: AnalyticsArgs,
        prefix: str,
        apis: dict[str, gcp.projects.Service],
    ) -> gcp.serviceaccount.Account:
        """The writer's service account and its three grants: dataset, bucket and topic."""
        project, env = args.project, args.environment
        child = pulumi.ResourceOptions(parent=self)
        # The writer's identity on GCP: no project role and no key, only the three grants below.
        service_account = gcp.serviceaccount.Account(
            f"{name}-writer",
            project=project,
            account_id=f"{prefix}-analytics",
            display_name=f"TTBT2 {env} analytics writer (AWS)",
            opts=self._after(apis, "iam"),
        )
        writer = service_account.member
        gcp.bigquery.DatasetIamMember(
            f"{name}-dataset-editor",
            project=project,
            dataset_id=self.dataset.dataset_id,
            role="roles/bigquery.dataEditor",
            member=writer,
            opts=child,
        )
        gcp.storage.BucketIAMMember(
            f"{name}-landing-creator",
            bucket=self.bucket.name,
            role="roles/storage.objectCreator",
            member=writer,
            opts=child,
        )
        gcp.pubsub.TopicIAMMember(
            f"{name}-topic-publisher",
            project=project,
            topic=self.topic.name,
            role="roles/pubsub.publisher",
            member=writer,
            opts=child,
        )
        return service_account

    def _federation(
        self,
        name: str,
        args: AnalyticsArgs,
        prefix: str,
        apis: dict[str, gcp.projects.Service],
    ) -> gcp.iam.WorkloadIdentityPoolProvider:
        """The AWS identity pool, its provider admitting the writer role, and the binding."""
        project, env = args.project, args.environment
        child = pulumi.ResourceOptions(parent=self)
        # Workload identity federation: AWS STS tokens of the writer role, exchanged for
        # short-lived credentials of the service account.
        pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-pool",
            project=project,
            workload_identity_pool_id=f"{prefix}-aws",
            display_name=f"TTBT2 {env} AWS",
            description="AWS workloads that write to the analytics project",
            opts=self._after(apis, "iam", "sts", "iamcredentials"),
        )
        writer_role = pulumi.Output.from_input(args.aws_writer_role_arn).apply(role_name)
        pool_provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-pool-aws",
            project=project,
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id="aws-writer",
            display_name="AWS analytics writer",
            aws=gcp.iam.WorkloadIdentityPoolProviderAwsArgs(account_id=args.aws_account_id),
            attribute_mapping={
                "google.subject": "assertion.arn",
                "attribute.aws_role": "assertion.arn.extract('assumed-role/{role}/')",
            },
            # Any other role of the account is refused at the token exchange, not only at the
            # impersonation binding below.
            attribute_condition=writer_role.apply(lambda r: f"attribute.aws_role == '{r}'"),
            opts=child,
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-writer-federation",
            service_account_id=self.service_account.name,
            role="roles/iam.workloadIdentityUser",
            member=pulumi.Output.concat(
                "principalSet://iam.googleapis.com/", pool.name, "/attribute.aws_role/", writer_role
            ),
            opts=child,
        )
        return pool_provider
