"""The GCP analytics project's budget, rendered on the mock engine (seed 4.11.2)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pytest

from components.aws.cost import BudgetAlert
from components.gcp.budget import ProjectBudget, ProjectBudgetArgs, threshold_rules
from offline.engine import run_program
from tests.conftest import of_type

ALERTS = (BudgetAlert("actual", 80), BudgetAlert("forecasted", 100))
BASE = ProjectBudgetArgs(
    project="ttbt2-analytics-prod",
    billing_account="01A2B3-C4D5E6-F7A8B9",
    monthly_amount=1500,
    currency="USD",
    alerts=ALERTS,
    environment="prod",
)


def test_thresholds_are_fractions_on_current_or_forecasted_spend() -> None:
    assert threshold_rules(ALERTS) == [
        {"threshold_percent": 0.8, "spend_basis": "CURRENT_SPEND"},
        {"threshold_percent": 1.0, "spend_basis": "FORECASTED_SPEND"},
    ]


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
def test_the_budget_is_the_projects_by_number_on_its_billing_account(preview: bool) -> None:
    def program() -> None:
        provider = gcp.Provider("gcp", project=BASE.project)
        ProjectBudget("analytics-cost", BASE, opts=pulumi.ResourceOptions(provider=provider))

    graph = run_program(program, project="t", stack="prod", preview=preview)
    [budget] = of_type(graph, "gcp:billing/budget:Budget")
    assert budget.props["billingAccount"] == BASE.billing_account
    assert budget.props["amount"] == {"specifiedAmount": {"currencyCode": "USD", "units": "1500"}}
    assert len(budget.props["thresholdRules"]) == len(ALERTS)
    if not preview:
        # The offline engine's project number; the id would not match what the API stores.
        assert budget.props["budgetFilter"]["projects"] == ["projects/123456789012"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"billing_account": "0123-4567"}, "XXXXXX-XXXXXX-XXXXXX"),
        ({"monthly_amount": 0}, "monthly_amount"),
        ({"currency": "usd"}, "ISO 4217"),
        ({"alerts": ()}, "at least one"),
    ],
)
def test_arguments_the_budget_api_would_refuse_are_refused(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        replace(BASE, **change)
