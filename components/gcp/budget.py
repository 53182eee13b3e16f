"""The GCP analytics project's monthly budget (seed 4.11.2), on its billing account.

A Cloud Billing budget lives on the billing account, not in the project: it is filtered to the
project (by number, as the Budget API stores it) and alerts at the shared thresholds
(``ttbt2:budgetAlertThresholds``, as 1.0-based fractions), current or forecasted spend. The
billing account's administrators and users get the emails (Cloud Billing's default
recipients); the deploy identity needs ``billing.budgets.create`` on the billing account.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.aws.cost import BudgetAlert

_BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
_SPEND_BASIS = {"actual": "CURRENT_SPEND", "forecasted": "FORECASTED_SPEND"}


def threshold_rules(alerts: Sequence[BudgetAlert]) -> list[gcp.billing.BudgetThresholdRuleArgsDict]:
    """One rule per alert: ``percent`` as a fraction, on current or forecasted spend."""
    return [
        {"threshold_percent": alert.percent / 100, "spend_basis": _SPEND_BASIS[alert.basis]}
        for alert in alerts
    ]


@dataclass(frozen=True)
class ProjectBudgetArgs:
    """Arguments of :class:`ProjectBudget`: the project, its billing account and the budget."""

    project: str
    billing_account: str
    monthly_amount: int
    currency: str
    alerts: Sequence[BudgetAlert]
    environment: str

    def __post_init__(self) -> None:
        """Refuse what the Budget API would reject."""
        if not _BILLING_ACCOUNT.match(self.billing_account):
            raise ValueError(
                f"billing_account must be XXXXXX-XXXXXX-XXXXXX, got {self.billing_account!r}"
            )
        if self.monthly_amount < 1:
            raise ValueError("monthly_amount must be at least 1")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"currency must be an ISO 4217 code, got {self.currency!r}")
        if not self.alerts:
            raise ValueError("alerts: at least one")


class ProjectBudget(pulumi.ComponentResource):
    """Child ``<name>-budget``: the project's monthly budget. GCP provider from ``opts``."""

    def __init__(
        self, name: str, args: ProjectBudgetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:gcp:ProjectBudget", name, None, opts)
        # The Budget API keeps projects by number; the id would read as a change every run.
        project = gcp.organizations.get_project_output(
            project_id=args.project, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.budget = gcp.billing.Budget(
            f"{name}-budget",
            billing_account=args.billing_account,
            display_name=f"{name} monthly",
            budget_filter={
                "projects": [project.number.apply(lambda number: f"projects/{number}")],
                "calendar_period": "MONTH",
            },
            amount={
                "specified_amount": {
                    "currency_code": args.currency,
                    "units": str(args.monthly_amount),
                }
            },
            threshold_rules=threshold_rules(args.alerts),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"budget": self.budget.name})
