"""Autoscaling (seed 4.8.1): Karpenter's burst capacity and predictive scaling."""

from __future__ import annotations

from typing import Literal

from config.fields import Domain, setting

PredictiveMode = Literal["", "ForecastAndScale", "ForecastOnly"]


class AutoscalingSettings(Domain):
    """How far the cluster may grow on its own, and how early."""

    spot_allowed: bool | None = setting(
        None,
        "Karpenter may launch spot capacity for burst load; unset = true in dev and staging, "
        "false in prod (where true adds a separate tainted spot pool).",
        key="spotAllowed",
    )
    karpenter_cpu_limit: int = setting(
        32, "CPU cores Karpenter may launch per node pool.", key="karpenterCpuLimit", ge=1, le=1000
    )
    karpenter_memory_limit_gib: int = setting(
        128,
        "Memory Karpenter may launch per node pool, in GiB.",
        key="karpenterMemoryLimitGib",
        ge=1,
        le=4000,
    )
    karpenter_expire_after: str = setting(
        "720h",
        "Age after which Karpenter replaces a node, such as 720h (patched AMIs).",
        key="karpenterExpireAfter",
    )
    predictive_scaling_mode: PredictiveMode = setting(
        "",
        "Predictive scaling of the steady node group: ForecastAndScale or ForecastOnly; "
        "empty = ForecastOnly in dev, ForecastAndScale elsewhere.",
        key="predictiveScalingMode",
    )
    predictive_scaling_cpu_target: int = setting(
        50,
        "CPU utilisation (%) the steady node group's predictive scaling aims at.",
        key="predictiveScalingCpuTarget",
        ge=10,
        le=90,
    )
    predictive_scaling_buffer_seconds: int = setting(
        300,
        "Seconds before the forecast load that capacity is launched.",
        key="predictiveScalingBufferSeconds",
        ge=0,
        le=3600,
    )
