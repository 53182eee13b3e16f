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

from components.aws.iam import PolicyDocument, document

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
