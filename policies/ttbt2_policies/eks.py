"""EKS clusters: encrypted secrets, all control-plane logs, an API endpoint kept off the internet.

Checkov: CKV_AWS_58 (secrets), CKV_AWS_37 (logs), CKV_AWS_38 and CKV_AWS_39 (endpoint).
Platform rule: an access scope to the application covers every namespace it runs in. A
platform rule (DESIGN.md 2b, "nothing hollow"): a private endpoint is reached by a CI runner of
the stack, or nothing could deploy, preview or refresh what runs in the cluster.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pulumi_policy import Policy, PolicyResource, ResourceValidationArgs, StackValidationArgs

from .common import (
    MANDATORY,
    bool_prop,
    is_mapping,
    is_open_cidr,
    list_prop,
    mapping_prop,
    number_prop,
    referenced,
    report_on,
    resource_policy,
    stack_policy,
    str_list_prop,
    str_prop,
)

CLUSTER = "aws:eks/cluster:Cluster"
ACCESS_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
NAMESPACE = "kubernetes:core/v1:Namespace"
APPLICATION_LABEL = ("ttbt2.io/tier", "application")
"""Label of the namespaces the application runs in (``components/aws/access.py`` sets it; the
pack loads alone, so the value is repeated here and a test keeps both equal)."""
CODEBUILD_PROJECT = "aws:codebuild/project:Project"
CODEBUILD_WEBHOOK = "aws:codebuild/webhook:Webhook"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
RUNNER_EVENT = "WORKFLOW_JOB_QUEUED"
"""The webhook event of CodeBuild's GitHub Actions runner mode."""
HTTPS = 443
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


def _runner_mode(webhook: PolicyResource) -> bool:
    """Whether a CodeBuild webhook starts builds for queued GitHub Actions jobs."""
    for group in list_prop(webhook.props, "filterGroups") or []:
        filters: Sequence[Any] = (group.get("filters") if is_mapping(group) else None) or []
        for item in filters:
            if not is_mapping(item) or item.get("type") != "EVENT":
                continue
            if RUNNER_EVENT in str(item.get("pattern", "")).split(","):
                return True
    return False


def _runner_security_groups(resources: Sequence[PolicyResource]) -> set[str]:
    """URNs of the security groups of CodeBuild projects in runner mode."""
    projects = {
        project.urn
        for webhook in resources
        if webhook.resource_type == CODEBUILD_WEBHOOK and _runner_mode(webhook)
        for project in referenced(webhook, "projectName", {CODEBUILD_PROJECT})
    }
    return {
        group.urn
        for project in resources
        if project.urn in projects
        for group in referenced(project, "vpcConfig", {SECURITY_GROUP})
    }


def _admits_https(rule: PolicyResource) -> bool:
    """Whether an ingress rule lets TCP 443 in."""
    protocol = str_prop(rule.props, "ipProtocol")
    if protocol in ("-1", "all"):
        return True
    low, high = number_prop(rule.props, "fromPort"), number_prop(rule.props, "toPort")
    return (
        protocol in ("tcp", "6") and low is not None and high is not None and low <= HTTPS <= high
    )


def _private_endpoint_reached(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    runner_groups = _runner_security_groups(args.resources)
    reached: set[str] = set()
    for rule in args.resources:
        if rule.resource_type != INGRESS_RULE:
            continue
        sources = referenced(rule, "referencedSecurityGroupId", {SECURITY_GROUP})
        if any(g.urn in runner_groups for g in sources) and _admits_https(rule):
            reached |= {c.urn for c in referenced(rule, "securityGroupId", {CLUSTER})}
    for cluster in args.resources:
        if cluster.resource_type != CLUSTER or cluster.urn in reached:
            continue
        yield from report_on(cluster.urn, _unreached(cluster))


def _unreached(cluster: PolicyResource) -> Iterator[str]:
    # A public endpoint (or the AWS default, public) is endpoint-not-public's business.
    if bool_prop(cluster.props, "vpcConfig.endpointPublicAccess") is not False:
        return
    yield (
        "the cluster API endpoint is private and no CI runner reaches it: no CodeBuild project "
        f"in runner mode (a webhook with EVENT {RUNNER_EVENT}) whose security group the "
        f"cluster's security group admits on TCP {HTTPS}; no pipeline could deploy, preview or "
        "refresh what runs in the cluster (ttbt2:ciRunnerEnabled, docs/ci-runners.md)"
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


def _application_namespaces(args: StackValidationArgs) -> set[str]:
    """Names of the stack's Namespaces labelled as the application's."""
    key, value = APPLICATION_LABEL
    found = set()
    for res in args.resources:
        if res.resource_type != NAMESPACE:
            continue
        labels = mapping_prop(res.props, "metadata.labels") or {}
        name = str_prop(res.props, "metadata.name")
        if labels.get(key) == value and name:
            found.add(name)
    return found


def _access_covers_application(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    application = _application_namespaces(args)
    for res in args.resources:
        if res.resource_type != ACCESS_ASSOCIATION:
            continue
        label = f"access policy association {res.name}"
        scope = mapping_prop(res.props, "accessScope")
        if scope is None:
            yield f"{label}: accessScope is not set: whom it reaches cannot be checked", res.urn
            continue
        if str_prop(scope, "type") != "namespace":
            continue  # cluster-wide: covers every namespace
        namespaces = str_list_prop(scope, "namespaces")
        if not namespaces:
            yield (
                f"{label}: accessScope.type is namespace but accessScope.namespaces is empty",
                res.urn,
            )
            continue
        listed = set(namespaces)
        missing = sorted(application - listed)
        # Only a grant to the application must cover all of it; a grant limited to a
        # platform namespace (no application namespace listed) is another matter.
        if listed & application and missing:
            yield (
                f"{label} reaches the application's namespaces {sorted(listed & application)} "
                f"but not {missing}, where services of ttbt2:services run: the scope must list "
                "every namespace labelled "
                f"{APPLICATION_LABEL[0]}={APPLICATION_LABEL[1]}",
                res.urn,
            )


access_covers_application = stack_policy(
    name="aws-eks-access-covers-application",
    description=(
        "Platform rule (seed 4.2): an EKS access scope that reaches the application covers "
        "every namespace it runs in (the shared one and each service's), so QA, stakeholders "
        "and developers can act on every service of their environment."
    ),
    enforcement=MANDATORY,
    check=_access_covers_application,
)

private_endpoint_reached_by_ci = stack_policy(
    name="aws-eks-private-endpoint-ci-runner",
    description=(
        "Platform rule: a cluster whose API endpoint is private is reached by a CI runner of "
        "the stack: a CodeBuild project in GitHub Actions runner mode (webhook event "
        "WORKFLOW_JOB_QUEUED) whose security group the cluster's security group admits on "
        "TCP 443."
    ),
    enforcement=MANDATORY,
    check=_private_endpoint_reached,
)

POLICIES: list[Policy] = [
    secrets_encryption,
    control_plane_logging,
    endpoint_not_public,
    access_covers_application,
    private_endpoint_reached_by_ci,
]
