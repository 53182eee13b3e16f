"""ElastiCache (Valkey or Redis) for frequently read data: private, encrypted, authenticated."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws.context import AwsContext
from components.aws.data_store import DataStoreScaffoldArgs, LogGroupSpec, private_data_store

PORT = 6379


@dataclass(frozen=True)
class RedisCacheArgs:
    """Arguments of :class:`RedisCache`.

    ``auth_token`` is the AUTH token clients present; ``None`` generates one, kept only as a
    Pulumi secret (the Vault integration supplies it instead once configured).
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
    auth_token: pulumi.Input[str] | None = None
    production: bool = False


class RedisCache(pulumi.ComponentResource):
    """A replication group reachable only from the cluster's nodes.

    Encrypted at rest with its own KMS key and in transit (TLS required); clients authenticate
    with an AUTH token that exists only as a secret. With two or more nodes, replicas sit in other
    zones and fail over automatically.
    """

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
        if args.auth_token is None:
            generated = random.RandomPassword(
                f"{name}-auth-token",
                length=64,
                # AUTH tokens allow printable ASCII but not @, " or /: letters and digits suffice.
                special=False,
                opts=child,
            )
            token: pulumi.Input[str] = pulumi.Output.secret(generated.result)
        else:
            # The provider SDK marks authToken secret on the replication group anyway; wrapping
            # here also keeps self.auth_token secret for consumers such as Kubernetes secrets.
            token = pulumi.Output.secret(args.auth_token)
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
            auth_token=token,
            auth_token_update_strategy="ROTATE",
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
        self.auth_token = token
        self.security_group_id = security_group.id
        self.register_outputs({"endpoint": self.endpoint, "securityGroupId": security_group.id})
