"""The public edge (seed 4.8.2, 4.4.2): CDN, API cache, WAF and their access logs."""

from __future__ import annotations

from typing import Literal

from config.fields import Domain, setting
from config.floors import per_environment

PriceClass = Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]


class EdgeSettings(Domain):
    """CloudFront in front of the API and the static assets, behind a WAF."""

    api_origin_host: str = setting(
        "api-origin.ttbt2.example",
        "Host name of the cluster's public load balancer (API origin).",
        key="apiOriginHost",
    )
    cdn_domain: str = setting(
        "", "Custom domain of the CDN; empty = CloudFront's own domain.", key="cdnDomain"
    )
    cdn_hosted_zone_id: str = setting(
        "",
        "Route 53 zone of cdnDomain, for certificate validation and the alias record.",
        key="cdnHostedZoneId",
    )
    cdn_price_class: PriceClass = setting(
        "PriceClass_100",
        "CloudFront price class; prod serves every edge (PriceClass_All).",
        key="cdnPriceClass",
    )
    api_public_paths: list[str] = setting(
        ["/api/public/*"],
        "Path patterns of public GET endpoints whose responses are cached.",
        key="apiPublicPaths",
    )
    static_paths: list[str] = setting(
        ["/static/*", "/assets/*"],
        "Path patterns of static assets served from S3.",
        key="staticPaths",
    )
    # Public API responses are cached for at most 5 minutes (the API cache policy's maximum).
    api_cache_ttl_seconds: int = setting(
        60,
        "Default seconds public API responses stay cached.",
        key="apiCacheTtlSeconds",
        ge=0,
        le=300,
    )
    waf_rate_limit: int = setting(
        2000,
        "Requests per 5 minutes from one IP before the WAF blocks it.",
        key="wafRateLimit",
        ge=10,
        le=2_000_000_000,
    )
    access_log_retention_days: int = setting(
        90,
        "Days S3, CloudFront and GCS access logs and the WAF request log are kept; a "
        "retention CloudWatch Logs accepts (30, 90, 365...), at least "
        f"{per_environment(lambda f: f.access_log_retention_days)}.",
        key="accessLogRetentionDays",
        ge=1,
    )
    edge_allowed_cidrs: list[str] = setting(
        [],
        "Networks (IPv4/IPv6 CIDRs) of the environment's audience; the CloudFront WAF blocks "
        "every other viewer. Required in dev (developers) and staging (QA, selected "
        "stakeholders); empty in prod (end users).",
        key="edgeAllowedCidrs",
    )
