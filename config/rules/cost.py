"""Rules of cost control (seed 4.11.2): budgets that can alert someone, billing accounts named."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.models.clouds import GcpSettings
from config.models.cost import CostSettings
from config.problems import Problem, bad

MAX_THRESHOLDS = 5
"""AWS Budgets accepts at most five notifications per budget."""
MAX_EMAILS = 10
"""AWS Budgets and Cost Anomaly Detection accept at most ten email subscribers."""
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")
_BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")


def check_budget(cost: CostSettings) -> Iterable[Problem]:
    """At least one alert, no duplicate, within AWS Budgets' limits; valid recipients."""
    thresholds = cost.budget_alert_thresholds
    if not thresholds:
        yield bad(cost, "budget_alert_thresholds", "at least one threshold: a budget must alert")
    elif len(thresholds) > MAX_THRESHOLDS:
        yield bad(
            cost,
            "budget_alert_thresholds",
            f"at most {MAX_THRESHOLDS} thresholds (AWS Budgets' notifications per budget)",
            value=len(thresholds),
        )
    seen: set[tuple[str, int]] = set()
    for index, threshold in enumerate(thresholds):
        key = (threshold.basis, threshold.percent)
        if key in seen:
            yield bad(
                cost,
                "budget_alert_thresholds",
                "each basis and percent once",
                index=index,
                value=threshold.model_dump(),
            )
        seen.add(key)
    emails = cost.alert_emails
    if not 1 <= len(emails) <= MAX_EMAILS:
        yield bad(cost, "alert_emails", f"between 1 and {MAX_EMAILS} email addresses")
    for index, address in enumerate(emails):
        if not _EMAIL.fullmatch(address):
            yield bad(cost, "alert_emails", "an email address", index=index)


def check_cloud_budgets(gcp: GcpSettings, cost: CostSettings) -> Iterable[Problem]:
    """The GCP budget needs the billing account the analytics project is charged to."""
    if gcp.enabled and not _BILLING_ACCOUNT.match(cost.gcp_billing_account):
        yield bad(
            cost,
            "gcp_billing_account",
            "the GCP billing account id, XXXXXX-XXXXXX-XXXXXX (hex, uppercase): required "
            "with gcpEnabled",
        )
    if not re.fullmatch(r"[A-Z]{3}", cost.gcp_currency):
        yield bad(cost, "gcp_currency", "an ISO 4217 currency code such as USD or EUR")


RULES = (check_budget, check_cloud_budgets)
