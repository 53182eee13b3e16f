"""Protection (platform rule, mandatory): production data cannot be deleted by one command.

In production stacks, stateful resources (keys, clusters, databases, buckets, caches, backup
vaults, tables, file systems, search domains) carry the ``protect`` resource option, so that
``pulumi destroy`` or a replacement stops instead of deleting them. Which stacks are production
is the policy config ``productionStacks`` (default ``["prod", "prod-dr"]``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pulumi_policy import Policy, PolicyConfigSchema, ResourceValidationArgs

from .common import MANDATORY, is_list, resource_policy, stack_of

DEFAULT_PRODUCTION_STACKS = ("prod", "prod-dr")

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


def production_stacks(config: Any) -> Sequence[str]:
    """The ``productionStacks`` config value, or the default; raises ValueError when malformed."""
    value = config.get("productionStacks") if config else None
    if value is None:
        return DEFAULT_PRODUCTION_STACKS
    if not is_list(value) or not all(isinstance(v, str) for v in value):
        raise ValueError("policy config productionStacks must be a list of stack names")
    return list(value)


def _protected_in_production(args: ResourceValidationArgs) -> Iterator[str]:
    stack = stack_of(args.urn)
    if stack not in production_stacks(args.get_config()):
        args.not_applicable(f"stack {stack!r} is not a production stack")
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
    config_schema=PolicyConfigSchema(
        properties={
            "productionStacks": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(DEFAULT_PRODUCTION_STACKS),
                "description": "Stack names (from the URN) treated as production.",
            }
        }
    ),
)

POLICIES: list[Policy] = [protect_stateful_resources]
