"""Other clouds layer (seed 4.1.2): analytics and AI on GCP, redundancy on Azure.

A cloud switched off in the stack registers nothing and needs no credentials. Both reach AWS
by federation: no stored key anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp

from components.azure.redundancy import Redundancy, RedundancyArgs
from components.gcp.analytics import Analytics, AnalyticsArgs
from components.k8s.backup_copy import BackupCopy, BackupCopyArgs
from config import Settings
from stacks.layers.data import Data
from stacks.layers.foundation import Foundation
from stacks.layers.services import Services

BACKUP_COPY_SERVICE_ACCOUNT = "backup-copy"
"""The copier's service account in the application namespace (the export reader trusts it)."""


@dataclass(frozen=True)
class Clouds:
    """What the other clouds hold, for the stack outputs."""

    analytics: Analytics | None
    """None when GCP is switched off."""
    redundancy: Redundancy | None
    """None when Azure is switched off."""
    gcp_provider: gcp.Provider | None = None
    """The GCP provider of the analytics project (the cost layer's budget uses it)."""
    azure_provider: azure_native.Provider | None = None
    """The Azure provider of the redundancy copy (the cost layer's budget uses it)."""


def clouds(cfg: Settings, base: Foundation, stores: Data, apps: Services) -> Clouds:
    """Register the GCP and Azure parts the stack switches on."""
    gcp_provider = azure_provider = None
    analytics = redundancy = None
    if cfg.gcp.enabled:
        gcp_provider = gcp.Provider("gcp", project=cfg.gcp.project, region=cfg.gcp.region)
        analytics = _analytics(cfg, base, gcp_provider)
    if cfg.azure.enabled:
        azure_provider = azure_native.Provider(
            "azure",
            location=cfg.azure.location,
            subscription_id=cfg.azure.subscription_id,
            tenant_id=cfg.azure.tenant_id,
        )
        redundancy = _redundancy(cfg, base, stores, apps, azure_provider)
    return Clouds(
        analytics=analytics,
        redundancy=redundancy,
        gcp_provider=gcp_provider,
        azure_provider=azure_provider,
    )


def _analytics(cfg: Settings, base: Foundation, gcp_provider: gcp.Provider) -> Analytics:
    """BigQuery, the landing bucket and Pub/Sub; AWS workloads write through federation."""
    # AWS workloads write to GCP through workload identity federation: no key anywhere.
    analytics_writer = base.cluster.irsa_role(
        f"{base.prefix}-analytics-writer", cfg.cluster.app_namespace, "analytics-writer", cfg.tags
    )
    return Analytics(
        f"{base.prefix}-analytics",
        AnalyticsArgs(
            project=cfg.gcp.project,
            region=cfg.gcp.region,
            environment=cfg.identity.environment,
            labels=cfg.data_labels,
            aws_account_id=base.aws_ctx.account_id,
            aws_writer_role_arn=analytics_writer.arn,
            landing_location=cfg.gcp.landing_location,
            access_log_retention_days=cfg.edge.access_log_retention_days,
            protect=base.protect,
        ),
        opts=pulumi.ResourceOptions(providers={"gcp": gcp_provider}),
    )


def _redundancy(
    cfg: Settings,
    base: Foundation,
    stores: Data,
    apps: Services,
    azure_provider: azure_native.Provider,
) -> Redundancy:
    """A geo-redundant, immutable copy of the backup exports on Azure.

    Written by a CronJob that authenticates to both clouds by federation: no stored secret.
    """
    redundancy = Redundancy(
        f"{base.prefix}-redundancy",
        RedundancyArgs(
            location=cfg.azure.location,
            environment=cfg.identity.environment,
            # Every resource of it serves the backup copy: the copy's data classification.
            tags=cfg.data_tags,
            tenant_id=cfg.azure.tenant_id,
            oidc_issuer_url=base.cluster.oidc_issuer,
            copier_namespace=cfg.cluster.app_namespace,
            copier_service_account=BACKUP_COPY_SERVICE_ACCOUNT,
            protect=base.protect,
        ),
        opts=pulumi.ResourceOptions(providers={"azure-native": azure_provider}),
    )
    BackupCopy(
        f"{base.prefix}-backup-copy",
        BackupCopyArgs(
            namespace=cfg.cluster.app_namespace,
            service_account=BACKUP_COPY_SERVICE_ACCOUNT,
            s3_bucket=stores.snapshots.bucket_name,
            s3_prefix=f"exports/{cfg.identity.environment}",
            s3_region=cfg.network.aws_region,
            storage_account=redundancy.storage_account_name,
            container=redundancy.container_name,
            aws_role_arn=stores.export_reader_role.arn,
            azure_client_id=redundancy.copier_client_id,
            azure_tenant_id=redundancy.tenant_id,
            schedule=cfg.recovery.backup_copy_schedule,
        ),
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": base.k8s}, depends_on=[apps.app_namespaces]
        ),
    )
    return redundancy
