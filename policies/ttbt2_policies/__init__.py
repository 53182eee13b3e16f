"""The TTBT2 guardrails: CrossGuard policies for the platform's AWS, Vault, GCP and Azure resources.

Importable as ``ttbt2_policies`` (Pulumi runs ``policies/__main__.py`` from ``policies/``) and as
``policies.ttbt2_policies`` (the offline engine and the tests, from the repository root), so the
modules of this package import each other relatively.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    azure,
    backup,
    cloudfront,
    copy_sources,
    cost,
    data_privacy,
    data_seed,
    eks,
    elasticache,
    gcp,
    iam,
    ingress,
    kms,
    kubernetes,
    metric_provenance,
    network,
    protection,
    rds,
    recovery,
    s3,
    tags,
    vault,
)

PACK_NAME = "ttbt2-guardrails"

ALL_POLICIES: list[Policy] = [
    *kms.POLICIES,
    *eks.POLICIES,
    *iam.POLICIES,
    *network.POLICIES,
    *tags.POLICIES,
    *protection.POLICIES,
    *s3.POLICIES,
    *rds.POLICIES,
    *backup.POLICIES,
    *elasticache.POLICIES,
    *cloudfront.POLICIES,
    *vault.POLICIES,
    *gcp.POLICIES,
    *azure.POLICIES,
    *kubernetes.POLICIES,
    *ingress.POLICIES,
    *recovery.POLICIES,
    *copy_sources.POLICIES,
    *metric_provenance.POLICIES,
    *data_privacy.POLICIES,
    *cost.POLICIES,
    *data_seed.POLICIES,
]
"""Every policy of the pack, in a stable order (module by module)."""

__all__ = ["ALL_POLICIES", "PACK_NAME"]
