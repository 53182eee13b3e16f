"""AWS Backup rendered on the mock engine, in a first preview and in an update (seed 4.7).

The component is wired as the platform wires it (a primary and a DR provider, a CMK in each
Region, a data store carrying the selection tag), then checked against its own guardrails.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws import context
from components.aws.backup import (
    PROTECTED_ACTIONS,
    BackupPlan,
    BackupPlanArgs,
    selection_tag,
    vault_access_policy,
)
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from offline.engine import run_program
from offline.evaluate import evaluate
from offline.graph import Resource, StackGraph
from offline.mocks import ACCOUNT_ID
from policies.ttbt2_policies import ALL_POLICIES
from policies.ttbt2_policies import backup as backup_policies
from tests.conftest import of_type, one

VAULT = "aws:backup/vault:Vault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
VAULT_POLICY = "aws:backup/vaultPolicy:VaultPolicy"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
PRIMARY, DR = "eu-west-1", "eu-central-1"
BREAK_GLASS = "arn:aws:iam::123456789012:role/ttbt2-break-glass"
MODES = pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
ENVS = pytest.mark.parametrize("env", ["dev", "staging", "prod"])
TAGS = {
    "environment": "prod",
    "owner": "sre",
    "cost-center": "ttbt2",
    "managed-by": "pulumi",
    # The vaults hold copies of prod's data (cfg.data_tags): the pack requires them to say so.
    "data-classification": "real",
}


def render(preview: bool, env: str = "prod", *, dr: bool = True, **changes: Any) -> StackGraph:
    """The component with both providers, both keys, and a bucket tagged for backup.

    ``dr=False`` renders a stack without a DR region (no DR provider, no DR key).
    """
    with_dr = dr

    def program() -> None:
        primary = aws.Provider("aws-primary", region=PRIMARY)
        dr = aws.Provider("aws-dr", region=DR)
        ctx, dr_ctx = context.lookup(primary, PRIMARY), context.lookup(dr, DR)
        on_primary = pulumi.ResourceOptions(provider=primary)
        key = EncryptionKey(
            "backup", EncryptionKeyArgs("Backups", ctx, TAGS, protect=env == "prod"), on_primary
        )
        dr_key = EncryptionKey(
            "backup-dr",
            EncryptionKeyArgs("Backups (DR)", dr_ctx, TAGS, protect=env == "prod"),
            pulumi.ResourceOptions(provider=dr),
        )
        args: dict[str, Any] = {
            "environment": env,
            "tags": TAGS,
            "context": ctx,
            "kms_key_arn": key.arn,
            "dr_provider": dr if with_dr else None,
            "dr_kms_key_arn": dr_key.arn if with_dr else None,
            "break_glass_role_arn": BREAK_GLASS,
            "protect": env == "prod",
            **changes,
        }
        backup = BackupPlan(f"ttbt2-{env}-backup", BackupPlanArgs(**args), on_primary)
        aws.s3.Bucket(
            "user-data",
            tags={**TAGS, "purpose": "user-data", **backup.selection_tags},
            opts=on_primary,
        )
        pulumi.export("vaultArn", backup.vault_arn)
        pulumi.export("drVaultArn", backup.dr_vault_arn)
        pulumi.export("hasDrVault", backup.dr_vault is not None)
        pulumi.export("planId", backup.plan_id)

    return run_program(program, project="ttbt2-platform", stack=env, preview=preview)


def rule(graph: StackGraph, name: str) -> dict[str, Any]:
    """The plan rule called ``name``."""
    [found] = [r for r in one(graph, PLAN).props["rules"] if r["ruleName"] == name]
    return dict(found)


def provider_name(res: Resource) -> str:
    """The logical name of the provider a resource was created with."""
    assert res.provider, f"{res.name} names no explicit provider"
    return res.provider.rsplit("::", 1)[0].rsplit("::", 1)[-1]


@MODES
@pytest.mark.parametrize(("env", "locks"), [("dev", 0), ("staging", 0), ("prod", 2)])
def test_resources_per_environment(preview: bool, env: str, locks: int) -> None:
    graph = render(preview, env)
    counts = {t: len(of_type(graph, t)) for t in (VAULT, VAULT_POLICY, LOCK, PLAN, SELECTION)}
    assert counts == {VAULT: 2, VAULT_POLICY: 2, LOCK: locks, PLAN: 1, SELECTION: 1}
    assert len(of_type(graph, ATTACHMENT)) == 4


@MODES
def test_dr_vault_and_its_guards_use_the_dr_provider(preview: bool) -> None:
    graph = render(preview)
    for token in (VAULT, VAULT_POLICY, LOCK):
        by_name = {r.name: provider_name(r) for r in of_type(graph, token)}
        assert sorted(by_name.values()) == ["aws-dr", "aws-primary"], by_name
        assert all(("dr" in n) == (p == "aws-dr") for n, p in by_name.items()), by_name
    assert provider_name(one(graph, PLAN)) == "aws-primary"


@MODES
def test_without_dr_region_there_is_one_vault_and_no_copy(preview: bool) -> None:
    graph = render(preview, "staging", dr=False)
    assert [provider_name(v) for v in of_type(graph, VAULT)] == ["aws-primary"]
    assert len(of_type(graph, VAULT_POLICY)) == 1
    assert all(
        "copyActions" not in r or r["copyActions"] == [] for r in one(graph, PLAN).props["rules"]
    )
    assert graph.outputs["hasDrVault"]["value"] is False
    findings = evaluate(graph, backup_policies.POLICIES)
    assert [f for f in findings if f.kind != "note"] == []


def test_each_vault_is_encrypted_with_its_regions_key() -> None:
    graph = render(False)
    keys = {k.name: k for k in of_type(graph, "aws:kms/key:Key")}
    primary, dr = one(graph, VAULT, "backup-vault"), one(graph, VAULT, "dr-vault")
    assert primary.props["kmsKeyArn"].startswith(f"arn:aws:kms:{PRIMARY}:")
    assert dr.props["kmsKeyArn"] != primary.props["kmsKeyArn"]
    assert "backup-dr-key" in keys and "backup-key" in keys
    assert primary.props["name"] == "ttbt2-prod-backup-vault"


@ENVS
def test_retention_follows_the_environment(env: str) -> None:
    graph = render(False, env)
    days = {"dev": 7, "staging": 14, "prod": 35}[env]
    daily, continuous = rule(graph, "daily"), rule(graph, "continuous")
    assert daily["lifecycle"] == {"deleteAfter": days}
    assert daily["copyActions"][0]["lifecycle"] == {"deleteAfter": days}
    assert daily["schedule"] == "cron(0 3 ? * * *)"
    assert (daily["startWindow"], daily["completionWindow"]) == (60, 480)
    assert continuous["enableContinuousBackup"] is True
    assert continuous["lifecycle"] == {"deleteAfter": min(days, 35)}
    assert continuous["schedule"] == "cron(0 * ? * * *)"


def test_both_rules_copy_to_the_dr_vault() -> None:
    graph = render(False)
    dr_arn = graph.outputs["drVaultArn"]["value"]
    assert dr_arn.startswith(f"arn:aws:backup:{DR}:")
    for name in ("daily", "continuous"):
        [copy] = rule(graph, name)["copyActions"]
        assert copy["destinationVaultArn"] == dr_arn
        assert rule(graph, name)["targetVaultName"] == "ttbt2-prod-backup-vault"
    assert rule(graph, "continuous")["copyActions"][0]["lifecycle"] == {"deleteAfter": 2}


def test_prod_locks_both_vaults_in_compliance_mode() -> None:
    graph = render(False)
    locks = {r.props["backupVaultName"]: r.props for r in of_type(graph, LOCK)}
    assert locks == {
        "ttbt2-prod-backup-vault": {
            "backupVaultName": "ttbt2-prod-backup-vault",
            "changeableForDays": 3,
            "minRetentionDays": 35,
            "maxRetentionDays": 365,
        },
        "ttbt2-prod-backup-dr-vault": {
            "backupVaultName": "ttbt2-prod-backup-dr-vault",
            "changeableForDays": 3,
            "minRetentionDays": 2,
            "maxRetentionDays": 365,
        },
    }


@MODES
def test_prod_vaults_and_locks_are_protected(preview: bool) -> None:
    graph = render(preview)
    assert all(r.option("protect") for r in of_type(graph, VAULT) + of_type(graph, LOCK))
    assert not any(r.option("protect") for r in of_type(render(preview, "dev"), VAULT))


def test_vault_policies_deny_deletion_to_all_but_break_glass() -> None:
    graph = render(False)
    for res in of_type(graph, VAULT_POLICY):
        [statement] = json.loads(res.props["policy"])["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Principal"] == {"AWS": "*"}
        assert set(statement["Action"]) == set(PROTECTED_ACTIONS)
        assert statement["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": BREAK_GLASS}}


def test_outside_prod_the_vault_policy_itself_stays_changeable() -> None:
    """Dev and staging can update and destroy their stacks without the break-glass role."""
    for res in of_type(render(False, "dev"), VAULT_POLICY):
        [statement] = json.loads(res.props["policy"])["Statement"]
        assert statement["Action"] == [
            "backup:DeleteRecoveryPoint",
            "backup:UpdateRecoveryPointLifecycle",
        ]


def test_without_break_glass_role_nobody_is_exempt() -> None:
    graph = render(False, break_glass_role_arn=None)
    for res in of_type(graph, VAULT_POLICY):
        assert "Condition" not in json.loads(res.props["policy"])["Statement"][0]
    assert "Condition" not in vault_access_policy(None)["Statement"][0]


def test_selection_by_tag_with_the_backup_service_role() -> None:
    graph = render(False)
    selection = one(graph, SELECTION)
    assert selection.props["selectionTags"] == [
        {"type": "STRINGEQUALS", "key": "backup", "value": "ttbt2-prod"}
    ]
    role = one(graph, "aws:iam/role:Role", "backup-role")
    assert selection.props["iamRoleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/{role.name}"
    trust = json.loads(role.props["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "backup.amazonaws.com"}
    assert sorted(a.props["policyArn"] for a in of_type(graph, ATTACHMENT)) == [
        "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
        "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    ]
    # The selection waits for the role's permissions.
    assert {a.urn for a in of_type(graph, ATTACHMENT)} <= set(selection.dependencies)


def test_selection_tag_names_the_environment() -> None:
    assert selection_tag("staging") == ("backup", "ttbt2-staging")
    with pytest.raises(ValueError, match="environment must be one of dev, staging, prod"):
        selection_tag("production")


@MODES
@ENVS
def test_component_passes_its_own_guardrails(preview: bool, env: str) -> None:
    findings = evaluate(render(preview, env), backup_policies.POLICIES)
    assert [f for f in findings if f.kind != "note"] == []
    if not preview:
        assert findings == []


def test_component_passes_the_whole_pack() -> None:
    """Every other rule of the pack (keys, IAM, tags, protection) on the component's resources."""
    findings = evaluate(render(False), ALL_POLICIES)
    mine = [f for f in findings if "ttbt2:aws:BackupPlan" in f.urn]
    assert mine == []
    assert {f.urn.rsplit("::", 1)[-1] for f in findings} <= {"user-data"}


def test_untagged_data_store_is_caught_on_the_rendered_graph() -> None:
    graph = render(False)
    graph.resources.append(
        Resource(
            urn="urn:pulumi:prod::ttbt2-platform::aws:rds/instance:Instance::db",
            type="aws:rds/instance:Instance",
            name="db",
            props={"tags": {"backup": "daily"}},
        )
    )
    [finding] = evaluate(graph, [backup_policies.data_stores_selected])
    assert "RDS instance db is backed up by no plan" in finding.message


def args(**changes: Any) -> BackupPlanArgs:
    """Arguments with placeholders where only validation runs."""
    base: dict[str, Any] = {
        "environment": "prod",
        "tags": {},
        "context": None,
        "kms_key_arn": "k",
        "dr_provider": object(),  # never used: only validation runs
        "dr_kms_key_arn": "k",
    }
    return BackupPlanArgs(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"environment": "production"}, "environment must be one of dev, staging, prod"),
        ({"daily_retention_days": 0}, "daily_retention_days must be at least 1 day, got 0"),
        ({"continuous_retention_days": 36}, "continuous_retention_days must be 1..35"),
        ({"dr_hourly_retention_days": 0}, "dr_hourly_retention_days must be at least 1 day"),
        ({"lock_changeable_for_days": 2}, "lock_changeable_for_days must be at least 3"),
        (
            {"daily_retention_days": 400},
            r"lock_max_retention_days must be at least the longest retention \(400 days\)",
        ),
        ({"daily_schedule": "daily"}, "daily_schedule must be an AWS cron"),
        ({"dr_kms_key_arn": None}, "dr_provider and dr_kms_key_arn go together"),
        (
            {"dr_provider": None, "dr_kms_key_arn": None},
            "dr_provider and dr_kms_key_arn are required in prod",
        ),
    ],
)
def test_bad_arguments_name_the_key(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        args(**changes)


def test_retention_defaults_and_overrides() -> None:
    assert (args().daily, args().continuous) == (35, 35)
    assert (args(environment="dev").daily, args(environment="dev").continuous) == (7, 7)
    custom = args(daily_retention_days=90, continuous_retention_days=14)
    assert (custom.daily, custom.continuous, custom.locked) == (90, 14, True)
    assert args(environment="staging").locked is False
