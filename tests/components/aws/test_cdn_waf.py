"""The CloudFront web ACL's request log and blocked-IP set, as the real stacks render them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.aws.cdn import CdnArgs
from config import parse_raw
from offline.graph import Resource, StackGraph
from tests.conftest import STACKS, one, raw_settings, render

IP_SET = "aws:wafv2/ipSet:IpSet"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"


def _edge(graph: StackGraph, res: Resource) -> bool:
    """True when ``res`` is created through the us-east-1 provider."""
    provider = next(r for r in graph.resources if r.urn == (res.provider or "").rsplit("::", 1)[0])
    return provider.props.get("region") == "us-east-1"


@pytest.mark.parametrize("stack", STACKS)
def test_blocked_ip_set_is_created_empty_and_left_to_operators(stack: str) -> None:
    graph = render(stack)
    ip_set = one(graph, IP_SET, "blocked")
    assert ip_set.props["name"] == f"ttbt2-{stack}-blocked"
    assert ip_set.props["scope"] == "CLOUDFRONT"
    assert ip_set.props["ipAddressVersion"] == "IPV4"
    assert ip_set.props.get("addresses", []) == []
    assert ip_set.option("ignoreChanges") == ["addresses"]
    assert _edge(graph, ip_set)


@pytest.mark.parametrize("stack", STACKS)
def test_web_acl_blocks_the_set_before_any_other_rule(stack: str) -> None:
    graph = render(stack)
    acl = one(graph, WEB_ACL, "edge-waf")
    ip_set = one(graph, IP_SET, "blocked")
    rules: list[dict[str, Any]] = acl.props["rules"]
    priorities = [r["priority"] for r in rules]
    assert len(set(priorities)) == len(priorities), priorities
    # Only the audience allow-list (dev, staging; tests/components/aws/test_edge_origin.py)
    # may come before it.
    ordered = sorted(rules, key=lambda r: r["priority"])
    first = next(r for r in ordered if r["name"] != "audience-allow-list")
    assert "ipSetReferenceStatement" in first["statement"]
    assert first["action"] == {"block": {}}
    assert ip_set.urn in acl.dependencies
    assert any("rateBasedStatement" in r["statement"] for r in rules)


@pytest.mark.parametrize("stack", STACKS)
def test_web_acl_logs_to_an_encrypted_us_east_1_group(stack: str) -> None:
    graph = render(stack)
    acl = one(graph, WEB_ACL, "edge-waf")
    logging = one(graph, LOGGING, "edge-waf-logging")
    group = one(graph, LOG_GROUP, "edge-waf-logs")
    key = one(graph, KEY, "edge-waf-logs")
    assert set(logging.dependencies) >= {acl.urn, group.urn}
    assert logging.props["redactedFields"] == [
        {"singleHeader": {"name": "authorization"}},
        {"singleHeader": {"name": "cookie"}},
    ]
    name = f"aws-waf-logs-ttbt2-{stack}-edge"
    assert group.props["name"] == name
    # The mock engine's ARN of that group: the logging configuration writes to it, no other.
    assert logging.props["logDestinationConfigs"] == [
        f"arn:aws:logs:us-east-1:123456789012:log-group:{name}"
    ]
    days = parse_raw(stack, raw_settings(stack)).edge.access_log_retention_days
    assert group.props["retentionInDays"] == days
    assert key.urn in group.dependencies
    assert all(_edge(graph, r) for r in (logging, group, key))
    statements = json.loads(key.props["policy"])["Statement"]
    logs = next(
        s for s in statements if s["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    )
    arns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert arns == [f"arn:aws:logs:us-east-1:123456789012:log-group:{name}"]


@pytest.mark.parametrize("days", [0, 45, 366])
def test_a_retention_cloudwatch_refuses_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="waf_log_retention_days must be one of"):
        CdnArgs(
            context=None,  # type: ignore[arg-type]
            tags={},
            api_origin_host="api-origin.ttbt2.example",
            log_bucket_id="logs",
            log_bucket_domain_name="logs.s3.amazonaws.com",
            edge_provider=None,  # type: ignore[arg-type]
            waf_log_retention_days=days,
        )
