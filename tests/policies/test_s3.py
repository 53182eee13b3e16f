"""S3: encryption, public access, ACLs, bucket policies, TLS only, access logging, versioning.

The stack policies join a bucket's configuration resources to it through dependencies; the
baseline is what ``components/aws/bucket.py`` builds: an application bucket logging to an
SSE-S3 log bucket tagged ``purpose: access-logs``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from offline.graph import Resource
from policies.ttbt2_policies.s3 import (
    access_logging,
    encryption_kms,
    no_public_acl,
    policy_no_public_allow,
    public_access_block,
    tls_only,
    versioning_enabled,
)
from tests.support.policies import UNKNOWN, allow, doc, findings_for, resource, violations

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0b9c1f7e-2f0a-4a7e-9d55-6b1f0f5c2a11"
TAGS = {"environment": "dev", "owner": "platform", "cost-center": "x", "managed-by": "pulumi"}
LOG_TAGS = {**TAGS, "purpose": "access-logs"}
TLS_DENY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def secure_bucket(
    name: str,
    *,
    sse: Any = "aws:kms",
    key: Any = KEY_ARN,
    tags: Any = None,
    log_bucket: Resource | None = None,
    without: Collection[str] = (),
    type_: str = BUCKET,
    bucket_props: dict[str, Any] | None = None,
    **part_props: Any,
) -> list[Resource]:
    """A bucket (first) and its configuration resources; ``part_props`` override a part's props.

    ``bucket`` props of the parts hold ids (strings), as the engine hands them over: the join
    can only go through dependencies.
    """
    bucket = resource(
        type_,
        {
            "bucketPrefix": f"{name}-",
            "tags": TAGS if tags is None else tags,
            **(bucket_props or {}),
        },
        name=f"{name}-bucket",
    )
    by_default = {"sseAlgorithm": sse, "kmsMasterKeyId": key}
    base: dict[str, tuple[str, dict[str, Any], list[Resource]]] = {
        "encryption": (
            ENCRYPTION,
            {
                "rules": [
                    {
                        "applyServerSideEncryptionByDefault": {
                            k: v for k, v in by_default.items() if v is not None
                        },
                        "bucketKeyEnabled": key is not None,
                    }
                ]
            },
            [bucket],
        ),
        "public_access_block": (
            PUBLIC_ACCESS_BLOCK,
            {
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
            [bucket],
        ),
        "versioning": (VERSIONING, {"versioningConfiguration": {"status": "Enabled"}}, [bucket]),
        "policy": (BUCKET_POLICY, {"policy": doc(TLS_DENY)}, [bucket]),
    }
    if log_bucket is not None:
        base["logging"] = (
            LOGGING,
            {"targetBucket": f"{log_bucket.name}-id", "targetPrefix": f"s3/{name}/"},
            [bucket, log_bucket],
        )
    parts = [bucket]
    for part, (type_token, props, deps) in base.items():
        if part in without:
            continue
        merged = {"bucket": f"{name}-bucket-id", **props, **part_props.get(part, {})}
        merged = {k: v for k, v in merged.items() if v is not None}
        parts.append(resource(type_token, merged, name=f"{name}-{part}", dependencies=deps))
    return parts


def log_bucket(**changes: Any) -> list[Resource]:
    options: dict[str, Any] = {"sse": "AES256", "key": None, "tags": LOG_TAGS}
    options.update(changes)
    return secure_bucket("logs", **options)


def platform(**app_changes: Any) -> list[Resource]:
    """The compliant baseline: the log bucket, and the app bucket logging to it."""
    logs = log_bucket()
    return logs + secure_bucket("app", log_bucket=logs[0], **app_changes)


APP_URN = secure_bucket("app")[0].urn
LOGS_URN = log_bucket()[0].urn
STACK_POLICIES = [encryption_kms, public_access_block, tls_only, access_logging, versioning_enabled]


def only(found: list[Any]) -> Any:
    """The one finding, which must be a violation."""
    assert [f.kind for f in found] == ["violation"], found
    return found[0]


# --- the baseline ----------------------------------------------------------------------------


@pytest.mark.parametrize("policy", STACK_POLICIES, ids=lambda p: p.name)
def test_platform_buckets_are_compliant(policy: Any) -> None:
    assert findings_for(policy, platform()) == []


@pytest.mark.parametrize("policy", STACK_POLICIES, ids=lambda p: p.name)
def test_bucket_v2_is_checked_like_bucket(policy: Any) -> None:
    logs = log_bucket(type_=BUCKET_V2)
    assert findings_for(policy, logs + secure_bucket("app", log_bucket=logs[0])) == []


@pytest.mark.parametrize("policy", STACK_POLICIES, ids=lambda p: p.name)
def test_stack_without_buckets_is_compliant(policy: Any) -> None:
    assert findings_for(policy, [resource("aws:kms/key:Key", {})]) == []


@pytest.mark.parametrize(
    ("policy", "part", "expected"),
    [
        (encryption_kms, "encryption", "has no encryption configuration"),
        (public_access_block, "public_access_block", "has no public access block"),
        (tls_only, "policy", "has no bucket policy"),
        (access_logging, "logging", "has no server access logging"),
        (versioning_enabled, "versioning", "is not versioned"),
    ],
    ids=["encryption", "public-access-block", "tls-only", "access-logging", "versioning"],
)
def test_missing_configuration_resource_is_reported_on_the_bucket(
    policy: Any, part: str, expected: str
) -> None:
    found = findings_for(policy, platform(without={part}))
    assert {f.kind for f in found} == {"violation"}
    [finding] = [f for f in found if f.urn == APP_URN]
    assert finding.policy == policy.name and finding.enforcement == "mandatory"
    assert "bucket app-bucket" in finding.message and expected in finding.message


def test_without_the_app_logging_the_log_bucket_loses_its_exceptions() -> None:
    """Nothing delivers logs to it any more: it must use SSE-KMS and log like any bucket."""
    stack = platform(without={"logging"})
    for policy in (encryption_kms, access_logging):
        assert LOGS_URN in {f.urn for f in violations(findings_for(policy, stack))}


@pytest.mark.parametrize("policy", STACK_POLICIES, ids=lambda p: p.name)
def test_configuration_without_dependency_does_not_count(policy: Any) -> None:
    """A part that names the bucket by id but does not depend on it is not joined (no id join)."""
    logs = log_bucket()
    app = secure_bucket("app", log_bucket=logs[0])
    unjoined = [
        Resource(r.urn, r.type, r.name, props=r.props, options=r.options) if i else r
        for i, r in enumerate(app)
    ]
    found = findings_for(policy, logs + unjoined)
    assert {f.kind for f in found} == {"violation"}
    assert APP_URN in {f.urn for f in found}


# --- encryption -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sse": "AES256", "key": None}, "uses SSE-S3 (AES256)"),
        ({"key": None}, "aws:kms with the AWS-managed key"),
        ({"key": "alias/aws/s3"}, "AWS-managed key alias/aws/s3"),
        ({"sse": None, "key": None}, "sseAlgorithm is not set"),
        ({"sse": "aws:fsx"}, "sseAlgorithm is 'aws:fsx'"),
    ],
    ids=["aes256", "kms-no-key", "aws-managed-alias", "no-algorithm", "other-algorithm"],
)
def test_encryption_violations(changes: dict[str, Any], expected: str) -> None:
    finding = only(findings_for(encryption_kms, platform(**changes)))
    assert finding.policy == "aws-s3-bucket-encryption-kms"
    assert finding.urn == APP_URN
    assert expected in finding.message


def test_dsse_kms_with_a_key_is_compliant() -> None:
    assert findings_for(encryption_kms, platform(sse="aws:kms:dsse")) == []


def test_encryption_rule_without_default_is_a_violation() -> None:
    found = findings_for(encryption_kms, platform(encryption={"rules": [{}]}))
    assert "sets no applyServerSideEncryptionByDefault" in only(found).message


def test_encryption_without_rules_is_a_violation() -> None:
    found = findings_for(encryption_kms, platform(encryption={"rules": []}))
    assert "has no encryption rules" in only(found).message


def test_log_bucket_needs_the_tag_for_aes256() -> None:
    logs = log_bucket(tags=TAGS)
    stack = logs + secure_bucket("app", log_bucket=logs[0])
    finding = only(findings_for(encryption_kms, stack))
    assert finding.urn == LOGS_URN
    assert "AES256 is allowed only for a bucket that receives server access logs" in (
        finding.message
    )


def test_tagged_bucket_that_receives_no_logs_may_not_use_aes256() -> None:
    """The tag alone is not enough: some BucketLogging must deliver to the bucket."""
    logs = log_bucket()
    stack = logs + secure_bucket("app", without={"logging"})
    found = violations(findings_for(encryption_kms, stack))
    assert [f.urn for f in found] == [LOGS_URN]


def test_bucket_logging_to_itself_is_not_a_log_target_for_a_kms_exception() -> None:
    """A logging that depends on one bucket only belongs to it: no exception is earned."""
    solo = secure_bucket("solo", sse="AES256", key=None, tags=LOG_TAGS)
    logging = resource(
        LOGGING,
        {"bucket": "solo-id", "targetBucket": "solo-id"},
        name="solo-logging",
        dependencies=[solo[0]],
    )
    found = violations(findings_for(encryption_kms, [*solo, logging]))
    assert [f.urn for f in found] == [solo[0].urn]


def test_log_target_found_by_name_when_tags_do_not_tell() -> None:
    """Both buckets tagged: the logging's targetBucket value matches the log bucket's prefix."""
    logs = log_bucket()
    app = secure_bucket("app", sse="aws:kms", tags=LOG_TAGS, without={"logging"})
    logging = resource(
        LOGGING,
        {"bucket": "app-3f2a9c", "targetBucket": "logs-9d1e0b7c2a4f"},
        name="app-logging",
        dependencies=[app[0], logs[0]],
    )
    assert findings_for(encryption_kms, [*logs, *app, logging]) == []
    assert findings_for(access_logging, [*logs, *app, logging]) == []


def test_explicit_bucket_names_identify_the_target() -> None:
    logs = log_bucket(bucket_props={"bucket": "acme-logs"})
    del logs[0].props["bucketPrefix"]
    app = secure_bucket(
        "app", tags=LOG_TAGS, without={"logging"}, bucket_props={"bucket": "acme-app"}
    )
    logging = resource(
        LOGGING,
        {"bucket": "acme-app", "targetBucket": "acme-logs"},
        name="app-logging",
        dependencies=[app[0], logs[0]],
    )
    assert findings_for(encryption_kms, [*logs, *app, logging]) == []
    # Swap the names: the app bucket now receives the logs, the SSE-S3 log bucket does not.
    logging.props["targetBucket"] = "acme-app"
    found = violations(findings_for(encryption_kms, [*logs, *app, logging]))
    assert [f.urn for f in found] == [LOGS_URN]


def test_ambiguous_logging_grants_no_exception() -> None:
    """Neither tags nor names tell the target apart: no bucket gets the AES256 exception."""
    logs = log_bucket()
    app = secure_bucket("app", tags=LOG_TAGS, without={"logging"})
    logging = resource(
        LOGGING,
        {"bucket": "x", "targetBucket": "y"},
        name="app-logging",
        dependencies=[app[0], logs[0]],
    )
    found = violations(findings_for(encryption_kms, [*logs, *app, logging]))
    assert [f.urn for f in found] == [LOGS_URN]


def _policy_resources(
    graph: list[Resource], property_dependencies: dict[str, dict[str, list[str]]]
) -> list[PolicyResource]:
    """PolicyResources as the engine builds them, with per-property dependencies."""
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    built = {
        r.urn: PolicyResource(
            r.type, unknown_checking_proxy(r.props), r.urn, r.name, options, None, None, [], {}
        )
        for r in graph
    }
    for r in graph:
        built[r.urn].dependencies = [built[d] for d in r.dependencies]
        built[r.urn].property_dependencies = {
            prop: [built[u] for u in urns]
            for prop, urns in property_dependencies.get(r.urn, {}).items()
        }
    return list(built.values())


def _run_stack_policy(policy: Any, resources: list[PolicyResource]) -> list[tuple[str, Any]]:
    reported: list[tuple[str, Any]] = []
    policy.validate(StackValidationArgs(resources, {}), lambda m, u=None: reported.append((m, u)))
    return reported


def test_engine_property_dependencies_decide_the_target() -> None:
    """With per-property dependencies, targetBucket alone decides (tags and names do not)."""
    logs = log_bucket()
    app = secure_bucket("app", tags=LOG_TAGS, without={"logging"})
    logging = resource(
        LOGGING, {"bucket": "x", "targetBucket": "y"}, dependencies=[app[0], logs[0]]
    )
    graph = [*logs, *app, logging]
    by_prop = {logging.urn: {"bucket": [app[0].urn], "targetBucket": [logs[0].urn]}}
    assert _run_stack_policy(encryption_kms, _policy_resources(graph, by_prop)) == []
    assert _run_stack_policy(access_logging, _policy_resources(graph, by_prop)) == []
    # The same logging delivering outside the stack: the log bucket earns no exception.
    outside = {logging.urn: {"bucket": [app[0].urn]}}
    reported = _run_stack_policy(encryption_kms, _policy_resources(graph, outside))
    assert [urn for _, urn in reported] == [LOGS_URN]


def test_engine_property_dependencies_join_parts_by_their_bucket_property() -> None:
    """A part that depends on a second bucket through another property joins its own bucket."""
    logs = log_bucket()
    app = secure_bucket("app", log_bucket=logs[0], without={"versioning"})
    versioning = resource(
        VERSIONING,
        {"bucket": "logs-id", "versioningConfiguration": {"status": "Enabled"}},
        name="stray-versioning",
        dependencies=[logs[0], app[0]],
    )
    graph = [*[r for r in logs if r.type != VERSIONING], *app, versioning]
    by_prop = {versioning.urn: {"bucket": [logs[0].urn], "expectedBucketOwner": [app[0].urn]}}
    reported = _run_stack_policy(versioning_enabled, _policy_resources(graph, by_prop))
    assert [urn for _, urn in reported] == [APP_URN]


def test_encryption_wrong_types_are_violations() -> None:
    found = findings_for(encryption_kms, platform(encryption={"rules": "aws:kms"}))
    assert "app-encryption: rules must be an array" in only(found).message
    found = findings_for(encryption_kms, platform(sse=["aws:kms"]))
    assert "sseAlgorithm must be a string" in only(found).message
    assert only(found).urn == APP_URN


def test_encryption_unknown_key_is_a_note() -> None:
    [finding] = findings_for(encryption_kms, platform(key=UNKNOWN))
    assert finding.kind == "note" and "kmsMasterKeyId" in finding.message


def test_log_bucket_tags_of_the_wrong_type_grant_no_exception() -> None:
    logs = log_bucket(tags="purpose=access-logs")
    found = violations(
        findings_for(encryption_kms, logs + secure_bucket("app", log_bucket=logs[0]))
    )
    assert [f.urn for f in found] == [LOGS_URN]


# --- public access block -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag", ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]
)
@pytest.mark.parametrize("value", [False, None], ids=["false", "missing"])
def test_public_access_flag_off_is_a_violation(flag: str, value: Any) -> None:
    finding = only(findings_for(public_access_block, platform(public_access_block={flag: value})))
    assert finding.policy == "aws-s3-bucket-public-access-block"
    assert finding.urn == APP_URN
    assert f"leaves {flag} off" in finding.message


def test_public_access_flag_of_the_wrong_type_is_a_violation() -> None:
    found = findings_for(
        public_access_block, platform(public_access_block={"blockPublicAcls": "yes"})
    )
    finding = only(found)
    assert "app-public_access_block: blockPublicAcls must be true or false" in finding.message
    assert finding.urn == APP_URN


def test_public_access_unknown_flag_is_a_note() -> None:
    found = findings_for(
        public_access_block, platform(public_access_block={"ignorePublicAcls": UNKNOWN})
    )
    assert [f.kind for f in found] == ["note"]


# --- ACLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("acl", ["private", "log-delivery-write", "bucket-owner-full-control"])
@pytest.mark.parametrize("type_", [BUCKET, BUCKET_V2, BUCKET_ACL])
def test_private_acls_are_compliant(type_: str, acl: str) -> None:
    assert findings_for(no_public_acl, [resource(type_, {"bucket": "b", "acl": acl})]) == []


@pytest.mark.parametrize("type_", [BUCKET, BUCKET_V2, BUCKET_ACL])
def test_missing_acl_is_private_and_compliant(type_: str) -> None:
    assert findings_for(no_public_acl, [resource(type_, {"bucket": "b"})]) == []


@pytest.mark.parametrize("acl", ["public-read", "public-read-write", "authenticated-read"])
@pytest.mark.parametrize("type_", [BUCKET, BUCKET_V2, BUCKET_ACL])
def test_public_canned_acl_is_a_violation(type_: str, acl: str) -> None:
    finding = only(findings_for(no_public_acl, [resource(type_, {"bucket": "b", "acl": acl})]))
    assert finding.policy == "aws-s3-bucket-no-public-acl"
    assert f"acl is {acl!r}" in finding.message


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


@pytest.mark.parametrize(
    ("uri", "who"), [(ALL_USERS, "AllUsers"), (AUTH_USERS, "AuthenticatedUsers")]
)
def test_public_grants_are_violations(uri: str, who: str) -> None:
    bucket = resource(BUCKET, {"grants": [{"type": "Group", "uri": uri, "permissions": ["READ"]}]})
    assert who in only(findings_for(no_public_acl, [bucket])).message
    acl = resource(
        BUCKET_ACL,
        {
            "bucket": "b",
            "accessControlPolicy": {
                "grants": [{"grantee": {"type": "Group", "uri": uri}, "permission": "READ"}],
                "owner": {"id": "abc"},
            },
        },
    )
    finding = only(findings_for(no_public_acl, [acl]))
    assert "accessControlPolicy.grants[0]" in finding.message and who in finding.message


def test_canonical_user_grant_is_compliant() -> None:
    acl = resource(
        BUCKET_ACL,
        {
            "bucket": "b",
            "accessControlPolicy": {
                "grants": [
                    {
                        "grantee": {"type": "CanonicalUser", "id": "abc"},
                        "permission": "FULL_CONTROL",
                    }
                ],
                "owner": {"id": "abc"},
            },
        },
    )
    assert findings_for(no_public_acl, [acl]) == []


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"acl": 1}, "acl must be a string"),
        ({"grants": "public"}, "grants must be an array"),
        ({"grants": ["AllUsers"]}, "grants[0] must be an object"),
    ],
)
def test_acl_wrong_types_are_violations(props: dict[str, Any], expected: str) -> None:
    assert expected in only(findings_for(no_public_acl, [resource(BUCKET, props)])).message


def test_unknown_acl_is_a_note() -> None:
    [finding] = findings_for(no_public_acl, [resource(BUCKET_ACL, {"acl": UNKNOWN})])
    assert finding.kind == "note"


# --- bucket policy: no public Allow --------------------------------------------------------


CLOUDFRONT_READ = allow(
    "s3:GetObject",
    "arn:aws:s3:::b/*",
    Principal={"Service": "cloudfront.amazonaws.com"},
    Condition={
        "StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E1"}
    },
)


@pytest.mark.parametrize("type_", [BUCKET_POLICY, BUCKET, BUCKET_V2])
def test_policy_with_tls_deny_and_service_grant_is_compliant(type_: str) -> None:
    res = resource(type_, {"bucket": "b", "policy": doc(TLS_DENY, CLOUDFRONT_READ)})
    assert findings_for(policy_no_public_allow, [res]) == []


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::1:root", "*"]}])
@pytest.mark.parametrize("type_", [BUCKET_POLICY, BUCKET])
def test_public_allow_is_a_violation(type_: str, principal: Any) -> None:
    policy = doc(
        TLS_DENY, allow("s3:GetObject", "arn:aws:s3:::b/*", Principal=principal, Sid="Public")
    )
    finding = only(findings_for(policy_no_public_allow, [resource(type_, {"policy": policy})]))
    assert finding.policy == "aws-s3-bucket-policy-no-public-allow"
    assert "'Public' allows the wildcard principal" in finding.message


def test_missing_or_empty_policy_is_compliant_for_public_allow() -> None:
    assert findings_for(policy_no_public_allow, [resource(BUCKET, {"bucketPrefix": "b-"})]) == []
    assert findings_for(policy_no_public_allow, [resource(BUCKET_POLICY, {"policy": ""})]) == []


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("{oops", "not valid JSON"), (5, "must be a policy document")],
)
def test_policy_wrong_types_are_violations(policy: Any, expected: str) -> None:
    found = findings_for(policy_no_public_allow, [resource(BUCKET_POLICY, {"policy": policy})])
    assert expected in only(found).message


def test_unknown_bucket_policy_is_a_note() -> None:
    [finding] = findings_for(policy_no_public_allow, [resource(BUCKET_POLICY, {"policy": UNKNOWN})])
    assert finding.kind == "note"


# --- bucket policy: TLS only --------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        {**TLS_DENY, "Principal": "*"},
        {**TLS_DENY, "Action": ["s3:*"]},
        {**TLS_DENY, "Action": "*"},
        {**TLS_DENY, "Condition": {"Bool": {"aws:SecureTransport": False}}},
        {**TLS_DENY, "Condition": {"BoolIfExists": {"aws:securetransport": "false"}}},
    ],
    ids=["star", "action-list", "all-actions", "json-boolean", "bool-if-exists"],
)
def test_tls_deny_variants_are_compliant(statement: dict[str, Any]) -> None:
    assert findings_for(tls_only, platform(policy={"policy": doc(statement)})) == []


@pytest.mark.parametrize(
    "statement",
    [
        {**TLS_DENY, "Effect": "Allow"},
        {**TLS_DENY, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}},
        {**TLS_DENY, "Action": "s3:GetObject"},
        {**TLS_DENY, "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {k: v for k, v in TLS_DENY.items() if k != "Condition"},
        {**TLS_DENY, "Condition": {"Null": {"aws:SecureTransport": "false"}}},
        CLOUDFRONT_READ,
    ],
    ids=[
        "allow",
        "one-principal",
        "one-action",
        "condition-true",
        "no-condition",
        "null-operator",
        "no-deny",
    ],
)
def test_policy_without_tls_deny_is_a_violation(statement: dict[str, Any]) -> None:
    finding = only(findings_for(tls_only, platform(policy={"policy": doc(statement)})))
    assert finding.policy == "aws-s3-bucket-tls-only"
    assert finding.urn == APP_URN
    assert "denies requests not made over TLS" in finding.message


def test_inline_bucket_policy_counts_for_tls() -> None:
    stack = platform(without={"policy"}, bucket_props={"policy": doc(TLS_DENY)})
    assert findings_for(tls_only, stack) == []


def test_tls_policy_wrong_type_is_a_violation_on_the_bucket() -> None:
    finding = only(findings_for(tls_only, platform(policy={"policy": 42})))
    assert finding.urn == APP_URN and "must be a policy document" in finding.message


def test_unknown_tls_policy_is_a_note() -> None:
    [finding] = findings_for(tls_only, platform(policy={"policy": UNKNOWN}))
    assert finding.kind == "note"


# --- access logging ------------------------------------------------------------------------------


def test_log_target_without_the_tag_must_log_itself() -> None:
    logs = log_bucket(tags=TAGS)
    finding = only(findings_for(access_logging, logs + secure_bucket("app", log_bucket=logs[0])))
    assert finding.urn == LOGS_URN
    assert "bucket logs-bucket has no server access logging" in finding.message


def test_logging_without_target_is_a_violation() -> None:
    stack = secure_bucket("solo")
    logging = resource(LOGGING, {"bucket": "solo-id"}, name="solo-logging", dependencies=[stack[0]])
    finding = only(findings_for(access_logging, [*stack, logging]))
    assert "solo-logging sets no targetBucket" in finding.message


def test_logging_to_a_bucket_outside_the_stack_is_compliant() -> None:
    stack = secure_bucket("solo")
    logging = resource(
        LOGGING,
        {"bucket": "solo-id", "targetBucket": "central-logs"},
        name="solo-logging",
        dependencies=[stack[0]],
    )
    assert findings_for(access_logging, [*stack, logging]) == []


def test_logging_target_of_the_wrong_type_is_a_violation() -> None:
    stack = secure_bucket("solo")
    logging = resource(
        LOGGING,
        {"bucket": "solo-id", "targetBucket": 7},
        name="solo-logging",
        dependencies=[stack[0]],
    )
    finding = only(findings_for(access_logging, [*stack, logging]))
    assert "BucketLogging solo-logging: targetBucket must be a string" in finding.message


def test_unknown_logging_target_is_a_note() -> None:
    stack = secure_bucket("solo")
    logging = resource(
        LOGGING, {"bucket": "solo-id", "targetBucket": UNKNOWN}, dependencies=[stack[0]]
    )
    [finding] = findings_for(access_logging, [*stack, logging])
    assert finding.kind == "note"


# --- versioning ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [("Suspended", "status 'Suspended'"), (None, "status not set"), ("Disabled", "'Disabled'")],
)
def test_versioning_not_enabled_is_a_violation(status: Any, expected: str) -> None:
    found = findings_for(
        versioning_enabled, platform(versioning={"versioningConfiguration": {"status": status}})
    )
    finding = only(found)
    assert finding.policy == "aws-s3-bucket-versioning"
    assert finding.urn == APP_URN
    assert expected in finding.message and "must be 'Enabled'" in finding.message


def test_versioning_wrong_type_is_a_violation() -> None:
    found = findings_for(
        versioning_enabled, platform(versioning={"versioningConfiguration": "Enabled"})
    )
    assert "versioningConfiguration must be an object" in only(found).message


def test_unknown_versioning_status_is_a_note() -> None:
    found = findings_for(
        versioning_enabled, platform(versioning={"versioningConfiguration": {"status": UNKNOWN}})
    )
    assert [f.kind for f in found] == ["note"]


def test_each_bucket_is_reported_once_per_problem() -> None:
    logs = log_bucket(without={"versioning"})
    stack = logs + secure_bucket("app", log_bucket=logs[0], without={"versioning"})
    found = findings_for(versioning_enabled, stack)
    assert sorted(f.urn for f in violations(found)) == sorted([APP_URN, LOGS_URN])
