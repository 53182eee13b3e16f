"""The recovery-drill program (stacks/drill.py): a landing zone for restores, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from offline.cli import EXIT_OK
from offline.graph import StackGraph
from offline.stackfile import load_stack
from policies.ttbt2_policies import ALL_POLICIES
from tests.conftest import ROOT, of_type, one
from tests.offline.test_cli import run
from tests.support.stacks import StackRenders

# The drill configuration is rendered once per session, by these tests and by the CLI.
pytestmark = pytest.mark.usefixtures("session_engine")


def _drill_graph(stack_file: Callable[..., Path], stacks: StackRenders) -> tuple[Path, StackGraph]:
    path = stack_file("drill-42", base="prod", drill=True)
    config = load_stack(ROOT, "drill-42", path)
    return path, stacks.run_stack(ROOT, config, preview=False)


def test_drill_stack_has_the_restore_landing_zone_only(
    stack_file: Callable[..., Path], stacks: StackRenders
) -> None:
    _, graph = _drill_graph(stack_file, stacks)
    types = {r.type for r in graph.resources}
    assert "aws:rds/instance:Instance" not in types
    assert "aws:eks/cluster:Cluster" not in types
    assert not any(t.startswith(("gcp:", "azure-native:", "kubernetes:")) for t in types)
    group = one(graph, "aws:rds/subnetGroup:SubnetGroup")
    assert all("isolated" in urn for urn in group.property_dependencies["subnetIds"])
    sg = one(graph, "aws:ec2/securityGroup:SecurityGroup", "-db")
    (rule,) = sg.props["ingress"]
    assert (rule["fromPort"], rule["toPort"]) == (5432, 5432)
    assert rule["cidrBlocks"] == [
        yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]["ttbt2:vpcCidr"]
    ]
    outputs = graph.outputs
    assert {"drillDbSubnetGroup", "drillDbSecurityGroupId", "userDataBucket"} <= set(outputs)
    # Everything can be destroyed at the end of the drill.
    assert not [r.name for r in graph.resources if r.option("protect")]


def test_drill_stack_brings_its_own_runner_for_the_smoke_checks(
    stack_file: Callable[..., Path], stacks: StackRenders
) -> None:
    """The restore job runs in the drill network: only from there is the database reachable."""
    _, graph = _drill_graph(stack_file, stacks)
    project = one(graph, "aws:codebuild/project:Project")
    assert project.props["name"] == "ttbt2-drill-42-ci-runner"
    assert graph.outputs["ciRunnerProject"]["value"] == "ttbt2-drill-42-ci-runner"
    network = [u for u in project.property_dependencies["vpcConfig"] if "Subnet::" in u]
    assert network and all("::ttbt2-drill-42-network-private-" in u for u in network)
    egress = of_type(graph, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    cidr = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]["ttbt2:vpcCidr"]
    assert {(r.props["fromPort"], r.props["cidrIpv4"]) for r in egress} == {
        (443, "0.0.0.0/0"),
        (5432, cidr),
    }
    # The Velero restore's scratch cluster (kind) runs its node as a container.
    assert project.props["environment"]["privilegedMode"] is True


def test_drill_stack_passes_the_pack_and_previews_clean(
    stack_file: Callable[..., Path], stacks: StackRenders
) -> None:
    path, graph = _drill_graph(stack_file, stacks)
    # The session's evaluation: the preview below evaluates the same graph and gets it again.
    findings = [f for f in stacks.evaluate(graph, ALL_POLICIES) if f.kind == "violation"]
    assert [f.policy for f in findings if f.enforcement == "mandatory"] == []
    code, text = run("preview", "--config-file", str(path))
    assert code == EXIT_OK, text
    assert "RTO (DR restore):" not in text and "stacks: drill-42 ok" in text
