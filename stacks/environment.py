"""The platform of one environment: every component, wired from the settings.

Composition only: components come in, their outputs go out as stack exports. Run by
``__main__.py`` for every stack except recovery drills (:mod:`stacks.drill`).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_vault as vault

from components.aws import context
from components.aws.access import access_plan
from components.aws.backup import BackupPlan, BackupPlanArgs, selection_tag
from components.aws.bucket import SecureBucket, SecureBucketArgs
from components.aws.cache import RedisCache, RedisCacheArgs
from components.aws.cdn import Cdn, CdnArgs
from components.aws.database import Database, DatabaseArgs
from components.aws.eks import KubernetesCluster, KubernetesClusterArgs, NodeGroupSpec
from components.aws.karpenter_iam import NAMESPACE as KARPENTER_NAMESPACE
from components.aws.karpenter_iam import KarpenterAws, KarpenterAwsArgs
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.load_balancer_controller_policy import controller_policy
from components.aws.network import Network, NetworkArgs
from components.aws.pilot_light import PilotLight, PilotLightArgs, ReplicatedBucket
from components.aws.predictive_scaling import (
    PredictiveScaling,
    PredictiveScalingArgs,
    autoscaling_group_name,
)
from components.aws.snapshots import SnapshotStore, SnapshotStoreArgs
from components.azure.redundancy import Redundancy, RedundancyArgs
from components.gcp.analytics import Analytics, AnalyticsArgs
from components.k8s import load_balancer_controller as lbc
from components.k8s import observability, velero
from components.k8s.autoscaling import VPA_NAMESPACE, PodAutoscaling, PodAutoscalingArgs
from components.k8s.backup_copy import BackupCopy, BackupCopyArgs
from components.k8s.gitops import NAMESPACE as GITOPS_NAMESPACE
from components.k8s.gitops import GitOps, GitOpsArgs
from components.k8s.karpenter import Karpenter, KarpenterArgs
from components.k8s.logs import LoggingSettings
from components.k8s.metrics import MetricsStackArgs
from components.k8s.namespaces import AppNamespaces, AppNamespacesArgs
from components.k8s.network_baseline import baseline_policy
from components.k8s.observability_common import MONITORING_NAMESPACE, SNAPSHOT_SERVICE_ACCOUNT
from components.k8s.pushgateway import VAULT_CONSUMERS as PUSHGATEWAY_CONSUMERS
from components.k8s.pushgateway import Pushgateway, PushgatewayArgs
from components.k8s.rollouts import NAMESPACE as ROLLOUTS_NAMESPACE
from components.k8s.rollouts import RolloutsController, RolloutsControllerArgs
from components.k8s.service_delivery import ServiceDelivery, ServiceDeliveryArgs, prometheus_url
from components.k8s.vault_secrets import (
    OPERATOR_NAMESPACE,
    VaultSecretsOperator,
    VaultSecretsOperatorArgs,
    config_secret_name,
    database_secret_name,
)
from components.monitoring import alerts, dashboards, routing
from components.vault import config as vault_config
from components.vault import source as secret_source
from config import Settings, instance_architecture


def build(cfg: Settings, secrets: secret_source.SecretSource) -> None:
    """Register the environment described by ``cfg``, its secrets read from ``secrets``."""
    env = cfg.identity.environment
    prefix = f"ttbt2-{pulumi.get_stack()}"
    protect = cfg.is_prod

    # Data stores carry this tag to be selected by the AWS Backup plan of their environment.
    backup_tag = dict([selection_tag(env)])

    aws_primary = aws.Provider("aws-primary", region=cfg.network.aws_region)
    # CloudFront takes its certificate and web ACL from us-east-1 only.
    aws_edge = aws.Provider("aws-edge", region="us-east-1")
    random_provider = random.Provider("random")
    aws_ctx = context.lookup(aws_primary, cfg.network.aws_region)
    # The disaster-recovery region (prod): backup copies and the pilot light live there.
    aws_dr = aws.Provider("aws-dr", region=cfg.network.dr_region) if cfg.network.dr_region else None
    dr_ctx = context.lookup(aws_dr, cfg.network.dr_region) if aws_dr else None
    on_aws = pulumi.ResourceOptions(providers={"aws": aws_primary, "random": random_provider})

    network = Network(
        f"{prefix}-network",
        NetworkArgs(
            cidr=cfg.network.vpc_cidr,
            zones=cfg.network.availability_zones,
            nat_zones=cfg.nat_zones,
            cluster_name=prefix,
            flow_log_retention_days=cfg.network.flow_log_retention_days,
            context=aws_ctx,
            tags=cfg.tags,
            protect=protect,
        ),
        opts=on_aws,
    )

    plan = access_plan(env, cfg.cluster.app_namespace)
    cluster = KubernetesCluster(
        prefix,
        KubernetesClusterArgs(
            version=cfg.cluster.kubernetes_version,
            subnet_ids=network.private_subnet_ids,
            node_subnet_ids=network.private_subnet_ids_in(cfg.compute_zones),
            node_groups=[
                NodeGroupSpec(
                    name="system",
                    instance_types=cfg.nodes.system_instance_types,
                    min_size=cfg.nodes.system_min_size,
                    desired_size=cfg.nodes.system_desired_size,
                    max_size=cfg.nodes.system_max_size,
                    architecture=instance_architecture(cfg.nodes.system_instance_types[0]),
                    taints=[
                        {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}
                    ],
                ),
                NodeGroupSpec(
                    name="workloads",
                    instance_types=cfg.nodes.workload_instance_types,
                    min_size=cfg.nodes.workload_min_size,
                    desired_size=cfg.nodes.workload_desired_size,
                    max_size=cfg.nodes.workload_max_size,
                    architecture=instance_architecture(cfg.nodes.workload_instance_types[0]),
                    capacity_type=cfg.nodes.workload_capacity_type,
                ),
            ],
            access={group: (arn, plan[group]) for group, arn in cfg.access_roles().items()},
            context=aws_ctx,
            tags=cfg.tags,
            service_cidr=cfg.network.service_cidr,
            endpoint_public=cfg.cluster.endpoint_public,
            public_access_cidrs=cfg.cluster.public_access_cidrs,
            log_retention_days=cfg.cluster.control_plane_log_retention_days,
            node_disk_size_gb=cfg.cluster.node_disk_size_gb,
            protect=protect,
        ),
        opts=on_aws,
    )

    # Shared buckets. Access logs land in an SSE-S3 bucket (S3 cannot deliver them to SSE-KMS)
    # that keeps ACLs for CloudFront's log delivery; user data is versioned and KMS-encrypted.
    logs = SecureBucket(
        f"{prefix}-logs",
        SecureBucketArgs(
            tags={**cfg.tags, "purpose": "access-logs"},
            kms_key_arn=None,
            acl_log_delivery=True,
            expire_days=cfg.edge.access_log_retention_days,
            noncurrent_expire_days=30,
            protect=protect,
        ),
        opts=on_aws,
    )
    user_data_key = EncryptionKey(
        f"{prefix}-user-data",
        EncryptionKeyArgs(
            description=f"User data of {prefix} (seed 4.7.1: encrypted backups of user data)",
            context=aws_ctx,
            tags=cfg.tags,
            protect=protect,
        ),
        opts=on_aws,
    )
    user_data = SecureBucket(
        f"{prefix}-user-data",
        SecureBucketArgs(
            tags={**cfg.tags, "purpose": "user-data", **backup_tag},
            kms_key_arn=user_data_key.arn,
            log_bucket=logs.id,
            protect=protect,
        ),
        opts=on_aws,
    )

    database = Database(
        f"{prefix}-db",
        DatabaseArgs(
            context=aws_ctx,
            tags=cfg.tags,
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_group_id=cluster.security_group_id,
            instance_class=cfg.database.instance_class,
            engine_version=cfg.database.engine_version,
            allocated_storage_gb=cfg.database.allocated_storage_gb,
            max_allocated_storage_gb=cfg.database.max_allocated_storage_gb,
            backup_retention_days=cfg.database.backup_retention_days,
            multi_az=cfg.database.multi_az,
            performance_insights_retention_days=cfg.database.performance_insights_retention_days,
            monitoring_interval_seconds=cfg.database.monitoring_interval_seconds,
            db_name=cfg.database.name,
            master_username=cfg.database.master_username,
            log_retention_days=cfg.cluster.control_plane_log_retention_days,
            restore_snapshot=cfg.identity.data_source_snapshot,
            production=protect,
            backup_tags=backup_tag,
        ),
        opts=on_aws,
    )

    cache = RedisCache(
        f"{prefix}-cache",
        RedisCacheArgs(
            context=aws_ctx,
            tags=cfg.tags,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            client_security_group_id=cluster.security_group_id,
            engine=cfg.cache.engine,
            engine_version=cfg.cache.engine_version,
            node_type=cfg.cache.node_type,
            nodes=cfg.cache.nodes,
            snapshot_retention_days=cfg.cache.snapshot_retention_days,
            eviction_policy=cfg.cache.eviction_policy,
            log_retention_days=cfg.cluster.control_plane_log_retention_days,
            # From Vault when the stack declares it; generated (and kept only as a secret) if not.
            auth_token=secrets.for_consumer("redis"),
            production=protect,
        ),
        opts=on_aws,
    )

    cdn = Cdn(
        f"{prefix}-edge",
        CdnArgs(
            context=aws_ctx,
            tags=cfg.tags,
            api_origin_host=cfg.edge.api_origin_host,
            log_bucket_id=logs.id,
            log_bucket_domain_name=logs.bucket.bucket_domain_name,
            edge_provider=aws_edge,
            domain=cfg.edge.cdn_domain,
            hosted_zone_id=cfg.edge.cdn_hosted_zone_id,
            api_public_paths=tuple(cfg.edge.api_public_paths),
            static_paths=tuple(cfg.edge.static_paths),
            price_class=cfg.edge.cdn_price_class,
            waf_rate_limit=cfg.edge.waf_rate_limit,
            api_cache_ttl_seconds=cfg.edge.api_cache_ttl_seconds,
            protect=protect,
        ),
        opts=on_aws,
    )

    # AWS Backup (seed 4.7): continuous backup (point-in-time, minutes) and daily snapshots of every
    # store carrying the selection tag, copied to a vault in the DR region; locked in prod.
    backup_key = EncryptionKey(
        f"{prefix}-backup",
        EncryptionKeyArgs(
            description=f"AWS Backup vault of {prefix}",
            context=aws_ctx,
            tags=cfg.tags,
            protect=protect,
        ),
        opts=on_aws,
    )
    backup_dr_key = (
        EncryptionKey(
            f"{prefix}-backup-dr",
            EncryptionKeyArgs(
                description=f"AWS Backup DR vault of {prefix}",
                context=dr_ctx,
                tags=cfg.tags,
                protect=protect,
            ),
            opts=pulumi.ResourceOptions(providers={"aws": aws_dr}),
        )
        if aws_dr and dr_ctx
        else None
    )
    backup = BackupPlan(
        f"{prefix}-backup",
        BackupPlanArgs(
            environment=env,
            tags=cfg.tags,
            context=aws_ctx,
            kms_key_arn=backup_key.arn,
            dr_provider=aws_dr,
            dr_kms_key_arn=backup_dr_key.arn if backup_dr_key else None,
            break_glass_role_arn=cfg.recovery.backup_break_glass_role_arn or None,
            # One knob for how long backups are kept: the database's, Velero's and these.
            daily_retention_days=cfg.database.backup_retention_days,
            protect=protect,
        ),
        opts=on_aws,
    )
    pulumi.export("backupVaultArn", backup.vault_arn)
    pulumi.export("backupPlanId", backup.plan_id)
    if backup.dr_vault_arn is not None:
        pulumi.export("drBackupVaultArn", backup.dr_vault_arn)

    # Built once from the cluster and handed to every Kubernetes component.
    k8s_provider = k8s.Provider(
        "k8s",
        kubeconfig=cluster.kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(depends_on=cluster.node_groups),
    )
    on_k8s = pulumi.ResourceOptions(providers={"kubernetes": k8s_provider})

    # Autoscaling (seed 4.8.1, docs/autoscaling.md): pods by HPA (metrics-server) with VPA
    # recommendations; burst nodes by Karpenter (spot where the environment allows it); the steady
    # node group by predictive scaling from its own load history.
    pod_autoscaling = PodAutoscaling(
        f"{prefix}-autoscaling", PodAutoscalingArgs(environment=env), opts=on_k8s
    )
    karpenter_aws = KarpenterAws(
        f"{prefix}-karpenter-aws",
        KarpenterAwsArgs(
            cluster_name=prefix,
            oidc_provider_arn=cluster.oidc_provider.arn,
            oidc_issuer_url=cluster.oidc_issuer,
            node_role_arn=cluster.node_role.arn,
            cluster_security_group_id=cluster.security_group_id,
            context=aws_ctx,
            tags=cfg.tags,
            node_volume_key_arn=cluster.node_volume_key_arn,
        ),
        opts=on_aws,
    )
    workload_architecture = instance_architecture(cfg.nodes.workload_instance_types[0])
    karpenter = Karpenter(
        f"{prefix}-karpenter",
        KarpenterArgs(
            environment=env,
            cluster_name=prefix,
            interruption_queue=karpenter_aws.queue_name,
            controller_role_arn=karpenter_aws.role_arn,
            node_role_name=cluster.node_role.name,
            spot_allowed=cfg.spot_enabled,
            cpu_limit=cfg.autoscaling.karpenter_cpu_limit,
            memory_limit_gib=cfg.autoscaling.karpenter_memory_limit_gib,
            node_volume_key_arn=cluster.node_volume_key_arn,
            node_disk_size_gb=cfg.cluster.node_disk_size_gb,
            zones=list(cfg.compute_zones),
            expire_after=cfg.autoscaling.karpenter_expire_after,
            architectures=["arm64" if workload_architecture == "arm64" else "amd64"],
            tags=cfg.tags,
        ),
        opts=on_k8s,
    )
    PredictiveScaling(
        f"{prefix}-steady-scaling",
        PredictiveScalingArgs(
            environment=env,
            # The "workloads" group: the steady base load (the "system" group is fixed size).
            autoscaling_group_name=autoscaling_group_name(cluster.node_groups[1]),
            cpu_target_percent=cfg.autoscaling.predictive_scaling_cpu_target,
            scheduling_buffer_seconds=cfg.autoscaling.predictive_scaling_buffer_seconds,
            mode=cfg.autoscaling.predictive_scaling_mode or None,
        ),
        opts=on_aws,
    )

    namespaces = AppNamespaces(
        f"{prefix}-namespaces",
        AppNamespacesArgs(names=[cfg.cluster.app_namespace], labels={"environment": env}),
        opts=on_k8s,
    )

    # Vault: per-service policies, Kubernetes auth roles and short-lived database credentials
    # (seed 4.9.1). No token input: the provider reads VAULT_TOKEN from the environment of
    # each run, so no short-lived credential is stored in state (scripts/vault_login.py).
    vault_provider = vault.Provider(
        "vault",
        address=cfg.vault.address,
        namespace=cfg.vault.namespace or None,
        ca_cert_file=cfg.vault.ca_bundle or None,
    )
    declared_admin_password = secrets.for_consumer("database-admin")
    # Vault serves the services only when there are some and its database engine has the
    # admin password.
    database_admin_password = declared_admin_password if cfg.vault.services else None
    vault_synced = database_admin_password is not None
    # Vault-backed services that are also delivered as Rollouts live in their own namespaces;
    # Vault's roles and the operator's objects follow them there.
    rollout_services = tuple(s.name for s in cfg.delivery.services if s.name in cfg.vault.services)
    if database_admin_password is not None:
        vault_config.VaultConfig(
            f"{prefix}-vault",
            vault_config.VaultConfigArgs(
                environment=env,
                kv_mount=cfg.vault.kv_mount,
                services=cfg.vault.services,
                app_namespace=cfg.cluster.app_namespace,
                kubernetes_host=cluster.endpoint,
                kubernetes_ca_cert=cluster.ca_certificate_pem,
                database_host=database.endpoint,
                database_name=cfg.database.name,
                database_admin_username=cfg.vault.database_admin_username,
                database_admin_password=database_admin_password,
                credential_ttl_seconds=cfg.vault.credential_ttl_seconds,
                static_rotation_seconds=cfg.vault.static_rotation_seconds,
                rollout_services=rollout_services,
            ),
            opts=pulumi.ResourceOptions(providers={"vault": vault_provider}),
        )

    # Backups written from the cluster (Elasticsearch snapshots, seed 4.7.1), each writer limited to
    # its own prefix.
    snapshots_prefix = f"elasticsearch/{env}"
    velero_prefix = f"velero/{env}"
    snapshots = SnapshotStore(
        f"{prefix}-snapshots",
        SnapshotStoreArgs(
            context=aws_ctx,
            tags=cfg.tags,
            cluster=cluster,
            log_bucket=logs.id,
            writers={
                snapshots_prefix: (MONITORING_NAMESPACE, SNAPSHOT_SERVICE_ACCOUNT),
                velero_prefix: (velero.NAMESPACE, velero.SERVICE_ACCOUNT),
            },
            # The copy to Azure reads every backup export and writes none.
            readers={f"exports/{env}": (cfg.cluster.app_namespace, "backup-copy")},
            protect=protect,
            backup_tags=backup_tag,
        ),
        opts=on_aws,
    )

    # Disaster recovery (seed 4.7): a pilot light in the DR region keeps the network, the keys and a
    # continuously refreshed copy of the data there, so the platform can be rebuilt in that region
    # within the recovery time objective.
    if aws_dr and dr_ctx:
        pilot_light = PilotLight(
            f"{prefix}-dr",
            PilotLightArgs(
                environment=env,
                tags=cfg.tags,
                dr_context=dr_ctx,
                dr_provider=aws_dr,
                primary_provider=aws_primary,
                cidr=cfg.network.dr_vpc_cidr,
                zones=cfg.network.dr_availability_zones,
                cluster_name=f"{prefix}-dr",
                flow_log_retention_days=cfg.network.flow_log_retention_days,
                database_arn=database.instance.arn,
                backup_retention_days=cfg.database.backup_retention_days,
                buckets={
                    "user-data": ReplicatedBucket(
                        bucket_id=user_data.id,
                        bucket_arn=user_data.arn,
                        kms_key_arn=user_data_key.arn,
                        depends_on=[user_data],
                    ),
                    # Elasticsearch snapshots, Velero backups and the exports: readable in the
                    # DR region after a region loss.
                    "backups": ReplicatedBucket(
                        bucket_id=snapshots.bucket_name,
                        bucket_arn=snapshots.bucket.arn,
                        kms_key_arn=snapshots.key_arn,
                        depends_on=[snapshots],
                    ),
                },
                protect=protect,
            ),
            opts=pulumi.ResourceOptions(providers={"random": random_provider}),
        )
        pulumi.export("drVpcId", pilot_light.network.vpc_id)

    # Prometheus, Alertmanager, Grafana and ELK (seed 4.4-4.6): alerts, routing and dashboards come
    # from the pure catalog modules; receiver credentials and the Grafana admin from Vault.
    alert_routing = routing.alertmanager_config(
        routing.RoutingSettings(
            environment=env,
            slack_channel=cfg.alerting.slack_channel,
            email_to=cfg.alerting.email_to,
            email_from=cfg.alerting.email_from,
            smarthost=cfg.alerting.smarthost,
            sms_webhook_url=cfg.alerting.sms_webhook_url,
        )
    )
    receiver_credentials = {
        file: secrets.for_consumer(f"alertmanager-{file}") for file in routing.SECRET_FILES
    }
    observability_stack = observability.Observability(
        f"{prefix}-observability",
        observability.ObservabilityArgs(
            metrics=MetricsStackArgs(
                environment=env,
                prometheus_replicas=cfg.observability.prometheus_replicas,
                retention_days=cfg.observability.prometheus_retention_days,
                prometheus_storage_gb=cfg.observability.prometheus_storage_gb,
                alertmanager_replicas=cfg.observability.alertmanager_replicas,
                grafana_admin_password=secrets.for_consumer("grafana-admin"),
                rule_groups=alerts.rule_groups(),
                alertmanager_config=alert_routing,
                alertmanager_secret_name="alertmanager-receivers",
                alertmanager_secret_files=routing.SECRET_FILES,
                alertmanager_secret_values={
                    k: v for k, v in receiver_credentials.items() if v is not None
                },
                dashboards=dashboards.dashboards(),
            ),
            logging=LoggingSettings(
                snapshot_bucket=snapshots.bucket_name,
                snapshot_role_arn=snapshots.roles[snapshots_prefix].arn,
                elasticsearch_nodes=cfg.observability.elasticsearch_nodes,
                elasticsearch_storage_gb=cfg.observability.elasticsearch_storage_gb,
                log_retention_days=cfg.observability.log_retention_days,
            ),
        ),
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": k8s_provider, "random": random_provider}
        ),
    )

    # Custom resources of the charts below (ServiceMonitors) need the Prometheus Operator's CRDs.
    after_observability = pulumi.ResourceOptions(
        providers={"kubernetes": k8s_provider}, depends_on=[observability_stack]
    )

    # Kubernetes state (seed 4.7.1): Velero backs the cluster's objects up to the backup store
    # at its own prefix, and its volumes as EBS snapshots (the store's role grants only S3 and
    # its key).
    aws.iam.RolePolicy(
        f"{prefix}-velero-volume-snapshots",
        role=snapshots.roles[velero_prefix].id,
        policy=aws_ctx.account_id.apply(
            lambda account: json.dumps(
                velero.volume_snapshot_policy(cfg.network.aws_region, account, [])
            )
        ),
        opts=on_aws,
    )
    velero_stack = velero.Velero(
        f"{prefix}-velero",
        velero.VeleroArgs(
            environment=env,
            bucket=snapshots.bucket_name,
            role_arn=snapshots.roles[velero_prefix].arn,
            region=cfg.network.aws_region,
            prefix=velero_prefix,
            daily_retention_days=cfg.database.backup_retention_days,
            labels={"environment": env},
        ),
        opts=after_observability,
    )

    # Delivery (seed 4.1.3): Ingresses become ALBs through the load balancer controller (plain
    # Services never become NLBs by surprise); Argo Rollouts runs the canaries; Argo CD applies the
    # application configuration repository's reviewed changes (docs/gitops.md).
    lbc_role = cluster.irsa_role(f"{prefix}-lbc", lbc.NAMESPACE, lbc.SERVICE_ACCOUNT, cfg.tags)
    lbc_policy = aws.iam.RolePolicy(
        f"{prefix}-lbc",
        role=lbc_role.id,
        policy=pulumi.Output.all(aws_ctx.account_id, aws_ctx.partition).apply(
            lambda ap: json.dumps(
                controller_policy(account_id=ap[0], region=cfg.network.aws_region, partition=ap[1])
            )
        ),
        opts=on_aws,
    )
    load_balancer_controller = lbc.LoadBalancerController(
        f"{prefix}-lbc",
        lbc.LoadBalancerControllerArgs(
            environment=env,
            cluster_name=cluster.name,
            region=cfg.network.aws_region,
            vpc_id=network.vpc_id,
            role_arn=lbc_role.arn,
            tags=cfg.tags,
        ),
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": k8s_provider}, depends_on=[observability_stack, lbc_policy]
        ),
    )
    rollouts = RolloutsController(
        f"{prefix}-rollouts", RolloutsControllerArgs(environment=env), opts=after_observability
    )
    # The services (seed 4.1.3): each in its own namespace with an IRSA role holding only the
    # permissions it declares. With GitOps, Argo CD applies each Rollout (the image) from the
    # reviewed configuration repository; everything around it is reconciled here.
    service_namespaces: list[pulumi.Resource] = []
    for svc in cfg.delivery.services:
        service_role = cluster.irsa_role(f"{prefix}-svc-{svc.name}", svc.name, svc.name, cfg.tags)
        if svc.aws_permissions:
            aws.iam.RolePolicy(
                f"{prefix}-svc-{svc.name}",
                role=service_role.id,
                policy=json.dumps(svc.iam_policy_document()),
                opts=on_aws,
            )
        delivery = ServiceDelivery(
            f"{prefix}-svc-{svc.name}",
            ServiceDeliveryArgs(
                service=svc,
                environment=env,
                role_arn=service_role.arn,
                certificate_arn=cfg.delivery.alb_certificate_arn,
                vpc_cidr=cfg.network.vpc_cidr,
                prometheus_url=prometheus_url(),
                crd_dependencies=[
                    rollouts.release,
                    pod_autoscaling,
                    observability_stack,
                    load_balancer_controller,
                ],
                rollout_by_gitops=bool(cfg.gitops.app_config_repo),
                secrets=(
                    (config_secret_name(svc.name), database_secret_name(svc.name))
                    if vault_synced and svc.name in rollout_services
                    else ()
                ),
            ),
            opts=on_k8s,
        )
        service_namespaces.append(delivery.resources[f"Namespace/{svc.name}"])
        pulumi.export(f"service-{svc.name}-namespace", delivery.namespace)

    # In the cluster, the operator syncs each Vault-backed service's configuration and database
    # credentials next to its pods, and restarts them when the values rotate.
    vault_secrets_operator: VaultSecretsOperator | None = None
    if vault_synced:
        vault_secrets_operator = VaultSecretsOperator(
            f"{prefix}-vault-secrets",
            VaultSecretsOperatorArgs(
                environment=env,
                vault_address=cfg.vault.address,
                vault_namespace=cfg.vault.namespace,
                kubernetes_auth_mount=vault_config.kubernetes_auth_path(env),
                kv_mount=cfg.vault.kv_mount,
                database_mount=vault_config.database_mount_path(env),
                services=cfg.vault.services,
                app_namespace=cfg.cluster.app_namespace,
                rollout_services=rollout_services,
            ),
            opts=pulumi.ResourceOptions(
                providers={"kubernetes": k8s_provider},
                depends_on=[namespaces, *service_namespaces],
            ),
        )

    # Deployment events from the application pipeline (seed 4.10), when the stack declares the
    # gateway's credentials in Vault.
    web_config, scrape_password = (secrets.for_consumer(c) for c in PUSHGATEWAY_CONSUMERS)
    if web_config is not None and scrape_password is not None and cfg.delivery.services:
        Pushgateway(
            f"{prefix}-pushgateway",
            PushgatewayArgs(
                environment=env,
                web_config=web_config,
                scrape_password=scrape_password,
                certificate_arn=cfg.delivery.alb_certificate_arn,
                vpc_cidr=cfg.network.vpc_cidr,
                alb_group=f"ttbt2-{env}",
                host=cfg.edge.api_origin_host,
            ),
            opts=pulumi.ResourceOptions(
                providers={"kubernetes": k8s_provider},
                depends_on=[observability_stack, load_balancer_controller],
            ),
        )

    gitops: GitOps | None = None
    if cfg.gitops.app_config_repo:
        gitops = GitOps(
            f"{prefix}-gitops",
            GitOpsArgs(
                environment=env,
                config_repo=cfg.gitops.app_config_repo,
                service_namespaces=[svc.name for svc in cfg.delivery.services],
                target_revision=cfg.gitops.target_revision,
                hostname=cfg.gitops.argocd_hostname,
                oidc_issuer=cfg.gitops.argocd_oidc_issuer,
                oidc_client_id=cfg.gitops.argocd_oidc_client_id,
                oidc_client_secret_ref=cfg.gitops.argocd_oidc_client_secret_ref,
                oidc_admin_group=cfg.gitops.argocd_admin_group,
                labels={"environment": env},
            ),
            opts=pulumi.ResourceOptions(
                providers={"kubernetes": k8s_provider},
                depends_on=[observability_stack, rollouts, namespaces],
            ),
        )

    # Other clouds (seed 4.1.2): analytics and AI on GCP. A cloud switched off in the stack
    # registers nothing and needs no credentials.
    if cfg.gcp.enabled:
        gcp_provider = gcp.Provider("gcp", project=cfg.gcp.project, region=cfg.gcp.region)
        # AWS workloads write to GCP through workload identity federation: no key anywhere.
        analytics_writer = cluster.irsa_role(
            f"{prefix}-analytics-writer", cfg.cluster.app_namespace, "analytics-writer", cfg.tags
        )
        analytics = Analytics(
            f"{prefix}-analytics",
            AnalyticsArgs(
                project=cfg.gcp.project,
                region=cfg.gcp.region,
                environment=env,
                labels={key.replace("-", "_"): value for key, value in cfg.tags.items()},
                aws_account_id=aws_ctx.account_id,
                aws_writer_role_arn=analytics_writer.arn,
                landing_location=cfg.gcp.landing_location,
                protect=protect,
            ),
            opts=pulumi.ResourceOptions(providers={"gcp": gcp_provider}),
        )
        pulumi.export("analyticsDataset", analytics.dataset_id)
        pulumi.export("analyticsLandingBucket", analytics.bucket_name)

    # Azure keeps a geo-redundant, immutable copy of the backup exports, written by a CronJob that
    # authenticates to both clouds by federation: no stored secret.
    if cfg.azure.enabled:
        azure_provider = azure_native.Provider(
            "azure",
            location=cfg.azure.location,
            subscription_id=cfg.azure.subscription_id,
            tenant_id=cfg.azure.tenant_id,
        )
        redundancy = Redundancy(
            f"{prefix}-redundancy",
            RedundancyArgs(
                location=cfg.azure.location,
                environment=env,
                tags=cfg.tags,
                tenant_id=cfg.azure.tenant_id,
                oidc_issuer_url=cluster.oidc_issuer,
                copier_namespace=cfg.cluster.app_namespace,
                copier_service_account="backup-copy",
                protect=protect,
            ),
            opts=pulumi.ResourceOptions(providers={"azure-native": azure_provider}),
        )
        BackupCopy(
            f"{prefix}-backup-copy",
            BackupCopyArgs(
                namespace=cfg.cluster.app_namespace,
                service_account="backup-copy",
                s3_bucket=snapshots.bucket_name,
                s3_prefix=f"exports/{env}",
                s3_region=cfg.network.aws_region,
                storage_account=redundancy.storage_account_name,
                container=redundancy.container_name,
                aws_role_arn=snapshots.reader_roles[f"exports/{env}"].arn,
                azure_client_id=redundancy.copier_client_id,
                azure_tenant_id=redundancy.tenant_id,
                schedule=cfg.recovery.backup_copy_schedule,
            ),
            opts=pulumi.ResourceOptions(
                providers={"kubernetes": k8s_provider}, depends_on=[namespaces]
            ),
        )

    # Every namespace the platform creates has a NetworkPolicy (CKV2_K8S_6): platform namespaces a
    # baseline (ingress from the namespace itself, monitoring and the VPC only), the services'
    # namespaces their own default-deny (components/k8s/service_delivery.py).
    monitoring_namespace = observability_stack.namespace_name
    platform_namespaces: dict[str, pulumi.Resource] = {
        cfg.cluster.app_namespace: namespaces,
        monitoring_namespace: observability_stack,
        observability_stack.agents_namespace_name: observability_stack,
        observability_stack.eck_namespace_name: observability_stack,
        VPA_NAMESPACE: pod_autoscaling,
        KARPENTER_NAMESPACE: karpenter,
        velero.NAMESPACE: velero_stack,
        ROLLOUTS_NAMESPACE: rollouts,
    }
    if vault_secrets_operator is not None:
        platform_namespaces[OPERATOR_NAMESPACE] = vault_secrets_operator
    if gitops is not None:
        platform_namespaces[GITOPS_NAMESPACE] = gitops
    for namespace_name, owner in platform_namespaces.items():
        baseline_policy(
            f"{prefix}-netpol-{namespace_name}",
            namespace_name,
            vpc_cidr=cfg.network.vpc_cidr,
            allow_namespaces=[monitoring_namespace],
            opts=pulumi.ResourceOptions(providers={"kubernetes": k8s_provider}, depends_on=[owner]),
        )

    pulumi.export("environment", env)
    pulumi.export("awsRegion", cfg.network.aws_region)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("isolatedSubnetIds", network.isolated_subnet_ids)
    pulumi.export("clusterName", cluster.name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("oidcProviderArn", cluster.oidc_provider.arn)
    pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
    pulumi.export("databaseEndpoint", database.endpoint)
    pulumi.export("databaseMasterSecretArn", database.master_secret_arn)
    pulumi.export("cacheEndpoint", cache.endpoint)
    pulumi.export("userDataBucket", user_data.id)
    pulumi.export("logsBucket", logs.id)
    pulumi.export("cdnDomainName", cdn.domain_name)
    pulumi.export("staticAssetsBucket", cdn.static_bucket_name)
    pulumi.export("webAclArn", cdn.web_acl_arn)
