"""EKS cluster rules.

Secrets encryption (CKV_AWS_58), control-plane logs (CKV_AWS_37), endpoint access
(CKV_AWS_38, CKV_AWS_39).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.aws.access import APPLICATION_LABEL, access_plan
from offline.graph import Resource
from policies.ttbt2_policies import eks
from policies.ttbt2_policies.eks import (
    access_covers_application,
    control_plane_logging,
    endpoint_not_public,
    private_endpoint_reached_by_ci,
    secrets_encryption,
)
from tests.support.policies import UNKNOWN, findings_for, resource, violations

CLUSTER = "aws:eks/cluster:Cluster"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BASE: dict[str, Any] = {
    "name": "ttbt2-dev",
    "encryptionConfig": {"provider": {"keyArn": KEY_ARN}, "resources": ["secrets"]},
    "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    "vpcConfig": {
        "endpointPrivateAccess": True,
        "endpointPublicAccess": False,
        "subnetIds": ["subnet-1", "subnet-2"],
    },
}


def cluster(**changes: Any) -> Resource:
    """The compliant cluster with dotted-path changes; a value of None removes the key."""
    props = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = props
        for step in parents:
            node = node.setdefault(step, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return resource(CLUSTER, props)


@pytest.mark.parametrize("policy", [secrets_encryption, control_plane_logging, endpoint_not_public])
def test_compliant_cluster_has_no_findings(policy: Any) -> None:
    assert findings_for(policy, [cluster()]) == []


# --- secrets encryption ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"encryptionConfig__provider__keyArn": ""}, "keyArn is not set"),
        ({"encryptionConfig__resources": ["configmaps"]}, "must include 'secrets'"),
        ({"encryptionConfig__provider": None}, "keyArn is not set"),
    ],
    ids=["empty-key-arn", "not-secrets", "no-provider"],
)
def test_incomplete_encryption_is_a_violation(change: dict[str, Any], expected: str) -> None:
    [finding] = findings_for(secrets_encryption, [cluster(**change)])
    assert finding.policy == "aws-eks-secrets-encryption"
    assert expected in finding.message


def test_missing_encryption_config_is_a_violation() -> None:
    [finding] = findings_for(secrets_encryption, [cluster(encryptionConfig=None)])
    assert "encryptionConfig is not set" in finding.message


def test_unknown_key_arn_is_a_note() -> None:
    [finding] = findings_for(
        secrets_encryption, [cluster(encryptionConfig__provider__keyArn=UNKNOWN)]
    )
    assert finding.kind == "note"


# --- control-plane logs ----------------------------------------------------------------------


def test_missing_log_type_is_a_violation() -> None:
    types = ["api", "audit", "authenticator", "scheduler"]
    [finding] = findings_for(control_plane_logging, [cluster(enabledClusterLogTypes=types)])
    assert finding.policy == "aws-eks-control-plane-logging"
    assert "controllerManager" in finding.message and "audit" not in finding.message


def test_no_log_types_is_a_violation_listing_all_five() -> None:
    [finding] = findings_for(control_plane_logging, [cluster(enabledClusterLogTypes=None)])
    for log_type in ("api", "audit", "authenticator", "controllerManager", "scheduler"):
        assert log_type in finding.message


# --- endpoint ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cidrs", [["203.0.113.0/24"], ["203.0.113.10/32", "2001:db8::/32"]], ids=["v4", "v4-and-v6"]
)
def test_public_endpoint_with_listed_cidrs_is_compliant(cidrs: list[str]) -> None:
    res = cluster(vpcConfig__endpointPublicAccess=True, vpcConfig__publicAccessCidrs=cidrs)
    assert findings_for(endpoint_not_public, [res]) == []


@pytest.mark.parametrize("open_cidr", ["0.0.0.0/0", "::/0"])
def test_public_endpoint_open_to_the_world_is_a_violation(open_cidr: str) -> None:
    res = cluster(
        vpcConfig__endpointPublicAccess=True,
        vpcConfig__publicAccessCidrs=["203.0.113.0/24", open_cidr],
    )
    [finding] = findings_for(endpoint_not_public, [res])
    assert finding.policy == "aws-eks-endpoint-not-public"
    assert open_cidr in finding.message


@pytest.mark.parametrize("cidrs", [None, []], ids=["absent", "empty"])
def test_public_endpoint_without_cidrs_is_a_violation(cidrs: list[str] | None) -> None:
    res = cluster(vpcConfig__endpointPublicAccess=True, vpcConfig__publicAccessCidrs=cidrs)
    [finding] = findings_for(endpoint_not_public, [res])
    assert "publicAccessCidrs is empty or not set" in finding.message


def test_missing_endpoint_public_access_means_public() -> None:
    [finding] = findings_for(endpoint_not_public, [cluster(vpcConfig__endpointPublicAccess=None)])
    assert "AWS default: public" in finding.message


def test_missing_vpc_config_means_public() -> None:
    assert len(violations(findings_for(endpoint_not_public, [cluster(vpcConfig=None)]))) == 1


def test_private_endpoint_ignores_cidrs() -> None:
    res = cluster(vpcConfig__publicAccessCidrs=["0.0.0.0/0"])
    assert findings_for(endpoint_not_public, [res]) == []


# --- access scopes follow the application ---------------------------------------------------------

ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
APP = {APPLICATION_LABEL[0]: APPLICATION_LABEL[1]}


def namespace(name: str, labels: dict[str, str] | None = None) -> Resource:
    return resource(
        "kubernetes:core/v1:Namespace",
        {"metadata": {"name": name, "labels": labels or {}}},
        name=f"namespace-{name}",
    )


def association(scope: Any, name: str = "qa-edit") -> Resource:
    props: dict[str, Any] = {"clusterName": "ttbt2-staging", "policyArn": "arn:...:edit"}
    if scope is not None:
        props["accessScope"] = scope
    return resource(ASSOCIATION, props, name=name)


NAMESPACES = [
    namespace("ttbt2", APP),
    namespace("api", APP),
    namespace("web", APP),
    namespace("monitoring"),
]


def test_the_label_is_the_one_the_program_sets() -> None:
    assert eks.APPLICATION_LABEL == APPLICATION_LABEL


@pytest.mark.parametrize(
    "scope",
    [
        {"type": "namespace", "namespaces": ["ttbt2", "api", "web"]},
        {"type": "namespace", "namespaces": ["web", "api", "ttbt2", "extra"]},
        {"type": "cluster"},
        # A grant limited to platform namespaces is not a grant to the application.
        {"type": "namespace", "namespaces": ["monitoring"]},
    ],
    ids=["exact", "superset", "cluster", "platform-only"],
)
def test_scopes_covering_the_application_are_compliant(scope: dict[str, Any]) -> None:
    assert findings_for(access_covers_application, [*NAMESPACES, association(scope)]) == []


def test_a_scope_missing_a_service_namespace_is_a_violation() -> None:
    scope = {"type": "namespace", "namespaces": ["ttbt2"]}
    [finding] = violations(
        findings_for(access_covers_application, [*NAMESPACES, association(scope)])
    )
    assert "access policy association qa-edit reaches the application's namespaces ['ttbt2']" in (
        finding.message
    )
    assert "but not ['api', 'web']" in finding.message


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (None, "accessScope is not set"),
        ({"type": "namespace"}, "accessScope.namespaces is empty"),
        ({"type": "namespace", "namespaces": []}, "accessScope.namespaces is empty"),
    ],
    ids=["no-scope", "no-namespaces", "empty-namespaces"],
)
def test_missing_scope_properties_are_violations(scope: Any, expected: str) -> None:
    [finding] = violations(
        findings_for(access_covers_application, [*NAMESPACES, association(scope)])
    )
    assert expected in finding.message


def test_the_plan_covers_each_service_namespace_in_dev_and_staging() -> None:
    app = ["ttbt2", "api", "web"]
    resources: list[Resource] = list(NAMESPACES)
    for env in ("dev", "staging", "prod"):
        for group, grants in access_plan(env, app).items():
            resources += [association(g.scope, f"{env}-{group}-{g.policy}") for g in grants]
    assert findings_for(access_covers_application, resources) == []
    # The plan as it was before services had namespaces of their own fails.
    old = access_plan("staging", ["ttbt2"])
    stale = [association(g.scope, f"old-{group}") for group, gs in old.items() for g in gs]
    found = violations(findings_for(access_covers_application, [*NAMESPACES, *stale]))
    assert sorted(f.message.split()[3] for f in found) == ["old-qa", "old-stakeholders"]


# --- a private endpoint is reached by a CI runner (stack rule) ----------------------------------

PROJECT = "aws:codebuild/project:Project"
WEBHOOK = "aws:codebuild/webhook:Webhook"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
RUNNER_FILTERS = [{"filters": [{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]}]
HTTPS_RULE = {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443}


def runner_stack(
    *,
    filter_groups: Any = RUNNER_FILTERS,
    rule: dict[str, Any] | None = None,
    rule_on_cluster: bool = True,
    **cluster_changes: Any,
) -> list[Resource]:
    """A private cluster, a runner project in its VPC and the ingress rule between them."""
    eks = cluster(**cluster_changes)
    group = resource(GROUP, {"vpcId": "vpc-1"}, name="runner-sg")
    project = resource(
        PROJECT,
        {"name": "ttbt2-dev-ci-runner", "vpcConfig": {"vpcId": "vpc-1", "subnets": ["s-1"]}},
        dependencies=[group],
    )
    webhook_props = {"projectName": "ttbt2-dev-ci-runner"}
    if filter_groups is not None:
        webhook_props["filterGroups"] = filter_groups
    webhook = resource(WEBHOOK, webhook_props, dependencies=[project])
    ingress = resource(
        INGRESS,
        rule or HTTPS_RULE,
        name="to-cluster-api",
        dependencies=[eks, group] if rule_on_cluster else [group],
    )
    return [eks, group, project, webhook, ingress]


def test_private_endpoint_reached_by_a_runner_is_compliant() -> None:
    assert findings_for(private_endpoint_reached_by_ci, runner_stack()) == []
    every_port = {"ipProtocol": "-1"}
    assert findings_for(private_endpoint_reached_by_ci, runner_stack(rule=every_port)) == []


@pytest.mark.parametrize(
    "stack",
    [
        runner_stack(filter_groups=[{"filters": [{"type": "EVENT", "pattern": "PUSH"}]}]),
        runner_stack(rule={"ipProtocol": "tcp", "fromPort": 22, "toPort": 22}),
        runner_stack(rule_on_cluster=False),
        [cluster()],
    ],
    ids=["not-runner-mode", "not-https", "rule-elsewhere", "no-runner"],
)
def test_private_endpoint_without_a_runner_path_is_a_violation(stack: list[Resource]) -> None:
    [finding] = violations(findings_for(private_endpoint_reached_by_ci, stack))
    assert finding.policy == "aws-eks-private-endpoint-ci-runner"
    assert finding.urn == stack[0].urn
    assert "no CI runner reaches it" in finding.message


def test_a_webhook_without_filter_groups_is_no_runner() -> None:
    found = findings_for(private_endpoint_reached_by_ci, runner_stack(filter_groups=None))
    assert len(violations(found)) == 1


def test_a_public_endpoint_needs_no_runner() -> None:
    public = cluster(
        vpcConfig__endpointPublicAccess=True, vpcConfig__publicAccessCidrs=["203.0.113.0/24"]
    )
    assert findings_for(private_endpoint_reached_by_ci, [public]) == []
    # Left out, the endpoint is AWS's default (public): endpoint-not-public reports that.
    assert findings_for(private_endpoint_reached_by_ci, [cluster(vpcConfig=None)]) == []
