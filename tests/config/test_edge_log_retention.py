"""``accessLogRetentionDays`` is also the WAF log's CloudWatch retention: only accepted values."""

from __future__ import annotations

import pytest

from config import SettingsError, parse_raw
from config.constants import CLOUDWATCH_RETENTION_DAYS
from tests.conftest import STACKS, raw_settings


@pytest.mark.parametrize("stack", STACKS)
def test_real_stacks_keep_a_retention_cloudwatch_accepts(stack: str) -> None:
    days = parse_raw(stack, raw_settings(stack)).edge.access_log_retention_days
    assert days in CLOUDWATCH_RETENTION_DAYS


@pytest.mark.parametrize(("stack", "days"), [("dev", 45), ("prod", 500)])
def test_a_retention_cloudwatch_refuses_is_named_with_the_accepted_values(
    stack: str, days: int
) -> None:
    raw = {**raw_settings(stack), "accessLogRetentionDays": days}
    with pytest.raises(SettingsError) as info:
        parse_raw(stack, raw)
    problems = [p for p in info.value.problems if p.key == "accessLogRetentionDays"]
    assert len(problems) == 1
    assert "WAF log's CloudWatch retention" in problems[0].allowed
    assert "365, 400" in problems[0].allowed


def test_the_floor_is_reported_before_the_cloudwatch_values() -> None:
    raw = {**raw_settings("prod"), "accessLogRetentionDays": 100}
    with pytest.raises(SettingsError) as info:
        parse_raw("prod", raw)
    [problem] = [p for p in info.value.problems if p.key == "accessLogRetentionDays"]
    assert "365" in problem.allowed and "CloudWatch" not in problem.allowed
