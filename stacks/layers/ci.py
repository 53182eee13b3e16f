"""CI layer: the GitHub Actions runner inside the VPC (docs/ci-runners.md).

The cluster's API endpoint is private, so the jobs that run ``pulumi`` against this stack run
on this runner; its first ``pulumi up`` is an admin's, from a machine with access.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from components.aws.ci_runner import CiRunner, CiRunnerArgs, EgressRule, project_name
from config import Settings
from stacks.layers.foundation import Foundation


def vault_egress(address: str) -> list[EgressRule]:
    """The runner's way to Vault: its port, when HTTPS (443) does not already cover it."""
    port = urlsplit(address).port or 443
    if port == 443:
        return []
    return [EgressRule(port, "0.0.0.0/0", "Vault: the deploy's login and secret reads")]


def ci_runner(cfg: Settings, base: Foundation) -> CiRunner | None:
    """The stack's CodeBuild runner in its private subnets; None when ``ciRunnerEnabled`` is off."""
    if not cfg.ci_runner.enabled:
        return None
    return CiRunner(
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
            extra_egress=vault_egress(cfg.vault.address),
            protect=base.protect,
        ),
        opts=base.on_aws,
    )
