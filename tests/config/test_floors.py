"""One table of per-environment floors, read by the settings, the components and the pack."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from components.aws.backup import DAILY_RETENTION_DAYS as BACKUP_DAILY
from components.aws.backup import BackupPlanArgs
from components.delivery.spec import min_replicas_floor
from components.k8s.velero import DAILY_RETENTION_DAYS as VELERO_DAILY
from components.k8s.velero import VeleroArgs
from config import SettingsError, parse_raw
from config.floors import FLOORS, Floors, floors_for, per_stack
from policies.ttbt2_policies import backup as backup_policies
from policies.ttbt2_policies import elasticache as cache_policies
from policies.ttbt2_policies import floors as pack_floors
from policies.ttbt2_policies import rds as rds_policies
from tests.conftest import STACKS, raw_settings


def _backup_days(floors: Floors) -> int:
    return floors.backup_retention_days


def test_config_reads_the_table_the_pack_holds() -> None:
    assert FLOORS is pack_floors.FLOORS
    assert set(FLOORS) == set(STACKS)


def test_unlisted_stacks_get_the_dev_floors() -> None:
    assert floors_for("alice-sandbox") == FLOORS["dev"]


@pytest.mark.parametrize(
    ("defaults", "unlisted"),
    [
        (
            backup_policies.DEFAULT_MINIMUM_RETENTION,
            backup_policies.UNLISTED_STACK_MINIMUM_RETENTION,
        ),
        (
            rds_policies.DEFAULT_MINIMUM_BACKUP_RETENTION,
            rds_policies.UNLISTED_STACK_MINIMUM_RETENTION,
        ),
    ],
    ids=["aws-backup", "rds"],
)
def test_the_pack_defaults_are_the_table(defaults: Any, unlisted: int) -> None:
    assert dict(defaults) == per_stack(_backup_days)
    assert unlisted == floors_for("unlisted").backup_retention_days


@pytest.mark.parametrize(
    ("policy", "option"),
    [
        (backup_policies.plan_retention, "minimumRetentionDays"),
        (rds_policies.backup_retention, "minimumBackupRetentionDays"),
    ],
    ids=["aws-backup", "rds"],
)
def test_the_pack_config_schema_defaults_are_the_table(policy: Any, option: str) -> None:
    schema = policy.config_schema.properties[option]
    assert schema["default"] == per_stack(_backup_days)
    assert "prod 35" in policy.description


def test_the_cache_policies_default_to_the_table() -> None:
    """Failover where the cache-node floor allows it; prod's snapshot floor in production."""
    can_fail_over = {s for s in STACKS if FLOORS[s].cache_nodes >= 2}
    assert set(cache_policies.DEFAULT_FAILOVER_STACKS) == can_fail_over | {"prod-dr"}
    assert (
        FLOORS["prod"].cache_snapshot_retention_days
        == cache_policies.DEFAULT_MINIMUM_SNAPSHOT_RETENTION
    )


def test_the_components_default_to_the_table() -> None:
    assert per_stack(_backup_days) == BACKUP_DAILY == VELERO_DAILY
    for env in STACKS:
        assert min_replicas_floor(env) == FLOORS[env].service_min_replicas


@pytest.mark.parametrize("stack", STACKS)
def test_settings_refuse_a_backup_retention_under_the_floor(stack: str) -> None:
    floor = FLOORS[stack].backup_retention_days
    assert parse_raw(stack, {**raw_settings(stack), "dbBackupRetentionDays": floor})
    with pytest.raises(SettingsError) as info:
        parse_raw(stack, {**raw_settings(stack), "dbBackupRetentionDays": floor - 1})
    assert [p.key for p in info.value.problems] == ["dbBackupRetentionDays"]
    assert f"{stack} keeps {floor} to 35 days" in info.value.problems[0].allowed


def test_a_floor_changed_in_the_table_reaches_settings_components_and_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Raise staging's floors in the table alone: every reader follows."""
    raised = replace(
        FLOORS["staging"], backup_retention_days=21, prometheus_replicas=2, service_min_replicas=3
    )
    monkeypatch.setitem(pack_floors.FLOORS, "staging", raised)
    with pytest.raises(SettingsError) as info:
        parse_raw("staging", raw_settings("staging"))
    keys = {p.key for p in info.value.problems}
    assert {"dbBackupRetentionDays", "prometheusReplicas", "services[0].minReplicas"} <= keys
    velero_args = VeleroArgs(
        environment="staging",
        bucket="b",
        role_arn="arn:aws:iam::123456789012:role/velero",
        region="eu-west-1",
    )
    assert velero_args.retention_days == 21
    assert min_replicas_floor("staging") == 3
    # Only validation runs: no context or key is used.
    backup_args = BackupPlanArgs(environment="staging", tags={}, context=None, kms_key_arn="k")  # type: ignore[arg-type]
    assert (backup_args.daily, backup_args.continuous) == (21, 21)
