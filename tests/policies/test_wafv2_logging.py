"""WAF web ACLs log their requests, with credentials redacted (CKV2_AWS_31, a stack policy)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from offline.graph import UNKNOWN, Resource
from policies.ttbt2_policies.cloudfront import WEB_ACL, WEB_ACL_LOGGING, waf_logging
from tests.conftest import of_type, render
from tests.support.policies import findings_for, resource, violations

ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/1"
LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-edge"


def redact(*headers: str) -> list[dict[str, Any]]:
    return [{"singleHeader": {"name": h}} for h in headers]


def web_acl(name: str = "edge-waf") -> Resource:
    return resource(WEB_ACL, {"scope": "CLOUDFRONT", "name": name}, name=name)


def logging(acl: Resource | None, *, name: str = "edge-waf-logging", **changes: Any) -> Resource:
    props = {
        "resourceArn": ACL_ARN,
        "logDestinationConfigs": [LOG_GROUP_ARN],
        "redactedFields": redact("authorization", "cookie"),
        **changes,
    }
    return resource(
        WEB_ACL_LOGGING,
        {k: v for k, v in props.items() if v is not None},
        name=name,
        dependencies=[acl] if acl else [],
    )


def test_logged_and_redacted_web_acl_is_compliant() -> None:
    acl = web_acl()
    assert findings_for(waf_logging, [acl, logging(acl)]) == []


def test_header_names_are_matched_in_any_case() -> None:
    acl = web_acl()
    config = logging(acl, redactedFields=redact("Authorization", "COOKIE", "x-api-key"))
    assert findings_for(waf_logging, [acl, config]) == []


def test_web_acl_without_logging_configuration_violates() -> None:
    acl = web_acl()
    found = violations(findings_for(waf_logging, [acl]))
    assert [f.urn for f in found] == [acl.urn]
    assert "has no logging configuration" in found[0].message


def test_logging_of_another_web_acl_does_not_count() -> None:
    logged, unlogged = web_acl("logged"), web_acl("unlogged")
    found = violations(findings_for(waf_logging, [logged, unlogged, logging(logged)]))
    assert [f.urn for f in found] == [unlogged.urn]


def test_missing_redacted_fields_violate() -> None:
    acl = web_acl()
    found = violations(findings_for(waf_logging, [acl, logging(acl, redactedFields=None)]))
    assert [f.urn for f in found] == [acl.urn]
    assert "does not redact the authorization, cookie header(s)" in found[0].message


@pytest.mark.parametrize(
    ("headers", "missing"),
    [(("authorization",), "cookie"), (("cookie", "x-forwarded-for"), "authorization")],
)
def test_each_credential_header_must_be_redacted(headers: tuple[str, ...], missing: str) -> None:
    acl = web_acl()
    found = violations(
        findings_for(waf_logging, [acl, logging(acl, redactedFields=redact(*headers))])
    )
    assert len(found) == 1
    assert f"does not redact the {missing} header(s)" in found[0].message


def test_other_redacted_fields_do_not_count_as_headers() -> None:
    acl = web_acl()
    config = logging(acl, redactedFields=[{"queryString": {}}, {"uriPath": {}}])
    found = violations(findings_for(waf_logging, [acl, config]))
    assert "authorization, cookie" in found[0].message


def test_wrongly_typed_redacted_fields_are_reported_on_the_web_acl() -> None:
    acl = web_acl()
    config = logging(acl, redactedFields=[{"singleHeader": {"name": 7}}])
    found = violations(findings_for(waf_logging, [acl, config]))
    assert [f.urn for f in found] == [acl.urn]
    assert "redactedFields[0]: singleHeader.name must be a string" in found[0].message


def test_per_property_dependencies_decide_the_join() -> None:
    """With the engine's per-property dependencies only ``resourceArn`` joins a web ACL."""
    acl = web_acl()
    config = logging(acl)
    by_arn = dataclasses.replace(config, property_dependencies={"resourceArn": [acl.urn]})
    assert findings_for(waf_logging, [acl, by_arn]) == []
    elsewhere = dataclasses.replace(
        config, property_dependencies={"logDestinationConfigs": [acl.urn]}
    )
    assert [f.urn for f in violations(findings_for(waf_logging, [acl, elsewhere]))] == [acl.urn]


def test_unknown_redacted_fields_wait_for_apply() -> None:
    acl = web_acl()
    found = findings_for(waf_logging, [acl, logging(acl, redactedFields=UNKNOWN)])
    assert violations(found) == []
    assert [f.kind for f in found] == ["note"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_real_stacks_log_their_web_acls(stack: str) -> None:
    graph = render(stack)
    assert of_type(graph, WEB_ACL), "the stack has a web ACL to check"
    assert findings_for(waf_logging, graph.resources, stack=stack) == []
