"""GitHub Actions runners inside the VPC: an AWS CodeBuild project in runner mode.

Every stack's EKS API endpoint is private, so the jobs that run ``pulumi`` against a stack
(deploy, pull-request preview, drift, the recovery drill) must run where that endpoint is
reachable. CodeBuild's GitHub Actions runner mode gives that without a runner fleet: the
project's webhook reacts to ``WORKFLOW_JOB_QUEUED`` events, and a job whose ``runs-on`` is
``codebuild-<project>-${{ github.run_id }}-${{ github.run_attempt }}`` gets a fresh build that
registers an ephemeral runner for that one job, in the stack's private subnets, and ends with it.

What the runner gets, and what it does not:

- network: the private subnets (out through NAT), a security group of its own whose egress is
  HTTPS (GitHub, Pulumi Cloud, package registries, the AWS APIs and the cluster's private API
  endpoint), Vault's port, and whatever the caller adds (the drill's database port); an ingress
  rule on the cluster's security group admits it to the API endpoint on 443;
- GitHub: the project source authenticates through a CodeConnections (GitHub App) connection
  named in the stack config, not an account-wide ``SourceCredential`` token; the connection is
  created and authorised once by an admin in the console (docs/ci-runners.md);
- AWS: the service role may write its own log group, create and delete the network interfaces
  of builds in the named subnets, use its key and its connection, and nothing else. The deploy
  credentials of a job come from GitHub OIDC (the workflows' configure-aws-credentials steps),
  never from the runner's role.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext
from components.aws.iam import document, service_trust
from components.aws.logs import keyed_log_group

RUNNER_IMAGE = "aws/codebuild/standard:7.0"
"""A CodeBuild-managed Ubuntu 22.04 image: the tools the workflows install (setup-python's
builds, uv, the Pulumi CLI) are published for Ubuntu, as on GitHub's hosted runners."""

WORKFLOW_JOB_QUEUED = "WORKFLOW_JOB_QUEUED"
"""The webhook event that puts a CodeBuild project in GitHub Actions runner mode."""

ORGANIZATION_SOURCE = "CODEBUILD_DEFAULT_WEBHOOK_SOURCE_LOCATION"
"""The source location CodeBuild requires of a project with an organization (or global)
webhook: the repository of each build is the one whose event started it."""

HTTPS = 443
_CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
    r"connection/[A-Za-z0-9-]+$"
)


def project_name(prefix: str) -> str:
    """The CodeBuild project of a stack (``ttbt2-dev`` -> ``ttbt2-dev-ci-runner``).

    Fixed rather than auto-named: the workflows spell it in their ``runs-on`` labels.
    """
    return f"{prefix}-ci-runner"


def runner_label(project: str) -> str:
    """The ``runs-on`` label CodeBuild answers for ``project`` (its documented format)."""
    return f"codebuild-{project}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"


def repository_filter(repository: str, others: tuple[str, ...]) -> str:
    """The ``REPOSITORY_NAME`` pattern admitting ``repository``'s name and ``others``, exactly.

    ``repository`` is the platform repository's URL; ``others`` are plain names of repositories
    of the same organization. Anchored on both ends: ``ttbt2-api`` never admits ``ttbt2-api2``.
    """
    names = [urlsplit(repository).path.rstrip("/").rsplit("/", 1)[-1], *others]
    unique = sorted(dict.fromkeys(names))
    # Names hold letters, digits, "_", "-" and "."; only the dot is special in a pattern.
    return "^(" + "|".join(name.replace(".", r"\.") for name in unique) + ")$"


def connection_service(connection_arn: str) -> str:
    """The IAM service prefix of a connection ARN: ``codeconnections`` or ``codestar-connections``.

    Raises ValueError for anything that is not a connection ARN.
    """
    match = _CONNECTION_ARN.match(connection_arn)
    if match is None:
        raise ValueError(f"not a CodeConnections connection ARN: {connection_arn!r}")
    return match.group("service")


@dataclass(frozen=True)
class EgressRule:
    """One TCP port the runner may reach beyond HTTPS, and where."""

    port: int
    cidr: str
    description: str


def url_egress(address: str, description: str) -> list[EgressRule]:
    """The rule a runner needs to reach ``address`` (a URL), none when HTTPS (443) covers it."""
    port = urlsplit(address).port or HTTPS
    if port == HTTPS:
        return []
    return [EgressRule(port, "0.0.0.0/0", description)]


@dataclass(frozen=True)
class CiRunnerArgs:
    """Arguments of :class:`CiRunner`.

    ``repository`` is the repository's HTTPS URL (``https://github.com/<owner>/<repo>``);
    ``connection_arn`` the CodeConnections connection to GitHub. ``subnet_ids`` are the private
    subnets builds run in, ``subnet_count`` how many there are (the role's network-interface
    conditions name each one). ``cluster_security_group_id``, when given, gets an ingress rule
    from the runner on 443 so the private API endpoint answers it.

    ``organization``, when set, makes the webhook an organization webhook that admits the jobs
    of ``repository`` and of the organization's ``repositories`` (plain names) only, so the
    application pipelines' deploy and staging-test jobs can run here. ``docker`` turns on
    privileged mode for a runner whose jobs run containers.
    """

    project_name: str
    repository: str
    connection_arn: str
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    context: AwsContext
    tags: dict[str, str]
    log_retention_days: int
    compute_type: str = "BUILD_GENERAL1_MEDIUM"
    build_timeout_minutes: int = 120
    cluster_security_group_id: pulumi.Input[str] | None = None
    extra_egress: list[EgressRule] = field(default_factory=list)
    organization: str = ""
    repositories: tuple[str, ...] = ()
    docker: bool = False
    protect: bool = False

    def __post_init__(self) -> None:
        if self.repositories and not self.organization:
            raise ValueError("repositories of an organization need the organization")


class CiRunner(pulumi.ComponentResource):
    """A CodeBuild project in GitHub Actions runner mode, in the stack's private subnets.

    Children: ``<name>-key`` (logs and build encryption), ``<name>-logs``, ``<name>-sg`` and its
    egress rules, ``<name>-role`` with ``<name>-policy``, ``<name>-project``, ``<name>-webhook``
    and, with a cluster, ``<name>-to-cluster-api``. The AWS provider comes from ``opts``.
    """

    project: aws.codebuild.Project
    webhook: aws.codebuild.Webhook
    security_group: aws.ec2.SecurityGroup
    role: aws.iam.Role
    label: str
    """The ``runs-on`` label of this runner (see :func:`runner_label`)."""

    def __init__(
        self, name: str, args: CiRunnerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:CiRunner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        connection_service(args.connection_arn)  # refuse a malformed ARN before registering
        log_group_name = f"/aws/codebuild/{args.project_name}"

        logs = keyed_log_group(
            f"{name}-key",
            f"{name}-logs",
            log_group_name,
            description=f"Build logs and caches of the CI runner {args.project_name}",
            context=args.context,
            retention_days=args.log_retention_days,
            tags=args.tags,
            protect=args.protect,
            opts=child,
        )
        key, log_group = logs.key, logs.group
        self.security_group = self._security_group(name, args)
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust("codebuild.amazonaws.com"),
            description=f"Service role of the CI runner {args.project_name}: no deploy rights",
            tags={**args.tags, "Name": f"{name}-role"},
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=pulumi.Output.all(
                log_group.arn,
                key.arn,
                args.subnet_ids,
                self.security_group.id,
                args.context.partition,
                args.context.account_id,
            ).apply(
                lambda v: json.dumps(
                    runner_policy(
                        log_group_arn=v[0],
                        key_arn=v[1],
                        subnet_ids=list(v[2]),
                        security_group_id=v[3],
                        connection_arn=args.connection_arn,
                        partition=v[4],
                        account=v[5],
                        region=args.context.region,
                    )
                )
            ),
            opts=child,
        )
        self.project = aws.codebuild.Project(
            f"{name}-project",
            name=args.project_name,
            description="GitHub Actions runner (ephemeral, one build per job) in the private "
            "subnets: runs the jobs that reach the stack's private endpoints",
            service_role=self.role.arn,
            encryption_key=key.arn,
            build_timeout=args.build_timeout_minutes,
            # A job waits for its runner at most this long before GitHub's own timeout applies.
            queued_timeout=60,
            source=aws.codebuild.ProjectSourceArgs(
                type="GITHUB",
                location=ORGANIZATION_SOURCE if args.organization else args.repository,
                auth=aws.codebuild.ProjectSourceAuthArgs(
                    type="CODECONNECTIONS", resource=args.connection_arn
                ),
                git_clone_depth=1,
                # The workflow's own checkout step fetches what a job needs.
                report_build_status=False,
            ),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type="LINUX_CONTAINER",
                compute_type=args.compute_type,
                image=RUNNER_IMAGE,
                image_pull_credentials_type="CODEBUILD",
                # A Docker daemon only where container jobs run (staging's Selenium browser;
                # the ZAP scan runs on a hosted runner): on the managed image, Docker needs
                # privileged mode, which lets a build's containers act as root on its own
                # ephemeral build host. That host is one build's only (one job, then
                # discarded), and the runner's role has no deploy rights, so what a container
                # could reach is the job's network position, which it has anyway. No runner
                # builds images (app-pipeline.yml's build job runs on GitHub's hosted runners).
                privileged_mode=args.docker,
            ),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=args.vpc_id,
                subnets=args.subnet_ids,
                security_group_ids=[self.security_group.id],
            ),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(
                    status="ENABLED", group_name=log_group.name
                ),
                s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED"),
            ),
            tags={**args.tags, "Name": args.project_name},
            # CodeBuild checks the role's rights when the project is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        filters = [
            aws.codebuild.WebhookFilterGroupFilterArgs(type="EVENT", pattern=WORKFLOW_JOB_QUEUED)
        ]
        scope = None
        if args.organization:
            # One group: the event AND the repository name. Any other repository of the
            # organization asking for this label gets no build, and its job stays queued.
            filters.append(
                aws.codebuild.WebhookFilterGroupFilterArgs(
                    type="REPOSITORY_NAME",
                    pattern=repository_filter(args.repository, args.repositories),
                )
            )
            scope = aws.codebuild.WebhookScopeConfigurationArgs(
                name=args.organization, scope="GITHUB_ORGANIZATION"
            )
        self.webhook = aws.codebuild.Webhook(
            f"{name}-webhook",
            project_name=self.project.name,
            build_type="BUILD",
            filter_groups=[aws.codebuild.WebhookFilterGroupArgs(filters=filters)],
            scope_configuration=scope,
            opts=child,
        )
        self.label = runner_label(args.project_name)
        self.register_outputs(
            {
                "projectName": self.project.name,
                "securityGroupId": self.security_group.id,
                "roleArn": self.role.arn,
                "label": self.label,
            }
        )

    def _security_group(self, name: str, args: CiRunnerArgs) -> aws.ec2.SecurityGroup:
        """The runner's group: no ingress, egress on the ports the jobs need only."""
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"CI runner {args.project_name}: outbound only",
            tags={**args.tags, "Name": f"{name}-sg"},
            opts=child,
        )
        rules = [
            EgressRule(
                HTTPS,
                "0.0.0.0/0",
                "HTTPS: GitHub, Pulumi Cloud, registries, AWS APIs, the cluster API",
            ),
            *args.extra_egress,
        ]
        for rule in rules:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-egress-{rule.port}",
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=rule.port,
                to_port=rule.port,
                cidr_ipv4=rule.cidr,
                description=rule.description,
                tags={**args.tags, "Name": f"{name}-egress-{rule.port}"},
                opts=child,
            )
        if args.cluster_security_group_id is not None:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-to-cluster-api",
                security_group_id=args.cluster_security_group_id,
                referenced_security_group_id=group.id,
                ip_protocol="tcp",
                from_port=HTTPS,
                to_port=HTTPS,
                description=f"Kubernetes API from the CI runner {args.project_name}",
                tags={**args.tags, "Name": f"{name}-to-cluster-api"},
                opts=child,
            )
        return group


def runner_policy(
    *,
    log_group_arn: str,
    key_arn: str,
    subnet_ids: list[str],
    security_group_id: str,
    connection_arn: str,
    partition: str,
    account: str,
    region: str,
) -> dict[str, Any]:
    """The runner's service-role policy: logs, build network interfaces, key, connection.

    The network-interface statements follow AWS's documented policy for builds in a VPC, with
    the creation limited to the named subnets and security group, and the
    ``CreateNetworkInterfacePermission`` grant limited to those subnets and to CodeBuild.
    """
    ec2 = f"arn:{partition}:ec2:{region}:{account}"
    subnets = [f"{ec2}:subnet/{subnet}" for subnet in subnet_ids]
    interfaces = f"{ec2}:network-interface/*"
    in_subnets = {"ArnEquals": {"ec2:Subnet": subnets}}
    service = connection_service(connection_arn)
    return document(
        {
            "Sid": "WriteOwnBuildLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
        {
            # Describe calls accept no resource ARN: Resource "*" is all IAM offers for them.
            "Sid": "DescribeNetwork",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcs",
            ],
            "Resource": "*",
        },
        {
            "Sid": "BuildInterfacesInRunnerSubnets",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface"],
            "Resource": [interfaces, *subnets, f"{ec2}:security-group/{security_group_id}"],
        },
        {
            "Sid": "DeleteBuildInterfacesInRunnerSubnets",
            "Effect": "Allow",
            "Action": ["ec2:DeleteNetworkInterface"],
            "Resource": [interfaces],
            "Condition": in_subnets,
        },
        {
            "Sid": "AttachBuildInterfacesForCodeBuild",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterfacePermission"],
            "Resource": [interfaces],
            "Condition": {
                **in_subnets,
                "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
            },
        },
        {
            "Sid": "UseOwnKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key_arn],
        },
        {
            "Sid": "UseGitHubConnection",
            "Effect": "Allow",
            "Action": [f"{service}:GetConnectionToken", f"{service}:GetConnection"],
            "Resource": [connection_arn],
        },
    )
