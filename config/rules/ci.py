"""Rules of the CI runner: an enabled runner names its repository and its GitHub connection."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.models.ci import CiRunnerSettings
from config.problems import Problem, bad

_REPOSITORY = re.compile(r"^https://github\.com/(?P<owner>[A-Za-z0-9_.-]+)/[A-Za-z0-9_.-]+$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
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
    repository = _REPOSITORY.match(ci.repository)
    if repository is None:
        yield bad(ci, "repository", "https://github.com/<owner>/<repo>")
    if not _CONNECTION.match(ci.connection_arn):
        yield bad(
            ci,
            "connection_arn",
            "a connection ARN, arn:aws:codeconnections:<region>:<account>:connection/<id>",
        )
    if ci.compute_type not in COMPUTE_TYPES:
        yield bad(ci, "compute_type", "one of " + ", ".join(COMPUTE_TYPES))
    yield from _organization(ci, repository["owner"] if repository else None)


def _organization(ci: CiRunnerSettings, owner: str | None) -> Iterable[Problem]:
    """An organization webhook: the platform repository's own owner, and plain repository names.

    The organization must own ciRunnerRepository, since an organization webhook replaces the
    repository webhook and the platform's own jobs must still reach the runner.
    """
    if ci.organization:
        if not _NAME.match(ci.organization):
            yield bad(ci, "organization", "a GitHub organization name")
        elif owner is not None and owner.lower() != ci.organization.lower():
            yield bad(ci, "organization", f"the owner of ciRunnerRepository ({owner})")
    elif ci.repositories:
        yield bad(ci, "organization", "set whenever ciRunnerRepositories names repositories")
    for index, name in enumerate(ci.repositories):
        if not _NAME.match(name):
            yield bad(ci, "repositories", "a repository name without the owner", index=index)


RULES = (check_ci_runner,)
