"""Recovery point objective (seed 4.7): production data stores lose at most an hour."""

from __future__ import annotations

from typing import Any

import pytest

from offline.graph import Resource
from policies.ttbt2_policies.recovery import recovery_point_objective, schedule_minutes
from tests.support.policies import findings_for, resource, violations

RDS = "aws:rds/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"
HOME, DR = "eu-west-1", "eu-central-1"


def _provider(region: str | None, name: str) -> Resource:
    return resource("pulumi:providers:aws", {"region": region} if region else {}, name=name)


PRIMARY, SECOND = _provider(HOME, "primary"), _provider(DR, "dr")


def _run(*resources: Resource, stack: str = "prod", **config: Any) -> list[Any]:
    items = [PRIMARY, SECOND, *resources]
    return violations(
        findings_for(recovery_point_objective, items, stack=stack, config=config or None)
    )


def _db(retention: Any = 35) -> Resource:
    props = {} if retention is None else {"backupRetentionPeriod": retention}
    return resource(RDS, props, name="db", stack="prod", provider=PRIMARY)


def _rds_copy(db: Resource, provider: Resource = SECOND) -> Resource:
    return resource(
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
        {"sourceDbInstanceArn": f"arn:aws:rds:{HOME}:1:db:db"},
        name="db-copy",
        stack="prod",
        dependencies=[db],
        provider=provider,
    )


def test_rds_with_pitr_and_a_replica_in_another_region_is_compliant() -> None:
    db = _db()
    assert _run(db, _rds_copy(db)) == []


def test_rds_without_pitr_is_a_violation_naming_what_was_found() -> None:
    db = _db(0)
    [finding] = _run(db, _rds_copy(db))
    assert "Instance db" in finding.message and "found: none" in finding.message
    assert "backupRetentionPeriod > 0" in finding.message


def test_rds_with_backup_retention_missing_has_no_recovery_point() -> None:
    db = _db(None)
    [finding] = _run(db, _rds_copy(db))
    assert "recovery point in its region" in finding.message


def test_rds_without_a_copy_is_a_violation() -> None:
    [finding] = _run(_db())
    assert "no copy outside its region (eu-west-1)" in finding.message
    assert "found: none" in finding.message and "automated backups replication" in finding.message


def test_rds_copy_in_the_same_region_does_not_count() -> None:
    db = _db()
    [finding] = _run(db, _rds_copy(db, provider=PRIMARY))
    assert "db-copy in eu-west-1 (store in eu-west-1)" in finding.message


def test_copy_whose_region_is_missing_does_not_count() -> None:
    db = _db()
    nowhere = _provider(None, "nowhere")
    [finding] = _run(nowhere, db, _rds_copy(db, provider=nowhere))
    assert "in an unknown region" in finding.message


def test_wrongly_typed_retention_is_reported_on_the_store() -> None:
    db = _db("35")
    [finding] = _run(db, _rds_copy(db))
    assert "backupRetentionPeriod must be a number" in finding.message
    assert finding.urn == db.urn


def _bucket(purpose: str | None = "user-data", name: str = "data", provider: Resource = PRIMARY):
    tags = {} if purpose is None else {"purpose": purpose}
    return resource(BUCKET, {"tags": tags}, name=name, stack="prod", provider=provider)


def _versioning(bucket: Resource, status: str = "Enabled") -> Resource:
    return resource(
        "aws:s3/bucketVersioning:BucketVersioning",
        {"bucket": "id", "versioningConfiguration": {"status": status}},
        name=f"{bucket.name}-versioning",
        stack="prod",
        dependencies=[bucket],
    )


def _replication(source: Resource, target: Resource, rtc: bool = True) -> Resource:
    destination: dict[str, Any] = {"bucket": "arn:aws:s3:::target"}
    if rtc:
        destination["replicationTime"] = {"status": "Enabled", "time": {"minutes": 15}}
    config = resource(
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        {"bucket": "id", "rules": [{"status": "Enabled", "destination": destination}]},
        name=f"{source.name}-replication",
        stack="prod",
        dependencies=[source, target],
    )
    # As the engine records them: which input each dependency came from (source vs target).
    config.property_dependencies = {"bucket": [source.urn], "rules": [target.urn]}
    return config


def test_versioned_bucket_replicated_with_rtc_to_another_region_is_compliant() -> None:
    data, copy = _bucket(), _bucket(name="copy", provider=SECOND)
    assert _run(data, copy, _versioning(data), _replication(data, copy)) == []


def test_replication_without_rtc_is_not_bounded_to_an_hour() -> None:
    data, copy = _bucket(), _bucket(name="copy", provider=SECOND)
    [finding] = _run(data, copy, _versioning(data), _replication(data, copy, rtc=False))
    assert "without RTC (no bound on its age)" in finding.message


def test_replication_to_the_same_region_is_a_violation() -> None:
    data, copy = _bucket(), _bucket(name="copy", provider=PRIMARY)
    found = _run(data, copy, _versioning(data), _replication(data, copy))
    assert [f.urn for f in found] == [data.urn]
    assert "(store in eu-west-1)" in found[0].message


def test_unversioned_bucket_has_no_recovery_point_in_its_region() -> None:
    data, copy = _bucket(), _bucket(name="copy", provider=SECOND)
    [finding] = _run(data, copy, _versioning(data, "Suspended"), _replication(data, copy))
    assert "Bucket data: recovery point in its region" in finding.message


def test_bucket_without_purpose_tag_is_a_data_store() -> None:
    assert len(_run(_bucket(purpose=None))) == 2


@pytest.mark.parametrize("purpose", ["access-logs", "static-assets"])
def test_reproducible_buckets_are_not_data_stores(purpose: str) -> None:
    assert _run(_bucket(purpose)) == []


def test_reproducible_purposes_come_from_config() -> None:
    assert len(_run(_bucket("access-logs"), reproducibleBucketPurposes=[])) == 2


def _plan(rule: dict[str, Any]) -> Resource:
    return resource("aws:backup/plan:Plan", {"rules": [rule]}, name="plan", stack="prod")


def _selection(plan: Resource, store: Resource) -> Resource:
    return resource(
        "aws:backup/selection:Selection",
        {"planId": "id", "resources": ["arn"]},
        name="selection",
        stack="prod",
        dependencies=[plan, store],
    )


COPY = {"destinationVaultArn": f"arn:aws:backup:{DR}:1:backup-vault:dr"}


def test_hourly_backup_with_a_copy_to_another_region_is_compliant() -> None:
    db = _db(0)
    plan = _plan({"schedule": "cron(0 * ? * * *)", "copyActions": [COPY]})
    assert _run(db, plan, _selection(plan, db)) == []


def test_daily_backup_copy_is_too_old() -> None:
    db = _db()
    plan = _plan({"schedule": "cron(0 3 * * ? *)", "copyActions": [COPY]})
    [finding] = _run(db, plan, _selection(plan, db))
    assert "AWS Backup copy (plan plan) (at most 1440 min old)" in finding.message


def test_backup_copy_to_the_same_region_does_not_count() -> None:
    db = _db(0)
    same = {"destinationVaultArn": f"arn:aws:backup:{HOME}:1:backup-vault:local"}
    plan = _plan(
        {"enableContinuousBackup": True, "schedule": "rate(1 hour)", "copyActions": [same]}
    )
    [finding] = _run(db, plan, _selection(plan, db))
    assert "no copy outside its region" in finding.message


def test_wrongly_typed_backup_rules_are_reported() -> None:
    db = _db()
    plan = resource("aws:backup/plan:Plan", {"rules": "daily"}, name="plan", stack="prod")
    found = _run(db, _rds_copy(db), plan, _selection(plan, db))
    assert any("rules must be an array" in f.message for f in found)


def test_copy_job_to_another_cloud_counts_when_at_least_hourly() -> None:
    data = _bucket()
    account = resource(
        "azure-native:storage:StorageAccount",
        {"sku": {"name": "Standard_RAGZRS"}},
        name="account",
        stack="prod",
    )
    job = resource(
        "kubernetes:batch/v1:CronJob",
        {"spec": {"schedule": "*/30 * * * *"}},
        name="copier",
        stack="prod",
        dependencies=[data, account],
    )
    assert _run(data, _versioning(data), account, job) == []


def test_azure_account_needs_geo_redundancy() -> None:
    ok = resource("azure-native:storage:StorageAccount", {"sku": {"name": "Standard_GZRS"}})
    local = resource(
        "azure-native:storage:StorageAccount", {"sku": {"name": "Standard_ZRS"}}, name="zrs"
    )
    missing = resource("azure-native:storage:StorageAccount", {}, name="nosku")
    items = [resource(r.type, r.props, name=r.name, stack="prod") for r in (ok, local, missing)]
    found = _run(*items)
    assert sorted(f.urn.rsplit("::", 1)[-1] for f in found) == ["nosku", "zrs"]


@pytest.mark.parametrize(
    ("props", "ok"),
    [
        ({"location": "EUR4", "rpo": "ASYNC_TURBO"}, True),
        ({"location": "EU"}, False),
        ({"location": "EUROPE-WEST1", "rpo": "ASYNC_TURBO"}, False),
        ({}, False),
    ],
)
def test_gcs_bucket_needs_a_second_region_with_turbo_replication(
    props: dict[str, Any], ok: bool
) -> None:
    bucket = resource("gcp:storage/bucket:Bucket", props, name="landing", stack="prod")
    assert (_run(bucket) == []) is ok


def test_elasticache_is_a_cache_not_a_data_store() -> None:
    cache = resource("aws:elasticache/replicationGroup:ReplicationGroup", {}, stack="prod")
    assert _run(cache) == []


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_non_production_stacks_are_not_checked(stack: str) -> None:
    db = resource(RDS, {"backupRetentionPeriod": 0}, name="db", stack=stack)
    assert _run(db, stack=stack) == []


def test_production_stacks_come_from_config() -> None:
    db = resource(RDS, {}, name="db", stack="live")
    assert len(_run(db, stack="live", productionStacks=["live"])) == 2


@pytest.mark.parametrize(
    ("expr", "minutes"),
    [
        ("*/30 * * * *", 30),
        ("0 * * * *", 60),
        ("0,20 * * * *", 40),
        ("cron(0 * ? * * *)", 60),
        ("cron(0 */2 * * ? *)", 120),
        ("rate(1 hour)", 60),
        ("rate(15 minutes)", 15),
        ("0 3 * * 1", None),
        ("nonsense", None),
        (None, None),
    ],
)
def test_schedule_minutes(expr: Any, minutes: float | None) -> None:
    assert schedule_minutes(expr) == minutes
