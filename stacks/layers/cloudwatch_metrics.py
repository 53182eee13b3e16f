"""CloudWatch metrics of the stack's AWS services for Prometheus (part of the observability layer).

Two exporters (:mod:`components.k8s.cloudwatch_exporter`): the stack's region (RDS, ElastiCache,
ALBs) and us-east-1 (CloudFront and its web ACL), each with an IRSA role that reads metrics and
tags in its region only (:mod:`components.aws.cloudwatch_exporter_iam`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi

from components.aws.cloudwatch_exporter_iam import metrics_read_policy
from components.aws.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from components.k8s import cloudwatch_exporter as cw
from config import Settings
from stacks.layers.data import Data
from stacks.layers.foundation import Foundation


@dataclass(frozen=True)
class CloudWatchMetrics:
    """The exporters and the role each one reads CloudWatch with."""

    exporter: cw.CloudWatchExporter
    regional_role: WorkloadIdentity
    edge_role: WorkloadIdentity


def cloudwatch_exporter(
    cfg: Settings, base: Foundation, stores: Data, observability: pulumi.Resource
) -> CloudWatchMetrics:
    """Register the exporters and their roles; the releases wait for ``observability`` (CRDs)."""
    region = cfg.network.aws_region
    roles = {
        role: WorkloadIdentity(
            f"{base.prefix}-cloudwatch-exporter-{role}",
            WorkloadIdentityArgs(
                cluster=base.cluster,
                namespace=cw.NAMESPACE,
                service_account=service_account,
                policy=json.dumps(metrics_read_policy(reads)),
                tags=cfg.tags,
            ),
            opts=base.on_aws,
        )
        for role, service_account, reads in (
            ("regional", cw.REGIONAL_SERVICE_ACCOUNT, region),
            ("edge", cw.EDGE_SERVICE_ACCOUNT, cw.EDGE_REGION),
        )
    }
    exporter = cw.CloudWatchExporter(
        f"{base.prefix}-cloudwatch-exporter",
        cw.CloudWatchExporterArgs(
            environment=cfg.identity.environment,
            region=region,
            role_arn=roles["regional"].role.arn,
            edge_role_arn=roles["edge"].role.arn,
            web_acl_metric_name=stores.cdn.web_acl_metric_name,
        ),
        opts=pulumi.ResourceOptions(providers={"kubernetes": base.k8s}, depends_on=[observability]),
    )
    return CloudWatchMetrics(
        exporter=exporter, regional_role=roles["regional"], edge_role=roles["edge"]
    )
