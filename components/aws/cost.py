"""Cost under watch on AWS (seed 4.11.2): the environment's budget and its anomaly detection.

- **Budget** (AWS Budgets): a monthly COST budget filtered to the cost-allocation tag
  ``environment=<environment>`` every resource of the stack carries (``config.Settings.tags``;
  Budgets names user tags ``user:<key>``), with one notification per threshold to the cost
  alert addresses.
- **Anomaly detection** (Cost Explorer): a CUSTOM monitor on the same tag, and a daily
  subscription that mails anomalies whose total impact reaches the threshold. A DIMENSIONAL
  SERVICE monitor watches the whole account, and an account takes one of those only; the tag
  monitor is the environment's own, so every stack has one even where environments share an
  account, and its alerts name the environment that drifted.
- **Account settings**, only with ``account_owner`` (``ttbt2:costAccountOwner``; one stack per
  account): Compute Optimizer enrollment (its recommendations for the node groups' Auto
  Scaling groups, EC2 and RDS feed the right-sizing report, docs/cost.md) and the activation
  of the ``environment`` and ``project`` cost-allocation tags, without which the budget and the
  monitor filter on a tag Billing does not know yet. Both are account-wide: a second stack
  managing them would switch them off when it is destroyed.

Budgets and Cost Explorer are global services answered in us-east-1: the caller passes the
us-east-1 provider in ``opts``; Compute Optimizer's enrollment uses ``owner_provider``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

TAG_KEY = "environment"
"""The cost-allocation tag that tells environments apart (``config.Settings.tags``)."""
ACTIVATED_TAGS = ("environment", "project")
"""Tags the account owner activates for cost allocation: the environment, and the platform."""
ANOMALY_FREQUENCY = "DAILY"
"""Email subscribers take DAILY or WEEKLY summaries (IMMEDIATE needs an SNS topic)."""
MAX_NOTIFICATIONS = 5
MAX_SUBSCRIBERS = 10

Basis = Literal["actual", "forecasted"]
_NOTIFICATION_TYPE = {"actual": "ACTUAL", "forecasted": "FORECASTED"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")
_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class BudgetAlert:
    """Alert when actual (or forecasted) spend reaches ``percent`` of the budget."""

    basis: Basis
    percent: int


def tag_filter_value(key: str, value: str) -> str:
    """The Budgets ``TagKeyValue`` filter value of a user tag: ``user:<key>$<value>``."""
    return f"user:{key}${value}"


def budget_notifications(
    alerts: Sequence[BudgetAlert], emails: Sequence[str]
) -> list[aws.budgets.BudgetNotificationArgsDict]:
    """One notification per alert, as a percentage of the budget, to ``emails``."""
    return [
        {
            "comparison_operator": "GREATER_THAN",
            "notification_type": _NOTIFICATION_TYPE[alert.basis],
            "threshold": float(alert.percent),
            "threshold_type": "PERCENTAGE",
            "subscriber_email_addresses": list(emails),
        }
        for alert in alerts
    ]


def monitor_specification(key: str, value: str) -> str:
    """The CUSTOM anomaly monitor's Cost Explorer expression: costs tagged ``key=value``."""
    return json.dumps({"Tags": {"Key": key, "Values": [value], "MatchOptions": ["EQUALS"]}})


def impact_threshold(usd: int) -> aws.costexplorer.AnomalySubscriptionThresholdExpressionArgsDict:
    """Anomalies whose total impact is at least ``usd`` dollars."""
    return {
        "dimension": {
            "key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
            "match_options": ["GREATER_THAN_OR_EQUAL"],
            "values": [str(usd)],
        }
    }


@dataclass(frozen=True)
class CostControlsArgs:
    """Arguments of :class:`CostControls`.

    ``environment`` is the value of the :data:`TAG_KEY` tag the stack's resources carry;
    ``emails`` receive budget and anomaly alerts; ``owner_provider`` (with ``account_owner``)
    is the provider of the stack's region, where Compute Optimizer is enrolled.
    """

    environment: str
    monthly_budget_usd: int
    alerts: Sequence[BudgetAlert]
    emails: Sequence[str]
    anomaly_threshold_usd: int
    tags: dict[str, str] = field(default_factory=dict)
    account_owner: bool = False
    owner_provider: aws.Provider | None = None

    def __post_init__(self) -> None:
        """Refuse what AWS Budgets or Cost Explorer would reject, before creating anything."""
        if not _ENVIRONMENT.match(self.environment):
            raise ValueError(
                f"environment must be a tag value such as prod, got {self.environment!r}"
            )
        if self.monthly_budget_usd < 1:
            raise ValueError(
                f"monthly_budget_usd must be at least 1, got {self.monthly_budget_usd}"
            )
        if not 1 <= len(self.alerts) <= MAX_NOTIFICATIONS:
            raise ValueError(f"alerts: between 1 and {MAX_NOTIFICATIONS}, got {len(self.alerts)}")
        if not 1 <= len(self.emails) <= MAX_SUBSCRIBERS:
            raise ValueError(f"emails: between 1 and {MAX_SUBSCRIBERS}, got {len(self.emails)}")
        for email in self.emails:
            if not _EMAIL.fullmatch(email):
                raise ValueError(f"emails: {email!r} is not an email address")
        if self.anomaly_threshold_usd < 1:
            raise ValueError("anomaly_threshold_usd must be at least 1")
        if self.account_owner and self.owner_provider is None:
            raise ValueError("account_owner needs owner_provider (the stack region's provider)")


class CostControls(pulumi.ComponentResource):
    """The environment's budget, anomaly monitor and subscription, and the account's settings.

    Children: ``<name>-budget``, ``<name>-anomaly-monitor``, ``<name>-anomaly-subscription``;
    with ``account_owner``, ``<name>-compute-optimizer`` and ``<name>-cost-tag-<tag>`` per
    activated tag.
    """

    def __init__(
        self, name: str, args: CostControlsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:CostControls", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        activated: list[pulumi.Resource] = []
        self.compute_optimizer: aws.computeoptimizer.EnrollmentStatus | None = None
        if args.account_owner:
            activated = [
                aws.costexplorer.CostAllocationTag(
                    f"{name}-cost-tag-{tag}", tag_key=tag, status="Active", opts=child
                )
                for tag in ACTIVATED_TAGS
            ]
            self.compute_optimizer = aws.computeoptimizer.EnrollmentStatus(
                f"{name}-compute-optimizer",
                status="Active",
                # Member accounts of an organization report for themselves.
                include_member_accounts=False,
                opts=pulumi.ResourceOptions(parent=self, provider=args.owner_provider),
            )
        after_tags = pulumi.ResourceOptions(parent=self, depends_on=activated)
        self.budget = aws.budgets.Budget(
            f"{name}-budget",
            name=f"{name}-monthly",
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=str(args.monthly_budget_usd),
            limit_unit="USD",
            cost_filters=[
                {"name": "TagKeyValue", "values": [tag_filter_value(TAG_KEY, args.environment)]}
            ],
            notifications=budget_notifications(args.alerts, args.emails),
            tags=args.tags,
            opts=after_tags,
        )
        self.anomaly_monitor = aws.costexplorer.AnomalyMonitor(
            f"{name}-anomaly-monitor",
            name=f"{name}-environment",
            monitor_type="CUSTOM",
            monitor_specification=monitor_specification(TAG_KEY, args.environment),
            tags=args.tags,
            opts=after_tags,
        )
        self.anomaly_subscription = aws.costexplorer.AnomalySubscription(
            f"{name}-anomaly-subscription",
            name=f"{name}-anomalies",
            frequency=ANOMALY_FREQUENCY,
            monitor_arn_lists=[self.anomaly_monitor.arn],
            subscribers=[{"type": "EMAIL", "address": email} for email in args.emails],
            threshold_expression=impact_threshold(args.anomaly_threshold_usd),
            tags=args.tags,
            opts=child,
        )
        self.register_outputs(
            {
                "budgetName": self.budget.name,
                "anomalyMonitorArn": self.anomaly_monitor.arn,
                "accountOwner": args.account_owner,
            }
        )
