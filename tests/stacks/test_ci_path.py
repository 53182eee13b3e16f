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


def test_the_pipelines_pushgateway_name_resolves_in_prods_vpc_to_its_internal_alb() -> None:
    """Nothing hollow: the name the app pipeline pushes to leads to the gateway, over HTTPS.

    prod's in-VPC runner pushes every deployment event to ``https://<pushgatewayHost>``: the
    name must resolve in prod's VPC (a private zone associated with it) to the gateway's own
    internal load balancer (the Ingress's status), which serves that host with a certificate.
    """
    graph = render("prod")
    host = "pushgateway.internal.ttbt2.example"
    ingress = one(
        graph, "kubernetes:networking.k8s.io/v1:Ingress", "ttbt2-prod-pushgateway-ingress"
    )
    assert [rule["host"] for rule in ingress.props["spec"]["rules"]] == [host]
    annotations = ingress.props["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internal"
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"].startswith("arn:aws:acm:")
    zone = one(graph, "aws:route53/zone:Zone", "ttbt2-prod-pushgateway-dns-zone")
    assert zone.props["name"] == host
    (vpc,) = zone.props["vpcs"]
    assert zone.property_dependencies["vpcs"] == [
        one(graph, "aws:ec2/vpc:Vpc", "ttbt2-prod-network-vpc").urn
    ]
    assert vpc["vpcRegion"] == "eu-west-1"
    record = one(graph, "aws:route53/record:Record", "ttbt2-prod-pushgateway-dns-record")
    (alias,) = record.props["aliases"]
    # The target is the Ingress's own load balancer (its status, once the controller made it).
    assert record.props["name"] == host and alias["name"].endswith(".elb.amazonaws.com")
    assert record.property_dependencies["aliases"] == [ingress.urn]
