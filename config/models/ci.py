"""CI runners inside the VPC: where the jobs that run ``pulumi`` against the stack run."""

from __future__ import annotations

from config.fields import Domain, setting


class CiRunnerSettings(Domain):
    """The CodeBuild-hosted GitHub Actions runner of the stack (docs/ci-runners.md)."""

    enabled: bool = setting(
        False,
        "Register a CodeBuild project in GitHub Actions runner mode in the private subnets, "
        "for the jobs that run pulumi against this stack (its API endpoint is private).",
        key="ciRunnerEnabled",
    )
    repository: str = setting(
        "",
        "HTTPS URL of the GitHub repository whose workflow jobs the runner takes "
        "(https://github.com/<owner>/<repo>); required when the runner is enabled.",
        key="ciRunnerRepository",
    )
    connection_arn: str = setting(
        "",
        "ARN of the CodeConnections (or CodeStar Connections) connection to GitHub, created "
        "and authorised once by an admin; required when the runner is enabled.",
        key="ciRunnerConnectionArn",
    )
    compute_type: str = setting(
        "BUILD_GENERAL1_MEDIUM",
        "CodeBuild compute type of each runner build (BUILD_GENERAL1_SMALL, _MEDIUM, _LARGE, "
        "_XLARGE or _2XLARGE).",
        key="ciRunnerComputeType",
    )
    timeout_minutes: int = setting(
        120,
        "Longest a runner build (one workflow job) may run, in minutes.",
        key="ciRunnerTimeoutMinutes",
        ge=5,
        le=2160,
    )
    log_retention_days: int = setting(
        90,
        "Retention of the runner's build logs, in days.",
        key="ciRunnerLogRetentionDays",
        ge=1,
        le=3653,
    )
    organization: str = setting(
        "",
        "GitHub organization whose allowed repositories (ciRunnerRepositories, plus the "
        "ciRunnerRepository itself) may run jobs here: the webhook becomes an organization "
        "webhook. Empty = the jobs of ciRunnerRepository only.",
        key="ciRunnerOrganization",
    )
    repositories: list[str] = setting(
        [],
        "Names (without the owner) of the organization's application repositories whose "
        "app-pipeline jobs run here (deploy, k6, Selenium); needs ciRunnerOrganization.",
        key="ciRunnerRepositories",
    )
    docker: bool = setting(
        False,
        "Privileged mode (a Docker daemon in each build), for a runner that takes container "
        "jobs: the staging runner's Selenium service container.",
        key="ciRunnerDocker",
    )
