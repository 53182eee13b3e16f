"""The Azure redundancy copy's budget, rendered on the mock engine (seed 4.11.2)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pytest

from components.aws.cost import BudgetAlert
from components.azure.budget import (
    START_DATE,
    ResourceGroupBudget,
    ResourceGroupBudgetArgs,
    notifications,
)
from offline.engine import run_program
from tests.conftest import of_type

ALERTS = (BudgetAlert("actual", 80), BudgetAlert("actual", 100), BudgetAlert("forecasted", 100))
GROUP = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ttbt2-prod-redundancy"
BASE = ResourceGroupBudgetArgs(
    resource_group_id=GROUP, monthly_amount=800, alerts=ALERTS, emails=("a@ttbt2.example",)
)


def test_one_enabled_notification_per_alert_keyed_by_basis_and_percent() -> None:
    found = notifications(ALERTS, ["a@ttbt2.example"])
    assert sorted(found) == ["actual-100", "actual-80", "forecasted-100"]
    assert found["forecasted-100"]["threshold_type"] == "Forecasted"
    assert all(n["enabled"] and n["contact_emails"] == ["a@ttbt2.example"] for n in found.values())


def test_the_budget_is_monthly_on_the_resource_group() -> None:
    def program() -> None:
        provider = azure_native.Provider("azure", location="northeurope")
        ResourceGroupBudget("redundancy-cost", BASE, opts=pulumi.ResourceOptions(provider=provider))

    graph = run_program(program, project="t", stack="prod", preview=False)
    [budget] = of_type(graph, "azure-native:consumption:Budget")
    assert budget.props["scope"] == GROUP
    assert budget.props["timeGrain"] == "Monthly" and budget.props["category"] == "Cost"
    assert budget.props["timePeriod"] == {"startDate": START_DATE}
    assert budget.props["amount"] == 800
    assert len(budget.props["notifications"]) == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"monthly_amount": 0}, "monthly_amount"),
        ({"alerts": ()}, "at least one"),
        ({"emails": ()}, "email addresses"),
        ({"alerts": (BudgetAlert("actual", 1500),)}, "outside Azure's 1-1000"),
    ],
)
def test_arguments_cost_management_would_refuse_are_refused(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        replace(BASE, **change)
