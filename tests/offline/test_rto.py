"""RTO estimate: critical path through the resource graph, objective, cycles, report lines."""

from __future__ import annotations

import pytest

from offline.graph import Resource, StackGraph
from offline.restore_times import DEFAULT, ESTIMATE, MEASURED, TIMES, Duration, duration_for
from offline.rto import (
    OBJECTIVE_KEY,
    RtoGraphError,
    estimate_rto,
    format_rto,
    objective_minutes,
    predecessors,
)
from tests.support.stacks import StackRenders

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
EKS = "aws:eks/cluster:Cluster"
NODES = "aws:eks/nodeGroup:NodeGroup"
RDS = "aws:rds/instance:Instance"
HELM = "kubernetes:helm.sh/v3:Release"
BUCKET = "aws:s3/bucket:Bucket"


def _res(
    name: str,
    type_: str,
    *deps: Resource,
    parent: Resource | None = None,
    custom: bool = True,
    provider: Resource | None = None,
) -> Resource:
    return Resource(
        urn=f"urn:pulumi:prod::p::{type_}::{name}",
        type=type_,
        name=name,
        parent=parent.urn if parent else None,
        dependencies=[d.urn for d in deps],
        custom=custom,
        provider=f"{provider.urn}::id" if provider else None,
    )


def _minutes(type_: str, restore: bool = False) -> float:
    return duration_for(type_, restore=restore)[0].minutes


def _graph(*resources: Resource) -> StackGraph:
    return StackGraph(project="p", stack="prod", resources=list(resources))


def test_critical_path_is_the_longest_path_by_duration() -> None:
    vpc = _res("vpc", VPC)
    subnet = _res("subnet", SUBNET, vpc)
    db = _res("db", RDS, subnet)
    cluster = _res("cluster", EKS, subnet)
    nodes = _res("nodes", NODES, cluster)
    bucket = _res("bucket", BUCKET)
    estimate = estimate_rto(_graph(vpc, subnet, db, cluster, nodes, bucket))
    eks_branch = _minutes(EKS) + _minutes(NODES)
    db_branch = _minutes(RDS, restore=True)
    assert db_branch > eks_branch, "the test needs the restore branch to be the longer one"
    assert [s.name for s in estimate.path] == ["vpc", "subnet", "db"]
    assert estimate.total_minutes == pytest.approx(_minutes(VPC) + _minutes(SUBNET) + db_branch)
    assert [s.action for s in estimate.path] == ["create", "create", "restore"]


def test_rds_uses_its_restore_figure_not_its_creation_figure() -> None:
    estimate = estimate_rto(_graph(_res("db", RDS)))
    restore = TIMES[RDS].restore
    assert restore is not None
    assert estimate.total_minutes == restore.minutes != TIMES[RDS].create.minutes


def test_a_component_completes_when_its_children_do() -> None:
    component = _res("cluster", "ttbt2:aws:KubernetesCluster", custom=False)
    control_plane = _res("control-plane", EKS, parent=component)
    nodes = _res("nodes", NODES, control_plane, parent=component)
    release = _res("release", HELM, component)
    estimate = estimate_rto(_graph(component, control_plane, nodes, release))
    assert [s.name for s in estimate.path] == ["control-plane", "nodes", "cluster", "release"]
    assert estimate.total_minutes == pytest.approx(_minutes(EKS) + _minutes(NODES) + _minutes(HELM))


def test_resources_wait_for_their_provider_and_what_it_depends_on() -> None:
    cluster = _res("cluster", EKS)
    k8s = _res("k8s", "pulumi:providers:kubernetes", cluster)
    release = _res("release", HELM, provider=k8s)
    estimate = estimate_rto(_graph(cluster, k8s, release))
    assert [s.name for s in estimate.path] == ["cluster", "k8s", "release"]
    assert estimate.total_minutes == pytest.approx(_minutes(EKS) + _minutes(HELM))


def test_resources_outside_the_scope_take_no_time_but_keep_the_order() -> None:
    azure = _res("account", "azure-native:storage:StorageAccount")
    bucket = _res("bucket", BUCKET, azure)
    estimate = estimate_rto(_graph(azure, bucket))
    assert estimate.path[0].action == "kept" and estimate.path[0].minutes == 0
    assert estimate.total_minutes == pytest.approx(_minutes(BUCKET))


def test_unknown_types_use_the_default_and_are_listed() -> None:
    estimate = estimate_rto(_graph(_res("thing", "aws:made/up:Thing")))
    assert estimate.total_minutes == DEFAULT.minutes
    assert estimate.defaulted_types == ("aws:made/up:Thing",)
    assert "aws:made/up:Thing" in "\n".join(format_rto(estimate))


def test_a_cycle_is_refused_with_the_resources_named() -> None:
    a = _res("a", VPC)
    b = _res("b", SUBNET, a)
    a.dependencies.append(b.urn)
    with pytest.raises(RtoGraphError, match=r"cycle.*a -> b -> a|cycle.*b -> a -> b"):
        estimate_rto(_graph(a, b))


def test_a_dependency_on_ones_own_ancestor_is_not_a_cycle() -> None:
    component = _res("comp", "ttbt2:aws:Network", custom=False)
    child = _res("vpc", VPC, component, parent=component)
    assert predecessors(_graph(component, child))[child.urn] == []
    assert estimate_rto(_graph(component, child)).total_minutes == _minutes(VPC)


def test_an_objective_below_the_estimate_fails_with_the_message() -> None:
    vpc = _res("vpc", VPC)
    cluster = _res("cluster", EKS, vpc)
    nodes = _res("nodes", NODES, cluster)
    release = _res("release", HELM, nodes)
    estimate = estimate_rto(_graph(vpc, cluster, nodes, release), objective=10)
    assert not estimate.within_objective
    message = estimate.failure()
    assert message is not None
    total = _minutes(VPC) + _minutes(EKS) + _minutes(NODES) + _minutes(HELM)
    assert "objective of 10 min" in message and f"estimated at {total:g} min" in message
    # the three longest steps, longest first; the 0.5-minute VPC is not among them
    assert message.index("cluster") < message.index("nodes")
    assert "release" in message and "vpc" not in message
    assert message in format_rto(estimate)[-1]


def test_an_estimate_within_the_objective_has_no_failure() -> None:
    estimate = estimate_rto(_graph(_res("vpc", VPC)))
    assert estimate.within_objective and estimate.failure() is None
    assert "✅" in format_rto(estimate)[1]


def test_the_prod_stack_gets_an_estimate_with_every_step_sourced(stacks: StackRenders) -> None:
    estimate = estimate_rto(stacks.graph("prod"))
    timed = [s for s in estimate.path if s.minutes > 0]
    assert timed and estimate.total_minutes == pytest.approx(sum(s.minutes for s in timed))
    assert all(s.source and s.basis for s in timed)
    lines = format_rto(estimate)
    for step in timed:
        assert any(step.name in line for line in lines)
        assert any(f"source: {step.source}" in line for line in lines)
    assert estimate.objective_minutes == 120


@pytest.mark.parametrize("figure", [t.create for t in TIMES.values()])
def test_every_figure_names_its_source_honestly(figure: Duration) -> None:
    assert figure.source in (ESTIMATE, MEASURED) or figure.source.startswith("https://")
    assert figure.basis


def test_objective_setting_defaults_and_limits() -> None:
    assert objective_minutes(None) == 120
    assert objective_minutes(90) == 90.0
    for bad in (0, -5, 121, "90", True):
        with pytest.raises(ValueError, match=OBJECTIVE_KEY) as info:
            objective_minutes(bad)
        assert "at most 120" in str(info.value)
