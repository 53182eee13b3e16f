"""RDS: encryption, exposure, backups, production resilience, authentication, TLS, insights."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import Policy

from offline.graph import Resource
from policies.ttbt2_policies.rds import (
    backup_retention,
    deletion_protection,
    final_snapshot,
    force_tls,
    iam_authentication,
    log_exports,
    managed_master_password,
    multi_az,
    not_publicly_accessible,
    performance_insights,
    storage_encrypted,
)
from tests.support.policies import (
    UNKNOWN,
    assert_compliant,
    assert_missing,
    assert_unknown_is_a_note,
    assert_violation,
    assert_wrong_type,
    case_ids,
    findings_for,
    resource,
    violations,
    without_none,
)

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0b9c1f7e-2f0a-4a7e-9d55-6b1f0f5c2a11"

BASE: dict[str, dict[str, Any]] = {
    INSTANCE: {
        "engine": "postgres",
        "engineVersion": "16.4",
        "instanceClass": "db.r6g.large",
        "allocatedStorage": 50,
        "username": "app",
        "manageMasterUserPassword": True,
        "storageEncrypted": True,
        "kmsKeyId": KEY_ARN,
        "publiclyAccessible": False,
        "backupRetentionPeriod": 35,
        "multiAz": True,
        "deletionProtection": True,
        "iamDatabaseAuthenticationEnabled": True,
        "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": "db-final",
        "performanceInsightsEnabled": True,
        "performanceInsightsKmsKeyId": KEY_ARN,
        "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
        "parameterGroupName": "db-params",
    },
    CLUSTER: {
        "engine": "aurora-postgresql",
        "engineVersion": "16.4",
        "masterUsername": "app",
        "manageMasterUserPassword": True,
        "storageEncrypted": True,
        "kmsKeyId": KEY_ARN,
        "backupRetentionPeriod": 35,
        "deletionProtection": True,
        "iamDatabaseAuthenticationEnabled": True,
        "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": "db-final",
        "enabledCloudwatchLogsExports": ["postgresql"],
        "dbClusterParameterGroupName": "db-cluster-params",
    },
    CLUSTER_INSTANCE: {
        "clusterIdentifier": "db",
        "engine": "aurora-postgresql",
        "instanceClass": "db.r6g.large",
        "publiclyAccessible": False,
        "performanceInsightsEnabled": True,
        "performanceInsightsKmsKeyId": KEY_ARN,
    },
}


def db(type_: str = INSTANCE, stack: str = "prod", **changes: Any) -> Resource:
    """A compliant database of ``type_``; a change to None removes the property."""
    return resource(type_, without_none(BASE[type_], changes), name="db", stack=stack)


def run(policy: Policy, res: Resource, stack: str = "prod", **config: Any) -> list[Any]:
    return findings_for(policy, [res], stack=stack, config=config or None)


RESOURCE_POLICIES: list[tuple[Policy, list[str]]] = [
    (storage_encrypted, [INSTANCE, CLUSTER]),
    (not_publicly_accessible, [INSTANCE, CLUSTER, CLUSTER_INSTANCE]),
    (backup_retention, [INSTANCE, CLUSTER]),
    (multi_az, [INSTANCE]),
    (deletion_protection, [INSTANCE, CLUSTER]),
    (iam_authentication, [INSTANCE, CLUSTER]),
    (final_snapshot, [INSTANCE, CLUSTER]),
    (managed_master_password, [INSTANCE, CLUSTER]),
    (performance_insights, [INSTANCE, CLUSTER_INSTANCE]),
    (log_exports, [INSTANCE, CLUSTER]),
]
PAIRS = [(p, t) for p, types in RESOURCE_POLICIES for t in types]


@pytest.mark.parametrize(
    ("policy", "type_"), PAIRS, ids=[f"{p.name}-{t.rsplit(':', 1)[-1]}" for p, t in PAIRS]
)
def test_baseline_is_compliant(policy: Policy, type_: str) -> None:
    assert_compliant(run(policy, db(type_)))


VIOLATIONS: list[tuple[Policy, str, dict[str, Any], str]] = [
    (storage_encrypted, INSTANCE, {"storageEncrypted": False}, "storageEncrypted is false"),
    (storage_encrypted, CLUSTER, {"storageEncrypted": False}, "storageEncrypted is false"),
    (storage_encrypted, INSTANCE, {"kmsKeyId": "alias/aws/rds"}, "AWS-managed key alias/aws/rds"),
    (not_publicly_accessible, INSTANCE, {"publiclyAccessible": True}, "publiclyAccessible is true"),
    (not_publicly_accessible, CLUSTER, {"publiclyAccessible": True}, "publiclyAccessible is true"),
    (
        not_publicly_accessible,
        CLUSTER_INSTANCE,
        {"publiclyAccessible": True},
        "publiclyAccessible is true",
    ),
    (backup_retention, INSTANCE, {"backupRetentionPeriod": 14}, "is 14 days"),
    (backup_retention, CLUSTER, {"backupRetentionPeriod": 0}, "disables automated backups"),
    (multi_az, INSTANCE, {"multiAz": False}, "multiAz is not true in production stack 'prod'"),
    (deletion_protection, INSTANCE, {"deletionProtection": False}, "deletionProtection is not"),
    (deletion_protection, CLUSTER, {"deletionProtection": False}, "deletionProtection is not"),
    (
        iam_authentication,
        INSTANCE,
        {"iamDatabaseAuthenticationEnabled": False},
        "iamDatabaseAuthenticationEnabled is not true",
    ),
    (final_snapshot, INSTANCE, {"skipFinalSnapshot": True}, "skipFinalSnapshot is true"),
    (final_snapshot, CLUSTER, {"skipFinalSnapshot": True}, "skipFinalSnapshot is true"),
    (
        managed_master_password,
        INSTANCE,
        {"password": "hunter2-hunter2", "manageMasterUserPassword": None},
        "set in the program (password): let RDS manage and rotate the master password",
    ),
    (
        managed_master_password,
        CLUSTER,
        {"masterPassword": "hunter2-hunter2", "manageMasterUserPassword": None},
        "(masterPassword)",
    ),
    (
        managed_master_password,
        INSTANCE,
        {"passwordWo": "hunter2-hunter2", "passwordWoVersion": 1},
        "(passwordWo)",
    ),
    (
        performance_insights,
        INSTANCE,
        {"performanceInsightsEnabled": False},
        "performanceInsightsEnabled is not true",
    ),
    (
        performance_insights,
        CLUSTER_INSTANCE,
        {"performanceInsightsKmsKeyId": "arn:aws:kms:eu-west-1:1:alias/aws/rds"},
        "AWS-managed key",
    ),
    (
        log_exports,
        INSTANCE,
        {"enabledCloudwatchLogsExports": ["upgrade"]},
        "does not include 'postgresql'",
    ),
    (
        log_exports,
        INSTANCE,
        {"engine": "mysql", "enabledCloudwatchLogsExports": []},
        "enabledCloudwatchLogsExports is empty",
    ),
]


@pytest.mark.parametrize(
    ("policy", "type_", "changes", "expected"),
    VIOLATIONS,
    ids=case_ids(VIOLATIONS),
)
def test_one_changed_property_is_a_violation(
    policy: Policy, type_: str, changes: dict[str, Any], expected: str
) -> None:
    assert_violation(run(policy, db(type_, **changes)), policy, expected)


MISSING: list[tuple[Policy, str, str, str | None]] = [
    (storage_encrypted, INSTANCE, "storageEncrypted", "not set and AWS defaults it to false"),
    (storage_encrypted, CLUSTER, "kmsKeyId", "set kmsKeyId to a customer-managed KMS key"),
    (not_publicly_accessible, INSTANCE, "publiclyAccessible", None),
    (not_publicly_accessible, CLUSTER_INSTANCE, "publiclyAccessible", None),
    (backup_retention, INSTANCE, "backupRetentionPeriod", "not set (AWS default 1 day)"),
    (multi_az, INSTANCE, "multiAz", "unset means false"),
    (deletion_protection, CLUSTER, "deletionProtection", "unset means false"),
    (iam_authentication, INSTANCE, "iamDatabaseAuthenticationEnabled", "unset means false"),
    (final_snapshot, INSTANCE, "skipFinalSnapshot", None),
    (managed_master_password, INSTANCE, "manageMasterUserPassword", None),
    (performance_insights, INSTANCE, "performanceInsightsEnabled", "unset means false"),
    (
        performance_insights,
        INSTANCE,
        "performanceInsightsKmsKeyId",
        "set performanceInsightsKmsKeyId",
    ),
    (log_exports, CLUSTER, "enabledCloudwatchLogsExports", "does not include 'postgresql'"),
]


@pytest.mark.parametrize(
    ("policy", "type_", "key", "expected"),
    MISSING,
    ids=[f"{p.name}-{k}" for p, _t, k, _e in MISSING],
)
def test_missing_property_reads_the_aws_default(
    policy: Policy, type_: str, key: str, expected: str | None
) -> None:
    missing: dict[str, Any] = {key: None}
    assert_missing(run(policy, db(type_, **missing)), policy, expected)


WRONG_TYPES: list[tuple[Policy, str, dict[str, Any], str]] = [
    (storage_encrypted, INSTANCE, {"storageEncrypted": "true"}, "storageEncrypted must be true"),
    (storage_encrypted, INSTANCE, {"kmsKeyId": 5}, "kmsKeyId must be a string"),
    (not_publicly_accessible, INSTANCE, {"publiclyAccessible": "no"}, "must be true or false"),
    (backup_retention, INSTANCE, {"backupRetentionPeriod": "35"}, "must be a number"),
    (multi_az, INSTANCE, {"multiAz": 1}, "multiAz must be true or false"),
    (deletion_protection, CLUSTER, {"deletionProtection": "yes"}, "must be true or false"),
    (iam_authentication, INSTANCE, {"engine": ["postgres"]}, "engine must be a string"),
    (final_snapshot, INSTANCE, {"skipFinalSnapshot": "false"}, "must be true or false"),
    (performance_insights, INSTANCE, {"performanceInsightsEnabled": 1}, "true or false"),
    (log_exports, INSTANCE, {"enabledCloudwatchLogsExports": "postgresql"}, "array of strings"),
]


@pytest.mark.parametrize(
    ("policy", "type_", "changes", "expected"),
    WRONG_TYPES,
    ids=case_ids(WRONG_TYPES),
)
def test_wrongly_typed_prop_is_a_violation(
    policy: Policy, type_: str, changes: dict[str, Any], expected: str
) -> None:
    assert_wrong_type(run(policy, db(type_, **changes)), expected)


UNKNOWNS: list[tuple[Policy, dict[str, Any]]] = [
    (storage_encrypted, {"kmsKeyId": UNKNOWN}),
    (not_publicly_accessible, {"publiclyAccessible": UNKNOWN}),
    (backup_retention, {"backupRetentionPeriod": UNKNOWN}),
    (multi_az, {"multiAz": UNKNOWN}),
    (deletion_protection, {"deletionProtection": UNKNOWN}),
    (iam_authentication, {"iamDatabaseAuthenticationEnabled": UNKNOWN}),
    (final_snapshot, {"skipFinalSnapshot": UNKNOWN}),
    (managed_master_password, {"password": UNKNOWN}),
    (performance_insights, {"performanceInsightsKmsKeyId": UNKNOWN}),
    (log_exports, {"enabledCloudwatchLogsExports": [UNKNOWN]}),
]


@pytest.mark.parametrize(("policy", "changes"), UNKNOWNS, ids=[p.name for p, _c in UNKNOWNS])
def test_unknown_value_is_a_note(policy: Policy, changes: dict[str, Any]) -> None:
    assert_unknown_is_a_note(run(policy, db(**changes)), policy)


# --- details -------------------------------------------------------------------------------------


def test_password_value_never_appears_in_a_message() -> None:
    for value in ("hunter2-hunter2", 12345678, ["hunter2"]):
        [finding] = run(managed_master_password, db(password=value))
        assert finding.kind == "violation"
        assert "hunter2" not in finding.message and "12345678" not in finding.message


def test_empty_password_is_not_a_password() -> None:
    assert run(managed_master_password, db(password="")) == []


@pytest.mark.parametrize(
    ("stack", "days", "ok"),
    [
        ("dev", 7, True),
        ("dev", 6, False),
        ("staging", 14, True),
        ("staging", 13, False),
        ("prod", 35, True),
        ("prod", 34, False),
        ("prod-dr", 7, True),
        ("sandbox", 6, False),
    ],
)
def test_backup_minimum_per_stack(stack: str, days: int, ok: bool) -> None:
    found = run(backup_retention, db(stack=stack, backupRetentionPeriod=days), stack=stack)
    assert (found == []) is ok
    if not ok:
        assert f"stack {stack!r} needs at least" in found[0].message


def test_backup_minimum_comes_from_config() -> None:
    config: dict[str, Any] = {"minimumBackupRetentionDays": {"prod": 30}}
    assert run(backup_retention, db(backupRetentionPeriod=30), **config) == []
    [finding] = run(backup_retention, db(stack="dev", backupRetentionPeriod=3), "dev", **config)
    assert "needs at least 7 days" in finding.message


def test_malformed_backup_config_is_a_policy_error() -> None:
    found = run(backup_retention, db(), minimumBackupRetentionDays={"prod": "35"})
    assert [f.kind for f in found] == ["error"]


def test_backup_config_is_declared_with_its_default() -> None:
    schema = backup_retention.config_schema
    assert schema is not None
    assert schema.properties["minimumBackupRetentionDays"]["default"] == {
        "dev": 7,
        "staging": 14,
        "prod": 35,
    }


@pytest.mark.parametrize("policy", [multi_az, deletion_protection, final_snapshot])
@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_production_rules_do_not_apply_elsewhere(policy: Policy, stack: str) -> None:
    loose = db(stack=stack, multiAz=False, deletionProtection=False, skipFinalSnapshot=True)
    assert run(policy, loose, stack=stack) == []


@pytest.mark.parametrize("policy", [multi_az, deletion_protection, final_snapshot])
def test_production_stacks_come_from_config(policy: Policy) -> None:
    loose = db(stack="live", multiAz=False, deletionProtection=False, skipFinalSnapshot=True)
    assert len(violations(run(policy, loose, "live", productionStacks=["live"]))) == 1
    assert policy.config_schema is not None
    assert policy.config_schema.properties["productionStacks"]["default"] == ["prod", "prod-dr"]


@pytest.mark.parametrize("engine", ["sqlserver-se", "oracle-ee", "custom-oracle-ee", "db2-se"])
def test_iam_authentication_not_applicable_to_engines_without_it(engine: str) -> None:
    res = db(engine=engine, iamDatabaseAuthenticationEnabled=False)
    assert run(iam_authentication, res) == []


def test_performance_insights_of_an_aurora_cluster_is_set_on_its_instances() -> None:
    assert run(performance_insights, db(CLUSTER)) == []
    cluster = db(CLUSTER, engine="postgres", dbClusterInstanceClass="db.m6gd.large")
    assert "performanceInsightsEnabled" in run(performance_insights, cluster)[0].message


def test_advisory_levels() -> None:
    [finding] = run(log_exports, db(enabledCloudwatchLogsExports=None))
    assert finding.enforcement == "advisory" and not finding.blocking


# --- stack: TLS forced by the parameter group ---------------------------------------------------


def group(type_: str = PARAMETER_GROUP, name: str = "db-params", **parameters: Any) -> Resource:
    params = parameters or {"rds.force_ssl": "1"}
    items = [{"name": k, "value": v, "applyMethod": "pending-reboot"} for k, v in params.items()]
    family = "postgres16" if type_ == PARAMETER_GROUP else "aurora-postgresql16"
    return resource(type_, {"family": family, "parameters": items}, name=name, stack="prod")


def database_on(grp: Resource | None, type_: str = INSTANCE, **changes: Any) -> Resource:
    props = {**BASE[type_], **changes}
    props = {k: v for k, v in props.items() if v is not None}
    deps = [grp] if grp is not None else []
    return resource(type_, props, name="db", stack="prod", dependencies=deps)


def tls_findings(*resources: Resource) -> list[Any]:
    return findings_for(force_tls, resources, stack="prod")


def test_instance_with_force_ssl_group_is_compliant() -> None:
    grp = group()
    assert tls_findings(grp, database_on(grp)) == []


def test_cluster_with_force_ssl_cluster_group_is_compliant() -> None:
    grp = group(CLUSTER_PARAMETER_GROUP, "db-cluster-params")
    assert tls_findings(grp, database_on(grp, CLUSTER)) == []


def test_mysql_uses_require_secure_transport() -> None:
    grp = group(require_secure_transport="ON")
    assert tls_findings(grp, database_on(grp, engine="mysql")) == []
    wrong = group(**{"rds.force_ssl": "1"})
    [finding] = tls_findings(wrong, database_on(wrong, engine="mysql"))
    assert "require_secure_transport is not set" in finding.message


@pytest.mark.parametrize(("value", "got"), [("0", "'0'"), (None, "not set")])
def test_group_that_does_not_force_ssl_is_a_violation(value: Any, got: str) -> None:
    grp = group(**({"rds.force_ssl": value} if value else {"log_connections": "1"}))
    db_ = database_on(grp)
    [finding] = tls_findings(grp, db_)
    assert finding.policy == "aws-rds-force-tls" and finding.urn == db_.urn
    assert f"rds.force_ssl is {got}, must be 1" in finding.message


def test_instance_without_custom_group_is_a_violation() -> None:
    db_ = database_on(None, parameterGroupName=None)
    [finding] = tls_findings(db_)
    assert finding.urn == db_.urn
    assert "the default group does not force TLS" in finding.message


def test_group_of_the_other_kind_does_not_count() -> None:
    """An instance is joined to ParameterGroups only, a cluster to ClusterParameterGroups."""
    grp = group(CLUSTER_PARAMETER_GROUP)
    assert len(violations(tls_findings(grp, database_on(grp)))) == 1


def test_group_without_dependency_does_not_count() -> None:
    grp = group()
    assert len(violations(tls_findings(grp, database_on(None)))) == 1


def test_parameters_of_the_wrong_type_are_a_violation() -> None:
    grp = resource(PARAMETER_GROUP, {"parameters": {"rds.force_ssl": "1"}}, stack="prod")
    found = tls_findings(grp, database_on(grp))
    assert [f.kind for f in found] == ["violation"]
    assert "parameters must be an array" in found[0].message
    parameters: dict[str, Any] = {"rds.force_ssl": 1}
    grp = group(**parameters)
    found = tls_findings(grp, database_on(grp))
    assert [f.kind for f in found] == ["violation"]
    assert "value must be a string" in found[0].message


def test_unknown_parameter_value_is_a_note() -> None:
    grp = group(**{"rds.force_ssl": UNKNOWN})
    [finding] = tls_findings(grp, database_on(grp))
    assert finding.kind == "note"
