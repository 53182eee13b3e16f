"""The DR region's pilot light, rendered on the mock engine, in preview and update modes."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pulumi_aws as aws
import pytest

from components.aws import context
from components.aws.pilot_light import (
    MAX_BACKUP_REPLICATION_DAYS,
    PilotLight,
    PilotLightArgs,
    ReplicatedBucket,
    replication_policy,
)
from offline.engine import run_program
from offline.evaluate import evaluate
from offline.graph import Resource, StackGraph
from policies.ttbt2_policies import ALL_POLICIES
from tests.conftest import of_type, one

MODES = pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
SOURCE_ARN = "arn:aws:s3:::ttbt2-prod-user-data-abc"
SOURCE_KEY = "arn:aws:kms:eu-west-1:123456789012:key/source"
DB_ARN = "arn:aws:rds:eu-west-1:123456789012:db:ttbt2-prod-db"


def _args(dr_provider: aws.Provider, primary: aws.Provider, **changes: Any) -> PilotLightArgs:
    base = PilotLightArgs(
        environment="prod",
        tags={"project": "ttbt2", "environment": "prod"},
        dr_context=context.lookup(dr_provider, "eu-central-1"),
        dr_provider=dr_provider,
        primary_provider=primary,
        cidr="10.20.0.0/16",
        zones=["eu-central-1a", "eu-central-1b"],
        cluster_name="ttbt2-prod",
        flow_log_retention_days=365,
        database_arn=DB_ARN,
        backup_retention_days=35,
        buckets={
            "user-data": ReplicatedBucket(
                bucket_id="ttbt2-prod-user-data-abc",
                bucket_arn=SOURCE_ARN,
                kms_key_arn=SOURCE_KEY,
            )
        },
        protect=True,
        # The replicas hold prod's data: the pack requires them to say so.
        data_tags={"data-classification": "real"},
    )
    return replace(base, **changes)


def render(preview: bool, **changes: Any) -> StackGraph:
    def program() -> None:
        primary = aws.Provider("aws-primary", region="eu-west-1")
        dr = aws.Provider("aws-dr", region="eu-central-1")
        PilotLight("ttbt2-prod-dr", _args(dr, primary, **changes))

    return run_program(program, project="t", stack="prod", preview=preview)


_graphs: dict[bool, StackGraph] = {}


def graph(preview: bool) -> StackGraph:
    if preview not in _graphs:
        _graphs[preview] = render(preview)
    return _graphs[preview]


def in_dr(res: Resource) -> bool:
    return "aws-dr" in (res.provider or "")


@MODES
def test_network_keys_and_replicas_live_in_the_dr_region(preview: bool) -> None:
    g = graph(preview)
    for token in (
        "aws:ec2/vpc:Vpc",
        "aws:kms/key:Key",
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
        "aws:s3/bucket:Bucket",
        "aws:ec2/natGateway:NatGateway",
    ):
        resources = of_type(g, token)
        assert resources, token
        assert all(in_dr(r) for r in resources), token
    # One NAT gateway while idle.
    assert len(of_type(g, "aws:ec2/natGateway:NatGateway")) == 1


@MODES
def test_replication_settings_sit_on_the_primary_side(preview: bool) -> None:
    g = graph(preview)
    for token in (
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        "aws:ecr/replicationConfiguration:ReplicationConfiguration",
    ):
        (res,) = of_type(g, token)
        assert "aws-primary" in (res.provider or ""), token
    assert "aws-primary" in (one(g, "aws:iam/role:Role", "replication-role").provider or "")


def test_database_backups_replicated_with_a_dr_key_for_the_retention() -> None:
    g = graph(False)
    rep = one(g, "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
    assert rep.props["sourceDbInstanceArn"] == DB_ARN
    assert rep.props["retentionPeriod"] == 35
    key = one(g, "aws:kms/key:Key", "dr-data")
    assert key.urn in rep.property_dependencies["kmsKeyId"]
    assert rep.props["kmsKeyId"].startswith("arn:aws:kms:eu-central-1:")
    assert key.props["enableKeyRotation"] is True
    assert rep.options["protect"] is True


def test_bucket_replication_has_rtc_delete_markers_and_the_dr_key() -> None:
    g = graph(False)
    config = one(g, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert config.props["bucket"] == "ttbt2-prod-user-data-abc"
    (rule,) = config.props["rules"]
    assert rule["status"] == "Enabled"
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"] == {"status": "Enabled"}
    dest = rule["destination"]
    assert dest["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert dest["metrics"]["eventThreshold"] == {"minutes": 15}
    assert dest["encryptionConfiguration"]["replicaKmsKeyId"].startswith(
        "arn:aws:kms:eu-central-1:"
    )
    replica_buckets = [
        b for b in of_type(g, "aws:s3/bucket:Bucket") if "user-data" in b.name and in_dr(b)
    ]
    assert len(replica_buckets) == 1
    assert replica_buckets[0].urn in config.property_dependencies["rules"]
    assert dest["bucket"].startswith("arn:aws:s3:::ttbt2-prod-dr-user-data")


def test_registry_replicates_to_the_dr_region_of_the_same_account() -> None:
    config = one(graph(False), "aws:ecr/replicationConfiguration:ReplicationConfiguration")
    (rule,) = config.props["replicationConfiguration"]["rules"]
    (dest,) = rule["destinations"]
    assert dest["region"] == "eu-central-1"
    assert dest["registryId"] == "123456789012"


def test_replication_role_policy_is_scoped_to_one_source_and_one_replica() -> None:
    doc = replication_policy(SOURCE_ARN, SOURCE_KEY, "arn:aws:s3:::replica", "arn:aws:kms:k")
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert all(s["Resource"] != "*" for s in doc["Statement"])
    assert by_sid["WriteReplicas"]["Resource"] == "arn:aws:s3:::replica/*"
    assert by_sid["DecryptSource"] == {
        "Sid": "DecryptSource",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": SOURCE_KEY,
    }
    # The role may not delete object versions in the replica.
    actions = {a for s in doc["Statement"] for a in json.loads(json.dumps(s["Action"]))}
    assert "s3:DeleteObjectVersion" not in actions
    role_policy = one(graph(False), "aws:iam/rolePolicy:RolePolicy", "user-data-replication")
    assert json.loads(role_policy.props["policy"])["Statement"][0]["Resource"] == SOURCE_ARN


def test_pilot_light_passes_the_policy_pack() -> None:
    findings = [f for f in evaluate(graph(False), ALL_POLICIES) if f.kind == "violation"]
    mandatory = [f"{f.policy}: {f.message}" for f in findings if f.enforcement == "mandatory"]
    assert mandatory == []


def test_only_the_buckets_carry_the_data_tags() -> None:
    tagged = {
        r.type
        for r in graph(False).resources
        if (r.props.get("tags") or {}).get("data-classification") == "real"
    }
    assert tagged == {"aws:s3/bucket:Bucket"}


def test_no_buckets_means_no_replication_resources() -> None:
    g = render(False, buckets={})
    assert of_type(g, "aws:s3/bucketReplicationConfig:BucketReplicationConfig") == []
    assert of_type(g, "aws:s3/bucket:Bucket") == []
    assert of_type(g, "aws:ecr/replicationConfiguration:ReplicationConfiguration")


@pytest.mark.parametrize("days", [0, MAX_BACKUP_REPLICATION_DAYS + 1])
def test_retention_outside_what_rds_replicates_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="backup_retention_days"):
        _args_only(backup_retention_days=days)


def test_zones_outside_the_dr_region_are_refused() -> None:
    with pytest.raises(ValueError, match="not in the DR region"):
        _args_only(zones=["eu-west-1a"])
    with pytest.raises(ValueError, match="at least one"):
        _args_only(zones=[])


def _args_only(**changes: Any) -> PilotLightArgs:
    """Build the arguments inside a mock program, where providers can be created."""
    built: list[PilotLightArgs] = []
    errors: list[BaseException] = []

    def program() -> None:
        primary = aws.Provider("aws-primary", region="eu-west-1")
        dr = aws.Provider("aws-dr", region="eu-central-1")
        try:
            built.append(_args(dr, primary, **changes))
        except ValueError as exc:
            errors.append(exc)

    run_program(program, project="t", stack="prod", preview=True)
    if errors:
        raise errors[0]
    return built[0]
