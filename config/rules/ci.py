"""Rules of the CI runner: an enabled runner names its repository and its GitHub connection."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.models.ci import CiRunnerSettings
from config.problems import Problem, bad

_REPOSITORY = re.compile(r"^https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_CONNECTION = re.compile(
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
    r"connection/[A-Za-z0-9-]+$"
)
COMPUTE_TYPES = (
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
)


def check_ci_runner(ci: CiRunnerSettings) -> Iterable[Problem]:
    """Repository URL, connection ARN and compute type of an enabled runner."""
    if not ci.enabled:
        return
    if not _REPOSITORY.match(ci.repository):
        yield bad(ci, "repository", "https://github.com/<owner>/<repo>")
    if not _CONNECTION.match(ci.connection_arn):
        yield bad(
            ci,
            "connection_arn",
            "a connection ARN, arn:aws:codeconnections:<region>:<account>:connection/<id>",
        )
    if ci.compute_type not in COMPUTE_TYPES:
        yield bad(ci, "compute_type", "one of " + ", ".join(COMPUTE_TYPES))


RULES = (check_ci_runner,)
