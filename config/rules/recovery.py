"""Rules of recovery (seed 4.7): copies often enough for the RPO, a real break-glass role."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.constants import RPO_LIMIT_MINUTES
from config.models.network import NetworkSettings
from config.models.recovery import RecoverySettings
from config.problems import Problem, bad, key_of
from config.rules.edge import HOSTNAME


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


def check_dr_active(net: NetworkSettings, recovery: RecoverySettings) -> Iterable[Problem]:
    """The DR switch only where there is a DR region, with what the DR region serves with.

    The DR load balancer answers under its own host name (CloudFront's failover origin) with a
    certificate of the DR region: ACM certificates are regional.
    """
    if not recovery.dr_active:
        return
    if not net.dr_region:
        yield bad(
            recovery,
            "dr_active",
            f"true only where the DR region is configured ({key_of(net, 'dr_region')}: prod)",
        )
        return
    if not HOSTNAME.match(recovery.dr_api_origin_host):
        yield bad(
            recovery,
            "dr_api_origin_host",
            f"the host name of the DR load balancer (CloudFront's failover origin) when "
            f"{key_of(recovery, 'dr_active')} is true",
        )
    if not re.fullmatch(
        rf"arn:aws[a-z-]*:acm:{re.escape(net.dr_region)}:\d{{12}}:certificate/[0-9a-f-]{{36}}",
        recovery.dr_alb_certificate_arn,
    ):
        yield bad(
            recovery,
            "dr_alb_certificate_arn",
            f"the ARN of an ACM certificate in {net.dr_region} when "
            f"{key_of(recovery, 'dr_active')} is true",
        )


RULES = (check_recovery, check_dr_active)
