"""Karpenter (controller, EC2NodeClass, NodePools) and its AWS side, on the mock engine.

Seed 4.8.1. Both components are wired as the platform wires them, in a first preview (outputs
unknown) and in an update (outputs known). Custom resources are checked against the vendored
CRDs, the Helm values against the vendored values.yaml.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.aws.context import AwsContext
from components.aws.karpenter_iam import (
    DISCOVERY_TAG,
    INTERRUPTION_EVENTS,
    KarpenterAws,
    KarpenterAwsArgs,
    controller_policies,
    queue_policy,
)
from components.k8s.karpenter import (
    CHART_DIR,
    CHART_REPOSITORY,
    SPOT_TAINT,
    Karpenter,
    KarpenterArgs,
    helm_values,
    node_pool_specs,
)
from offline.engine import run_program
from offline.graph import UNKNOWN, Resource, StackGraph
from offline.mocks import _suffix
from tests.conftest import of_type, one
from tests.support.validate.crds import validate_custom_resource
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

CRD_DIRS = [CHART_DIR / "crds"]
RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
MODES = pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
ENVS = ("dev", "staging", "prod")
CONTROLLER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/karpenter-aws-controller"
TAGS = {"project": "ttbt2", "environment": "x"}


def karpenter_args(environment: str, **overrides: Any) -> KarpenterArgs:
    """Args with placeholder AWS values, for the pure functions."""
    base = KarpenterArgs(
        environment=environment,
        cluster_name=f"ttbt2-{environment}",
        interruption_queue=f"ttbt2-{environment}-karpenter",
        controller_role_arn=f"arn:aws:iam::{ACCOUNT}:role/karpenter",
        node_role_name="ttbt2-node-role",
        spot_allowed=environment != "prod",
        cpu_limit=64,
        memory_limit_gib=256,
        tags=dict(TAGS),
    )
    return replace(base, **overrides)


def render(environment: str, preview: bool, *, with_key: bool = True) -> StackGraph:
    """Both components, the AWS one's outputs feeding the Kubernetes one."""

    def program() -> None:
        provider = aws.Provider("aws", region=REGION)
        cluster = k8s.Provider("k8s", kubeconfig="{}")
        on_aws = pulumi.ResourceOptions(providers={"aws": provider})
        ctx = AwsContext(
            account_id=pulumi.Output.from_input(ACCOUNT),
            partition=pulumi.Output.from_input("aws"),
            region=REGION,
        )
        node_role = aws.iam.Role("node-role", assume_role_policy="{}", tags=TAGS, opts=on_aws)
        key = aws.kms.Key("volumes", tags=TAGS, opts=on_aws) if with_key else None
        name = f"ttbt2-{environment}"
        side = KarpenterAws(
            "karpenter-aws",
            KarpenterAwsArgs(
                cluster_name=name,
                oidc_provider_arn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example/id/X",
                oidc_issuer_url="https://oidc.example/id/X",
                node_role_arn=node_role.arn,
                cluster_security_group_id="sg-0123456789abcdef0",
                context=ctx,
                tags=TAGS,
                node_volume_key_arn=key.arn if key else None,
            ),
            opts=on_aws,
        )
        Karpenter(
            "karpenter",
            replace(
                karpenter_args(environment),
                interruption_queue=side.queue_name,
                controller_role_arn=side.role_arn,
                node_role_name=node_role.name,
                node_volume_key_arn=key.arn if key else None,
                zones=["eu-west-1a"] if environment == "dev" else [],
            ),
            opts=pulumi.ResourceOptions(providers={"kubernetes": cluster}),
        )

    return run_program(program, project="t", stack=environment, preview=preview)


_graphs: dict[tuple[str, bool, bool], StackGraph] = {}


def graph(environment: str, preview: bool, *, with_key: bool = True) -> StackGraph:
    key = (environment, preview, with_key)
    if key not in _graphs:
        _graphs[key] = render(environment, preview, with_key=with_key)
    return _graphs[key]


def as_object(resource: Resource) -> dict[str, Any]:
    """The Kubernetes object a recorded custom resource asks for."""
    return {k: copy.deepcopy(v) for k, v in resource.props.items()}


def pools(g: StackGraph) -> dict[str, dict[str, Any]]:
    return {r.props["metadata"]["name"]: r.props["spec"] for r in of_type(g, NODE_POOL)}


def requirement(spec: dict[str, Any], key: str) -> dict[str, Any]:
    found = [r for r in spec["template"]["spec"]["requirements"] if r["key"] == key]
    assert len(found) == 1, key
    return found[0]


def policy_documents(g: StackGraph) -> dict[str, dict[str, Any]]:
    docs = {}
    for res in of_type(g, "aws:iam/policy:Policy"):
        docs[res.name.removeprefix("karpenter-aws-")] = json.loads(res.props["policy"])
    return docs


# ---- custom resources ----------------------------------------------------------------------


@MODES
@pytest.mark.parametrize("environment", ENVS)
def test_node_class_and_pools_match_the_vendored_crds(environment: str, preview: bool) -> None:
    g = graph(environment, preview)
    objects = of_type(g, NODE_POOL) + of_type(g, NODE_CLASS)
    assert len(objects) >= 2
    marker = UNKNOWN if preview else None
    for res in objects:
        assert validate_custom_resource(as_object(res), CRD_DIRS, unknown_marker=marker) == []


@pytest.mark.parametrize("environment", ENVS)
def test_crd_validation_catches_a_typo_in_each_object(environment: str) -> None:
    g = graph(environment, False)
    for res in of_type(g, NODE_POOL) + of_type(g, NODE_CLASS):
        obj = as_object(res)
        first = sorted(obj["spec"])[0]
        obj["spec"][first + "x"] = obj["spec"].pop(first)
        errors = validate_custom_resource(obj, CRD_DIRS)
        assert any(f"$.spec.{first}x: unknown field" in e for e in errors), errors


@MODES
@pytest.mark.parametrize("environment", ENVS)
def test_node_class_is_hardened_like_the_managed_node_groups(
    environment: str, preview: bool
) -> None:
    g = graph(environment, preview)
    spec = one(g, NODE_CLASS).props["spec"]
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (mapping,) = spec["blockDeviceMappings"]
    ebs = mapping["ebs"]
    assert mapping["deviceName"] == "/dev/xvda"
    assert ebs["encrypted"] is True and ebs["volumeType"] == "gp3"
    if preview:
        assert ebs["kmsKeyID"] == UNKNOWN
        assert spec["role"] == UNKNOWN
    else:
        assert ebs["kmsKeyID"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
        assert spec["role"] == "node-role"
    selector = [{"tags": {DISCOVERY_TAG: f"ttbt2-{environment}"}}]
    assert spec["subnetSelectorTerms"] == selector
    assert spec["securityGroupSelectorTerms"] == selector
    assert spec["tags"] == TAGS


def test_node_class_without_a_volume_key_uses_the_default_ebs_key() -> None:
    ebs = one(graph("staging", False, with_key=False), NODE_CLASS).props["spec"][
        "blockDeviceMappings"
    ][0]["ebs"]
    assert ebs["encrypted"] is True
    assert "kmsKeyID" not in ebs


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ("dev", {"burst": ["spot", "on-demand"]}),
        ("staging", {"burst": ["spot", "on-demand"]}),
        ("prod", {"burst": ["on-demand"]}),
    ],
)
def test_capacity_types_follow_the_environment(
    environment: str, expected: dict[str, list[str]]
) -> None:
    found = pools(graph(environment, False))
    assert {
        name: requirement(spec, "karpenter.sh/capacity-type")["values"]
        for name, spec in found.items()
    } == expected
    for spec in found.values():
        assert "taints" not in spec["template"]["spec"]


def test_spot_can_be_switched_off_outside_prod() -> None:
    found = node_pool_specs(karpenter_args("staging", spot_allowed=False))
    assert list(found) == ["burst"]
    assert requirement(found["burst"], "karpenter.sh/capacity-type")["values"] == ["on-demand"]


def test_prod_spot_is_a_separate_tainted_pool_with_half_the_limits() -> None:
    found = node_pool_specs(
        karpenter_args("prod", spot_allowed=True, cpu_limit=65, memory_limit_gib=256)
    )
    assert requirement(found["burst"], "karpenter.sh/capacity-type")["values"] == ["on-demand"]
    spot = found["burst-spot"]
    assert requirement(spot, "karpenter.sh/capacity-type")["values"] == ["spot"]
    assert spot["template"]["spec"]["taints"] == [SPOT_TAINT]
    assert spot["limits"] == {"cpu": "33", "memory": "128Gi"}
    assert found["burst"]["limits"] == {"cpu": "65", "memory": "256Gi"}
    for name, spec in found.items():
        obj = {
            "apiVersion": "karpenter.sh/v1",
            "kind": "NodePool",
            "metadata": {"name": name},
            "spec": spec,
        }
        assert validate_custom_resource(obj, CRD_DIRS) == []


@MODES
@pytest.mark.parametrize("environment", ENVS)
def test_pools_consolidate_expire_and_are_limited(environment: str, preview: bool) -> None:
    for name, spec in pools(graph(environment, preview)).items():
        disruption = spec["disruption"]
        assert disruption["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
        assert disruption["consolidateAfter"] == "1m"
        assert disruption["budgets"] == [{"nodes": "10%" if environment == "prod" else "20%"}]
        assert spec["template"]["spec"]["expireAfter"] == "720h"
        assert spec["template"]["spec"]["nodeClassRef"] == {
            "group": "karpenter.k8s.aws",
            "kind": "EC2NodeClass",
            "name": "default",
        }
        assert spec["template"]["metadata"]["labels"] == {"ttbt2.io/node-pool": name}
        assert spec["limits"] == {"cpu": "64", "memory": "256Gi"}


def test_zones_restrict_where_nodes_start() -> None:
    dev = pools(graph("dev", False))["burst"]
    assert requirement(dev, "topology.kubernetes.io/zone")["values"] == ["eu-west-1a"]
    prod = pools(graph("prod", False))["burst"]["template"]["spec"]["requirements"]
    assert "topology.kubernetes.io/zone" not in {r["key"] for r in prod}


# ---- controller release --------------------------------------------------------------------


@MODES
@pytest.mark.parametrize("environment", ENVS)
def test_controller_release_installs_the_vendored_version_with_queue_and_role(
    environment: str, preview: bool
) -> None:
    g = graph(environment, preview)
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    releases = {r.props["name"]: r.props for r in of_type(g, RELEASE)}
    assert set(releases) == {"karpenter", "karpenter-crd"}
    for props in releases.values():
        assert props["version"] == chart["version"]
        assert props["namespace"] == "karpenter"
        assert props["atomic"] is True
    controller = releases["karpenter"]
    assert controller["chart"] == f"{CHART_REPOSITORY}/karpenter"
    assert controller["skipCrds"] is True
    assert releases["karpenter-crd"]["chart"] == f"{CHART_REPOSITORY}/karpenter-crd"
    values = controller["values"]
    assert values["settings"]["clusterName"] == f"ttbt2-{environment}"
    assert values["replicas"] == (1 if environment == "dev" else 2)
    role = values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    queue = values["settings"]["interruptionQueue"]
    # The queue's name is an input, known even in a first preview; the role's ARN is not.
    assert role == (UNKNOWN if preview else CONTROLLER_ROLE_ARN)
    assert queue == f"ttbt2-{environment}-karpenter"
    assert values["serviceAccount"]["name"] == "karpenter"


@pytest.mark.parametrize("environment", ENVS)
def test_every_helm_value_path_exists_in_the_vendored_values(environment: str) -> None:
    chart_values = load_chart_values(CHART_DIR)
    values = helm_values(environment, "c", "q", "arn:aws:iam::1:role/r")
    assert unknown_value_paths(values, chart_values, set()) == []
    typo = copy.deepcopy(values)
    typo["settings"]["interruptionQueu"] = typo["settings"].pop("interruptionQueue")
    assert unknown_value_paths(typo, chart_values, set()) == ["settings.interruptionQueu"]


@MODES
def test_namespace_enforces_the_restricted_profile(preview: bool) -> None:
    ns = one(graph("prod", preview), "kubernetes:core/v1:Namespace")
    assert ns.props["metadata"]["name"] == "karpenter"
    assert ns.props["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@MODES
def test_custom_resources_wait_for_the_controller(preview: bool) -> None:
    g = graph("staging", preview)
    release = one(g, RELEASE, "karpenter-release")
    crds = one(g, RELEASE, "karpenter-crds")
    assert crds.urn in release.dependencies
    node_class = one(g, NODE_CLASS)
    assert release.urn in node_class.dependencies
    for pool in of_type(g, NODE_POOL):
        assert {release.urn, node_class.urn} <= set(pool.dependencies)


# ---- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cpu_limit": 0}, "cpu_limit must be a positive integer"),
        ({"memory_limit_gib": True}, "memory_limit_gib must be a positive integer"),
        ({"expire_after": "30d"}, "expire_after must be a duration"),
        ({"consolidate_after": ""}, "consolidate_after must be a duration"),
        ({"architectures": ["x86_64"]}, "architectures must be a non-empty subset"),
        ({"instance_categories": ["cm"]}, "instance_categories must be EC2 family letters"),
        ({"node_disk_size_gb": 10}, "node_disk_size_gb must be between 20 and 500"),
        ({"environment": "Prod"}, "environment must be a DNS label"),
        ({"tags": {"karpenter.sh/nodepool": "x"}}, "tags may not set keys Karpenter reserves"),
    ],
)
def test_bad_arguments_are_refused_by_name(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(karpenter_args("dev"), **overrides)


def test_bad_cluster_name_is_refused() -> None:
    ctx = AwsContext(account_id=None, partition=None, region=REGION)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cluster_name must be an EKS cluster name"):
        KarpenterAwsArgs(
            cluster_name="-bad name",
            oidc_provider_arn="a",
            oidc_issuer_url="b",
            node_role_arn="c",
            cluster_security_group_id="d",
            context=ctx,
        )


# ---- AWS side -------------------------------------------------------------------------------


@MODES
def test_interruption_queue_is_encrypted_and_fed_by_the_four_event_rules(preview: bool) -> None:
    g = graph("prod", preview)
    queue = one(g, "aws:sqs/queue:Queue").props
    assert queue["sqsManagedSseEnabled"] is True
    assert queue["messageRetentionSeconds"] == 300
    assert queue["name"] == "ttbt2-prod-karpenter"
    rules = of_type(g, "aws:cloudwatch/eventRule:EventRule")
    patterns = [json.loads(r.props["eventPattern"]) for r in rules]
    assert sorted((p["source"][0], p["detail-type"][0]) for p in patterns) == sorted(
        INTERRUPTION_EVENTS.values()
    )
    targets = of_type(g, "aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == 4
    if not preview:
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue/ttbt2-prod-karpenter"
        assert {t.props["arn"] for t in targets} == {arn}


def test_queue_policy_allows_only_the_event_services_and_tls() -> None:
    g = graph("prod", False)
    policy = json.loads(one(g, "aws:sqs/queuePolicy:QueuePolicy").props["policy"])
    rules = sorted(
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:eventrule/{r.props['name']}"
        for r in of_type(g, "aws:cloudwatch/eventRule:EventRule")
    )
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(allow) == 1
    assert sorted(allow[0]["Principal"]["Service"]) == ["events.amazonaws.com", "sqs.amazonaws.com"]
    assert allow[0]["Action"] == "sqs:SendMessage"
    deny = {s["Sid"]: s for s in policy["Statement"] if s["Effect"] == "Deny"}
    assert deny["DenyHTTP"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["DenyOtherEventSources"]["Condition"] == {"ArnNotEquals": {"aws:SourceArn": rules}}


def test_queue_policy_function_lists_the_rules_it_is_given() -> None:
    doc = queue_policy("arn:q", ["arn:b", "arn:a"])
    (deny,) = [s for s in doc["Statement"] if s["Sid"] == "DenyOtherEventSources"]
    assert deny["Condition"]["ArnNotEquals"]["aws:SourceArn"] == ["arn:a", "arn:b"]


@MODES
def test_controller_role_trusts_only_the_karpenter_service_account(preview: bool) -> None:
    g = graph("prod", preview)
    role = one(g, "aws:iam/role:Role", "karpenter-aws-controller").props
    trust = json.loads(role["assumeRolePolicy"])
    (stmt,) = trust["Statement"]
    assert stmt["Condition"]["StringEquals"]["oidc.example/id/X:sub"] == (
        "system:serviceaccount:karpenter:karpenter"
    )


def test_controller_policies_are_scoped_to_the_cluster_and_region() -> None:
    g = graph("prod", False)
    docs = policy_documents(g)
    assert set(docs) == {"node-lifecycle", "integration"}
    attachments = of_type(g, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert [a.props["role"] for a in attachments] == ["karpenter-aws-controller"] * 2
    statements = {s["Sid"]: s for d in docs.values() for s in d["Statement"]}
    owned = {"aws:ResourceTag/kubernetes.io/cluster/ttbt2-prod": "owned"}
    for sid in ("AllowScopedDeletion", "AllowScopedEC2LaunchTemplateAccessActions"):
        assert statements[sid]["Condition"]["StringEquals"] == owned
    create = statements["AllowScopedEC2InstanceActionsWithTags"]["Condition"]["StringEquals"]
    assert create["aws:RequestTag/eks:eks-cluster-name"] == "ttbt2-prod"
    read = statements["AllowRegionalReadActions"]
    assert read["Condition"] == {"StringEquals": {"aws:RequestedRegion": REGION}}
    node_role = f"arn:aws:iam::{ACCOUNT}:role/node-role"
    assert statements["AllowPassingInstanceRole"]["Resource"] == node_role
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue/ttbt2-prod-karpenter"
    assert statements["AllowInterruptionQueueActions"]["Resource"] == queue
    assert statements["AllowAPIServerEndpointDiscovery"]["Resource"] == (
        f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/ttbt2-prod"
    )
    # Resource "*" only for actions that accept no resource ARN.
    for stmt in statements.values():
        if stmt["Resource"] == "*":
            assert stmt["Sid"] in {
                "AllowRegionalReadActions",
                "AllowPricingReadActions",
                "AllowUnscopedInstanceProfileListAction",
            }


def test_volume_key_use_is_limited_to_ec2() -> None:
    docs = policy_documents(graph("prod", False))
    statements = {s["Sid"]: s for s in docs["node-lifecycle"]["Statement"]}
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{uuid.UUID(_suffix('volumes', 32))}"
    for sid in ("AllowNodeVolumeEncryption", "AllowNodeVolumeGrants"):
        assert statements[sid]["Resource"] == key
        assert statements[sid]["Condition"]["StringEquals"] == {
            "kms:ViaService": f"ec2.{REGION}.amazonaws.com"
        }
    assert statements["AllowNodeVolumeGrants"]["Condition"]["Bool"] == {
        "kms:GrantIsForAWSResource": "true"
    }
    without = policy_documents(graph("staging", False, with_key=False))["node-lifecycle"]
    assert not [s for s in without["Statement"] if "kms" in json.dumps(s["Action"])]


def test_each_policy_fits_the_iam_managed_policy_size_limit() -> None:
    docs = controller_policies(
        cluster_name="a" * 80,
        partition="aws-us-gov",
        region="us-gov-west-1",
        account_id=ACCOUNT,
        queue_arn=f"arn:aws-us-gov:sqs:us-gov-west-1:{ACCOUNT}:{'a' * 80}",
        node_role_arn=f"arn:aws-us-gov:iam::{ACCOUNT}:role/{'r' * 64}",
        volume_key_arn=f"arn:aws-us-gov:kms:us-gov-west-1:{ACCOUNT}:key/{'k' * 36}",
    )
    for doc in docs.values():
        assert len(json.dumps(doc, separators=(",", ":"))) <= 6144


@MODES
def test_cluster_security_group_gets_the_discovery_tag(preview: bool) -> None:
    tag = one(graph("dev", preview), "aws:ec2/tag:Tag").props
    assert (tag["resourceId"], tag["key"], tag["value"]) == (
        "sg-0123456789abcdef0",
        DISCOVERY_TAG,
        "ttbt2-dev",
    )
