"""Velero component, rendered on the mock engine and checked against the vendored chart files.

Helm values are checked against the vendored values.yaml, the Schedules against the vendored
Velero CRDs, and the EBS snapshot permissions against the policy pack's IAM rules.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pytest
import yaml

from components.k8s.velero import (
    API_VERSION,
    AWS_PLUGIN_IMAGE,
    CHART,
    CHART_DIR,
    CHART_REPOSITORY,
    CRD_DIRS,
    DAILY_RETENTION_DAYS,
    EXCLUDED_NAMESPACES,
    NAMESPACE,
    SERVICE_ACCOUNT,
    VELERO_VERSION,
    Velero,
    VeleroArgs,
    helm_values,
    schedules,
    volume_snapshot_policy,
)
from offline.engine import run_program
from offline.graph import UNKNOWN, Resource, StackGraph
from policies.ttbt2_policies.iam import no_wildcard_actions, no_wildcard_resources
from tests.conftest import of_type, one
from tests.support.policies import findings_for, resource
from tests.support.validate.crds import validate_custom_resource
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

ROLE_ARN = "arn:aws:iam::123456789012:role/ttbt2-prod-snapshots-velero-prod"
COMPONENT = "ttbt2:k8s:Velero"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"
SCHEDULE = f"kubernetes:{API_VERSION}:Schedule"
VOLUME_KEY = "arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-1111-2222-3333-444455556666"

BASE = VeleroArgs(
    environment="prod", bucket="ttbt2-prod-backups", role_arn=ROLE_ARN, region="eu-west-1"
)
STAGING = replace(BASE, environment="staging")
DEV = replace(BASE, environment="dev", region="eu-west-3")

_cache: dict[tuple[str, bool], tuple[StackGraph, Velero]] = {}


def render(args: VeleroArgs, *, preview: bool) -> tuple[StackGraph, Velero]:
    """The component alone, with the caller's provider and a bucket name known only after up."""
    key = (repr(args), preview)
    if key not in _cache:
        built: dict[str, Velero] = {}

        def program() -> None:
            provider = k8s.Provider("k8s", kubeconfig="{}")
            suffix = random.RandomId("bucket-suffix", byte_length=4)
            built["velero"] = Velero(
                "velero",
                replace(args, bucket=suffix.hex.apply(lambda h: f"{args.bucket}-{h}")),
                opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
            )

        graph = run_program(
            program, project="ttbt2-platform", stack=args.environment, preview=preview
        )
        _cache[key] = (graph, built["velero"])
    return _cache[key]


CASES = [
    pytest.param(args, preview, id=f"{args.environment}-{'preview' if preview else 'up'}")
    for args in (BASE, STAGING, DEV)
    for preview in (True, False)
]


def values(graph: StackGraph) -> dict[str, Any]:
    found: dict[str, Any] = one(graph, RELEASE).props["values"]
    return found


def schedule_object(res: Resource) -> dict[str, Any]:
    """The Kubernetes object a recorded Schedule asks for, rebuilt from its inputs."""
    return {
        key: copy.deepcopy(res.props[key]) for key in ("apiVersion", "kind", "metadata", "spec")
    }


def by_name(graph: StackGraph) -> dict[str, Resource]:
    return {r.props["metadata"]["name"]: r for r in of_type(graph, SCHEDULE)}


# ---- the release -----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_every_value_path_exists_in_the_vendored_values_yaml(
    args: VeleroArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    chart_values = load_chart_values(CHART_DIR)
    assert unknown_value_paths(values(graph), chart_values, set()) == []
    # The check bites: a misspelt path is reported.
    broken = copy.deepcopy(values(graph))
    broken["configuration"]["backupStorageLocations"] = broken["configuration"].pop(
        "backupStorageLocation"
    )
    broken["deployNodeAgents"] = False
    assert unknown_value_paths(broken, chart_values, set()) == [
        "configuration.backupStorageLocations",
        "deployNodeAgents",
    ]


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_release_installs_the_vendored_chart_version_atomically(
    args: VeleroArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    props = one(graph, RELEASE).props
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert props["chart"] == CHART
    assert props["version"] == chart["version"]
    assert props["repositoryOpts"] == {"repo": CHART_REPOSITORY}
    assert props["namespace"] in (NAMESPACE, UNKNOWN)
    assert props["createNamespace"] is False
    assert props["atomic"] is True
    assert props["cleanupOnFail"] is True


def test_velero_and_aws_plugin_versions_match_the_vendored_chart() -> None:
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    chart_values = load_chart_values(CHART_DIR)
    assert str(chart["appVersion"]) == VELERO_VERSION
    assert helm_values(BASE)["image"]["tag"] == chart_values["image"]["tag"]
    # velero-plugin-for-aws v1.<n-4>.x is the line built against Velero 1.<n>.x.
    velero_minor = int(VELERO_VERSION.split(".")[1])
    repository, _, tag = AWS_PLUGIN_IMAGE.rpartition(":")
    assert repository == "docker.io/velero/velero-plugin-for-aws"
    major, minor, patch = tag.removeprefix("v").split(".")
    assert (major, int(minor)) == ("1", velero_minor - 4), AWS_PLUGIN_IMAGE
    assert patch.isdigit(), "pin an exact plugin release, never a moving tag"


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_backups_go_to_the_callers_prefix_in_the_bucket_region_through_irsa(
    args: VeleroArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    vals = values(graph)
    [location] = vals["configuration"]["backupStorageLocation"]
    assert location["provider"] == "aws"
    assert location["prefix"] == f"velero/{args.environment}"
    assert location["default"] is True
    assert location["config"] == {"region": args.region}, "no key of its own: bucket default SSE"
    if preview:
        assert location["bucket"] == UNKNOWN
    else:
        assert location["bucket"].startswith(f"{args.bucket}-")
    [snapshots] = vals["configuration"]["volumeSnapshotLocation"]
    assert snapshots["provider"] == "aws"
    assert snapshots["config"] == {"region": args.region}
    assert vals["credentials"] == {"useSecret": False}
    account = vals["serviceAccount"]["server"]
    assert account["name"] == SERVICE_ACCOUNT
    assert account["annotations"] == {"eks.amazonaws.com/role-arn": ROLE_ARN}


def test_prefix_can_be_set_by_the_caller() -> None:
    [location] = helm_values(replace(BASE, prefix="cluster/prod"))["configuration"][
        "backupStorageLocation"
    ]
    assert location["prefix"] == "cluster/prod"


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_no_node_agent_and_the_aws_plugin_is_installed(args: VeleroArgs, preview: bool) -> None:
    graph, _ = render(args, preview=preview)
    vals = values(graph)
    assert vals["deployNodeAgent"] is False
    assert vals["configuration"]["defaultVolumesToFsBackup"] is False
    assert vals["snapshotsEnabled"] is True
    [plugin] = vals["initContainers"]
    assert plugin["image"] == AWS_PLUGIN_IMAGE
    assert plugin["volumeMounts"] == [{"mountPath": "/target", "name": "plugins"}]


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_every_container_meets_the_restricted_pod_security_profile(
    args: VeleroArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    vals = values(graph)
    pod = vals["podSecurityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] != 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    contexts = {
        "velero": vals["containerSecurityContext"],
        "aws-plugin": vals["initContainers"][0]["securityContext"],
        "kubectl": vals["kubectl"]["containerSecurityContext"],
    }
    for container, context in contexts.items():
        assert context["allowPrivilegeEscalation"] is False, container
        assert context["capabilities"] == {"drop": ["ALL"]}, container
        assert context.get("privileged") is not True, container
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, container


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_every_container_has_requests_and_limits(args: VeleroArgs, preview: bool) -> None:
    graph, _ = render(args, preview=preview)
    vals = values(graph)
    for where, res in {
        "velero": vals["resources"],
        "aws-plugin": vals["initContainers"][0]["resources"],
        "upgrade-crds": vals["upgradeJobResources"],
        "kubectl": vals["kubectl"]["resources"],
    }.items():
        for kind in ("requests", "limits"):
            assert set(res[kind]) == {"cpu", "memory"}, (where, kind)


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_metrics_are_scraped_through_a_service_monitor(args: VeleroArgs, preview: bool) -> None:
    graph, _ = render(args, preview=preview)
    metrics = values(graph)["metrics"]
    assert metrics["enabled"] is True
    assert metrics["serviceMonitor"] == {"enabled": True, "autodetect": False}


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_namespace_enforces_restricted_pod_security(args: VeleroArgs, preview: bool) -> None:
    graph, _ = render(args, preview=preview)
    namespace = one(graph, NAMESPACE_TYPE)
    labels = namespace.props["metadata"]["labels"]
    assert namespace.props["metadata"]["name"] == NAMESPACE
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    assert labels["environment"] == args.environment
    assert namespace.urn in one(graph, RELEASE).dependencies


# ---- schedules -------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_every_schedule_matches_the_vendored_crd(args: VeleroArgs, preview: bool) -> None:
    graph, _ = render(args, preview=preview)
    found = of_type(graph, SCHEDULE)
    assert found
    for res in found:
        assert validate_custom_resource(schedule_object(res), CRD_DIRS) == [], res.name
        typo = schedule_object(res)
        typo["spec"]["template"]["excludeNamespaces"] = typo["spec"]["template"].pop(
            "excludedNamespaces"
        )
        errors = "\n".join(validate_custom_resource(typo, CRD_DIRS))
        assert "$.spec.template.excludeNamespaces: unknown field" in errors


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_daily_schedule_keeps_backups_per_environment(args: VeleroArgs, preview: bool) -> None:
    graph, _ = render(args, preview=preview)
    daily = by_name(graph)["daily"].props["spec"]
    days = DAILY_RETENTION_DAYS[args.environment]
    assert daily["template"]["ttl"] == f"{24 * days}h0m0s"
    assert daily["template"]["snapshotVolumes"] is True
    assert daily["template"]["volumeSnapshotLocations"] == ["default"]
    assert daily["schedule"].split()[2:] == ["*", "*", "*"], "runs every day"
    assert DAILY_RETENTION_DAYS == {"dev": 7, "staging": 14, "prod": 35}


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_hourly_schedule_in_prod_only_covers_objects_for_a_one_hour_rpo(
    args: VeleroArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    found = by_name(graph)
    if args.environment != "prod":
        assert sorted(found) == ["daily"]
        return
    assert sorted(found) == ["daily", "hourly"]
    hourly = found["hourly"].props["spec"]
    minute, hour, *rest = hourly["schedule"].split()
    assert minute.isdigit() and hour == "*" and rest == ["*", "*", "*"], "runs every hour"
    assert hourly["template"]["snapshotVolumes"] is False
    assert hourly["template"]["ttl"] == "48h0m0s"


def test_retention_and_hourly_can_be_overridden() -> None:
    found = schedules(replace(DEV, daily_retention_days=3, hourly=True))
    assert found["daily"]["template"]["ttl"] == "72h0m0s"
    assert "hourly" in found
    assert "hourly" not in schedules(replace(BASE, hourly=False))


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_schedules_skip_system_namespaces_and_keep_their_backups(
    args: VeleroArgs, preview: bool
) -> None:
    graph, _ = render(args, preview=preview)
    release = one(graph, RELEASE)
    for name, res in by_name(graph).items():
        spec = res.props["spec"]
        excluded = spec["template"]["excludedNamespaces"]
        assert {"kube-system", NAMESPACE} <= set(excluded), name
        assert list(EXCLUDED_NAMESPACES) == excluded
        assert "includedNamespaces" not in spec["template"], "every other namespace"
        assert spec["template"]["includeClusterResources"] is True
        assert spec["useOwnerReferencesInBackup"] is False
        assert spec["template"]["storageLocation"] == "default"
        assert res.props["metadata"]["namespace"] == NAMESPACE
        assert release.urn in res.dependencies, "the release installs the Schedule CRD"


# ---- component shape -------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "preview"), CASES)
def test_children_hang_off_the_component_and_use_the_callers_provider(
    args: VeleroArgs, preview: bool
) -> None:
    graph, velero = render(args, preview=preview)
    component = one(graph, COMPONENT)
    (provider,) = of_type(graph, "pulumi:providers:kubernetes")
    children = [
        r
        for r in graph.resources
        if r.custom and r.type.startswith("kubernetes:") and not r.type.startswith("pulumi:")
    ]
    assert len(children) == 2 + len(velero.schedules)
    installation = one(graph, "ttbt2:k8s:NamespacedRelease")
    assert installation.parent == component.urn
    for child in children:
        assert child.parent in (component.urn, installation.urn), child.name
        assert child.provider is not None and child.provider.startswith(provider.urn + "::")
    assert velero.backup_prefix == f"velero/{args.environment}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"environment": "Prod"}, "environment must be a DNS label"),
        ({"region": "europe"}, "region must be an AWS region"),
        ({"prefix": "/velero/prod"}, "prefix must be an S3 key prefix"),
        ({"prefix": "velero/prod/"}, "prefix must be an S3 key prefix"),
        ({"daily_retention_days": 0}, "daily_retention_days must be a positive integer"),
        ({"daily_retention_days": True}, "daily_retention_days must be a positive integer"),
        ({"role_arn": "arn:aws:iam::123:user/x"}, "role_arn must be an IAM role ARN"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_created(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        replace(BASE, **change)


# ---- EBS snapshot permissions ----------------------------------------------------------------


def policy_resource(document: dict[str, Any]) -> Resource:
    return resource(
        "aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps(document), "role": "velero"}
    )


@pytest.mark.parametrize("keys", [[VOLUME_KEY], []], ids=["with-key", "no-key"])
def test_volume_snapshot_policy_passes_the_least_privilege_rules(keys: list[str]) -> None:
    document = volume_snapshot_policy("eu-west-1", "123456789012", keys)
    for rule in (no_wildcard_resources, no_wildcard_actions):
        assert findings_for(rule, [policy_resource(document)]) == [], rule.name
    actions = {
        action
        for stmt in document["Statement"]
        for action in ([stmt["Action"]] if isinstance(stmt["Action"], str) else stmt["Action"])
    }
    expected = {"ec2:CreateSnapshot", "ec2:CreateVolume", "ec2:DeleteSnapshot", "ec2:CreateTags"}
    assert expected <= actions
    assert ("kms:CreateGrant" in actions) is bool(keys)
    # The check bites: the plugin README's Resource "*" would be refused.
    broad = copy.deepcopy(document)
    broad["Statement"][1]["Resource"] = "*"
    assert findings_for(no_wildcard_resources, [policy_resource(broad)]) != []


def test_snapshots_are_deleted_only_when_velero_tagged_them() -> None:
    document = volume_snapshot_policy("eu-west-1", "123456789012", [VOLUME_KEY])
    [delete] = [s for s in document["Statement"] if s["Action"] == "ec2:DeleteSnapshot"]
    assert delete["Condition"] == {"Null": {"aws:ResourceTag/velero.io/backup": "false"}}
    assert delete["Resource"] == "arn:aws:ec2:eu-west-1::snapshot/*"
    [grant] = [s for s in document["Statement"] if s["Action"] == "kms:CreateGrant"]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert grant["Resource"] == [VOLUME_KEY]
