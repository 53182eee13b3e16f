"""RDS instances and clusters: encryption, exposure, backups, resilience, authentication, TLS.

- storage encrypted with a customer-managed KMS key (CKV_AWS_16, CKV_AWS_96, CKV_AWS_327);
- not publicly accessible (CKV_AWS_17);
- backups kept for a per-stack minimum (CKV_AWS_133; config ``minimumBackupRetentionDays``);
- in production stacks (config ``productionStacks``): Multi-AZ (CKV_AWS_157), deletion
  protection (CKV_AWS_293, CKV_AWS_139) and a final snapshot on deletion (platform rule);
- IAM database authentication (CKV_AWS_161, CKV_AWS_162);
- a master password managed and rotated by RDS, never set in the program (platform rule);
- TLS forced by the parameter group (CKV2_AWS_69; stack policy, joined through dependencies);
- advisory: Performance Insights encrypted with a customer-managed key (CKV_AWS_353,
  CKV_AWS_354) and engine logs exported to CloudWatch (CKV_AWS_129).

Each rule applies to ``aws.rds.Instance`` and to ``aws.rds.Cluster`` where the cluster has the
property. Unset properties are read as the AWS default, named in the message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ResourceValidationArgs,
    StackValidationArgs,
)

from .common import (
    ADVISORY,
    MANDATORY,
    InvalidPropError,
    bool_prop,
    is_aws_managed_key,
    is_mapping,
    is_number,
    is_set,
    list_prop,
    number_prop,
    production_config_schema,
    referenced,
    report_on,
    require_production,
    resource_policy,
    stack_of,
    stack_policy,
    str_list_prop,
    str_prop,
    wrong_type,
)
from .floors import Floors, describe, floors_for, per_stack

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
DATABASES = frozenset({INSTANCE, CLUSTER})


def _backup_floor(floors: Floors) -> int:
    return floors.backup_retention_days


DEFAULT_MINIMUM_BACKUP_RETENTION: Mapping[str, int] = per_stack(_backup_floor)
"""The platform's floor table (:mod:`.floors`), the settings' and components' too."""
UNLISTED_STACK_MINIMUM_RETENTION = _backup_floor(floors_for(""))
AWS_DEFAULT_BACKUP_RETENTION = 1

MYSQL_ENGINES = frozenset({"mysql", "mariadb", "aurora-mysql", "aurora"})
NO_IAM_AUTH_ENGINE_PREFIXES = ("sqlserver", "oracle", "db2", "custom-")
PLAIN_PASSWORD_PROPS: Mapping[str, tuple[str, ...]] = {
    INSTANCE: ("password", "passwordWo"),
    CLUSTER: ("masterPassword", "masterPasswordWo"),
}
GROUP_OF: Mapping[str, tuple[str, str]] = {
    INSTANCE: ("parameterGroupName", PARAMETER_GROUP),
    CLUSTER: ("dbClusterParameterGroupName", CLUSTER_PARAMETER_GROUP),
}
"""Database type -> (prop naming its parameter group, type of that group)."""


def _kind(resource_type: str) -> str:
    return {INSTANCE: "instance", CLUSTER: "cluster", CLUSTER_INSTANCE: "cluster instance"}.get(
        resource_type, resource_type
    )


def _engine(props: Mapping[str, Any]) -> str:
    return (str_prop(props, "engine") or "").lower()


def _is_aurora(props: Mapping[str, Any]) -> bool:
    return _engine(props).startswith("aurora")


def _key_problem(key: str | None, prop: str, what: str) -> str | None:
    """Why ``key`` is not a customer-managed KMS key, or None."""
    if not key:
        return f"{what} uses the AWS-managed key: set {prop} to a customer-managed KMS key"
    if is_aws_managed_key(key):
        return f"{what} uses the AWS-managed key {key}: set {prop} to a customer-managed key"
    return None


# --- resource rules --------------------------------------------------------------------------


def _storage_encrypted(args: ResourceValidationArgs) -> Iterator[str]:
    encrypted = bool_prop(args.props, "storageEncrypted")
    if not encrypted:
        why = "is false" if encrypted is False else "is not set and AWS defaults it to false"
        yield f"storage is not encrypted: storageEncrypted {why}"
        return
    problem = _key_problem(str_prop(args.props, "kmsKeyId"), "kmsKeyId", "storage encryption")
    if problem:
        yield problem


def _not_public(args: ResourceValidationArgs) -> Iterator[str]:
    """``publiclyAccessible`` unset means false."""
    if bool_prop(args.props, "publiclyAccessible"):
        yield (
            "publiclyAccessible is true: the database gets a public address; keep it in "
            "private subnets and reach it through the VPC"
        )


def _minimum_retention(config: Any, stack: str) -> int:
    """The stack's minimum from ``minimumBackupRetentionDays`` (ValueError when malformed)."""
    value = config.get("minimumBackupRetentionDays") if config else None
    table = DEFAULT_MINIMUM_BACKUP_RETENTION if value is None else value
    if not is_mapping(table) or not all(is_number(v) for v in table.values()):
        raise ValueError(
            "policy config minimumBackupRetentionDays must map stack names to numbers of days"
        )
    return max(1, int(table.get(stack, UNLISTED_STACK_MINIMUM_RETENTION)))


def _backup_retention(args: ResourceValidationArgs) -> Iterator[str]:
    stack = stack_of(args.urn)
    minimum = _minimum_retention(args.get_config(), stack)
    days = number_prop(args.props, "backupRetentionPeriod")
    effective = AWS_DEFAULT_BACKUP_RETENTION if days is None else days
    if effective >= minimum:
        return
    if days is None:
        got = f"is not set (AWS default {AWS_DEFAULT_BACKUP_RETENTION} day)"
    elif days <= 0:
        got = f"is {days:g}, which disables automated backups"
    else:
        got = f"is {days:g} days"
    yield f"backupRetentionPeriod {got}; stack {stack!r} needs at least {minimum} days"


def _multi_az(args: ResourceValidationArgs) -> Iterator[str]:
    stack = require_production(args)
    if not bool_prop(args.props, "multiAz"):
        yield (
            f"multiAz is not true in production stack {stack!r}: one availability zone "
            "failing takes the database down (unset means false)"
        )


def _deletion_protection(args: ResourceValidationArgs) -> Iterator[str]:
    stack = require_production(args)
    if not bool_prop(args.props, "deletionProtection"):
        yield (
            f"deletionProtection is not true in production stack {stack!r}: the database "
            "can be deleted by one API call (unset means false)"
        )


def _iam_authentication(args: ResourceValidationArgs) -> Iterator[str]:
    engine = _engine(args.props)
    if engine.startswith(NO_IAM_AUTH_ENGINE_PREFIXES):
        args.not_applicable(f"engine {engine!r} does not support IAM database authentication")
    if not bool_prop(args.props, "iamDatabaseAuthenticationEnabled"):
        yield (
            "iamDatabaseAuthenticationEnabled is not true: applications should connect with "
            "short-lived IAM tokens rather than stored passwords (unset means false)"
        )


def _final_snapshot(args: ResourceValidationArgs) -> Iterator[str]:
    """``skipFinalSnapshot`` unset means false: a final snapshot is taken."""
    stack = require_production(args)
    if bool_prop(args.props, "skipFinalSnapshot"):
        yield (
            f"skipFinalSnapshot is true in production stack {stack!r}: deleting the database "
            "would leave no final snapshot"
        )


def _managed_master_password(args: ResourceValidationArgs) -> Iterator[str]:
    """No plain master password; its value never appears in a message (it is a secret)."""
    plain = [key for key in PLAIN_PASSWORD_PROPS[args.resource_type] if is_set(args.props, key)]
    if plain:
        yield (
            f"a master password is set in the program ({', '.join(plain)}): let RDS manage "
            "and rotate the master password (manageMasterUserPassword=true, no password)"
        )


def _performance_insights(args: ResourceValidationArgs) -> Iterator[str]:
    if args.resource_type == CLUSTER and _is_aurora(args.props):
        args.not_applicable("Aurora sets Performance Insights on its cluster instances")
    if not bool_prop(args.props, "performanceInsightsEnabled"):
        yield "performanceInsightsEnabled is not true (unset means false)"
        return
    problem = _key_problem(
        str_prop(args.props, "performanceInsightsKmsKeyId"),
        "performanceInsightsKmsKeyId",
        "Performance Insights",
    )
    if problem:
        yield problem


def _log_exports(args: ResourceValidationArgs) -> Iterator[str]:
    """PostgreSQL (or an unset engine) exports ``postgresql``; other engines export something."""
    engine = _engine(args.props)
    exported = str_list_prop(args.props, "enabledCloudwatchLogsExports") or []
    if engine in ("", "postgres", "aurora-postgresql"):
        if "postgresql" not in exported:
            yield (
                "enabledCloudwatchLogsExports does not include 'postgresql': the database log "
                f"stays out of CloudWatch (got {exported})"
            )
    elif not exported:
        yield "enabledCloudwatchLogsExports is empty: no engine log reaches CloudWatch"


# --- stack rule: TLS forced by the parameter group ---------------------------------------------


def _tls_parameter(database: PolicyResource) -> tuple[str, frozenset[str]]:
    """(parameter forcing TLS, values that force it) for the database's engine."""
    if _engine(database.props) in MYSQL_ENGINES:
        return "require_secure_transport", frozenset({"1", "on"})
    return "rds.force_ssl", frozenset({"1"})


def _parameter_value(group: PolicyResource, name: str) -> str | None:
    """The value the group gives parameter ``name``, None when it does not set it."""
    try:
        for i, item in enumerate(list_prop(group.props, "parameters") or []):
            if not is_mapping(item):
                raise wrong_type(f"parameters[{i}]", "an object with name and value", item)
            if str_prop(item, "name") == name:
                return str_prop(item, "value")
    except InvalidPropError as exc:
        raise InvalidPropError(f"parameter group {group.name}: {exc.message}") from None
    return None


def _tls_problems(database: PolicyResource) -> Iterator[str]:
    prop, group_type = GROUP_OF[database.resource_type]
    what = f"RDS {_kind(database.resource_type)} {database.name}"
    name, accepted = _tls_parameter(database)
    groups = referenced(database, prop, {group_type})
    if not groups:
        yield (
            f"{what} uses no parameter group of this stack (no aws.rds."
            f"{group_type.rsplit(':', 1)[-1]} referenced through {prop}): the default group "
            f"does not force TLS; set {name}=1 in a custom parameter group"
        )
        return
    values = {g.name: _parameter_value(g, name) for g in groups}
    if any(v is not None and v.strip().lower() in accepted for v in values.values()):
        return
    for group, value in values.items():
        got = "not set" if value is None else repr(value)
        yield f"{what}: parameter group {group} does not force TLS: {name} is {got}, must be 1"


def _force_tls(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    for res in args.resources:
        if res.resource_type in DATABASES:
            yield from report_on(res.urn, _tls_problems(res))


# --- policies ------------------------------------------------------------------------------------

storage_encrypted = resource_policy(
    name="aws-rds-storage-encrypted",
    description=(
        "RDS instances and clusters encrypt storage with a customer-managed KMS key "
        "(CKV_AWS_16, CKV_AWS_96, CKV_AWS_327)."
    ),
    enforcement=MANDATORY,
    applies_to=DATABASES,
    check=_storage_encrypted,
)

not_publicly_accessible = resource_policy(
    name="aws-rds-not-publicly-accessible",
    description="RDS instances, clusters and cluster instances are not public (CKV_AWS_17).",
    enforcement=MANDATORY,
    applies_to=DATABASES | {CLUSTER_INSTANCE},
    check=_not_public,
)

backup_retention = resource_policy(
    name="aws-rds-backup-retention",
    description=(
        "RDS instances and clusters keep automated backups at least as long as the stack's "
        f"minimum (config minimumBackupRetentionDays: {describe(_backup_floor)}) "
        "(CKV_AWS_133)."
    ),
    enforcement=MANDATORY,
    applies_to=DATABASES,
    check=_backup_retention,
    config_schema=PolicyConfigSchema(
        properties={
            "minimumBackupRetentionDays": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 35},
                "default": dict(DEFAULT_MINIMUM_BACKUP_RETENTION),
                "description": (
                    "Minimum backupRetentionPeriod (days) per stack name; "
                    f"unlisted stacks need {UNLISTED_STACK_MINIMUM_RETENTION}."
                ),
            }
        }
    ),
)

multi_az = resource_policy(
    name="aws-rds-multi-az",
    description=(
        "In production stacks (config productionStacks), RDS instances are Multi-AZ (CKV_AWS_157)."
    ),
    enforcement=MANDATORY,
    applies_to={INSTANCE},
    check=_multi_az,
    config_schema=production_config_schema(),
)

deletion_protection = resource_policy(
    name="aws-rds-deletion-protection",
    description=(
        "In production stacks (config productionStacks), RDS instances and clusters have "
        "deletion protection (CKV_AWS_293, CKV_AWS_139)."
    ),
    enforcement=MANDATORY,
    applies_to=DATABASES,
    check=_deletion_protection,
    config_schema=production_config_schema(),
)

iam_authentication = resource_policy(
    name="aws-rds-iam-authentication",
    description=(
        "RDS instances and clusters enable IAM database authentication (CKV_AWS_161, CKV_AWS_162)."
    ),
    enforcement=MANDATORY,
    applies_to=DATABASES,
    check=_iam_authentication,
)

final_snapshot = resource_policy(
    name="aws-rds-final-snapshot",
    description=(
        "Platform rule: in production stacks (config productionStacks), RDS instances and "
        "clusters do not set skipFinalSnapshot."
    ),
    enforcement=MANDATORY,
    applies_to=DATABASES,
    check=_final_snapshot,
    config_schema=production_config_schema(),
)

managed_master_password = resource_policy(
    name="aws-rds-managed-master-password",
    description=(
        "Platform rule: RDS instances and clusters set no master password in the program; "
        "RDS manages and rotates it (manageMasterUserPassword)."
    ),
    enforcement=MANDATORY,
    applies_to=DATABASES,
    check=_managed_master_password,
)

force_tls = stack_policy(
    name="aws-rds-force-tls",
    description=(
        "RDS instances and clusters use a parameter group of the stack that forces TLS "
        "(rds.force_ssl=1, or require_secure_transport=1 for MySQL engines) (CKV2_AWS_69)."
    ),
    enforcement=MANDATORY,
    check=_force_tls,
)

performance_insights = resource_policy(
    name="aws-rds-performance-insights",
    description=(
        "RDS databases enable Performance Insights encrypted with a customer-managed KMS key "
        "(CKV_AWS_353, CKV_AWS_354)."
    ),
    enforcement=ADVISORY,
    applies_to=DATABASES | {CLUSTER_INSTANCE},
    check=_performance_insights,
)

log_exports = resource_policy(
    name="aws-rds-log-exports",
    description=(
        "RDS instances and clusters export their engine log to CloudWatch ('postgresql' for "
        "PostgreSQL) (CKV_AWS_129)."
    ),
    enforcement=ADVISORY,
    applies_to=DATABASES,
    check=_log_exports,
)

POLICIES: list[Policy] = [
    storage_encrypted,
    not_publicly_accessible,
    backup_retention,
    multi_az,
    deletion_protection,
    iam_authentication,
    final_snapshot,
    managed_master_password,
    force_tls,
    performance_insights,
    log_exports,
]
