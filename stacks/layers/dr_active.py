"""DR-active layer: the platform's compute brought up in the DR region (``ttbt2:drActive``).

At a region loss (docs/dr/region-loss.md) the pilot light (:mod:`components.aws.pilot_light`)
has the DR region's network, keys, replicated backups and images, but nothing that runs. With
``ttbt2:drActive`` set, the same program registers there, with the DR region's AWS and
Kubernetes providers:

- the EKS cluster and its node groups (the foundation layer's cluster builder)
  in the pilot light's private subnets, its keys created in the DR region;
- the add-ons the services need to serve: the metrics stack (the Prometheus Operator's CRDs and
  the Prometheus the canary analyses query), pod autoscaling, Argo Rollouts and the load
  balancer controller;
- the application namespace, each service's delivery (with a certificate of the DR region)
  and Argo CD at the configuration repository's revision the primary region uses, so the
  services come back at their last release;
- the database restored from the automated backups replicated to the DR region, at their latest
  restorable time.

The CDN's failover origin is added by the data layer (its CDN builder). What is
not brought up here: Vault's configuration for the DR cluster (Vault-backed services get their
secrets once Vault's Kubernetes auth knows the DR cluster), the logging stack, Karpenter, Velero
and the cache (rebuilt empty on the next run with the DR region as primary).

Every resource is new: names start with ``<prefix>-dr`` (the cluster's name is the one the pilot
light's subnets are tagged for), so nothing of the primary region changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pulumi

from components.aws.backup import selection_tag
from components.aws.database import BackupCopy, Database
from components.k8s.autoscaling import PodAutoscaling, PodAutoscalingArgs
from components.k8s.gitops import GitOps
from components.k8s.metrics import MetricsStack
from components.k8s.rollouts import RolloutsController, RolloutsControllerArgs
from components.k8s.service_delivery import ServiceDelivery
from components.vault.source import SecretSource
from config import Settings

# The layers' own builders, run here with the DR region's foundation rather than copied.
from stacks.layers.addons import _load_balancer_controller
from stacks.layers.ci import Ci, ci
from stacks.layers.data import Data, _database
from stacks.layers.foundation import Foundation, _cluster, _kubernetes_provider
from stacks.layers.observability import _metrics_stack_args
from stacks.layers.services import (
    DeliveryPlatform,
    VaultServing,
    _application_namespaces,
    _delivery,
    _gitops,
    _public_alb,
)


@dataclass(frozen=True)
class DrActive:
    """What serves in the DR region once it is active; every field None while it is not."""

    base: Foundation | None
    """The DR region's foundation: its ``aws_primary`` is the DR region's provider, its network
    the pilot light's, its cluster and Kubernetes provider the DR cluster's."""
    database: Database | None
    deliveries: Mapping[str, ServiceDelivery] | None
    gitops: GitOps | None
    runners: Ci | None = None
    """The DR region's CI runner: the DR cluster's endpoint is private too, so the pipelines
    that deploy there after a failover run inside the DR network."""


def dr_active(cfg: Settings, base: Foundation, stores: Data, secrets: SecretSource) -> DrActive:
    """Register the DR region's compute, add-ons, services and database when it is active.

    Nothing unless ``ttbt2:drActive`` is set (the settings allow it only with a DR region).
    """
    if not cfg.recovery.dr_active or base.dr is None or stores.pilot_light is None:
        return DrActive(base=None, database=None, deliveries=None, gitops=None)
    pilot = stores.pilot_light
    prefix = f"{base.prefix}-dr"
    cluster = _cluster(
        cfg,
        prefix,
        pilot.network,
        node_subnet_ids=pilot.network.private_subnet_ids,
        aws_ctx=base.dr.context,
        opts=pulumi.ResourceOptions(providers={"aws": base.dr.provider, "random": base.random}),
    )
    # The layers' builders read everything regional from the foundation they are given; its
    # keys stay the primary region's, which none of the builders used here reads.
    dr_base = replace(
        base,
        prefix=prefix,
        aws_primary=base.dr.provider,
        aws_ctx=base.dr.context,
        dr=None,
        network=pilot.network,
        cluster=cluster,
        k8s=_kubernetes_provider("k8s-dr", cluster),
    )
    runners = ci(cfg, dr_base)
    env = cfg.identity.environment
    metrics = MetricsStack(
        f"{prefix}-metrics",
        _metrics_stack_args(cfg, secrets),
        opts=pulumi.ResourceOptions(providers={"kubernetes": dr_base.k8s, "random": base.random}),
    )
    pod_autoscaling = PodAutoscaling(
        f"{prefix}-autoscaling", PodAutoscalingArgs(environment=env), opts=dr_base.on_k8s
    )
    rollouts = RolloutsController(
        f"{prefix}-rollouts",
        RolloutsControllerArgs(environment=env),
        opts=pulumi.ResourceOptions(providers={"kubernetes": dr_base.k8s}, depends_on=[metrics]),
    )
    lbc = _load_balancer_controller(cfg, dr_base, after=[metrics])
    namespaces = _application_namespaces(cfg, dr_base)
    platform = DeliveryPlatform(
        crd_dependencies=[rollouts.release, pod_autoscaling, metrics, lbc],
        monitoring_namespace=metrics.namespace_name,
        # No blackbox exporter in the DR region: the services' probes stay with the primary.
        prober_namespace="",
        certificate_arn=cfg.recovery.dr_alb_certificate_arn,
        vpc_cidr=cfg.network.dr_vpc_cidr,
        # Behind CloudFront like the primary's: its origin-facing servers only, the origin
        # header checked by the DR region's own web ACL, access logs in the DR log bucket.
        alb=_public_alb(
            cfg,
            provider=dr_base.aws_primary,
            web_acl_arn=stores.cdn.dr_origin_web_acl_arn,
            log_bucket=pilot.logs.id if pilot.logs is not None else None,
            suffix="-dr",
        ),
    )
    # Vault's Kubernetes auth knows the primary cluster only: no synced secrets here yet.
    serving = VaultServing(synced=False, rollout_services=())
    deliveries = {
        svc.name: _delivery(cfg, dr_base, platform, serving=serving, svc=svc)
        for svc in cfg.delivery.services
    }
    database = _database(
        cfg,
        dr_base,
        # The environment's selection tag: the plan that carries it in the region the platform
        # is re-homed to selects it (a plan selects in its own region only).
        dict([selection_tag(env)]),
        # The replication's id is the ARN of the replicated automated backups.
        restore_automated_backups_arn=pilot.backup_replication.id,
        # Its own copy outside its region goes back to the primary region, under the primary
        # database's key; while that region is down this one resource fails
        # (docs/dr/region-loss.md).
        backup_copy=BackupCopy(
            provider=base.aws_primary,
            kms_key_arn=stores.database.key_arn,
            retention_days=cfg.database.backup_retention_days,
        ),
    )
    return DrActive(
        base=dr_base,
        database=database,
        deliveries=deliveries,
        gitops=_gitops(cfg, dr_base, after=[metrics, rollouts, namespaces]),
        runners=runners,
    )
