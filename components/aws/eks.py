"""EKS from the provider's own resources: encrypted, logged, private, IRSA-ready."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.access import AccessGrant
from components.aws.context import AwsContext
from components.aws.iam import irsa_trust, service_trust
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.logs import encrypted_log_group

CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
"""Every EKS control-plane log type (CKV_AWS_37 asks for all of them)."""

AUTOSCALING_SERVICE_ROLE = "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


@dataclass(frozen=True)
class NodeGroupSpec:
    """One managed node group: its sizes, instance types and placement."""

    name: str
    instance_types: list[str]
    min_size: int
    desired_size: int
    max_size: int
    architecture: str = "x86_64"
    capacity_type: str = "ON_DEMAND"
    taints: list[dict[str, str]] = field(default_factory=list)

    @property
    def ami_type(self) -> str:
        """The Amazon Linux 2023 AMI type for the group's architecture."""
        return (
            "AL2023_ARM_64_STANDARD" if self.architecture == "arm64" else "AL2023_x86_64_STANDARD"
        )


@dataclass(frozen=True)
class KubernetesClusterArgs:
    """Arguments of :class:`KubernetesCluster`."""

    version: str
    subnet_ids: pulumi.Input[list[str]]
    node_subnet_ids: pulumi.Input[list[str]]
    node_groups: list[NodeGroupSpec]
    access: dict[str, tuple[str, list[AccessGrant]]]
    """Group -> (IAM role ARN, grants)."""
    context: AwsContext
    tags: dict[str, str]
    service_cidr: str = "172.20.0.0/16"
    endpoint_public: bool = False
    public_access_cidrs: list[str] = field(default_factory=list)
    log_retention_days: int = 90
    node_disk_size_gb: int = 50
    protect: bool = False


class KubernetesCluster(pulumi.ComponentResource):
    """An EKS cluster with managed node groups, IRSA and access entries.

    Secrets are envelope-encrypted with a customer-managed key; every control-plane log type
    goes to an encrypted log group; the API endpoint is private unless the stack asks for a
    public one, and then only for listed CIDRs. Nodes use a launch template that requires
    IMDSv2 with a hop limit of 1, so pods cannot borrow the node's role and must use IRSA.
    """

    def __init__(
        self, name: str, args: KubernetesClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:KubernetesCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags
        log_group_name = f"/aws/eks/{name}/cluster"

        def key(
            purpose: str,
            description: str,
            log_groups: tuple[str, ...] = (),
            roles: tuple[str, ...] = (),
        ) -> EncryptionKey:
            # One key per purpose, so revoking or auditing one use touches nothing else.
            return EncryptionKey(
                f"{name}-{purpose}",
                EncryptionKeyArgs(
                    description=f"{description} of {name}",
                    context=args.context,
                    tags=tags,
                    protect=args.protect,
                    log_group_patterns=list(log_groups),
                    usage_role_names=list(roles),
                ),
                opts=child,
            )

        secrets_key = key("secrets", "Envelope encryption of Kubernetes secrets")
        logs_key = key("logs", "Control-plane logs", log_groups=(log_group_name,))
        volumes_key = key("volumes", "Node root volumes", roles=(AUTOSCALING_SERVICE_ROLE,))
        self.node_volume_key_arn = volumes_key.arn
        """The key of node root volumes, for nodes launched outside the managed groups."""

        log_group = encrypted_log_group(
            f"{name}-control-plane-logs",
            log_group_name,
            retention_days=args.log_retention_days,
            kms_key_arn=logs_key.arn,
            tags=tags,
            opts=child,
        )

        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=service_trust("eks.amazonaws.com"),
            tags={**tags, "Name": f"{name}-cluster-role"},
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=cluster_role.name,
            policy_arn=_managed("AmazonEKSClusterPolicy", args.context),
            opts=child,
        )

        self.cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=name,
            version=args.version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=args.endpoint_public,
                public_access_cidrs=args.public_access_cidrs if args.endpoint_public else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=CONTROL_PLANE_LOG_TYPES,
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # The identity that runs `pulumi up` administers the cluster it creates, so
                # that later components can apply Kubernetes objects in the same run.
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                service_ipv4_cidr=args.service_cidr
            ),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=args.protect,
            tags={**tags, "Name": name},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[log_group, cluster_policy], protect=args.protect
            ),
        )

        issuer = self.cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)  # type: ignore[index]
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags={**tags, "Name": f"{name}-oidc"},
            opts=child,
        )
        self.oidc_issuer = issuer

        self.node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=service_trust("ec2.amazonaws.com"),
            tags={**tags, "Name": f"{name}-node-role"},
            opts=child,
        )
        # The CNI policy is not here: the vpc-cni add-on gets it through its own IRSA role, so
        # pods never inherit network-interface rights from the node.
        node_policies = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=self.node_role.name,
                policy_arn=_managed(policy, args.context),
                opts=child,
            )
            for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
        ]

        self.node_groups = [
            self._node_group(name, spec, args, volumes_key, node_policies)
            for spec in args.node_groups
        ]
        self._addons(name, args)
        self._access_entries(name, args)

        self.name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        # Managed node groups without their own security groups get the cluster security group:
        # it identifies "the cluster's nodes" to the data stores' ingress rules.
        self.security_group_id = self.cluster.vpc_config.cluster_security_group_id
        self.kubeconfig = _kubeconfig(self.cluster, args.context.region)
        # EKS reports its CA base64-encoded; Vault's Kubernetes auth wants the PEM.
        self.ca_certificate_pem = self.cluster.certificate_authority.apply(
            lambda ca: base64.b64decode(ca.data).decode() if ca and ca.data else ""
        )
        self.register_outputs(
            {
                "clusterName": self.cluster.name,
                "endpoint": self.cluster.endpoint,
                "oidcProviderArn": self.oidc_provider.arn,
                "nodeRoleArn": self.node_role.arn,
            }
        )

    def irsa_role(
        self,
        name: str,
        namespace: str,
        service_account: str,
        tags: dict[str, str],
    ) -> aws.iam.Role:
        """An IAM role that exactly one Kubernetes service account can assume."""
        return aws.iam.Role(
            name,
            assume_role_policy=irsa_trust(
                self.oidc_provider.arn, self.oidc_issuer, namespace, service_account
            ),
            tags={**tags, "Name": name},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _node_group(
        self,
        name: str,
        spec: NodeGroupSpec,
        args: KubernetesClusterArgs,
        volumes_key: EncryptionKey,
        node_policies: list[aws.iam.RolePolicyAttachment],
    ) -> aws.eks.NodeGroup:
        child = pulumi.ResourceOptions(parent=self)
        group_tags = {**args.tags, "Name": f"{name}-{spec.name}", "node-group": spec.name}
        template = aws.ec2.LaunchTemplate(
            f"{name}-{spec.name}-lt",
            description=f"Nodes of {name}/{spec.name}: IMDSv2 only, encrypted root volume",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=args.node_disk_size_gb,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=volumes_key.arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=group_tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            update_default_version=True,
            tags=group_tags,
            opts=child,
        )
        return aws.eks.NodeGroup(
            f"{name}-{spec.name}",
            cluster_name=self.cluster.name,
            node_role_arn=self.node_role.arn,
            subnet_ids=args.node_subnet_ids,
            instance_types=spec.instance_types,
            capacity_type=spec.capacity_type,
            ami_type=spec.ami_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=spec.min_size, desired_size=spec.desired_size, max_size=spec.max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels={"ttbt2.io/node-group": spec.name},
            taints=[aws.eks.NodeGroupTaintArgs(**t) for t in spec.taints],
            tags=group_tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=node_policies,
                # The autoscaler owns the node count once the group exists.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )

    def _addons(self, name: str, args: KubernetesClusterArgs) -> None:
        """Core add-ons; the two that call AWS APIs get IRSA roles of their own."""
        child = pulumi.ResourceOptions(parent=self, depends_on=self.node_groups)
        irsa = {
            "vpc-cni": ("kube-system", "aws-node", "AmazonEKS_CNI_Policy"),
            "aws-ebs-csi-driver": (
                "kube-system",
                "ebs-csi-controller-sa",
                "service-role/AmazonEBSCSIDriverPolicy",
            ),
        }
        for addon in ("vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver"):
            role_arn = None
            if addon in irsa:
                namespace, account, policy = irsa[addon]
                role = self.irsa_role(f"{name}-{addon}-irsa", namespace, account, args.tags)
                aws.iam.RolePolicyAttachment(
                    f"{name}-{addon}-irsa-policy",
                    role=role.name,
                    policy_arn=_managed(policy, args.context),
                    opts=pulumi.ResourceOptions(parent=self),
                )
                role_arn = role.arn
            aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=self.cluster.name,
                addon_name=addon,
                service_account_role_arn=role_arn,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                tags={**args.tags, "Name": f"{name}-{addon}"},
                opts=child,
            )

    def _access_entries(self, name: str, args: KubernetesClusterArgs) -> None:
        for group, (role_arn, grants) in sorted(args.access.items()):
            entry = aws.eks.AccessEntry(
                f"{name}-access-{group}",
                cluster_name=self.cluster.name,
                principal_arn=role_arn,
                type="STANDARD",
                tags={**args.tags, "Name": f"{name}-access-{group}", "group": group},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for grant in grants:
                aws.eks.AccessPolicyAssociation(
                    f"{name}-access-{group}-{grant.policy}",
                    cluster_name=self.cluster.name,
                    principal_arn=role_arn,
                    policy_arn=grant.policy_arn,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                        type=grant.scope_type, namespaces=list(grant.namespaces) or None
                    ),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
                )


def _managed(policy: str, ctx: AwsContext) -> pulumi.Output[str]:
    """ARN of an AWS-managed IAM policy in the stack's partition."""
    return ctx.partition.apply(lambda p: f"arn:{p}:iam::aws:policy/{policy}")


def _kubeconfig(cluster: aws.eks.Cluster, region: str) -> pulumi.Output[str]:
    """A kubeconfig that authenticates with `aws eks get-token`: no token is ever stored."""

    def build(args: list[str]) -> str:
        name, endpoint, ca = args
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": name,
                        "cluster": {"server": endpoint, "certificate-authority-data": ca},
                    }
                ],
                "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
                "current-context": name,
                "users": [
                    {
                        "name": name,
                        "user": {
                            "exec": {
                                "apiVersion": "client.authentication.k8s.io/v1beta1",
                                "command": "aws",
                                "args": [
                                    "eks",
                                    "get-token",
                                    "--cluster-name",
                                    name,
                                    "--region",
                                    region,
                                ],
                            }
                        },
                    }
                ],
            }
        )

    return pulumi.Output.all(
        cluster.name,
        cluster.endpoint,
        cluster.certificate_authority.data,
    ).apply(build)
