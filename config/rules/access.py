"""Rules of access (seed 4.2): only the groups allowed in an environment, by valid role ARNs."""

from __future__ import annotations

import re
from collections.abc import Iterable

from components.aws.access import access_plan
from config.models.access import AccessSettings
from config.models.cluster import ClusterSettings
from config.models.identity import IdentitySettings
from config.problems import Problem, bad

_ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def check_access(
    identity: IdentitySettings, cluster: ClusterSettings, access: AccessSettings
) -> Iterable[Problem]:
    """Each named role belongs to a group allowed here, and in prod to the production account."""
    env = identity.environment
    allowed = set(access_plan(env, cluster.app_namespace))
    for group, field in access.group_fields().items():
        arn = getattr(access, field)
        if not arn:
            continue
        if group not in allowed:
            yield bad(
                access,
                field,
                f"{group} have no access to {env}; groups allowed there: "
                + ", ".join(sorted(allowed)),
            )
        elif not _ROLE_ARN.match(arn):
            yield bad(access, field, "an IAM role ARN, arn:aws:iam::<12 digits>:role/<name>")
        elif identity.is_prod and not _in_account(arn, identity.production_account_id):
            yield bad(access, field, "prod roles live in the production account")


def _in_account(arn: str, account_id: str) -> bool:
    """Whether a role ARN is of the account (any account when none is named)."""
    return not account_id or f"::{account_id}:" in arn


RULES = (check_access,)
