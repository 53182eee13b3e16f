"""Cluster add-ons layer: autoscaling, Karpenter, load balancer controller, Rollouts, Velero.

Autoscaling (seed 4.8.1, docs/autoscaling.md): pods by HPA (metrics-server) with VPA
recommendations; burst nodes by Karpenter (spot where the environment allows it); the steady
node group by predictive scaling from its own load history. Delivery (seed 4.1.3): Ingresses
become ALBs through the load balancer controller (plain Services never become NLBs by surprise);
Argo Rollouts runs the canaries. Kubernetes state (seed 4.7.1): Velero.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from components.aws.karpenter_iam import NAMESPACE as KARPENTER_NAMESPACE
from components.aws.karpenter_iam import KarpenterAws, KarpenterAwsArgs
from components.aws.load_balancer_controller_policy import controller_policy
from components.aws.predictive_scaling import (
    PredictiveScaling,
    PredictiveScalingArgs,
    autoscaling_group_name,
)
from components.aws.velero_iam import VeleroSnapshotPermissions, VeleroSnapshotPermissionsArgs
from components.aws.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from components.k8s import load_balancer_controller as lbc
from components.k8s import velero
from components.k8s.autoscaling import VPA_NAMESPACE, PodAutoscaling, PodAutoscalingArgs
from components.k8s.karpenter import Karpenter, KarpenterArgs
from components.k8s.rollouts import NAMESPACE as ROLLOUTS_NAMESPACE
from components.k8s.rollouts import RolloutsController, RolloutsControllerArgs
from config import Settings, instance_architecture
from stacks.layers.data import Data
from stacks.layers.foundation import Foundation
from stacks.layers.observability import ObservabilityLayer


@dataclass(frozen=True)
class Addons:
    """The cluster's controllers, which the services' custom resources need."""

    pod_autoscaling: PodAutoscaling
    karpenter: Karpenter
    load_balancer_controller: lbc.LoadBalancerController
    rollouts: RolloutsController
    velero: velero.Velero

    @property
    def namespaces(self) -> Mapping[str, pulumi.Resource]:
        """Each namespace the add-ons create, with the component that creates it."""
        return {
            VPA_NAMESPACE: self.pod_autoscaling,
            KARPENTER_NAMESPACE: self.karpenter,
            velero.NAMESPACE: self.velero,
            ROLLOUTS_NAMESPACE: self.rollouts,
        }


def addons(cfg: Settings, base: Foundation, stores: Data, obs: ObservabilityLayer) -> Addons:
    """Register the cluster add-ons; those with ServiceMonitors wait for the observability stack."""
    # Custom resources of the charts below (ServiceMonitors) need the Prometheus Operator's CRDs.
    after_observability = pulumi.ResourceOptions(
        providers={"kubernetes": base.k8s}, depends_on=[obs.stack]
    )
    pod_autoscaling, karpenter = _autoscaling(cfg, base)
    return Addons(
        pod_autoscaling=pod_autoscaling,
        karpenter=karpenter,
        load_balancer_controller=_load_balancer_controller(cfg, base, after=[obs.stack]),
        rollouts=RolloutsController(
            f"{base.prefix}-rollouts",
            RolloutsControllerArgs(environment=cfg.identity.environment),
            opts=after_observability,
        ),
        velero=_velero(cfg, base, stores, after_observability),
    )


def _autoscaling(cfg: Settings, base: Foundation) -> tuple[PodAutoscaling, Karpenter]:
    """HPA and VPA for pods, Karpenter for burst nodes, predictive scaling for the steady ones."""
    env = cfg.identity.environment
    cluster = base.cluster
    pod_autoscaling = PodAutoscaling(
        f"{base.prefix}-autoscaling", PodAutoscalingArgs(environment=env), opts=base.on_k8s
    )
    karpenter_aws = KarpenterAws(
        f"{base.prefix}-karpenter-aws",
        KarpenterAwsArgs(
            cluster_name=base.prefix,
            oidc_provider_arn=cluster.oidc_provider.arn,
            oidc_issuer_url=cluster.oidc_issuer,
            node_role_arn=cluster.node_role.arn,
            cluster_security_group_id=cluster.security_group_id,
            context=base.aws_ctx,
            tags=cfg.tags,
            node_volume_key_arn=cluster.node_volume_key_arn,
        ),
        opts=base.on_aws,
    )
    workload_architecture = instance_architecture(cfg.nodes.workload_instance_types[0])
    karpenter = Karpenter(
        f"{base.prefix}-karpenter",
        KarpenterArgs(
            environment=env,
            cluster_name=base.prefix,
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
        opts=base.on_k8s,
    )
    PredictiveScaling(
        f"{base.prefix}-steady-scaling",
        PredictiveScalingArgs(
            environment=env,
            # The "workloads" group: the steady base load (the "system" group is fixed size).
            autoscaling_group_name=autoscaling_group_name(cluster.node_groups[1]),
            cpu_target_percent=cfg.autoscaling.predictive_scaling_cpu_target,
            scheduling_buffer_seconds=cfg.autoscaling.predictive_scaling_buffer_seconds,
            mode=cfg.autoscaling.predictive_scaling_mode or None,
        ),
        opts=base.on_aws,
    )
    return pod_autoscaling, karpenter


def _load_balancer_controller(
    cfg: Settings, base: Foundation, *, after: Sequence[pulumi.Resource]
) -> lbc.LoadBalancerController:
    """The controller and its IAM identity (the policy its upstream project documents).

    In ``base``'s region (the primary one, or the DR region's when it is active); the
    controller waits for ``after`` (the Prometheus Operator's CRDs, for its ServiceMonitor).
    """
    region = base.aws_ctx.region
    identity = WorkloadIdentity(
        f"{base.prefix}-lbc",
        WorkloadIdentityArgs(
            cluster=base.cluster,
            namespace=lbc.NAMESPACE,
            service_account=lbc.SERVICE_ACCOUNT,
            policy=pulumi.Output.all(
                base.aws_ctx.account_id, base.aws_ctx.partition, base.cluster.name
            ).apply(
                lambda apc: json.dumps(
                    controller_policy(
                        account_id=apc[0], region=region, partition=apc[1], cluster_name=apc[2]
                    )
                )
            ),
            tags=cfg.tags,
        ),
        opts=base.on_aws,
    )
    # The controller needs its permissions before it reconciles anything.
    waits_for: list[pulumi.Resource] = list(after)
    if identity.policy is not None:
        waits_for.append(identity.policy)
    return lbc.LoadBalancerController(
        f"{base.prefix}-lbc",
        lbc.LoadBalancerControllerArgs(
            environment=cfg.identity.environment,
            cluster_name=base.cluster.name,
            region=region,
            vpc_id=base.network.vpc_id,
            role_arn=identity.role.arn,
            tags=cfg.tags,
        ),
        opts=pulumi.ResourceOptions(providers={"kubernetes": base.k8s}, depends_on=waits_for),
    )


def _velero(
    cfg: Settings,
    base: Foundation,
    stores: Data,
    after_observability: pulumi.ResourceOptions,
) -> velero.Velero:
    """Velero backs the cluster's objects up to the backup store at its own prefix.

    Its volumes go to EBS snapshots: the store's role grants only S3 and its key, so the
    snapshot permissions are added to that role.
    """
    VeleroSnapshotPermissions(
        f"{base.prefix}-velero",
        VeleroSnapshotPermissionsArgs(role=stores.velero_role, context=base.aws_ctx),
        opts=base.on_aws,
    )
    return velero.Velero(
        f"{base.prefix}-velero",
        velero.VeleroArgs(
            environment=cfg.identity.environment,
            bucket=stores.snapshots.bucket_name,
            role_arn=stores.velero_role.arn,
            region=cfg.network.aws_region,
            prefix=stores.velero_prefix,
            daily_retention_days=cfg.database.backup_retention_days,
            labels={"environment": cfg.identity.environment},
        ),
        opts=after_observability,
    )
