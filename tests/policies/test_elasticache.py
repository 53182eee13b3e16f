"""ElastiCache: encryption at rest and in transit, user-group and IAM auth, failover, snapshots."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import Policy

from offline.graph import Resource
from policies.ttbt2_policies.elasticache import (
    at_rest_encryption,
    automatic_failover,
    snapshot_retention,
    transit_encryption,
    user_group_auth,
    user_iam_auth,
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
    violations,
    without_none,
)

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0b9c1f7e-2f0a-4a7e-9d55-6b1f0f5c2a11"
BASE: dict[str, Any] = {
    "description": "sessions",
    "engine": "valkey",
    "nodeType": "cache.r7g.large",
    "atRestEncryptionEnabled": True,
    "kmsKeyId": KEY_ARN,
    "transitEncryptionEnabled": True,
    "transitEncryptionMode": "required",
    "userGroupIds": ["ttbt2-prod-cache-users"],
    "automaticFailoverEnabled": True,
    "multiAzEnabled": True,
    "numCacheClusters": 2,
    "snapshotRetentionLimit": 7,
}
POLICIES = [
    at_rest_encryption,
    transit_encryption,
    user_group_auth,
    automatic_failover,
    snapshot_retention,
]


def cache(stack: str = "prod", **changes: Any) -> Resource:
    return resource(GROUP, without_none(BASE, changes), stack=stack)


def run(policy: Policy, res: Resource, stack: str = "prod", **config: Any) -> list[Any]:
    return findings_for(policy, [res], stack=stack, config=config or None)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "prod-dr"])
def test_baseline_is_compliant(policy: Policy, stack: str) -> None:
    assert_compliant(run(policy, cache(stack), stack))


VIOLATIONS: list[tuple[Policy, dict[str, Any], str]] = [
    (at_rest_encryption, {"atRestEncryptionEnabled": False}, "atRestEncryptionEnabled is false"),
    (at_rest_encryption, {"atRestEncryptionEnabled": "false"}, "atRestEncryptionEnabled is false"),
    (at_rest_encryption, {"kmsKeyId": "alias/aws/elasticache"}, "AWS-managed key alias/aws/"),
    (transit_encryption, {"transitEncryptionEnabled": False}, "transitEncryptionEnabled is false"),
    (transit_encryption, {"transitEncryptionMode": "preferred"}, "'preferred'"),
    (user_group_auth, {"userGroupIds": []}, "userGroupIds is not set"),
    (
        user_group_auth,
        {"userGroupIds": None, "authToken": "s3cr3t-t0ken-0123456789"},
        "shared AUTH token, a static secret",
    ),
    (automatic_failover, {"automaticFailoverEnabled": False}, "automaticFailoverEnabled not true"),
    (automatic_failover, {"multiAzEnabled": False}, "multiAzEnabled not true"),
    (automatic_failover, {"numCacheClusters": 1}, "has 1 node(s) per shard"),
    (snapshot_retention, {"snapshotRetentionLimit": 0}, "snapshotRetentionLimit is 0"),
    (snapshot_retention, {"snapshotRetentionLimit": 6}, "at least 7 days"),
]


@pytest.mark.parametrize(
    ("policy", "changes", "expected"),
    VIOLATIONS,
    ids=case_ids(VIOLATIONS),
)
def test_one_changed_property_is_a_violation(
    policy: Policy, changes: dict[str, Any], expected: str
) -> None:
    assert_violation(run(policy, cache(**changes)), policy, expected, mandatory=True)


MISSING: list[tuple[Policy, str, str | None]] = [
    (at_rest_encryption, "atRestEncryptionEnabled", "not set and AWS defaults it to false"),
    (at_rest_encryption, "kmsKeyId", "set kmsKeyId to a customer-managed KMS key"),
    (transit_encryption, "transitEncryptionEnabled", "not set and AWS defaults it to false"),
    (transit_encryption, "transitEncryptionMode", None),
    (user_group_auth, "userGroupIds", "userGroupIds is not set"),
    (automatic_failover, "automaticFailoverEnabled", "unset means false"),
    (automatic_failover, "numCacheClusters", "not set (AWS default 1)"),
    (snapshot_retention, "snapshotRetentionLimit", "AWS default 0: no snapshots"),
]


@pytest.mark.parametrize(
    ("policy", "key", "expected"), MISSING, ids=[f"{p.name}-{k}" for p, k, _e in MISSING]
)
def test_missing_property(policy: Policy, key: str, expected: str | None) -> None:
    missing: dict[str, Any] = {key: None}
    assert_missing(run(policy, cache(**missing)), policy, expected)


WRONG_TYPES: list[tuple[Policy, dict[str, Any], str]] = [
    (at_rest_encryption, {"atRestEncryptionEnabled": "yes"}, "must be true or false"),
    (at_rest_encryption, {"atRestEncryptionEnabled": 1}, "got number 1"),
    (at_rest_encryption, {"kmsKeyId": ["k"]}, "kmsKeyId must be a string"),
    (transit_encryption, {"transitEncryptionEnabled": {}}, "must be true or false"),
    (user_group_auth, {"transitEncryptionEnabled": "on"}, "must be true or false"),
    (automatic_failover, {"numCacheClusters": "2"}, "numCacheClusters must be a number"),
    (snapshot_retention, {"snapshotRetentionLimit": "7"}, "must be a number"),
]


@pytest.mark.parametrize(
    ("policy", "changes", "expected"),
    WRONG_TYPES,
    ids=case_ids(WRONG_TYPES),
)
def test_wrongly_typed_prop_is_a_violation(
    policy: Policy, changes: dict[str, Any], expected: str
) -> None:
    assert_wrong_type(run(policy, cache(**changes)), expected)


UNKNOWNS: list[tuple[Policy, dict[str, Any]]] = [
    (at_rest_encryption, {"kmsKeyId": UNKNOWN}),
    (transit_encryption, {"transitEncryptionEnabled": UNKNOWN}),
    (user_group_auth, {"userGroupIds": UNKNOWN}),
    (automatic_failover, {"numCacheClusters": UNKNOWN}),
    (snapshot_retention, {"snapshotRetentionLimit": UNKNOWN}),
]


@pytest.mark.parametrize(("policy", "changes"), UNKNOWNS, ids=[p.name for p, _c in UNKNOWNS])
def test_unknown_value_is_a_note(policy: Policy, changes: dict[str, Any]) -> None:
    assert_unknown_is_a_note(run(policy, cache(**changes)), policy)


# --- details -------------------------------------------------------------------------------------


def test_string_true_counts_as_true() -> None:
    res = cache(atRestEncryptionEnabled="true", transitEncryptionEnabled="TRUE")
    for policy in (at_rest_encryption, transit_encryption, user_group_auth):
        assert run(policy, res) == []


def test_user_group_not_applicable_without_transit_encryption() -> None:
    assert run(user_group_auth, cache(transitEncryptionEnabled=False, userGroupIds=None)) == []


def test_auth_token_value_never_appears_in_a_message() -> None:
    res = cache(userGroupIds=None, authToken="s3cr3t-t0ken-0123456789")
    found = [f for policy in POLICIES for f in run(policy, res)]
    assert found and all("s3cr3t" not in f.message for f in found)


def test_a_write_only_auth_token_is_still_a_static_token() -> None:
    res = cache(userGroupIds=None, authTokenWo="t0ken", authTokenWoVersion=1)
    assert_violation(run(user_group_auth, res), user_group_auth, "shared AUTH token")


def test_a_user_group_beside_a_token_is_compliant() -> None:
    """Mid-migration (token and group both set) clients can already use IAM users."""
    assert run(user_group_auth, cache(authToken="t0ken")) == []


# --- ElastiCache users --------------------------------------------------------------------------

USER = "aws:elasticache/user:User"
IAM_USER: dict[str, Any] = {
    "userId": "ttbt2-prod-cache-api",
    "userName": "ttbt2-prod-cache-api",
    "engine": "valkey",
    "accessString": "on ~* +@all -@dangerous",
    "authenticationMode": {"type": "iam"},
}


def user(**changes: Any) -> Resource:
    return resource(USER, without_none(IAM_USER, changes), stack="prod")


def test_iam_user_is_compliant() -> None:
    assert_compliant(run(user_iam_auth, user()))


def test_a_switched_off_password_user_is_compliant() -> None:
    off = user(
        accessString="off -@all", authenticationMode={"type": "password", "passwords": ["x"]}
    )
    assert_compliant(run(user_iam_auth, off))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"authenticationMode": {"type": "password"}}, "authenticationMode.type is 'password'"),
        (
            {"accessString": "off on ~* +@all", "authenticationMode": {"type": "password"}},
            "is enabled",
        ),
        (
            {"authenticationMode": None, "noPasswordRequired": True},
            "noPasswordRequired: anyone may connect",
        ),
    ],
    ids=["password", "switched-back-on", "no-password"],
)
def test_an_enabled_non_iam_user_is_a_violation(changes: dict[str, Any], expected: str) -> None:
    assert_violation(run(user_iam_auth, user(**changes)), user_iam_auth, expected, mandatory=True)


def test_user_without_authentication_mode_is_a_violation() -> None:
    assert_missing(run(user_iam_auth, user(authenticationMode=None)), user_iam_auth, "is not set")


def test_cluster_mode_replicas_count_as_nodes_per_shard() -> None:
    sharded = cache(numCacheClusters=None, numNodeGroups=3, replicasPerNodeGroup=1)
    assert run(automatic_failover, sharded) == []
    [finding] = run(automatic_failover, cache(numCacheClusters=None, replicasPerNodeGroup=0))
    assert "has 1 node(s) per shard" in finding.message


@pytest.mark.parametrize(("stack", "applies"), [("dev", False), ("staging", True), ("prod", True)])
def test_failover_stacks(stack: str, applies: bool) -> None:
    res = cache(stack, automaticFailoverEnabled=False)
    assert bool(run(automatic_failover, res, stack)) is applies


def test_failover_stacks_come_from_config() -> None:
    res = cache("dev", multiAzEnabled=False)
    assert len(violations(run(automatic_failover, res, "dev", failoverStacks=["dev"]))) == 1
    schema = automatic_failover.config_schema
    assert schema is not None
    assert schema.properties["failoverStacks"]["default"] == ["staging", "prod", "prod-dr"]


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_snapshot_retention_only_in_production(stack: str) -> None:
    assert run(snapshot_retention, cache(stack, snapshotRetentionLimit=0), stack) == []


def test_snapshot_minimum_comes_from_config() -> None:
    res = cache(snapshotRetentionLimit=7)
    [finding] = run(snapshot_retention, res, minimumSnapshotRetentionDays=14)
    assert "at least 14 days" in finding.message
    found = run(snapshot_retention, res, minimumSnapshotRetentionDays="14")
    assert [f.kind for f in found] == ["error"]
