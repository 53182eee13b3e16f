"""Whole stacks: every data store says what data it holds; logs of real data are redacted."""

from __future__ import annotations

import json

import pytest

from offline.evaluate import evaluate
from policies.ttbt2_policies.classification import (
    LOG_RETENTION_CEILING_DAYS,
    PIPELINE_CONFIG_KEY,
    STACK_CLASSIFICATIONS,
    TAG,
)
from policies.ttbt2_policies.data_privacy import (
    DATA_STORES,
    POLICIES,
    delete_after_days,
    unredacted,
)
from tests.conftest import STACKS, one, render


@pytest.mark.parametrize("stack", STACKS)
def test_every_data_store_carries_its_stack_classification(stack: str) -> None:
    expected = STACK_CLASSIFICATIONS[stack]
    stores = [r for r in render(stack).resources if r.type in DATA_STORES]
    assert stores
    for res in stores:
        assert (res.props.get(DATA_STORES[res.type]) or {}).get(TAG) == expected, res.urn


def test_prod_counts_its_dr_copies_backup_vaults_and_log_buckets_as_data_stores() -> None:
    names = {r.name for r in render("prod").resources if r.type in DATA_STORES}
    for part in ("dr-user-data", "dr-backups", "dr-logs", "-logs-bucket", "backup-dr-vault"):
        assert any(part in name for name in names), (part, sorted(names))


@pytest.mark.parametrize("stack", STACKS)
def test_the_rendered_log_pipeline_redacts_and_retention_follows_the_class(stack: str) -> None:
    graph = render(stack)
    setup = one(graph, "kubernetes:core/v1:ConfigMap", "es-setup")
    pipeline = json.loads(setup.props["data"][PIPELINE_CONFIG_KEY])
    assert unredacted(pipeline) == []
    tags = {p["gsub"]["tag"] for p in pipeline["processors"]}
    # Client IPs are masked where the data is real (logRedactIps unset: on for real data).
    assert ("redact-ipv4" in tags) is (STACK_CLASSIFICATIONS[stack] == "real")
    days = delete_after_days(json.loads(setup.props["data"]["ilm-policy.json"]))
    assert days is not None
    assert days <= LOG_RETENTION_CEILING_DAYS[STACK_CLASSIFICATIONS[stack]]


@pytest.mark.parametrize("stack", STACKS)
def test_the_data_privacy_policies_pass_on_every_stack(stack: str) -> None:
    findings = [f for f in evaluate(render(stack), POLICIES) if f.kind != "note"]
    assert findings == []
