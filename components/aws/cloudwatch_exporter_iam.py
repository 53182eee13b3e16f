"""The AWS permissions of the CloudWatch exporter: read metrics and resource tags, in one region.

prometheus-cloudwatch-exporter 0.16.0 lists the metrics of each configured rule
(``cloudwatch:ListMetrics``), reads their latest datapoint with
``cloudwatch:GetMetricStatistics`` (its default; ``GetMetricData`` is opt-in per rule and the
platform does not opt in) and finds the stack's own resources by tag (``tag:GetResources``,
for ``aws_tag_select``). None of these actions can be scoped to a resource ARN, so the policy
pins the one region each exporter reads instead: a stolen token of the stack-region exporter
cannot read the edge's metrics, nor the other way round.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.eks import KubernetesCluster
from components.aws.iam import PolicyDocument, document, irsa_trust

ACTIONS = ("cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics", "tag:GetResources")
"""Everything the exporter calls; each accepts only Resource ``*``."""


def metrics_read_policy(region: str) -> PolicyDocument:
    """Identity policy of one exporter: :data:`ACTIONS` in ``region`` only."""
    if not region:
        raise ValueError("region must name the AWS region the exporter reads, got ''")
    return document(
        {
            "Sid": "ReadMetricsAndTagsInOneRegion",
            "Effect": "Allow",
            "Action": list(ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        }
    )


@dataclass(frozen=True)
class CloudWatchReaderRoleArgs:
    """Whose role it is (``namespace``/``service_account``) and the region it reads."""

    cluster: KubernetesCluster
    namespace: str
    service_account: str
    region: str
    tags: dict[str, str] = field(default_factory=dict)


class CloudWatchReaderRole(pulumi.ComponentResource):
    """An IRSA role only the exporter's service account can assume, with its inline policy.

    Children: ``<name>`` (the role) and ``<name>`` (its inline policy,
    :func:`metrics_read_policy`). The AWS provider comes from ``opts``
    (``providers={"aws": ...}``). ``role`` is what the service account annotates.
    """

    role: aws.iam.Role
    policy: aws.iam.RolePolicy

    def __init__(
        self, name: str, args: CloudWatchReaderRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:CloudWatchReaderRole", name, None, opts)
        cluster = args.cluster
        self.role = aws.iam.Role(
            name,
            assume_role_policy=irsa_trust(
                cluster.oidc_provider.arn,
                cluster.oidc_issuer,
                args.namespace,
                args.service_account,
            ),
            tags={**args.tags, "Name": name},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.policy = aws.iam.RolePolicy(
            name,
            role=self.role.id,
            policy=json.dumps(metrics_read_policy(args.region)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"role_arn": self.role.arn})
