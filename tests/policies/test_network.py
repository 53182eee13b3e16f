"""Network: public ingress to admin ports, IMDSv2, default security groups, VPC flow logs."""

from __future__ import annotations

from typing import Any

import pytest

from offline.graph import Resource
from policies.ttbt2_policies.network import (
    default_security_group_closed,
    launch_template_imdsv2,
    no_public_admin_ingress,
    vpc_default_security_group_managed,
    vpc_flow_logs_enabled,
)
from tests.support.policies import findings_for, resource, violations

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"


def ingress(
    from_port: Any = 443, to_port: Any = 443, protocol: Any = "tcp", **extra: Any
) -> dict[str, Any]:
    rule = {"fromPort": from_port, "toPort": to_port, "protocol": protocol, **extra}
    return {k: v for k, v in rule.items() if v is not None}


def security_group(*rules: dict[str, Any]) -> Resource:
    return resource(SG, {"vpcId": "vpc-1", "ingress": list(rules), "egress": []})


def sg_rule(**props: Any) -> Resource:
    base = {"type": "ingress", "securityGroupId": "sg-1", **ingress(), **props}
    return resource(SG_RULE, {k: v for k, v in base.items() if v is not None})


def vpc_rule(**props: Any) -> Resource:
    base = {"securityGroupId": "sg-1", "fromPort": 443, "toPort": 443, "ipProtocol": "tcp", **props}
    return resource(INGRESS_RULE, {k: v for k, v in base.items() if v is not None})


WORLD = {"cidrBlocks": ["0.0.0.0/0"]}
WORLD6 = {"ipv6CidrBlocks": ["::/0"]}

# --- security-group ingress ------------------------------------------------------------------


@pytest.mark.parametrize(
    "res",
    [
        security_group(ingress(**WORLD), ingress(80, 80, **WORLD6)),
        security_group(ingress(22, 22, cidrBlocks=["10.0.0.0/8"])),
        security_group(ingress(-1, -1, "icmp", **WORLD)),
        sg_rule(cidrBlocks=["0.0.0.0/0"]),
        sg_rule(type="egress", fromPort=0, toPort=0, protocol="-1", cidrBlocks=["0.0.0.0/0"]),
        vpc_rule(cidrIpv4="0.0.0.0/0"),
        vpc_rule(fromPort=22, toPort=22, cidrIpv4="10.20.0.0/16"),
    ],
    ids=[
        "https-world",
        "ssh-private",
        "icmp-world",
        "rule-https",
        "rule-egress",
        "vpc-https",
        "vpc-ssh-private",
    ],
)
def test_compliant_ingress(res: Resource) -> None:
    assert findings_for(no_public_admin_ingress, [res]) == []


@pytest.mark.parametrize(
    ("res", "expected"),
    [
        (security_group(ingress(22, 22, **WORLD)), "22 (SSH)"),
        (security_group(ingress(3389, 3389, **WORLD6)), "3389 (RDP)"),
        (security_group(ingress(0, 0, "-1", **WORLD)), "all ports"),
        (security_group(ingress(0, 65535, "tcp", **WORLD)), "all tcp ports"),
        (security_group(ingress(5000, 6000, "tcp", **WORLD)), "5432 (PostgreSQL)"),
        (security_group(ingress(6443.0, 6443.0, "6", **WORLD)), "6443 (Kubernetes API)"),
        (sg_rule(fromPort=10250, toPort=10250, cidrBlocks=["0.0.0.0/0"]), "10250 (kubelet)"),
        (vpc_rule(fromPort=27017, toPort=27017, cidrIpv4="0.0.0.0/0"), "27017 (MongoDB)"),
        (vpc_rule(ipProtocol="-1", fromPort=None, toPort=None, cidrIpv6="::/0"), "all ports"),
    ],
    ids=[
        "ssh",
        "rdp-v6",
        "all-protocols",
        "all-tcp",
        "range-postgres",
        "float-ports",
        "rule",
        "vpc",
        "vpc-all",
    ],
)
def test_public_admin_ingress_is_a_violation(res: Resource, expected: str) -> None:
    [finding] = findings_for(no_public_admin_ingress, [res])
    assert finding.policy == "aws-security-group-no-public-admin-ingress"
    assert expected in finding.message


def test_missing_ports_count_as_the_full_range() -> None:
    [finding] = findings_for(
        no_public_admin_ingress, [sg_rule(fromPort=None, toPort=None, **WORLD)]
    )
    assert "all tcp ports" in finding.message


def test_missing_protocol_counts_as_all() -> None:
    [finding] = findings_for(
        no_public_admin_ingress, [vpc_rule(ipProtocol=None, cidrIpv4="0.0.0.0/0")]
    )
    assert "all ports" in finding.message


def test_missing_sources_or_ingress_are_compliant() -> None:
    assert findings_for(no_public_admin_ingress, [security_group(ingress(22, 22))]) == []
    assert findings_for(no_public_admin_ingress, [resource(SG, {"vpcId": "vpc-1"})]) == []


def test_each_public_rule_is_reported() -> None:
    res = security_group(
        ingress(22, 22, **WORLD), ingress(443, 443, **WORLD), ingress(3306, 3306, **WORLD)
    )
    assert [f.message.split(" ")[0] for f in findings_for(no_public_admin_ingress, [res])] == [
        "ingress[0]",
        "ingress[2]",
    ]


# --- IMDSv2 ----------------------------------------------------------------------------------


def template(**options: Any) -> Resource:
    base = {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    base.update(options)
    return resource(
        LAUNCH_TEMPLATE, {"metadataOptions": {k: v for k, v in base.items() if v is not None}}
    )


@pytest.mark.parametrize(
    "res",
    [
        template(),
        template(httpPutResponseHopLimit=1.0),
        template(httpEndpoint="disabled", httpTokens="optional"),
    ],
    ids=["required", "float-hop-limit", "endpoint-disabled"],
)
def test_imdsv2_compliant(res: Resource) -> None:
    assert findings_for(launch_template_imdsv2, [res]) == []


@pytest.mark.parametrize(
    ("res", "expected"),
    [
        (template(httpTokens="optional"), "httpTokens is 'optional'"),
        (template(httpTokens=None), "httpTokens is not set"),
        (template(httpPutResponseHopLimit=2), "httpPutResponseHopLimit is 2"),
        (template(httpPutResponseHopLimit=None), "httpPutResponseHopLimit is not set"),
    ],
    ids=["optional", "no-tokens", "hop-2", "no-hop"],
)
def test_imdsv2_violations(res: Resource, expected: str) -> None:
    [finding] = findings_for(launch_template_imdsv2, [res])
    assert finding.policy == "aws-launch-template-imdsv2-required"
    assert expected in finding.message


def test_missing_metadata_options_is_a_violation() -> None:
    [finding] = findings_for(
        launch_template_imdsv2, [resource(LAUNCH_TEMPLATE, {"imageId": "ami-1"})]
    )
    assert "metadataOptions is not set" in finding.message


# --- default security group ------------------------------------------------------------------


def test_default_group_without_rules_is_compliant() -> None:
    assert (
        findings_for(
            default_security_group_closed, [resource(DEFAULT_SG, {"ingress": [], "egress": []})]
        )
        == []
    )


def test_default_group_with_missing_rules_is_closed() -> None:
    assert (
        findings_for(default_security_group_closed, [resource(DEFAULT_SG, {"vpcId": "vpc-1"})])
        == []
    )


@pytest.mark.parametrize("key", ["ingress", "egress"])
def test_default_group_with_a_rule_is_a_violation(key: str) -> None:
    res = resource(
        DEFAULT_SG,
        {
            "ingress": [],
            "egress": [],
            key: [{"fromPort": 0, "toPort": 0, "protocol": "-1", "self": True}],
        },
    )
    [finding] = findings_for(default_security_group_closed, [res])
    assert finding.policy == "aws-default-security-group-closed"
    assert f"1 {key} rule" in finding.message


# --- stack: flow logs and managed default groups ----------------------------------------------


@pytest.mark.parametrize(
    ("policy", "dependent", "expected"),
    [
        (vpc_flow_logs_enabled, FLOW_LOG, "no flow log"),
        (vpc_default_security_group_managed, DEFAULT_SG, "default security group unmanaged"),
    ],
    ids=["flow-logs", "default-sg"],
)
class TestVpcCompanions:
    def test_vpc_with_companion_is_compliant(
        self,
        policy: Any,
        dependent: str,
        expected: str,  # noqa: ARG002 - a class parameter
    ) -> None:
        vpc = resource(VPC, {"cidrBlock": "10.0.0.0/16"}, name="main-vpc")
        companion = resource(dependent, {"vpcId": "vpc-id"}, dependencies=[vpc])
        assert findings_for(policy, [vpc, companion]) == []

    def test_vpc_without_companion_is_reported_on_the_vpc(
        self, policy: Any, dependent: str, expected: str
    ) -> None:
        covered = resource(VPC, {}, name="covered-vpc")
        bare = resource(VPC, {}, name="bare-vpc")
        companion = resource(dependent, {"vpcId": "vpc-id"}, dependencies=[covered])
        [finding] = findings_for(policy, [covered, bare, companion])
        assert finding.policy == policy.name
        assert finding.urn == bare.urn
        assert expected in finding.message and "bare-vpc" in finding.message

    def test_companion_without_dependency_does_not_count(
        self,
        policy: Any,
        dependent: str,
        expected: str,  # noqa: ARG002 - a class parameter
    ) -> None:
        vpc = resource(VPC, {}, name="main-vpc")
        companion = resource(dependent, {"vpcId": "vpc-id"})
        assert len(violations(findings_for(policy, [vpc, companion]))) == 1

    def test_other_resources_depending_on_the_vpc_do_not_count(
        self,
        policy: Any,
        dependent: str,  # noqa: ARG002 - a class parameter
        expected: str,  # noqa: ARG002 - a class parameter
    ) -> None:
        vpc = resource(VPC, {}, name="main-vpc")
        subnet = resource("aws:ec2/subnet:Subnet", {"vpcId": "vpc-id"}, dependencies=[vpc])
        [finding] = findings_for(policy, [vpc, subnet])
        assert finding.urn == vpc.urn

    def test_stack_without_vpc_is_compliant(
        self,
        policy: Any,
        dependent: str,  # noqa: ARG002 - a class parameter
        expected: str,  # noqa: ARG002 - a class parameter
    ) -> None:
        assert findings_for(policy, [resource(SG, {})]) == []


def test_numeric_protocol_and_unparsable_cidr() -> None:
    ssh = security_group(ingress(22, 22, 6, cidrBlocks=["not-a-cidr", "0.0.0.0/0"]))
    [finding] = findings_for(no_public_admin_ingress, [ssh])
    assert "6 port 22" in finding.message and "not-a-cidr" not in finding.message


def test_ingress_entry_of_the_wrong_type_is_a_violation() -> None:
    found = findings_for(no_public_admin_ingress, [resource(SG, {"ingress": ["22"]})])
    assert [f.kind for f in found] == ["violation"]
    assert "ingress[0] must be an object" in found[0].message
