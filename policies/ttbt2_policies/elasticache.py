"""ElastiCache replication groups: encryption, authentication, failover, snapshots.

- encryption at rest with a customer-managed KMS key (CKV_AWS_29, CKV_AWS_191);
- encryption in transit (CKV_AWS_30), and clients authenticated by a user group whenever it is
  on (CKV_AWS_31, tightened: a shared AUTH token is a static secret, seed 4.9.1), whose users are
  IAM-authenticated or switched off;
- automatic failover across availability zones with at least two nodes per shard in the
  stacks of config ``failoverStacks`` (default staging, prod, prod-dr) (CKV2_AWS_50);
- in production stacks (config ``productionStacks``), daily snapshots kept for at least
  ``minimumSnapshotRetentionDays`` (default 7) (CKV_AWS_134).

``atRestEncryptionEnabled`` is a boolean in the SDK, but older state and hand-written graphs hold
the string ``"true"``: both are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Policy, PolicyConfigSchema, ResourceValidationArgs

from .common import (
    MANDATORY,
    bool_or_string_prop,
    bool_prop,
    is_aws_managed_key,
    is_number,
    is_set,
    number_prop,
    production_config_schema,
    require_production,
    resource_policy,
    stack_names_config,
    stack_names_schema,
    stack_of,
    str_list_prop,
    str_prop,
)
from .floors import FLOORS

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
USER = "aws:elasticache/user:User"
MINIMUM_NODES_PER_SHARD = 2
"""ElastiCache fails over only to a replica: a shard needs a primary and one more node."""
DEFAULT_FAILOVER_STACKS = (
    *(stack for stack, f in FLOORS.items() if f.cache_nodes >= MINIMUM_NODES_PER_SHARD),
    "prod-dr",
)
"""The stacks whose floor of cache nodes can fail over (floors.py), and prod's DR stack."""
DEFAULT_MINIMUM_SNAPSHOT_RETENTION = FLOORS["prod"].cache_snapshot_retention_days
"""Production's floor of cache snapshot retention (floors.py)."""


def _at_rest_encryption(args: ResourceValidationArgs) -> Iterator[str]:
    encrypted = bool_or_string_prop(args.props, "atRestEncryptionEnabled")
    if not encrypted:
        why = "is false" if encrypted is False else "is not set and AWS defaults it to false"
        yield f"data at rest is not encrypted: atRestEncryptionEnabled {why}"
        return
    key = str_prop(args.props, "kmsKeyId")
    if not key:
        yield (
            "encryption at rest uses the AWS-managed key: set kmsKeyId to a customer-managed "
            "KMS key"
        )
    elif is_aws_managed_key(key):
        yield f"encryption at rest uses the AWS-managed key {key}: use a customer-managed key"


def _transit_encryption(args: ResourceValidationArgs) -> Iterator[str]:
    enabled = bool_or_string_prop(args.props, "transitEncryptionEnabled")
    if not enabled:
        why = "is false" if enabled is False else "is not set and AWS defaults it to false"
        yield f"traffic to the cache is not encrypted: transitEncryptionEnabled {why}"
        return
    mode = str_prop(args.props, "transitEncryptionMode")
    if mode == "preferred":
        yield (
            "transitEncryptionMode is 'preferred': clients may still connect without TLS; "
            "set it to 'required'"
        )


def _user_group(args: ResourceValidationArgs) -> Iterator[str]:
    """Clients authenticate as users of a user group, not with a shared AUTH token.

    Without transit encryption AWS refuses both: that case is the transit rule's violation. The
    token's value (a secret) never appears in a message.
    """
    if not bool_or_string_prop(args.props, "transitEncryptionEnabled"):
        args.not_applicable("authentication requires transit encryption")
    if any(str_list_prop(args.props, "userGroupIds") or []):
        return
    if is_set(args.props, "authToken") or is_set(args.props, "authTokenWo"):
        yield (
            "the cache authenticates with a shared AUTH token, a static secret: set "
            "userGroupIds to a user group of IAM-authenticated users and drop authToken"
        )
        return
    yield (
        "userGroupIds is not set: any client that reaches the cache uses it as the default user; "
        "set a user group of IAM-authenticated users"
    )


def _user_authentication(args: ResourceValidationArgs) -> Iterator[str]:
    """A cache user authenticates by IAM, or is switched off (``off`` in its access string)."""
    access = str_prop(args.props, "accessString") or ""
    switches = [word for word in access.split() if word in ("on", "off")]
    if switches and switches[-1] == "off":
        return
    kind = str_prop(args.props, "authenticationMode.type")
    if kind == "iam":
        return
    name = str_prop(args.props, "userName") or "?"
    if kind is None:
        why = (
            "noPasswordRequired: anyone may connect as it"
            if bool_prop(args.props, "noPasswordRequired")
            else "authenticationMode.type is not set (a password user)"
        )
    else:
        why = f"authenticationMode.type is {kind!r}"
    yield (
        f"cache user {name!r} is enabled and {why}: set authenticationMode.type to 'iam' "
        "(short-lived SigV4 tokens) or switch the user off ('off' in accessString)"
    )


def _failover_stacks(config: Any) -> Any:
    return stack_names_config(config, "failoverStacks", DEFAULT_FAILOVER_STACKS)


def _nodes_per_shard(props: Mapping[str, Any]) -> float | None:
    """``numCacheClusters``, or 1 + ``replicasPerNodeGroup`` (cluster mode); None when unset."""
    clusters = number_prop(props, "numCacheClusters")
    if clusters is not None:
        return clusters
    replicas = number_prop(props, "replicasPerNodeGroup")
    return None if replicas is None else 1 + replicas


def _automatic_failover(args: ResourceValidationArgs) -> Iterator[str]:
    stack = stack_of(args.urn)
    if stack not in _failover_stacks(args.get_config()):
        args.not_applicable(f"stack {stack!r} is not in failoverStacks")
    off = [
        key
        for key in ("automaticFailoverEnabled", "multiAzEnabled")
        if not bool_or_string_prop(args.props, key)
    ]
    if off:
        yield (
            f"{' and '.join(off)} not true in stack {stack!r} (unset means false): losing the "
            "primary node or its availability zone takes the cache down"
        )
    nodes = _nodes_per_shard(args.props)
    if nodes is None or nodes < MINIMUM_NODES_PER_SHARD:
        got = "not set (AWS default 1)" if nodes is None else f"{nodes:g}"
        yield (
            f"the group has {got} node(s) per shard (numCacheClusters or 1 + "
            f"replicasPerNodeGroup); automatic failover needs at least {MINIMUM_NODES_PER_SHARD}"
        )


def _minimum_snapshot_days(config: Any) -> int:
    value = config.get("minimumSnapshotRetentionDays") if config else None
    if value is None:
        return DEFAULT_MINIMUM_SNAPSHOT_RETENTION
    if not is_number(value) or value < 1:
        raise ValueError("policy config minimumSnapshotRetentionDays must be a number >= 1")
    return int(value)


def _snapshot_retention(args: ResourceValidationArgs) -> Iterator[str]:
    stack = require_production(args)
    minimum = _minimum_snapshot_days(args.get_config())
    days = number_prop(args.props, "snapshotRetentionLimit")
    if days is None or days < minimum:
        got = "not set (AWS default 0: no snapshots)" if days is None else f"{days:g}"
        yield (
            f"snapshotRetentionLimit is {got} in production stack {stack!r}; keep daily "
            f"snapshots for at least {minimum} days"
        )


at_rest_encryption = resource_policy(
    name="aws-elasticache-at-rest-encryption",
    description=(
        "ElastiCache replication groups encrypt data at rest with a customer-managed KMS key "
        "(CKV_AWS_29, CKV_AWS_191)."
    ),
    enforcement=MANDATORY,
    applies_to={REPLICATION_GROUP},
    check=_at_rest_encryption,
)

transit_encryption = resource_policy(
    name="aws-elasticache-transit-encryption",
    description=(
        "ElastiCache replication groups require TLS: transitEncryptionEnabled, and "
        "transitEncryptionMode not 'preferred' (CKV_AWS_30)."
    ),
    enforcement=MANDATORY,
    applies_to={REPLICATION_GROUP},
    check=_transit_encryption,
)

user_group_auth = resource_policy(
    name="aws-elasticache-user-group-auth",
    description=(
        "ElastiCache replication groups with transit encryption authenticate clients through a "
        "user group, not a shared static AUTH token (CKV_AWS_31, seed 4.9.1)."
    ),
    enforcement=MANDATORY,
    applies_to={REPLICATION_GROUP},
    check=_user_group,
)

user_iam_auth = resource_policy(
    name="aws-elasticache-user-iam-auth",
    description=(
        "ElastiCache users authenticate by IAM (short-lived tokens) or are switched off: no "
        "static password or password-less user can connect (seed 4.9.1; platform rule)."
    ),
    enforcement=MANDATORY,
    applies_to={USER},
    check=_user_authentication,
)

automatic_failover = resource_policy(
    name="aws-elasticache-automatic-failover",
    description=(
        "In the stacks of config failoverStacks (default staging, prod, prod-dr), ElastiCache "
        "replication groups enable automatic failover and Multi-AZ with at least two nodes per "
        "shard (CKV2_AWS_50)."
    ),
    enforcement=MANDATORY,
    applies_to={REPLICATION_GROUP},
    check=_automatic_failover,
    config_schema=PolicyConfigSchema(
        properties={
            "failoverStacks": stack_names_schema(
                DEFAULT_FAILOVER_STACKS, "Stack names (from the URN) that need failover."
            )
        }
    ),
)

snapshot_retention = resource_policy(
    name="aws-elasticache-snapshot-retention",
    description=(
        "In production stacks (config productionStacks), ElastiCache replication groups keep "
        "snapshots for at least minimumSnapshotRetentionDays (default 7) (CKV_AWS_134)."
    ),
    enforcement=MANDATORY,
    applies_to={REPLICATION_GROUP},
    check=_snapshot_retention,
    config_schema=production_config_schema(
        minimumSnapshotRetentionDays={
            "type": "integer",
            "minimum": 1,
            "default": DEFAULT_MINIMUM_SNAPSHOT_RETENTION,
            "description": "Minimum snapshotRetentionLimit (days) in production stacks.",
        }
    ),
)

POLICIES: list[Policy] = [
    at_rest_encryption,
    transit_encryption,
    user_group_auth,
    user_iam_auth,
    automatic_failover,
    snapshot_retention,
]
