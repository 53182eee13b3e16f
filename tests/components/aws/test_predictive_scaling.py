"""Predictive scaling of the steady managed node group, rendered on the mock engine.

Seed 4.8.1. The mock engine does not compute ``aws.eks.NodeGroup.resources``, so the programs
here pass the Auto Scaling group name directly, except the preview one, where the node group's
outputs are unknown anyway; the lookup itself is tested on the output shapes.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.predictive_scaling import (
    METRIC_PAIR,
    PredictiveScaling,
    PredictiveScalingArgs,
    autoscaling_group_name,
    default_mode,
    first_autoscaling_group_name,
)
from offline.engine import run_program
from offline.graph import UNKNOWN, StackGraph
from tests.conftest import of_type

POLICY = "aws:autoscaling/policy:Policy"
ASG = "eks-ttbt2-prod-workloads-0123456789abcdef"
MODES = pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
BASE = PredictiveScalingArgs(environment="prod", autoscaling_group_name=ASG)


def render(args: PredictiveScalingArgs, preview: bool) -> StackGraph:
    def program() -> None:
        provider = aws.Provider("aws", region="eu-west-1")
        PredictiveScaling("steady", args, opts=pulumi.ResourceOptions(providers={"aws": provider}))

    return run_program(program, project="t", stack=args.environment, preview=preview)


def policies(g: StackGraph) -> dict[str, dict[str, Any]]:
    return {r.props["policyType"]: r.props for r in of_type(g, POLICY)}


@MODES
@pytest.mark.parametrize(
    ("environment", "mode"),
    [("dev", "ForecastOnly"), ("staging", "ForecastAndScale"), ("prod", "ForecastAndScale")],
)
def test_policy_forecasts_cpu_and_scales_outside_dev(
    environment: str, mode: str, preview: bool
) -> None:
    g = render(replace(BASE, environment=environment), preview)
    predictive = policies(g)["PredictiveScaling"]
    assert predictive["autoscalingGroupName"] == ASG
    config = predictive["predictiveScalingConfiguration"]
    assert config["mode"] == mode
    assert config["schedulingBufferTime"] == "300"
    assert config["maxCapacityBreachBehavior"] == "HonorMaxCapacity"
    assert "maxCapacityBuffer" not in config
    spec = config["metricSpecification"]
    assert spec["targetValue"] == 50.0
    assert spec["predefinedMetricPairSpecification"] == {"predefinedMetricType": METRIC_PAIR}


@MODES
def test_target_tracking_scales_back_in_on_the_same_target(preview: bool) -> None:
    found = policies(render(replace(BASE, cpu_target_percent=60), preview))
    assert set(found) == {"PredictiveScaling", "TargetTrackingScaling"}
    tracking = found["TargetTrackingScaling"]
    assert tracking["autoscalingGroupName"] == ASG
    config = tracking["targetTrackingConfiguration"]
    assert config["targetValue"] == 60
    assert config["predefinedMetricSpecification"] == {
        "predefinedMetricType": "ASGAverageCPUUtilization"
    }
    assert (
        found["PredictiveScaling"]["predictiveScalingConfiguration"]["metricSpecification"][
            "targetValue"
        ]
        == 60
    )


def test_scale_in_policy_can_be_left_out() -> None:
    assert set(policies(render(replace(BASE, scale_in=False), False))) == {"PredictiveScaling"}


def test_increase_max_capacity_sets_the_buffer() -> None:
    args = replace(BASE, max_capacity_breach="IncreaseMaxCapacity", max_capacity_buffer_percent=20)
    config = policies(render(args, False))["PredictiveScaling"]["predictiveScalingConfiguration"]
    assert config["maxCapacityBreachBehavior"] == "IncreaseMaxCapacity"
    assert config["maxCapacityBuffer"] == "20"


def test_explicit_mode_overrides_the_environment_default() -> None:
    args = replace(BASE, mode="ForecastOnly")
    assert args.effective_mode == "ForecastOnly"
    config = policies(render(args, False))["PredictiveScaling"]["predictiveScalingConfiguration"]
    assert config["mode"] == "ForecastOnly"
    assert default_mode("prod") == "ForecastAndScale"


def test_group_name_comes_from_the_node_group_in_a_first_preview() -> None:
    """In a preview the node group's resources are unknown; the policies still register."""

    def program() -> None:
        provider = aws.Provider("aws", region="eu-west-1")
        on_aws = pulumi.ResourceOptions(providers={"aws": provider})
        group = aws.eks.NodeGroup(
            "workloads",
            cluster_name="ttbt2-prod",
            node_role_arn="arn:aws:iam::123456789012:role/node",
            subnet_ids=["subnet-1"],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=3, desired_size=3, max_size=6
            ),
            opts=on_aws,
        )
        PredictiveScaling(
            "steady",
            replace(BASE, autoscaling_group_name=autoscaling_group_name(group)),
            opts=on_aws,
        )

    g = run_program(program, project="t", stack="prod", preview=True)
    for props in policies(g).values():
        assert props["autoscalingGroupName"] == UNKNOWN


@pytest.mark.parametrize(
    "resources",
    [
        [{"autoscalingGroups": [{"name": ASG}], "remoteAccessSecurityGroupId": ""}],
        [SimpleNamespace(autoscaling_groups=[SimpleNamespace(name=ASG)])],
    ],
    ids=["dict", "sdk-output"],
)
def test_group_name_is_read_from_the_node_group_resources(resources: list[Any]) -> None:
    assert first_autoscaling_group_name(resources) == ASG


@pytest.mark.parametrize("resources", [None, [], [{"autoscalingGroups": []}]])
def test_a_node_group_without_an_autoscaling_group_is_refused(resources: Any) -> None:
    with pytest.raises(ValueError, match="reports no Auto Scaling group"):
        first_autoscaling_group_name(resources)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cpu_target_percent": 95}, "cpu_target_percent must be between 10 and 90, got 95"),
        ({"scheduling_buffer_seconds": 3601}, "scheduling_buffer_seconds must be between 0"),
        ({"max_capacity_breach": "Ignore"}, "max_capacity_breach must be one of HonorMax"),
        ({"max_capacity_buffer_percent": 101}, "max_capacity_buffer_percent must be between"),
        ({"mode": "Scale"}, "mode must be one of ForecastAndScale, ForecastOnly, got 'Scale'"),
        ({"environment": "Prod"}, "environment must be a DNS label"),
    ],
)
def test_bad_arguments_are_refused_by_name(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(BASE, **overrides)
