"""The environment's cost controls on AWS, rendered on the mock engine (seed 4.11.2)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.cost import (
    BudgetAlert,
    CostControls,
    CostControlsArgs,
    budget_notifications,
    impact_threshold,
    monitor_specification,
    tag_filter_value,
)
from offline.engine import run_program
from offline.graph import StackGraph
from tests.conftest import of_type

ALERTS = (BudgetAlert("actual", 80), BudgetAlert("actual", 100), BudgetAlert("forecasted", 100))
BASE = CostControlsArgs(
    environment="prod",
    monthly_budget_usd=25000,
    alerts=ALERTS,
    emails=("platform@ttbt2.example", "finance@ttbt2.example"),
    anomaly_threshold_usd=250,
    tags={"environment": "prod"},
)
MODES = pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])


def render(args: CostControlsArgs, preview: bool = False, *, owner: bool = False) -> StackGraph:
    def program() -> None:
        edge = aws.Provider("edge", region="us-east-1")
        regional = aws.Provider("regional", region="eu-west-1")
        CostControls(
            "ttbt2-prod-cost",
            replace(args, account_owner=owner, owner_provider=regional if owner else None),
            opts=pulumi.ResourceOptions(providers={"aws": edge}),
        )

    return run_program(program, project="t", stack="prod", preview=preview)


def _one(graph: StackGraph, token: str) -> Any:
    [found] = of_type(graph, token)
    return found


def test_the_tag_filter_uses_budgets_user_prefix() -> None:
    assert tag_filter_value("environment", "prod") == "user:environment$prod"


def test_one_notification_per_alert_as_a_percentage_to_every_address() -> None:
    notifications = budget_notifications(ALERTS, ["a@ttbt2.example"])
    assert [(n["notification_type"], n["threshold"]) for n in notifications] == [
        ("ACTUAL", 80.0),
        ("ACTUAL", 100.0),
        ("FORECASTED", 100.0),
    ]
    assert all(n["threshold_type"] == "PERCENTAGE" for n in notifications)
    assert all(n["subscriber_email_addresses"] == ["a@ttbt2.example"] for n in notifications)


def test_the_monitor_selects_costs_by_the_environment_tag() -> None:
    spec = json.loads(monitor_specification("environment", "staging"))
    assert spec == {
        "Tags": {"Key": "environment", "Values": ["staging"], "MatchOptions": ["EQUALS"]}
    }


def test_the_subscription_threshold_is_the_anomalys_total_impact() -> None:
    dimension = impact_threshold(250)["dimension"]
    assert dimension == {
        "key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
        "match_options": ["GREATER_THAN_OR_EQUAL"],
        "values": ["250"],
    }


@MODES
def test_budget_monitor_and_subscription_of_the_environment(preview: bool) -> None:
    graph = render(BASE, preview)
    budget = _one(graph, "aws:budgets/budget:Budget")
    assert budget.props["limitAmount"] == "25000" and budget.props["limitUnit"] == "USD"
    assert budget.props["costFilters"] == [
        {"name": "TagKeyValue", "values": ["user:environment$prod"]}
    ]
    assert len(budget.props["notifications"]) == len(ALERTS)
    monitor = _one(graph, "aws:costexplorer/anomalyMonitor:AnomalyMonitor")
    subscription = _one(graph, "aws:costexplorer/anomalySubscription:AnomalySubscription")
    assert monitor.urn in subscription.dependencies
    assert subscription.props["frequency"] == "DAILY"
    assert [s["address"] for s in subscription.props["subscribers"]] == list(BASE.emails)
    assert of_type(graph, "aws:computeoptimizer/enrollmentStatus:EnrollmentStatus") == []
    assert of_type(graph, "aws:costexplorer/costAllocationTag:CostAllocationTag") == []


def test_the_account_owner_enrolls_compute_optimizer_and_activates_the_tags() -> None:
    graph = render(BASE, owner=True)
    enrollment = _one(graph, "aws:computeoptimizer/enrollmentStatus:EnrollmentStatus")
    assert enrollment.props["status"] == "Active"
    regional = next(r for r in graph.resources if r.name == "regional")
    assert enrollment.provider is not None and enrollment.provider.startswith(regional.urn)
    tags = of_type(graph, "aws:costexplorer/costAllocationTag:CostAllocationTag")
    assert sorted(t.props["tagKey"] for t in tags) == ["environment", "project"]
    budget = _one(graph, "aws:budgets/budget:Budget")
    # The budget filters on a tag Billing knows only once it is active.
    assert {t.urn for t in tags} <= set(budget.dependencies)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"environment": "Prod!"}, "environment must be a tag value"),
        ({"monthly_budget_usd": 0}, "monthly_budget_usd"),
        ({"alerts": ()}, "alerts: between 1 and 5"),
        ({"alerts": ALERTS * 2}, "alerts: between 1 and 5"),
        ({"emails": ()}, "emails: between 1 and 10"),
        ({"emails": ("nobody",)}, "'nobody' is not an email address"),
        ({"anomaly_threshold_usd": 0}, "anomaly_threshold_usd"),
        ({"account_owner": True}, "account_owner needs owner_provider"),
    ],
)
def test_arguments_aws_would_refuse_are_refused_first(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(BASE, **change)
