"""GCP analytics component (seed 4.1.2), checked on the inputs it registers, offline."""

from __future__ import annotations

import json

import pytest

from components.gcp.analytics import AnalyticsArgs, role_name
from offline.graph import UNKNOWN, Resource, StackGraph
from tests.components.gcp.analytics_program import (
    PROJECT,
    WRITER_ARN,
    analytics_graph,
    render_analytics,
)
from tests.conftest import of_type, one

WRITER = "ttbt2-dev-analytics-writer"
KEY = "gcp:kms/cryptoKey:CryptoKey"
BUCKET = "gcp:storage/bucket:Bucket"
LANDING = {BUCKET: "landing", "gcp:storage/bucketIAMMember:BucketIAMMember": "landing-creator"}
"""Name parts that pick the landing bucket and its writer's grant (the log bucket has its own)."""
# pulumi_gcp loads its modules lazily, so its import-time deprecation warnings land here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_gcp.*")
MODES = [pytest.param(True, id="preview"), pytest.param(False, id="update")]


def _key(graph: StackGraph, part: str = "analytics-key") -> Resource:
    return one(graph, KEY, part)


def _from_key(
    resource: Resource, prop: str, graph: StackGraph, part: str = "analytics-key"
) -> bool:
    """The input was computed from one of the component's keys (known or not, in either mode)."""
    return resource.property_dependencies.get(prop) == [_key(graph, part).urn]


@pytest.mark.parametrize("preview", MODES)
def test_key_rotates_at_most_every_90_days(preview: bool) -> None:
    key = _key(analytics_graph(preview)).props
    assert key["rotationPeriod"] == f"{90 * 86400}s"
    assert key["purpose"] == "ENCRYPT_DECRYPT"
    shorter = _key(render_analytics(preview, key_rotation_days=30)).props
    assert shorter["rotationPeriod"] == "2592000s"


def test_landing_location_must_be_a_dual_region() -> None:
    with pytest.raises(ValueError, match="landing_location must be a predefined dual-region"):
        AnalyticsArgs(
            project=PROJECT,
            region="europe-west1",
            environment="dev",
            labels={},
            aws_account_id="123456789012",
            aws_writer_role_arn=WRITER_ARN,
            landing_location="europe-west1",
        )


@pytest.mark.parametrize("days", [0, 91, 365])
def test_rotation_beyond_90_days_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="key_rotation_days"):
        AnalyticsArgs(
            project=PROJECT,
            region="europe-west1",
            environment="dev",
            labels={},
            aws_account_id="123456789012",
            aws_writer_role_arn=WRITER_ARN,
            key_rotation_days=days,
        )


@pytest.mark.parametrize("preview", MODES)
def test_every_store_is_encrypted_with_the_component_key(preview: bool) -> None:
    graph = analytics_graph(preview)
    dataset = one(graph, "gcp:bigquery/dataset:Dataset")
    bucket = one(graph, BUCKET, "landing")
    topic = one(graph, "gcp:pubsub/topic:Topic")
    vertex = one(graph, "gcp:vertex/aiDataset:AiDataset")
    assert _from_key(dataset, "defaultEncryptionConfiguration", graph)
    # The dual-region landing bucket uses the key of its own location.
    assert _from_key(bucket, "encryption", graph, "landing-key")
    assert _from_key(topic, "kmsKeyName", graph)
    assert _from_key(vertex, "encryptionSpec", graph)
    assert vertex.props["region"] == "europe-west1"
    assert bucket.props["encryption"]["defaultKmsKeyName"]
    key_values = [
        dataset.props["defaultEncryptionConfiguration"]["kmsKeyName"],
        topic.props["kmsKeyName"],
        vertex.props["encryptionSpec"]["kmsKeyName"],
    ]
    assert all(key_values)
    if not preview:
        assert len(set(key_values)) == 1 and UNKNOWN not in key_values


@pytest.mark.parametrize("preview", MODES)
def test_service_agents_use_that_key_only(preview: bool) -> None:
    graph = analytics_graph(preview)
    grants = of_type(graph, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    assert {g.name.rsplit("-", 1)[-1] for g in grants} == {
        "bigquery",
        "storage",
        "pubsub",
        "aiplatform",
    }
    for grant in grants:
        assert grant.props["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        part = "landing-key" if grant.name.endswith("storage") else "analytics-key"
        assert _from_key(grant, "cryptoKeyId", graph, part)
    assert not of_type(graph, "gcp:kms/keyRingIAMMember:KeyRingIAMMember")
    if not preview:
        members = {g.props["member"] for g in grants}
        assert "serviceAccount:bq-123456789012@bigquery-encryption.iam.gserviceaccount.com" in (
            members
        )
        assert len(members) == 4
    # The stores are created only once their service agent may use the key.
    for token, api in [
        ("gcp:bigquery/dataset:Dataset", "bigquery"),
        ("gcp:storage/bucket:Bucket", "storage"),
        ("gcp:pubsub/topic:Topic", "pubsub"),
        ("gcp:vertex/aiDataset:AiDataset", "aiplatform"),
    ]:
        grant = next(g for g in grants if g.name.endswith(api))
        assert grant.urn in one(graph, token, LANDING.get(token, "")).dependencies


@pytest.mark.parametrize("preview", MODES)
def test_landing_bucket_is_private_versioned_and_retained(preview: bool) -> None:
    graph = analytics_graph(preview)
    bucket = one(graph, BUCKET, "landing").props
    # A second region holds every object within 15 minutes (seed 4.7: RPO, copy elsewhere).
    assert bucket["location"] == "EUR4"
    assert bucket["rpo"] == "ASYNC_TURBO"
    ring = one(graph, "gcp:kms/keyRing:KeyRing", "landing").props
    assert ring["location"] == "eur4"
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["versioning"] == {"enabled": True}
    assert bucket["retentionPolicy"]["retentionPeriod"] == str(30 * 86400)
    shorter = one(render_analytics(preview, landing_retention_days=7), BUCKET, "landing").props
    assert shorter["retentionPolicy"]["retentionPeriod"] == str(7 * 86400)


@pytest.mark.parametrize("preview", MODES)
def test_dataset_grants_no_public_access(preview: bool) -> None:
    dataset = one(analytics_graph(preview), "gcp:bigquery/dataset:Dataset").props
    text = json.dumps(dataset)
    assert "allUsers" not in text and "allAuthenticatedUsers" not in text
    assert dataset["datasetId"] == "ttbt2_dev_analytics"


@pytest.mark.parametrize("preview", MODES)
def test_apis_are_enabled_and_stay_enabled(preview: bool) -> None:
    services = of_type(analytics_graph(preview), "gcp:projects/service:Service")
    assert {s.props["service"] for s in services} == {
        f"{api}.googleapis.com"
        for api in (
            "bigquery",
            "storage",
            "pubsub",
            "cloudkms",
            "aiplatform",
            "iam",
            "iamcredentials",
            "sts",
        )
    }
    assert all(s.props["disableOnDestroy"] is False for s in services)


IAM_MEMBERS = {
    "gcp:bigquery/datasetIamMember:DatasetIamMember": ("roles/bigquery.dataEditor", "datasetId"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("roles/storage.objectCreator", "bucket"),
    "gcp:pubsub/topicIAMMember:TopicIAMMember": ("roles/pubsub.publisher", "topic"),
}
SCOPED_TO = {
    "gcp:bigquery/datasetIamMember:DatasetIamMember": "gcp:bigquery/dataset:Dataset",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "gcp:storage/bucket:Bucket",
    "gcp:pubsub/topicIAMMember:TopicIAMMember": "gcp:pubsub/topic:Topic",
}


@pytest.mark.parametrize("preview", MODES)
def test_writer_has_only_narrow_roles_on_its_resources(preview: bool) -> None:
    graph = analytics_graph(preview)
    account = one(graph, "gcp:serviceaccount/account:Account")
    assert account.props["accountId"] == "ttbt2-dev-analytics"
    for token, (role, scope) in IAM_MEMBERS.items():
        member = one(graph, token, LANDING.get(token, ""))
        assert member.props["role"] == role
        scoped = one(graph, SCOPED_TO[token], LANDING.get(SCOPED_TO[token], ""))
        assert member.property_dependencies.get(scope) == [scoped.urn]
        assert member.property_dependencies.get("member") == [account.urn]
    # Nothing at project, folder or organisation level, and no keys.
    # (Type tokens spell it iAMMember; the Data Access audit config is not a grant.)
    grants = ("gcp:projects/iammember:", "gcp:projects/iambinding:", "gcp:projects/iampolicy:")
    project_level = [r for r in graph.resources if r.type.lower().startswith(grants)]
    assert not project_level
    assert not [
        r for r in graph.resources if r.type.startswith(("gcp:organizations/", "gcp:folder/"))
    ]
    assert not of_type(graph, "gcp:serviceaccount/key:Key")
    iam = [r for r in graph.resources if r.cloud == "gcp" and "role" in r.props]
    assert {r.props["role"] for r in iam} == {
        "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        "roles/bigquery.dataEditor",
        "roles/storage.objectCreator",
        "roles/pubsub.publisher",
        "roles/iam.workloadIdentityUser",
    }


@pytest.mark.parametrize("preview", MODES)
def test_no_basic_role_anywhere(preview: bool) -> None:
    text = json.dumps([r.props for r in analytics_graph(preview).resources])
    for basic in ("roles/owner", "roles/editor", "roles/viewer"):
        assert basic not in text


@pytest.mark.parametrize("preview", MODES)
def test_pool_admits_only_the_writer_role(preview: bool) -> None:
    graph = analytics_graph(preview)
    provider = one(graph, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    props = provider.props
    assert props["aws"] == {"accountId": "123456789012"}
    assert props["attributeMapping"] == {
        "google.subject": "assertion.arn",
        "attribute.aws_role": "assertion.arn.extract('assumed-role/{role}/')",
    }
    assert props["attributeCondition"] == f"attribute.aws_role == '{WRITER}'"
    binding = one(graph, "gcp:serviceaccount/iAMMember:IAMMember")
    assert binding.props["role"] == "roles/iam.workloadIdentityUser"
    account = one(graph, "gcp:serviceaccount/account:Account")
    assert binding.property_dependencies.get("serviceAccountId") == [account.urn]
    if preview:
        assert binding.props["member"] == UNKNOWN  # the pool's name is not known yet
    else:
        assert binding.props["member"] == (
            "principalSet://iam.googleapis.com/projects/123456789012/locations/global/"
            f"workloadIdentityPools/ttbt2-dev-aws/attribute.aws_role/{WRITER}"
        )


@pytest.mark.parametrize(
    "arn", ["", "arn:aws:iam::123456789012:user/bob", "arn:aws:iam::1:role/x' || true || '"]
)
def test_anything_but_a_role_arn_is_refused(arn: str) -> None:
    with pytest.raises(ValueError, match="not an IAM role ARN"):
        role_name(arn)


@pytest.mark.parametrize("preview", MODES)
@pytest.mark.parametrize("protect", [False, True])
def test_key_protected_when_asked(preview: bool, protect: bool) -> None:
    graph = render_analytics(preview, protect=protect) if protect else analytics_graph(preview)
    assert bool(_key(graph).option("protect")) is protect


def test_outputs_and_children() -> None:
    graph = analytics_graph(False)
    component = one(graph, "ttbt2:gcp:Analytics")
    children = [r for r in graph.resources if r.parent == component.urn]
    assert children and all(r.name.startswith("analytics-") for r in children)
    assert all(r.provider and "gcp" in r.provider for r in children if r.custom)
