"""GCP: KMS rotation, BigQuery CMEK and exposure, bucket exposure, IAM roles, SA keys."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import Policy

from offline.graph import Resource
from policies.ttbt2_policies.gcp import (
    bigquery_dataset_cmek,
    bigquery_dataset_not_public,
    crypto_key_rotation,
    iam_no_basic_roles,
    iam_no_service_account_admin_roles,
    no_service_account_keys,
    storage_bucket_not_public,
    storage_bucket_public_access_prevention,
    storage_bucket_uniform_access,
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

CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
DATASET = "gcp:bigquery/dataset:Dataset"
DATASET_ACCESS = "gcp:bigquery/datasetAccess:DatasetAccess"
DATASET_IAM_MEMBER = "gcp:bigquery/datasetIamMember:DatasetIamMember"
DATASET_IAM_BINDING = "gcp:bigquery/datasetIamBinding:DatasetIamBinding"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
BUCKET_IAM_BINDING = "gcp:storage/bucketIAMBinding:BucketIAMBinding"
PROJECT_IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
PROJECT_IAM_BINDING = "gcp:projects/iAMBinding:IAMBinding"
FOLDER_IAM_MEMBER = "gcp:folder/iAMMember:IAMMember"
ORGANIZATION_IAM_BINDING = "gcp:organizations/iAMBinding:IAMBinding"
SA_KEY = "gcp:serviceaccount/key:Key"

KMS_KEY = "projects/ttbt2/locations/europe-west1/keyRings/data/cryptoKeys/bigquery"
SA = "serviceAccount:etl@ttbt2.iam.gserviceaccount.com"

BASES: dict[str, dict[str, Any]] = {
    CRYPTO_KEY: {
        "keyRing": "projects/ttbt2/locations/europe-west1/keyRings/data",
        "rotationPeriod": "7776000s",
    },
    DATASET: {
        "datasetId": "analytics",
        "defaultEncryptionConfiguration": {"kmsKeyName": KMS_KEY},
        "accesses": [
            {"role": "OWNER", "specialGroup": "projectOwners"},
            {"role": "READER", "userByEmail": "analyst@ttbt2.example"},
        ],
    },
    DATASET_ACCESS: {"datasetId": "analytics", "role": "READER", "specialGroup": "projectReaders"},
    DATASET_IAM_MEMBER: {
        "datasetId": "analytics",
        "role": "roles/bigquery.dataViewer",
        "member": SA,
    },
    DATASET_IAM_BINDING: {
        "datasetId": "analytics",
        "role": "roles/bigquery.dataViewer",
        "members": [SA],
    },
    BUCKET: {
        "location": "EU",
        "uniformBucketLevelAccess": True,
        "publicAccessPrevention": "enforced",
    },
    BUCKET_IAM_MEMBER: {"bucket": "b", "role": "roles/storage.objectViewer", "member": SA},
    BUCKET_IAM_BINDING: {"bucket": "b", "role": "roles/storage.objectViewer", "members": [SA]},
    PROJECT_IAM_MEMBER: {"project": "ttbt2", "role": "roles/bigquery.jobUser", "member": SA},
    PROJECT_IAM_BINDING: {
        "project": "ttbt2",
        "role": "roles/bigquery.jobUser",
        "members": [SA, "group:data@ttbt2.example"],
    },
    FOLDER_IAM_MEMBER: {"folder": "folders/1", "role": "roles/browser", "member": "group:g@x.io"},
    ORGANIZATION_IAM_BINDING: {"orgId": "1", "role": "roles/browser", "members": ["group:g@x.io"]},
}


def res(type_: str, **changes: Any) -> Resource:
    return resource(type_, without_none(BASES[type_], changes))


def run(policy: Policy, r: Resource) -> list[Any]:
    return findings_for(policy, [r])


BASELINES: list[tuple[Policy, str]] = [
    (crypto_key_rotation, CRYPTO_KEY),
    (bigquery_dataset_cmek, DATASET),
    (bigquery_dataset_not_public, DATASET),
    (bigquery_dataset_not_public, DATASET_ACCESS),
    (bigquery_dataset_not_public, DATASET_IAM_MEMBER),
    (bigquery_dataset_not_public, DATASET_IAM_BINDING),
    (storage_bucket_not_public, BUCKET_IAM_MEMBER),
    (storage_bucket_not_public, BUCKET_IAM_BINDING),
    (storage_bucket_uniform_access, BUCKET),
    (storage_bucket_public_access_prevention, BUCKET),
    (iam_no_service_account_admin_roles, PROJECT_IAM_MEMBER),
    (iam_no_service_account_admin_roles, PROJECT_IAM_BINDING),
    (iam_no_basic_roles, PROJECT_IAM_MEMBER),
    (iam_no_basic_roles, PROJECT_IAM_BINDING),
    (iam_no_basic_roles, FOLDER_IAM_MEMBER),
    (iam_no_basic_roles, ORGANIZATION_IAM_BINDING),
]


@pytest.mark.parametrize(
    ("policy", "type_"), BASELINES, ids=[f"{p.name}-{t}" for p, t in BASELINES]
)
def test_baseline_is_compliant(policy: Policy, type_: str) -> None:
    assert_compliant(run(policy, res(type_)))


VIOLATIONS: list[tuple[Policy, str, dict[str, Any], str]] = [
    (crypto_key_rotation, CRYPTO_KEY, {"rotationPeriod": "7776001s"}, "longer than 90 days"),
    (crypto_key_rotation, CRYPTO_KEY, {"rotationPeriod": "31536000s"}, "(365 days)"),
    (
        bigquery_dataset_cmek,
        DATASET,
        {"defaultEncryptionConfiguration": {"kmsKeyName": ""}},
        "kmsKeyName is not set",
    ),
    (
        bigquery_dataset_not_public,
        DATASET,
        {"accesses": [{"role": "READER", "specialGroup": "allAuthenticatedUsers"}]},
        "accesses[0] grants role 'READER' to specialGroup 'allAuthenticatedUsers'",
    ),
    (
        bigquery_dataset_not_public,
        DATASET,
        {
            "accesses": [
                {"role": "OWNER", "specialGroup": "projectOwners"},
                {"role": "READER", "iamMember": "allUsers"},
            ]
        },
        "accesses[1] grants role 'READER' to iamMember 'allUsers'",
    ),
    (bigquery_dataset_not_public, DATASET_ACCESS, {"iamMember": "allUsers"}, "iamMember"),
    (bigquery_dataset_not_public, DATASET_IAM_MEMBER, {"member": "allUsers"}, "'allUsers'"),
    (
        bigquery_dataset_not_public,
        DATASET_IAM_BINDING,
        {"members": [SA, "allAuthenticatedUsers"]},
        "'allAuthenticatedUsers'",
    ),
    (storage_bucket_not_public, BUCKET_IAM_MEMBER, {"member": "allUsers"}, "bucket is public"),
    (
        storage_bucket_not_public,
        BUCKET_IAM_BINDING,
        {"members": ["allAuthenticatedUsers"]},
        "grants roles/storage.objectViewer to 'allAuthenticatedUsers'",
    ),
    (storage_bucket_uniform_access, BUCKET, {"uniformBucketLevelAccess": False}, "is false"),
    (
        storage_bucket_public_access_prevention,
        BUCKET,
        {"publicAccessPrevention": "inherited"},
        "publicAccessPrevention is 'inherited'",
    ),
    (
        iam_no_service_account_admin_roles,
        PROJECT_IAM_MEMBER,
        {"role": "roles/editor"},
        f"{SA} is granted roles/editor",
    ),
    (
        iam_no_service_account_admin_roles,
        PROJECT_IAM_MEMBER,
        {"role": "roles/iam.serviceAccountAdmin"},
        "roles/iam.serviceAccountAdmin",
    ),
    (
        iam_no_service_account_admin_roles,
        PROJECT_IAM_BINDING,
        {"role": "roles/storage.admin"},
        "is granted roles/storage.admin on the project",
    ),
    (iam_no_basic_roles, PROJECT_IAM_MEMBER, {"role": "roles/viewer"}, "basic role roles/viewer"),
    (iam_no_basic_roles, FOLDER_IAM_MEMBER, {"role": "roles/owner"}, "group:g@x.io"),
    (iam_no_basic_roles, ORGANIZATION_IAM_BINDING, {"role": "roles/editor"}, "roles/editor"),
]


@pytest.mark.parametrize(
    ("policy", "type_", "changes", "expected"),
    VIOLATIONS,
    ids=case_ids(VIOLATIONS),
)
def test_one_changed_property_is_a_violation(
    policy: Policy, type_: str, changes: dict[str, Any], expected: str
) -> None:
    assert_violation(run(policy, res(type_, **changes)), policy, expected, mandatory=True)


MISSING: list[tuple[Policy, str, str, str | None]] = [
    (crypto_key_rotation, CRYPTO_KEY, "rotationPeriod", "GCP never rotates the key"),
    (bigquery_dataset_cmek, DATASET, "defaultEncryptionConfiguration", "Google-managed key"),
    (bigquery_dataset_not_public, DATASET, "accesses", None),
    (bigquery_dataset_not_public, DATASET_IAM_BINDING, "members", None),
    (storage_bucket_not_public, BUCKET_IAM_MEMBER, "member", None),
    (storage_bucket_uniform_access, BUCKET, "uniformBucketLevelAccess", "defaults it to false"),
    (
        storage_bucket_public_access_prevention,
        BUCKET,
        "publicAccessPrevention",
        "GCP default 'inherited'",
    ),
    (iam_no_service_account_admin_roles, PROJECT_IAM_MEMBER, "role", None),
    (iam_no_basic_roles, PROJECT_IAM_BINDING, "role", None),
]


@pytest.mark.parametrize(
    ("policy", "type_", "key", "expected"),
    MISSING,
    ids=[f"{p.name}-{k}" for p, _t, k, _e in MISSING],
)
def test_missing_property(policy: Policy, type_: str, key: str, expected: str | None) -> None:
    assert_missing(run(policy, res(type_, **{key: None})), policy, expected)


WRONG_TYPES: list[tuple[Policy, str, dict[str, Any], str]] = [
    (crypto_key_rotation, CRYPTO_KEY, {"rotationPeriod": 7776000}, "must be a string"),
    (crypto_key_rotation, CRYPTO_KEY, {"rotationPeriod": "90d"}, "duration in seconds"),
    (
        bigquery_dataset_cmek,
        DATASET,
        {"defaultEncryptionConfiguration": "key"},
        "defaultEncryptionConfiguration must be an object",
    ),
    (
        bigquery_dataset_cmek,
        DATASET,
        {"defaultEncryptionConfiguration": {"kmsKeyName": 1}},
        "kmsKeyName must be a string",
    ),
    (bigquery_dataset_not_public, DATASET, {"accesses": {"role": "R"}}, "must be an array"),
    (bigquery_dataset_not_public, DATASET, {"accesses": ["allUsers"]}, "accesses[0] must be"),
    (
        bigquery_dataset_not_public,
        DATASET_ACCESS,
        {"specialGroup": ["allUsers"]},
        "specialGroup must be a string",
    ),
    (bigquery_dataset_not_public, DATASET_IAM_BINDING, {"members": SA}, "array of strings"),
    (storage_bucket_not_public, BUCKET_IAM_MEMBER, {"member": 3}, "member must be a string"),
    (storage_bucket_not_public, BUCKET_IAM_BINDING, {"members": [1]}, "it holds number 1"),
    (storage_bucket_uniform_access, BUCKET, {"uniformBucketLevelAccess": "true"}, "true or false"),
    (
        storage_bucket_public_access_prevention,
        BUCKET,
        {"publicAccessPrevention": True},
        "publicAccessPrevention must be a string",
    ),
    (iam_no_service_account_admin_roles, PROJECT_IAM_MEMBER, {"role": 1}, "role must be a string"),
    (
        iam_no_service_account_admin_roles,
        PROJECT_IAM_BINDING,
        {"role": "roles/owner", "members": "x"},
        "members must be an array of strings",
    ),
    (iam_no_basic_roles, PROJECT_IAM_MEMBER, {"role": ["roles/owner"]}, "role must be a string"),
]


@pytest.mark.parametrize(
    ("policy", "type_", "changes", "expected"),
    WRONG_TYPES,
    ids=case_ids(WRONG_TYPES),
)
def test_wrongly_typed_prop_is_a_violation(
    policy: Policy, type_: str, changes: dict[str, Any], expected: str
) -> None:
    assert_wrong_type(run(policy, res(type_, **changes)), expected)


UNKNOWNS: list[tuple[Policy, str, dict[str, Any]]] = [
    (crypto_key_rotation, CRYPTO_KEY, {"rotationPeriod": UNKNOWN}),
    (bigquery_dataset_cmek, DATASET, {"defaultEncryptionConfiguration": {"kmsKeyName": UNKNOWN}}),
    (bigquery_dataset_not_public, DATASET, {"accesses": UNKNOWN}),
    (bigquery_dataset_not_public, DATASET, {"accesses": [{"role": "R", "iamMember": UNKNOWN}]}),
    (bigquery_dataset_not_public, DATASET_IAM_MEMBER, {"member": UNKNOWN}),
    (storage_bucket_not_public, BUCKET_IAM_BINDING, {"members": [UNKNOWN]}),
    (storage_bucket_uniform_access, BUCKET, {"uniformBucketLevelAccess": UNKNOWN}),
    (storage_bucket_public_access_prevention, BUCKET, {"publicAccessPrevention": UNKNOWN}),
    (iam_no_service_account_admin_roles, PROJECT_IAM_MEMBER, {"role": UNKNOWN}),
    (iam_no_basic_roles, PROJECT_IAM_BINDING, {"role": UNKNOWN}),
]


@pytest.mark.parametrize(
    ("policy", "type_", "changes"),
    UNKNOWNS,
    ids=case_ids(UNKNOWNS),
)
def test_unknown_value_is_a_note(policy: Policy, type_: str, changes: dict[str, Any]) -> None:
    assert_unknown_is_a_note(run(policy, res(type_, **changes)), policy)


# --- details -------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["86400s", "7776000s", "7776000.000s", " 2592000s "])
def test_rotation_periods_within_90_days(period: str) -> None:
    assert run(crypto_key_rotation, res(CRYPTO_KEY, rotationPeriod=period)) == []


def test_service_account_rule_ignores_humans_and_narrow_roles() -> None:
    human = res(PROJECT_IAM_MEMBER, role="roles/owner", member="user:a@ttbt2.example")
    assert run(iam_no_service_account_admin_roles, human) == []
    custom = res(PROJECT_IAM_MEMBER, role="projects/ttbt2/roles/etlAdmin")
    assert run(iam_no_service_account_admin_roles, custom) == []


def test_basic_role_rule_covers_humans_too() -> None:
    human = res(PROJECT_IAM_MEMBER, role="roles/owner", member="user:a@ttbt2.example")
    [finding] = run(iam_no_basic_roles, human)
    assert "user:a@ttbt2.example" in finding.message


def test_binding_reports_every_public_member() -> None:
    binding = res(BUCKET_IAM_BINDING, members=["allUsers", "allAuthenticatedUsers"])
    assert len(run(storage_bucket_not_public, binding)) == 2


@pytest.mark.parametrize("props", [{}, {"serviceAccountId": "etl"}, {"serviceAccountId": UNKNOWN}])
def test_any_service_account_key_is_a_violation(props: dict[str, Any]) -> None:
    """The rule reads no property: missing, wrongly typed or unknown props change nothing."""
    [finding] = run(no_service_account_keys, resource(SA_KEY, props))
    assert finding.kind == "violation" and "workload identity federation" in finding.message


def test_rules_ignore_other_types() -> None:
    other = resource("gcp:storage/bucketObject:BucketObject", {"bucket": "b"})
    for policy in (storage_bucket_uniform_access, no_service_account_keys, iam_no_basic_roles):
        assert run(policy, other) == []
