"""The landing bucket's request logs: the usage-log bucket and the Data Access audit config."""

from __future__ import annotations

from typing import Any

import pytest

from components.gcp.analytics import AnalyticsArgs
from components.gcp.request_logs import RequestLogsArgs
from config import parse_raw
from offline.graph import UNKNOWN, Resource, StackGraph
from tests.components.gcp.analytics_program import (
    LABELS,
    PROJECT,
    WRITER_ARN,
    analytics_graph,
    render_analytics,
)
from tests.conftest import of_type, one, raw_settings, render

BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_gcp.*")
MODES = [pytest.param(True, id="preview"), pytest.param(False, id="update")]


def _log_bucket(graph: StackGraph) -> Resource:
    return one(graph, BUCKET, "request-logs-bucket")


@pytest.mark.parametrize("preview", MODES)
def test_landing_bucket_sends_its_usage_logs_to_the_log_bucket(preview: bool) -> None:
    graph = analytics_graph(preview)
    landing, logs = one(graph, BUCKET, "landing"), _log_bucket(graph)
    assert landing.property_dependencies.get("logging") == [logs.urn]
    assert landing.props["logging"]["logObjectPrefix"] == "ttbt2-dev-landing/"
    assert landing.props["logging"]["logBucket"] in (logs.props["name"], UNKNOWN)
    if not preview:
        assert landing.props["logging"]["logBucket"] == f"{PROJECT}-ttbt2-dev-access-logs"
    # The log bucket is the receiver, not a sender: it logs nowhere, itself included.
    assert "logging" not in logs.props


@pytest.mark.parametrize("preview", MODES)
def test_log_bucket_is_private_encrypted_and_beside_the_landing_bucket(preview: bool) -> None:
    graph = analytics_graph(preview)
    logs = _log_bucket(graph)
    props = logs.props
    assert props["project"] == PROJECT
    assert props["location"] == "EUR4"
    assert props["rpo"] == "ASYNC_TURBO"
    assert props["uniformBucketLevelAccess"] is True
    assert props["publicAccessPrevention"] == "enforced"
    assert props["labels"] == {**LABELS, "purpose": "access-logs"}
    # The landing bucket's key: the one of this dual-region, which the GCS agent may use.
    landing_key = one(graph, "gcp:kms/cryptoKey:CryptoKey", "landing-key")
    assert logs.property_dependencies.get("encryption") == [landing_key.urn]
    assert props["encryption"]["defaultKmsKeyName"]
    moved = _log_bucket(render_analytics(preview, landing_location="NAM4"))
    assert moved.props["location"] == "NAM4"


@pytest.mark.parametrize("preview", MODES)
@pytest.mark.parametrize("days", [None, 365])
def test_log_objects_are_kept_for_the_retention_then_deleted(
    preview: bool, days: int | None
) -> None:
    graph = (
        analytics_graph(preview)
        if days is None
        else render_analytics(preview, access_log_retention_days=days)
    )
    expected = 90 if days is None else days
    props = _log_bucket(graph).props
    assert props["retentionPolicy"] == {"retentionPeriod": str(expected * 86400)}
    assert props["lifecycleRules"] == [
        {"action": {"type": "Delete"}, "condition": {"age": expected}}
    ]
    assert "versioning" not in props


@pytest.mark.parametrize("preview", MODES)
def test_google_log_delivery_may_only_create_objects_in_the_log_bucket(preview: bool) -> None:
    graph = analytics_graph(preview)
    logs = _log_bucket(graph)
    writer = one(graph, BUCKET_IAM_MEMBER, "request-logs-writer")
    assert writer.props["member"] == "group:cloud-storage-analytics@google.com"
    assert writer.props["role"] == "roles/storage.objectCreator"
    assert writer.property_dependencies.get("bucket") == [logs.urn]
    granted = [
        m
        for m in of_type(graph, BUCKET_IAM_MEMBER)
        if "cloud-storage-analytics" in str(m.props["member"])
    ]
    assert granted == [writer]


@pytest.mark.parametrize("preview", MODES)
def test_data_access_audit_logs_are_on_for_cloud_storage(preview: bool) -> None:
    audit = one(analytics_graph(preview), AUDIT_CONFIG)
    assert audit.props["project"] == PROJECT
    assert audit.props["service"] == "storage.googleapis.com"
    # No exemptedMembers anywhere: every principal's reads and writes are recorded.
    assert audit.props["auditLogConfigs"] == [
        {"logType": "ADMIN_READ"},
        {"logType": "DATA_READ"},
        {"logType": "DATA_WRITE"},
    ]


@pytest.mark.parametrize("preview", MODES)
def test_children_wait_for_the_storage_api_and_the_agent_key_grant(preview: bool) -> None:
    graph = analytics_graph(preview)
    api = next(
        s for s in of_type(graph, "gcp:projects/service:Service") if "storage" in s.props["service"]
    )
    grant = one(graph, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "storage")
    component = one(graph, "ttbt2:gcp:RequestLogs")
    children = [r for r in graph.resources if r.parent == component.urn]
    assert {r.type for r in children} == {BUCKET, BUCKET_IAM_MEMBER, AUDIT_CONFIG}
    for child in children:
        assert child.name.startswith("analytics-request-logs-")
        assert {api.urn, grant.urn} <= set(child.dependencies), child.name


@pytest.mark.parametrize("protect", [False, True])
def test_log_bucket_protected_when_asked(protect: bool) -> None:
    graph = render_analytics(False, protect=protect) if protect else analytics_graph(False)
    assert bool(_log_bucket(graph).option("protect")) is protect


def _args(**overrides: Any) -> RequestLogsArgs:
    values: dict[str, Any] = {
        "project": PROJECT,
        "environment": "dev",
        "location": "EUR4",
        "kms_key_name": "projects/p/locations/eur4/keyRings/r/cryptoKeys/k",
        "retention_days": 30,
        "labels": {},
        **overrides,
    }
    return RequestLogsArgs(**values)


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_retention_out_of_range_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match=f"retention_days must be between 1 and 3650, got {days}"):
        _args(retention_days=days)


def test_log_bucket_location_must_be_a_dual_region() -> None:
    with pytest.raises(ValueError, match="location must be a predefined dual-region"):
        _args(location="europe-west1")


def test_analytics_refuses_a_retention_below_one_day() -> None:
    with pytest.raises(ValueError, match="access_log_retention_days must be at least 1, got 0"):
        AnalyticsArgs(
            project=PROJECT,
            region="europe-west1",
            environment="dev",
            labels={},
            aws_account_id="123456789012",
            aws_writer_role_arn=WRITER_ARN,
            access_log_retention_days=0,
        )


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_real_stacks_keep_usage_logs_for_the_stack_retention(stack: str) -> None:
    graph = render(stack)
    days = parse_raw(stack, raw_settings(stack)).edge.access_log_retention_days
    logs = _log_bucket(graph)
    assert logs.props["retentionPolicy"]["retentionPeriod"] == str(days * 86400)
    assert logs.props["lifecycleRules"][0]["condition"]["age"] == days
    landing = one(graph, BUCKET, "analytics-landing")
    assert landing.props["logging"]["logBucket"] == logs.props["name"]
    assert bool(logs.option("protect")) is (stack == "prod")
