"""The CloudWatch exporters in the real stacks: they find the stack's own resources.

The exporter configuration selects resources by tags and the web ACL by its metric name; these
tests read the rendered stacks to check that the resources the alerts are about carry exactly
what the exporters select on, and that Prometheus will scrape what the exporters expose.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.k8s.cloudwatch_exporter import (
    EDGE_RELEASE,
    NAMESPACE,
    REGIONAL_RELEASE,
    stack_tags,
)
from components.k8s.metrics import PROMETHEUS_CHART
from offline.graph import Resource, StackGraph
from tests.conftest import STACKS, of_type, render

RELEASE = "kubernetes:helm.sh/v3:Release"


def releases(graph: StackGraph) -> dict[str, Resource]:
    return {r.props["name"]: r for r in of_type(graph, RELEASE)}


def config(release: Resource) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(release.props["values"]["config"])
    return loaded


def _selects(tags: dict[str, str], environment: str) -> bool:
    return all(tags.get(key) in values for key, values in stack_tags(environment).items())


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_deploys_both_exporters(stack: str) -> None:
    found = releases(render(stack))
    for name in (REGIONAL_RELEASE, EDGE_RELEASE):
        assert found[name].props["namespace"] == NAMESPACE, name


@pytest.mark.parametrize("stack", STACKS)
def test_the_tag_selection_matches_the_stacks_database_cache_and_distribution(stack: str) -> None:
    graph = render(stack)
    for token in (
        "aws:rds/instance:Instance",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:cloudfront/distribution:Distribution",
    ):
        [primary] = [r for r in of_type(graph, token) if "-dr-" not in r.name]
        assert _selects(primary.props["tags"], stack), token
    # The load balancer controller tags every ALB it creates with the stack's tags.
    controller = releases(graph)["aws-load-balancer-controller"]
    assert _selects(controller.props["values"]["defaultTags"], stack)
    # And another environment's resources are not selected.
    other = "dev" if stack != "dev" else "prod"
    assert not _selects(controller.props["values"]["defaultTags"], other)


@pytest.mark.parametrize("stack", STACKS)
def test_the_waf_rule_reads_the_cdns_web_acl_metric(stack: str) -> None:
    graph = render(stack)
    # The CloudFront web ACL (the load balancer's origin-header ACL is regional).
    [acl] = [
        r for r in of_type(graph, "aws:wafv2/webAcl:WebAcl") if r.props["scope"] == "CLOUDFRONT"
    ]
    metric = acl.props["visibilityConfig"]["metricName"]
    waf = [
        m
        for m in config(releases(graph)[EDGE_RELEASE])["metrics"]
        if m["aws_namespace"] == "AWS/WAFV2"
    ]
    assert waf
    for rule in waf:
        assert rule["aws_dimension_select"] == {"WebACL": [metric]}


@pytest.mark.parametrize("stack", STACKS)
def test_prometheus_selects_the_monitors_and_the_releases_wait_for_its_crds(stack: str) -> None:
    graph = render(stack)
    found = releases(graph)
    prometheus = found[PROMETHEUS_CHART]
    for name in (REGIONAL_RELEASE, EDGE_RELEASE):
        release = found[name]
        labels = release.props["values"]["serviceMonitor"]["labels"]
        assert labels == {"release": prometheus.props["name"]}
        assert prometheus.urn in release.dependencies, name


def test_each_exporter_assumes_a_role_pinned_to_its_service_account_and_region() -> None:
    graph = render("prod")
    roles = {
        r.name: r for r in of_type(graph, "aws:iam/role:Role") if "cloudwatch-exporter" in r.name
    }
    policies = {
        r.name: json.loads(r.props["policy"])
        for r in of_type(graph, "aws:iam/rolePolicy:RolePolicy")
        if "cloudwatch-exporter" in r.name
    }
    found = releases(graph)
    expected = {
        "ttbt2-prod-cloudwatch-exporter-regional": (REGIONAL_RELEASE, "eu-west-1"),
        "ttbt2-prod-cloudwatch-exporter-edge": (EDGE_RELEASE, "us-east-1"),
    }
    assert sorted(roles) == sorted(policies) == sorted(expected)
    for role_name, (release_name, region) in expected.items():
        values = found[release_name].props["values"]
        account = values["serviceAccount"]["name"]
        [statement] = json.loads(roles[role_name].props["assumeRolePolicy"])["Statement"]
        [sub] = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        assert sub == f"system:serviceaccount:{NAMESPACE}:{account}"
        assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(
            f"/{role_name}"
        )
        [grant] = policies[role_name]["Statement"]
        assert grant["Condition"] == {"StringEquals": {"aws:RequestedRegion": region}}
        assert config(found[release_name])["region"] == region
