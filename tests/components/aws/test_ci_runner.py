"""The CI runner inside the VPC: a CodeBuild project in GitHub Actions runner mode."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.ci_runner import (
    CiRunner,
    CiRunnerArgs,
    EgressRule,
    connection_service,
    project_name,
    repository_filter,
    runner_label,
    url_egress,
)
from components.aws.context import lookup
from config import SettingsError, parse_raw
from offline.engine import run_program
from offline.evaluate import evaluate
from offline.graph import Resource, StackGraph
from policies.ttbt2_policies import iam as iam_policies
from policies.ttbt2_policies import network as network_policies
from tests.conftest import STACKS, of_type, one, raw_settings

SUBNETS = ["subnet-a", "subnet-b"]
CONNECTION = "arn:aws:codeconnections:eu-west-1:123456789012:connection/abc-123"
REPOSITORY = "https://github.com/ttbt2/ttbt2-platform"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

ALLOWED_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcs",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "codeconnections:GetConnectionToken",
    "codeconnections:GetConnection",
}
"""Everything the runner's role may do: its logs, its builds' interfaces, its key and its
connection. No action that changes the platform (a deploy comes through OIDC, not this role)."""


def _render(
    *,
    cluster: bool = True,
    extra: list[EgressRule] | None = None,
    organization: str = "",
    repositories: tuple[str, ...] = (),
    docker: bool = False,
) -> StackGraph:
    def program() -> None:
        provider = aws.Provider("aws", region="eu-west-1")
        CiRunner(
            "r",
            CiRunnerArgs(
                project_name="ttbt2-unit-ci-runner",
                repository=REPOSITORY,
                connection_arn=CONNECTION,
                vpc_id="vpc-1",
                subnet_ids=SUBNETS,
                context=lookup(provider, "eu-west-1"),
                tags={"env": "unit"},
                log_retention_days=30,
                cluster_security_group_id="sg-cluster" if cluster else None,
                extra_egress=extra or [],
                organization=organization,
                repositories=repositories,
                docker=docker,
            ),
            opts=pulumi.ResourceOptions(providers={"aws": provider}),
        )

    return run_program(program, project="t", stack="unit", preview=False)


@pytest.fixture(scope="module")
def graph() -> StackGraph:
    return _render(extra=[EgressRule(8200, "0.0.0.0/0", "Vault")])


def _policy(graph: StackGraph) -> dict[str, Any]:
    value = one(graph, "aws:iam/rolePolicy:RolePolicy").props["policy"]
    policy: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return policy


def _statement(graph: StackGraph, sid: str) -> dict[str, Any]:
    (stmt,) = [s for s in _policy(graph)["Statement"] if s["Sid"] == sid]
    return stmt


def _group(graph: StackGraph) -> Resource:
    return one(graph, "aws:ec2/securityGroup:SecurityGroup")


def test_project_runs_in_the_private_subnets_with_its_own_group(graph: StackGraph) -> None:
    project = one(graph, "aws:codebuild/project:Project")
    vpc = project.props["vpcConfig"]
    assert vpc["subnets"] == SUBNETS and vpc["vpcId"] == "vpc-1"
    assert len(vpc["securityGroupIds"]) == 1
    assert _group(graph).urn in project.property_dependencies["vpcConfig"]
    assert project.props["name"] == "ttbt2-unit-ci-runner"
    env = project.props["environment"]
    assert env["image"].startswith("aws/codebuild/") and env["imagePullCredentialsType"] == (
        "CODEBUILD"
    )
    assert env["privilegedMode"] is False


def test_source_is_the_repository_through_the_named_connection(graph: StackGraph) -> None:
    source = one(graph, "aws:codebuild/project:Project").props["source"]
    assert source["type"] == "GITHUB" and source["location"] == REPOSITORY
    assert source["auth"] == {"type": "CODECONNECTIONS", "resource": CONNECTION}
    assert not of_type(graph, "aws:codebuild/sourceCredential:SourceCredential")


def test_webhook_puts_the_project_in_runner_mode(graph: StackGraph) -> None:
    webhook = one(graph, "aws:codebuild/webhook:Webhook")
    assert webhook.props["filterGroups"] == [
        {"filters": [{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]}
    ]
    project = one(graph, "aws:codebuild/project:Project")
    assert project.urn in webhook.property_dependencies["projectName"]


def test_without_an_organization_the_webhook_is_the_repositorys(graph: StackGraph) -> None:
    assert "scopeConfiguration" not in one(graph, "aws:codebuild/webhook:Webhook").props


def test_an_organization_webhook_admits_the_named_repositories_only() -> None:
    graph = _render(organization="ttbt2", repositories=("ttbt2-api", "ttbt2-web"))
    webhook = one(graph, "aws:codebuild/webhook:Webhook")
    assert webhook.props["scopeConfiguration"] == {
        "name": "ttbt2",
        "scope": "GITHUB_ORGANIZATION",
    }
    # Event and repository in one group: both must match (groups are OR-ed, filters AND-ed).
    assert webhook.props["filterGroups"] == [
        {
            "filters": [
                {"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"},
                {
                    "type": "REPOSITORY_NAME",
                    "pattern": "^(ttbt2-api|ttbt2-platform|ttbt2-web)$",
                },
            ]
        }
    ]
    source = one(graph, "aws:codebuild/project:Project").props["source"]
    assert source["location"] == "CODEBUILD_DEFAULT_WEBHOOK_SOURCE_LOCATION"
    assert evaluate(graph, [*iam_policies.POLICIES, *network_policies.POLICIES]) == []


@pytest.mark.parametrize(
    ("name", "admitted"),
    [
        ("ttbt2-platform", True),
        ("ttbt2-api", True),
        ("ttbt2-api2", False),
        ("xttbt2-api", False),
        ("ttbt2.api", False),
        ("other", False),
    ],
)
def test_the_repository_filter_matches_whole_names(name: str, admitted: bool) -> None:
    pattern = repository_filter(REPOSITORY, ("ttbt2-api",))
    assert (re.fullmatch(pattern, name) is not None) is admitted
    assert (re.search(pattern, name) is not None) is admitted


def test_docker_is_privileged_mode_and_off_by_default(graph: StackGraph) -> None:
    env = one(_render(docker=True), "aws:codebuild/project:Project").props["environment"]
    assert env["privilegedMode"] is True
    default = one(graph, "aws:codebuild/project:Project").props["environment"]
    assert default["privilegedMode"] is False


def test_repositories_without_an_organization_are_refused() -> None:
    with pytest.raises(ValueError, match="organization"):
        CiRunnerArgs(
            project_name="p",
            repository=REPOSITORY,
            connection_arn=CONNECTION,
            vpc_id="vpc-1",
            subnet_ids=SUBNETS,
            context=None,  # type: ignore[arg-type]
            tags={},
            log_retention_days=30,
            repositories=("ttbt2-api",),
        )


def test_logs_are_encrypted_with_retention(graph: StackGraph) -> None:
    group = one(graph, "aws:cloudwatch/logGroup:LogGroup")
    assert group.props["retentionInDays"] == 30
    assert group.props["name"] == "/aws/codebuild/ttbt2-unit-ci-runner"
    key = one(graph, "aws:kms/key:Key")
    assert key.urn in group.property_dependencies["kmsKeyId"]
    key_policy = json.loads(key.props["policy"])
    grants = [
        s for s in key_policy["Statement"] if s.get("Sid") == "CloudWatchLogsEncryptsOwnLogGroups"
    ]
    assert grants, "the key must let CloudWatch Logs encrypt the runner's log group"
    project = one(graph, "aws:codebuild/project:Project")
    logs = project.props["logsConfig"]["cloudwatchLogs"]
    assert logs["status"] == "ENABLED" and logs["groupName"] == group.props["name"]
    assert key.urn in project.property_dependencies["encryptionKey"]


def test_group_has_no_ingress_and_egress_on_named_ports_only(graph: StackGraph) -> None:
    group = _group(graph)
    assert not group.props.get("ingress") and not group.props.get("egress")
    rules = of_type(graph, EGRESS)
    assert {(r.props["fromPort"], r.props["toPort"]) for r in rules} == {(443, 443), (8200, 8200)}
    assert all(r.props["ipProtocol"] == "tcp" for r in rules)
    assert all(group.urn in r.property_dependencies["securityGroupId"] for r in rules)
    own_ingress = [r for r in of_type(graph, INGRESS) if r.props["securityGroupId"] != "sg-cluster"]
    assert own_ingress == []


def test_cluster_api_admits_the_runner_on_https(graph: StackGraph) -> None:
    (rule,) = of_type(graph, INGRESS)
    assert rule.props["securityGroupId"] == "sg-cluster"
    assert _group(graph).urn in rule.property_dependencies["referencedSecurityGroupId"]
    assert rule.props["fromPort"] == rule.props["toPort"] == 443
    assert not of_type(_render(cluster=False), INGRESS)


def test_role_has_no_wildcard_and_no_deploy_rights(graph: StackGraph) -> None:
    statements = _policy(graph)["Statement"]
    actions = {a for s in statements for a in s["Action"]}
    assert actions <= ALLOWED_ACTIONS, sorted(actions - ALLOWED_ACTIONS)
    assert all("*" not in a for a in actions)
    for stmt in statements:
        if stmt["Resource"] == "*":
            assert stmt["Sid"] == "DescribeNetwork"
            assert all(a.startswith("ec2:Describe") for a in stmt["Action"])
    # Nothing else reaches the role: no managed policy, no other inline policy.
    assert not of_type(graph, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    role = one(graph, "aws:iam/role:Role")
    trust = json.loads(role.props["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "codebuild.amazonaws.com"}


def test_interfaces_only_in_the_runner_subnets_and_for_codebuild(graph: StackGraph) -> None:
    subnet_arns = {f"arn:aws:ec2:eu-west-1:123456789012:subnet/{s}" for s in SUBNETS}
    create = _statement(graph, "BuildInterfacesInRunnerSubnets")
    assert subnet_arns <= set(create["Resource"])
    permission = _statement(graph, "AttachBuildInterfacesForCodeBuild")
    assert set(permission["Condition"]["ArnEquals"]["ec2:Subnet"]) == subnet_arns
    assert permission["Condition"]["StringEquals"] == {
        "ec2:AuthorizedService": "codebuild.amazonaws.com"
    }
    delete = _statement(graph, "DeleteBuildInterfacesInRunnerSubnets")
    assert set(delete["Condition"]["ArnEquals"]["ec2:Subnet"]) == subnet_arns
    connection = _statement(graph, "UseGitHubConnection")
    assert connection["Resource"] == [CONNECTION]
    log_group = _statement(graph, "WriteOwnBuildLogs")
    assert all(":log-group:/aws/codebuild/ttbt2-unit-ci-runner" in r for r in log_group["Resource"])


def test_policy_pack_finds_nothing(graph: StackGraph) -> None:
    findings = evaluate(graph, [*iam_policies.POLICIES, *network_policies.POLICIES])
    assert [f for f in findings if f.kind == "violation"] == []


def test_label_is_codebuilds_documented_format() -> None:
    project = project_name("ttbt2-dev")
    assert project == "ttbt2-dev-ci-runner"
    assert runner_label(project) == (
        "codebuild-ttbt2-dev-ci-runner-${{ github.run_id }}-${{ github.run_attempt }}"
    )


def test_connection_arns() -> None:
    assert connection_service(CONNECTION) == "codeconnections"
    older = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/abc"
    assert connection_service(older) == "codestar-connections"
    with pytest.raises(ValueError, match="not a CodeConnections connection ARN"):
        connection_service("arn:aws:iam::123456789012:role/x")


def test_a_urls_port_is_opened_only_beyond_https() -> None:
    assert [r.port for r in url_egress("https://vault.example:8200", "Vault")] == [8200]
    assert url_egress("https://vault.example", "Vault") == []
    assert url_egress("https://vault.example:443/", "Vault") == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_enables_its_runner(stack: str) -> None:
    ci = parse_raw(stack, raw_settings(stack)).ci_runner
    assert ci.enabled and ci.repository == REPOSITORY
    assert connection_service(ci.connection_arn) == "codeconnections"


def test_an_enabled_runner_names_repository_connection_and_compute_type() -> None:
    raw = {
        **raw_settings("dev"),
        "ciRunnerRepository": "git@github.com:ttbt2/x.git",
        "ciRunnerConnectionArn": "",
        "ciRunnerComputeType": "HUGE",
    }
    with pytest.raises(SettingsError) as info:
        parse_raw("dev", raw)
    keys = {p.key for p in info.value.problems}
    assert {"ciRunnerRepository", "ciRunnerConnectionArn", "ciRunnerComputeType"} <= keys


def test_a_disabled_runner_needs_nothing() -> None:
    raw = {**raw_settings("dev"), "ciRunnerEnabled": False, "ciRunnerConnectionArn": ""}
    assert parse_raw("dev", raw).ci_runner.enabled is False


@pytest.mark.parametrize(("stack", "docker"), [("staging", True), ("prod", False)])
def test_staging_and_prod_take_the_application_pipelines_jobs(stack: str, docker: bool) -> None:
    """The app pipeline's jobs that reach these environments run here (app-pipeline.yml)."""
    ci = parse_raw(stack, raw_settings(stack)).ci_runner
    assert ci.organization == "ttbt2" and ci.repositories
    assert ci.docker is docker


def test_dev_keeps_a_repository_webhook_without_docker() -> None:
    ci = parse_raw("dev", raw_settings("dev")).ci_runner
    assert (ci.organization, ci.repositories, ci.docker) == ("", [], False)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"ciRunnerOrganization": "someone-else"}, "ciRunnerOrganization"),
        ({"ciRunnerOrganization": "tt bt2"}, "ciRunnerOrganization"),
        ({"ciRunnerOrganization": "", "ciRunnerRepositories": ["a"]}, "ciRunnerOrganization"),
        (
            {"ciRunnerOrganization": "ttbt2", "ciRunnerRepositories": ["ttbt2/api"]},
            "ciRunnerRepositories[0]",
        ),
    ],
)
def test_organization_settings_are_checked(changes: dict[str, Any], key: str) -> None:
    raw = {**raw_settings("dev"), **changes}
    with pytest.raises(SettingsError) as info:
        parse_raw("dev", raw)
    assert key in {p.key for p in info.value.problems}


def test_the_organization_may_differ_in_case_from_the_repository_owner() -> None:
    raw = {**raw_settings("dev"), "ciRunnerOrganization": "TTBT2", "ciRunnerRepositories": ["x"]}
    assert parse_raw("dev", raw).ci_runner.organization == "TTBT2"
