"""AWS Backup guardrails: vault keys, retention, locks, DR copies, selection, no deletion."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from offline.graph import Resource
from policies.ttbt2_policies.backup import (
    POLICIES,
    cross_region_copy,
    data_stores_selected,
    no_backup_deletion,
    plan_retention,
    runs_daily,
    vault_access_policy,
    vault_cmk,
    vault_lock,
)
from tests.support.policies import UNKNOWN, allow, deny, doc, findings_for, resource, violations

VAULT = "aws:backup/vault:Vault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
VAULT_POLICY = "aws:backup/vaultPolicy:VaultPolicy"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
RDS = "aws:rds/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0b9c1f7e-2f0a-4a7e-9d55-6b1f0f5c2a11"
DR_VAULT_ARN = "arn:aws:backup:eu-central-1:123456789012:backup-vault:ttbt2-prod-dr"
SAME_REGION_VAULT_ARN = "arn:aws:backup:eu-west-1:123456789012:backup-vault:other"
BREAK_GLASS = "arn:aws:iam::123456789012:role/break-glass"


def rule(name: str = "daily", **changes: Any) -> dict[str, Any]:
    """A compliant daily rule with a cross-Region copy; ``None`` values remove keys."""
    base: dict[str, Any] = {
        "ruleName": name,
        "targetVaultName": "ttbt2-prod-vault",
        "schedule": "cron(0 3 ? * * *)",
        "startWindow": 60,
        "completionWindow": 480,
        "lifecycle": {"deleteAfter": 35},
        "copyActions": [
            {"destinationVaultArn": DR_VAULT_ARN, "lifecycle": {"deleteAfter": 35}},
        ],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def plan(*rules: dict[str, Any], stack: str = "prod", provider: Resource | None = None) -> Resource:
    return resource(
        PLAN, {"name": "p", "rules": list(rules)}, name="plan", stack=stack, provider=provider
    )


def aws_provider(region: str | None = "eu-west-1", stack: str = "prod") -> Resource:
    props = {"region": region} if region else {}
    return resource("pulumi:providers:aws", props, name="aws", stack=stack)


def messages(policy: Any, resources: list[Resource], stack: str = "prod", **kw: Any) -> list[str]:
    found = findings_for(policy, resources, stack=stack, **kw)
    assert all(f.kind == "violation" for f in found), found
    return [f.message for f in found]


def test_every_backup_policy_is_mandatory_and_named_once() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)) == 7
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in POLICIES)


# --- vault encryption --------------------------------------------------------------------------


def test_vault_with_a_customer_managed_key_is_compliant() -> None:
    assert messages(vault_cmk, [resource(VAULT, {"kmsKeyArn": KEY_ARN})]) == []


def test_vault_with_the_aws_managed_key_is_a_violation() -> None:
    vault = resource(VAULT, {"kmsKeyArn": "arn:aws:kms:eu-west-1:1:alias/aws/backup"})
    [message] = messages(vault_cmk, [vault])
    assert "AWS-managed key" in message


def test_vault_without_a_key_is_a_violation() -> None:
    [message] = messages(vault_cmk, [resource(VAULT, {"name": "v"})])
    assert message.startswith("kmsKeyArn is not set")


def test_vault_key_of_the_wrong_type_is_a_violation() -> None:
    [message] = messages(vault_cmk, [resource(VAULT, {"kmsKeyArn": 7})])
    assert message == "kmsKeyArn must be a string, got number 7"


# --- plan retention and frequency --------------------------------------------------------------


def test_daily_plan_kept_35_days_is_compliant_in_prod() -> None:
    continuous = rule("continuous", enableContinuousBackup=True, schedule="cron(0 * ? * * *)")
    assert messages(plan_retention, [plan(continuous, rule())]) == []


def test_prod_daily_retention_under_35_days_is_a_violation() -> None:
    [message] = messages(plan_retention, [plan(rule(lifecycle={"deleteAfter": 14}))])
    assert "keep recovery points 14 days; stack 'prod' needs at least 35" in message


def test_dev_needs_only_seven_days_and_config_can_raise_it() -> None:
    dev = plan(rule(lifecycle={"deleteAfter": 7}), stack="dev")
    assert messages(plan_retention, [dev], stack="dev") == []
    config = {"minimumRetentionDays": {"dev": 10}}
    [message] = messages(plan_retention, [dev], stack="dev", config=config)
    assert "needs at least 10 days" in message


def test_rule_without_lifecycle_is_a_violation() -> None:
    found = messages(plan_retention, [plan(rule(), rule("weekly", lifecycle=None))])
    assert found == [
        "rule 'weekly' has no lifecycle.deleteAfter: its recovery points are never deleted "
        "and the retention is nowhere stated; set lifecycle.deleteAfter (days)"
    ]


def test_rule_with_zero_retention_is_a_violation() -> None:
    found = messages(plan_retention, [plan(rule(), rule("x", lifecycle={"deleteAfter": 0}))])
    assert found == ["rule 'x': lifecycle.deleteAfter is 0, must be at least 1 day"]


def test_weekly_only_plan_is_a_violation() -> None:
    [message] = messages(plan_retention, [plan(rule(schedule="cron(0 3 ? * SUN *)"))])
    assert message.startswith("no rule runs at least daily")


def test_rule_without_schedule_does_not_count_as_daily() -> None:
    [message] = messages(plan_retention, [plan(rule(schedule=None))])
    assert message.startswith("no rule runs at least daily")


def test_plan_without_rules_is_a_violation() -> None:
    [message] = messages(plan_retention, [resource(PLAN, {"name": "p"}, stack="prod")])
    assert message == "the plan has no rules: nothing is ever backed up"


def test_rule_of_the_wrong_type_is_a_violation() -> None:
    [message] = messages(plan_retention, [plan("daily")])  # type: ignore[arg-type]
    assert message == "rules[0] must be an object, got string 'daily'"


@pytest.mark.parametrize(
    ("schedule", "daily"),
    [
        ("cron(0 3 ? * * *)", True),
        ("cron(0 * * * ? *)", True),
        ("rate(12 hours)", True),
        ("rate(1 day)", True),
        ("rate(30 minutes)", True),
        ("rate(1441 minutes)", False),
        ("rate(2 days)", False),
        ("rate(25 hours)", False),
        ("cron(0 3 ? * MON-FRI *)", False),
        ("cron(0 3 1 * ? *)", False),
        ("cron(0 3 * *)", False),
        ("every day", False),
    ],
)
def test_runs_daily(schedule: str, daily: bool) -> None:
    assert runs_daily(schedule) is daily


# --- production: vault lock --------------------------------------------------------------------


def locked_vault(lock_props: dict[str, Any] | None, stack: str = "prod") -> list[Resource]:
    vault = resource(VAULT, {"name": "v", "kmsKeyArn": KEY_ARN}, name="vault", stack=stack)
    if lock_props is None:
        return [vault]
    lock = resource(LOCK, lock_props, name="lock", stack=stack, dependencies=[vault])
    return [vault, lock]


COMPLIANCE_LOCK = {
    "backupVaultName": "v",
    "changeableForDays": 3,
    "minRetentionDays": 7,
    "maxRetentionDays": 365,
}


def test_vault_with_compliance_lock_is_compliant_in_prod() -> None:
    assert messages(vault_lock, locked_vault(COMPLIANCE_LOCK)) == []


def test_governance_mode_lock_is_a_violation_in_prod() -> None:
    lock = {k: v for k, v in COMPLIANCE_LOCK.items() if k != "changeableForDays"}
    [message] = messages(vault_lock, locked_vault(lock))
    assert "no changeableForDays, which is governance mode" in message


def test_lock_without_minimum_retention_is_a_violation() -> None:
    lock = {k: v for k, v in COMPLIANCE_LOCK.items() if k != "minRetentionDays"}
    [message] = messages(vault_lock, locked_vault(lock))
    assert "no minRetentionDays" in message


def test_vault_without_lock_is_a_violation_in_prod_only() -> None:
    [message] = messages(vault_lock, locked_vault(None))
    assert message.startswith("backup vault vault has no vault lock")
    assert messages(vault_lock, locked_vault(None, "dev"), stack="dev") == []


def test_lock_of_another_vault_does_not_count() -> None:
    other = resource(VAULT, {"kmsKeyArn": KEY_ARN}, name="other", stack="prod")
    lock = resource(LOCK, COMPLIANCE_LOCK, name="lock", stack="prod", dependencies=[other])
    vault = resource(VAULT, {"kmsKeyArn": KEY_ARN}, name="vault", stack="prod")
    [message] = messages(vault_lock, [vault, other, lock])
    assert message.startswith("backup vault vault has no vault lock")


# --- production: cross-Region copies -----------------------------------------------------------


def test_copies_to_another_region_are_compliant() -> None:
    provider = aws_provider()
    continuous = rule("continuous", enableContinuousBackup=True)
    assert (
        messages(cross_region_copy, [provider, plan(continuous, rule(), provider=provider)]) == []
    )


def test_copy_in_the_same_region_is_a_violation() -> None:
    provider = aws_provider()
    same = rule(copyActions=[{"destinationVaultArn": SAME_REGION_VAULT_ARN}])
    [message] = messages(cross_region_copy, [provider, plan(same, provider=provider)])
    assert message.startswith("rule 'daily' copies only to ['eu-west-1']")


def test_rule_without_copy_actions_is_a_violation_in_prod_only() -> None:
    provider = aws_provider()
    [message] = messages(
        cross_region_copy, [provider, plan(rule(copyActions=None), provider=provider)]
    )
    assert message.startswith("rule 'daily' has no copyActions in production stack 'prod'")
    dev_provider = aws_provider(stack="dev")
    dev_plan = plan(rule(copyActions=None), stack="dev", provider=dev_provider)
    assert messages(cross_region_copy, [dev_provider, dev_plan], stack="dev") == []


def test_plan_region_can_come_from_the_plan_itself() -> None:
    props = {"region": "eu-west-1", "rules": [rule()]}
    assert messages(cross_region_copy, [resource(PLAN, props, stack="prod")]) == []


def test_plan_of_unknown_region_is_a_violation() -> None:
    provider = aws_provider(region=None)
    [message] = messages(cross_region_copy, [provider, plan(rule(), provider=provider)])
    assert message.startswith("the plan's Region is unknown")


def test_copy_without_destination_or_with_a_bad_arn_is_a_violation() -> None:
    provider = aws_provider()
    missing = rule(copyActions=[{"lifecycle": {"deleteAfter": 7}}])
    found = messages(cross_region_copy, [provider, plan(missing, provider=provider)])
    assert found[0] == "rule 'daily': copyActions[0].destinationVaultArn is not set"
    bad = rule(copyActions=[{"destinationVaultArn": "vault-in-frankfurt"}])
    [message] = messages(cross_region_copy, [provider, plan(bad, provider=provider)])
    assert message == (
        "rule 'daily': copyActions[0].destinationVaultArn must be a backup vault ARN, "
        "got 'vault-in-frankfurt'"
    )


def test_unknown_destination_is_a_note() -> None:
    provider = aws_provider()
    unknown = rule(copyActions=[{"destinationVaultArn": UNKNOWN}])
    [finding] = findings_for(
        cross_region_copy, [provider, plan(unknown, provider=provider)], stack="prod"
    )
    assert finding.kind == "note"


# --- every data store is selected --------------------------------------------------------------

SELECTOR = resource(
    SELECTION,
    {
        "name": "s",
        "planId": "plan-id",
        "iamRoleArn": "arn:aws:iam::123456789012:role/backup",
        "selectionTags": [{"type": "STRINGEQUALS", "key": "backup", "value": "ttbt2-prod"}],
    },
    name="selection",
    stack="prod",
)


def store(type_: str, tags: dict[str, str] | None, name: str = "store", **props: Any) -> Resource:
    if tags is not None:
        props["tags"] = tags
    return resource(type_, props, name=name, stack="prod")


def test_tagged_data_stores_are_compliant() -> None:
    stores = [
        store(RDS, {"backup": "ttbt2-prod"}, "db"),
        store(BUCKET, {"purpose": "user-data", "backup": "ttbt2-prod"}, "data"),
        store("aws:dynamodb/table:Table", {"backup": "ttbt2-prod"}, "table"),
    ]
    assert messages(data_stores_selected, [SELECTOR, *stores]) == []


def test_untagged_database_is_a_violation() -> None:
    [message] = messages(data_stores_selected, [SELECTOR, store(RDS, {"backup": "daily"}, "db")])
    assert message == (
        "RDS instance db is backed up by no plan: tag it with one of the selection tags of the "
        "stack's aws.backup.Selection resources (backup=ttbt2-prod)"
    )


def test_database_without_tags_is_a_violation() -> None:
    [message] = messages(data_stores_selected, [SELECTOR, store(RDS, None, "db")])
    assert message.startswith("RDS instance db is backed up by no plan")


def test_stack_without_selection_is_a_violation_per_data_store() -> None:
    found = messages(
        data_stores_selected,
        [
            store(RDS, {"backup": "ttbt2-prod"}, "db"),
            store("aws:efs/fileSystem:FileSystem", {}, "fs"),
        ],
    )
    assert found == [
        f"{kind} is backed up by no plan: the stack has no aws.backup.Selection with "
        "STRINGEQUALS selectionTags"
        for kind in ("RDS instance db", "EFS file system fs")
    ]


def test_which_buckets_are_data_stores() -> None:
    untagged_data = store(BUCKET, {"purpose": "user-data"}, "data")
    declared = store(BUCKET, {"backup": "daily"}, "snapshots")
    logs = store(BUCKET, {"purpose": "access-logs"}, "logs")
    found = messages(data_stores_selected, [SELECTOR, untagged_data, declared, logs])
    assert [m.split(" is ")[0] for m in found] == ["S3 bucket data", "S3 bucket snapshots"]


def test_read_replica_is_not_a_data_store_of_its_own() -> None:
    replica = store(RDS, {}, "replica", replicateSourceDb="arn:aws:rds:eu-west-1:1:db:db")
    assert messages(data_stores_selected, [SELECTOR, replica]) == []


def test_provider_default_tags_select_too() -> None:
    provider = resource(
        "pulumi:providers:aws",
        {"defaultTags": json.dumps({"tags": {"backup": "ttbt2-prod"}})},
        name="aws",
        stack="prod",
    )
    db = resource(RDS, {}, name="db", stack="prod", provider=provider)
    assert messages(data_stores_selected, [provider, SELECTOR, db]) == []


def test_only_stringequals_selection_tags_count() -> None:
    like = resource(
        SELECTION,
        {"selectionTags": [{"type": "STRINGLIKE", "key": "backup", "value": "ttbt2-prod"}]},
        name="like",
        stack="prod",
    )
    [message] = messages(data_stores_selected, [like, store(RDS, {"backup": "ttbt2-prod"}, "db")])
    assert "the stack has no aws.backup.Selection" in message


def test_malformed_selection_and_tags_are_violations() -> None:
    broken = resource(SELECTION, {"selectionTags": ["backup"]}, name="broken", stack="prod")
    found = messages(data_stores_selected, [broken, SELECTOR, store(RDS, "x", "db")])  # type: ignore[arg-type]
    assert found == [
        "backup selection broken: selectionTags[0] must be an object with type, key and value, "
        "got string 'backup'",
        "tags must be an object of key/value pairs, got string 'x'",
    ]


# --- nobody deletes backups --------------------------------------------------------------------


def role_policy(*statements: dict[str, Any]) -> Resource:
    return resource(ROLE_POLICY, {"role": "r", "policy": doc(*statements)})


def test_policy_without_deletion_is_compliant() -> None:
    ok = role_policy(allow(["backup:StartBackupJob", "backup:List*"]))
    denied = role_policy(deny("backup:*"))
    assert messages(no_backup_deletion, [ok, denied], stack="dev") == []


@pytest.mark.parametrize(
    "action",
    ["*", "backup:*", "backup:Delete*", "backup:DeleteRecoveryPoint", "BACKUP:deletebackupvault"],
)
def test_allowing_deletion_is_a_violation(action: str) -> None:
    [message] = messages(no_backup_deletion, [role_policy(allow(action))], stack="dev")
    assert "policy statement 0 allows backup:" in message
    assert "may delete recovery points or vaults" in message


def test_not_action_allow_that_leaves_deletion_is_a_violation() -> None:
    stmt = {
        "Effect": "Allow",
        "NotAction": ["iam:*", "backup:DeleteRecoveryPoint"],
        "Resource": "*",
    }
    [message] = messages(no_backup_deletion, [role_policy(stmt)], stack="dev")
    assert "allows backup:DeleteBackupVault" in message
    assert "backup:DeleteRecoveryPoint" not in message


def test_role_inline_policy_is_checked() -> None:
    role = resource(
        "aws:iam/role:Role",
        {"inlinePolicies": [{"name": "ops", "policy": doc(allow("backup:*"))}, {}]},
    )
    [message] = messages(no_backup_deletion, [role], stack="dev")
    assert message.startswith("inline policy 'ops' statement 0 allows")


@pytest.mark.parametrize(
    ("arn", "bad"),
    [
        ("arn:aws:iam::aws:policy/AWSBackupFullAccess", True),
        ("arn:aws:iam::aws:policy/AdministratorAccess", True),
        ("arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup", False),
    ],
)
def test_managed_policies_allowing_deletion_are_violations(arn: str, bad: bool) -> None:
    attachment = resource(ATTACHMENT, {"role": "r", "policyArn": arn})
    assert len(messages(no_backup_deletion, [attachment], stack="dev")) == int(bad)


def test_policy_without_document_or_arn_has_nothing_to_check() -> None:
    missing = [resource(ROLE_POLICY, {"role": "r"}), resource(ATTACHMENT, {"role": "r"})]
    assert messages(no_backup_deletion, missing, stack="dev") == []


# --- vault access policies ---------------------------------------------------------------------

DENY_DELETION = deny(
    ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
    Principal={"AWS": "*"},
    Condition={"ArnNotEquals": {"aws:PrincipalArn": BREAK_GLASS}},
)


def guarded_vault(*statements: dict[str, Any], policy: bool = True) -> list[Resource]:
    vault = resource(VAULT, {"name": "v", "kmsKeyArn": KEY_ARN}, name="vault")
    if not policy:
        return [vault]
    props: dict[str, Any] = {"backupVaultName": "v"}
    if statements:
        props["policy"] = doc(*statements)
    return [vault, resource(VAULT_POLICY, props, name="vault-policy", dependencies=[vault])]


def test_vault_denying_deletion_is_compliant() -> None:
    assert messages(vault_access_policy, guarded_vault(DENY_DELETION), stack="dev") == []
    unconditional = deny("backup:Delete*", Principal="*")
    assert messages(vault_access_policy, guarded_vault(unconditional), stack="dev") == []


def test_vault_without_access_policy_is_a_violation() -> None:
    [message] = messages(vault_access_policy, guarded_vault(policy=False), stack="dev")
    assert message.startswith("backup vault vault has no access policy")


def test_access_policy_without_document_is_a_violation() -> None:
    [message] = messages(vault_access_policy, guarded_vault(), stack="dev")
    assert "(vault-policy has no policy document)" in message


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        (
            deny("backup:DeleteBackupVault", Principal="*"),
            "does not deny backup:DeleteRecoveryPoint",
        ),
        (allow("backup:DeleteRecoveryPoint", Principal="*"), "not a Deny for Principal '*'"),
        (deny("backup:DeleteRecoveryPoint", Principal={"AWS": BREAK_GLASS}), "not a Deny"),
        (
            deny(
                "backup:DeleteRecoveryPoint",
                Principal="*",
                Condition={"StringEquals": {"aws:PrincipalArn": BREAK_GLASS}},
            ),
            "its condition StringEquals limits whom the denial applies to",
        ),
        (
            deny(
                "backup:DeleteRecoveryPoint",
                Principal="*",
                Condition={"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::1:role/*"}},
            ),
            "is a pattern, not named principals",
        ),
        (
            deny(
                "backup:DeleteRecoveryPoint",
                Principal="*",
                Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-1"}},
            ),
            "its condition on aws:SourceVpc can lift the denial",
        ),
    ],
)
def test_access_policy_that_does_not_deny_deletion_is_a_violation(
    statement: dict[str, Any], reason: str
) -> None:
    [message] = messages(vault_access_policy, guarded_vault(statement), stack="dev")
    assert message.startswith("backup vault vault: its access policy does not deny")
    assert reason in message


def test_access_policy_of_invalid_json_is_a_violation() -> None:
    vault = resource(VAULT, {"kmsKeyArn": KEY_ARN}, name="vault")
    policy = resource(VAULT_POLICY, {"policy": "{"}, name="p", dependencies=[vault])
    [found] = violations(findings_for(vault_access_policy, [vault, policy]))
    assert "vault policy p is not valid JSON" in found.message
