"""Anonymisation layer (seed 4.2): prod's side of the pipeline that makes staging's data.

Registered where ``ttbt2:anonymisationEnabled`` is on (prod); settings validation requires the
CI runner (the workflow runs on it, next to the throw-away instance) and ``ttbt2:piiColumns``.
:mod:`components.aws.anonymisation` says what is created; docs/data/README.md how it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from components.aws.anonymisation import AnonymisationPipeline, AnonymisationPipelineArgs
from config import Settings
from stacks.layers.ci import Ci
from stacks.layers.data import Data
from stacks.layers.foundation import Foundation


@dataclass(frozen=True)
class Anonymisation:
    """What the anonymisation layer registered."""

    pipeline: AnonymisationPipeline | None
    """Prod's side of the pipeline; None where ``ttbt2:anonymisationEnabled`` is off."""


def anonymisation(cfg: Settings, base: Foundation, stores: Data, runners: Ci) -> Anonymisation:
    """The pipeline's security group, share key and role where the stack runs it."""
    if not cfg.data_pipelines.anonymisation_enabled or runners.runner is None:
        return Anonymisation(pipeline=None)
    pipeline = AnonymisationPipeline(
        f"{base.prefix}-anonymise",
        AnonymisationPipelineArgs(
            context=base.aws_ctx,
            tags=cfg.tags,
            vpc_id=base.network.vpc_id,
            runner_security_group_id=runners.runner.security_group.id,
            source_instance=f"{base.prefix}-db",
            subnet_group=stores.database.subnet_group_name,
            database_key_arn=stores.database.key_arn,
            repository=urlsplit(cfg.ci_runner.repository).path.strip("/"),
            share_accounts=list(cfg.data_pipelines.anonymisation_share_account_ids),
            protect=base.protect,
        ),
        opts=base.on_aws,
    )
    return Anonymisation(pipeline=pipeline)
