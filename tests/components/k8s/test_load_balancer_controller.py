"""AWS Load Balancer Controller: the Helm release and the controller's IAM policy.

The release is rendered on the mock engine and its values checked against the vendored
values.yaml; the IAM policy is checked with policy_sentry's IAM database and with the policy
pack's own IAM rules.
"""

from __future__ import annotations

import copy
import json
from fnmatch import fnmatchcase
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml
from policy_sentry.querying.actions import (
    get_action_data,
    get_actions_that_support_wildcard_arns_only,
)

from components.aws.load_balancer_controller_policy import (
    CLUSTER_TAG,
    UPSTREAM_POLICY,
    WILDCARD_ONLY_ACTIONS,
    controller_policy,
)
from components.k8s.load_balancer_controller import (
    CHART_DIR,
    CHART_REPOSITORY,
    NAMESPACE,
    SERVICE_ACCOUNT,
    VALUES_FREE_FORM,
    LoadBalancerController,
    LoadBalancerControllerArgs,
    helm_values,
)
from offline.engine import run_program
from offline.graph import StackGraph
from policies.ttbt2_policies.iam import (
    no_wildcard_actions,
    no_wildcard_resources,
    security_group_writes_conditioned,
)
from tests.conftest import of_type, one
from tests.support.policies import findings_for, resource
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_VERSION = "1.33"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ttbt2-prod-lbc"
TAGS = {"project": "ttbt2", "environment": "prod"}

CASES = [
    pytest.param(env, preview, id=f"{env}-{'preview' if preview else 'up'}")
    for env in ("dev", "prod")
    for preview in (True, False)
]

_cache: dict[tuple[str, bool], StackGraph] = {}


def args_for(env: str, **extra: Any) -> LoadBalancerControllerArgs:
    fields: dict[str, Any] = {
        "environment": env,
        "cluster_name": f"ttbt2-{env}",
        "region": REGION,
        "vpc_id": "vpc-0123456789abcdef0",
        "role_arn": ROLE_ARN,
        "tags": TAGS,
    }
    return LoadBalancerControllerArgs(**{**fields, **extra})


def render(env: str, *, preview: bool) -> StackGraph:
    """Render the component with Output inputs, as the program passes them."""
    if (env, preview) not in _cache:

        def program() -> None:
            provider = k8s.Provider("k8s", kubeconfig="{}")
            LoadBalancerController(
                "lbc",
                args_for(
                    env,
                    cluster_name=pulumi.Output.from_input(f"ttbt2-{env}"),
                    role_arn=pulumi.Output.from_input(ROLE_ARN),
                ),
                opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
            )

        _cache[(env, preview)] = run_program(
            program, project="ttbt2-platform", stack=env, preview=preview
        )
    return _cache[(env, preview)]


# ---- Helm release ----------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_release_installs_the_vendored_chart_in_kube_system(env: str, preview: bool) -> None:
    graph = render(env, preview=preview)
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    props = one(graph, RELEASE).props
    assert props["chart"] == chart["name"] == "aws-load-balancer-controller"
    assert props["version"] == chart["version"]
    assert props["repositoryOpts"] == {"repo": CHART_REPOSITORY}
    assert props["namespace"] == NAMESPACE == "kube-system"
    assert props["atomic"] is True and props["cleanupOnFail"] is True
    assert props.get("createNamespace") is False
    assert not props.get("skipCrds")
    assert of_type(graph, "kubernetes:core/v1:Namespace") == []


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_every_helm_value_path_exists_in_the_vendored_values(env: str, preview: bool) -> None:
    values = one(render(env, preview=preview), RELEASE).props["values"]
    chart_values = load_chart_values(CHART_DIR)
    assert unknown_value_paths(values, chart_values, set(VALUES_FREE_FORM)) == []
    typo = copy.deepcopy(values)
    typo["enableServiceMutatorWebhooks"] = typo.pop("enableServiceMutatorWebhook")
    assert unknown_value_paths(typo, chart_values, set(VALUES_FREE_FORM)) == [
        "enableServiceMutatorWebhooks"
    ]


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_cluster_region_vpc_and_irsa_role_reach_the_chart(env: str, preview: bool) -> None:
    values = one(render(env, preview=preview), RELEASE).props["values"]
    assert values["region"] == REGION
    assert values["vpcId"] == "vpc-0123456789abcdef0"
    account = values["serviceAccount"]
    assert account["create"] is True and account["name"] == SERVICE_ACCOUNT
    if not preview:
        assert values["clusterName"] == f"ttbt2-{env}"
        assert account["annotations"] == {"eks.amazonaws.com/role-arn": ROLE_ARN}


def test_plain_services_do_not_become_load_balancers_by_surprise() -> None:
    chart_values = load_chart_values(CHART_DIR)
    # The chart's default is the surprising one; the key exists where we set it.
    assert chart_values["enableServiceMutatorWebhook"] is True
    values = helm_values(
        environment="prod",
        cluster_name="c",
        region=REGION,
        vpc_id="vpc-1",
        role_arn=ROLE_ARN,
        service_monitor=True,
        tags={},
    )
    assert values["enableServiceMutatorWebhook"] is False
    assert values["ingressClassConfig"] == {"default": False}
    assert values["clusterSecretsPermissions"] == {"allowAllSecrets": False}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_controller_is_replicated_hardened_and_tags_what_it_creates(env: str) -> None:
    values = helm_values(
        environment=env,
        cluster_name="c",
        region=REGION,
        vpc_id="vpc-1",
        role_arn=ROLE_ARN,
        service_monitor=True,
        tags=TAGS,
    )
    assert values["defaultTags"] == TAGS
    if env == "dev":
        assert values["replicaCount"] == 1
        assert "podDisruptionBudget" not in values
    else:
        assert values["replicaCount"] == 2
        assert values["podDisruptionBudget"] == {"maxUnavailable": 1}
        (spread,) = values["topologySpreadConstraints"]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "lbc"},
        "spec": {
            "securityContext": values["podSecurityContext"],
            "containers": [
                {
                    "name": "controller",
                    "image": "example",
                    "resources": values["resources"],
                    "securityContext": values["securityContext"],
                }
            ],
            "tolerations": values["tolerations"],
            "topologySpreadConstraints": values.get("topologySpreadConstraints", []),
        },
    }
    assert kubernetes_validate.validate(pod, K8S_VERSION, strict=True) == K8S_VERSION
    ctx = values["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["runAsNonRoot"] is True
    assert ctx["capabilities"] == {"drop": ["ALL"]} and ctx["readOnlyRootFilesystem"] is True
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert values["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"environment": "Prod"}, "environment"),
        ({"region": "Ireland"}, "region"),
        ({"tags": {"aws:created": "x"}}, "reserved"),
    ],
)
def test_arguments_aws_would_reject_are_refused(change: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        args_for("prod", **change)


# ---- IAM policy ------------------------------------------------------------------------------

CLUSTER = "ttbt2-prod"
POLICY = controller_policy(account_id=ACCOUNT, region=REGION, cluster_name=CLUSTER)
NODE_RULES = {"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"}
NODE_CONDITION = {"StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER}": "owned"}}


def _actions(stmt: dict[str, Any]) -> list[str]:
    action = stmt["Action"]
    return [action] if isinstance(action, str) else list(action)


def _resources(stmt: dict[str, Any]) -> list[str]:
    res = stmt["Resource"]
    return [res] if isinstance(res, str) else list(res)


def _wildcard_only(action: str) -> bool:
    service, name = action.split(":", 1)
    return (
        action.lower() in {a.lower() for a in get_actions_that_support_wildcard_arns_only(service)}
        or not name
    )


def _access_level(action: str) -> str:
    service, name = action.split(":", 1)
    # One entry per resource type the action takes; they share the access level.
    levels = {str(d["access_level"]) for d in get_action_data(service, name)[service]}
    assert len(levels) == 1, (action, levels)
    return levels.pop()


def test_wildcard_only_actions_agree_with_policy_sentry() -> None:
    upstream = {a for s in UPSTREAM_POLICY["Statement"] for a in _actions(s)}
    assert upstream >= WILDCARD_ONLY_ACTIONS
    for action in sorted(upstream):
        assert (action in WILDCARD_ONLY_ACTIONS) == _wildcard_only(action), action


def test_scoped_policy_keeps_every_upstream_action_and_condition() -> None:
    granted = {
        (a, json.dumps(s.get("Condition"), sort_keys=True))
        for s in POLICY["Statement"]
        for a in _actions(s)
    }
    upstream = {
        # The one deliberate change: upstream's unconditioned node-rule statement is limited to
        # this cluster's security groups.
        (
            a,
            json.dumps(
                NODE_CONDITION if "Condition" not in s and a in NODE_RULES else s.get("Condition"),
                sort_keys=True,
            ),
        )
        for s in UPSTREAM_POLICY["Statement"]
        for a in _actions(s)
    }
    assert granted == upstream
    assert all(s["Effect"] == "Allow" for s in POLICY["Statement"])


def test_scoped_policy_grants_nothing_upstream_does_not() -> None:
    """Each scoped resource lies inside an upstream resource of an upstream statement."""
    for stmt in POLICY["Statement"]:
        cond = stmt.get("Condition")
        sources = [
            u
            for u in UPSTREAM_POLICY["Statement"]
            if set(_actions(stmt)) <= set(_actions(u))
            # A condition upstream does not have only narrows the grant.
            and u.get("Condition") in (cond, None)
        ]
        assert sources, stmt
        for arn in _resources(stmt):
            patterns = [p for u in sources for p in _resources(u)]
            assert any(
                p == "*" or fnmatchcase(arn, p.replace(":*:*:", f":{REGION}:{ACCOUNT}:"))
                for p in patterns
            ), arn
            if arn != "*":
                assert f":{ACCOUNT}:" in arn and (f":{REGION}:" in arn or "::" in arn), arn


def test_every_write_is_scoped_by_resource_or_the_cluster_tag() -> None:
    # AWS accepts only "*" for these two writes; upstream grants them unconditioned too.
    unscopable_writes = {"shield:CreateProtection", "elasticloadbalancing:SetWebAcl"}
    for stmt in POLICY["Statement"]:
        writes = [a for a in _actions(stmt) if _access_level(a) not in {"Read", "List"}]
        if not writes or "*" not in _resources(stmt):
            continue
        tag_condition = any(
            CLUSTER_TAG in key for block in stmt.get("Condition", {}).values() for key in block
        )
        assert tag_condition or set(writes) <= unscopable_writes, stmt


def test_create_modify_and_delete_keep_the_upstream_cluster_tag_conditions() -> None:
    tagged = {
        "ec2:DeleteSecurityGroup",
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:CreateTargetGroup",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:SetSecurityGroups",
        "ec2:DeleteTags",
        "elasticloadbalancing:RemoveTags",
    }
    for action in sorted(tagged):
        conditions = [s.get("Condition", {}) for s in POLICY["Statement"] if action in _actions(s)]
        assert conditions, action
        for cond in conditions:
            keys = {key for block in cond.values() for key in block}
            # RemoveTags on listeners and rules is unconditioned upstream, but never on "*".
            scoped_listeners = action == "elasticloadbalancing:RemoveTags" and not keys
            assert scoped_listeners or any(CLUSTER_TAG in k for k in keys), (action, cond)


def test_security_group_rules_on_nodes_need_this_clusters_tag() -> None:
    node_rules = [s for s in POLICY["Statement"] if NODE_RULES & set(_actions(s))]
    for stmt in node_rules:
        assert stmt.get("Condition"), stmt
        assert _resources(stmt) != ["*"]
    (ours,) = [s for s in node_rules if s["Condition"] == NODE_CONDITION]
    assert set(_actions(ours)) == NODE_RULES
    assert _resources(ours) == [f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/*"]
    other = controller_policy(account_id=ACCOUNT, region=REGION, cluster_name="ttbt2-dev")
    assert NODE_CONDITION not in [s.get("Condition") for s in other["Statement"]]


def test_the_policy_pack_accepts_the_policy() -> None:
    res = resource("aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps(POLICY), "role": "r"})
    assert findings_for(no_wildcard_resources, [res]) == []
    assert findings_for(no_wildcard_actions, [res]) == []
    # The upstream document as published is refused by the same rule.
    raw = resource(
        "aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps(UPSTREAM_POLICY), "role": "r"}
    )
    assert findings_for(no_wildcard_resources, [raw]) != []
    assert findings_for(security_group_writes_conditioned, [res]) == []
    assert findings_for(security_group_writes_conditioned, [raw]) != []


def test_partition_region_and_account_reach_every_arn() -> None:
    gov = controller_policy(
        account_id=ACCOUNT, region="us-gov-west-1", partition="aws-us-gov", cluster_name=CLUSTER
    )
    arns = [r for s in gov["Statement"] for r in _resources(s) if r != "*"]
    assert arns and all(r.startswith("arn:aws-us-gov:") for r in arns)
    assert all(":us-gov-west-1:" in r or r.split(":")[3] == "" for r in arns)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"account_id": "12345", "region": REGION, "cluster_name": CLUSTER}, "account_id"),
        ({"account_id": ACCOUNT, "region": "*", "cluster_name": CLUSTER}, "region"),
        (
            {
                "account_id": ACCOUNT,
                "region": REGION,
                "partition": "amazon",
                "cluster_name": CLUSTER,
            },
            "partition",
        ),
        ({"account_id": ACCOUNT, "region": REGION, "cluster_name": "*"}, "cluster_name"),
    ],
)
def test_bad_policy_arguments_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        controller_policy(**kwargs)
