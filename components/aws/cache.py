"""ElastiCache (Valkey or Redis) for frequently read data: private, encrypted, authenticated.

Clients authenticate with IAM (seed 4.9.1, rotation everywhere): each client service has an
ElastiCache user of its own whose authentication mode is ``iam``, and its IRSA role holds
``elasticache:Connect`` on this replication group and that user only
(:meth:`RedisCache.connect_policy_statement`). The password a client presents is a SigV4 token
signed with the role's temporary credentials, valid for 15 minutes: nothing static to store,
nothing to rotate by hand. The engine's built-in ``default`` user is replaced in the group by
a disabled one (access string ``off``), so no connection is accepted without an IAM user.

A group created with an AUTH token moves to the user group in place: ElastiCache adds the user
group and drops the token in one modification, which it accepts only with the token update
strategy ``DELETE`` (``user_group_ids`` set, ``auth_token`` unset,
``auth_token_update_strategy="DELETE"``; the strategy is ignored when a group is created).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws.context import AwsContext
from components.aws.data_store import DataStoreScaffoldArgs, LogGroupSpec, private_data_store

PORT = 6379
DEFAULT_USER = "default"
"""The user name every connection without a user name is; disabled in the group."""
_USER_PART = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True)
class RedisCacheArgs:
    """Arguments of :class:`RedisCache`.

    ``clients`` are the services that connect: each gets an IAM-authenticated ElastiCache user
    ``<name>-<client>`` (its user name and id, as IAM authentication requires).
    """

    context: AwsContext
    tags: dict[str, str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    client_security_group_id: pulumi.Input[str]
    engine: str
    engine_version: str
    node_type: str
    nodes: int
    snapshot_retention_days: int
    eviction_policy: str
    log_retention_days: int
    clients: tuple[str, ...] = ()
    production: bool = False

    def __post_init__(self) -> None:
        bad = [c for c in self.clients if not _USER_PART.fullmatch(c)]
        if bad:
            raise ValueError(
                f"cache clients must be lower-case names (letters, digits, hyphens): {bad}"
            )


class RedisCache(pulumi.ComponentResource):
    """A replication group reachable only from the cluster's nodes.

    Encrypted at rest with its own KMS key and in transit (TLS required, which IAM
    authentication needs anyway); clients authenticate as IAM users of the group's user group
    (``users``: client name to its ElastiCache user). With two or more nodes, replicas sit in
    other zones and fail over automatically.
    """

    users: dict[str, aws.elasticache.User]

    def __init__(
        self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:RedisCache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags
        scaffold = private_data_store(
            name,
            DataStoreScaffoldArgs(
                context=args.context,
                tags=tags,
                vpc_id=args.vpc_id,
                subnet_ids=args.subnet_ids,
                client_security_group_id=args.client_security_group_id,
                subnet_group_type=aws.elasticache.SubnetGroup,
                subnet_tier="Private",
                port=PORT,
                what="Cache",
                key_role="data",
                key_description=f"Data and snapshots of cache {name}",
                log_groups=(LogGroupSpec("slow-log", f"/aws/elasticache/{name}/slow-log"),),
                log_retention_days=args.log_retention_days,
                production=args.production,
            ),
            parent=self,
        )
        key = scaffold.key
        (log_group,) = scaffold.log_groups
        security_group = scaffold.security_group
        self.users = {
            client: aws.elasticache.User(
                f"{name}-{client}-user",
                user_id=f"{name}-{client}",
                # IAM authentication requires the user name to equal the user id.
                user_name=f"{name}-{client}",
                engine=args.engine,
                # Every key and command but the dangerous ones (FLUSHALL, CONFIG, DEBUG...).
                access_string="on ~* +@all -@dangerous",
                authentication_mode=aws.elasticache.UserAuthenticationModeArgs(type="iam"),
                tags={**tags, "Name": f"{name}-{client}"},
                opts=child,
            )
            for client in args.clients
        }
        # The engine requires a user named "default" in the group; this one is switched off, so
        # a connection that does not name an IAM user is refused. Its password only exists
        # because the API wants one: no one can log in as an "off" user with any password.
        default_password = random.RandomPassword(
            f"{name}-default-password", length=64, special=False, opts=child
        )
        default_user = aws.elasticache.User(
            f"{name}-default-user",
            user_id=f"{name}-default",
            user_name=DEFAULT_USER,
            engine=args.engine,
            access_string="off -@all",
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[pulumi.Output.secret(default_password.result)]
            ),
            tags={**tags, "Name": f"{name}-default"},
            opts=child,
        )
        self.user_group = aws.elasticache.UserGroup(
            f"{name}-users",
            user_group_id=f"{name}-users",
            engine=args.engine,
            user_ids=[default_user.user_id, *(u.user_id for u in self.users.values())],
            tags={**tags, "Name": f"{name}-users"},
            opts=child,
        )
        major = args.engine_version.split(".", 1)[0]
        parameters = aws.elasticache.ParameterGroup(
            f"{name}-params",
            family=f"{args.engine}{major}",
            description=f"Eviction policy of cache {name}",
            parameters=[
                aws.elasticache.ParameterGroupParameterArgs(
                    name="maxmemory-policy", value=args.eviction_policy
                )
            ],
            tags={**tags, "Name": f"{name}-params"},
            opts=child,
        )
        replicated = args.nodes >= 2
        self.group = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            description=f"TTBT2 cache ({name})",
            engine=args.engine,
            engine_version=args.engine_version,
            node_type=args.node_type,
            num_cache_clusters=args.nodes,
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            port=PORT,
            parameter_group_name=parameters.name,
            subnet_group_name=scaffold.subnet_group.name,
            security_group_ids=[security_group.id],
            at_rest_encryption_enabled=True,
            kms_key_id=key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            user_group_ids=[self.user_group.user_group_id],
            # Removes the AUTH token of a group created with one (see the module docstring).
            auth_token_update_strategy="DELETE",
            snapshot_retention_limit=args.snapshot_retention_days,
            snapshot_window="01:00-02:00",
            maintenance_window="sun:04:30-sun:05:30",
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                    destination=log_group.name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type="slow-log",
                )
            ],
            tags={**tags, "Name": name},
            opts=pulumi.ResourceOptions(parent=self, protect=args.production),
        )
        self.endpoint = self.group.primary_endpoint_address
        self.security_group_id = security_group.id
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "securityGroupId": security_group.id,
                "users": {client: user.user_name for client, user in self.users.items()},
            }
        )

    def connect_policy_statement(self, client: str) -> pulumi.Output[dict[str, Any]]:
        """The IAM statement letting ``client``'s role connect as its user, to this group only."""
        user = self.users[client]
        return pulumi.Output.all(self.group.arn, user.arn).apply(
            lambda arns: {
                "Sid": "CacheIamAuth",
                "Effect": "Allow",
                "Action": "elasticache:Connect",
                "Resource": [arns[0], arns[1]],
            }
        )


def with_statements(
    base: dict[str, Any], statements: list[pulumi.Output[dict[str, Any]]]
) -> pulumi.Output[str]:
    """``base`` (an IAM policy document) with ``statements`` appended, as JSON."""
    return pulumi.Output.all(*statements).apply(
        lambda extra: json.dumps({**base, "Statement": [*base.get("Statement", []), *extra]})
    )
