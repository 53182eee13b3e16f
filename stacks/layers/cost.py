"""Cost layer (seed 4.11.2): the environment's budgets and anomaly detection, on every cloud.

AWS: the budget and the anomaly monitor of the environment's cost-allocation tag, and, in the
stack that owns the account's cost settings (``ttbt2:costAccountOwner``), Compute Optimizer
and the tag activation (:mod:`components.aws.cost`). GCP and Azure, where the stack switches
them on: a budget on the analytics project and on the redundancy resource group. The cost
dashboard and the right-sizing view are part of the observability layer's dashboards.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.aws.cost import BudgetAlert, CostControls, CostControlsArgs
from components.azure.budget import ResourceGroupBudget, ResourceGroupBudgetArgs
from components.gcp.budget import ProjectBudget, ProjectBudgetArgs
from config import Settings
from stacks.layers.clouds import Clouds
from stacks.layers.foundation import Foundation


@dataclass(frozen=True)
class Cost:
    """The cost controls the stack registered."""

    aws: CostControls
    gcp: ProjectBudget | None
    """None when GCP is switched off."""
    azure: ResourceGroupBudget | None
    """None when Azure is switched off."""


def cost(cfg: Settings, base: Foundation, other_clouds: Clouds) -> Cost:
    """Register the budgets and the anomaly detection of the environment."""
    settings = cfg.cost
    alerts = [BudgetAlert(t.basis, t.percent) for t in settings.budget_alert_thresholds]
    controls = CostControls(
        f"{base.prefix}-cost",
        CostControlsArgs(
            environment=cfg.identity.environment,
            monthly_budget_usd=settings.monthly_budget_usd,
            alerts=alerts,
            emails=settings.alert_emails,
            anomaly_threshold_usd=settings.anomaly_threshold_usd,
            tags=cfg.tags,
            account_owner=settings.account_owner,
            owner_provider=base.aws_primary if settings.account_owner else None,
        ),
        # Budgets and Cost Explorer answer in us-east-1 only.
        opts=pulumi.ResourceOptions(providers={"aws": base.aws_edge}),
    )
    project_budget = None
    if other_clouds.gcp_provider is not None:
        project_budget = ProjectBudget(
            f"{base.prefix}-gcp-cost",
            ProjectBudgetArgs(
                project=cfg.gcp.project,
                billing_account=settings.gcp_billing_account,
                monthly_amount=settings.gcp_monthly_budget,
                currency=settings.gcp_currency,
                alerts=alerts,
                environment=cfg.identity.environment,
            ),
            opts=pulumi.ResourceOptions(providers={"gcp": other_clouds.gcp_provider}),
        )
    group_budget = None
    if other_clouds.azure_provider is not None and other_clouds.redundancy is not None:
        group_budget = ResourceGroupBudget(
            f"{base.prefix}-azure-cost",
            ResourceGroupBudgetArgs(
                resource_group_id=other_clouds.redundancy.resource_group_id,
                monthly_amount=settings.azure_monthly_budget,
                alerts=alerts,
                emails=settings.alert_emails,
            ),
            opts=pulumi.ResourceOptions(providers={"azure-native": other_clouds.azure_provider}),
        )
    return Cost(aws=controls, gcp=project_budget, azure=group_budget)
