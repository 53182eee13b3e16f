"""The AWS side of Karpenter: its controller role, interruption queue and discovery tag.

Seed 4.8.1. The controller policy is the one the Karpenter project documents for v1 (its
getting-started CloudFormation template: node lifecycle, IAM integration, EKS integration,
interruption and resource discovery statements), with every launch, tag and delete scoped to
resources tagged for this cluster and every read scoped to the stack's region. The only
addition is use of the node-volume KMS key through EC2, so Karpenter can launch nodes whose
root volumes are encrypted with the cluster's own key.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext
from components.aws.iam import irsa_trust

NAMESPACE = "karpenter"
SERVICE_ACCOUNT = "karpenter"
"""The chart's service account (the release name), which the IRSA role trusts."""
DISCOVERY_TAG = "karpenter.sh/discovery"
"""Tag on the node subnets and the cluster security group that EC2NodeClass selectors match."""
QUEUE_RETENTION_SECONDS = 300
"""Interruption events older than 5 minutes are useless: a spot notice gives 2 minutes."""

INTERRUPTION_EVENTS: dict[str, tuple[str, str]] = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
}
"""EventBridge rule suffix -> (event source, detail type) Karpenter reacts to."""

POLICY_PARTS = ("node-lifecycle", "integration")
"""Names of the controller's managed policies (see :func:`controller_policies`)."""

_EC2_SERVICES = ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,79}$")  # EKS's own rule for names


def _ec2(partition: str, region: str, resource: str, *, account: bool = True) -> str:
    owner = "*" if account else ""
    return f"arn:{partition}:ec2:{region}:{owner}:{resource}"


def controller_policies(
    *,
    cluster_name: str,
    partition: str,
    region: str,
    account_id: str,
    queue_arn: str,
    node_role_arn: str,
    volume_key_arn: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The Karpenter controller's identity policies, by name, as JSON-ready documents.

    Two documents, ``node-lifecycle`` (launch, tag, terminate; use of the volume key) and
    ``integration`` (instance profiles, the cluster, the queue, discovery), because the whole
    set exceeds the 6,144 characters IAM allows one managed policy. Pure: every ARN is passed
    in, so tests can read the documents without a cloud.
    """
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"}
    request_owned = {
        f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
    }
    nodepool_tagged = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    request_nodepool = {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    launched = [
        _ec2(partition, region, f"{kind}/*")
        for kind in (
            "fleet",
            "instance",
            "volume",
            "network-interface",
            "launch-template",
            "spot-instances-request",
        )
    ]
    instance = _ec2(partition, region, "instance/*")
    launch_template = _ec2(partition, region, "launch-template/*")
    profiles = f"arn:{partition}:iam::{account_id}:instance-profile/*"
    region_tag = {"aws:ResourceTag/topology.kubernetes.io/region": region}
    nodeclass_tagged = {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}
    lifecycle: list[dict[str, Any]] = [
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Resource": [
                _ec2(partition, region, "image/*", account=False),
                _ec2(partition, region, "snapshot/*", account=False),
                _ec2(partition, region, "security-group/*"),
                _ec2(partition, region, "subnet/*"),
                _ec2(partition, region, "capacity-reservation/*"),
            ],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": launch_template,
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {"StringEquals": owned, "StringLike": nodepool_tagged},
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": launched,
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {"StringEquals": request_owned, "StringLike": request_nodepool},
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": launched,
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {
                    **request_owned,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": request_nodepool,
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": instance,
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": owned,
                "StringLike": nodepool_tagged,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [instance, launch_template],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": {"StringEquals": owned, "StringLike": nodepool_tagged},
        },
    ]
    integration: list[dict[str, Any]] = [
        # IAM integration: Karpenter manages one instance profile per EC2NodeClass.
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {
                "StringEquals": {
                    "iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]
                }
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": ["iam:CreateInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    **request_owned,
                    "aws:RequestTag/topology.kubernetes.io/region": region,
                },
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": ["iam:TagInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    **owned,
                    **region_tag,
                    **request_owned,
                    "aws:RequestTag/topology.kubernetes.io/region": region,
                },
                "StringLike": {
                    **nodeclass_tagged,
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            "Condition": {"StringEquals": {**owned, **region_tag}, "StringLike": nodeclass_tagged},
        },
        # EKS integration.
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:eks:{region}:{account_id}:cluster/{cluster_name}",
            "Action": "eks:DescribeCluster",
        },
        # Interruption handling.
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        },
        # Resource discovery: these actions accept no resource ARN, so they are scoped by region.
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
            "Action": "ssm:GetParameter",
        },
        {
            "Sid": "AllowPricingReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "pricing:GetProducts",
        },
        {
            "Sid": "AllowUnscopedInstanceProfileListAction",
            "Effect": "Allow",
            "Resource": "*",
            "Action": "iam:ListInstanceProfiles",
        },
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": "iam:GetInstanceProfile",
        },
    ]
    if volume_key_arn:
        # EC2 encrypts the root volume with the caller's rights on the key, and only through
        # EC2 in this region: the role cannot use the key directly.
        via_ec2 = {"kms:ViaService": f"ec2.{region}.amazonaws.com"}
        lifecycle += [
            {
                "Sid": "AllowNodeVolumeEncryption",
                "Effect": "Allow",
                "Resource": volume_key_arn,
                "Action": [
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                ],
                "Condition": {"StringEquals": via_ec2},
            },
            {
                "Sid": "AllowNodeVolumeGrants",
                "Effect": "Allow",
                "Resource": volume_key_arn,
                "Action": "kms:CreateGrant",
                "Condition": {
                    "StringEquals": via_ec2,
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            },
        ]
    return {
        "node-lifecycle": {"Version": "2012-10-17", "Statement": lifecycle},
        "integration": {"Version": "2012-10-17", "Statement": integration},
    }


def _document_json(part: str, documents: dict[str, dict[str, Any]]) -> str:
    return json.dumps(documents[part])


def queue_policy(queue_arn: str, rule_arns: list[str]) -> dict[str, Any]:
    """Only EventBridge (for this stack's rules) and SQS may send; nothing without TLS."""
    return {
        "Version": "2012-10-17",
        "Id": "EC2InterruptionPolicy",
        "Statement": [
            {
                "Sid": "AllowInterruptionEvents",
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            {
                # EventBridge may send from this stack's rules only, not from another account's.
                "Sid": "DenyOtherEventSources",
                "Effect": "Deny",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnNotEquals": {"aws:SourceArn": sorted(rule_arns)}},
            },
            {
                "Sid": "DenyHTTP",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


@dataclass(frozen=True)
class KarpenterAwsArgs:
    """Arguments of :class:`KarpenterAws`.

    ``cluster_name`` is the EKS cluster's name (a plain string: it is part of IAM condition
    keys). ``node_role_arn`` is the role Karpenter's nodes run as (the managed node groups'
    role). ``node_volume_key_arn`` is the KMS key of node root volumes, ``None`` for none.
    """

    cluster_name: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    context: AwsContext
    tags: dict[str, str] = field(default_factory=dict)
    node_volume_key_arn: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        """Refuse a cluster name EKS itself would refuse (it ends up in ARNs and tag keys)."""
        if not _CLUSTER_NAME.match(self.cluster_name):
            raise ValueError(
                "cluster_name must be an EKS cluster name (letters, digits, '-', '_', "
                f"at most 80, starting with a letter or digit), got {self.cluster_name!r}"
            )


class KarpenterAws(pulumi.ComponentResource):
    """Controller IRSA role and policy, interruption queue and rules, discovery tag.

    - ``role_arn``: for the ``eks.amazonaws.com/role-arn`` annotation of service account
      ``karpenter/karpenter``; only that service account can assume it.
    - ``queue_name``: the chart's ``settings.interruptionQueue``. The queue keeps messages
      5 minutes, is encrypted (SQS-managed SSE) and receives spot interruption warnings,
      rebalance recommendations, instance state changes and AWS Health scheduled changes, so
      Karpenter drains a node before EC2 takes it away.
    - The cluster security group gets the discovery tag, so an EC2NodeClass selects it the same
      way it selects the node subnets (which the network tags).

    The AWS provider comes from ``opts``.
    """

    def __init__(
        self, name: str, args: KarpenterAwsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:KarpenterAws", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags
        cluster = args.cluster_name

        self.queue = aws.sqs.Queue(
            f"{name}-interruption",
            name=f"{cluster}-karpenter",
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags={**tags, "Name": f"{cluster}-karpenter"},
            opts=child,
        )
        self.rules: dict[str, aws.cloudwatch.EventRule] = {}
        for suffix, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{suffix}",
                name=f"{cluster}-karpenter-{suffix}",
                description=f"{detail_type} events for Karpenter of {cluster}",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                tags={**tags, "Name": f"{cluster}-karpenter-{suffix}"},
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{suffix}-target",
                rule=rule.name,
                target_id="KarpenterInterruptionQueueTarget",
                arn=self.queue.arn,
                opts=child,
            )
            self.rules[suffix] = rule

        self.queue_policy = aws.sqs.QueuePolicy(
            f"{name}-interruption-policy",
            queue_url=self.queue.id,
            policy=pulumi.Output.all(self.queue.arn, *(r.arn for r in self.rules.values())).apply(
                lambda arns: json.dumps(queue_policy(arns[0], list(arns[1:])))
            ),
            opts=child,
        )

        self.role = aws.iam.Role(
            f"{name}-controller",
            assume_role_policy=irsa_trust(
                args.oidc_provider_arn, args.oidc_issuer_url, NAMESPACE, SERVICE_ACCOUNT
            ),
            description=f"Karpenter controller of {cluster}",
            tags={**tags, "Name": f"{name}-controller"},
            opts=child,
        )
        key: pulumi.Input[str] = args.node_volume_key_arn or ""
        documents = pulumi.Output.all(
            args.context.partition,
            args.context.account_id,
            self.queue.arn,
            args.node_role_arn,
            key,
        ).apply(
            lambda v: controller_policies(
                cluster_name=cluster,
                partition=v[0],
                region=args.context.region,
                account_id=v[1],
                queue_arn=v[2],
                node_role_arn=v[3],
                volume_key_arn=v[4] or None,
            )
        )
        # Customer-managed policies rather than inline ones: each can be audited on its own.
        self.policies: dict[str, aws.iam.Policy] = {}
        for part in POLICY_PARTS:
            policy = aws.iam.Policy(
                f"{name}-{part}",
                description=f"Karpenter controller of {cluster} ({part}): this cluster only",
                policy=documents.apply(functools.partial(_document_json, part)),
                tags={**tags, "Name": f"{name}-{part}"},
                opts=child,
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-{part}", role=self.role.name, policy_arn=policy.arn, opts=child
            )
            self.policies[part] = policy
        self.security_group_tag = aws.ec2.Tag(
            f"{name}-sg-discovery",
            resource_id=args.cluster_security_group_id,
            key=DISCOVERY_TAG,
            value=cluster,
            opts=child,
        )

        self.role_arn = self.role.arn
        self.queue_name = self.queue.name
        self.register_outputs({"roleArn": self.role.arn, "queueName": self.queue.name})
