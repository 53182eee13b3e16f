"""Nothing hollow: each stack's private cluster endpoint is reached by the stack's CI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from offline.evaluate import evaluate
from offline.stackfile import load_stack
from policies.ttbt2_policies.eks import private_endpoint_reached_by_ci
from tests.conftest import ROOT, STACKS, one, render
from tests.support.stacks import StackRenders

pytestmark = pytest.mark.usefixtures("session_engine")


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_reaches_its_private_endpoint_from_its_runner(stack: str) -> None:
    graph = render(stack)
    cluster = one(graph, "aws:eks/cluster:Cluster")
    assert cluster.props["vpcConfig"]["endpointPublicAccess"] is False
    assert evaluate(graph, [private_endpoint_reached_by_ci]) == []


def test_a_stack_without_its_runner_fails_the_pack(
    stack_file: Callable[..., Path], stacks: StackRenders
) -> None:
    path = stack_file("norunner", base="dev", ciRunnerEnabled=False)
    graph = stacks.run_stack(ROOT, load_stack(ROOT, "norunner", path), preview=False)
    assert not [r for r in graph.resources if r.type.startswith("aws:codebuild/")]
    (finding,) = evaluate(graph, [private_endpoint_reached_by_ci])
    assert finding.kind == "violation"
    assert finding.urn == one(graph, "aws:eks/cluster:Cluster").urn
