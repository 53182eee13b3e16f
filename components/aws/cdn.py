"""The public edge: CloudFront in front of the static-assets bucket and the API, behind WAF.

Seed 4.8.2 asks for a CDN that distributes the static assets globally and a cache for the
responses of public API endpoints; seed 4.4.2 asks to watch suspicious bot activity, which the
web ACL's Bot Control rule group labels, counts and (for the clear cases) blocks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_aws import cloudfront, wafv2

from components.aws.bucket import SecureBucket, SecureBucketArgs
from components.aws.context import AwsContext
from components.aws.kms import EncryptionKey, EncryptionKeyArgs, ServiceGrant
from components.aws.logs import keyed_log_group
from config.constants import CLOUDWATCH_RETENTION_DAYS, ORIGIN_VERIFY_CONSUMER

CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
"""AWS managed cache policy "CachingDisabled": nothing is cached, nothing is in the key."""

ALL_VIEWER_EXCEPT_HOST_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
"""AWS managed origin request policy "AllViewerExceptHostHeader": headers (Authorization
included), cookies and query strings reach the origin; Host stays the origin's own name, which
the load balancer's certificate and the ingress rules are written for."""

PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
API_MAX_TTL_SECONDS = 300
"""Upper bound for cached public API responses, whatever the origin's Cache-Control says."""
STATIC_DEFAULT_TTL_SECONDS = 86_400
STATIC_MAX_TTL_SECONDS = 31_536_000
HSTS_MAX_AGE_SECONDS = 31_536_000
"""One year, the minimum the HSTS preload list accepts."""
ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
READ_METHODS = ["GET", "HEAD"]
DR_API_ORIGIN = "api-dr"
"""Origin id of the DR region's load balancer."""
API_FAILOVER_GROUP = "api-failover"
"""Origin group: the primary load balancer, then the DR region's."""
FAILOVER_STATUS_CODES = [500, 502, 503, 504]
"""Answers of the primary origin that send a request to the DR origin (timeouts and refused
connections always do)."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Most SPA frameworks inject <style> elements at run time.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        # The API is on the same host, behind the same distribution.
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "upgrade-insecure-requests",
    ]
)
"""A CSP for a single-page app whose code, styles and API all come from this distribution."""

EDGE_REGION = "us-east-1"
"""Where CloudFront keeps its certificates and CLOUDFRONT-scope WAF resources (and their logs)."""

WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"
"""WAF delivers only to log groups whose name starts with this."""

REDACTED_HEADERS = ("authorization", "cookie")
"""Request headers kept out of the WAF log: bearer tokens and session cookies are credentials.
WAF matches single-header names in lower case."""

BLOCKED_IP_RULE = "blocked-ip-set"
"""Sources on the blocked-IP set, added by hand from a runbook."""

ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
"""Header CloudFront adds to every request to the API origin, with the secret value."""
ORIGIN_SECRET_LENGTHS = (32, 128)
"""Long enough not to be guessed; WAF compares up to 200 bytes, CloudFront sends up to 1783."""

AUDIENCE_RULE = "audience-allow-list"
"""dev and staging only: the first rule, blocking every viewer outside the audience's networks."""

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesBotControlRuleSet",
)
"""AWS managed rule groups of the web ACL, in evaluation order after the rate limit.

The IP reputation list is cheap and drops known-bad sources before the heavier groups run;
Bot Control is last because it is billed per request it inspects.
"""

COUNT_ONLY_RULES: dict[str, tuple[str, ...]] = {
    # The API takes JSON bodies on its default behaviour; 8 KB is not a limit it can live with.
    "AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",),
    # Mobile apps and partner integrations call the API with HTTP libraries (okhttp, curl...):
    # blocking them would break real clients, so these bots are labelled and counted (seed
    # 4.4.2 metrics) and left to the rate limit.
    "AWSManagedRulesBotControlRuleSet": ("CategoryHttpLibrary", "SignalNonBrowserUserAgent"),
}
"""Rules of the managed groups that count instead of block, and why."""


CLOUDFRONT_DECRYPT_GRANT = ServiceGrant(
    service="cloudfront.amazonaws.com",
    actions=["kms:Decrypt"],
    # The distribution's ARN cannot be named (key -> bucket -> distribution would be a cycle):
    # any distribution of this account. Which distribution may read is decided by the bucket
    # policy, which names this one only.
    condition={
        "ArnLike": {"AWS:SourceArn": "arn:{partition}:cloudfront::{account}:distribution/*"}
    },
)
"""Key-policy grant that lets CloudFront (origin access control) read SSE-KMS objects."""


@dataclass(frozen=True)
class CdnArgs:
    """Arguments of :class:`Cdn`.

    ``api_origin_host`` is the DNS name of the cluster's public load balancer. CloudFront talks
    to it over HTTPS only and checks that the load balancer's certificate covers that name, so
    it must be a name of ours (``api-origin.<env>.ttbt2.example``), never the load balancer's
    ``*.elb.amazonaws.com`` name, which no certificate of ours can cover.
    ``log_bucket_id``/``log_bucket_domain_name`` name the access-log bucket (SSE-S3, ACLs kept
    for CloudFront's log delivery). ``edge_provider`` is an AWS provider in us-east-1, where
    CloudFront requires its ACM certificate and its web ACL to live.
    ``domain`` empty means CloudFront's ``*.cloudfront.net`` name and default certificate;
    otherwise ``hosted_zone_id`` is the Route 53 zone for the certificate validation and the
    alias records. ``waf_rate_limit`` is requests per 5 minutes per client IP.
    ``waf_log_retention_days`` is how long the WAF request log (CloudWatch Logs, us-east-1) is
    kept, one of the retentions CloudWatch accepts. ``blocked_ip_set_name`` names the WAF IP
    set the runbooks add hostile sources to (empty: ``<name>-blocked``).

    ``origin_secret`` (from Vault) is sent to the API origin as the :data:`ORIGIN_VERIFY_HEADER`
    header, and a regional web ACL (``origin_web_acl_arn``, attached to the load balancer by
    its Ingresses, ``components/k8s/alb.py``) blocks every request without it.
    ``audience_cidrs`` limits the whole distribution (API and static assets) to those networks
    (dev: developers, staging: QA and selected stakeholders; empty: everyone, as in prod), with
    ``audience_egress_ips`` (the VPC's NAT addresses, so in-cluster probes of the public URL
    pass) allowed as well.
    ``dr_api_origin_host`` (the DR region's load balancer, same rules as ``api_origin_host``)
    adds an origin group that fails the cached public API paths over to it; empty: none. Its
    load balancer checks the origin header too, with a web ACL of its own in the DR region
    (``dr_origin_web_acl_arn``, created with ``dr_provider``: a regional ACL attaches only to
    load balancers of its region).
    """

    context: AwsContext
    tags: dict[str, str]
    api_origin_host: str
    log_bucket_id: pulumi.Input[str]
    log_bucket_domain_name: pulumi.Input[str]
    edge_provider: pulumi.ProviderResource
    domain: str = ""
    hosted_zone_id: str = ""
    api_public_paths: Sequence[str] = ("/api/public/*",)
    static_paths: Sequence[str] = ("/static/*", "/assets/*")
    price_class: str = "PriceClass_100"
    waf_rate_limit: int = 2000
    api_cache_ttl_seconds: int = 60
    waf_log_retention_days: int = 90
    blocked_ip_set_name: str = ""
    origin_secret: pulumi.Input[str] | None = None
    audience_cidrs: Sequence[str] = ()
    audience_egress_ips: pulumi.Input[Sequence[str]] | None = None
    dr_api_origin_host: str = ""
    dr_provider: pulumi.ProviderResource | None = None
    dr_region: str = ""
    protect: bool = False
    data_tags: dict[str, str] = field(default_factory=dict)
    """Tags of the static-assets bucket only, on top of ``tags``: the data classification a
    data store carries (seed 4.2), which the distribution and the web ACL do not."""

    def __post_init__(self) -> None:
        """Refuse settings CloudFront, WAF or Route 53 would reject (or that would 502)."""
        _check_origin_host("api_origin_host", self.api_origin_host)
        if self.dr_api_origin_host:
            _check_origin_host("dr_api_origin_host", self.dr_api_origin_host)
            if self.dr_provider is None or not self.dr_region:
                raise ValueError("dr_api_origin_host needs dr_provider and dr_region")
        if self.domain and not self.hosted_zone_id:
            raise ValueError(f"domain {self.domain!r} needs hosted_zone_id for its certificate")
        if self.price_class not in PRICE_CLASSES:
            raise ValueError(f"price_class must be one of {PRICE_CLASSES}, got {self.price_class}")
        if not 10 <= self.waf_rate_limit <= 2_000_000_000:
            raise ValueError(f"waf_rate_limit must be 10..2000000000, got {self.waf_rate_limit}")
        if not 0 <= self.api_cache_ttl_seconds <= API_MAX_TTL_SECONDS:
            raise ValueError(
                f"api_cache_ttl_seconds must be 0..{API_MAX_TTL_SECONDS}, "
                f"got {self.api_cache_ttl_seconds}"
            )
        if self.waf_log_retention_days not in CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(
                f"waf_log_retention_days must be one of {CLOUDWATCH_RETENTION_DAYS}, "
                f"got {self.waf_log_retention_days}"
            )
        for path in (*self.api_public_paths, *self.static_paths):
            if not path.startswith("/"):
                raise ValueError(f"path patterns start with '/', got {path!r}")
        audience_networks(self.audience_cidrs)


def check_origin_secret(value: str) -> str:
    """``value`` when it can serve as the origin header's value, else a ValueError."""
    low, high = ORIGIN_SECRET_LENGTHS
    if not low <= len(value) <= high:
        raise ValueError(
            f"Vault consumer {ORIGIN_VERIFY_CONSUMER}: the origin header value must be "
            f"{low} to {high} characters, got {len(value)}"
        )
    if any(not c.isascii() or not c.isprintable() or c.isspace() for c in value):
        raise ValueError(
            f"Vault consumer {ORIGIN_VERIFY_CONSUMER}: the origin header value may hold only "
            "printable ASCII characters, without spaces"
        )
    return value


def audience_networks(cidrs: Sequence[str]) -> tuple[list[str], list[str]]:
    """``cidrs`` split into IPv4 and IPv6 networks, or a ValueError naming the bad one.

    WAF IP sets take networks of prefix length 1 or more, written without host bits.
    """
    v4: list[str] = []
    v6: list[str] = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            raise ValueError(f"audience CIDR {cidr!r} is not a network address: {exc}") from None
        if network.prefixlen == 0:
            raise ValueError(f"audience CIDR {cidr!r} admits everyone: leave the list empty")
        (v4 if network.version == 4 else v6).append(str(network))
    return v4, v6


def _check_origin_host(field_name: str, host: str) -> None:
    """A bare DNS name of ours: CloudFront checks the origin's certificate against it."""
    if not host or "/" in host or ":" in host:
        raise ValueError(f"{field_name} must be a bare host name, got {host!r}")
    if host.endswith(".elb.amazonaws.com"):
        raise ValueError(
            f"{field_name} {host!r} is a load balancer's AWS name: CloudFront checks the "
            "origin certificate against it and no certificate can cover it; use a DNS name "
            "of ours that points at the load balancer"
        )


def _api_origin(
    origin_id: str,
    host: str,
    headers: list[cloudfront.DistributionOriginCustomHeaderArgs] | None,
) -> cloudfront.DistributionOriginArgs:
    """A load balancer origin, reached over HTTPS (TLS 1.2) under its DNS name.

    ``headers`` are the custom headers CloudFront adds (the secret origin header).
    """
    return cloudfront.DistributionOriginArgs(
        origin_id=origin_id,
        domain_name=host,
        custom_headers=headers,
        custom_origin_config=cloudfront.DistributionOriginCustomOriginConfigArgs(
            http_port=80,
            https_port=443,
            origin_protocol_policy="https-only",
            origin_ssl_protocols=["TLSv1.2"],
        ),
    )


class Cdn(pulumi.ComponentResource):
    """A CloudFront distribution with a WAF web ACL, serving static assets and the API.

    Behaviours, first match wins:

    - ``api_public_paths`` -> API origin, cached ``api_cache_ttl_seconds`` (at most 5 minutes),
      GET/HEAD/OPTIONS only. Cookies and headers (``Authorization`` included) are neither in
      the cache key nor forwarded, so a cached public response can never be a user's own.
    - ``static_paths`` -> the private S3 bucket through origin access control, cached for a day
      by default and up to a year (assets are content-hashed; the origin's Cache-Control wins
      within those bounds).
    - everything else (the SPA's HTML shell and the authenticated API) -> API origin, never
      cached (managed CachingDisabled) with every viewer header, cookie and query string
      forwarded (managed AllViewerExceptHostHeader). The shell comes from the cluster, not S3,
      so a deploy is visible at once and always points at assets that exist.

    Every behaviour redirects HTTP to HTTPS and adds the security headers. With ``domain`` the
    viewer certificate is an ACM certificate validated through Route 53 and viewers need TLS
    1.2 (``TLSv1.2_2021``); without it CloudFront's default certificate is used, with which
    CloudFront does not let the minimum TLS version be chosen (it stays at TLSv1).
    """

    def __init__(
        self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:Cdn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # ACM certificates and CLOUDFRONT-scope web ACLs exist only in us-east-1.
        edge = pulumi.ResourceOptions(parent=self, provider=args.edge_provider)
        tags = {**args.tags, "Name": name}

        key = EncryptionKey(
            f"{name}-static",
            EncryptionKeyArgs(
                description=f"Static assets of {name} (served through CloudFront)",
                context=args.context,
                tags=args.tags,
                protect=args.protect,
                service_grants=[CLOUDFRONT_DECRYPT_GRANT],
            ),
            opts=child,
        )
        oac = cloudfront.OriginAccessControl(
            f"{name}-oac",
            description=f"CloudFront of {name} reads the static-assets bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        self.static_cache_policy = self._static_cache_policy(name, child)
        self.api_cache_policy = self._api_cache_policy(name, args, child)
        self.security_headers = self._security_headers(name, child)
        # Operators add addresses to this set by hand (runbooks): see _blocked_ip_set.
        self.blocked_ip_set = self._blocked_ip_set(name, args, tags, edge)
        # The web ACL's CloudWatch metric name: the WebACL dimension of its AWS/WAFV2 metrics.
        self.web_acl_metric_name = f"{name}-waf"
        self.audience_ip_sets = self._audience_ip_sets(name, args, tags, edge)
        self.web_acl = self._web_acl(name, args, tags, edge)
        self.waf_log_group = self._waf_logging(
            name,
            args,
            acl=self.web_acl,
            region=EDGE_REGION,
            opts=edge,
            key_opts=pulumi.ResourceOptions(parent=self, providers={"aws": args.edge_provider}),
        )
        # The load balancer's own web ACL lets through only what carries the origin header.
        self.origin_web_acl = self._origin_web_acl(name, args, tags, child, args.context.region)
        self.dr_origin_web_acl = (
            self._origin_web_acl(
                f"{name}-dr",
                args,
                tags,
                pulumi.ResourceOptions(parent=self, providers={"aws": args.dr_provider}),
                args.dr_region,
            )
            if args.dr_api_origin_host and args.dr_provider is not None
            else None
        )
        certificate_arn = self._certificate(name, args, tags, edge, child)

        # The bucket policy pins CloudFront's read grant to this distribution, and the
        # distribution needs the bucket's domain name: the ARN is promised here and resolved
        # once the distribution exists (the policy is its own resource, so there is no cycle).
        deferred: tuple[pulumi.Output[str], Callable[[pulumi.Output[str]], None]]
        deferred = pulumi.deferred_output()
        distribution_arn, resolve_distribution_arn = deferred
        try:
            static = SecureBucket(
                f"{name}-static",
                SecureBucketArgs(
                    tags={**args.tags, **args.data_tags, "purpose": "static-assets"},
                    kms_key_arn=key.arn,
                    log_bucket=args.log_bucket_id,
                    log_prefix="s3/static/",
                    protect=args.protect,
                    policy_statements=[
                        lambda arn: pulumi.Output.all(arn, distribution_arn).apply(
                            lambda v: _cloudfront_read_statement(v[0], v[1])
                        )
                    ],
                ),
                opts=child,
            )
            self.distribution = self._distribution(
                name,
                args,
                tags=tags,
                static=static,
                oac_id=oac.id,
                certificate_arn=certificate_arn,
                child=child,
            )
        except Exception as exc:
            # An unresolved promise would leave the bucket policy waiting for ever, and the
            # run would hang instead of reporting this error.
            resolve_distribution_arn(_failed(exc))
            raise
        resolve_distribution_arn(self.distribution.arn)
        if args.domain:
            self._alias_records(name, args)

        self.static_bucket = static
        self.domain_name = self.distribution.domain_name
        self.distribution_id = self.distribution.id
        self.distribution_arn = self.distribution.arn
        self.static_bucket_name = static.bucket.bucket
        self.web_acl_arn = self.web_acl.arn
        self.origin_web_acl_arn = None if self.origin_web_acl is None else self.origin_web_acl.arn
        self.dr_origin_web_acl_arn = (
            None if self.dr_origin_web_acl is None else self.dr_origin_web_acl.arn
        )
        self.blocked_ip_set_arn = self.blocked_ip_set.arn
        self.waf_log_group_name = self.waf_log_group.name
        self.register_outputs(
            {
                "blockedIpSetArn": self.blocked_ip_set_arn,
                "wafLogGroupName": self.waf_log_group_name,
                "domainName": self.domain_name,
                "distributionId": self.distribution_id,
                "distributionArn": self.distribution_arn,
                "staticBucketName": self.static_bucket_name,
                "webAclArn": self.web_acl_arn,
            }
        )

    def _distribution(
        self,
        name: str,
        args: CdnArgs,
        *,
        tags: dict[str, str],
        static: SecureBucket,
        oac_id: pulumi.Output[str],
        certificate_arn: pulumi.Output[str] | None,
        child: pulumi.ResourceOptions,
    ) -> cloudfront.Distribution:
        """The distribution: two origins, three kinds of behaviour, WAF, logs, certificate."""
        api_origin, static_origin = "api", "static-assets"
        headers_id = self.security_headers.id
        # With a DR origin, the cached public API paths fail over to it. CloudFront fails over
        # GET, HEAD and OPTIONS only and refuses an origin group on a behaviour allowing
        # writes, so the default behaviour stays on the primary origin's name
        # (docs/dr/region-loss.md: repointing that name moves the writes).
        failover = bool(args.dr_api_origin_host)
        public_api = API_FAILOVER_GROUP if failover else api_origin

        def behaviour(
            path: str, origin: str, cache_policy: pulumi.Input[str], methods: list[str]
        ) -> cloudfront.DistributionOrderedCacheBehaviorArgs:
            return cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=path,
                target_origin_id=origin,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=methods,
                # OPTIONS (CORS preflight) is not cached: its answer depends on Origin, which
                # is not in the cache key.
                cached_methods=READ_METHODS,
                cache_policy_id=cache_policy,
                response_headers_policy_id=headers_id,
                compress=True,
            )

        if certificate_arn is not None:
            viewer_certificate = cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version="TLSv1.2_2021",
            )
        else:
            # CloudFront's own certificate fixes the minimum at TLSv1; only a custom
            # certificate can raise it. Without a domain there is nothing else to present.
            viewer_certificate = cloudfront.DistributionViewerCertificateArgs(
                cloudfront_default_certificate=True
            )
        return cloudfront.Distribution(
            f"{name}-distribution",
            enabled=True,
            comment=f"{name}: static assets and API",
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=args.price_class,
            aliases=[args.domain] if args.domain else None,
            web_acl_id=self.web_acl.arn,
            origins=[
                cloudfront.DistributionOriginArgs(
                    origin_id=static_origin,
                    domain_name=static.bucket.bucket_regional_domain_name,
                    origin_access_control_id=oac_id,
                ),
                _api_origin(api_origin, args.api_origin_host, self._origin_headers(args)),
                *(
                    [
                        _api_origin(
                            DR_API_ORIGIN, args.dr_api_origin_host, self._origin_headers(args)
                        )
                    ]
                    if failover
                    else []
                ),
            ],
            origin_groups=(
                [
                    cloudfront.DistributionOriginGroupArgs(
                        origin_id=API_FAILOVER_GROUP,
                        failover_criteria=cloudfront.DistributionOriginGroupFailoverCriteriaArgs(
                            status_codes=FAILOVER_STATUS_CODES
                        ),
                        members=[
                            cloudfront.DistributionOriginGroupMemberArgs(origin_id=api_origin),
                            cloudfront.DistributionOriginGroupMemberArgs(origin_id=DR_API_ORIGIN),
                        ],
                    )
                ]
                if failover
                else None
            ),
            default_cache_behavior=cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=api_origin,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=ALL_METHODS,
                cached_methods=READ_METHODS,
                cache_policy_id=CACHING_DISABLED_POLICY_ID,
                origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST_POLICY_ID,
                response_headers_policy_id=headers_id,
                compress=True,
            ),
            # Public API paths first: they are the ones that must not fall to the default.
            ordered_cache_behaviors=[
                *[
                    behaviour(p, public_api, self.api_cache_policy.id, [*READ_METHODS, "OPTIONS"])
                    for p in args.api_public_paths
                ],
                *[
                    behaviour(p, static_origin, self.static_cache_policy.id, READ_METHODS)
                    for p in args.static_paths
                ],
            ],
            viewer_certificate=viewer_certificate,
            logging_config=cloudfront.DistributionLoggingConfigArgs(
                bucket=args.log_bucket_domain_name,
                prefix="cloudfront/",
                include_cookies=False,
            ),
            restrictions=cloudfront.DistributionRestrictionsArgs(
                geo_restriction=cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type="none"
                )
            ),
            tags=tags,
            opts=child,
        )

    def _static_cache_policy(
        self, name: str, child: pulumi.ResourceOptions
    ) -> cloudfront.CachePolicy:
        """Long-lived assets: nothing but the compressed encoding in the cache key."""
        return cloudfront.CachePolicy(
            f"{name}-static-cache",
            comment="Static assets: content-hashed, cached up to a year",
            min_ttl=0,
            default_ttl=STATIC_DEFAULT_TTL_SECONDS,
            max_ttl=STATIC_MAX_TTL_SECONDS,
            parameters_in_cache_key_and_forwarded_to_origin=_cache_key(query_strings="none"),
            opts=child,
        )

    def _api_cache_policy(
        self, name: str, args: CdnArgs, child: pulumi.ResourceOptions
    ) -> cloudfront.CachePolicy:
        """Public API responses: keyed on the query string, never on who is asking."""
        return cloudfront.CachePolicy(
            f"{name}-api-cache",
            comment="Public API GET responses, short-lived, no cookies or auth headers",
            min_ttl=0,
            default_ttl=args.api_cache_ttl_seconds,
            max_ttl=API_MAX_TTL_SECONDS,
            parameters_in_cache_key_and_forwarded_to_origin=_cache_key(query_strings="all"),
            opts=child,
        )

    def _security_headers(
        self, name: str, child: pulumi.ResourceOptions
    ) -> cloudfront.ResponseHeadersPolicy:
        """Security headers on every response, whichever origin produced it."""
        return cloudfront.ResponseHeadersPolicy(
            f"{name}-security-headers",
            comment="HSTS, CSP, nosniff, DENY framing, strict referrer",
            security_headers_config=cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                strict_transport_security=cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                    access_control_max_age_sec=HSTS_MAX_AGE_SECONDS,
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                    override=True
                ),
                frame_options=cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                    frame_option="DENY", override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                    referrer_policy="strict-origin-when-cross-origin", override=True
                ),
                xss_protection=cloudfront.ResponseHeadersPolicySecurityHeadersConfigXssProtectionArgs(
                    protection=True, mode_block=True, override=True
                ),
                # An origin that sends its own CSP (a page with nonces, say) keeps it.
                content_security_policy=cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
                    content_security_policy=CONTENT_SECURITY_POLICY, override=False
                ),
            ),
            opts=child,
        )

    @staticmethod
    def _origin_headers(
        args: CdnArgs,
    ) -> list[cloudfront.DistributionOriginCustomHeaderArgs] | None:
        """The secret origin header, which the load balancer's rules require."""
        if args.origin_secret is None:
            return None
        return [
            cloudfront.DistributionOriginCustomHeaderArgs(
                name=ORIGIN_VERIFY_HEADER, value=pulumi.Output.secret(args.origin_secret)
            )
        ]

    def _audience_ip_sets(
        self, name: str, args: CdnArgs, tags: dict[str, str], edge: pulumi.ResourceOptions
    ) -> list[wafv2.IpSet]:
        """The audience's networks, one IP set per address family; none when public.

        Decision: the audience is enforced here, on the CloudFront web ACL, not on the load
        balancer. Every request reaches the load balancer from CloudFront, so the source
        address the load balancer (or a regional WAF) sees is CloudFront's; only the viewer's
        X-Forwarded-For would tell, and its leading entries are whatever the viewer wrote.
        CloudFront's WAF sees the viewer's own address, and it also covers the static assets,
        which never reach the load balancer.
        """
        v4, v6 = audience_networks(args.audience_cidrs)
        if not v4 and not v6:
            return []
        egress = pulumi.Output.from_input(args.audience_egress_ips or []).apply(
            lambda ips: [f"{ip}/32" for ip in ips]
        )
        sets: list[wafv2.IpSet] = []
        for version, networks, extra in (("IPV4", v4, egress), ("IPV6", v6, None)):
            if not networks and extra is None:
                continue
            set_name = f"{name}-audience-{version.lower()}"
            addresses: pulumi.Input[Sequence[str]] = networks
            if extra is not None:
                addresses = _merged(networks, extra)
            sets.append(
                wafv2.IpSet(
                    set_name,
                    name=set_name,
                    description=f"Who may use {name} ({version}): its audience's networks",
                    scope="CLOUDFRONT",
                    ip_address_version=version,
                    addresses=addresses,
                    tags={**tags, "Name": set_name},
                    opts=edge,
                )
            )
        return sets

    def _audience_rule(
        self, visibility: Callable[[str], wafv2.WebAclRuleVisibilityConfigArgs]
    ) -> list[wafv2.WebAclRuleArgs]:
        """Block every viewer outside the audience's IP sets; nothing when public."""
        if not self.audience_ip_sets:
            return []
        matches = [
            wafv2.WebAclRuleStatementArgs(
                ip_set_reference_statement=wafv2.WebAclRuleStatementIpSetReferenceStatementArgs(
                    arn=ip_set.arn
                )
            )
            for ip_set in self.audience_ip_sets
        ]
        inside = (
            matches[0]
            if len(matches) == 1
            else wafv2.WebAclRuleStatementArgs(
                or_statement=wafv2.WebAclRuleStatementOrStatementArgs(statements=matches)
            )
        )
        return [
            wafv2.WebAclRuleArgs(
                name=AUDIENCE_RULE,
                priority=0,
                action=wafv2.WebAclRuleActionArgs(block=wafv2.WebAclRuleActionBlockArgs()),
                statement=wafv2.WebAclRuleStatementArgs(
                    not_statement=wafv2.WebAclRuleStatementNotStatementArgs(statement=inside)
                ),
                visibility_config=visibility(AUDIENCE_RULE),
            )
        ]

    def _blocked_ip_set(
        self, name: str, args: CdnArgs, tags: dict[str, str], edge: pulumi.ResourceOptions
    ) -> wafv2.IpSet:
        """The IPv4 set the web ACL blocks first; created empty, filled by hand."""
        set_name = args.blocked_ip_set_name or f"{name}-blocked"
        return wafv2.IpSet(
            f"{name}-blocked-ips",
            name=set_name,
            description=f"Sources blocked at the edge of {name}, added by operators",
            scope="CLOUDFRONT",
            ip_address_version="IPV4",
            addresses=[],
            tags={**tags, "Name": set_name},
            # The credential-stuffing and bot-surge runbooks add addresses during an incident
            # (aws wafv2 update-ip-set); the program only creates the set, so the next
            # `pulumi up` must not empty it again and let the attackers back in.
            opts=pulumi.ResourceOptions.merge(
                edge, pulumi.ResourceOptions(ignore_changes=["addresses"])
            ),
        )

    def _waf_logging(
        self,
        name: str,
        args: CdnArgs,
        *,
        acl: wafv2.WebAcl,
        region: str,
        opts: pulumi.ResourceOptions,
        key_opts: pulumi.ResourceOptions,
        redacted: Sequence[str] = REDACTED_HEADERS,
    ) -> aws.cloudwatch.LogGroup:
        """Every request ``acl`` sees, to a KMS-encrypted log group ``aws-waf-logs-<name>``.

        WAF logs a web ACL only to destinations of its own region (us-east-1 for CLOUDFRONT
        scope), named ``aws-waf-logs-*``; the key lives there too, since CloudWatch Logs uses
        keys of its own region only. ``redacted`` headers (credentials) are left out.
        """
        group_name = f"{WAF_LOG_GROUP_PREFIX}{name}"
        group = keyed_log_group(
            f"{name}-waf-logs",
            f"{name}-waf-logs",
            group_name,
            description=f"WAF request log of {name} (CloudWatch Logs, {region})",
            context=AwsContext(
                account_id=args.context.account_id,
                partition=args.context.partition,
                region=region,
            ),
            retention_days=args.waf_log_retention_days,
            tags=args.tags,
            protect=args.protect,
            opts=opts,
            key_opts=key_opts,
        ).group
        wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging",
            resource_arn=acl.arn,
            log_destination_configs=[group.arn],
            redacted_fields=[
                wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(
                        name=header
                    )
                )
                for header in redacted
            ],
            opts=opts,
        )
        return group

    def _origin_web_acl(
        self,
        name: str,
        args: CdnArgs,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
        region: str,
    ) -> wafv2.WebAcl | None:
        """The web ACL (of ``region``) of an API origin's load balancer; None without the secret.

        Decision: the origin header is checked here rather than by a listener-rule condition
        on the Ingresses. A condition would write the secret into every Ingress (readable by
        whoever may read Ingresses, and shown by Argo CD), and an Ingress group takes one
        default action from one Ingress only. WAF also compares the value case-sensitively
        (ALB conditions do not) and answers 403 to everything else; the header is redacted
        from its log.
        """
        if args.origin_secret is None:
            return None
        secret = pulumi.Output.secret(args.origin_secret).apply(check_origin_secret)
        acl_name = f"{name}-origin"
        rule = "from-cloudfront"
        acl = wafv2.WebAcl(
            f"{name}-origin-waf",
            name=acl_name,
            description=f"Requests to the API origin of {name} must come through its CloudFront",
            scope="REGIONAL",
            default_action=wafv2.WebAclDefaultActionArgs(
                block=wafv2.WebAclDefaultActionBlockArgs()
            ),
            rules=[
                wafv2.WebAclRuleArgs(
                    name=rule,
                    priority=0,
                    action=wafv2.WebAclRuleActionArgs(allow=wafv2.WebAclRuleActionAllowArgs()),
                    statement=wafv2.WebAclRuleStatementArgs(
                        byte_match_statement=wafv2.WebAclRuleStatementByteMatchStatementArgs(
                            field_to_match=wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchArgs(
                                single_header=wafv2.WebAclRuleStatementByteMatchStatementFieldToMatchSingleHeaderArgs(
                                    name=ORIGIN_VERIFY_HEADER.lower()
                                )
                            ),
                            positional_constraint="EXACTLY",
                            search_string=secret,
                            text_transformations=[
                                wafv2.WebAclRuleStatementByteMatchStatementTextTransformationArgs(
                                    priority=0, type="NONE"
                                )
                            ],
                        )
                    ),
                    visibility_config=wafv2.WebAclRuleVisibilityConfigArgs(
                        cloudwatch_metrics_enabled=True,
                        metric_name=f"{acl_name}-{rule}",
                        sampled_requests_enabled=True,
                    ),
                )
            ],
            visibility_config=wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=acl_name,
                sampled_requests_enabled=True,
            ),
            tags={**tags, "Name": acl_name},
            opts=child,
        )
        self._waf_logging(
            acl_name,
            args,
            acl=acl,
            region=region,
            opts=child,
            key_opts=child,
            redacted=(*REDACTED_HEADERS, ORIGIN_VERIFY_HEADER.lower()),
        )
        return acl

    def _web_acl(
        self, name: str, args: CdnArgs, tags: dict[str, str], edge: pulumi.ResourceOptions
    ) -> wafv2.WebAcl:
        """The audience (dev, staging), the blocked-IP set, the rate limit, the managed groups.

        Every rule has metrics and samples. The IP checks go first: they are the cheapest, and
        a blocked source should not count against anyone's rate limit.
        """

        def visibility(metric: str) -> wafv2.WebAclRuleVisibilityConfigArgs:
            return wafv2.WebAclRuleVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=f"{name}-{metric}",
                sampled_requests_enabled=True,
            )

        rules = [*self._audience_rule(visibility)]
        rules += [
            wafv2.WebAclRuleArgs(
                name=BLOCKED_IP_RULE,
                priority=len(rules),
                action=wafv2.WebAclRuleActionArgs(block=wafv2.WebAclRuleActionBlockArgs()),
                statement=wafv2.WebAclRuleStatementArgs(
                    ip_set_reference_statement=wafv2.WebAclRuleStatementIpSetReferenceStatementArgs(
                        arn=self.blocked_ip_set.arn
                    )
                ),
                visibility_config=visibility(BLOCKED_IP_RULE),
            ),
            wafv2.WebAclRuleArgs(
                name="rate-limit-per-ip",
                priority=len(rules) + 1,
                action=wafv2.WebAclRuleActionArgs(block=wafv2.WebAclRuleActionBlockArgs()),
                statement=wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        limit=args.waf_rate_limit,
                        aggregate_key_type="IP",
                        evaluation_window_sec=300,
                    )
                ),
                visibility_config=visibility("rate-limit-per-ip"),
            ),
        ]
        for priority, group in enumerate(MANAGED_RULE_GROUPS, start=len(rules)):
            rules.append(
                wafv2.WebAclRuleArgs(
                    name=group,
                    priority=priority,
                    # "none" keeps the group's own actions (block); "count" would disarm it.
                    override_action=wafv2.WebAclRuleOverrideActionArgs(
                        none=wafv2.WebAclRuleOverrideActionNoneArgs()
                    ),
                    statement=wafv2.WebAclRuleStatementArgs(
                        managed_rule_group_statement=_managed_group(group)
                    ),
                    visibility_config=visibility(group),
                )
            )
        return wafv2.WebAcl(
            f"{name}-waf",
            description=f"Edge protection of {name}",
            scope="CLOUDFRONT",
            default_action=wafv2.WebAclDefaultActionArgs(
                allow=wafv2.WebAclDefaultActionAllowArgs()
            ),
            rules=rules,
            visibility_config=wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=self.web_acl_metric_name,
                sampled_requests_enabled=True,
            ),
            tags=tags,
            opts=edge,
        )

    def _certificate(
        self,
        name: str,
        args: CdnArgs,
        tags: dict[str, str],
        edge: pulumi.ResourceOptions,
        child: pulumi.ResourceOptions,
    ) -> pulumi.Output[str] | None:
        """An ACM certificate for ``domain``, DNS-validated; None without a domain.

        The ARN returned is the validation's, so the distribution waits for an issued
        certificate instead of failing on a pending one.
        """
        if not args.domain:
            return None
        cert = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=args.domain,
            validation_method="DNS",
            tags=tags,
            opts=edge,
        )
        domain = args.domain

        def option(field: str) -> pulumi.Output[str]:
            # One domain, one validation record; picked by name, not by position.
            return cert.domain_validation_options.apply(
                lambda opts: next(str(getattr(o, field)) for o in opts if o.domain_name == domain)
            )

        record = aws.route53.Record(
            f"{name}-certificate-validation-record",
            zone_id=args.hosted_zone_id,
            name=option("resource_record_name"),
            type=option("resource_record_type"),
            records=[option("resource_record_value")],
            ttl=60,
            # A certificate replacement for the same name asks for the same record.
            allow_overwrite=True,
            opts=child,
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-certificate-validation",
            certificate_arn=cert.arn,
            validation_record_fqdns=[record.fqdn],
            opts=edge,
        )
        return validation.certificate_arn

    def _alias_records(self, name: str, args: CdnArgs) -> None:
        """``domain`` A and AAAA aliases to the distribution (IPv6 is on)."""
        for record_type in ("A", "AAAA"):
            aws.route53.Record(
                f"{name}-alias-{record_type.lower()}",
                zone_id=args.hosted_zone_id,
                name=args.domain,
                type=record_type,
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=self.distribution.domain_name,
                        zone_id=self.distribution.hosted_zone_id,
                        evaluate_target_health=False,
                    )
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )


def _cache_key(
    *, query_strings: str
) -> cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs:
    """A cache key without cookies or headers, with gzip and brotli variants."""
    return cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
        cookies_config=cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
            cookie_behavior="none"
        ),
        headers_config=cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
            header_behavior="none"
        ),
        query_strings_config=cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
            query_string_behavior=query_strings
        ),
        enable_accept_encoding_gzip=True,
        enable_accept_encoding_brotli=True,
    )


def _managed_group(group: str) -> wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs:
    """The statement of an AWS managed rule group, with its count-only rules and settings."""
    configs = None
    if group == "AWSManagedRulesBotControlRuleSet":
        # COMMON: self-identifying and known bots; TARGETED adds browser challenges and costs
        # more per request.
        configs = [
            wafv2.WebAclRuleStatementManagedRuleGroupStatementManagedRuleGroupConfigArgs(
                aws_managed_rules_bot_control_rule_set=wafv2.WebAclRuleStatementManagedRuleGroupStatementManagedRuleGroupConfigAwsManagedRulesBotControlRuleSetArgs(
                    inspection_level="COMMON"
                )
            )
        ]
    overrides = [
        wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
            name=rule,
            action_to_use=wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                count=wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()
            ),
        )
        for rule in COUNT_ONLY_RULES.get(group, ())
    ]
    return wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
        name=group,
        vendor_name="AWS",
        managed_rule_group_configs=configs,
        rule_action_overrides=overrides or None,
    )


def _merged(networks: list[str], more: pulumi.Output[list[str]]) -> pulumi.Output[list[str]]:
    """``networks`` and ``more``, once each, sorted (an IP set's order means nothing)."""
    return more.apply(lambda extra: sorted({*networks, *extra}))


def _failed(reason: Exception) -> pulumi.Output[str]:
    """An output that fails with ``reason``, for a promise that can no longer be kept."""

    def fail(_: object) -> str:
        raise RuntimeError(f"the CloudFront distribution was not created: {reason}") from reason

    return pulumi.Output.from_input(None).apply(fail)


def _cloudfront_read_statement(bucket_arn: str, distribution_arn: str) -> dict[str, Any]:
    """Bucket-policy statement: this distribution, and no other, reads objects through OAC."""
    return {
        "Sid": "CloudFrontReadsThroughOriginAccessControl",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }


__all__ = ["Cdn", "CdnArgs"]
