"""Protection (platform rule, mandatory): production data cannot be deleted by one command.

In production stacks, stateful resources (keys, clusters, databases, buckets, caches, backup
vaults, tables, file systems, search domains) carry the ``protect`` resource option, so that
``pulumi destroy`` or a replacement stops instead of deleting them. Which stacks are production
is the policy config ``productionStacks`` (default ``["prod", "prod-dr"]``).
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Policy, ResourceValidationArgs

from .common import MANDATORY, production_config_schema, require_production, resource_policy

STATEFUL_TYPES = frozenset(
    {
        "aws:kms/key:Key",
        "aws:eks/cluster:Cluster",
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:backup/vault:Vault",
        "aws:dynamodb/table:Table",
        "aws:efs/fileSystem:FileSystem",
    }
)
SEARCH_DOMAIN_MODULES = ("aws:elasticsearch/", "aws:opensearch/")


def is_stateful(resource_type: str) -> bool:
    """True for the stateful types above and any Elasticsearch/OpenSearch domain."""
    if resource_type in STATEFUL_TYPES:
        return True
    return resource_type.startswith(SEARCH_DOMAIN_MODULES) and resource_type.endswith(":Domain")


def _protected_in_production(args: ResourceValidationArgs) -> Iterator[str]:
    stack = require_production(args)
    if not args.opts.protect:
        yield (
            f"{args.resource_type.rsplit(':', 1)[-1]} {args.name} holds state in production stack "
            f"{stack!r} but is not protected: set opts=pulumi.ResourceOptions(protect=True)"
        )


protect_stateful_resources = resource_policy(
    name="aws-protect-stateful-resources",
    description=(
        "Platform rule: in production stacks (config productionStacks), stateful resources "
        "set the protect resource option."
    ),
    enforcement=MANDATORY,
    applies_to=is_stateful,
    check=_protected_in_production,
    config_schema=production_config_schema(),
)

POLICIES: list[Policy] = [protect_stateful_resources]
