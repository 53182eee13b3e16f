"""The Azure redundancy copy's monthly budget (seed 4.11.2), scoped to its resource group.

A Cost Management budget (``Microsoft.Consumption/budgets``) on the resource group that holds
the copy, monthly, in the subscription's billing currency, with one notification per shared
threshold (``ttbt2:budgetAlertThresholds``): Azure thresholds are percentages of the amount,
on actual or forecasted cost, mailed to the cost alert addresses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import consumption

from components.aws.cost import BudgetAlert

START_DATE = "2026-12-01T00:00:00Z"
"""First month the budget tracks; Azure wants the first day of a month and keeps the budget
ten years from it. Fixed, so that the budget does not change on every run."""
_THRESHOLD_TYPE = {"actual": "Actual", "forecasted": "Forecasted"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")


def notifications(
    alerts: Sequence[BudgetAlert], emails: Sequence[str]
) -> dict[str, consumption.NotificationArgsDict]:
    """One enabled notification per alert, keyed ``<basis>-<percent>``."""
    return {
        f"{alert.basis}-{alert.percent}": {
            "enabled": True,
            "operator": "GreaterThan",
            "threshold": float(alert.percent),
            "threshold_type": _THRESHOLD_TYPE[alert.basis],
            "contact_emails": list(emails),
        }
        for alert in alerts
    }


@dataclass(frozen=True)
class ResourceGroupBudgetArgs:
    """Arguments of :class:`ResourceGroupBudget`: the group's id, the amount and the alerts."""

    resource_group_id: pulumi.Input[str]
    monthly_amount: int
    alerts: Sequence[BudgetAlert]
    emails: Sequence[str]

    def __post_init__(self) -> None:
        """Refuse what Cost Management would reject."""
        if self.monthly_amount < 1:
            raise ValueError("monthly_amount must be at least 1")
        if not self.alerts:
            raise ValueError("alerts: at least one")
        if not self.emails or not all(_EMAIL.fullmatch(e) for e in self.emails):
            raise ValueError(f"emails must be email addresses, got {list(self.emails)!r}")
        for alert in self.alerts:
            if not 0 < alert.percent <= 1000:
                raise ValueError(f"threshold {alert.percent} % is outside Azure's 1-1000")


class ResourceGroupBudget(pulumi.ComponentResource):
    """Child ``<name>-budget``: the group's monthly budget. azure-native provider from ``opts``."""

    def __init__(
        self, name: str, args: ResourceGroupBudgetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:azure:ResourceGroupBudget", name, None, opts)
        self.budget = consumption.Budget(
            f"{name}-budget",
            budget_name=f"{name}-monthly",
            scope=args.resource_group_id,
            amount=float(args.monthly_amount),
            category="Cost",
            time_grain="Monthly",
            time_period={"start_date": START_DATE},
            notifications=notifications(args.alerts, args.emails),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"budget": self.budget.name})
