"""Parsing a stack: every problem at once, the offending element alone, a suggestion for typos."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from config import Problem, SettingsError, config_keys, flat_keys, parse_raw
from config.fields import bounds, range_text
from config.problems import UNSET
from tests.conftest import ROOT, raw_settings


def _problems(stack: str, raw: dict[str, Any]) -> list[Problem]:
    with pytest.raises(SettingsError) as info:
        parse_raw(stack, raw)
    return info.value.problems


def test_a_bad_service_does_not_hide_problems_of_other_domains() -> None:
    """A type error in one domain, a range error and a rule error in two others: all three."""
    raw = copy.deepcopy(raw_settings("dev"))
    raw["services"][1]["port"] = "eighty"
    raw["dbBackupRetentionDays"] = 36  # the field's range (RDS keeps at most 35 days)
    raw["awsRegion"] = "europe"  # a rule of the network domain
    problems = _problems("dev", raw)
    keys = {p.key for p in problems}
    assert {"services[1].port", "dbBackupRetentionDays", "awsRegion"} <= keys, problems


def test_rules_of_a_domain_that_failed_to_parse_do_not_run() -> None:
    """A domain with a type error has no value for its rules: only the type error is reported."""
    raw = {**raw_settings("prod"), "cacheNodes": "many", "cacheSnapshotRetentionDays": 3}
    problems = _problems("prod", raw)
    assert [p.key for p in problems] == ["cacheNodes"]


def test_a_bad_list_element_is_shown_alone() -> None:
    raw = copy.deepcopy(raw_settings("dev"))
    raw["services"][1]["port"] = "eighty"
    (problem,) = [p for p in _problems("dev", raw) if p.key == "services[1].port"]
    assert problem.value == "eighty"
    assert 'ttbt2:services[1].port = "eighty"' in problem.render()


def test_a_missing_key_of_an_element_is_shown_as_not_set() -> None:
    raw = copy.deepcopy(raw_settings("dev"))
    del raw["services"][0]["image"]
    (problem,) = [p for p in _problems("dev", raw) if p.key == "services[0].image"]
    assert problem.value is UNSET
    assert "(not set)" in problem.render()


def test_a_bad_zone_shows_that_zone() -> None:
    raw = {**raw_settings("dev"), "availabilityZones": ["eu-west-1a", 7]}
    (problem,) = _problems("dev", raw)
    assert (problem.key, problem.value) == ("availabilityZones[1]", 7)


def test_an_unknown_key_gets_the_closest_known_key() -> None:
    raw = {**raw_settings("dev"), "dbBackupRetentionDay": 7}
    (problem,) = _problems("dev", raw)
    assert problem.key == "dbBackupRetentionDay"
    assert "did you mean dbBackupRetentionDays?" in problem.allowed
    assert "cacheNodes" not in problem.allowed, "no list of every key"


def test_an_unknown_key_like_no_other_points_to_the_project_file() -> None:
    (problem,) = _problems("dev", {**raw_settings("dev"), "zzzzzz": 1})
    assert problem.allowed == "unknown key; Pulumi.yaml lists every key"


def _bounded() -> list[tuple[str, int | None, int | None]]:
    found = []
    for key, info in config_keys().items():
        low, high = bounds(info)
        if low is not None or high is not None:
            found.append((key, low, high))
    return found


@pytest.mark.parametrize(("key", "low", "high"), _bounded(), ids=str)
def test_a_value_out_of_a_field_range_names_the_range(
    key: str, low: int | None, high: int | None
) -> None:
    """The message is built from the Field's own constraint, on either side."""
    allowed = range_text(low, high)
    for value in (low - 1 if low is not None else None, high + 1 if high is not None else None):
        if value is None:
            continue
        problems = _problems("dev", {**raw_settings("dev"), key: value})
        assert Problem(key, value, allowed) in problems, problems


def test_the_range_reads_as_the_constraint_says() -> None:
    info = config_keys()["prometheusRetentionDays"]
    assert bounds(info) == (1, 90)
    (problem,) = _problems("dev", {**raw_settings("dev"), "prometheusRetentionDays": 91})
    assert problem.allowed == "between 1 and 90"


def test_pulumi_yaml_describes_a_range_from_the_same_field() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["template"]["config"]
    for key, low, high in _bounded():
        description = " ".join(declared[f"ttbt2:{key}"]["description"].split())
        assert range_text(low, high) in description, key


def test_every_flat_key_lives_in_one_domain_field() -> None:
    keys = flat_keys()
    # Every key users know from Pulumi.yaml, no more and no fewer.
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["template"]["config"]
    assert set(keys) == {key.split(":", 1)[1] for key in declared}
    paths = {flat.path for flat in keys.values()}
    assert len(paths) == len(keys)
    dev = parse_raw("dev", raw_settings("dev"))
    for key, flat in keys.items():
        domain = getattr(dev, flat.domain)
        assert hasattr(domain, flat.field), key
