"""Services layer: the application's namespace and services, Vault, the Pushgateway and GitOps.

The services (seed 4.1.3): each in its own namespace with an IRSA role holding only the
permissions it declares. With GitOps, Argo CD applies each Rollout (the image) from the reviewed
configuration repository (docs/gitops.md); everything around it is reconciled here. Vault
(seed 4.9.1) serves per-service policies, Kubernetes auth roles and short-lived database
credentials, which the Vault Secrets Operator syncs next to the pods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.access import APPLICATION_LABEL
from components.aws.cache import RedisCache, with_statements
from components.aws.load_balancer_firewall import LoadBalancerFirewall, LoadBalancerFirewallArgs
from components.aws.private_dns import PrivateAlias, PrivateAliasArgs
from components.aws.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from components.delivery.spec import ServiceSpec
from components.k8s import vault_snapshot
from components.k8s.alb import CLOUDFRONT_ORIGIN_FACING, AlbGroup
from components.k8s.gitops import NAMESPACE as GITOPS_NAMESPACE
from components.k8s.gitops import GitOps, GitOpsArgs
from components.k8s.namespaces import AppNamespaces, AppNamespacesArgs
from components.k8s.pushgateway import PORT as PUSHGATEWAY_PORT
from components.k8s.pushgateway import Pushgateway, PushgatewayArgs
from components.k8s.service_delivery import ServiceDelivery, ServiceDeliveryArgs, prometheus_url
from components.k8s.vault_secrets import (
    OPERATOR_NAMESPACE,
    VaultSecretsOperator,
    VaultSecretsOperatorArgs,
    config_secret_name,
    database_secret_name,
)
from components.vault import config as vault_config
from components.vault.source import SecretSource
from config import Settings
from stacks.layers.addons import Addons
from stacks.layers.ci import Ci
from stacks.layers.data import Data
from stacks.layers.foundation import Foundation
from stacks.layers.observability import ObservabilityLayer


@dataclass(frozen=True)
class VaultServing:
    """Whether Vault serves the services, and which of them it follows into their namespaces."""

    synced: bool
    """True when there are Vault services and its database engine has the admin password."""
    rollout_services: tuple[str, ...]
    """Vault-backed services that are also delivered as Rollouts, in their own namespaces."""


@dataclass(frozen=True)
class DeliveryPlatform:
    """What the services are delivered onto in one region's cluster."""

    crd_dependencies: Sequence[pulumi.Resource]
    """What installs the CRDs the services' objects use (Rollouts, VPA, Prometheus Operator)
    and the load balancer controller their Ingresses need."""
    monitoring_namespace: str
    prober_namespace: str
    """The blackbox exporter's namespace; empty where none probes the services."""
    certificate_arn: str
    """The ACM certificate (of the cluster's region) of the HTTPS listeners."""
    vpc_cidr: str
    alb: AlbGroup | None
    """The services' load balancer (public, behind CloudFront); None: an internal one."""


@dataclass(frozen=True)
class Services:
    """The application's namespace, its services and the components around them."""

    app_namespaces: AppNamespaces
    deliveries: Mapping[str, ServiceDelivery]
    """Each service's delivery, by service name."""
    vault_secrets_operator: VaultSecretsOperator | None
    gitops: GitOps | None

    @property
    def namespaces(self) -> Mapping[str, pulumi.Resource]:
        """The platform namespaces of this layer, with the component that creates each.

        The services' own namespaces are not among them: each has its own default-deny.
        """
        owners: dict[str, pulumi.Resource] = {}
        for name in self.app_namespaces.namespaces:
            owners[name] = self.app_namespaces
        if self.vault_secrets_operator is not None:
            owners[OPERATOR_NAMESPACE] = self.vault_secrets_operator
        if self.gitops is not None:
            owners[GITOPS_NAMESPACE] = self.gitops
        return owners


def services(
    cfg: Settings,
    base: Foundation,
    stores: Data,
    obs: ObservabilityLayer,
    controllers: Addons,
    *,
    secrets: SecretSource,
    runners: Ci,
) -> Services:
    """Register the services and Vault, the Pushgateway and GitOps around them."""
    app_namespaces = _application_namespaces(cfg, base)
    serving = _vault(cfg, base, stores, secrets)
    platform = DeliveryPlatform(
        crd_dependencies=[
            controllers.rollouts.release,
            controllers.pod_autoscaling,
            obs.stack,
            controllers.load_balancer_controller,
        ],
        monitoring_namespace=obs.monitoring_namespace,
        prober_namespace=obs.prober_namespace,
        certificate_arn=cfg.delivery.alb_certificate_arn,
        vpc_cidr=cfg.network.vpc_cidr,
        alb=_public_alb(
            cfg,
            provider=base.aws_primary,
            web_acl_arn=stores.cdn.origin_web_acl_arn,
            log_bucket=stores.logs.id,
        ),
    )
    deliveries = {
        svc.name: _delivery(cfg, base, platform, serving=serving, svc=svc, cache=stores.cache)
        for svc in cfg.delivery.services
    }
    # In the cluster, the operator syncs each Vault-backed service's configuration and database
    # credentials next to its pods, and restarts them when the values rotate.
    operator: VaultSecretsOperator | None = None
    if serving.synced:
        operator = VaultSecretsOperator(
            f"{base.prefix}-vault-secrets",
            VaultSecretsOperatorArgs(
                environment=cfg.identity.environment,
                vault_address=cfg.vault.address,
                vault_namespace=cfg.vault.namespace,
                kubernetes_auth_mount=vault_config.kubernetes_auth_path(cfg.identity.environment),
                kv_mount=cfg.vault.kv_mount,
                database_mount=vault_config.database_mount_path(cfg.identity.environment),
                services=cfg.vault.services,
                app_namespace=cfg.cluster.app_namespace,
                rollout_services=serving.rollout_services,
            ),
            opts=pulumi.ResourceOptions(
                providers={"kubernetes": base.k8s},
                depends_on=[
                    app_namespaces,
                    *(d.namespace_resource for d in deliveries.values()),
                ],
            ),
        )
    _pushgateway(cfg, base, stores, obs, controllers, pushers=runners)
    return Services(
        app_namespaces=app_namespaces,
        deliveries=deliveries,
        vault_secrets_operator=operator,
        gitops=_gitops(cfg, base, after=[obs.stack, controllers.rollouts, app_namespaces]),
    )


def _application_namespaces(cfg: Settings, base: Foundation) -> AppNamespaces:
    """The application's namespace in ``base``'s cluster."""
    return AppNamespaces(
        f"{base.prefix}-namespaces",
        AppNamespacesArgs(
            names=[cfg.cluster.app_namespace],
            # The application label: access to the application covers this namespace too.
            labels={
                "environment": cfg.identity.environment,
                APPLICATION_LABEL[0]: APPLICATION_LABEL[1],
            },
        ),
        opts=base.on_k8s,
    )


def _vault(cfg: Settings, base: Foundation, stores: Data, secrets: SecretSource) -> VaultServing:
    """Vault's configuration for the services, when it serves them."""
    declared_admin_password = secrets.for_consumer("database-admin")
    # Vault serves the services only when there are some and its database engine has the
    # admin password.
    database_admin_password = declared_admin_password if cfg.vault.services else None
    # Vault-backed services that are also delivered as Rollouts live in their own namespaces;
    # Vault's roles and the operator's objects follow them there.
    rollout_services = tuple(s.name for s in cfg.delivery.services if s.name in cfg.vault.services)
    if database_admin_password is not None:
        vault_config.VaultConfig(
            f"{base.prefix}-vault",
            vault_config.VaultConfigArgs(
                environment=cfg.identity.environment,
                kv_mount=cfg.vault.kv_mount,
                services=cfg.vault.services,
                app_namespace=cfg.cluster.app_namespace,
                kubernetes_host=base.cluster.endpoint,
                kubernetes_ca_cert=base.cluster.ca_certificate_pem,
                database_host=stores.database.endpoint,
                database_name=cfg.database.name,
                database_admin_username=cfg.vault.database_admin_username,
                database_admin_password=database_admin_password,
                credential_ttl_seconds=cfg.vault.credential_ttl_seconds,
                static_rotation_seconds=cfg.vault.static_rotation_seconds,
                rollout_services=rollout_services,
                # The stack that snapshots Vault binds its job's account to the snapshot role.
                snapshot_account=(
                    (cfg.cluster.app_namespace, vault_snapshot.SERVICE_ACCOUNT)
                    if cfg.vault.snapshots == "this-stack"
                    else None
                ),
            ),
            opts=pulumi.ResourceOptions(providers={"vault": base.vault}),
        )
    return VaultServing(
        synced=database_admin_password is not None, rollout_services=rollout_services
    )


def _public_alb(
    cfg: Settings,
    *,
    provider: pulumi.ProviderResource,
    web_acl_arn: pulumi.Input[str] | None,
    log_bucket: pulumi.Input[str] | None,
    suffix: str = "",
) -> AlbGroup | None:
    """The services' load balancer in ``provider``'s region: reached only through CloudFront.

    Its security group admits CloudFront's origin-facing servers only, and ``web_acl_arn`` (the
    edge's regional web ACL of that region) blocks every request without the origin header
    CloudFront sends (the settings require its Vault consumer with services). Access logs go
    to ``log_bucket`` (of the same region); prod's load balancer cannot be deleted by a stray
    change. None without that web ACL: the services then get an internal load balancer, never
    an open one.
    """
    if not cfg.delivery.services or web_acl_arn is None:
        return None
    prefix_list = aws.ec2.get_managed_prefix_list_output(
        name=CLOUDFRONT_ORIGIN_FACING,
        opts=pulumi.InvokeOutputOptions(provider=provider),
    )
    return AlbGroup(
        name=f"ttbt2-{cfg.identity.environment}{suffix}",
        log_bucket=log_bucket,
        deletion_protection=cfg.identity.is_prod,
        prefix_list_id=prefix_list.id,
        web_acl_arn=web_acl_arn,
    )


def _delivery(
    cfg: Settings,
    base: Foundation,
    platform: DeliveryPlatform,
    *,
    serving: VaultServing,
    svc: ServiceSpec,
    cache: RedisCache | None = None,
) -> ServiceDelivery:
    """One service: its IAM identity and everything it runs with in its namespace.

    A client of ``cache`` (None: no cache in that region) may also connect to it, as the
    service's own IAM user there.
    """
    policy: pulumi.Input[str] | None = (
        json.dumps(svc.iam_policy_document()) if svc.aws_permissions else None
    )
    if cache is not None and svc.name in cache.users:
        policy = with_statements(
            svc.iam_policy_document(), [cache.connect_policy_statement(svc.name)]
        )
    identity = WorkloadIdentity(
        f"{base.prefix}-svc-{svc.name}",
        WorkloadIdentityArgs(
            cluster=base.cluster,
            namespace=svc.name,
            service_account=svc.name,
            policy=policy,
            tags=cfg.tags,
        ),
        opts=base.on_aws,
    )
    return ServiceDelivery(
        f"{base.prefix}-svc-{svc.name}",
        ServiceDeliveryArgs(
            service=svc,
            environment=cfg.identity.environment,
            role_arn=identity.role.arn,
            certificate_arn=platform.certificate_arn,
            vpc_cidr=platform.vpc_cidr,
            prometheus_url=prometheus_url(platform.monitoring_namespace),
            prober_namespace=platform.prober_namespace,
            crd_dependencies=platform.crd_dependencies,
            alb=platform.alb,
            rollout_by_gitops=bool(cfg.gitops.app_config_repo),
            secrets=(
                (config_secret_name(svc.name), database_secret_name(svc.name))
                if serving.synced and svc.name in serving.rollout_services
                else ()
            ),
        ),
        opts=base.on_k8s,
    )


def _pushgateway(
    cfg: Settings,
    base: Foundation,
    stores: Data,
    obs: ObservabilityLayer,
    controllers: Addons,
    *,
    pushers: Ci,
) -> Pushgateway | None:
    """Deployment events from the application pipeline (seed 4.10).

    Only when the stack runs services and has its CI runner, the only pusher from outside the
    cluster. The gateway has an internal load balancer of its own whose security group admits
    the runner's security group alone: pushes carry no password (seed 4.9.1).
    """
    if pushers.runner is None or not cfg.delivery.services:
        return None
    firewall = LoadBalancerFirewall(
        f"{base.prefix}-pushgateway-alb",
        LoadBalancerFirewallArgs(
            vpc_id=base.network.vpc_id,
            client_security_group_id=pushers.runner.security_group.id,
            target_cidr=cfg.network.vpc_cidr,
            target_port=PUSHGATEWAY_PORT,
            what="Pushgateway load balancer",
            tags=cfg.tags,
        ),
        opts=base.on_aws,
    )
    gateway = Pushgateway(
        f"{base.prefix}-pushgateway",
        PushgatewayArgs(
            environment=cfg.identity.environment,
            pusher_security_group_id=firewall.security_group_id,
            certificate_arn=cfg.delivery.alb_certificate_arn,
            vpc_cidr=cfg.network.vpc_cidr,
            alb_group=f"ttbt2-{cfg.identity.environment}-pushgateway",
            host=cfg.delivery.pushgateway_host,
            log_bucket=stores.logs.id,
            deletion_protection=cfg.identity.is_prod,
        ),
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": base.k8s},
            depends_on=[obs.stack, controllers.load_balancer_controller],
        ),
    )
    # The name the pipeline pushes to, resolvable inside the VPC only (the in-VPC runners).
    if cfg.delivery.pushgateway_host:
        PrivateAlias(
            f"{base.prefix}-pushgateway-dns",
            PrivateAliasArgs(
                host=cfg.delivery.pushgateway_host,
                vpc_id=base.network.vpc_id,
                region=cfg.network.aws_region,
                load_balancer_dns_name=gateway.load_balancer_dns_name,
                tags=cfg.tags,
            ),
            opts=base.on_aws,
        )
    return gateway


def _gitops(cfg: Settings, base: Foundation, *, after: Sequence[pulumi.Resource]) -> GitOps | None:
    """Argo CD applies the configuration repository's reviewed changes, when there is one.

    In the DR region too, at the same revision: the services come back at their last release.
    Argo CD waits for ``after`` (the CRDs its Applications' objects use, their namespaces).
    """
    if not cfg.gitops.app_config_repo:
        return None
    return GitOps(
        f"{base.prefix}-gitops",
        GitOpsArgs(
            environment=cfg.identity.environment,
            config_repo=cfg.gitops.app_config_repo,
            service_namespaces=[svc.name for svc in cfg.delivery.services],
            target_revision=cfg.gitops.target_revision,
            hostname=cfg.gitops.argocd_hostname,
            oidc_issuer=cfg.gitops.argocd_oidc_issuer,
            oidc_client_id=cfg.gitops.argocd_oidc_client_id,
            oidc_client_secret_ref=cfg.gitops.argocd_oidc_client_secret_ref,
            oidc_admin_group=cfg.gitops.argocd_admin_group,
            labels={"environment": cfg.identity.environment},
        ),
        opts=pulumi.ResourceOptions(
            providers={"kubernetes": base.k8s},
            depends_on=list(after),
        ),
    )
