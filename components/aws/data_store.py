"""The scaffold every private data store stands on: key, log groups, subnet group, firewall.

:class:`~components.aws.database.Database` and :class:`~components.aws.cache.RedisCache` each
need the same four things before the store itself: a KMS key of their own, CloudWatch log groups
created ahead of the service and encrypted with that key, a subnet group over the subnets they
live in, and a security group admitting one client security group on one port.
:func:`private_data_store` builds them from :class:`DataStoreScaffoldArgs`, where what differs
between stores is spelled out per store: the subnet group's resource type (``aws.rds`` or
``aws.elasticache``), the port, the log groups, the key's role and description.

Why a builder function and not a child component: the scaffold creates its resources with
``parent=`` the calling component, under the names the stores used before, so every URN stays
as it was. A ``PrivateDataStore`` component in between would move the key, subnet group and
security group under a new parent; each would then need an alias to its old URN, and a missed
one means a replaced RDS subnet group, key or security group, which replaces the database or
cache itself. The function gives the same sharing with nothing to alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.logs import encrypted_log_group
from components.aws.security import client_only_security_group

SubnetGroupT = TypeVar("SubnetGroupT", aws.rds.SubnetGroup, aws.elasticache.SubnetGroup)
"""The store's subnet group type: RDS and ElastiCache each have their own resource."""


@dataclass(frozen=True)
class LogGroupSpec:
    """One log group the store writes to: ``{name}-{role}`` in Pulumi, ``group_name`` in AWS."""

    role: str
    group_name: str


@dataclass(frozen=True)
class DataStoreScaffoldArgs(Generic[SubnetGroupT]):
    """Arguments of :func:`private_data_store`.

    ``subnet_group_type`` is ``aws.rds.SubnetGroup`` or ``aws.elasticache.SubnetGroup``;
    ``subnet_tier`` names the subnets in its description ("Isolated", "Private"). ``port`` is the
    only port the security group opens, to ``client_security_group_id`` only; ``what`` names the
    store in the group's descriptions ("PostgreSQL", "Cache"). The key is ``{name}-{key_role}``
    and may encrypt exactly the ``log_groups``; ``production`` protects it.
    """

    context: AwsContext
    tags: dict[str, str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    client_security_group_id: pulumi.Input[str]
    subnet_group_type: type[SubnetGroupT]
    subnet_tier: str
    port: int
    what: str
    key_role: str
    key_description: str
    log_groups: tuple[LogGroupSpec, ...]
    log_retention_days: int
    production: bool = False


@dataclass(frozen=True)
class DataStoreScaffold(Generic[SubnetGroupT]):
    """What :func:`private_data_store` built; ``log_groups`` in the order of the args."""

    key: EncryptionKey
    log_groups: list[aws.cloudwatch.LogGroup]
    subnet_group: SubnetGroupT
    security_group: aws.ec2.SecurityGroup


def private_data_store(
    name: str, args: DataStoreScaffoldArgs[SubnetGroupT], *, parent: pulumi.ComponentResource
) -> DataStoreScaffold[SubnetGroupT]:
    """Create the scaffold of data store ``name`` as children of ``parent`` (its component)."""
    child = pulumi.ResourceOptions(parent=parent)
    key = EncryptionKey(
        f"{name}-{args.key_role}",
        EncryptionKeyArgs(
            description=args.key_description,
            context=args.context,
            tags=args.tags,
            protect=args.production,
            # The key policy grants CloudWatch Logs exactly the groups created below.
            log_group_patterns=[spec.group_name for spec in args.log_groups],
        ),
        opts=child,
    )
    log_groups = [
        encrypted_log_group(
            f"{name}-{spec.role}",
            spec.group_name,
            retention_days=args.log_retention_days,
            kms_key_arn=key.arn,
            tags=args.tags,
            opts=child,
        )
        for spec in args.log_groups
    ]
    subnet_group = args.subnet_group_type(
        f"{name}-subnets",
        subnet_ids=args.subnet_ids,
        description=f"{args.subnet_tier} subnets of {name}",
        tags={**args.tags, "Name": f"{name}-subnets"},
        opts=child,
    )
    security_group = client_only_security_group(
        name,
        vpc_id=args.vpc_id,
        client_security_group_id=args.client_security_group_id,
        port=args.port,
        what=args.what,
        tags=args.tags,
        opts=child,
    )
    return DataStoreScaffold(
        key=key, log_groups=log_groups, subnet_group=subnet_group, security_group=security_group
    )
