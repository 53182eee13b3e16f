"""Settings of the data pipelines: synthetic data, the anonymisation pipeline and its PII list."""

from __future__ import annotations

from typing import Any

import pytest

from config import SettingsError, parse_raw
from config.problems import Problem
from tests.conftest import raw_settings

PII = [
    {"table": "customers", "column": "email", "strategy": "email"},
    {"table": "app.sessions", "column": "client_ip", "strategy": "null"},
]


def _problems(stack: str, **changes: Any) -> list[Problem]:
    raw = {**raw_settings(stack), **changes}
    with pytest.raises(SettingsError) as info:
        parse_raw(stack, raw)
    return info.value.problems


def test_the_stacks_configure_the_pipelines_where_they_belong() -> None:
    dev = parse_raw("dev", raw_settings("dev"))
    prod = parse_raw("prod", raw_settings("prod"))
    staging = parse_raw("staging", raw_settings("staging"))
    assert dev.data_pipelines.synthetic_data_enabled
    assert prod.data_pipelines.anonymisation_enabled
    assert {p.strategy for p in prod.data_pipelines.pii_columns} == {
        "email",
        "hash",
        "null",
        "redact",
    }
    assert not staging.data_pipelines.synthetic_data_enabled
    assert not staging.data_pipelines.pii_columns


def test_valid_pii_columns_parse() -> None:
    cfg = parse_raw("prod", {**raw_settings("prod"), "piiColumns": PII})
    assert [(p.table, p.column) for p in cfg.data_pipelines.pii_columns] == [
        ("customers", "email"),
        ("app.sessions", "client_ip"),
    ]


# (stack, changes, key reported, words of the rule)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("prod", {"syntheticDataEnabled": True}, "syntheticDataEnabled", "real data"),
    (
        "prod",
        {"anonymisationShareAccountIds": ["2222"]},
        "anonymisationShareAccountIds[0]",
        "12 digits",
    ),
    (
        "prod",
        {"anonymisationShareAccountIds": ["210987654321"]},
        "anonymisationShareAccountIds[0]",
        "another account than production's",
    ),
    (
        "staging",
        {"anonymisationShareAccountIds": ["222222222222"]},
        "anonymisationShareAccountIds",
        "empty outside prod",
    ),
    (
        "staging",
        {"syntheticDataEnabled": True},
        "syntheticDataEnabled",
        "seeded from a snapshot",
    ),
    ("staging", {"piiColumns": PII}, "piiColumns", "empty outside prod"),
    ("staging", {"anonymisationEnabled": True}, "anonymisationEnabled", "only in prod"),
    ("prod", {"piiColumns": []}, "anonymisationEnabled", "only with piiColumns"),
    ("prod", {"ciRunnerEnabled": False}, "anonymisationEnabled", "ciRunnerEnabled"),
    ("prod", {"piiColumns": [PII[0], PII[0]]}, "piiColumns[1].column", "each table and column"),
    (
        "prod",
        {"piiColumns": [{"table": "customers", "column": "email", "strategy": "scramble"}]},
        "piiColumns[0].strategy",
        "email",
    ),
    (
        "prod",
        {"piiColumns": [{"table": "Customers", "column": "email", "strategy": "null"}]},
        "piiColumns[0].table",
        "pattern",
    ),
    (
        "prod",
        {"piiColumns": [{"table": "customers", "column": "email"}]},
        "piiColumns[0].strategy",
        "",
    ),
]


@pytest.mark.parametrize(("stack", "changes", "key", "words"), BAD)
def test_bad_value_is_named_with_its_rule(
    stack: str, changes: dict[str, Any], key: str, words: str
) -> None:
    problems = _problems(stack, **changes)
    matching = [p for p in problems if p.key == key]
    assert matching, f"no problem for {key}: {problems}"
    assert any(words in p.allowed for p in matching), [p.allowed for p in matching]
