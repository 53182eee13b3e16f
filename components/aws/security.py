"""Security groups of data stores: one port, open to one client security group only."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def client_only_security_group(
    name: str,
    *,
    vpc_id: pulumi.Input[str],
    client_security_group_id: pulumi.Input[str],
    port: int,
    what: str,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """A security group admitting TCP ``port`` from ``client_security_group_id`` and nothing else.

    The client is named by security group, not CIDR, so only the cluster's nodes get in, not
    everything else in their subnets. The group has no egress rule: data stores answer on the
    connections they accept and start none.
    """
    group = aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=vpc_id,
        description=f"{what} {name}: only the cluster's nodes",
        tags={**tags, "Name": f"{name}-sg"},
        opts=opts,
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-nodes",
        security_group_id=group.id,
        referenced_security_group_id=client_security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=f"{what} from the cluster's nodes",
        tags={**tags, "Name": f"{name}-from-nodes"},
        opts=opts,
    )
    return group
