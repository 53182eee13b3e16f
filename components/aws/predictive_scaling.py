"""Predictive scaling of the managed node group that carries the steady load.

Seed 4.8.1. EC2 Auto Scaling forecasts the group's CPU load from its own history (daily and
weekly patterns, learned from at least 24 hours of data) and launches nodes ahead of the
forecast, so the base capacity is there before the morning ramp rather than after it. Dev only
forecasts (``ForecastOnly``): the forecast can be reviewed in the console without changing any
capacity. A target-tracking policy on the same metric scales the group back in when the load
falls, which predictive scaling never does by itself.

The Auto Scaling group is the one EKS creates behind a managed node group; Karpenter's nodes are
not in it, and Karpenter never changes it. See docs/autoscaling.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

MODES = ("ForecastAndScale", "ForecastOnly")
BREACH_BEHAVIOURS = ("HonorMaxCapacity", "IncreaseMaxCapacity")
METRIC_PAIR = "ASGCPUUtilization"
"""Predefined metric pair: average CPU of the group as the scaling and the load metric."""
TARGET_TRACKING_METRIC = "ASGAverageCPUUtilization"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def default_mode(environment: str) -> str:
    """``ForecastOnly`` in dev, ``ForecastAndScale`` everywhere else."""
    return "ForecastOnly" if environment == "dev" else "ForecastAndScale"


def first_autoscaling_group_name(resources: Sequence[Any] | None) -> str:
    """The Auto Scaling group name in an EKS node group's ``resources`` output.

    Accepts the SDK's output objects (``autoscaling_groups[].name``) and plain dicts
    (``autoscalingGroups[].name``). A group that reports none is a provider error, not a value
    to scale: refuse it rather than attach a policy to an empty name.
    """
    for resource in resources or []:
        groups = (
            resource.get("autoscalingGroups") or resource.get("autoscaling_groups")
            if isinstance(resource, dict)
            else getattr(resource, "autoscaling_groups", None)
        )
        for group in groups or []:
            name = group.get("name") if isinstance(group, dict) else getattr(group, "name", None)
            if name:
                return str(name)
    raise ValueError("the node group reports no Auto Scaling group in resources[0]")


def autoscaling_group_name(node_group: aws.eks.NodeGroup) -> pulumi.Output[str]:
    """Name of the Auto Scaling group behind a managed node group (known after it is created)."""
    return node_group.resources.apply(first_autoscaling_group_name)


@dataclass(frozen=True)
class PredictiveScalingArgs:
    """Arguments of :class:`PredictiveScaling`.

    ``autoscaling_group_name``: see :func:`autoscaling_group_name`. ``cpu_target_percent`` is
    the average CPU the forecast sizes the group for (10-90). ``scheduling_buffer_seconds``
    launches nodes that many seconds before the forecast needs them (0-3600; a node takes
    2-4 minutes to join and pull images). ``max_capacity_breach`` is ``HonorMaxCapacity``
    (default: the node group's max, which EKS owns, stays a hard limit) or
    ``IncreaseMaxCapacity`` (forecast may raise the max by ``max_capacity_buffer_percent``).
    ``mode`` defaults to :func:`default_mode`. ``scale_in`` adds the target-tracking policy.
    """

    environment: str
    autoscaling_group_name: pulumi.Input[str]
    cpu_target_percent: float = 50.0
    scheduling_buffer_seconds: int = 300
    max_capacity_breach: str = "HonorMaxCapacity"
    max_capacity_buffer_percent: int = 10
    mode: str | None = None
    scale_in: bool = True

    def __post_init__(self) -> None:
        """Refuse values EC2 Auto Scaling would reject, naming the argument and what is allowed."""
        if not _DNS_LABEL.match(self.environment):
            raise ValueError(f"environment must be a DNS label, got {self.environment!r}")
        if isinstance(self.cpu_target_percent, bool) or not (10 <= self.cpu_target_percent <= 90):
            raise ValueError(
                f"cpu_target_percent must be between 10 and 90, got {self.cpu_target_percent!r}"
            )
        if not 0 <= self.scheduling_buffer_seconds <= 3600:
            raise ValueError(
                "scheduling_buffer_seconds must be between 0 and 3600, "
                f"got {self.scheduling_buffer_seconds!r}"
            )
        if self.max_capacity_breach not in BREACH_BEHAVIOURS:
            raise ValueError(
                f"max_capacity_breach must be one of {', '.join(BREACH_BEHAVIOURS)}, "
                f"got {self.max_capacity_breach!r}"
            )
        if not 0 <= self.max_capacity_buffer_percent <= 100:
            raise ValueError(
                "max_capacity_buffer_percent must be between 0 and 100, "
                f"got {self.max_capacity_buffer_percent!r}"
            )
        if self.mode is not None and self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")

    @property
    def effective_mode(self) -> str:
        """The mode the policy uses: ``mode`` if given, else the environment's default."""
        return self.mode or default_mode(self.environment)


class PredictiveScaling(pulumi.ComponentResource):
    """A predictive scaling policy (and a scale-in target-tracking policy) on one group.

    The AWS provider comes from ``opts``.
    """

    def __init__(
        self, name: str, args: PredictiveScalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:PredictiveScaling", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        increase = args.max_capacity_breach == "IncreaseMaxCapacity"
        self.predictive = aws.autoscaling.Policy(
            f"{name}-predictive",
            autoscaling_group_name=args.autoscaling_group_name,
            policy_type="PredictiveScaling",
            predictive_scaling_configuration=aws.autoscaling.PolicyPredictiveScalingConfigurationArgs(
                mode=args.effective_mode,
                # The SDK types these two as strings.
                scheduling_buffer_time=str(args.scheduling_buffer_seconds),
                max_capacity_breach_behavior=args.max_capacity_breach,
                max_capacity_buffer=str(args.max_capacity_buffer_percent) if increase else None,
                metric_specification=aws.autoscaling.PolicyPredictiveScalingConfigurationMetricSpecificationArgs(
                    target_value=args.cpu_target_percent,
                    predefined_metric_pair_specification=aws.autoscaling.PolicyPredictiveScalingConfigurationMetricSpecificationPredefinedMetricPairSpecificationArgs(
                        predefined_metric_type=METRIC_PAIR
                    ),
                ),
            ),
            opts=child,
        )
        self.target_tracking: aws.autoscaling.Policy | None = None
        if args.scale_in:
            self.target_tracking = aws.autoscaling.Policy(
                f"{name}-target-tracking",
                autoscaling_group_name=args.autoscaling_group_name,
                policy_type="TargetTrackingScaling",
                # EKS drains a node (its lifecycle hook) before the group terminates it.
                estimated_instance_warmup=300,
                target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                    target_value=args.cpu_target_percent,
                    predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type=TARGET_TRACKING_METRIC
                    ),
                ),
                opts=child,
            )
        self.register_outputs({"mode": args.effective_mode})
