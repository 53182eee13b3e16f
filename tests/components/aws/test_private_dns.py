"""A private DNS name for an internal load balancer: a zone of exactly that name, in one VPC."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.private_dns import (
    ALB_HOSTED_ZONE_IDS,
    PrivateAlias,
    PrivateAliasArgs,
    is_host,
)
from config import SettingsError, parse_raw
from offline.engine import run_program
from offline.graph import StackGraph
from tests.conftest import one, raw_settings

HOST = "pushgateway.internal.ttbt2.example"
TARGET = "internal-k8s-ttbt2prodinternal-0123456789.eu-west-1.elb.amazonaws.com"


def _args(**changes: Any) -> PrivateAliasArgs:
    values: dict[str, Any] = {
        "host": HOST,
        "vpc_id": "vpc-1",
        "region": "eu-west-1",
        "load_balancer_dns_name": TARGET,
        "tags": {"env": "unit"},
    }
    return PrivateAliasArgs(**{**values, **changes})


@pytest.fixture(scope="module")
def graph() -> StackGraph:
    def program() -> None:
        provider = aws.Provider("aws", region="eu-west-1")
        PrivateAlias("gw-dns", _args(), opts=pulumi.ResourceOptions(providers={"aws": provider}))

    return run_program(program, project="t", stack="unit", preview=False)


def test_the_zone_is_the_name_itself_and_private_to_the_vpc(graph: StackGraph) -> None:
    zone = one(graph, "aws:route53/zone:Zone")
    # Exactly the host: a parent-domain zone would hide the public records inside the VPC.
    assert zone.props["name"] == HOST
    assert zone.props["vpcs"] == [{"vpcId": "vpc-1", "vpcRegion": "eu-west-1"}]


def test_the_name_is_an_alias_to_the_load_balancer(graph: StackGraph) -> None:
    record = one(graph, "aws:route53/record:Record")
    assert (record.props["name"], record.props["type"]) == (HOST, "A")
    assert record.props["aliases"] == [
        {"name": TARGET, "zoneId": ALB_HOSTED_ZONE_IDS["eu-west-1"], "evaluateTargetHealth": False}
    ]
    zone = one(graph, "aws:route53/zone:Zone")
    assert zone.urn in record.property_dependencies["zoneId"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host": "Pushgateway.Example"}, "host must be a DNS name"),
        ({"host": "localhost"}, "host must be a DNS name"),
        ({"host": "https://x.example"}, "host must be a DNS name"),
        ({"region": "ap-south-2"}, "no ALB hosted zone known for region 'ap-south-2'"),
    ],
)
def test_bad_arguments_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _args(**changes)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        (HOST, True),
        ("a.b", False),
        ("x.example", True),
        ("-x.example", False),
        ("x..example", False),
    ],
)
def test_host_names(name: str, ok: bool) -> None:
    assert is_host(name) is ok


@pytest.mark.parametrize(
    ("value", "allowed"),
    [("Not A Host", "a lower-case DNS name"), ("pushgateway", "a lower-case DNS name")],
)
def test_a_bad_pushgateway_host_setting_names_its_key(value: str, allowed: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_raw("prod", {**raw_settings("prod"), "pushgatewayHost": value})
    (problem,) = [p for p in info.value.problems if p.key == "pushgatewayHost"]
    assert allowed in problem.allowed


def test_prod_names_its_pushgateway() -> None:
    assert parse_raw("prod", raw_settings("prod")).delivery.pushgateway_host == HOST
