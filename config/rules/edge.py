"""Rules of the public edge: host names, path patterns, price class and log retention."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from config.constants import CLOUDWATCH_RETENTION_DAYS, ORIGIN_VERIFY_CONSUMER
from config.floors import floors_for
from config.models.delivery import DeliverySettings
from config.models.edge import EdgeSettings
from config.models.identity import IdentitySettings
from config.models.vault import VaultSettings
from config.problems import Problem, bad, key_of

HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
"""A DNS host name."""
_PATH_PATTERN = re.compile(r"^/[A-Za-z0-9_./*-]*$")


def check_edge(identity: IdentitySettings, edge: EdgeSettings) -> Iterable[Problem]:
    """The CDN's names and zone, its path patterns, and what prod serves and keeps."""
    env = identity.environment
    if not HOSTNAME.match(edge.api_origin_host):
        yield bad(edge, "api_origin_host", "a DNS host name, e.g. api.example.com")
    if edge.cdn_domain and not HOSTNAME.match(edge.cdn_domain):
        yield bad(edge, "cdn_domain", "a DNS host name, e.g. www.example.com")
    if edge.cdn_domain and not re.fullmatch(r"Z[A-Z0-9]{1,31}", edge.cdn_hosted_zone_id):
        yield bad(
            edge,
            "cdn_hosted_zone_id",
            f"the Route 53 zone id of {key_of(edge, 'cdn_domain')} (Z...)",
        )
    if identity.is_prod and edge.cdn_price_class != "PriceClass_All":
        yield bad(edge, "cdn_price_class", "prod serves every edge: PriceClass_All")
    for field in ("api_public_paths", "static_paths"):
        for i, path in enumerate(getattr(edge, field)):
            if not _PATH_PATTERN.match(path):
                yield bad(edge, field, "a CloudFront path pattern such as /api/public/*", index=i)
    overlap = set(edge.api_public_paths) & set(edge.static_paths)
    if overlap:
        yield bad(
            edge, "static_paths", "a path is either static or API, not both", value=sorted(overlap)
        )
    floor = floors_for(env).access_log_retention_days
    if edge.access_log_retention_days < floor:
        yield bad(edge, "access_log_retention_days", f"{env} keeps {floor}+ days")
    elif edge.access_log_retention_days not in CLOUDWATCH_RETENTION_DAYS:
        # The same retention applies to the WAF request log, a CloudWatch Logs group.
        yield bad(
            edge,
            "access_log_retention_days",
            "also the WAF log's CloudWatch retention: "
            + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS)),
        )


def check_audience(identity: IdentitySettings, edge: EdgeSettings) -> Iterable[Problem]:
    """The audience's networks: named in dev and staging (seed 4.2), none in prod."""
    for i, cidr in enumerate(edge.edge_allowed_cidrs):
        try:
            network = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            yield bad(
                edge,
                "edge_allowed_cidrs",
                "a network in CIDR notation without host bits, e.g. 203.0.113.0/24",
                index=i,
            )
            continue
        if network.prefixlen == 0:
            yield bad(edge, "edge_allowed_cidrs", "a network narrower than everyone", index=i)
    if identity.is_prod and edge.edge_allowed_cidrs:
        yield bad(edge, "edge_allowed_cidrs", "empty in prod: end users reach it from anywhere")
    if not identity.is_prod and not edge.edge_allowed_cidrs:
        yield bad(
            edge,
            "edge_allowed_cidrs",
            f"the networks of {identity.environment}'s audience (seed 4.2: dev is for "
            "developers, staging for QA and selected stakeholders)",
        )


def check_origin_secret(delivery: DeliverySettings, vault: VaultSettings) -> Iterable[Problem]:
    """Services behind the load balancer need the secret header only CloudFront sends."""
    consumers = [ref.consumer for ref in vault.secrets]
    if delivery.services and ORIGIN_VERIFY_CONSUMER not in consumers:
        yield bad(
            vault,
            "secrets",
            f"with services, a consumer {ORIGIN_VERIFY_CONSUMER} (the origin header CloudFront "
            "sends and the load balancer requires)",
            value=consumers,
        )


RULES = (check_edge, check_audience, check_origin_secret)
