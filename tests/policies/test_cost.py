"""Cost under watch (mandatory platform rule): budgets that alert, subscribed anomaly monitors."""

from __future__ import annotations

from typing import Any

import pytest

from policies.ttbt2_policies.cost import cost_under_watch
from tests.support.policies import findings_for, resource, violations

CLUSTER = resource("aws:eks/cluster:Cluster", {"name": "ttbt2-prod"}, name="cluster", stack="prod")


def _notification(**subscribers: Any) -> dict[str, Any]:
    return {
        "comparisonOperator": "GREATER_THAN",
        "notificationType": "ACTUAL",
        "threshold": 80,
        "thresholdType": "PERCENTAGE",
        **subscribers,
    }


def _budget(notifications: Any = None, *, name: str = "budget", **props: Any) -> Any:
    if notifications is None:
        notifications = [_notification(subscriberEmailAddresses=["platform@ttbt2.example"])]
    body = {"budgetType": "COST", "notifications": notifications, **props}
    return resource("aws:budgets/budget:Budget", body, name=name, stack="prod")


MONITOR = resource(
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor",
    {"monitorType": "CUSTOM"},
    name="monitor",
    stack="prod",
)


def _subscription(*monitors: Any) -> Any:
    return resource(
        "aws:costexplorer/anomalySubscription:AnomalySubscription",
        {"frequency": "DAILY"},
        name="subscription",
        stack="prod",
        dependencies=monitors,
    )


def _messages(resources: list[Any]) -> list[str]:
    return [f.message for f in violations(findings_for(cost_under_watch, resources, stack="prod"))]


def test_a_stack_with_an_alerting_budget_and_a_subscribed_monitor_is_compliant() -> None:
    assert _messages([CLUSTER, _budget(), MONITOR, _subscription(MONITOR)]) == []


def test_an_sns_subscriber_is_a_subscriber() -> None:
    topic = _notification(subscriberSnsTopicArns=["arn:aws:sns:us-east-1:1:cost"])
    assert _messages([CLUSTER, _budget([topic])]) == []


def test_a_platform_stack_without_a_budget_is_a_violation() -> None:
    [finding] = violations(findings_for(cost_under_watch, [CLUSTER], stack="prod"))
    assert finding.enforcement == "mandatory"
    assert "no AWS budget" in finding.message


def test_a_budget_without_notifications_is_a_violation() -> None:
    [message] = _messages([CLUSTER, _budget([])])
    assert "budget budget has no notification" in message


def test_a_budget_whose_notifications_property_is_missing_is_a_violation() -> None:
    budget = resource("aws:budgets/budget:Budget", {"budgetType": "COST"}, stack="prod")
    assert _messages([CLUSTER, budget]) == [
        "budget budget has no notification: add one per threshold "
        "(ttbt2:budgetAlertThresholds) with subscribers (ttbt2:costAlertEmails)"
    ]


def test_a_notification_without_subscribers_is_a_violation() -> None:
    [message] = _messages([CLUSTER, _budget([_notification(subscriberEmailAddresses=[])])])
    assert "notifications[0] has no subscriber" in message


def test_a_usage_budget_is_not_a_cost_budget() -> None:
    [message] = _messages([CLUSTER, _budget(budgetType="USAGE")])
    assert "budgetType USAGE, not COST" in message


def test_a_budget_without_a_type_is_not_a_cost_budget() -> None:
    budget = resource(
        "aws:budgets/budget:Budget",
        {"notifications": [_notification(subscriberEmailAddresses=["a@ttbt2.example"])]},
        stack="prod",
    )
    assert _messages([CLUSTER, budget]) == ["budget budget has budgetType (not set), not COST"]


def test_a_monitor_without_a_subscription_is_a_violation() -> None:
    resources = [CLUSTER, _budget(), MONITOR]
    [finding] = violations(findings_for(cost_under_watch, resources, stack="prod"))
    assert "anomaly monitor monitor has no anomaly subscription" in finding.message
    assert finding.urn == MONITOR.urn


def test_a_subscription_for_another_monitor_does_not_cover_this_one() -> None:
    other = resource(
        "aws:costexplorer/anomalyMonitor:AnomalyMonitor", {}, name="other", stack="prod"
    )
    messages = _messages([CLUSTER, _budget(), MONITOR, other, _subscription(other)])
    assert messages == [
        "anomaly monitor monitor has no anomaly subscription listing it in monitorArnLists: "
        "its anomalies would alert nobody"
    ]


@pytest.mark.parametrize("notifications", ["weekly", [42]])
def test_a_wrongly_typed_notification_is_reported_not_raised(notifications: Any) -> None:
    [message] = _messages([CLUSTER, _budget(notifications)])
    assert "notifications" in message


def test_a_stack_without_a_cluster_is_not_concerned() -> None:
    # A recovery drill's landing zone: no platform, no budget needed.
    bucket = resource("aws:s3/bucket:Bucket", {}, stack="prod")
    assert _messages([bucket, MONITOR]) == []
