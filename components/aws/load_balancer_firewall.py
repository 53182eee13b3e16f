"""The security group of an internal load balancer that admits one client group only.

Admission by network identity (seed 4.9.1, no shared password): only instances in the client
security group reach the HTTPS listener, whatever their address in the VPC, and the load
balancer reaches its targets on one port inside one CIDR and nothing else. The load balancer
controller attaches the group through the Ingress annotation
``alb.ingress.kubernetes.io/security-groups`` (and keeps managing the rules from the load
balancer to the pods with ``manage-backend-security-group-rules``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

HTTPS = 443


@dataclass(frozen=True)
class LoadBalancerFirewallArgs:
    """Who may connect (``client_security_group_id``) and where the targets are."""

    vpc_id: pulumi.Input[str]
    client_security_group_id: pulumi.Input[str]
    target_cidr: str
    target_port: int
    what: str
    tags: dict[str, str] = field(default_factory=dict)


class LoadBalancerFirewall(pulumi.ComponentResource):
    """Security group ``{name}-sg``: HTTPS in from the clients, out to the targets' port.

    The AWS provider comes from ``opts``; ``security_group_id`` is what the Ingress names.
    """

    def __init__(
        self, name: str, args: LoadBalancerFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:LoadBalancerFirewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{args.what}: HTTPS from one client security group only",
            tags={**args.tags, "Name": f"{name}-sg"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-clients",
            security_group_id=group.id,
            referenced_security_group_id=args.client_security_group_id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description=f"{args.what}: HTTPS from its clients",
            tags={**args.tags, "Name": f"{name}-from-clients"},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-to-targets",
            security_group_id=group.id,
            cidr_ipv4=args.target_cidr,
            ip_protocol="tcp",
            from_port=args.target_port,
            to_port=args.target_port,
            description=f"{args.what}: to its targets",
            tags={**args.tags, "Name": f"{name}-to-targets"},
            opts=child,
        )
        self.security_group_id: pulumi.Output[str] = group.id
        self.register_outputs({"securityGroupId": group.id})
