"""Foundation layer: providers, the AWS account facts, the network, the cluster and the keys.

Providers are built here once and handed down (DESIGN.md section 3): AWS in the primary region,
in us-east-1 for the edge and, in prod, in the disaster-recovery region; random; Kubernetes
from the cluster's kubeconfig; Vault with the deploy identity's session token.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_vault as vault

from components.aws import context
from components.aws.access import access_plan
from components.aws.context import AwsContext
from components.aws.eks import KubernetesCluster, KubernetesClusterArgs, NodeGroupSpec
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.network import Network, NetworkArgs
from config import Settings, instance_architecture


@dataclass(frozen=True)
class DrRegion:
    """The disaster-recovery region (prod): its provider and account facts."""

    provider: aws.Provider
    context: AwsContext


@dataclass(frozen=True)
class Keys:
    """Customer-managed keys of the data layer's stores (seed 4.7.1: encrypted backups)."""

    user_data: EncryptionKey
    """Encrypts the user-data bucket (and its replica's source objects)."""
    backup: EncryptionKey
    """Encrypts the AWS Backup vault of the primary region."""
    backup_dr: EncryptionKey | None
    """Encrypts the AWS Backup vault of the DR region; None without a DR region."""


@dataclass(frozen=True)
class Foundation:
    """What every later layer builds on."""

    prefix: str
    """``ttbt2-<stack>``: the start of every resource name of the stack."""
    protect: bool
    """Whether stateful resources are protected (prod)."""
    aws_primary: aws.Provider
    aws_edge: aws.Provider
    """us-east-1: CloudFront takes its certificate and web ACL from there only."""
    random: random.Provider
    vault: vault.Provider
    aws_ctx: AwsContext
    dr: DrRegion | None
    """None when the stack has no DR region."""
    network: Network
    cluster: KubernetesCluster
    k8s: k8s.Provider
    """Built once from the cluster and handed to every Kubernetes component."""
    keys: Keys

    @property
    def on_aws(self) -> pulumi.ResourceOptions:
        """Options of an AWS component in the primary region."""
        return pulumi.ResourceOptions(providers={"aws": self.aws_primary, "random": self.random})

    @property
    def on_k8s(self) -> pulumi.ResourceOptions:
        """Options of a Kubernetes component."""
        return pulumi.ResourceOptions(providers={"kubernetes": self.k8s})


def foundation(cfg: Settings) -> Foundation:
    """Register the providers, the network, the cluster and the keys of the environment."""
    prefix = f"ttbt2-{pulumi.get_stack()}"
    aws_primary = aws.Provider("aws-primary", region=cfg.network.aws_region)
    aws_edge = aws.Provider("aws-edge", region="us-east-1")
    random_provider = random.Provider("random")
    aws_ctx = context.lookup(aws_primary, cfg.network.aws_region)
    dr: DrRegion | None = None
    if cfg.network.dr_region:
        # The disaster-recovery region: backup copies and the pilot light live there.
        aws_dr = aws.Provider("aws-dr", region=cfg.network.dr_region)
        dr = DrRegion(provider=aws_dr, context=context.lookup(aws_dr, cfg.network.dr_region))
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
            protect=cfg.is_prod,
        ),
        opts=on_aws,
    )
    cluster = _cluster(
        cfg,
        prefix,
        network,
        node_subnet_ids=network.private_subnet_ids_in(cfg.compute_zones),
        aws_ctx=aws_ctx,
        opts=on_aws,
    )
    k8s_provider = _kubernetes_provider("k8s", cluster)
    # Vault: per-service policies, Kubernetes auth roles and short-lived database credentials
    # (seed 4.9.1). No token input: the provider reads VAULT_TOKEN from the environment of
    # each run, so no short-lived credential is stored in state (scripts/vault_login.py).
    vault_provider = vault.Provider(
        "vault",
        address=cfg.vault.address,
        namespace=cfg.vault.namespace or None,
        ca_cert_file=cfg.vault.ca_bundle or None,
    )
    return Foundation(
        prefix=prefix,
        protect=cfg.is_prod,
        aws_primary=aws_primary,
        aws_edge=aws_edge,
        random=random_provider,
        vault=vault_provider,
        aws_ctx=aws_ctx,
        dr=dr,
        network=network,
        cluster=cluster,
        k8s=k8s_provider,
        keys=_keys(cfg, prefix, aws_ctx, dr, on_aws),
    )


def _kubernetes_provider(name: str, cluster: KubernetesCluster) -> k8s.Provider:
    """The Kubernetes provider of ``cluster``: objects wait for its nodes."""
    return k8s.Provider(
        name,
        kubeconfig=cluster.kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(depends_on=cluster.node_groups),
    )


def _cluster(
    cfg: Settings,
    prefix: str,
    network: Network,
    *,
    node_subnet_ids: pulumi.Input[list[str]],
    aws_ctx: AwsContext,
    opts: pulumi.ResourceOptions,
) -> KubernetesCluster:
    """The EKS cluster: a fixed "system" group for the add-ons, a "workloads" group.

    The same cluster in the primary region and, when the DR region is active, in the DR region
    (:mod:`stacks.layers.dr_active`): ``network``, ``aws_ctx`` and the AWS provider in ``opts``
    say which.
    """
    plan = access_plan(cfg.identity.environment, cfg.application_namespaces)
    return KubernetesCluster(
        prefix,
        KubernetesClusterArgs(
            version=cfg.cluster.kubernetes_version,
            subnet_ids=network.private_subnet_ids,
            node_subnet_ids=node_subnet_ids,
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
            protect=cfg.is_prod,
        ),
        opts=opts,
    )


def _keys(
    cfg: Settings,
    prefix: str,
    aws_ctx: AwsContext,
    dr: DrRegion | None,
    on_aws: pulumi.ResourceOptions,
) -> Keys:
    """The user-data key and the AWS Backup vault keys (one per region)."""
    user_data = EncryptionKey(
        f"{prefix}-user-data",
        EncryptionKeyArgs(
            description=f"User data of {prefix} (seed 4.7.1: encrypted backups of user data)",
            context=aws_ctx,
            tags=cfg.tags,
            protect=cfg.is_prod,
        ),
        opts=on_aws,
    )
    backup = EncryptionKey(
        f"{prefix}-backup",
        EncryptionKeyArgs(
            description=f"AWS Backup vault of {prefix}",
            context=aws_ctx,
            tags=cfg.tags,
            protect=cfg.is_prod,
        ),
        opts=on_aws,
    )
    backup_dr = None
    if dr is not None:
        backup_dr = EncryptionKey(
            f"{prefix}-backup-dr",
            EncryptionKeyArgs(
                description=f"AWS Backup DR vault of {prefix}",
                context=dr.context,
                tags=cfg.tags,
                protect=cfg.is_prod,
            ),
            opts=pulumi.ResourceOptions(providers={"aws": dr.provider}),
        )
    return Keys(user_data=user_data, backup=backup, backup_dr=backup_dr)
