"""Synthetic data layer (seed 4.2): dev's database seeded once from the schema in the repository.

Registered where ``ttbt2:syntheticDataEnabled`` is on (dev); settings validation refuses it in
a stack holding real data or seeded from a snapshot. The Job waits for the database instance
and the application namespace; :mod:`components.k8s.synthetic_data` says what it does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

import pulumi

from components.aws.database import PORT
from components.aws.synthetic_data_iam import seeder_policy
from components.aws.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from components.k8s.synthetic_data import SyntheticDataJob, SyntheticDataJobArgs
from config import Settings
from stacks.layers.data import Data
from stacks.layers.foundation import Foundation
from stacks.layers.services import Services

SERVICE_ACCOUNT = "synthetic-data"


@dataclass(frozen=True)
class SyntheticData:
    """What the synthetic data layer registered."""

    job: SyntheticDataJob | None
    """The seeding Job; None where the stack loads no synthetic data."""


def synthetic_data(cfg: Settings, base: Foundation, stores: Data, apps: Services) -> SyntheticData:
    """The seeding Job and its IRSA role where ``ttbt2:syntheticDataEnabled`` is on."""
    if not cfg.data_pipelines.synthetic_data_enabled:
        return SyntheticData(job=None)
    database = stores.database
    # The instance always has a managed master password, so its secret always exists.
    secret_arn = cast(pulumi.Output[str], database.master_secret_arn)
    region = cfg.network.aws_region
    identity = WorkloadIdentity(
        f"{base.prefix}-{SERVICE_ACCOUNT}",
        WorkloadIdentityArgs(
            cluster=base.cluster,
            namespace=cfg.cluster.app_namespace,
            service_account=SERVICE_ACCOUNT,
            policy=pulumi.Output.all(secret_arn, database.key_arn).apply(
                lambda v: json.dumps(seeder_policy(v[0], v[1], region))
            ),
            tags=cfg.tags,
        ),
        opts=base.on_aws,
    )
    job = SyntheticDataJob(
        f"{base.prefix}-{SERVICE_ACCOUNT}",
        SyntheticDataJobArgs(
            namespace=cfg.cluster.app_namespace,
            service_account=SERVICE_ACCOUNT,
            role_arn=identity.role.arn,
            host=database.endpoint,
            port=PORT,
            database=cfg.database.name,
            region=region,
            engine_version=cfg.database.engine_version,
            master_secret_arn=secret_arn,
            vpc_cidr=cfg.network.vpc_cidr,
        ),
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": base.k8s},
            depends_on=[database.instance, apps.app_namespaces],
        ),
    )
    return SyntheticData(job=job)
