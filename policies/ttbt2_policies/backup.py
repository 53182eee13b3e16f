"""AWS Backup (seed 4.7, mandatory): vaults, plans and what they protect.

- vaults are encrypted with a customer-managed key (CKV_AWS_166);
- every plan rule expires its recovery points, one rule runs at least daily, and the daily
  history is kept the stack's minimum (the floor table in floors.py, as for RDS);
- in production stacks (config ``productionStacks``) every vault has a compliance-mode vault
  lock and every plan rule copies to a vault in another Region;
- every data store (RDS instance or cluster, EFS file system, DynamoDB table, and S3 buckets
  that declare themselves data: tag ``purpose: user-data`` or any ``backup`` tag) carries the
  tag an ``aws.backup.Selection`` of the stack selects on;
- backups cannot be deleted: no IAM policy of the stack allows deleting recovery points or
  vaults, and every vault's access policy denies ``backup:DeleteRecoveryPoint`` to everyone
  (except, at most, named break-glass principals).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyResource,
    ResourceValidationArgs,
    StackValidationArgs,
)

from .common import (
    MANDATORY,
    InvalidPropError,
    Statement,
    document_statements,
    is_aws_managed_key,
    is_mapping,
    list_prop,
    number_prop,
    production_config_schema,
    production_stacks,
    referenced,
    report_on,
    require_production,
    resource_policy,
    stack_of,
    stack_policy,
    str_prop,
    wrong_type,
)
from .floors import Floors, describe, floors_for, per_stack

VAULT = "aws:backup/vault:Vault"
VAULT_LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
VAULT_POLICY = "aws:backup/vaultPolicy:VaultPolicy"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"

RDS_INSTANCE = "aws:rds/instance:Instance"
BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
DATA_STORE_TYPES: Mapping[str, str] = {
    RDS_INSTANCE: "RDS instance",
    "aws:rds/cluster:Cluster": "RDS cluster",
    "aws:efs/fileSystem:FileSystem": "EFS file system",
    "aws:dynamodb/table:Table": "DynamoDB table",
}
"""Types that always hold data; buckets hold data when they say so (see below)."""
DATA_BUCKET_PURPOSES = frozenset({"user-data"})
BACKUP_TAG_KEY = "backup"
"""A bucket with this tag key (whatever its value) declares itself a data store."""


def _daily_floor(floors: Floors) -> int:
    return floors.backup_retention_days


DEFAULT_MINIMUM_RETENTION: Mapping[str, int] = per_stack(_daily_floor)
"""The platform's floor table (:mod:`.floors`), the settings' and components' too."""
UNLISTED_STACK_MINIMUM_RETENTION = _daily_floor(floors_for(""))

PROTECTED_ACTIONS = (
    "backup:DeleteRecoveryPoint",
    "backup:DeleteBackupVault",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultLockConfiguration",
)
"""Actions no identity policy of the stack may allow: each removes backups or their guard."""
DELETING_MANAGED_POLICIES = re.compile(
    r"^arn:aws[a-z-]*:iam::aws:policy/(AdministratorAccess|PowerUserAccess|AWSBackupFullAccess)$"
)
"""AWS-managed policies that allow the actions above."""
IDENTITY_POLICY_TYPES = frozenset(
    {
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/groupPolicy:GroupPolicy",
    }
)
ROLE = "aws:iam/role:Role"
ATTACHMENT_TYPES = frozenset(
    {
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
    }
)
EXEMPTING_OPERATORS = frozenset({"ArnNotEquals", "ArnNotLike", "StringNotEquals", "StringNotLike"})
EXEMPTING_KEYS = frozenset({"aws:principalarn", "aws:userid"})
"""A vault's Deny may spare named principals, and only through these negated conditions."""


def _label(rule: Mapping[str, Any], i: int) -> str:
    name = rule.get("ruleName")
    return f"rule {name!r}" if isinstance(name, str) and name else f"rules[{i}]"


def _rules(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, rule) for every plan rule; InvalidPropError for a rule that is not an object."""
    result = []
    for i, rule in enumerate(list_prop(props, "rules") or []):
        if not is_mapping(rule):
            raise wrong_type(f"rules[{i}]", "an object", rule)
        result.append((_label(rule, i), rule))
    return result


# --- vault encryption ------------------------------------------------------------------------


def _vault_cmk(args: ResourceValidationArgs) -> Iterator[str]:
    key = str_prop(args.props, "kmsKeyArn")
    if not key:
        yield (
            "kmsKeyArn is not set: AWS Backup encrypts the vault with its AWS-managed key; "
            "set kmsKeyArn to a customer-managed KMS key"
        )
    elif is_aws_managed_key(key):
        yield f"kmsKeyArn is the AWS-managed key {key}: use a customer-managed KMS key"


# --- plan retention and frequency ------------------------------------------------------------

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE)


def runs_daily(schedule: str) -> bool:
    """True when an AWS Backup schedule runs at least once a day.

    ``rate(N hours)`` with N <= 24, ``rate(1 day)``, ``rate(N minutes)`` with N <= 1440, a six-field
    ``cron()`` whose day-of-month, month, day-of-week and year fields are all ``*`` or ``?``.
    """
    text = schedule.strip()
    rate = _RATE.match(text)
    if rate:
        count, unit = int(rate.group(1)), rate.group(2).lower()
        if unit.startswith("minute"):
            return 1 <= count <= 24 * 60
        if unit.startswith("hour"):
            return 1 <= count <= 24
        return count == 1
    cron = _CRON.match(text)
    if not cron:
        return False
    fields = cron.group(1).split()
    if len(fields) != 6:
        return False
    _minutes, _hours, day, month, weekday, year = fields
    return all(f in ("*", "?") for f in (day, month, weekday, year))


def _minimum_retention(config: Any, stack: str) -> int:
    """The stack's minimum from ``minimumRetentionDays`` (ValueError when malformed)."""
    value = config.get("minimumRetentionDays") if config else None
    table = DEFAULT_MINIMUM_RETENTION if value is None else value
    if not is_mapping(table) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in table.values()
    ):
        raise ValueError("policy config minimumRetentionDays must map stack names to days")
    return max(1, int(table.get(stack, UNLISTED_STACK_MINIMUM_RETENTION)))


def _plan_retention(args: ResourceValidationArgs) -> Iterator[str]:
    rules = _rules(args.props)
    if not rules:
        yield "the plan has no rules: nothing is ever backed up"
        return
    daily: list[float] = []
    for label, rule in rules:
        days = number_prop(rule, "lifecycle.deleteAfter")
        if days is None:
            yield (
                f"{label} has no lifecycle.deleteAfter: its recovery points are never deleted "
                "and the retention is nowhere stated; set lifecycle.deleteAfter (days)"
            )
        elif days < 1:
            yield f"{label}: lifecycle.deleteAfter is {days:g}, must be at least 1 day"
        continuous = rule.get("enableContinuousBackup") is True
        schedule = str_prop(rule, "schedule")
        if continuous or (schedule is not None and runs_daily(schedule)):
            daily.append(days or 0)
    if not daily:
        yield (
            "no rule runs at least daily (continuous, or a schedule such as "
            "cron(0 3 ? * * *)): the recovery point could be more than a day old"
        )
        return
    stack = stack_of(args.urn)
    minimum = _minimum_retention(args.get_config(), stack)
    if max(daily) < minimum:
        yield (
            f"the daily rules keep recovery points {max(daily):g} days; stack {stack!r} "
            f"needs at least {minimum} days (lifecycle.deleteAfter)"
        )


# --- production: vault lock and cross-Region copies ------------------------------------------


def _refers_to(resource: PolicyResource, vault: PolicyResource) -> bool:
    """True when ``resource``'s ``backupVaultName`` comes from ``vault`` (joined by URN)."""
    return any(v.urn == vault.urn for v in referenced(resource, "backupVaultName", {VAULT}))


def _lock_problems(vault: PolicyResource, locks: Sequence[PolicyResource]) -> Iterator[str]:
    what = f"backup vault {vault.name}"
    if not locks:
        yield (
            f"{what} has no vault lock (aws.backup.VaultLockConfiguration) in a production "
            "stack: recovery points could be deleted before their retention ends"
        )
        return
    for lock in locks:
        if number_prop(lock.props, "changeableForDays") is None:
            yield (
                f"{what}: lock {lock.name} has no changeableForDays, which is governance mode "
                "(privileged users can remove it); set changeableForDays for compliance mode"
            )
        if number_prop(lock.props, "minRetentionDays") is None:
            yield (
                f"{what}: lock {lock.name} has no minRetentionDays: recovery points could be "
                "given a retention of a few hours; set minRetentionDays"
            )


def _vault_lock(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    production = production_stacks(args.get_config())
    locks = [r for r in args.resources if r.resource_type == VAULT_LOCK]
    for vault in args.resources:
        if vault.resource_type != VAULT or stack_of(vault.urn) not in production:
            continue
        mine = [lock for lock in locks if _refers_to(lock, vault)]
        yield from report_on(vault.urn, _lock_problems(vault, mine))


def _provider_region(args: ResourceValidationArgs) -> str | None:
    provider = args.provider
    if provider is None or not provider.resource_type.startswith("pulumi:providers:aws"):
        return None
    region = provider.props.get("region")
    return region if isinstance(region, str) and region else None


def _arn_region(arn: str, where: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "backup" or not parts[3]:
        raise InvalidPropError(f"{where} must be a backup vault ARN, got {arn!r}")
    return parts[3]


def _cross_region_copy(args: ResourceValidationArgs) -> Iterator[str]:
    stack = require_production(args)
    region = str_prop(args.props, "region") or _provider_region(args)
    if region is None:
        yield (
            "the plan's Region is unknown (no region on the plan or its AWS provider), so no "
            "copy can be shown to leave it: set region on the provider"
        )
        return
    for label, rule in _rules(args.props):
        regions = []
        for j, action in enumerate(list_prop(rule, "copyActions") or []):
            where = f"{label}: copyActions[{j}].destinationVaultArn"
            if not is_mapping(action):
                raise wrong_type(f"{label}: copyActions[{j}]", "an object", action)
            arn = str_prop(action, "destinationVaultArn")
            if arn is None:
                yield f"{where} is not set"
                continue
            regions.append(_arn_region(arn, where))
        if not any(r != region for r in regions):
            got = f"copies only to {sorted(set(regions))}" if regions else "has no copyActions"
            yield (
                f"{label} {got} in production stack {stack!r}: every rule copies to a vault "
                f"in another Region than the plan's ({region})"
            )


# --- every data store is selected ------------------------------------------------------------


def _tag_map(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not is_mapping(value):
        raise wrong_type(where, "an object of key/value pairs", value)
    return value


def _tags(resource: PolicyResource) -> dict[str, Any]:
    """A resource's tags, with its AWS provider's defaultTags (AWS applies those too)."""
    tags: dict[str, Any] = {}
    provider = resource.provider
    if provider is not None and provider.resource_type.startswith("pulumi:providers:aws"):
        default = provider.props.get("defaultTags")
        if isinstance(default, str):
            try:
                default = json.loads(default)
            except json.JSONDecodeError:
                raise InvalidPropError("the AWS provider's defaultTags is not valid JSON") from None
        if default is not None:
            if not is_mapping(default):
                raise wrong_type("the AWS provider's defaultTags", "an object", default)
            tags.update(_tag_map(default.get("tags"), "the AWS provider's defaultTags.tags"))
    tags.update(_tag_map(resource.props.get("tags"), "tags"))
    return tags


def _data_store_kind(resource: PolicyResource) -> str | None:
    """What the resource is when it holds data to back up, else None."""
    kind = DATA_STORE_TYPES.get(resource.resource_type)
    if kind == DATA_STORE_TYPES[RDS_INSTANCE] and resource.props.get("replicateSourceDb"):
        return None  # a read replica: its source is the store that is backed up
    if kind is None and resource.resource_type in BUCKET_TYPES:
        tags = _tags(resource)
        if tags.get("purpose") in DATA_BUCKET_PURPOSES or BACKUP_TAG_KEY in tags:
            return "S3 bucket"
    return kind


def _selected_tags(selection: PolicyResource) -> set[tuple[str, str]]:
    result: set[tuple[str, str]] = set()
    for i, item in enumerate(list_prop(selection.props, "selectionTags") or []):
        if not is_mapping(item):
            raise wrong_type(f"selectionTags[{i}]", "an object with type, key and value", item)
        kind, key, value = (str_prop(item, k) for k in ("type", "key", "value"))
        if (kind or "").upper() == "STRINGEQUALS" and key and value is not None:
            result.add((key, value))
    return result


def _data_stores_selected(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    selected: set[tuple[str, str]] = set()
    for selection in args.resources:
        if selection.resource_type == SELECTION:
            try:
                selected |= _selected_tags(selection)
            except InvalidPropError as exc:
                yield f"backup selection {selection.name}: {exc.message}", selection.urn
    wanted = ", ".join(f"{k}={v}" for k, v in sorted(selected))
    for res in args.resources:
        yield from report_on(res.urn, _selection_problems(res, selected, wanted))


def _selection_problems(
    res: PolicyResource, selected: set[tuple[str, str]], wanted: str
) -> Iterator[str]:
    kind = _data_store_kind(res)
    if kind is None:
        return
    tags = _tags(res)
    if any(tags.get(key) == value for key, value in selected):
        return
    if not selected:
        yield (
            f"{kind} {res.name} is backed up by no plan: the stack has no aws.backup.Selection "
            "with STRINGEQUALS selectionTags"
        )
        return
    yield (
        f"{kind} {res.name} is backed up by no plan: tag it with one of the selection tags "
        f"of the stack's aws.backup.Selection resources ({wanted})"
    )


# --- nobody deletes backups ------------------------------------------------------------------


def _matches(patterns: Sequence[str], action: str) -> bool:
    return any(fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _allowed_protected(stmt: Statement) -> list[str]:
    """The protected actions an Allow statement grants."""
    if not stmt.allows:
        return []
    if stmt.not_actions is not None:
        return [a for a in PROTECTED_ACTIONS if not _matches(stmt.not_actions, a)]
    return [a for a in PROTECTED_ACTIONS if _matches(stmt.actions or [], a)]


def _identity_statements(args: ResourceValidationArgs) -> Iterator[Statement]:
    if args.resource_type in IDENTITY_POLICY_TYPES:
        value = args.props.get("policy")
        if value is not None:
            yield from document_statements(value, "policy")
        return
    for i, item in enumerate(list_prop(args.props, "inlinePolicies") or []):
        if not is_mapping(item):
            raise wrong_type(f"inlinePolicies[{i}]", "an object with name and policy", item)
        value = item.get("policy")
        if value in (None, ""):
            continue  # an empty inline policy block says "no inline policies"
        name = item.get("name")
        where = f"inline policy {name!r}" if isinstance(name, str) and name else f"inline[{i}]"
        yield from document_statements(value, where)


def _no_backup_deletion(args: ResourceValidationArgs) -> Iterator[str]:
    if args.resource_type in ATTACHMENT_TYPES:
        arn = str_prop(args.props, "policyArn")
        if arn and DELETING_MANAGED_POLICIES.match(arn):
            yield (
                f"policyArn {arn} allows deleting backups and backup vaults: attach a policy "
                "without backup:Delete* instead"
            )
        return
    for stmt in _identity_statements(args):
        granted = _allowed_protected(stmt)
        if granted:
            yield (
                f"{stmt.label} allows {', '.join(granted)}: no identity of the platform may "
                "delete recovery points or vaults (only the break-glass role, outside this stack)"
            )


# --- vault access policies -------------------------------------------------------------------


def _exemption_problem(stmt: Statement) -> str | None:
    """Why a Deny's conditions spare more than named principals, or None."""
    for operator, keys in stmt.conditions.items():
        if operator not in EXEMPTING_OPERATORS:
            return f"its condition {operator} limits whom the denial applies to"
        for key, values in keys.items():
            if key.lower() not in EXEMPTING_KEYS:
                return f"its condition on {key} can lift the denial"
            if any("*" in v or "?" in v for v in values):
                return f"its exemption {values} is a pattern, not named principals"
    return None


def _denies_deletion(stmt: Statement) -> str | None:
    """None when ``stmt`` denies DeleteRecoveryPoint to everyone; else why it does not."""
    if stmt.allows or not stmt.wildcard_principal:
        return "not a Deny for Principal '*'"
    if stmt.not_actions is not None or not _matches(stmt.actions or [], PROTECTED_ACTIONS[0]):
        return f"does not deny {PROTECTED_ACTIONS[0]}"
    return _exemption_problem(stmt)


def _access_policy_problems(
    vault: PolicyResource, policies: Sequence[PolicyResource]
) -> Iterator[str]:
    what = f"backup vault {vault.name}"
    if not policies:
        yield (
            f"{what} has no access policy (aws.backup.VaultPolicy): add one denying "
            f"{PROTECTED_ACTIONS[0]} to every principal"
        )
        return
    reasons = []
    for policy in policies:
        value = policy.props.get("policy")
        if value is None:
            reasons.append(f"{policy.name} has no policy document")
            continue
        try:
            stmts = document_statements(value, f"vault policy {policy.name}")
        except InvalidPropError as exc:
            reasons.append(exc.message)
            continue
        for stmt in stmts:
            why = _denies_deletion(stmt)
            if why is None:
                return
            reasons.append(f"{stmt.label}: {why}")
    yield (
        f"{what}: its access policy does not deny {PROTECTED_ACTIONS[0]} to every principal "
        f"({'; '.join(reasons) or 'no statements'})"
    )


def _vault_access_policy(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    policies = [r for r in args.resources if r.resource_type == VAULT_POLICY]
    for vault in args.resources:
        if vault.resource_type != VAULT:
            continue
        mine = [p for p in policies if _refers_to(p, vault)]
        yield from report_on(vault.urn, _access_policy_problems(vault, mine))


# --- policies --------------------------------------------------------------------------------

vault_cmk = resource_policy(
    name="aws-backup-vault-cmk",
    description="Backup vaults are encrypted with a customer-managed KMS key (CKV_AWS_166).",
    enforcement=MANDATORY,
    applies_to={VAULT},
    check=_vault_cmk,
)

plan_retention = resource_policy(
    name="aws-backup-plan-retention",
    description=(
        "Platform rule (seed 4.7): every backup plan rule sets lifecycle.deleteAfter, one rule "
        "runs at least daily, and the daily rules keep recovery points the stack's minimum "
        f"(config minimumRetentionDays: {describe(_daily_floor)})."
    ),
    enforcement=MANDATORY,
    applies_to={PLAN},
    check=_plan_retention,
    config_schema=production_config_schema(
        minimumRetentionDays={
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 1},
            "default": dict(DEFAULT_MINIMUM_RETENTION),
            "description": (
                "Minimum retention (days) of the daily backup rules per stack name; unlisted "
                f"stacks need {UNLISTED_STACK_MINIMUM_RETENTION}."
            ),
        }
    ),
)

vault_lock = stack_policy(
    name="aws-backup-vault-lock",
    description=(
        "Platform rule: in production stacks (config productionStacks), every backup vault has "
        "a compliance-mode vault lock (changeableForDays and minRetentionDays set)."
    ),
    enforcement=MANDATORY,
    check=_vault_lock,
)
# The builder takes no schema; the config key is the shared productionStacks.
vault_lock.config_schema = production_config_schema()

cross_region_copy = resource_policy(
    name="aws-backup-cross-region-copy",
    description=(
        "Platform rule (seed 4.7): in production stacks (config productionStacks), every backup "
        "plan rule copies its recovery points to a vault in another Region."
    ),
    enforcement=MANDATORY,
    applies_to={PLAN},
    check=_cross_region_copy,
    config_schema=production_config_schema(),
)

data_stores_selected = stack_policy(
    name="aws-backup-data-stores-selected",
    description=(
        "Platform rule (seed 4.7): every data store (RDS, EFS, DynamoDB, S3 buckets tagged "
        "purpose=user-data or with a backup tag) carries a selection tag of an "
        "aws.backup.Selection of the stack."
    ),
    enforcement=MANDATORY,
    check=_data_stores_selected,
)

no_backup_deletion = resource_policy(
    name="aws-backup-no-deletion-grant",
    description=(
        "Platform rule: no IAM policy of the stack allows deleting recovery points, vaults or "
        "their guards (backup:DeleteRecoveryPoint, backup:DeleteBackupVault, backup:*, *...)."
    ),
    enforcement=MANDATORY,
    applies_to=IDENTITY_POLICY_TYPES | ATTACHMENT_TYPES | {ROLE},
    check=_no_backup_deletion,
)

vault_access_policy = stack_policy(
    name="aws-backup-vault-access-policy",
    description=(
        "Platform rule: every backup vault has an access policy denying "
        "backup:DeleteRecoveryPoint to every principal but named break-glass principals."
    ),
    enforcement=MANDATORY,
    check=_vault_access_policy,
)

POLICIES: list[Policy] = [
    vault_cmk,
    plan_retention,
    vault_lock,
    cross_region_copy,
    data_stores_selected,
    no_backup_deletion,
    vault_access_policy,
]
