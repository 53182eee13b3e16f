"""TTBT2 platform: composition only. Settings in, components, exports out."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import settings as settings_module
from components.aws import context
from components.aws.access import access_plan
from components.aws.eks import KubernetesCluster, KubernetesClusterArgs, NodeGroupSpec
from components.aws.network import Network, NetworkArgs
from components.k8s.namespaces import AppNamespaces, AppNamespacesArgs

cfg = settings_module.from_pulumi_config()
env = cfg.environment
prefix = f"ttbt2-{pulumi.get_stack()}"
protect = cfg.is_prod

aws_primary = aws.Provider("aws-primary", region=cfg.aws_region)
aws_ctx = context.lookup(aws_primary, cfg.aws_region)
on_aws = pulumi.ResourceOptions(providers={"aws": aws_primary})

network = Network(
    f"{prefix}-network",
    NetworkArgs(
        cidr=cfg.vpc_cidr,
        zones=cfg.availability_zones,
        nat_zones=cfg.availability_zones
        if cfg.nat_gateway_mode == "perAz"
        else cfg.compute_zones[:1],
        cluster_name=prefix,
        flow_log_retention_days=cfg.flow_log_retention_days,
        context=aws_ctx,
        tags=cfg.tags,
        protect=protect,
    ),
    opts=on_aws,
)

compute_subnets = network.private_subnet_ids.apply(lambda ids: ids[: len(cfg.compute_zones)])
plan = access_plan(env, cfg.app_namespace)
cluster = KubernetesCluster(
    prefix,
    KubernetesClusterArgs(
        version=cfg.kubernetes_version,
        subnet_ids=network.private_subnet_ids,
        node_subnet_ids=compute_subnets,
        node_groups=[
            NodeGroupSpec(
                name="system",
                instance_types=cfg.system_node_instance_types,
                min_size=cfg.system_node_min_size,
                desired_size=cfg.system_node_desired_size,
                max_size=cfg.system_node_max_size,
                architecture=settings_module.instance_architecture(
                    cfg.system_node_instance_types[0]
                ),
                taints=[{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}],
            ),
            NodeGroupSpec(
                name="workloads",
                instance_types=cfg.workload_node_instance_types,
                min_size=cfg.workload_node_min_size,
                desired_size=cfg.workload_node_desired_size,
                max_size=cfg.workload_node_max_size,
                architecture=settings_module.instance_architecture(
                    cfg.workload_node_instance_types[0]
                ),
                capacity_type=cfg.workload_capacity_type,
            ),
        ],
        access={group: (arn, plan[group]) for group, arn in cfg.access_roles().items()},
        context=aws_ctx,
        tags=cfg.tags,
        service_cidr=cfg.service_cidr,
        endpoint_public=cfg.cluster_endpoint_public,
        public_access_cidrs=cfg.cluster_public_access_cidrs,
        log_retention_days=cfg.control_plane_log_retention_days,
        node_disk_size_gb=cfg.node_disk_size_gb,
        protect=protect,
    ),
    opts=on_aws,
)

# Built once from the cluster and handed to every Kubernetes component.
k8s_provider = k8s.Provider(
    "k8s",
    kubeconfig=cluster.kubeconfig,
    enable_server_side_apply=True,
    opts=pulumi.ResourceOptions(depends_on=cluster.node_groups),
)
on_k8s = pulumi.ResourceOptions(providers={"kubernetes": k8s_provider})

AppNamespaces(
    f"{prefix}-namespaces",
    AppNamespacesArgs(names=[cfg.app_namespace], labels={"environment": env}),
    opts=on_k8s,
)

pulumi.export("environment", env)
pulumi.export("awsRegion", cfg.aws_region)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("isolatedSubnetIds", network.isolated_subnet_ids)
pulumi.export("clusterName", cluster.name)
pulumi.export("clusterEndpoint", cluster.endpoint)
pulumi.export("oidcProviderArn", cluster.oidc_provider.arn)
pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
