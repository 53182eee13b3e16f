"""Cost under watch (platform rule, mandatory): budgets that alert, subscribed anomaly monitors.

Seed 4.11.2: every environment has a budget that alerts, and its cost anomaly monitor has a
subscription.

Applies to the stacks that run the platform: those with an EKS cluster (a recovery drill's
throw-away landing zone has none and is destroyed within hours). Such a stack needs

* an AWS Budgets ``COST`` budget with at least one notification, each notification with at least
  one subscriber (email address or SNS topic): a budget nobody hears about watches nothing (and
  so does every other budget of the stack);
* for every Cost Explorer anomaly monitor, an anomaly subscription whose ``monitorArnLists``
  refers to it (joined through dependencies, since the monitor's ARN is known only after
  apply): a monitor without a subscription detects anomalies nobody is told about.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pulumi_policy import Policy, PolicyResource, StackValidationArgs

from .common import (
    MANDATORY,
    is_mapping,
    list_prop,
    referenced,
    report_on,
    stack_policy,
    str_prop,
    wrong_type,
)

CLUSTER = "aws:eks/cluster:Cluster"
BUDGET = "aws:budgets/budget:Budget"
MONITOR = "aws:costexplorer/anomalyMonitor:AnomalyMonitor"
SUBSCRIPTION = "aws:costexplorer/anomalySubscription:AnomalySubscription"


def _subscribers(notification: Mapping[str, Any]) -> list[Any]:
    emails = list_prop(notification, "subscriberEmailAddresses") or []
    topics = list_prop(notification, "subscriberSnsTopicArns") or []
    return [*emails, *topics]


def budget_problems(budget: PolicyResource) -> Iterator[str]:
    """Why ``budget`` alerts nobody: not a cost budget, no notification, one without subscriber."""
    kind = str_prop(budget.props, "budgetType")
    if kind != "COST":
        yield f"budget {budget.name} has budgetType {kind or '(not set)'}, not COST"
    notifications = list_prop(budget.props, "notifications") or []
    if not notifications:
        yield (
            f"budget {budget.name} has no notification: add one per threshold "
            "(ttbt2:budgetAlertThresholds) with subscribers (ttbt2:costAlertEmails)"
        )
    for i, notification in enumerate(notifications):
        if not is_mapping(notification):
            raise wrong_type(f"budget {budget.name}: notifications[{i}]", "an object", notification)
        if not _subscribers(notification):
            yield (
                f"budget {budget.name}: notifications[{i}] has no subscriber "
                "(subscriberEmailAddresses or subscriberSnsTopicArns)"
            )


def check(resources: Iterable[PolicyResource]) -> Iterator[tuple[str, str | None]]:
    """Every violation of the rule in a stack's resources, as ``(message, urn)``."""
    found = list(resources)
    if not any(r.resource_type == CLUSTER for r in found):
        return
    budgets = [r for r in found if r.resource_type == BUDGET]
    if not budgets:
        yield (
            "the stack runs the platform but has no AWS budget (aws.budgets.Budget, COST, with "
            "notifications): components/aws/cost.py, ttbt2:monthlyBudgetUsd",
            None,
        )
    for budget in budgets:
        yield from report_on(budget.urn, budget_problems(budget))
    subscribed = {
        monitor.urn
        for sub in found
        if sub.resource_type == SUBSCRIPTION
        for monitor in referenced(sub, "monitorArnLists", {MONITOR})
    }
    for monitor in found:
        if monitor.resource_type == MONITOR and monitor.urn not in subscribed:
            yield (
                f"anomaly monitor {monitor.name} has no anomaly subscription listing it in "
                "monitorArnLists: its anomalies would alert nobody",
                monitor.urn,
            )


def _check(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    return check(args.resources)


cost_under_watch = stack_policy(
    name="ttbt2-cost-under-watch",
    description=(
        "Platform rule: a stack that runs the platform (an EKS cluster) has an AWS COST budget "
        "whose notifications have subscribers, and every cost anomaly monitor has an anomaly "
        "subscription."
    ),
    enforcement=MANDATORY,
    check=_check,
)

POLICIES: list[Policy] = [cost_under_watch]
