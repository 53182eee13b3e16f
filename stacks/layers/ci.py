"""CI layer: the GitHub Actions runner inside the VPC (docs/ci-runners.md).

The cluster's API endpoint is private, so the jobs that run ``pulumi`` against this stack run
on this runner; its first ``pulumi up`` is an admin's, from a machine with access.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.aws.ci_runner import CiRunner, CiRunnerArgs, project_name, url_egress
from config import Settings
from stacks.layers.foundation import Foundation


@dataclass(frozen=True)
class Ci:
    """What the CI layer registered."""

    runner: CiRunner | None
    """The stack's CodeBuild runner; None when ``ttbt2:ciRunnerEnabled`` is off."""


def ci(cfg: Settings, base: Foundation) -> Ci:
    """The stack's CodeBuild runner in its private subnets, admitted to the cluster's API."""
    if not cfg.ci_runner.enabled:
        return Ci(runner=None)
    runner = CiRunner(
        f"{base.prefix}-ci-runner",
        CiRunnerArgs(
            project_name=project_name(base.prefix),
            repository=cfg.ci_runner.repository,
            connection_arn=cfg.ci_runner.connection_arn,
            vpc_id=base.network.vpc_id,
            subnet_ids=base.network.private_subnet_ids,
            context=base.aws_ctx,
            tags=cfg.tags,
            log_retention_days=cfg.ci_runner.log_retention_days,
            compute_type=cfg.ci_runner.compute_type,
            build_timeout_minutes=cfg.ci_runner.timeout_minutes,
            cluster_security_group_id=base.cluster.security_group_id,
            extra_egress=url_egress(
                cfg.vault.address, "Vault: the deploy's login and secret reads"
            ),
            organization=cfg.ci_runner.organization,
            repositories=tuple(cfg.ci_runner.repositories),
            docker=cfg.ci_runner.docker,
            protect=base.protect,
        ),
        opts=base.on_aws,
    )
    return Ci(runner=runner)
