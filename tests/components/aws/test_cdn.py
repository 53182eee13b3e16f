"""The Cdn component on the mock engine, checked on the inputs CloudFront, WAF and ACM receive."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from functools import cache
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.bucket import SecureBucket, SecureBucketArgs
from components.aws.cdn import Cdn, CdnArgs
from components.aws.context import lookup
from offline.engine import run_program
from offline.evaluate import evaluate
from offline.graph import UNKNOWN, Resource, StackGraph
from policies.ttbt2_policies import ALL_POLICIES
from tests.conftest import ROOT, of_type, one

DOMAIN = "www.ttbt2.example"
ZONE = "Z0PRODTTBT2EXAMPLE"
ORIGIN = "api-origin.ttbt2.example"
TAGS = {"environment": "prod", "owner": "sre", "cost-center": "platform", "managed-by": "pulumi"}

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
CACHE_POLICY = "aws:cloudfront/cachePolicy:CachePolicy"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def _program(with_domain: bool) -> Any:
    """A program with both providers, the logs bucket and the Cdn (custom values with a domain)."""

    def program() -> None:
        primary = aws.Provider("aws-primary", region="eu-west-1")
        edge = aws.Provider("aws-edge", region="us-east-1")
        on_aws = pulumi.ResourceOptions(providers={"aws": primary})
        # As in __main__.py: SSE-S3 (S3 cannot deliver access logs to SSE-KMS), ACLs kept for
        # CloudFront's log delivery, tagged as the access-log bucket the S3 rules exempt.
        logs = SecureBucket(
            "logs",
            SecureBucketArgs(
                tags={**TAGS, "purpose": "access-logs"},
                kms_key_arn=None,
                acl_log_delivery=True,
                protect=with_domain,
            ),
            opts=on_aws,
        )
        extra: dict[str, Any] = (
            {
                "domain": DOMAIN,
                "hosted_zone_id": ZONE,
                "waf_rate_limit": 500,
                "api_cache_ttl_seconds": 30,
                "price_class": "PriceClass_All",
                "protect": True,
            }
            if with_domain
            else {}
        )
        cdn = Cdn(
            "edge",
            CdnArgs(
                context=lookup(primary, "eu-west-1"),
                tags=TAGS,
                api_origin_host=ORIGIN,
                log_bucket_id=logs.id,
                log_bucket_domain_name=logs.bucket.bucket_domain_name,
                edge_provider=edge,
                **extra,
            ),
            opts=on_aws,
        )
        pulumi.export("domainName", cdn.domain_name)
        pulumi.export("distributionId", cdn.distribution_id)
        pulumi.export("distributionArn", cdn.distribution_arn)
        pulumi.export("staticBucketName", cdn.static_bucket_name)
        pulumi.export("webAclArn", cdn.web_acl_arn)
        pulumi.export("staticCachePolicyId", cdn.static_cache_policy.id)
        pulumi.export("apiCachePolicyId", cdn.api_cache_policy.id)
        pulumi.export("logsBucket", logs.id)
        pulumi.export("logsDomain", logs.bucket.bucket_domain_name)

    return program


@cache
def render(with_domain: bool, preview: bool = False) -> StackGraph:
    """Render once per variant: ``prod`` with a domain and custom values, ``dev`` without."""
    stack = "prod" if with_domain else "dev"
    return run_program(
        _program(with_domain), project="ttbt2-platform", stack=stack, preview=preview
    )


def out(graph: StackGraph, key: str) -> Any:
    """A known stack output's value."""
    assert graph.outputs[key]["known"], key
    return graph.outputs[key]["value"]


def distribution(graph: StackGraph) -> dict[str, Any]:
    return one(graph, DISTRIBUTION).props


def behaviours(graph: StackGraph) -> list[dict[str, Any]]:
    props = distribution(graph)
    return [props["defaultCacheBehavior"], *props["orderedCacheBehaviors"]]


def by_path(graph: StackGraph) -> dict[str, dict[str, Any]]:
    return {b["pathPattern"]: b for b in distribution(graph)["orderedCacheBehaviors"]}


def policy_of(graph: StackGraph, behaviour: dict[str, Any]) -> dict[str, Any]:
    """The CachePolicy a behaviour points at, found by the ids the program exported."""
    ids = {
        out(graph, "staticCachePolicyId"): "static-cache",
        out(graph, "apiCachePolicyId"): "api-cache",
    }
    return one(graph, CACHE_POLICY, f"edge-{ids[behaviour['cachePolicyId']]}").props


def edge_provider(graph: StackGraph) -> Resource:
    return next(
        r for r in graph.resources if r.type == "pulumi:providers:aws" and r.name == "aws-edge"
    )


# --- rendering -------------------------------------------------------------------------------


@pytest.mark.parametrize("with_domain", [False, True], ids=["default-domain", "custom-domain"])
@pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
def test_renders_in_both_modes_with_outputs_known_only_after_create(
    with_domain: bool, preview: bool
) -> None:
    graph = render(with_domain, preview)
    assert len(of_type(graph, DISTRIBUTION)) == 1
    for res in graph.resources:
        if res.custom and not res.type.startswith("pulumi:providers:"):
            assert res.provider and "pulumi:providers:aws" in res.provider, res.urn
    for key in ("domainName", "distributionId", "distributionArn", "webAclArn"):
        assert graph.outputs[key]["known"] is not preview, key
    if not preview:
        assert out(graph, "domainName").endswith(".cloudfront.net")
        assert out(graph, "distributionArn").startswith("arn:aws:cloudfront::123456789012:")
        assert out(graph, "webAclArn").startswith("arn:aws:wafv2:us-east-1:")
        assert out(graph, "staticBucketName").startswith("edge-static-")


def test_component_children_are_parented_and_named_after_it() -> None:
    graph = render(True)
    cdn = one(graph, "ttbt2:aws:Cdn")
    children = [r for r in graph.resources if r.parent == cdn.urn]
    assert len(children) >= 10
    assert all(r.name.startswith("edge-") for r in children)


# --- behaviours and caching ------------------------------------------------------------------


@pytest.mark.parametrize("with_domain", [False, True])
def test_every_behaviour_redirects_to_https_and_adds_the_security_headers(
    with_domain: bool,
) -> None:
    graph = render(with_domain)
    headers_id = {b["responseHeadersPolicyId"] for b in behaviours(graph)}
    assert len(headers_id) == 1 and UNKNOWN not in headers_id
    for b in behaviours(graph):
        assert b["viewerProtocolPolicy"] == "redirect-to-https", b
        assert b["compress"] is True


def test_default_behaviour_goes_to_the_api_uncached_with_every_method() -> None:
    default = distribution(render(False))["defaultCacheBehavior"]
    assert default["targetOriginId"] == "api"
    assert default["cachePolicyId"] == CACHING_DISABLED
    assert default["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    assert set(default["allowedMethods"]) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "PUT",
        "POST",
        "PATCH",
        "DELETE",
    }


def test_static_paths_go_to_s3_with_a_long_lived_cache() -> None:
    graph = render(False)
    paths = by_path(graph)
    for path in ("/static/*", "/assets/*"):
        b = paths[path]
        assert b["targetOriginId"] == "static-assets"
        assert set(b["allowedMethods"]) == {"GET", "HEAD"}
        policy = policy_of(graph, b)
        assert policy["defaultTtl"] == 86_400
        assert policy["maxTtl"] == 31_536_000
        key = policy["parametersInCacheKeyAndForwardedToOrigin"]
        assert key["enableAcceptEncodingGzip"] is True
        assert key["enableAcceptEncodingBrotli"] is True
        assert key["cookiesConfig"]["cookieBehavior"] == "none"
        assert key["headersConfig"]["headerBehavior"] == "none"
        assert key["queryStringsConfig"]["queryStringBehavior"] == "none"


@pytest.mark.parametrize(("with_domain", "ttl"), [(False, 60), (True, 30)])
def test_public_api_is_cached_briefly_read_only_and_never_per_user(
    with_domain: bool, ttl: int
) -> None:
    graph = render(with_domain)
    b = by_path(graph)["/api/public/*"]
    assert b["targetOriginId"] == "api"
    assert set(b["allowedMethods"]) == {"GET", "HEAD", "OPTIONS"}
    assert set(b["cachedMethods"]) == {"GET", "HEAD"}
    # No origin request policy: Authorization and cookies never reach the origin on this path.
    assert "originRequestPolicyId" not in b
    policy = policy_of(graph, b)
    assert policy["defaultTtl"] == ttl
    assert policy["minTtl"] == 0
    assert policy["maxTtl"] == 300
    key = policy["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["queryStringsConfig"]["queryStringBehavior"] == "all"
    assert key["cookiesConfig"]["cookieBehavior"] == "none"
    assert key["headersConfig"]["headerBehavior"] == "none"
    # The public paths are matched before anything else.
    assert distribution(graph)["orderedCacheBehaviors"][0]["pathPattern"] == "/api/public/*"


# --- origins and the static bucket -----------------------------------------------------------


def test_origins_s3_through_oac_and_the_api_over_tls12_only() -> None:
    graph = render(False)
    origins = {o["originId"]: o for o in distribution(graph)["origins"]}
    oac = one(graph, "aws:cloudfront/originAccessControl:OriginAccessControl")
    assert oac.props["originAccessControlOriginType"] == "s3"
    assert oac.props["signingBehavior"] == "always"
    assert oac.props["signingProtocol"] == "sigv4"
    s3 = origins["static-assets"]
    assert s3["originAccessControlId"].startswith("originaccesscontrol-")
    assert s3["domainName"] == f"{out(graph, 'staticBucketName')}.s3.eu-west-1.amazonaws.com"
    assert "customOriginConfig" not in s3 and "s3OriginConfig" not in s3
    api = origins["api"]
    assert api["domainName"] == ORIGIN
    assert api["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert api["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
    assert api["customOriginConfig"]["httpsPort"] == 443


def test_bucket_policy_lets_only_this_distribution_read_objects() -> None:
    graph = render(False)
    policy = one(graph, "aws:s3/bucketPolicy:BucketPolicy", "edge-static")
    doc = json.loads(policy.props["policy"])
    grants = [s for s in doc["Statement"] if s["Effect"] == "Allow"]
    assert grants == [
        {
            "Sid": "CloudFrontReadsThroughOriginAccessControl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{out(graph, 'staticBucketName')}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": out(graph, "distributionArn")}},
        }
    ]
    # The TLS-only denial of SecureBucket is still there, and the policy waits for the
    # distribution whose ARN it names.
    assert any(s["Sid"] == "DenyInsecureTransport" for s in doc["Statement"])
    assert one(graph, DISTRIBUTION).urn in policy.dependencies


def test_static_bucket_is_kms_encrypted_with_a_rotating_key_and_logged() -> None:
    graph = render(False)
    key = one(graph, "aws:kms/key:Key", "edge-static")
    assert key.props["enableKeyRotation"] is True
    sse = one(
        graph,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "edge-static",
    )
    rule = sse.props["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule["sseAlgorithm"] == "aws:kms"
    assert rule["kmsMasterKeyId"].startswith("arn:aws:kms:eu-west-1:")
    logging = one(graph, "aws:s3/bucketLogging:BucketLogging", "edge-static")
    assert logging.props["targetBucket"] == out(graph, "logsBucket")
    assert logging.props["targetPrefix"] == "s3/static/"


def test_key_policy_lets_cloudfront_only_decrypt() -> None:
    key = one(render(False), "aws:kms/key:Key", "edge-static")
    statements = json.loads(key.props["policy"])["Statement"]
    cloudfront = [
        s for s in statements if s["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert len(cloudfront) == 1
    assert cloudfront[0]["Effect"] == "Allow"
    assert cloudfront[0]["Action"] == ["kms:Decrypt"]
    assert cloudfront[0]["Condition"] == {
        "ArnLike": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/*"}
    }


@pytest.mark.parametrize("with_domain", [False, True])
def test_protect_reaches_the_static_bucket_and_its_key(with_domain: bool) -> None:
    graph = render(with_domain)
    bucket = one(graph, "aws:s3/bucket:Bucket", "edge-static")
    key = one(graph, "aws:kms/key:Key", "edge-static")
    assert bucket.option("protect") is with_domain
    assert key.option("protect") is with_domain


def test_standard_logs_go_to_the_logs_bucket() -> None:
    graph = render(False)
    logging = distribution(graph)["loggingConfig"]
    assert logging["bucket"] == out(graph, "logsDomain")
    assert logging["bucket"].endswith(".s3.amazonaws.com")
    assert logging["prefix"] == "cloudfront/"
    assert logging["includeCookies"] is False


def test_distribution_settings() -> None:
    dev, prod = distribution(render(False)), distribution(render(True))
    for props in (dev, prod):
        assert props["enabled"] is True
        assert props["isIpv6Enabled"] is True
        assert props["httpVersion"] == "http2and3"
        assert props["restrictions"]["geoRestriction"]["restrictionType"] == "none"
        assert props["tags"]["environment"] == "prod"
    assert dev["priceClass"] == "PriceClass_100"
    assert prod["priceClass"] == "PriceClass_All"


# --- security headers ------------------------------------------------------------------------


def test_security_headers() -> None:
    policy = one(render(False), "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    sec = policy.props["securityHeadersConfig"]
    hsts = sec["strictTransportSecurity"]
    assert hsts == {
        "accessControlMaxAgeSec": 31_536_000,
        "includeSubdomains": True,
        "preload": True,
        "override": True,
    }
    assert sec["contentTypeOptions"] == {"override": True}
    assert sec["frameOptions"] == {"frameOption": "DENY", "override": True}
    assert sec["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    assert sec["xssProtection"]["protection"] is True
    assert sec["xssProtection"]["modeBlock"] is True
    csp = sec["contentSecurityPolicy"]["contentSecurityPolicy"]
    directives = dict(d.split(" ", 1) for d in csp.split("; ") if " " in d)
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-eval" not in csp


# --- WAF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("with_domain", "limit"), [(False, 2000), (True, 500)])
def test_web_acl_in_us_east_1_with_managed_groups_and_the_rate_limit(
    with_domain: bool, limit: int
) -> None:
    graph = render(with_domain)
    acl = one(graph, WEB_ACL)
    assert acl.provider and acl.provider.startswith(edge_provider(graph).urn)
    props = acl.props
    assert props["scope"] == "CLOUDFRONT"
    assert "allow" in props["defaultAction"] and "block" not in props["defaultAction"]
    assert props["visibilityConfig"]["cloudwatchMetricsEnabled"] is True
    assert props["visibilityConfig"]["sampledRequestsEnabled"] is True
    rules = {r["name"]: r for r in props["rules"]}
    assert len({r["priority"] for r in props["rules"]}) == len(props["rules"])
    for rule in props["rules"]:
        assert rule["visibilityConfig"]["cloudwatchMetricsEnabled"] is True, rule["name"]
        assert rule["visibilityConfig"]["sampledRequestsEnabled"] is True, rule["name"]
    for group in (
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesBotControlRuleSet",
    ):
        rule = rules[group]
        assert rule["overrideAction"] == {"none": {}}, group
        statement = rule["statement"]["managedRuleGroupStatement"]
        assert statement["name"] == group and statement["vendorName"] == "AWS"
    bots = rules["AWSManagedRulesBotControlRuleSet"]["statement"]["managedRuleGroupStatement"]
    config = bots["managedRuleGroupConfigs"][0]["awsManagedRulesBotControlRuleSet"]
    assert config["inspectionLevel"] == "COMMON"
    rate = rules["rate-limit-per-ip"]
    assert rate["action"] == {"block": {}}
    assert rate["statement"]["rateBasedStatement"]["limit"] == limit
    assert rate["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
    assert distribution(graph)["webAclId"] == out(graph, "webAclArn")


def test_only_named_managed_rules_are_relaxed_to_count() -> None:
    props = one(render(False), WEB_ACL).props
    counted = {
        r["name"]: sorted(
            o["name"]
            for o in r["statement"]["managedRuleGroupStatement"].get("ruleActionOverrides", [])
            if "count" in o["actionToUse"]
        )
        for r in props["rules"]
        if "managedRuleGroupStatement" in r["statement"]
    }
    assert counted == {
        "AWSManagedRulesAmazonIpReputationList": [],
        "AWSManagedRulesCommonRuleSet": ["SizeRestrictions_BODY"],
        "AWSManagedRulesKnownBadInputsRuleSet": [],
        "AWSManagedRulesBotControlRuleSet": ["CategoryHttpLibrary", "SignalNonBrowserUserAgent"],
    }


# --- certificate and DNS ---------------------------------------------------------------------


def test_without_a_domain_cloudfront_default_certificate_and_no_dns() -> None:
    graph = render(False)
    props = distribution(graph)
    assert props["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert "aliases" not in props
    for token in (CERTIFICATE, VALIDATION, RECORD):
        assert of_type(graph, token) == [], token


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
def test_with_a_domain_a_validated_us_east_1_certificate_and_tls12(preview: bool) -> None:
    graph = render(True, preview)
    edge = edge_provider(graph).urn
    cert = one(graph, CERTIFICATE)
    assert cert.provider and cert.provider.startswith(edge)
    assert cert.props["domainName"] == DOMAIN
    assert cert.props["validationMethod"] == "DNS"
    validation = one(graph, VALIDATION)
    assert validation.provider and validation.provider.startswith(edge)
    props = distribution(graph)
    assert props["aliases"] == [DOMAIN]
    viewer = props["viewerCertificate"]
    assert viewer["sslSupportMethod"] == "sni-only"
    assert viewer["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert "cloudfrontDefaultCertificate" not in viewer
    # The distribution takes the ARN from the validation, so it waits for an issued certificate.
    assert validation.urn in one(graph, DISTRIBUTION).dependencies
    if not preview:
        assert viewer["acmCertificateArn"].startswith("arn:aws:acm:")
        assert validation.props["certificateArn"] == viewer["acmCertificateArn"]


def test_with_a_domain_validation_and_alias_records_in_the_zone() -> None:
    graph = render(True)
    records = {r.name: r.props for r in of_type(graph, RECORD)}
    assert set(records) == {
        "edge-certificate-validation-record",
        "edge-alias-a",
        "edge-alias-aaaa",
    }
    check = records["edge-certificate-validation-record"]
    assert check["zoneId"] == ZONE
    assert check["type"] == "CNAME"
    assert check["name"].endswith(f".{DOMAIN}.")
    assert check["records"][0].endswith(".acm-validations.aws.")
    validation = one(graph, VALIDATION)
    assert validation.props["validationRecordFqdns"] == [check["name"].rstrip(".")]
    for kind in ("a", "aaaa"):
        alias = records[f"edge-alias-{kind}"]
        assert alias["zoneId"] == ZONE
        assert alias["name"] == DOMAIN
        assert alias["type"] == kind.upper()
        assert alias["aliases"] == [
            {
                "name": out(graph, "domainName"),
                "zoneId": "Z2FDTNDATAQYW2",
                "evaluateTargetHealth": False,
            }
        ]


# --- policies and arguments ------------------------------------------------------------------


@pytest.mark.parametrize("with_domain", [False, True], ids=["dev", "prod"])
@pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
def test_no_blocking_policy_finding(with_domain: bool, preview: bool) -> None:
    findings = evaluate(render(with_domain, preview), ALL_POLICIES)
    # The component's resources (their URNs carry the Cdn type) and stack-wide findings.
    blocking = [f for f in findings if f.blocking and (not f.urn or "ttbt2:aws:Cdn$" in f.urn)]
    assert not blocking, "\n".join(f"{f.policy}: {f.message} ({f.urn})" for f in blocking)


def _args(**overrides: Any) -> CdnArgs:
    base: dict[str, Any] = {
        "context": None,
        "tags": TAGS,
        "api_origin_host": ORIGIN,
        "log_bucket_id": "logs",
        "log_bucket_domain_name": "logs.s3.amazonaws.com",
        "edge_provider": None,
    }
    return CdnArgs(**{**base, **overrides})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"api_origin_host": "https://api.example"}, "bare host name"),
        ({"api_origin_host": "k8s-app-123.eu-west-1.elb.amazonaws.com"}, "no certificate"),
        ({"domain": DOMAIN}, "hosted_zone_id"),
        ({"price_class": "PriceClass_50"}, "price_class"),
        ({"waf_rate_limit": 5}, "waf_rate_limit"),
        ({"api_cache_ttl_seconds": 3600}, "api_cache_ttl_seconds"),
        ({"static_paths": ("static/*",)}, "start with '/'"),
    ],
)
def test_arguments_cloudfront_would_reject_are_refused(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _args(**overrides)


def test_default_arguments_are_accepted() -> None:
    args = _args()
    assert args.api_public_paths == ("/api/public/*",)
    assert args.static_paths == ("/static/*", "/assets/*")


def test_an_error_before_the_distribution_exists_fails_the_run_instead_of_hanging() -> None:
    """The bucket policy waits for the distribution's ARN; an error must not leave it waiting."""
    script = textwrap.dedent(
        """
        import pulumi_aws.cloudfront as cloudfront
        from tests.components.aws.test_cdn import render

        def broken(*args, **kwargs):
            raise RuntimeError("distribution refused")

        cloudfront.Distribution = broken
        try:
            render(False)
        except RuntimeError as exc:
            print("raised:", exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "raised:" in done.stdout, done.stderr[-2000:]
