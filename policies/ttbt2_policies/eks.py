"""EKS clusters: encrypted secrets, all control-plane logs, an API endpoint kept off the internet.

Checkov: CKV_AWS_58 (secrets), CKV_AWS_37 (logs), CKV_AWS_38 and CKV_AWS_39 (endpoint).
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Policy, ResourceValidationArgs

from .common import (
    MANDATORY,
    bool_prop,
    is_open_cidr,
    mapping_prop,
    resource_policy,
    str_list_prop,
    str_prop,
)

CLUSTER = "aws:eks/cluster:Cluster"
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""Every control-plane log type EKS offers."""


def _secrets_encryption(args: ResourceValidationArgs) -> Iterator[str]:
    """``encryptionConfig`` names a KMS key ARN and covers the ``secrets`` resource."""
    config = mapping_prop(args.props, "encryptionConfig")
    if config is None:
        yield "Kubernetes secrets are not envelope-encrypted: encryptionConfig is not set"
        return
    key_arn = str_prop(args.props, "encryptionConfig.provider.keyArn")
    if not key_arn:
        yield (
            "Kubernetes secrets are not envelope-encrypted: "
            "encryptionConfig.provider.keyArn is not set"
        )
    resources = str_list_prop(args.props, "encryptionConfig.resources") or []
    if "secrets" not in resources:
        yield (
            "Kubernetes secrets are not envelope-encrypted: encryptionConfig.resources "
            f"must include 'secrets' (got {resources})"
        )


def _control_plane_logging(args: ResourceValidationArgs) -> Iterator[str]:
    """``enabledClusterLogTypes`` holds all five log types; EKS logs nothing by default."""
    enabled = str_list_prop(args.props, "enabledClusterLogTypes") or []
    missing = [t for t in LOG_TYPES if t not in enabled]
    if missing:
        yield f"control-plane log types not enabled: {', '.join(missing)} (enabledClusterLogTypes)"


def _endpoint_restricted(args: ResourceValidationArgs) -> Iterator[str]:
    """A public endpoint (set, or left to the AWS default of public) lists allowed CIDRs.

    The list must be non-empty (AWS fills in ``0.0.0.0/0`` when it is empty or absent) and may
    not hold a CIDR that matches every address.
    """
    public = bool_prop(args.props, "vpcConfig.endpointPublicAccess")
    if public is False:
        return
    why = (
        "endpointPublicAccess is true"
        if public
        else "endpointPublicAccess is not set (AWS default: public)"
    )
    cidrs = str_list_prop(args.props, "vpcConfig.publicAccessCidrs")
    if not cidrs:
        yield (
            f"the cluster API endpoint is open to the internet: {why} and "
            "vpcConfig.publicAccessCidrs is empty or not set (AWS default 0.0.0.0/0); "
            "set endpointPublicAccess=false or list the CIDRs allowed"
        )
        return
    open_cidrs = [c for c in cidrs if is_open_cidr(c)]
    if open_cidrs:
        yield (
            f"the cluster API endpoint is open to the internet: {why} and "
            f"vpcConfig.publicAccessCidrs allows {', '.join(open_cidrs)}"
        )


secrets_encryption = resource_policy(
    name="aws-eks-secrets-encryption",
    description="EKS clusters envelope-encrypt Kubernetes secrets with a KMS key (CKV_AWS_58).",
    enforcement=MANDATORY,
    applies_to={CLUSTER},
    check=_secrets_encryption,
)

control_plane_logging = resource_policy(
    name="aws-eks-control-plane-logging",
    description=(
        "EKS clusters send every control-plane log type (api, audit, authenticator, "
        "controllerManager, scheduler) to CloudWatch (CKV_AWS_37)."
    ),
    enforcement=MANDATORY,
    applies_to={CLUSTER},
    check=_control_plane_logging,
)

endpoint_not_public = resource_policy(
    name="aws-eks-endpoint-not-public",
    description=(
        "The EKS API endpoint is private, or public only for listed CIDRs that are not "
        "0.0.0.0/0 or ::/0 (CKV_AWS_38, CKV_AWS_39)."
    ),
    enforcement=MANDATORY,
    applies_to={CLUSTER},
    check=_endpoint_restricted,
)

POLICIES: list[Policy] = [secrets_encryption, control_plane_logging, endpoint_not_public]
