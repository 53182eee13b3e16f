"""Cost under watch in the real stacks: budgets, anomaly detection, the cost dashboard's producers.

Each stack is rendered from its Pulumi.<stack>.yaml; prod must have a budget and an anomaly
monitor (issue 18's "done when"), and every series the cost dashboard reads must have its
producer in the same stack (the metric-provenance policy, run on the rendered graph).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from components.aws.cost import TAG_KEY, tag_filter_value
from components.k8s.cloudwatch_exporter import EDGE_RELEASE
from components.monitoring.dashboards import BILLING_CHARGES, VPA_TARGET
from offline.evaluate import evaluate
from offline.graph import Resource, StackGraph
from policies.ttbt2_policies.cost import cost_under_watch
from policies.ttbt2_policies.metric_provenance import metric_provenance
from tests.conftest import STACKS, of_type, render
from tests.support.stacks import raw_settings

BUDGET = "aws:budgets/budget:Budget"
MONITOR = "aws:costexplorer/anomalyMonitor:AnomalyMonitor"
SUBSCRIPTION = "aws:costexplorer/anomalySubscription:AnomalySubscription"
ENROLLMENT = "aws:computeoptimizer/enrollmentStatus:EnrollmentStatus"
GCP_BUDGET = "gcp:billing/budget:Budget"
AZURE_BUDGET = "azure-native:consumption:Budget"
RELEASE = "kubernetes:helm.sh/v3:Release"
COST_BOARD = "TTBT2 / Cost and right-sizing"


def _violations(graph: StackGraph, policy: Any) -> list[str]:
    return [f.message for f in evaluate(graph, [policy]) if f.kind == "violation"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_budget_watches_the_environment_tag_and_alerts_the_configured_addresses(
    stack: str,
) -> None:
    graph = render(stack)
    raw = raw_settings(stack)
    [budget] = of_type(graph, BUDGET)
    assert budget.props["budgetType"] == "COST" and budget.props["timeUnit"] == "MONTHLY"
    assert budget.props["limitAmount"] == str(raw["monthlyBudgetUsd"])
    assert budget.props["costFilters"] == [
        {"name": "TagKeyValue", "values": [tag_filter_value(TAG_KEY, stack)]}
    ]
    alerts = sorted(
        (n["notificationType"].lower(), n["threshold"]) for n in budget.props["notifications"]
    )
    assert alerts == sorted((t["basis"], t["percent"]) for t in raw["budgetAlertThresholds"])
    for notification in budget.props["notifications"]:
        assert notification["subscriberEmailAddresses"] == raw["costAlertEmails"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_anomaly_monitor_is_the_environments_and_is_subscribed(stack: str) -> None:
    graph = render(stack)
    [monitor] = of_type(graph, MONITOR)
    [subscription] = of_type(graph, SUBSCRIPTION)
    assert monitor.props["monitorType"] == "CUSTOM"
    spec = json.loads(monitor.props["monitorSpecification"])
    assert spec["Tags"]["Key"] == TAG_KEY and spec["Tags"]["Values"] == [stack]
    assert monitor.urn in subscription.dependencies
    threshold = subscription.props["thresholdExpression"]["dimension"]
    assert threshold["values"] == [str(raw_settings(stack)["costAnomalyThresholdUsd"])]
    assert _violations(graph, cost_under_watch) == []


def test_the_policy_bites_on_a_rendered_stack_without_its_subscription() -> None:
    graph = copy.deepcopy(render("prod"))
    graph.resources = [r for r in graph.resources if r.type != SUBSCRIPTION]
    [message] = _violations(graph, cost_under_watch)
    assert "has no anomaly subscription" in message


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_account_owner_enrolls_compute_optimizer(stack: str) -> None:
    graph = render(stack)
    owner = raw_settings(stack).get("costAccountOwner", False)
    assert len(of_type(graph, ENROLLMENT)) == (1 if owner else 0)
    assert owner == (stack == "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_gcp_and_azure_budgets_exist_where_those_clouds_do(stack: str) -> None:
    graph = render(stack)
    raw = raw_settings(stack)
    gcp_budgets, azure_budgets = of_type(graph, GCP_BUDGET), of_type(graph, AZURE_BUDGET)
    assert len(gcp_budgets) == (1 if raw.get("gcpEnabled") else 0)
    assert len(azure_budgets) == (1 if raw.get("azureEnabled") else 0)
    for budget in gcp_budgets:
        assert budget.props["billingAccount"] == raw["gcpBillingAccount"]
        assert budget.props["budgetFilter"]["projects"] == ["projects/123456789012"]
        assert budget.props["amount"]["specifiedAmount"]["units"] == str(raw["gcpMonthlyBudget"])
    groups = {r.urn for r in of_type(graph, "azure-native:resources:ResourceGroup")}
    for budget in azure_budgets:
        # Scoped to the redundancy copy's group (its id is known after apply).
        assert set(budget.dependencies) & groups
        assert budget.props["amount"] == raw["azureMonthlyBudget"]
        assert len(budget.props["notifications"]) == len(raw["budgetAlertThresholds"])


# --- the cost dashboard's producers -----------------------------------------------------------


def _cost_violations(graph: StackGraph) -> list[str]:
    return [m for m in _violations(graph, metric_provenance) if COST_BOARD in m]


def _release(graph: StackGraph, name: str) -> Resource:
    [release] = [r for r in of_type(graph, RELEASE) if r.props.get("name") == name]
    return release


@pytest.mark.parametrize("stack", STACKS)
def test_every_series_the_cost_dashboard_reads_has_a_producer(stack: str) -> None:
    assert _cost_violations(render(stack)) == []


def test_without_the_vpa_custom_resource_state_the_right_sizing_panels_go_dark() -> None:
    graph = copy.deepcopy(render("prod"))
    [release] = [
        r for r in of_type(graph, RELEASE) if "kube-state-metrics" in r.props.get("values", {})
    ]
    release.props["values"]["kube-state-metrics"]["customResourceState"]["enabled"] = False
    dark = _cost_violations(graph)
    assert dark and all(VPA_TARGET in m for m in dark)
    assert any("customResourceState.enabled is false" in m for m in dark)


def test_without_the_billing_rule_the_spend_panels_go_dark() -> None:
    graph = copy.deepcopy(render("prod"))
    edge = _release(graph, EDGE_RELEASE)
    config: dict[str, Any] = yaml.safe_load(edge.props["values"]["config"])
    config["metrics"] = [m for m in config["metrics"] if m["aws_namespace"] != "AWS/Billing"]
    edge.props["values"]["config"] = yaml.safe_dump(config)
    dark = _cost_violations(graph)
    assert dark and all(BILLING_CHARGES in m for m in dark)
    assert {m.split('panel "')[1].split('"')[0] for m in dark} == {
        "Estimated charges, month to date",
        "Estimated charges by service",
    }
