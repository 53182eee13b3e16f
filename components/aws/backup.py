"""AWS Backup for the platform's data stores (seed 4.7: RPO < 1 h, RTO < 2 h).

One plan per environment, two rules, one vault in the primary region and one in the DR region:

- a **continuous** rule (point-in-time recovery for RDS and S3): restores to any second of the
  retention window, so the recovery point in the primary region is minutes old. AWS caps its
  retention at 35 days.
- a **daily** snapshot rule kept ``daily_retention_days`` (the stack's ``dbBackupRetentionDays``;
  by default the environment's floor, ``policies/ttbt2_policies/floors.py``).

Both rules copy to the DR vault. AWS Backup cannot copy a continuous backup as such to another
Region: for a continuous rule with a cross-Region copy it takes a snapshot at the rule's schedule
and copies that snapshot, which is a periodic backup without point-in-time restore. The
continuous rule is therefore scheduled hourly, so the DR vault holds a recovery point at most an
hour (plus the copy time) old, and the daily rule's copies give the DR region the long history.

Data stores join the plan by carrying :func:`selection_tag` (``backup: ttbt2-<env>``). The value
names the environment because a selection is account- and Region-wide: a bare ``backup: daily``
would let one environment's plan back up another environment's stores in a shared account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext
from components.aws.iam import document, service_trust
from policies.ttbt2_policies.floors import floors_for, per_stack

ENVIRONMENTS = ("dev", "staging", "prod")
DAILY_RETENTION_DAYS: dict[str, int] = per_stack(lambda floors: floors.backup_retention_days)
"""Days a daily recovery point is kept by default, per environment: the floor of the backup
retention (seed 4.7.1, as for RDS backups)."""

CONTINUOUS_MAX_RETENTION_DAYS = 35
"""AWS Backup keeps continuous (point-in-time) backups for at most 35 days."""
LOCK_MIN_CHANGEABLE_DAYS = 3
"""AWS refuses a compliance-mode vault lock with a grace time under 3 days."""

SELECTION_TAG_KEY = "backup"
DAILY_SCHEDULE = "cron(0 3 ? * * *)"
HOURLY_SCHEDULE = "cron(0 * ? * * *)"
PROTECTED_ACTIONS = (
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:PutBackupVaultAccessPolicy",
    # Without this, deleting the access policy would lift the denial it holds.
    "backup:DeleteBackupVaultAccessPolicy",
)
"""What a locked (prod) vault's access policy denies to everyone but the break-glass role."""
RECOVERY_POINT_ACTIONS = PROTECTED_ACTIONS[:2]
"""What every vault's access policy denies. Outside prod the policy itself stays changeable, so
the stack can be updated and destroyed without the break-glass role."""

SERVICE_ROLE_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
)
"""AWS-managed policies of the role AWS Backup assumes (paths below ``arn:...:policy/``)."""


def selection_tag(environment: str) -> tuple[str, str]:
    """The tag (key, value) a data store carries to be backed up by ``environment``'s plan.

    Pure, so components created before the plan (the database, buckets) can tag themselves.
    """
    _check_environment(environment)
    return SELECTION_TAG_KEY, f"ttbt2-{environment}"


def _check_environment(environment: str) -> None:
    if environment not in ENVIRONMENTS:
        raise ValueError(
            f"environment must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}"
        )


@dataclass(frozen=True)
class BackupPlanArgs:
    """Arguments of :class:`BackupPlan`.

    ``kms_key_arn`` encrypts the primary vault and ``dr_kms_key_arn`` the DR vault; the DR key
    lives in the DR region and the caller creates it with ``dr_provider``, as it does the
    provider itself. Both are required in prod; without them (a dev or staging stack with no
    DR region) there is no DR vault and no copy. ``break_glass_role_arn`` is the only principal
    allowed to delete or re-date recovery points or to change the vaults' access policies;
    without it nobody can. ``daily_retention_days`` defaults to the environment's floor
    (``DAILY_RETENTION_DAYS``) and the continuous retention to the daily one (at most 35 days);
    ``dr_hourly_retention_days`` keeps the hourly DR snapshots taken from the continuous rule.
    The vault lock (prod only, compliance mode) accepts retentions between the shortest
    retention written to the vault and ``lock_max_retention_days``, and can still be changed
    for ``lock_changeable_for_days``.
    """

    environment: str
    tags: dict[str, str]
    context: AwsContext
    kms_key_arn: pulumi.Input[str]
    dr_provider: aws.Provider | None = None
    dr_kms_key_arn: pulumi.Input[str] | None = None
    break_glass_role_arn: pulumi.Input[str] | None = None
    daily_retention_days: int | None = None
    continuous_retention_days: int | None = None
    dr_hourly_retention_days: int = 2
    daily_schedule: str = DAILY_SCHEDULE
    lock_changeable_for_days: int = LOCK_MIN_CHANGEABLE_DAYS
    lock_max_retention_days: int = 365
    protect: bool = False

    def __post_init__(self) -> None:
        _check_environment(self.environment)
        if (self.dr_provider is None) != (self.dr_kms_key_arn is None):
            raise ValueError("dr_provider and dr_kms_key_arn go together: give both or neither")
        if self.environment == "prod" and self.dr_provider is None:
            raise ValueError(
                "dr_provider and dr_kms_key_arn are required in prod: every backup is copied "
                "to the DR region"
            )
        if self.daily_retention_days is not None and self.daily_retention_days < 1:
            raise ValueError(
                f"daily_retention_days must be at least 1 day, got {self.daily_retention_days}"
            )
        cont = self.continuous_retention_days
        if cont is not None and not 1 <= cont <= CONTINUOUS_MAX_RETENTION_DAYS:
            raise ValueError(
                f"continuous_retention_days must be 1..{CONTINUOUS_MAX_RETENTION_DAYS} "
                f"(the AWS maximum for point-in-time recovery), got {cont}"
            )
        if self.dr_hourly_retention_days < 1:
            raise ValueError(
                f"dr_hourly_retention_days must be at least 1 day, got "
                f"{self.dr_hourly_retention_days}"
            )
        if self.lock_changeable_for_days < LOCK_MIN_CHANGEABLE_DAYS:
            raise ValueError(
                f"lock_changeable_for_days must be at least {LOCK_MIN_CHANGEABLE_DAYS} "
                f"(the AWS minimum for a compliance-mode lock), got {self.lock_changeable_for_days}"
            )
        longest = max(self.daily, self.continuous)
        if self.lock_max_retention_days < longest:
            raise ValueError(
                f"lock_max_retention_days must be at least the longest retention ({longest} "
                f"days), got {self.lock_max_retention_days}"
            )
        if not self.daily_schedule.startswith(("cron(", "rate(")):
            raise ValueError(
                f"daily_schedule must be an AWS cron(...) or rate(...) expression, "
                f"got {self.daily_schedule!r}"
            )

    @property
    def daily(self) -> int:
        """Days a daily recovery point is kept, in both regions."""
        return self.daily_retention_days or floors_for(self.environment).backup_retention_days

    @property
    def continuous(self) -> int:
        """Days of point-in-time recovery in the primary region."""
        return self.continuous_retention_days or min(self.daily, CONTINUOUS_MAX_RETENTION_DAYS)

    @property
    def locked(self) -> bool:
        """Vault lock in compliance mode: production only, because it cannot be undone."""
        return self.environment == "prod"


class BackupPlan(pulumi.ComponentResource):
    """Vaults (primary and DR), their guardrails, the plan, its role and its tag selection."""

    vault: aws.backup.Vault
    dr_vault: aws.backup.Vault | None
    plan: aws.backup.Plan
    role: aws.iam.Role
    selection: aws.backup.Selection

    def __init__(
        self, name: str, args: BackupPlanArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:BackupPlan", name, None, opts)
        self.selection_tag = selection_tag(args.environment)
        key, value = self.selection_tag
        primary = pulumi.ResourceOptions(parent=self)

        self.vault = self._vault(f"{name}-vault", args, args.kms_key_arn, primary)
        if args.locked:
            # The shortest retention the vault receives: a lock minimum above it would make
            # AWS refuse those recovery points.
            self._lock(f"{name}-vault", self.vault, min(args.daily, args.continuous), args, primary)
        self.dr_vault = None
        if args.dr_provider is not None and args.dr_kms_key_arn is not None:
            dr = pulumi.ResourceOptions(parent=self, provider=args.dr_provider)
            self.dr_vault = self._vault(f"{name}-dr-vault", args, args.dr_kms_key_arn, dr)
            if args.locked:
                dr_min = min(args.daily, args.dr_hourly_retention_days)
                self._lock(f"{name}-dr-vault", self.dr_vault, dr_min, args, dr)

        self.plan = aws.backup.Plan(
            f"{name}-plan",
            name=f"{name}-plan"[:50],
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="continuous",
                    target_vault_name=self.vault.name,
                    enable_continuous_backup=True,
                    # For a continuous rule the schedule is when the snapshot copied to the DR
                    # region is taken; point-in-time recovery itself runs all the time.
                    schedule=HOURLY_SCHEDULE,
                    start_window=60,
                    completion_window=120,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=args.continuous),
                    copy_actions=self._copy(args.dr_hourly_retention_days),
                    recovery_point_tags={**args.tags, "backup-rule": "continuous"},
                ),
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=self.vault.name,
                    schedule=args.daily_schedule,
                    start_window=60,
                    completion_window=480,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=args.daily),
                    copy_actions=self._copy(args.daily),
                    recovery_point_tags={**args.tags, "backup-rule": "daily"},
                ),
            ],
            tags={**args.tags, "Name": f"{name}-plan"},
            opts=primary,
        )

        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust("backup.amazonaws.com"),
            description="Assumed by AWS Backup to back up and restore the selected data stores",
            tags={**args.tags, "Name": f"{name}-role"},
            opts=primary,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-role-{_short_policy_name(path)}",
                role=self.role.name,
                policy_arn=pulumi.Output.concat(
                    "arn:", args.context.partition, ":iam::aws:policy/", path
                ),
                opts=primary,
            )
            for path in SERVICE_ROLE_POLICIES
        ]
        self.selection = aws.backup.Selection(
            f"{name}-selection",
            name=f"{name}-selection"[:50],
            plan_id=self.plan.id,
            iam_role_arn=self.role.arn,
            selection_tags=[
                aws.backup.SelectionSelectionTagArgs(type="STRINGEQUALS", key=key, value=value)
            ],
            # The role must hold its permissions before the first job runs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )

        self.vault_arn = self.vault.arn
        self.dr_vault_arn = self.dr_vault.arn if self.dr_vault else None
        self.plan_id = self.plan.id
        self.register_outputs(
            {
                "vaultArn": self.vault.arn,
                "drVaultArn": self.dr_vault_arn,
                "planId": self.plan.id,
                "roleArn": self.role.arn,
                "selectionTag": {key: value},
            }
        )

    def _copy(self, days: int) -> list[aws.backup.PlanRuleCopyActionArgs]:
        """A copy to the DR vault kept ``days``, or none without a DR region."""
        if self.dr_vault is None:
            return []
        return [
            aws.backup.PlanRuleCopyActionArgs(
                destination_vault_arn=self.dr_vault.arn,
                lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=days),
            )
        ]

    @property
    def selection_tags(self) -> dict[str, str]:
        """The selection tag as a tag map, to merge into a data store's tags."""
        key, value = self.selection_tag
        return {key: value}

    def _vault(
        self,
        name: str,
        args: BackupPlanArgs,
        kms_key_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
    ) -> aws.backup.Vault:
        vault = aws.backup.Vault(
            name,
            # An explicit name (2..50 letters, digits, - and _) so plan rules can name the vault
            # before it exists, in a first preview too.
            name=name[:50],
            kms_key_arn=kms_key_arn,
            force_destroy=False,
            tags={**args.tags, "Name": name},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=args.protect)),
        )
        aws.backup.VaultPolicy(
            f"{name}-policy",
            backup_vault_name=vault.name,
            policy=pulumi.Output.from_input(args.break_glass_role_arn).apply(
                lambda arn: json.dumps(vault_access_policy(arn, locked=args.locked))
            ),
            opts=opts,
        )
        return vault

    def _lock(
        self,
        name: str,
        vault: aws.backup.Vault,
        min_days: int,
        args: BackupPlanArgs,
        opts: pulumi.ResourceOptions,
    ) -> aws.backup.VaultLockConfiguration:
        # changeable_for_days makes it compliance mode: once the grace time is over, nobody,
        # root included, can shorten retention, delete recovery points early or lift the lock.
        return aws.backup.VaultLockConfiguration(
            f"{name}-lock",
            backup_vault_name=vault.name,
            changeable_for_days=args.lock_changeable_for_days,
            min_retention_days=min_days,
            max_retention_days=args.lock_max_retention_days,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=args.protect)),
        )


def vault_access_policy(break_glass_role_arn: str | None, *, locked: bool = True) -> dict[str, Any]:
    """Deny deleting and re-dating recovery points to all but the break-glass role.

    ``locked`` (prod) also denies changing or removing this policy, so the denial cannot be
    lifted by the deploy role either.
    """
    statement: dict[str, Any] = {
        "Sid": "DenyRecoveryPointDeletion",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": list(PROTECTED_ACTIONS if locked else RECOVERY_POINT_ACTIONS),
        "Resource": "*",
    }
    if break_glass_role_arn:
        statement["Condition"] = {"ArnNotEquals": {"aws:PrincipalArn": break_glass_role_arn}}
    return document(statement)


def _short_policy_name(path: str) -> str:
    """``service-role/AWSBackupServiceRolePolicyForS3Backup`` -> ``fors3backup``."""
    return path.rsplit("/", 1)[-1].removeprefix("AWSBackupServiceRolePolicy").lower()
