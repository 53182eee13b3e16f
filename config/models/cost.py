"""Cost under watch (seed 4.11.2): budgets, anomaly detection and account-level cost settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from config.fields import Domain, setting

BudgetBasis = Literal["actual", "forecasted"]


class BudgetThreshold(BaseModel):
    """One budget alert: when actual (or forecasted) spend reaches ``percent`` of the budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    basis: BudgetBasis = Field(
        description="actual: spend so far this month; forecasted: the month's forecast."
    )
    percent: int = Field(description="Share of the monthly budget, in percent.", ge=1, le=1000)


DEFAULT_THRESHOLDS: list[BudgetThreshold] = [
    BudgetThreshold(basis="actual", percent=80),
    BudgetThreshold(basis="actual", percent=100),
    BudgetThreshold(basis="forecasted", percent=100),
]
"""Early warning at 80 % of the budget, then the budget spent, then a month forecast over it."""


class CostSettings(Domain):
    """What a month of the environment may cost and who hears when it drifts."""

    monthly_budget_usd: int = setting(
        1000,
        "Monthly AWS budget of the environment in USD: its cost-allocation tag "
        "environment=<environment> (AWS Budgets).",
        key="monthlyBudgetUsd",
        ge=1,
        le=10_000_000,
    )
    budget_alert_thresholds: list[BudgetThreshold] = setting(
        DEFAULT_THRESHOLDS,
        'Budget alerts, each {"basis": "actual"|"forecasted", "percent": 1-1000}; the AWS, '
        "GCP and Azure budgets share them (at most 5, AWS Budgets' limit per budget).",
        key="budgetAlertThresholds",
    )
    alert_emails: list[str] = setting(
        ["platform-team@ttbt2.example"],
        "Who receives budget and cost-anomaly alerts (1-10 addresses).",
        key="costAlertEmails",
    )
    anomaly_threshold_usd: int = setting(
        100,
        "Cost Anomaly Detection alerts on anomalies whose total impact reaches this many USD.",
        key="costAnomalyThresholdUsd",
        ge=1,
        le=1_000_000,
    )
    account_owner: bool = setting(
        False,
        "This stack owns the AWS account's cost settings: Compute Optimizer enrollment and the "
        "activation of the environment/project cost-allocation tags. One stack per account.",
        key="costAccountOwner",
    )
    gcp_billing_account: str = setting(
        "",
        "GCP billing account (XXXXXX-XXXXXX-XXXXXX) of the analytics project; required with "
        "gcpEnabled (the project's budget lives there).",
        key="gcpBillingAccount",
    )
    gcp_monthly_budget: int = setting(
        200,
        "Monthly budget of the GCP analytics project, in the billing account's currency.",
        key="gcpMonthlyBudget",
        ge=1,
        le=10_000_000,
    )
    gcp_currency: str = setting(
        "USD",
        "ISO 4217 currency of the GCP billing account (the budget must use it).",
        key="gcpBudgetCurrency",
    )
    azure_monthly_budget: int = setting(
        200,
        "Monthly budget of the Azure redundancy resource group, in the subscription's billing "
        "currency.",
        key="azureMonthlyBudget",
        ge=1,
        le=10_000_000,
    )
