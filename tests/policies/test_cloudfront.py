"""CloudFront distributions and the WAF web ACLs in front of them.

Distributions: viewer HTTPS and TLS, logging, WAF, S3 origin access control, origin HTTPS.
Web ACLs of scope CLOUDFRONT: rate limiting and metrics.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import Policy

from offline.graph import Resource
from policies.ttbt2_policies.cloudfront import (
    access_logging,
    origin_https,
    s3_origin_access_control,
    viewer_https,
    viewer_tls,
    waf_attached,
    waf_metrics,
    waf_rate_limit,
)
from tests.support.policies import (
    UNKNOWN,
    assert_compliant,
    assert_missing,
    assert_unknown_is_a_note,
    assert_violation,
    assert_wrong_type,
    case_ids,
    findings_for,
    resource,
    without_none,
)

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
S3_DOMAIN = "assets-3f2a9c.s3.eu-west-1.amazonaws.com"
API_DOMAIN = "api.example.com"


def s3_origin(**changes: Any) -> dict[str, Any]:
    origin = {"originId": "assets", "domainName": S3_DOMAIN, "originAccessControlId": "E2OAC"}
    return {k: v for k, v in {**origin, **changes}.items() if v is not None}


def api_origin(**changes: Any) -> dict[str, Any]:
    config = {
        "httpPort": 80,
        "httpsPort": 443,
        "originProtocolPolicy": "https-only",
        "originSslProtocols": ["TLSv1.2"],
        **changes,
    }
    return {
        "originId": "api",
        "domainName": API_DOMAIN,
        "customOriginConfig": {k: v for k, v in config.items() if v is not None},
    }


BASE: dict[str, Any] = {
    "enabled": True,
    "aliases": ["www.example.com"],
    "origins": [s3_origin(), api_origin()],
    "defaultCacheBehavior": {
        "targetOriginId": "assets",
        "viewerProtocolPolicy": "redirect-to-https",
        "allowedMethods": ["GET", "HEAD"],
        "cachedMethods": ["GET", "HEAD"],
    },
    "orderedCacheBehaviors": [
        {
            "pathPattern": "/api/*",
            "targetOriginId": "api",
            "viewerProtocolPolicy": "https-only",
            "allowedMethods": ["GET", "HEAD"],
            "cachedMethods": ["GET", "HEAD"],
        }
    ],
    "viewerCertificate": {
        "acmCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    },
    "loggingConfig": {"bucket": "logs-9d1e0b7c2a4f.s3.amazonaws.com", "prefix": "cdn/"},
    "webAclId": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/1",
    "restrictions": {"geoRestriction": {"restrictionType": "none"}},
}
DISTRIBUTION_POLICIES = [
    viewer_https,
    viewer_tls,
    access_logging,
    waf_attached,
    s3_origin_access_control,
    origin_https,
]


def distribution(**changes: Any) -> Resource:
    props = {**BASE, **changes}
    return resource(DISTRIBUTION, {k: v for k, v in props.items() if v is not None})


def behaviour(path: str = "defaultCacheBehavior", **changes: Any) -> dict[str, Any]:
    if path == "defaultCacheBehavior":
        return {"defaultCacheBehavior": {**BASE[path], **changes}}
    return {"orderedCacheBehaviors": [{**BASE["orderedCacheBehaviors"][0], **changes}]}


def certificate(**changes: Any) -> dict[str, Any]:
    return {"viewerCertificate": without_none(BASE["viewerCertificate"], changes)}


@pytest.mark.parametrize("policy", DISTRIBUTION_POLICIES, ids=lambda p: p.name)
def test_baseline_distribution_is_compliant(policy: Policy) -> None:
    assert_compliant(findings_for(policy, [distribution()]))


VIOLATIONS: list[tuple[Policy, dict[str, Any], str]] = [
    (
        viewer_https,
        behaviour(viewerProtocolPolicy="allow-all"),
        "defaultCacheBehavior: viewerProtocolPolicy is 'allow-all'",
    ),
    (
        viewer_https,
        behaviour("ordered", viewerProtocolPolicy="allow-all"),
        "orderedCacheBehaviors[0] (/api/*): viewerProtocolPolicy is 'allow-all'",
    ),
    (viewer_tls, certificate(minimumProtocolVersion="TLSv1.2_2019"), "'TLSv1.2_2019'"),
    (viewer_tls, certificate(minimumProtocolVersion="TLSv1"), "must be TLSv1.2_2021 or newer"),
    (viewer_tls, certificate(minimumProtocolVersion="TLSv1.1_2016"), "'TLSv1.1_2016'"),
    (viewer_tls, certificate(minimumProtocolVersion="SSLv3"), "'SSLv3'"),
    (
        viewer_tls,
        {"viewerCertificate": {"cloudfrontDefaultCertificate": True}},
        "serves www.example.com with the default CloudFront certificate",
    ),
    (access_logging, {"loggingConfig": {"bucket": ""}}, "loggingConfig.bucket is not set"),
    (waf_attached, {"webAclId": ""}, "webAclId is not set"),
    (
        s3_origin_access_control,
        {"origins": [s3_origin(originAccessControlId=None)]},
        "origins[0] (assets) reaches S3 bucket",
    ),
    (
        s3_origin_access_control,
        {
            "origins": [
                s3_origin(
                    originAccessControlId=None,
                    s3OriginConfig={"originAccessIdentity": "origin-access-identity/x"},
                )
            ]
        },
        "legacy origin access identity",
    ),
    (
        origin_https,
        {"origins": [api_origin(originProtocolPolicy="match-viewer")]},
        "originProtocolPolicy is 'match-viewer', must be 'https-only'",
    ),
    (
        origin_https,
        {"origins": [api_origin(originSslProtocols=["TLSv1.1", "TLSv1.2"])]},
        "originSslProtocols is ['TLSv1.1', 'TLSv1.2']",
    ),
]


@pytest.mark.parametrize(
    ("policy", "changes", "expected"),
    VIOLATIONS,
    ids=case_ids(VIOLATIONS),
)
def test_one_changed_property_is_a_violation(
    policy: Policy, changes: dict[str, Any], expected: str
) -> None:
    assert_violation(findings_for(policy, [distribution(**changes)]), policy, expected)


MISSING: list[tuple[Policy, dict[str, Any], str | None]] = [
    (viewer_https, {"defaultCacheBehavior": None}, "defaultCacheBehavior is not set"),
    (viewer_https, behaviour(viewerProtocolPolicy=None), "viewerProtocolPolicy is not set"),
    (viewer_https, {"orderedCacheBehaviors": None}, None),
    (viewer_tls, {"viewerCertificate": None}, "viewerCertificate is not set"),
    (viewer_tls, certificate(minimumProtocolVersion=None), "not set (AWS default TLSv1)"),
    (access_logging, {"loggingConfig": None}, "loggingConfig.bucket is not set"),
    (waf_attached, {"webAclId": None}, "webAclId is not set"),
    (s3_origin_access_control, {"origins": None}, None),
    (
        origin_https,
        {"origins": [api_origin(originSslProtocols=None)]},
        "originSslProtocols is not set",
    ),
    (origin_https, {"origins": [s3_origin()]}, None),
]


@pytest.mark.parametrize(
    ("policy", "changes", "expected"),
    MISSING,
    ids=case_ids(MISSING),
)
def test_missing_property(policy: Policy, changes: dict[str, Any], expected: str | None) -> None:
    assert_missing(findings_for(policy, [distribution(**changes)]), policy, expected)


WRONG_TYPES: list[tuple[Policy, dict[str, Any], str]] = [
    (viewer_https, {"defaultCacheBehavior": "https"}, "defaultCacheBehavior must be an object"),
    (viewer_https, {"orderedCacheBehaviors": ["x"]}, "orderedCacheBehaviors[0] must be an object"),
    (viewer_tls, certificate(minimumProtocolVersion=1.2), "must be a string"),
    (viewer_tls, {"viewerCertificate": {"cloudfrontDefaultCertificate": "yes"}}, "true or false"),
    (access_logging, {"loggingConfig": "logs"}, "loggingConfig must be an object"),
    (waf_attached, {"webAclId": ["acl"]}, "webAclId must be a string"),
    (s3_origin_access_control, {"origins": {"assets": 1}}, "origins must be an array"),
    (s3_origin_access_control, {"origins": [s3_origin(domainName=5)]}, "domainName must be"),
    (origin_https, {"origins": [api_origin(originSslProtocols="TLSv1.2")]}, "array of strings"),
]


@pytest.mark.parametrize(
    ("policy", "changes", "expected"),
    WRONG_TYPES,
    ids=case_ids(WRONG_TYPES),
)
def test_wrongly_typed_prop_is_a_violation(
    policy: Policy, changes: dict[str, Any], expected: str
) -> None:
    assert_wrong_type(findings_for(policy, [distribution(**changes)]), expected)


UNKNOWNS: list[tuple[Policy, dict[str, Any]]] = [
    (viewer_https, behaviour(viewerProtocolPolicy=UNKNOWN)),
    (viewer_tls, certificate(acmCertificateArn=UNKNOWN, cloudfrontDefaultCertificate=UNKNOWN)),
    (access_logging, {"loggingConfig": {"bucket": UNKNOWN}}),
    (waf_attached, {"webAclId": UNKNOWN}),
    (s3_origin_access_control, {"origins": [s3_origin(domainName=UNKNOWN)]}),
    (origin_https, {"origins": [api_origin(originProtocolPolicy=UNKNOWN)]}),
]


@pytest.mark.parametrize(("policy", "changes"), UNKNOWNS, ids=[p.name for p, _c in UNKNOWNS])
def test_unknown_value_is_a_note(policy: Policy, changes: dict[str, Any]) -> None:
    assert_unknown_is_a_note(findings_for(policy, [distribution(**changes)]), policy)


# --- details -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"])
def test_recent_security_policies_are_compliant(version: str) -> None:
    assert (
        findings_for(viewer_tls, [distribution(**certificate(minimumProtocolVersion=version))])
        == []
    )


def test_default_certificate_without_custom_domain_is_compliant() -> None:
    """CloudFront only accepts TLSv1 with its default certificate: nothing better can be set."""
    res = distribution(
        aliases=None,
        viewerCertificate={"cloudfrontDefaultCertificate": True, "minimumProtocolVersion": "TLSv1"},
    )
    assert findings_for(viewer_tls, [res]) == []


@pytest.mark.parametrize(
    "domain",
    ["assets.s3.amazonaws.com", "assets.s3.eu-west-1.amazonaws.com", "ASSETS.S3.AMAZONAWS.COM"],
)
def test_every_s3_domain_needs_origin_access_control(domain: str) -> None:
    res = distribution(origins=[s3_origin(domainName=domain, originAccessControlId=None)])
    assert len(findings_for(s3_origin_access_control, [res])) == 1


def test_s3_website_endpoint_is_a_custom_origin() -> None:
    website = {"originId": "site", "domainName": "site.s3-website-eu-west-1.amazonaws.com"}
    assert findings_for(s3_origin_access_control, [distribution(origins=[website])]) == []


def test_origin_https_is_advisory() -> None:
    res = distribution(origins=[api_origin(originProtocolPolicy="http-only")])
    [finding] = findings_for(origin_https, [res])
    assert finding.enforcement == "advisory" and not finding.blocking


# --- WAF web ACLs --------------------------------------------------------------------------------


def rule(name: str, statement: dict[str, Any], metrics: Any = True) -> dict[str, Any]:
    return {
        "name": name,
        "priority": 1,
        "action": {"block": {}},
        "statement": statement,
        "visibilityConfig": {
            "cloudwatchMetricsEnabled": metrics,
            "metricName": name,
            "sampledRequestsEnabled": True,
        },
    }


WRONG: Any = "rate"
WRONG_SCOPE: Any = 5
RATE_RULE = rule("rate-limit", {"rateBasedStatement": {"limit": 2000, "aggregateKeyType": "IP"}})
MANAGED_RULE = rule(
    "common",
    {"managedRuleGroupStatement": {"name": "AWSManagedRulesCommonRuleSet", "vendorName": "AWS"}},
)


def web_acl(*rules: dict[str, Any], scope: str = "CLOUDFRONT", **changes: Any) -> Resource:
    props: dict[str, Any] = {
        "scope": scope,
        "defaultAction": {"allow": {}},
        "rules": list(rules),
        "visibilityConfig": {
            "cloudwatchMetricsEnabled": True,
            "metricName": "edge",
            "sampledRequestsEnabled": True,
        },
        **changes,
    }
    return resource(WEB_ACL, {k: v for k, v in props.items() if v is not None})


@pytest.mark.parametrize("policy", [waf_rate_limit, waf_metrics], ids=lambda p: p.name)
def test_baseline_web_acl_is_compliant(policy: Policy) -> None:
    assert findings_for(policy, [web_acl(MANAGED_RULE, RATE_RULE)]) == []


def test_web_acl_without_rate_rule_is_a_violation() -> None:
    [finding] = findings_for(waf_rate_limit, [web_acl(MANAGED_RULE)])
    assert finding.policy == "aws-wafv2-cloudfront-rate-limit"
    assert finding.enforcement == "mandatory"
    assert "no rule of the web ACL has a rateBasedStatement" in finding.message


def test_web_acl_without_rules_is_a_violation() -> None:
    assert len(findings_for(waf_rate_limit, [web_acl(rules=None)])) == 1


def test_rule_json_is_read_too() -> None:
    rate = {"Name": "rate", "Statement": {"RateBasedStatement": {"Limit": 2000}}}
    rate["VisibilityConfig"] = {"CloudWatchMetricsEnabled": True}
    res = web_acl(rules=None, ruleJson=json.dumps([rate]))
    assert findings_for(waf_rate_limit, [res]) == []
    assert findings_for(waf_metrics, [res]) == []
    other = {"Name": "geo", "Statement": {"GeoMatchStatement": {}}}
    assert (
        len(findings_for(waf_rate_limit, [web_acl(rules=None, ruleJson=json.dumps([other]))])) == 1
    )


def test_regional_web_acls_are_not_concerned() -> None:
    res = web_acl(MANAGED_RULE, scope="REGIONAL", visibilityConfig=None)
    assert findings_for(waf_rate_limit, [res]) == []
    assert findings_for(waf_metrics, [res]) == []


def test_metrics_off_is_an_advisory_violation() -> None:
    res = web_acl(
        RATE_RULE,
        visibilityConfig={"cloudwatchMetricsEnabled": False, "metricName": "edge"},
    )
    [finding] = findings_for(waf_metrics, [res])
    assert finding.enforcement == "advisory"
    assert "visibilityConfig.cloudwatchMetricsEnabled is not true" in finding.message


def test_rule_metrics_off_is_reported_by_rule_name() -> None:
    res = web_acl(RATE_RULE, rule("quiet", {"geoMatchStatement": {}}, metrics=False))
    [finding] = findings_for(waf_metrics, [res])
    assert "CloudWatch metrics are off for rule 'quiet'" in finding.message


def test_missing_visibility_config_is_a_metrics_violation() -> None:
    [finding] = findings_for(waf_metrics, [web_acl(RATE_RULE, visibilityConfig=None)])
    assert "is not true" in finding.message


@pytest.mark.parametrize(
    ("policy", "res", "expected"),
    [
        (waf_rate_limit, web_acl(rules={"rate": 1}), "rules must be an array"),
        # Wrong types on purpose: the rule must report them, not crash.
        (waf_rate_limit, web_acl(rule("r", WRONG)), "rule 'r': statement must be an object"),
        (waf_rate_limit, web_acl(rules=None, ruleJson="[{"), "ruleJson is not valid JSON"),
        (waf_rate_limit, web_acl(rules=None, ruleJson='{"Name": 1}'), "a JSON array of rules"),
        (waf_rate_limit, web_acl(RATE_RULE, scope=WRONG_SCOPE), "scope must be a string"),
        (waf_metrics, web_acl(RATE_RULE, visibilityConfig="on"), "must be an object"),
        (waf_metrics, web_acl(rule("r", {}, metrics="yes")), "rule 'r': visibilityConfig"),
    ],
    ids=["rules", "statement", "json", "json-object", "scope", "visibility", "rule-metrics"],
)
def test_web_acl_wrong_types_are_violations(policy: Policy, res: Resource, expected: str) -> None:
    found = findings_for(policy, [res])
    assert [f.kind for f in found] == ["violation"]
    assert expected in found[0].message


def test_web_acl_unknowns_are_notes() -> None:
    [finding] = findings_for(waf_rate_limit, [web_acl(rules=UNKNOWN)])
    assert finding.kind == "note"
    [finding] = findings_for(waf_metrics, [web_acl(RATE_RULE, scope=UNKNOWN)])
    assert finding.kind == "note"
