"""GCS usage logs (CKV_GCP_62) and Data Access audit logs (CKV2_GCP_5), two stack policies."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from offline.graph import UNKNOWN, Resource
from policies.ttbt2_policies.gcp import (
    BUCKET,
    PROJECT_AUDIT_CONFIG,
    storage_bucket_access_logging,
    storage_data_access_audit,
)
from tests.conftest import of_type, render
from tests.support.policies import findings_for, resource, without_none

PROJECT = "ttbt2-analytics-prod"
LOGS_NAME = f"{PROJECT}-access-logs"
ALL_TYPES = [{"logType": t} for t in ("ADMIN_READ", "DATA_READ", "DATA_WRITE")]


def log_bucket(**changes: Any) -> Resource:
    base = {
        "name": LOGS_NAME,
        "project": PROJECT,
        "location": "EUR4",
        "labels": {"project": "ttbt2", "purpose": "access-logs"},
    }
    return resource(BUCKET, without_none(base, changes), name="logs")


def data_bucket(target: Resource | None, *, name: str = "landing", **changes: Any) -> Resource:
    """A bucket logging into ``target`` (its ``logging`` input depends on it)."""
    base = {
        "name": f"{PROJECT}-{name}",
        "project": PROJECT,
        "location": "EUR4",
        "labels": {"project": "ttbt2"},
        "logging": {"logBucket": LOGS_NAME, "logObjectPrefix": f"{name}/"},
    }
    bucket = resource(
        BUCKET, without_none(base, changes), name=name, dependencies=[target] if target else []
    )
    if target is None:
        return bucket
    return dataclasses.replace(bucket, property_dependencies={"logging": [target.urn]})


def audit_config(**changes: Any) -> Resource:
    base = {"project": PROJECT, "service": "storage.googleapis.com", "auditLogConfigs": ALL_TYPES}
    return resource(PROJECT_AUDIT_CONFIG, without_none(base, changes), name="storage-audit")


def logging_findings(*resources: Resource) -> list[tuple[str, str]]:
    found = findings_for(storage_bucket_access_logging, resources)
    assert all(f.kind == "violation" and f.enforcement == "mandatory" for f in found), found
    return [(f.urn, f.message) for f in found]


def audit_findings(*resources: Resource) -> list[tuple[str, str]]:
    found = findings_for(storage_data_access_audit, resources)
    assert all(f.kind == "violation" and f.enforcement == "mandatory" for f in found), found
    return [(f.urn, f.message) for f in found]


# --- gcp-storage-bucket-access-logging -----------------------------------------------------------


def test_logged_bucket_and_its_log_bucket_are_compliant() -> None:
    logs = log_bucket()
    assert logging_findings(logs, data_bucket(logs)) == []


def test_bucket_without_logging_violates() -> None:
    """The missing-property case: no ``logging`` input, and GCS's default is no usage logs."""
    bucket = data_bucket(None, logging=None)
    [(urn, message)] = logging_findings(bucket)
    assert urn == bucket.urn
    assert "has no access logging: logging is not set and GCS keeps no usage logs" in message


@pytest.mark.parametrize("logging", [{"logBucket": ""}, {"logObjectPrefix": "landing/"}])
def test_logging_without_a_log_bucket_violates(logging: dict[str, Any]) -> None:
    [(_, message)] = logging_findings(data_bucket(None, logging=logging))
    assert "has no access logging: logging.logBucket is not set" in message


def test_label_alone_does_not_exempt_a_bucket_nobody_logs_into() -> None:
    """The exemption cannot be claimed silently: a labelled bucket must receive logs."""
    logs = log_bucket()
    [(urn, message)] = logging_findings(logs)
    assert urn == logs.urn
    assert "labelled purpose: access-logs but no bucket of the stack sends" in message


def test_receiving_logs_without_the_label_is_no_exemption() -> None:
    logs = log_bucket(labels={"project": "ttbt2"})
    [(urn, message)] = logging_findings(logs, data_bucket(logs))
    assert urn == logs.urn and "has no access logging" in message


def test_log_bucket_without_labels_violates() -> None:
    """The missing-property case of the exemption: no ``labels``, so no declared log bucket."""
    logs = log_bucket(labels=None)
    [(urn, message)] = logging_findings(logs, data_bucket(logs))
    assert urn == logs.urn and "has no access logging" in message


def test_only_the_logging_input_makes_a_log_target() -> None:
    """A bucket that depends on the log bucket for another input does not log into it."""
    logs = log_bucket()
    other = dataclasses.replace(
        data_bucket(logs, logging={"logBucket": "elsewhere"}),
        property_dependencies={"encryption": [logs.urn]},
    )
    [(urn, _)] = logging_findings(logs, other)
    assert urn == logs.urn


def test_without_property_dependencies_the_log_bucket_name_decides() -> None:
    logs = log_bucket()
    by_name = dataclasses.replace(data_bucket(logs), property_dependencies={})
    assert logging_findings(logs, by_name) == []
    elsewhere = dataclasses.replace(
        data_bucket(logs, logging={"logBucket": "elsewhere"}), property_dependencies={}
    )
    assert [urn for urn, _ in logging_findings(logs, elsewhere)] == [logs.urn]


def test_wrongly_typed_logging_is_one_violation() -> None:
    bucket = data_bucket(None, logging="gs://logs")
    [(urn, message)] = logging_findings(bucket)
    assert urn == bucket.urn and "logging must be an object" in message


def test_unknown_log_bucket_waits_for_apply() -> None:
    found = findings_for(
        storage_bucket_access_logging, [data_bucket(None, logging={"logBucket": UNKNOWN})]
    )
    assert [f.kind for f in found] == ["note"]


# --- gcp-storage-data-access-audit ---------------------------------------------------------------


def test_project_with_storage_audit_config_is_compliant() -> None:
    assert audit_findings(data_bucket(None), audit_config()) == []


def test_all_services_and_storage_configs_add_up() -> None:
    """Google takes the union of the allServices and the service's own config."""
    reads = audit_config(auditLogConfigs=[{"logType": "DATA_READ"}])
    writes = dataclasses.replace(
        audit_config(service="allServices", auditLogConfigs=[{"logType": "DATA_WRITE"}]),
        urn=audit_config().urn + "-all",
        name="all-services-audit",
    )
    assert audit_findings(data_bucket(None), reads, writes) == []
    [(_, message)] = audit_findings(data_bucket(None), reads)
    assert "(storage-audit) do not enable DATA_WRITE" in message


def test_project_without_audit_config_violates() -> None:
    bucket = data_bucket(None)
    [(urn, message)] = audit_findings(bucket)
    assert urn == bucket.urn
    assert f"project {PROJECT} has no IAMAuditConfig for storage.googleapis.com" in message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"project": "another-project"}, f"project {PROJECT} has no IAMAuditConfig"),
        ({"service": "bigquery.googleapis.com"}, "has no IAMAuditConfig"),
        ({"auditLogConfigs": [{"logType": "ADMIN_READ"}]}, "do not enable DATA_READ, DATA_WRITE"),
        (
            {
                "auditLogConfigs": [
                    {"logType": "DATA_READ", "exemptedMembers": ["user:ops@ttbt2.example"]},
                    {"logType": "DATA_WRITE"},
                ]
            },
            "exempts user:ops@ttbt2.example from DATA_READ audit logs",
        ),
    ],
)
def test_audit_config_that_misses_the_bucket_violates(
    changes: dict[str, Any], expected: str
) -> None:
    bucket = data_bucket(None)
    [(urn, message)] = audit_findings(bucket, audit_config(**changes))
    assert urn == bucket.urn
    assert expected in message


def test_audit_config_without_log_configs_violates() -> None:
    """The missing-property case: no ``auditLogConfigs``, so no log type is enabled."""
    [(_, message)] = audit_findings(data_bucket(None), audit_config(auditLogConfigs=None))
    assert "do not enable DATA_READ, DATA_WRITE" in message


def test_bucket_without_project_is_in_its_provider_project() -> None:
    """The missing-property case of the bucket: the provider's ``project`` decides."""
    provider = resource("pulumi:providers:gcp", {"project": PROJECT}, name="gcp")
    bucket = resource(BUCKET, {"name": "b", "location": "EUR4"}, provider=provider)
    assert audit_findings(provider, bucket, audit_config()) == []
    elsewhere = resource("pulumi:providers:gcp", {"project": "other"}, name="gcp-other")
    moved = resource(BUCKET, {"name": "b", "location": "EUR4"}, provider=elsewhere)
    [(_, message)] = audit_findings(elsewhere, moved, audit_config())
    assert "project other has no IAMAuditConfig" in message


def test_wrongly_typed_audit_config_is_reported_on_it() -> None:
    config = audit_config(auditLogConfigs=[{"logType": "DATA_READ", "exemptedMembers": "x"}])
    found = audit_findings(data_bucket(None), config)
    assert (config.urn, found[0][1]) in found
    assert "auditLogConfigs[0].exemptedMembers must be an array of strings" in found[0][1]


def test_unknown_log_type_waits_for_apply() -> None:
    config = audit_config(auditLogConfigs=[{"logType": UNKNOWN}])
    found = findings_for(storage_data_access_audit, [data_bucket(None), config])
    assert [f.kind for f in found] == ["note"]


def test_stack_without_buckets_needs_no_audit_config() -> None:
    assert audit_findings(audit_config(auditLogConfigs=None)) == []


# --- the real stacks -----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_real_stacks_log_their_buckets_and_audit_storage(stack: str) -> None:
    graph = render(stack)
    assert len(of_type(graph, BUCKET)) == 2, "the landing bucket and its log bucket"
    for policy in (storage_bucket_access_logging, storage_data_access_audit):
        assert findings_for(policy, graph.resources, stack=stack) == [], policy.name
