"""Settings of the data classification (seed 4.2): store tags, log redaction, log retention."""

from __future__ import annotations

from typing import Any

import pytest

from config import Problem, SettingsError, parse_raw
from policies.ttbt2_policies.classification import LOG_RETENTION_CEILING_DAYS
from tests.conftest import STACKS, raw_settings


def _parse(stack: str, **changes: Any) -> Any:
    raw = raw_settings(stack)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return parse_raw(stack, raw)


def _problems(stack: str, **changes: Any) -> list[Problem]:
    with pytest.raises(SettingsError) as info:
        _parse(stack, **changes)
    return info.value.problems


@pytest.mark.parametrize(
    ("stack", "changes", "key", "words"),
    [
        ("prod", {"logRedaction": False}, "logRedaction", "prod holds real data"),
        ("prod", {"logRetentionDays": 180}, "logRetentionDays", "at most 90 days"),
        ("staging", {"logRetentionDays": 60}, "logRetentionDays", "anonymised data"),
        ("dev", {"logRetentionDays": 30}, "logRetentionDays", "at most 14 days"),
        (
            "dev",
            {"logRedaction": False, "logRedactIps": True},
            "logRedactIps",
            "only with logRedaction",
        ),
    ],
    ids=["prod-unredacted", "prod-retention", "staging-retention", "dev-retention", "ips-alone"],
)
def test_bad_log_privacy_is_named_with_its_rule(
    stack: str, changes: dict[str, Any], key: str, words: str
) -> None:
    matching = [p for p in _problems(stack, **changes) if p.key == key]
    assert matching and any(words in p.allowed for p in matching), matching


def test_synthetic_logs_may_stay_unredacted_and_the_ceiling_itself_is_allowed() -> None:
    dev = _parse(
        "dev", logRedaction=False, logRetentionDays=LOG_RETENTION_CEILING_DAYS["synthetic"]
    )
    assert dev.observability.log_redaction is False
    prod = _parse("prod", logRetentionDays=LOG_RETENTION_CEILING_DAYS["real"])
    assert prod.observability.log_retention_days == 90


@pytest.mark.parametrize(
    ("stack", "changes", "expected"),
    [
        ("prod", {"logRedactIps": None}, True),
        ("staging", {"logRedactIps": None}, False),
        ("dev", {"logRedactIps": True}, True),
        ("prod", {"logRedactIps": False}, False),
        ("dev", {"logRedaction": False, "logRedactIps": None}, False),
    ],
)
def test_client_ips_are_redacted_for_real_data_unless_set(
    stack: str, changes: dict[str, Any], expected: bool
) -> None:
    assert _parse(stack, **changes).redact_log_ips is expected


@pytest.mark.parametrize("stack", STACKS)
def test_data_tags_and_labels_carry_the_stack_classification(stack: str) -> None:
    cfg = _parse(stack)
    classification = cfg.identity.data_classification
    assert cfg.data_tags == {**cfg.tags, "data-classification": classification}
    assert cfg.data_labels["data-classification"] == classification
    assert cfg.data_labels["cost_center"] == cfg.tags["cost-center"]
    # Every other resource keeps its tags: only data stores say what data they hold.
    assert "data-classification" not in cfg.tags
