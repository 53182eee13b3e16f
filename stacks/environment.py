"""The platform of one environment: the layers in order, then the stack outputs.

Composition only: each layer (:mod:`stacks.layers`) registers components and hands the next
ones a typed result; nothing here creates a resource. Run by ``__main__.py`` for every stack
except recovery drills (:mod:`stacks.drill`).
"""

from __future__ import annotations

import pulumi

from components.vault.source import SecretSource
from config import Settings
from stacks.layers.addons import addons
from stacks.layers.anonymisation import anonymisation
from stacks.layers.backup_writers import backup_writers
from stacks.layers.ci import Ci, ci
from stacks.layers.clouds import Clouds, clouds
from stacks.layers.cost import cost
from stacks.layers.dashboard_access import dashboard_access
from stacks.layers.data import Data, data
from stacks.layers.dr_active import DrActive, dr_active
from stacks.layers.foundation import Foundation, foundation
from stacks.layers.network_policies import network_policies
from stacks.layers.observability import observability_layer
from stacks.layers.services import Services, services
from stacks.layers.synthetic_data import synthetic_data


def build(cfg: Settings, secrets: SecretSource) -> None:
    """Register the environment described by ``cfg``, reading secrets from ``secrets``."""
    base = foundation(cfg)
    runners = ci(cfg, base)
    stores = data(cfg, base, secrets)
    obs = observability_layer(cfg, base, stores, secrets)
    controllers = addons(cfg, base, stores, obs)
    dashboard_access(cfg, base, obs, controllers, secrets)
    apps = services(cfg, base, stores, obs, controllers, secrets=secrets, runners=runners)
    backup_writers(cfg, base, stores, apps)
    synthetic_data(cfg, base, stores, apps)
    pipeline = anonymisation(cfg, base, stores, runners).pipeline
    other_clouds = clouds(cfg, base, stores, apps)
    network_policies(cfg, base, obs, controllers.namespaces, apps.namespaces)
    dr = dr_active(cfg, base, stores, secrets)
    cost(cfg, base, other_clouds)
    _export(cfg, base, stores, apps, other_clouds, runners=runners, dr=dr)
    if pipeline is not None:
        # The anonymisation workflow's role and the throw-away instance's security group.
        pulumi.export("anonymisationRoleArn", pipeline.role.arn)
        pulumi.export("anonymisationSecurityGroupId", pipeline.security_group.id)
        pulumi.export("anonymisationShareKeyArn", pipeline.share_key_arn)
        pulumi.export("databaseSubnetGroup", stores.database.subnet_group_name)


def _export(
    cfg: Settings,
    base: Foundation,
    stores: Data,
    apps: Services,
    other_clouds: Clouds,
    *,
    runners: Ci,
    dr: DrActive,
) -> None:
    """The stack outputs the pipelines, runbooks and operators read."""
    pulumi.export("environment", cfg.identity.environment)
    pulumi.export("awsRegion", cfg.network.aws_region)
    pulumi.export("vpcId", base.network.vpc_id)
    pulumi.export("privateSubnetIds", base.network.private_subnet_ids)
    pulumi.export("isolatedSubnetIds", base.network.isolated_subnet_ids)
    pulumi.export("clusterName", base.cluster.name)
    pulumi.export("clusterEndpoint", base.cluster.endpoint)
    pulumi.export("oidcProviderArn", base.cluster.oidc_provider.arn)
    pulumi.export("kubeconfig", pulumi.Output.secret(base.cluster.kubeconfig))
    pulumi.export("databaseEndpoint", stores.database.endpoint)
    pulumi.export("databaseMasterSecretArn", stores.database.master_secret_arn)
    pulumi.export("cacheEndpoint", stores.cache.endpoint)
    # The IAM-authenticated user each client service connects to the cache as.
    pulumi.export("cacheUsers", {c: u.user_name for c, u in stores.cache.users.items()})
    pulumi.export("userDataBucket", stores.user_data.id)
    pulumi.export("logsBucket", stores.logs.id)
    pulumi.export("cdnDomainName", stores.cdn.domain_name)
    pulumi.export("staticAssetsBucket", stores.cdn.static_bucket_name)
    pulumi.export("webAclArn", stores.cdn.web_acl_arn)
    pulumi.export("backupVaultArn", stores.backup.vault_arn)
    pulumi.export("backupPlanId", stores.backup.plan_id)
    # The recovery drill restores Velero backups and Vault snapshots from this bucket.
    pulumi.export("snapshotStoreBucket", stores.snapshots.bucket_name)
    if stores.backup.dr_vault_arn is not None:
        pulumi.export("drBackupVaultArn", stores.backup.dr_vault_arn)
    if stores.pilot_light is not None:
        pulumi.export("drVpcId", stores.pilot_light.network.vpc_id)
    if dr.base is not None and dr.database is not None:
        pulumi.export("drClusterName", dr.base.cluster.name)
        pulumi.export("drDatabaseEndpoint", dr.database.endpoint)
    for name, delivery in apps.deliveries.items():
        pulumi.export(f"service-{name}-namespace", delivery.namespace)
    if other_clouds.analytics is not None:
        pulumi.export("analyticsDataset", other_clouds.analytics.dataset_id)
        pulumi.export("analyticsLandingBucket", other_clouds.analytics.bucket_name)
    if runners.runner is not None:
        # The runs-on label of the jobs that run pulumi against this stack (docs/ci-runners.md).
        pulumi.export("ciRunnerProject", runners.runner.project.name)
        pulumi.export("ciRunnerLabel", runners.runner.label)
