"""Rules of recovery (seed 4.7): copies often enough for the RPO, a real break-glass role."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.constants import RPO_LIMIT_MINUTES
from config.models.recovery import RecoverySettings
from config.problems import Problem, bad


def check_recovery(recovery: RecoverySettings) -> Iterable[Problem]:
    """The copy schedule leaves under an hour between copies; the break-glass role is a role."""
    # Imported here: the CronJob module imports the Kubernetes SDK, which settings need not load
    # unless the schedule has to be understood.
    from components.k8s.backup_copy import max_interval_minutes

    role = recovery.backup_break_glass_role_arn
    if role and not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/.+", role):
        yield bad(recovery, "backup_break_glass_role_arn", "an IAM role ARN or empty")
    try:
        gap = max_interval_minutes(recovery.backup_copy_schedule)
    except ValueError as exc:
        yield bad(recovery, "backup_copy_schedule", f"a cron schedule: {exc}")
        return
    if gap >= RPO_LIMIT_MINUTES:
        yield bad(
            recovery,
            "backup_copy_schedule",
            f"runs at most every {RPO_LIMIT_MINUTES - 1} minutes: it leaves {gap} min between "
            f"copies, and the RPO is under {RPO_LIMIT_MINUTES} min",
        )


RULES = (check_recovery,)
