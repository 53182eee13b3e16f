"""Components, checked on the inputs they register (what the cloud API will receive)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.aws.access import access_plan
from components.aws.eks import CONTROL_PLANE_LOG_TYPES
from components.aws.subnets import plan_subnets
from tests.conftest import of_type, one
from tests.support.stacks import StackRenders


def _doc(value: object) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else value  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("cidr", "zones"), [("10.10.0.0/16", 3), ("10.1.0.0/22", 2), ("172.16.0.0/20", 1)]
)
def test_subnet_plan_is_disjoint_and_inside_the_vpc(cidr: str, zones: int) -> None:
    plan = plan_subnets(cidr, zones)
    vpc = ipaddress.ip_network(cidr)
    nets = [
        ipaddress.ip_network(c)
        for tier in ("public", "private", "isolated")
        for c in plan.tier(tier)
    ]
    assert len(nets) == 3 * zones
    for i, a in enumerate(nets):
        assert a.subnet_of(vpc)  # type: ignore[arg-type]
        for b in nets[i + 1 :]:
            assert not a.overlaps(b)
    # Pods take their IPs from the private subnets, so those are the largest.
    assert (
        ipaddress.ip_network(plan.private[0]).num_addresses
        > ipaddress.ip_network(plan.public[0]).num_addresses
    )


def test_subnet_plan_refuses_four_zones() -> None:
    with pytest.raises(ValueError, match="1 to 3"):
        plan_subnets("10.0.0.0/16", 4)


def test_cluster_is_encrypted_logged_and_private(stacks: StackRenders) -> None:
    cluster = one(stacks.graph("prod"), "aws:eks/cluster:Cluster")
    props = cluster.props
    assert props["encryptionConfig"]["resources"] == ["secrets"]
    assert props["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:")
    assert props["enabledClusterLogTypes"] == CONTROL_PLANE_LOG_TYPES
    assert props["vpcConfig"]["endpointPrivateAccess"] is True
    assert props["vpcConfig"]["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in props["vpcConfig"]
    assert props["accessConfig"]["authenticationMode"] == "API"


def test_public_endpoint_only_for_listed_cidrs(stack_file: Callable[..., Path]) -> None:
    from offline.engine import run_stack
    from offline.stackfile import load_stack
    from tests.conftest import ROOT

    path = stack_file(
        "public", clusterEndpointPublic=True, clusterPublicAccessCidrs=["203.0.113.0/24"]
    )
    graph = run_stack(ROOT, load_stack(ROOT, "public", path), preview=False)
    vpc = one(graph, "aws:eks/cluster:Cluster").props["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_control_plane_log_group_exists_before_the_cluster_and_is_encrypted(
    stacks: StackRenders,
) -> None:
    graph = stacks.graph("prod")
    cluster = one(graph, "aws:eks/cluster:Cluster")
    group = one(graph, "aws:cloudwatch/logGroup:LogGroup", "control-plane")
    assert group.props["name"] == "/aws/eks/ttbt2-prod/cluster"
    assert group.urn in cluster.dependencies
    assert group.props["kmsKeyId"].startswith("arn:aws:kms:")
    assert group.props["retentionInDays"] == 365


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_launch_templates_enforce_imdsv2_and_encrypted_volumes(
    stack: str, stacks: StackRenders
) -> None:
    templates = of_type(stacks.graph(stack), "aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 2
    for lt in templates:
        meta = lt.props["metadataOptions"]
        assert meta["httpTokens"] == "required"
        assert meta["httpPutResponseHopLimit"] == 1
        ebs = lt.props["blockDeviceMappings"][0]["ebs"]
        assert ebs["encrypted"] == "true" and ebs["kmsKeyId"].startswith("arn:aws:kms:")


def test_node_groups_use_their_launch_template_and_let_the_autoscaler_size(
    stacks: StackRenders,
) -> None:
    graph = stacks.graph("dev")
    for group in of_type(graph, "aws:eks/nodeGroup:NodeGroup"):
        assert group.props["launchTemplate"]["version"] == "1"
        assert "scalingConfig.desiredSize" in group.option("ignoreChanges")
        sc = group.props["scalingConfig"]
        assert sc["minSize"] <= sc["desiredSize"] <= sc["maxSize"]
    system = one(graph, "aws:eks/nodeGroup:NodeGroup", "system")
    assert system.props["taints"][0]["key"] == "CriticalAddonsOnly"


def test_irsa_roles_are_pinned_to_one_service_account(stacks: StackRenders) -> None:
    graph = stacks.graph("dev")
    role = one(graph, "aws:iam/role:Role", "vpc-cni-irsa")
    statement = _doc(role.props["assumeRolePolicy"])["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = statement["Condition"]["StringEquals"]
    subs = {k: v for k, v in condition.items() if k.endswith(":sub")}
    auds = {k: v for k, v in condition.items() if k.endswith(":aud")}
    assert list(subs.values()) == ["system:serviceaccount:kube-system:aws-node"]
    assert list(auds.values()) == ["sts.amazonaws.com"]
    provider = one(graph, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert statement["Principal"]["Federated"].endswith(
        provider.props["url"].removeprefix("https://")
    )


def test_node_role_has_no_cni_policy(stacks: StackRenders) -> None:
    attachments = of_type(stacks.graph("dev"), "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    node = [a.props["policyArn"] for a in attachments if a.name.startswith("ttbt2-dev-node-")]
    assert sorted(p.rsplit("/", 1)[1] for p in node) == [
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKSWorkerNodePolicy",
    ]


def test_kms_keys_rotate_and_name_no_wildcard_principal(stacks: StackRenders) -> None:
    for key in of_type(stacks.graph("prod"), "aws:kms/key:Key"):
        assert key.props["enableKeyRotation"] is True
        assert key.props["deletionWindowInDays"] == 30
        for statement in _doc(key.props["policy"])["Statement"]:
            assert statement["Principal"] != "*"
            assert "*" not in json.dumps(statement["Principal"])


def test_log_keys_grant_cloudwatch_only_their_log_group(stacks: StackRenders) -> None:
    key = one(stacks.graph("dev"), "aws:kms/key:Key", "flow-logs")
    statements = _doc(key.props["policy"])["Statement"]
    logs = next(s for s in statements if s.get("Sid") == "CloudWatchLogsEncryptsOwnLogGroups")
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    arns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert arns == [
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vpc/ttbt2-dev-network/flow-logs"
    ]


def test_default_security_group_is_closed_and_flow_logs_cover_the_vpc(stacks: StackRenders) -> None:
    graph = stacks.graph("dev")
    vpc = one(graph, "aws:ec2/vpc:Vpc")
    default_sg = one(graph, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg.props["ingress"] == [] and default_sg.props["egress"] == []
    flow = one(graph, "aws:ec2/flowLog:FlowLog")
    assert flow.props["trafficType"] == "ALL"
    assert vpc.urn in flow.dependencies
    policy = _doc(one(graph, "aws:iam/rolePolicy:RolePolicy", "flow-logs").props["policy"])
    assert all(r.startswith("arn:aws:logs:") for r in policy["Statement"][0]["Resource"])


def test_public_subnets_hand_out_no_public_ips_and_isolated_have_no_egress(
    stacks: StackRenders,
) -> None:
    graph = stacks.graph("prod")
    for subnet in of_type(graph, "aws:ec2/subnet:Subnet"):
        if subnet.props["tags"]["tier"] == "public":
            assert subnet.props["mapPublicIpOnLaunch"] is False
    # The primary network's and the DR pilot light's isolated tiers alike.
    isolated = [r for r in of_type(graph, "aws:ec2/routeTable:RouteTable") if "isolated" in r.name]
    assert len(isolated) == 2
    assert all(not r.props.get("routes") for r in isolated)


def test_access_plan_by_environment() -> None:
    assert set(access_plan("prod", ["ttbt2", "api"])) == {"sre"}
    dev = access_plan("dev", ["apps", "api", "apps"])
    assert dev["developers"][0].scope == {"type": "namespace", "namespaces": ["apps", "api"]}
    staging = access_plan("staging", ["apps", "api"])
    for group in ("qa", "stakeholders"):
        assert staging[group][0].scope == {"type": "namespace", "namespaces": ["apps", "api"]}
    with pytest.raises(ValueError, match="app_namespaces"):
        access_plan("dev", [])
    assert dev["sre"][0].scope == {"type": "cluster"}
    assert dev["sre"][0].policy_arn.endswith("/AmazonEKSClusterAdminPolicy")
