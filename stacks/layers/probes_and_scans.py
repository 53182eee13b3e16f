"""Producers of the health and security metrics the alerts read: blackbox probes, image scans.

Part of the observability layer: the blackbox exporter probes every delivered service in the
cluster and through the public host (``probe_success``), trivy-operator scans every running
image (``trivy_image_vulnerabilities``). Both wait for the observability stack, whose CRDs
their Probes and ServiceMonitors need.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.aws.ecr_pull import ecr_pull_policy
from components.aws.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from components.k8s import blackbox, trivy_operator
from config import Settings
from stacks.layers.data import Data
from stacks.layers.foundation import Foundation


@dataclass(frozen=True)
class ProbesAndScans:
    """The blackbox exporter and trivy-operator of the environment."""

    blackbox: blackbox.BlackboxExporter
    trivy: trivy_operator.TrivyOperator

    @property
    def namespaces(self) -> Mapping[str, pulumi.Resource]:
        """Each namespace they create, with the component that creates it."""
        return {
            self.blackbox.namespace_name: self.blackbox,
            self.trivy.namespace_name: self.trivy,
        }


def probes_and_scans(
    cfg: Settings, base: Foundation, stores: Data, monitoring: pulumi.Resource
) -> ProbesAndScans:
    """Register both after ``monitoring`` (the stack that installs the operator's CRDs)."""
    env = cfg.identity.environment
    services = cfg.delivery.services
    after = pulumi.ResourceOptions(providers={"kubernetes": base.k8s}, depends_on=[monitoring])
    exporter = blackbox.BlackboxExporter(
        f"{base.prefix}-blackbox",
        blackbox.BlackboxExporterArgs(
            environment=env,
            services=services,
            # Users reach the CDN's custom domain when there is one, else CloudFront's name.
            public_host=cfg.edge.cdn_domain or stores.cdn.domain_name,
        ),
        opts=after,
    )
    pull = ecr_pull_policy(s.image for s in services)
    scanner_identity = None
    if pull is not None:
        scanner_identity = WorkloadIdentity(
            f"{base.prefix}-trivy-ecr",
            WorkloadIdentityArgs(
                cluster=base.cluster,
                namespace=trivy_operator.NAMESPACE,
                service_account=trivy_operator.SERVICE_ACCOUNT,
                policy=json.dumps(pull),
                tags=cfg.tags,
            ),
            opts=base.on_aws,
        )
    scanner = trivy_operator.TrivyOperator(
        f"{base.prefix}-trivy",
        trivy_operator.TrivyOperatorArgs(
            environment=env,
            ecr_role_arn=scanner_identity.role.arn if scanner_identity else None,
        ),
        opts=after,
    )
    return ProbesAndScans(blackbox=exporter, trivy=scanner)
