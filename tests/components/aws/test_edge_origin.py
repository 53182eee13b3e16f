"""The origins only through the edge, as the real stacks render them (issue 15).

- CloudFront sends the secret origin header (Vault consumer ``cdn-origin-verify``) to the API
  origin only; the load balancer's regional web ACL allows exactly that value and blocks the
  rest, with the header kept out of its log.
- The services' Ingresses admit CloudFront's origin-facing prefix list, carry that web ACL,
  log to the stack's log bucket (which lets ELB write there) and, in prod, are
  deletion-protected; the Pushgateway's load balancer is internal.
- dev and staging admit only their audience (``edgeAllowedCidrs`` plus the NAT addresses) at
  the CloudFront web ACL; prod admits everyone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.aws.cdn import (
    AUDIENCE_RULE,
    ORIGIN_VERIFY_HEADER,
    CdnArgs,
    audience_networks,
    check_origin_secret,
)
from components.k8s.alb import CLOUDFRONT_ORIGIN_FACING
from components.vault.source import PLACEHOLDER_PREFIX
from config import parse_raw
from offline.graph import SECRET_SIG_KEY, Resource, StackGraph
from offline.mocks import _suffix
from policies.ttbt2_policies import ingress as ingress_policies
from tests.conftest import STACKS, of_type, one, raw_settings, render

A = "alb.ingress.kubernetes.io/"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
IP_SET = "aws:wafv2/ipSet:IpSet"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SECRET = f"{PLACEHOLDER_PREFIX}:vault:kv/ttbt2/{{stack}}/edge#origin_verify"
"""What the offline engine reads for the origin secret (a named placeholder)."""


def plain(value: Any) -> Any:
    """A property's value, whether or not the engine marked it secret."""
    if isinstance(value, dict) and SECRET_SIG_KEY in value:
        return value["value"]
    return value


def notes_of(res: Resource) -> dict[str, Any]:
    notes: dict[str, Any] = plain(res.props["metadata"])["annotations"]
    return notes


def service_ingresses(graph: StackGraph) -> list[Resource]:
    found = [r for r in of_type(graph, INGRESS) if "-svc-" in r.name]
    assert found, "the stack delivers services"
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_cloudfront_sends_the_origin_secret_to_the_api_origin_only(stack: str) -> None:
    distribution = one(render(stack), "aws:cloudfront/distribution:Distribution")
    assert SECRET_SIG_KEY in distribution.props["origins"]  # kept encrypted in the state
    origins = {o["originId"]: o for o in plain(distribution.props["origins"])}
    assert origins["api"]["customHeaders"] == [
        {"name": ORIGIN_VERIFY_HEADER, "value": SECRET.format(stack=stack)}
    ]
    assert "customHeaders" not in origins["static-assets"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_origin_web_acl_allows_that_header_alone(stack: str) -> None:
    graph = render(stack)
    acl = one(graph, WEB_ACL, "origin-waf")
    assert acl.props["scope"] == "REGIONAL"
    assert acl.props["defaultAction"] == {"block": {}}
    assert SECRET_SIG_KEY in acl.props["rules"]
    [rule] = plain(acl.props["rules"])
    assert rule["action"] == {"allow": {}}
    match = rule["statement"]["byteMatchStatement"]
    assert match["fieldToMatch"] == {"singleHeader": {"name": ORIGIN_VERIFY_HEADER.lower()}}
    assert match["positionalConstraint"] == "EXACTLY"
    assert match["searchString"] == SECRET.format(stack=stack)
    assert match["textTransformations"] == [{"priority": 0, "type": "NONE"}]
    logging = one(
        graph, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "origin"
    )
    assert acl.urn in logging.dependencies
    redacted = [f["singleHeader"]["name"] for f in logging.props["redactedFields"]]
    assert redacted == ["authorization", "cookie", "x-origin-verify"]
    assert logging.props["logDestinationConfigs"] == [
        f"arn:aws:logs:eu-west-1:123456789012:log-group:aws-waf-logs-ttbt2-{stack}-edge-origin"
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_service_ingresses_admit_cloudfront_behind_the_origin_web_acl(stack: str) -> None:
    graph = render(stack)
    acl = one(graph, WEB_ACL, "origin-waf")
    logs = one(graph, "aws:s3/bucket:Bucket", f"ttbt2-{stack}-logs")
    prefix_list = f"pl-{_suffix(CLOUDFRONT_ORIGIN_FACING, 8)}"
    for ingress in service_ingresses(graph):
        notes = notes_of(ingress)
        assert notes[f"{A}scheme"] == "internet-facing"
        assert notes[f"{A}group.name"] == f"ttbt2-{stack}"
        assert notes[f"{A}security-group-prefix-lists"] == prefix_list
        assert f"{A}inbound-cidrs" not in notes
        arn = notes[f"{A}wafv2-acl-arn"]
        assert arn.startswith(
            f"arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/{acl.props['name']}/"
        )
        assert acl.urn in ingress.dependencies
        attributes = dict(i.split("=") for i in notes[f"{A}load-balancer-attributes"].split(","))
        assert attributes["access_logs.s3.enabled"] == "true"
        # The bucket's generated name (prefix plus suffix), and the Ingress waits for it.
        assert attributes["access_logs.s3.bucket"].startswith(logs.props["bucketPrefix"])
        assert logs.urn in ingress.dependencies
        assert attributes["access_logs.s3.prefix"] == f"alb/ttbt2-{stack}"
        assert attributes.get("deletion_protection.enabled") == (
            "true" if stack == "prod" else None
        )


@pytest.mark.parametrize("stack", STACKS)
def test_no_internet_facing_ingress_is_unrestricted(stack: str) -> None:
    """The pack's Ingress rules pass on every stack (prod counts as production)."""
    from offline.evaluate import evaluate

    findings = evaluate(render(stack), ingress_policies.POLICIES)
    assert [f.message for f in findings if f.kind == "violation"] == []
    facing = [
        r
        for r in of_type(render(stack), INGRESS)
        if notes_of(r).get(f"{A}scheme") == "internet-facing"
    ]
    assert facing == service_ingresses(render(stack))


@pytest.mark.parametrize("stack", STACKS)
def test_the_pushgateway_load_balancer_is_internal(stack: str) -> None:
    gateway = one(render(stack), INGRESS, "pushgateway")
    notes = notes_of(gateway)
    assert notes[f"{A}scheme"] == "internal"
    # A load balancer of its own, whose only security group admits the CI runner's group.
    assert notes[f"{A}group.name"] == f"ttbt2-{stack}-pushgateway"
    assert f"{A}inbound-cidrs" not in notes
    assert notes[f"{A}security-groups"]
    firewall = one(render(stack), "aws:ec2/securityGroup:SecurityGroup", "pushgateway-alb-sg")
    assert firewall.urn in gateway.property_dependencies["metadata"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_log_bucket_lets_elb_write_alb_logs_only(stack: str) -> None:
    policy = one(render(stack), "aws:s3/bucketPolicy:BucketPolicy", f"ttbt2-{stack}-logs")
    statements = json.loads(policy.props["policy"])["Statement"]
    writers = [s for s in statements if s.get("Sid", "").startswith("AlbAccessLogs")]
    assert [s["Principal"] for s in writers] == [
        {"AWS": "arn:aws:iam::156460612806:root"},
        {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
    ]
    for statement in writers:
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "s3:PutObject"
        assert statement["Resource"].endswith("/alb/*/AWSLogs/123456789012/*")


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_dev_and_staging_admit_their_audience_only(stack: str) -> None:
    graph = render(stack)
    audience = parse_raw(stack, raw_settings(stack)).edge.edge_allowed_cidrs
    nat_addresses = of_type(graph, "aws:ec2/natGateway:NatGateway")
    ip_set = one(graph, IP_SET, "audience")
    assert ip_set.props["scope"] == "CLOUDFRONT"
    addresses = ip_set.props["addresses"]
    assert set(audience) <= set(addresses)
    # Plus one /32 a NAT gateway (graphs record inputs, so the addresses are the mock's).
    extra = set(addresses) - set(audience)
    assert len(extra) == len(nat_addresses) > 0
    assert all(a.endswith("/32") for a in extra)
    assert sorted(ip_set.dependencies) == sorted(e.urn for e in nat_addresses)
    acl = one(graph, WEB_ACL, "edge-waf")
    first = min(plain(acl.props["rules"]), key=lambda r: r["priority"])
    assert first["name"] == AUDIENCE_RULE
    assert first["action"] == {"block": {}}
    inside = first["statement"]["notStatement"]["statement"]
    arn = inside["ipSetReferenceStatement"]["arn"]
    assert f"ipset/{ip_set.props['name']}" in arn
    assert ip_set.urn in acl.dependencies


def test_prod_admits_everyone() -> None:
    graph = render("prod")
    assert [r.name for r in of_type(graph, IP_SET) if "audience" in r.name] == []
    acl = one(graph, WEB_ACL, "edge-waf")
    assert AUDIENCE_RULE not in [r["name"] for r in plain(acl.props["rules"])]


def test_an_ipv6_audience_gets_a_set_of_its_own() -> None:
    assert audience_networks(["2001:db8::/32", "192.0.2.0/24"]) == (
        ["192.0.2.0/24"],
        ["2001:db8::/32"],
    )


@pytest.mark.parametrize(
    ("cidrs", "message"),
    [(["192.0.2.1/24"], "not a network address"), (["0.0.0.0/0"], "admits everyone")],
)
def test_a_bad_audience_is_refused(cidrs: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CdnArgs(
            context=None,  # type: ignore[arg-type]
            tags={},
            api_origin_host="api-origin.ttbt2.example",
            log_bucket_id="logs",
            log_bucket_domain_name="logs.s3.amazonaws.com",
            edge_provider=None,  # type: ignore[arg-type]
            audience_cidrs=cidrs,
        )


@pytest.mark.parametrize(
    ("value", "message"),
    [("short", "32 to 128 characters"), ("x" * 129, "got 129"), ("a b" * 16, "without spaces")],
)
def test_an_unusable_origin_secret_names_its_consumer(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        check_origin_secret(value)
    assert "cdn-origin-verify" in str(error.value)


def test_a_good_origin_secret_passes() -> None:
    value = "Zk3p-9_qR" * 5
    assert check_origin_secret(value) == value
