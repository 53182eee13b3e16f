"""Backups and recovery (seed 4.7): objectives, the copy to Azure, who may delete backups."""

from __future__ import annotations

from config.constants import RTO_LIMIT_MINUTES
from config.fields import Domain, setting


class RecoverySettings(Domain):
    """The recovery objectives and what serves them beyond the per-service backups."""

    rto_objective_minutes: int = setting(
        120,
        "Recovery time objective in minutes (seed 4.7: RTO under 2 h); the offline preview "
        "fails a stack with a DR region whose estimated restore there takes longer.",
        key="rtoObjectiveMinutes",
        ge=1,
        le=RTO_LIMIT_MINUTES,
    )
    backup_copy_schedule: str = setting(
        "*/30 * * * *",
        "Cron schedule of the copy of backup exports to Azure; under 60 minutes between runs "
        "(RPO < 1 h).",
        key="backupCopySchedule",
    )
    export_retention_days: int = setting(
        30,
        "Days the hourly database exports (exports/<env>/) and Vault snapshots (vault/<env>/) "
        "stay current in the snapshot store; the store keeps expired ones 90 more days as "
        "noncurrent versions.",
        key="exportRetentionDays",
        ge=1,
        le=3650,
    )
    backup_break_glass_role_arn: str = setting(
        "",
        "IAM role that alone may delete recovery points or change backup vault policies; "
        "empty = nobody.",
        key="backupBreakGlassRoleArn",
    )
