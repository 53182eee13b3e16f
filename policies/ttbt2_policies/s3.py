"""S3 buckets: encryption, public access, bucket policies, access logging, versioning.

- SSE-KMS with a customer-managed key (CKV_AWS_19, CKV_AWS_145), except SSE-S3 for the bucket
  that receives server access logs;
- all four public-access blocks on (CKV2_AWS_6, CKV_AWS_53, CKV_AWS_54, CKV_AWS_55, CKV_AWS_56);
- no public canned ACL or grant (CKV_AWS_20, CKV_AWS_57, CKV2_AWS_43);
- no Allow to the wildcard principal in bucket policies (CKV_AWS_70);
- a bucket policy denying requests not made over TLS (CKV_AWS_379);
- server access logging (CKV_AWS_18), except for the bucket that receives the logs;
- versioning enabled (CKV_AWS_21).

A bucket's configuration lives in separate resources (``aws.s3.BucketVersioning`` and so on)
that take ``bucket=my_bucket.id``. Stack policies join them to their bucket through
dependencies (see :func:`common.referenced`), never through ids; every violation of a stack
policy is reported on the bucket's URN. The deprecated inline configuration blocks of the bucket
(``serverSideEncryptionConfiguration``, ``versioning``, ``logging``) are not accepted; its inline
``acl``, ``grants`` and ``policy`` are checked like the separate resources.

The log-target exception. S3 cannot deliver server access logs to an SSE-KMS bucket, and a
bucket that receives access logs need not log itself. A bucket gets both exceptions only when

1. it carries the tag ``purpose: access-logs`` (a declared intent, so no bucket slips into the
   exception by accident), and
2. it is the ``targetBucket`` of some ``aws.s3.BucketLogging`` (a fact of the graph).

Which bucket a ``BucketLogging`` belongs to (its ``bucket``) and which receives its logs (its
``targetBucket``) is decided, in order, by:

a. the engine's per-property dependencies, when it hands them over (``pulumi preview``);
b. otherwise (offline graphs carry only ``dependencies``), among the buckets the logging
   depends on, the ones tagged ``purpose: access-logs`` are targets and the others owners,
   when the tag splits them;
c. otherwise, a bucket whose name input (``bucket``, or ``bucketPrefix`` for a generated name)
   matches the logging's ``targetBucket`` value is the target and the rest owners;
d. otherwise every bucket it depends on counts as an owner and none as a target: no exception
   is granted on a guess. A logging that depends on one bucket only belongs to that bucket.

Tags that are not an object count as no tags here (``aws-required-tags`` reports them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import Policy, PolicyResource, ResourceValidationArgs, StackValidationArgs

from .common import (
    MANDATORY,
    InvalidPropError,
    Statement,
    bool_prop,
    document_statements,
    is_aws_managed_key,
    is_mapping,
    list_prop,
    mapping_prop,
    referenced,
    report_on,
    resource_policy,
    stack_policy,
    str_prop,
    wrong_type,
)

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKET_TYPES = frozenset({BUCKET, BUCKET_V2})
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
COMPANION_TYPES = frozenset(
    {ENCRYPTION, VERSIONING, LOGGING, PUBLIC_ACCESS_BLOCK, BUCKET_POLICY, BUCKET_ACL}
)
"""Resources that configure one bucket through their ``bucket`` input."""

LOG_TARGET_TAG = ("purpose", "access-logs")
KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})
SSE_S3 = "AES256"
PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_GRANTEE_URIS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "everyone (AllUsers)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": (
        "every AWS account (AuthenticatedUsers)"
    ),
}
PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
LOG_TARGET_RULE = (
    f"a bucket that receives server access logs (tagged {LOG_TARGET_TAG[0]}: "
    f"{LOG_TARGET_TAG[1]} and the targetBucket of an aws.s3.BucketLogging)"
)


# --- the bucket graph ------------------------------------------------------------------------


@dataclass
class _Bucket:
    """One bucket and the configuration resources that belong to it."""

    resource: PolicyResource
    companions: dict[str, list[PolicyResource]] = field(default_factory=dict)
    log_target: bool = False
    """The ``targetBucket`` of some BucketLogging (whatever its tags)."""

    @property
    def name(self) -> str:
        return self.resource.name

    def owned(self, type_: str) -> list[PolicyResource]:
        return self.companions.get(type_, [])

    @property
    def receives_access_logs(self) -> bool:
        """The log-target exception: tagged for access logs and a BucketLogging's target."""
        return self.log_target and _tagged_for_logs(self.resource)


def _tagged_for_logs(bucket: PolicyResource) -> bool:
    tags = bucket.props.get("tags")
    key, value = LOG_TARGET_TAG
    return isinstance(tags, Mapping) and tags.get(key) == value


def _names_match(bucket: PolicyResource, target: Any) -> bool:
    """True when the bucket's name input is (or generates) the ``targetBucket`` value."""
    if not isinstance(target, str) or not target:
        return False
    name = bucket.props.get("bucket")
    if isinstance(name, str) and name:
        return name == target
    prefix = bucket.props.get("bucketPrefix")
    return isinstance(prefix, str) and bool(prefix) and target.startswith(prefix)


def _logging_roles(
    logging: PolicyResource,
) -> tuple[list[PolicyResource], list[PolicyResource]]:
    """(buckets it belongs to, buckets receiving its logs): see the module docstring."""
    if getattr(logging, "property_dependencies", None):
        return (
            referenced(logging, "bucket", BUCKET_TYPES),
            referenced(logging, "targetBucket", BUCKET_TYPES),
        )
    buckets = referenced(logging, "bucket", BUCKET_TYPES)
    if len(buckets) < 2:
        return buckets, []
    tagged = [b for b in buckets if _tagged_for_logs(b)]
    if 0 < len(tagged) < len(buckets):
        return [b for b in buckets if b not in tagged], tagged
    target_value = logging.props.get("targetBucket")
    named = [b for b in buckets if _names_match(b, target_value)]
    if 0 < len(named) < len(buckets):
        return [b for b in buckets if b not in named], named
    return buckets, []


def _bucket_graph(resources: Sequence[PolicyResource]) -> list[_Bucket]:
    """Every bucket of the stack with the configuration resources joined to it."""
    buckets = {r.urn: _Bucket(r) for r in resources if r.resource_type in BUCKET_TYPES}
    for res in resources:
        if res.resource_type not in COMPANION_TYPES:
            continue
        if res.resource_type == LOGGING:
            owners, targets = _logging_roles(res)
            for target in targets:
                buckets[target.urn].log_target = True
        else:
            owners = referenced(res, "bucket", BUCKET_TYPES)
        for owner in owners:
            buckets[owner.urn].companions.setdefault(res.resource_type, []).append(res)
    return list(buckets.values())


def _each_bucket(
    args: StackValidationArgs, check: Callable[[_Bucket], Iterable[str]]
) -> Iterator[tuple[str, str | None]]:
    """Run ``check(bucket)`` on every bucket, reporting on the bucket's URN."""
    for bucket in _bucket_graph(args.resources):
        yield from report_on(bucket.resource.urn, check(bucket))


def _in(res: PolicyResource, exc: InvalidPropError) -> InvalidPropError:
    """``exc`` with the resource that holds the wrongly typed prop named first."""
    kind = res.resource_type.rsplit(":", 1)[-1]
    return InvalidPropError(f"{kind} {res.name}: {exc.message}")


# --- encryption at rest ------------------------------------------------------------------------


def _kms_problem(algorithm: str, key: str | None, where: str) -> str | None:
    if not key:
        return (
            f"{where} uses {algorithm} with the AWS-managed key: set kmsMasterKeyId to a "
            "customer-managed KMS key"
        )
    if is_aws_managed_key(key):
        return f"{where} uses the AWS-managed key {key}: use a customer-managed KMS key"
    return None


def _rule_problem(rule: Any, where: str, bucket: _Bucket) -> str | None:
    """What is wrong with one encryption rule, or None."""
    if not is_mapping(rule):
        raise wrong_type(where, "an object", rule)
    default = mapping_prop(rule, "applyServerSideEncryptionByDefault")
    if default is None:
        return f"{where} sets no applyServerSideEncryptionByDefault"
    algorithm = str_prop(default, "sseAlgorithm")
    key = str_prop(default, "kmsMasterKeyId")
    if algorithm in KMS_ALGORITHMS:
        return _kms_problem(algorithm, key, where)
    if algorithm == SSE_S3:
        if bucket.receives_access_logs:
            return None
        return (
            f"{where} uses SSE-S3 (AES256): use SSE-KMS (aws:kms) with a customer-managed key; "
            f"AES256 is allowed only for {LOG_TARGET_RULE}"
        )
    got = "not set" if algorithm is None else repr(algorithm)
    return f"{where}: sseAlgorithm is {got}, must be aws:kms with a customer-managed key"


def _encryption_problems(bucket: _Bucket) -> Iterator[str]:
    configs = bucket.owned(ENCRYPTION)
    if not configs:
        yield (
            f"bucket {bucket.name} has no encryption configuration: no "
            "aws.s3.BucketServerSideEncryptionConfiguration depends on it (inline "
            "serverSideEncryptionConfiguration is not accepted); use SSE-KMS with a "
            "customer-managed key"
        )
        return
    for config in configs:
        try:
            rules = list_prop(config.props, "rules") or []
            if not rules:
                yield f"bucket {bucket.name}: {config.name} has no encryption rules"
            for i, rule in enumerate(rules):
                problem = _rule_problem(rule, f"{config.name} rules[{i}]", bucket)
                if problem:
                    yield f"bucket {bucket.name}: {problem}"
        except InvalidPropError as exc:
            raise _in(config, exc) from None


def _encryption(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    yield from _each_bucket(args, _encryption_problems)


# --- public access block -------------------------------------------------------------------------


def _public_access_problems(bucket: _Bucket) -> Iterator[str]:
    blocks = bucket.owned(PUBLIC_ACCESS_BLOCK)
    if not blocks:
        yield (
            f"bucket {bucket.name} has no public access block: no "
            "aws.s3.BucketPublicAccessBlock depends on it"
        )
    for block in blocks:
        try:
            off = [f for f in PUBLIC_ACCESS_FLAGS if bool_prop(block.props, f) is not True]
        except InvalidPropError as exc:
            raise _in(block, exc) from None
        if off:
            yield (
                f"bucket {bucket.name}: public access block {block.name} leaves "
                f"{', '.join(off)} off (unset means false); all four must be true"
            )


def _public_access_block(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    yield from _each_bucket(args, _public_access_problems)


# --- ACLs ------------------------------------------------------------------------------------


def _grant_problems(grants: Sequence[Any], where: str, uri_path: str) -> Iterator[str]:
    for i, grant in enumerate(grants):
        if not is_mapping(grant):
            raise wrong_type(f"{where}[{i}]", "an object", grant)
        uri = str_prop(grant, uri_path)
        if uri in PUBLIC_GRANTEE_URIS:
            yield f"{where}[{i}] grants access to {PUBLIC_GRANTEE_URIS[uri]}"


def _no_public_acl(args: ResourceValidationArgs) -> Iterator[str]:
    """No public canned ACL and no grant to AllUsers/AuthenticatedUsers.

    Without ``acl`` or grants a bucket is private (and ACLs are disabled on new buckets).
    """
    acl = str_prop(args.props, "acl")
    if acl in PUBLIC_CANNED_ACLS:
        yield f"acl is {acl!r}: the bucket's objects are readable or writable by anyone"
    if args.resource_type == BUCKET_ACL:
        grants = list_prop(args.props, "accessControlPolicy.grants") or []
        where, uri_path = "accessControlPolicy.grants", "grantee.uri"
    else:
        grants, where, uri_path = list_prop(args.props, "grants") or [], "grants", "uri"
    yield from _grant_problems(grants, where, uri_path)


# --- bucket policy: no public Allow --------------------------------------------------------


def _no_public_allow(args: ResourceValidationArgs) -> Iterator[str]:
    """No Allow statement to ``*`` (or to every NotPrincipal); Deny with ``*`` is fine."""
    value = args.props.get("policy")
    if value in (None, ""):
        return
    for stmt in document_statements(value, "bucket policy"):
        problem = stmt.principal_everyone_message()
        if problem:
            yield f"{problem}: anyone could act on this bucket"


# --- bucket policy: TLS only --------------------------------------------------------------------


def _denies_insecure_transport(stmt: Statement) -> bool:
    """Deny, principal ``*``, action ``s3:*`` or ``*``, condition aws:SecureTransport false."""
    if stmt.allows or not stmt.wildcard_principal:
        return False
    if not any(a.lower() in ("s3:*", "*") for a in stmt.actions or []):
        return False
    return any(
        key.lower() == "aws:securetransport" and [v.lower() for v in values] == ["false"]
        for operator, keys in stmt.conditions.items()
        if operator in ("Bool", "BoolIfExists")
        for key, values in keys.items()
    )


def _policies_of(bucket: _Bucket) -> Iterator[tuple[str, Any]]:
    """(label, document) of the bucket's policies: its BucketPolicy resources and inline one."""
    inline = bucket.resource.props.get("policy")
    if inline not in (None, ""):
        yield f"bucket {bucket.name}'s inline policy", inline
    for policy in bucket.owned(BUCKET_POLICY):
        value = policy.props.get("policy")
        if value not in (None, ""):
            yield f"bucket policy {policy.name}", value


def _tls_only_problems(bucket: _Bucket) -> Iterator[str]:
    documents = list(_policies_of(bucket))
    if not documents:
        yield (
            f"bucket {bucket.name} has no bucket policy (no aws.s3.BucketPolicy depends on it): "
            "it must deny requests where aws:SecureTransport is false"
        )
        return
    for label, document in documents:
        if any(_denies_insecure_transport(s) for s in document_statements(document, label)):
            return
    yield (
        f"bucket {bucket.name}: no statement of its bucket policy denies requests not made "
        "over TLS (Effect Deny, Principal '*', Action 's3:*', Condition Bool "
        "aws:SecureTransport 'false')"
    )


def _tls_only(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    yield from _each_bucket(args, _tls_only_problems)


# --- access logging ------------------------------------------------------------------------------


def _logging_problems(bucket: _Bucket) -> Iterator[str]:
    if bucket.receives_access_logs:
        return
    loggings = bucket.owned(LOGGING)
    if not loggings:
        yield (
            f"bucket {bucket.name} has no server access logging: no aws.s3.BucketLogging "
            f"belongs to it (inline logging is not accepted); only {LOG_TARGET_RULE} is exempt"
        )
    for logging in loggings:
        if _logging_roles(logging)[1]:
            continue  # it references the target bucket: targetBucket is set
        try:
            target = str_prop(logging.props, "targetBucket")
        except InvalidPropError as exc:
            raise _in(logging, exc) from None
        if not target:
            yield f"bucket {bucket.name}: access logging {logging.name} sets no targetBucket"


def _access_logging(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    yield from _each_bucket(args, _logging_problems)


# --- versioning ----------------------------------------------------------------------------------


def _versioning_problems(bucket: _Bucket) -> Iterator[str]:
    versionings = bucket.owned(VERSIONING)
    if not versionings:
        yield (
            f"bucket {bucket.name} is not versioned: no aws.s3.BucketVersioning depends on it "
            "(inline versioning is not accepted)"
        )
    for versioning in versionings:
        try:
            status = str_prop(versioning.props, "versioningConfiguration.status")
        except InvalidPropError as exc:
            raise _in(versioning, exc) from None
        if status != "Enabled":
            got = "not set" if status is None else repr(status)
            yield (
                f"bucket {bucket.name}: versioning {versioning.name} has "
                f"versioningConfiguration.status {got}, must be 'Enabled'"
            )


def _versioning(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    yield from _each_bucket(args, _versioning_problems)


# --- policies ------------------------------------------------------------------------------------

encryption_kms = stack_policy(
    name="aws-s3-bucket-encryption-kms",
    description=(
        "S3 buckets have a BucketServerSideEncryptionConfiguration using SSE-KMS with a "
        "customer-managed key (CKV_AWS_19, CKV_AWS_145); SSE-S3 only for the bucket receiving "
        "server access logs (tagged purpose: access-logs)."
    ),
    enforcement=MANDATORY,
    check=_encryption,
)

public_access_block = stack_policy(
    name="aws-s3-bucket-public-access-block",
    description=(
        "S3 buckets have a BucketPublicAccessBlock with all four blocks on "
        "(CKV2_AWS_6, CKV_AWS_53, CKV_AWS_54, CKV_AWS_55, CKV_AWS_56)."
    ),
    enforcement=MANDATORY,
    check=_public_access_block,
)

no_public_acl = resource_policy(
    name="aws-s3-bucket-no-public-acl",
    description=(
        "S3 buckets and BucketAcls grant nothing to everyone or to every AWS account: no "
        "public-read, public-read-write or authenticated-read ACL "
        "(CKV_AWS_20, CKV_AWS_57, CKV2_AWS_43)."
    ),
    enforcement=MANDATORY,
    applies_to=BUCKET_TYPES | {BUCKET_ACL},
    check=_no_public_acl,
)

policy_no_public_allow = resource_policy(
    name="aws-s3-bucket-policy-no-public-allow",
    description=(
        "S3 bucket policies (BucketPolicy or the bucket's inline policy) allow nothing to the "
        "wildcard principal '*' (CKV_AWS_70)."
    ),
    enforcement=MANDATORY,
    applies_to=BUCKET_TYPES | {BUCKET_POLICY},
    check=_no_public_allow,
)

tls_only = stack_policy(
    name="aws-s3-bucket-tls-only",
    description=(
        "S3 bucket policies deny every request where aws:SecureTransport is false (CKV_AWS_379)."
    ),
    enforcement=MANDATORY,
    check=_tls_only,
)

access_logging = stack_policy(
    name="aws-s3-bucket-access-logging",
    description=(
        "S3 buckets have a BucketLogging (CKV_AWS_18), except the bucket receiving the access "
        "logs (tagged purpose: access-logs)."
    ),
    enforcement=MANDATORY,
    check=_access_logging,
)

versioning_enabled = stack_policy(
    name="aws-s3-bucket-versioning",
    description="S3 buckets have a BucketVersioning with status Enabled (CKV_AWS_21).",
    enforcement=MANDATORY,
    check=_versioning,
)

POLICIES: list[Policy] = [
    encryption_kms,
    public_access_block,
    no_public_acl,
    policy_no_public_allow,
    tls_only,
    access_logging,
    versioning_enabled,
]
