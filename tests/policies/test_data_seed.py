"""A non-production database restores only an anonymisation pipeline's output (seed 4.2)."""

from __future__ import annotations

from typing import Any

import pytest

from offline.graph import Resource
from policies.ttbt2_policies.data_seed import (
    anonymised_snapshot_name,
    is_anonymised_snapshot,
    seed_from_anonymised,
)
from tests.support.policies import (
    UNKNOWN,
    assert_compliant,
    assert_missing,
    assert_unknown_is_a_note,
    assert_violation,
    assert_wrong_type,
    findings_for,
    resource,
    without_none,
)

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
BASE: dict[str, Any] = {
    "engine": "postgres",
    "instanceClass": "db.m7g.large",
    "snapshotIdentifier": "ttbt2-anonymised-2026-12-01",
}


def db(type_: str = INSTANCE, stack: str = "staging", **changes: Any) -> Resource:
    return resource(type_, without_none(BASE, changes), name="db", stack=stack)


def run(res: Resource, stack: str = "staging", **config: Any) -> list[Any]:
    return findings_for(seed_from_anonymised, [res], stack=stack, config=config or None)


@pytest.mark.parametrize("type_", [INSTANCE, CLUSTER])
@pytest.mark.parametrize(
    "snapshot",
    [
        "ttbt2-anonymised-2026-12-01",
        "ttbt2-anonymised-2026-11",
        "arn:aws:rds:eu-west-1:222222222222:snapshot:ttbt2-anonymised-2026-12-01",
    ],
)
def test_anonymised_output_is_compliant(type_: str, snapshot: str) -> None:
    assert_compliant(run(db(type_, snapshotIdentifier=snapshot)))


@pytest.mark.parametrize("type_", [INSTANCE, CLUSTER])
@pytest.mark.parametrize(
    "snapshot",
    [
        "ttbt2-prod-db-final",
        "rds:ttbt2-prod-db-2026-12-01-02-10",
        "ttbt2-anonymised-latest",
        "ttbt2-anonymised-2026-13-01",
        "copy-of-ttbt2-anonymised-2026-12-01",
    ],
)
def test_any_other_snapshot_is_a_violation(type_: str, snapshot: str) -> None:
    found = run(db(type_, snapshotIdentifier=snapshot))
    assert_violation(
        found, seed_from_anonymised, "is not an anonymisation pipeline output", mandatory=True
    )
    assert snapshot in found[0].message


def test_missing_snapshot_is_an_empty_database() -> None:
    assert_missing(run(db(snapshotIdentifier=None)), seed_from_anonymised, None)


def test_production_restores_its_own_snapshots() -> None:
    assert_compliant(run(db(stack="prod", snapshotIdentifier="ttbt2-prod-db-final"), stack="prod"))


def test_production_stacks_come_from_config() -> None:
    res = db(stack="live", snapshotIdentifier="ttbt2-prod-db-final")
    assert_violation(run(res, stack="live"), seed_from_anonymised, "not an anonymisation")
    assert_compliant(run(res, stack="live", productionStacks=["live"]))


def test_wrongly_typed_snapshot_is_a_violation() -> None:
    assert_wrong_type(run(db(snapshotIdentifier=42)), "snapshotIdentifier")


def test_unknown_snapshot_is_a_note() -> None:
    assert_unknown_is_a_note(run(db(snapshotIdentifier=UNKNOWN)), seed_from_anonymised)


def test_output_name_of_a_run() -> None:
    name = anonymised_snapshot_name("2026-12-04")
    assert name == "ttbt2-anonymised-2026-12-04"
    assert is_anonymised_snapshot(name)
    with pytest.raises(ValueError, match="not a date"):
        anonymised_snapshot_name("2026-12-4")
