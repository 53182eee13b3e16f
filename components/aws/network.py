"""The VPC of an environment: three subnet tiers over two or three zones, NAT, flow logs."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext
from components.aws.iam import document, service_trust
from components.aws.logs import keyed_log_group
from components.aws.subnets import plan_subnets


@dataclass(frozen=True)
class NetworkArgs:
    """Arguments of :class:`Network`.

    ``nat_zones`` are the zones that get a NAT gateway: every zone in prod (a zone failure must
    not cut the others off), the first zone only where one shared NAT is cheaper than resilience.
    ``cluster_name`` tags the subnets so the load balancer controller and Karpenter find them.
    """

    cidr: str
    zones: list[str]
    nat_zones: list[str]
    cluster_name: str
    flow_log_retention_days: int
    context: AwsContext
    tags: dict[str, str]
    protect: bool = False


class Network(pulumi.ComponentResource):
    """A VPC with public, private and isolated subnets per zone.

    - public: load balancers and NAT gateways; no public IPs handed out on launch;
    - private: nodes and pods, egress through NAT;
    - isolated: data stores, no route out of the VPC at all.

    The default security group is closed, flow logs go to an encrypted log group, and an S3
    gateway endpoint keeps S3 traffic (images, backups) off the NAT gateways.
    """

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags
        self._zones = list(args.zones)

        def tagged(suffix: str, **extra: str) -> dict[str, str]:
            return {**tags, "Name": f"{name}-{suffix}", **extra}

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tagged("vpc"),
            opts=child,
        )
        # Managing the default security group with no rules closes it (CKV2_AWS_12): anything
        # that forgets to name a security group gets no traffic rather than all of it.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=tagged("default-closed"),
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=tagged("igw"), opts=child
        )

        plan = plan_subnets(args.cidr, len(args.zones))

        def subnets(tier: str, cidrs: list[str], **extra: str) -> list[aws.ec2.Subnet]:
            return [
                aws.ec2.Subnet(
                    f"{name}-{tier}-{zone}",
                    vpc_id=self.vpc.id,
                    cidr_block=cidr,
                    availability_zone=zone,
                    # Public subnets hold load balancers and NAT only: no instance there gets a
                    # public address by accident (CKV_AWS_130).
                    map_public_ip_on_launch=False if tier == "public" else None,
                    tags=tagged(f"{tier}-{zone}", tier=tier, **extra),
                    opts=child,
                )
                for zone, cidr in zip(args.zones, cidrs, strict=True)
            ]

        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        self.public_subnets = subnets(
            "public", plan.public, **cluster_tag, **{"kubernetes.io/role/elb": "1"}
        )
        self.private_subnets = subnets(
            "private",
            plan.private,
            **cluster_tag,
            **{
                "kubernetes.io/role/internal-elb": "1",
                "karpenter.sh/discovery": args.cluster_name,
            },
        )
        self.isolated_subnets = subnets("isolated", plan.isolated)

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=tagged("public-rt"),
            opts=child,
        )
        for zone, subnet in zip(args.zones, self.public_subnets, strict=True):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{zone}",
                subnet_id=subnet.id,
                route_table_id=public_rt.id,
                opts=child,
            )

        nat_by_zone: dict[str, aws.ec2.NatGateway] = {}
        for zone, subnet in zip(args.zones, self.public_subnets, strict=True):
            if zone not in args.nat_zones:
                continue
            eip = aws.ec2.Eip(
                f"{name}-nat-eip-{zone}", domain="vpc", tags=tagged(f"nat-{zone}"), opts=child
            )
            nat_by_zone[zone] = aws.ec2.NatGateway(
                f"{name}-nat-{zone}",
                allocation_id=eip.id,
                subnet_id=subnet.id,
                tags=tagged(f"nat-{zone}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            )

        route_tables: list[aws.ec2.RouteTable] = []
        for zone, subnet in zip(args.zones, self.private_subnets, strict=True):
            # A zone without its own NAT gateway uses the first one (the single-NAT layout).
            nat = nat_by_zone.get(zone) or nat_by_zone[args.nat_zones[0]]
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{zone}",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags=tagged(f"private-rt-{zone}"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{zone}", subnet_id=subnet.id, route_table_id=rt.id, opts=child
            )
            route_tables.append(rt)

        isolated_rt = aws.ec2.RouteTable(
            f"{name}-isolated-rt", vpc_id=self.vpc.id, tags=tagged("isolated-rt"), opts=child
        )
        for zone, subnet in zip(args.zones, self.isolated_subnets, strict=True):
            aws.ec2.RouteTableAssociation(
                f"{name}-isolated-rta-{zone}",
                subnet_id=subnet.id,
                route_table_id=isolated_rt.id,
                opts=child,
            )
        route_tables.append(isolated_rt)

        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args.context.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in route_tables],
            tags=tagged("s3-endpoint"),
            opts=child,
        )

        self._flow_logs(name, args)

        self.vpc_id = self.vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in self.private_subnets])
        self.isolated_subnet_ids = pulumi.Output.all(*[s.id for s in self.isolated_subnets])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in self.public_subnets])
        # The cluster's internet egress, which an audience-limited edge admits.
        self.nat_public_ips = pulumi.Output.all(*[n.public_ip for n in nat_by_zone.values()])
        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "privateSubnetIds": self.private_subnet_ids,
                "isolatedSubnetIds": self.isolated_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
            }
        )

    def private_subnet_ids_in(self, zones: list[str]) -> pulumi.Output[list[str]]:
        """Ids of the private subnets of the given zones, in zone order."""
        return pulumi.Output.all(
            *[
                s.id
                for s, zone in zip(self.private_subnets, self._zones, strict=True)
                if zone in zones
            ]
        )

    def _flow_logs(self, name: str, args: NetworkArgs) -> None:
        """All traffic of the VPC to an encrypted CloudWatch log group (CKV2_AWS_11)."""
        child = pulumi.ResourceOptions(parent=self)
        log_group_name = f"/aws/vpc/{name}/flow-logs"
        log_group = keyed_log_group(
            f"{name}-flow-logs",
            f"{name}-flow-logs",
            log_group_name,
            description=f"VPC flow logs of {name}",
            context=args.context,
            retention_days=args.flow_log_retention_days,
            tags=args.tags,
            protect=args.protect,
            opts=child,
        ).group
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=service_trust("vpc-flow-logs.amazonaws.com"),
            tags={**args.tags, "Name": f"{name}-flow-logs-role"},
            opts=child,
        )
        # Only the delivery actions, and only on this log group and its streams.
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: json.dumps(
                    document(
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [arn, f"{arn}:*"],
                        }
                    )
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={**args.tags, "Name": f"{name}-flow-log"},
            opts=child,
        )
