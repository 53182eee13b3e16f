"""The private data-store scaffold shared by the database and the cache."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.context import lookup
from components.aws.data_store import (
    DataStoreScaffoldArgs,
    LogGroupSpec,
    private_data_store,
)
from offline.engine import run_program
from offline.graph import Resource, StackGraph
from tests.conftest import of_type, one, render

PORT = 4242
GROUPS = ("/store/s/audit", "/store/s/slow")
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SUBNET_GROUPS = {
    "rds": (aws.rds.SubnetGroup, "aws:rds/subnetGroup:SubnetGroup"),
    "elasticache": (aws.elasticache.SubnetGroup, "aws:elasticache/subnetGroup:SubnetGroup"),
}


class _Store(pulumi.ComponentResource):
    """A stand-in for a data store component: the scaffold and nothing else."""

    def __init__(self, name: str, args: DataStoreScaffoldArgs[Any]) -> None:
        super().__init__("test:aws:Store", name, None, None)
        private_data_store(name, args, parent=self)
        self.register_outputs({})


def _render(kind: str = "rds", *, production: bool = False) -> StackGraph:
    def program() -> None:
        provider = aws.Provider("aws", region="eu-west-1")
        _Store(
            "s",
            DataStoreScaffoldArgs(
                context=lookup(provider, "eu-west-1"),
                tags={"env": "unit"},
                vpc_id="vpc-1",
                subnet_ids=["subnet-1", "subnet-2"],
                client_security_group_id="sg-client",
                subnet_group_type=SUBNET_GROUPS[kind][0],
                subnet_tier="Isolated",
                port=PORT,
                what="Store",
                key_role="data",
                key_description="Data of s",
                log_groups=tuple(LogGroupSpec(g.rsplit("/", 1)[1], g) for g in GROUPS),
                log_retention_days=30,
                production=production,
            ),
        )

    return run_program(program, project="t", stack="unit", preview=False)


def _policy(key: Resource) -> dict[str, Any]:
    policy = key.props["policy"]
    return json.loads(policy) if isinstance(policy, str) else policy


def test_security_group_admits_only_the_client_group_on_the_store_port() -> None:
    graph = _render()
    group = one(graph, "aws:ec2/securityGroup:SecurityGroup")
    assert not group.props.get("ingress") and not group.props.get("egress")
    assert not of_type(graph, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    (rule,) = of_type(graph, INGRESS)
    assert group.urn in rule.property_dependencies["securityGroupId"]
    assert rule.props["ipProtocol"] == "tcp"
    assert rule.props["fromPort"] == rule.props["toPort"] == PORT
    assert rule.props["referencedSecurityGroupId"] == "sg-client"
    assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & rule.props.keys()


@pytest.mark.parametrize("production", [False, True])
def test_key_rotates_and_is_protected_in_production(production: bool) -> None:
    key = one(_render(production=production), "aws:kms/key:Key")
    assert key.props["enableKeyRotation"] is True
    assert bool(key.option("protect")) is production


def test_key_lets_cloudwatch_logs_encrypt_exactly_the_stores_log_groups() -> None:
    key = one(_render(), "aws:kms/key:Key")
    (grant,) = [s for s in _policy(key)["Statement"] if s["Sid"].startswith("CloudWatchLogs")]
    arns = grant["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert sorted(a.split(":log-group:", 1)[1] for a in arns) == sorted(GROUPS)


def test_log_groups_are_encrypted_with_the_stores_key() -> None:
    graph = _render()
    key = one(graph, "aws:kms/key:Key")
    logs = of_type(graph, "aws:cloudwatch/logGroup:LogGroup")
    assert sorted(g.props["name"] for g in logs) == sorted(GROUPS)
    for group in logs:
        assert group.props["kmsKeyId"].startswith("arn:aws:kms:")
        assert key.urn in group.property_dependencies["kmsKeyId"]
        assert group.props["retentionInDays"] == 30


@pytest.mark.parametrize("kind", sorted(SUBNET_GROUPS))
def test_subnet_group_is_the_stores_own_type(kind: str) -> None:
    graph = _render(kind)
    token = SUBNET_GROUPS[kind][1]
    group = one(graph, token)
    assert group.props["subnetIds"] == ["subnet-1", "subnet-2"]
    assert group.props["description"] == "Isolated subnets of s"
    others = [t for k, (_, t) in SUBNET_GROUPS.items() if k != kind]
    assert not any(of_type(graph, t) for t in others)


def test_scaffold_resources_are_children_of_the_calling_component() -> None:
    """No component in between, so the stores' resources keep the URNs they always had."""
    graph = _render()
    store = one(graph, "test:aws:Store")
    scaffold = [
        one(graph, "ttbt2:aws:EncryptionKey"),
        *of_type(graph, "aws:cloudwatch/logGroup:LogGroup"),
        one(graph, SUBNET_GROUPS["rds"][1]),
        one(graph, "aws:ec2/securityGroup:SecurityGroup"),
        one(graph, INGRESS),
    ]
    assert all(r.parent == store.urn for r in scaffold)
    assert sorted(r.name for r in scaffold) == [
        "s-audit",
        "s-data",
        "s-from-nodes",
        "s-sg",
        "s-slow",
        "s-subnets",
    ]


SCAFFOLD_URNS = {
    "ttbt2:aws:Database$ttbt2:aws:EncryptionKey::ttbt2-dev-db-storage",
    "ttbt2:aws:Database$aws:cloudwatch/logGroup:LogGroup::ttbt2-dev-db-log-postgresql",
    "ttbt2:aws:Database$aws:cloudwatch/logGroup:LogGroup::ttbt2-dev-db-log-upgrade",
    "ttbt2:aws:Database$aws:rds/subnetGroup:SubnetGroup::ttbt2-dev-db-subnets",
    "ttbt2:aws:Database$aws:ec2/securityGroup:SecurityGroup::ttbt2-dev-db-sg",
    f"ttbt2:aws:Database${INGRESS}::ttbt2-dev-db-from-nodes",
    "ttbt2:aws:RedisCache$ttbt2:aws:EncryptionKey::ttbt2-dev-cache-data",
    "ttbt2:aws:RedisCache$aws:cloudwatch/logGroup:LogGroup::ttbt2-dev-cache-slow-log",
    "ttbt2:aws:RedisCache$aws:elasticache/subnetGroup:SubnetGroup::ttbt2-dev-cache-subnets",
    "ttbt2:aws:RedisCache$aws:ec2/securityGroup:SecurityGroup::ttbt2-dev-cache-sg",
    f"ttbt2:aws:RedisCache${INGRESS}::ttbt2-dev-cache-from-nodes",
}
"""The scaffold's URNs from before it was shared: a changed one would replace the store."""


def test_database_and_cache_keep_their_scaffold_urns() -> None:
    prefix = "urn:pulumi:dev::ttbt2-platform::"
    urns = {r.urn.removeprefix(prefix) for r in render("dev").resources}
    assert not SCAFFOLD_URNS - urns
