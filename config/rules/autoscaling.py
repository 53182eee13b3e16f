"""Rules of autoscaling: a node lifetime Karpenter understands."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.models.autoscaling import AutoscalingSettings
from config.problems import Problem, bad


def check_autoscaling(autoscaling: AutoscalingSettings) -> Iterable[Problem]:
    """``karpenterExpireAfter`` is a Go duration of hours, minutes or seconds."""
    if not re.fullmatch(r"([0-9]+(s|m|h))+", autoscaling.karpenter_expire_after):
        yield bad(autoscaling, "karpenter_expire_after", "a duration such as 720h")


RULES = (check_autoscaling,)
