"""The CloudWatch exporter's IAM roles: exactly what its configuration calls, in one region.

The policy is checked against the policy pack's least-privilege rules (policy_sentry decides
which actions could name resources), against what the exporter configurations need, and the
role's trust against the pack's IRSA rule, on the mock engine.
"""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pytest
from policy_sentry.querying.actions import get_actions_that_support_wildcard_arns_only

from components.aws.cloudwatch_exporter_iam import (
    ACTIONS,
    metrics_read_policy,
)
from components.aws.eks import KubernetesCluster
from components.aws.workload_identity import WorkloadIdentity, WorkloadIdentityArgs
from components.k8s.cloudwatch_exporter import (
    EDGE_REGION,
    EDGE_SERVICE_ACCOUNT,
    NAMESPACE,
    edge_config,
    regional_config,
)
from offline.engine import run_program
from offline.graph import StackGraph
from policies.ttbt2_policies.iam import (
    no_wildcard_actions,
    no_wildcard_resources,
    web_identity_trust_pinned,
)
from tests.conftest import one
from tests.support.policies import findings_for, resource

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER_ARN = "arn:aws:iam::123456789012:oidc-provider/" + ISSUER.removeprefix("https://")


def policy_resource(document: dict[str, Any]) -> Any:
    return resource(ROLE_POLICY, {"policy": json.dumps(document), "role": "cloudwatch-exporter"})


@pytest.mark.parametrize("region", ["eu-west-1", EDGE_REGION])
def test_the_policy_passes_the_least_privilege_rules(region: str) -> None:
    document = metrics_read_policy(region)
    for rule in (no_wildcard_actions, no_wildcard_resources):
        assert findings_for(rule, [policy_resource(document)]) == [], rule.name
    # The check bites: a service wildcard is refused.
    broad = copy.deepcopy(document)
    broad["Statement"][0]["Action"] = ["cloudwatch:*"]
    assert findings_for(no_wildcard_actions, [policy_resource(broad)]) != []


def test_every_action_accepts_only_resource_star_so_the_region_is_the_scope() -> None:
    for action in ACTIONS:
        service = action.partition(":")[0]
        star_only = {a.lower() for a in get_actions_that_support_wildcard_arns_only(service)}
        assert action.lower() in star_only, action
    [statement] = metrics_read_policy("eu-west-1")["Statement"]
    assert statement["Resource"] == "*"
    assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    assert statement["Effect"] == "Allow" and "NotAction" not in statement


def required_actions(config: dict[str, Any]) -> set[str]:
    """The API calls exporter 0.16.0 makes for ``config``.

    From src/main/java/io/prometheus/cloudwatch/CloudWatchCollector.java and
    DefaultDimensionSource.java at tag v0.16.0 of prometheus/cloudwatch_exporter.
    """
    needed: set[str] = set()
    default_gmd = config.get("use_get_metric_data", False)
    for rule in config["metrics"]:
        get_metric_data = rule.get("use_get_metric_data", default_gmd)
        needed.add(
            "cloudwatch:GetMetricData" if get_metric_data else "cloudwatch:GetMetricStatistics"
        )
        select = rule.get("aws_dimension_select", {})
        if rule.get("aws_tag_select") or set(select) != set(rule["aws_dimensions"]):
            needed.add("cloudwatch:ListMetrics")
        if rule.get("aws_tag_select"):
            needed.add("tag:GetResources")
    return needed


def test_the_policy_grants_exactly_what_the_exporter_configurations_call() -> None:
    configs = [regional_config("prod", "eu-west-1"), edge_config("prod", "ttbt2-prod-edge-waf")]
    needed = set().union(*(required_actions(c) for c in configs))
    assert needed == set(ACTIONS)
    # Opting a rule into GetMetricData would need an action the role does not hold.
    opted = copy.deepcopy(configs[0])
    opted["metrics"][0]["use_get_metric_data"] = True
    assert "cloudwatch:GetMetricData" in required_actions(opted) - set(ACTIONS)


def test_an_empty_region_is_refused() -> None:
    with pytest.raises(ValueError, match="region must name"):
        metrics_read_policy("")


_graphs: dict[bool, StackGraph] = {}


def render(*, preview: bool) -> StackGraph:
    """One reader role for the edge exporter, with a stand-in for the cluster's OIDC facts."""
    if preview not in _graphs:

        def program() -> None:
            aws_provider = aws.Provider("aws", region="eu-west-1")
            # A component with the cluster's OIDC facts (the identity's former parent must be
            # a resource).
            cluster = pulumi.ComponentResource("test:eks:Cluster", "cluster")
            cluster.oidc_provider = SimpleNamespace(  # type: ignore[attr-defined]
                arn=pulumi.Output.from_input(PROVIDER_ARN)
            )
            cluster.oidc_issuer = pulumi.Output.from_input(ISSUER)  # type: ignore[attr-defined]
            WorkloadIdentity(
                "cw-edge",
                WorkloadIdentityArgs(
                    cluster=cast(KubernetesCluster, cluster),
                    namespace=NAMESPACE,
                    service_account=EDGE_SERVICE_ACCOUNT,
                    policy=json.dumps(metrics_read_policy(EDGE_REGION)),
                    tags={"environment": "prod"},
                ),
                opts=pulumi.ResourceOptions(providers={"aws": aws_provider}),
            )

        _graphs[preview] = run_program(
            program, project="ttbt2-platform", stack="prod", preview=preview
        )
    return _graphs[preview]


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_only_the_exporters_service_account_can_assume_the_role(preview: bool) -> None:
    graph = render(preview=preview)
    role = one(graph, ROLE)
    trust = json.loads(role.props["assumeRolePolicy"])
    [statement] = trust["Statement"]
    issuer = ISSUER.removeprefix("https://")
    assert statement["Principal"] == {"Federated": PROVIDER_ARN}
    assert statement["Condition"]["StringEquals"] == {
        f"{issuer}:sub": f"system:serviceaccount:{NAMESPACE}:{EDGE_SERVICE_ACCOUNT}",
        f"{issuer}:aud": "sts.amazonaws.com",
    }
    assert findings_for(web_identity_trust_pinned, [role]) == []
    policy = one(graph, ROLE_POLICY)
    assert json.loads(policy.props["policy"]) == metrics_read_policy(EDGE_REGION)
    component = one(graph, "ttbt2:aws:WorkloadIdentity")
    assert role.parent == policy.parent == component.urn
    assert role.props["tags"] == {"environment": "prod", "Name": "cw-edge"}
