"""Cost settings (seed 4.11.2): budgets that alert someone, and GCP's billing account when needed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import SettingsError, parse_raw
from config.models.cost import DEFAULT_THRESHOLDS, BudgetThreshold
from tests.conftest import raw_settings


def _problems(stack: str, raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        parse_raw(stack, raw)
    return {p.key: p.allowed for p in caught.value.problems}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_file_sets_its_budget(stack: str) -> None:
    raw = raw_settings(stack)
    cost = parse_raw(stack, raw).cost
    assert cost.monthly_budget_usd == raw["monthlyBudgetUsd"]
    assert cost.budget_alert_thresholds == [
        BudgetThreshold(**t) for t in raw["budgetAlertThresholds"]
    ]
    assert cost.alert_emails == raw["costAlertEmails"]


def test_the_defaults_warn_at_80_and_100_percent_and_on_a_forecast_over_budget() -> None:
    assert [(t.basis, t.percent) for t in DEFAULT_THRESHOLDS] == [
        ("actual", 80),
        ("actual", 100),
        ("forecasted", 100),
    ]


def test_thresholds_arrive_as_json_text_from_the_engine() -> None:
    raw = {
        **raw_settings("dev"),
        "budgetAlertThresholds": json.dumps([{"basis": "actual", "percent": 90}]),
    }
    assert parse_raw("dev", raw).cost.budget_alert_thresholds == [
        BudgetThreshold(basis="actual", percent=90)
    ]


@pytest.mark.parametrize(
    ("value", "key", "allowed"),
    [
        ([], "budgetAlertThresholds", "at least one threshold"),
        (
            [{"basis": "actual", "percent": 80}] * 2,
            "budgetAlertThresholds[1]",
            "each basis and percent once",
        ),
        (
            [{"basis": "actual", "percent": p} for p in range(10, 70, 10)],
            "budgetAlertThresholds",
            "at most 5",
        ),
        (
            [{"basis": "spent", "percent": 80}],
            "budgetAlertThresholds[0].basis",
            "'actual' or 'forecasted'",
        ),
        (
            [{"basis": "actual", "percent": 0}],
            "budgetAlertThresholds[0].percent",
            "greater than or equal to 1",
        ),
        ([{"basis": "actual"}], "budgetAlertThresholds[0].percent", "Field required"),
    ],
)
def test_bad_thresholds_name_the_key_and_what_is_allowed(
    value: Any, key: str, allowed: str
) -> None:
    found = _problems("dev", {**raw_settings("dev"), "budgetAlertThresholds": value})
    assert key in found, found
    assert allowed in found[key]


@pytest.mark.parametrize(
    ("emails", "key"),
    [([], "costAlertEmails"), (["not-an-address"], "costAlertEmails[0]")],
)
def test_alerts_need_valid_recipients(emails: list[str], key: str) -> None:
    found = _problems("dev", {**raw_settings("dev"), "costAlertEmails": emails})
    assert key in found


def test_the_budget_must_be_positive() -> None:
    found = _problems("dev", {**raw_settings("dev"), "monthlyBudgetUsd": 0})
    assert found == {"monthlyBudgetUsd": "between 1 and 10000000"}


def test_gcp_needs_its_billing_account_only_where_gcp_is_on() -> None:
    staging = {k: v for k, v in raw_settings("staging").items() if k != "gcpBillingAccount"}
    found = _problems("staging", staging)
    assert list(found) == ["gcpBillingAccount"]
    assert "required with gcpEnabled" in found["gcpBillingAccount"]
    dev = {k: v for k, v in raw_settings("dev").items() if k != "gcpBillingAccount"}
    assert parse_raw("dev", dev).cost.gcp_billing_account == ""


def test_a_malformed_billing_account_is_refused() -> None:
    found = _problems("prod", {**raw_settings("prod"), "gcpBillingAccount": "billing-123"})
    assert "XXXXXX-XXXXXX-XXXXXX" in found["gcpBillingAccount"]


def test_a_currency_is_an_iso_code() -> None:
    found = _problems("prod", {**raw_settings("prod"), "gcpBudgetCurrency": "dollars"})
    assert "ISO 4217" in found["gcpBudgetCurrency"]
