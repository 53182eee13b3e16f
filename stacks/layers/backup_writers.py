"""Backup writers layer (seed 4.7.1): the database export and Vault's snapshots.

The export runs in every stack; Vault's snapshots where this stack takes them. Each writes its
own prefix of the snapshot store.

Each writer has an IRSA role that may only put objects below its prefix with the store's key
(:mod:`components.aws.backup_writer_iam`); the store's lifecycle rules keep them
``ttbt2:exportRetentionDays`` (stacks/layers/data.py). The copy to Azure (stacks/layers/clouds.py)
reads ``exports/<env>``; the stack policy ``copy-job-source-has-writer`` checks that something
here writes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pulumi

from components.aws.backup_writer_iam import db_user_arn, writer_policy
from components.aws.database import PORT
from components.aws.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from components.k8s import database_export, vault_snapshot
from components.k8s.backup_job import BackupJob, BackupJobArgs, BackupStep
from components.k8s.network_rules import NODE_METADATA
from components.vault.config import kubernetes_auth_path
from config import Settings
from stacks.layers.data import Data
from stacks.layers.foundation import Foundation
from stacks.layers.services import Services


@dataclass(frozen=True)
class BackupWriters:
    """The writers this stack runs."""

    database_export: BackupJob
    vault_snapshot: BackupJob | None
    """None when another stack or the provider snapshots Vault (``ttbt2:vaultSnapshots``)."""


def _export_prefix(environment: str) -> str:
    """Where the database exports of ``environment`` go (and the copy to Azure reads)."""
    return f"exports/{environment}"


def _vault_prefix(environment: str) -> str:
    """Where the Vault snapshots taken by ``environment``'s stack go."""
    return f"vault/{environment}"


def backup_writers(cfg: Settings, base: Foundation, stores: Data, apps: Services) -> BackupWriters:
    """Register the database export and, if this stack takes them, the Vault snapshots."""
    env = cfg.identity.environment
    export = _writer(
        cfg,
        base,
        stores,
        apps,
        app="database-export",
        prefix=_export_prefix(env),
        schedule=database_export.SCHEDULE,
        steps=database_export.export_steps(
            host=stores.database.endpoint,
            port=PORT,
            database=cfg.database.name,
            region=cfg.network.aws_region,
            engine_version=cfg.database.engine_version,
        ),
        file=database_export.FILE,
        suffix=".dump",
        connect=True,
        # The dump never exceeds the data, and the data never exceeds the storage ceiling.
        scratch_size=f"{cfg.database.max_allocated_storage_gb}Gi",
        # The database, in the isolated subnets of the VPC, on its one port.
        egress=[
            {
                "to": [{"ipBlock": {"cidr": cfg.network.vpc_cidr}}],
                "ports": [{"protocol": "TCP", "port": PORT}],
            }
        ],
    )
    snapshot = None
    if cfg.vault.snapshots == "this-stack":
        snapshot = _writer(
            cfg,
            base,
            stores,
            apps,
            app=vault_snapshot.SERVICE_ACCOUNT,
            prefix=_vault_prefix(env),
            schedule=vault_snapshot.SCHEDULE,
            steps=vault_snapshot.snapshot_steps(
                vault_address=cfg.vault.address, auth_mount=kubernetes_auth_path(env)
            ),
            file=vault_snapshot.FILE,
            suffix=".snap",
            volumes=[vault_snapshot.token_volume()],
            token_reviewer=True,
            egress=_vault_egress(cfg.vault.address),
        )
    return BackupWriters(database_export=export, vault_snapshot=snapshot)


def _vault_egress(address: str) -> list[dict[str, Any]]:
    """Egress to Vault's port when it is not 443 (which every writer may reach already).

    Vault runs outside the cluster at an address no policy can pin; the node's metadata stays
    out of reach, as in :func:`components.k8s.network_rules.https_egress`.
    """
    port = urlparse(address).port or 443
    if port == 443:
        return []
    return [
        {
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [NODE_METADATA]}}],
            "ports": [{"protocol": "TCP", "port": port}],
        }
    ]


def _writer(
    cfg: Settings,
    base: Foundation,
    stores: Data,
    apps: Services,
    *,
    app: str,
    prefix: str,
    schedule: str,
    steps: list[BackupStep],
    file: str,
    suffix: str,
    connect: bool = False,
    scratch_size: str = "10Gi",
    egress: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    token_reviewer: bool = False,
) -> BackupJob:
    """One writer: its IRSA role and its CronJob in the application namespace.

    The role may put objects below ``prefix`` and, if ``connect``, log in as the export user.
    """
    namespace = cfg.cluster.app_namespace
    ctx = base.aws_ctx
    database = stores.database.instance

    def policy(values: list[str]) -> str:
        bucket_arn, key_arn, partition, account, resource_id = values
        user = (
            db_user_arn(partition, ctx.region, account, resource_id, database_export.EXPORT_USER)
            if connect
            else None
        )
        return json.dumps(writer_policy(bucket_arn, key_arn, prefix, connect_as=user))

    identity = WorkloadIdentity(
        f"{base.prefix}-{app}",
        WorkloadIdentityArgs(
            cluster=base.cluster,
            namespace=namespace,
            service_account=app,
            policy=pulumi.Output.all(
                stores.snapshots.bucket_arn,
                stores.snapshots.key_arn,
                ctx.partition,
                ctx.account_id,
                database.resource_id,
            ).apply(policy),
            tags=cfg.tags,
        ),
        opts=base.on_aws,
    )
    return BackupJob(
        f"{base.prefix}-{app}",
        BackupJobArgs(
            namespace=namespace,
            app=app,
            service_account=app,
            role_arn=identity.role.arn,
            schedule=schedule,
            steps=steps,
            file=file,
            bucket=stores.snapshots.bucket_name,
            prefix=prefix,
            suffix=suffix,
            kms_key_arn=stores.snapshots.key_arn,
            region=cfg.network.aws_region,
            scratch_size=scratch_size,
            egress=egress or [],
            volumes=volumes or [],
            token_reviewer=token_reviewer,
        ),
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": base.k8s}, depends_on=[apps.app_namespaces]
        ),
    )
