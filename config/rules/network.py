"""Rules of regions and networks: private, non-overlapping ranges; zones of the right region."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from config.constants import CLOUDWATCH_RETENTION_DAYS
from config.fields import Domain
from config.floors import floors_for
from config.models.cluster import ClusterSettings
from config.models.identity import IdentitySettings
from config.models.network import NetworkSettings
from config.problems import NAMESPACE, Problem, bad, key_of

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


def check_regions(identity: IdentitySettings, net: NetworkSettings) -> Iterable[Problem]:
    """A real primary region, and in prod a different DR region."""
    if not _REGION.match(net.aws_region):
        yield bad(net, "aws_region", "must be an AWS region name such as eu-west-1")
    if identity.is_prod and not net.dr_region:
        yield bad(net, "dr_region", "prod needs a disaster-recovery region")
    if net.dr_region and (not _REGION.match(net.dr_region) or net.dr_region == net.aws_region):
        yield bad(net, "dr_region", f"must be an AWS region other than {net.aws_region}")


def _private_network(key: str, cidr: str) -> tuple[ipaddress.IPv4Network | None, list[Problem]]:
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return None, [Problem(key, cidr, "must be an IPv4 network in CIDR form, e.g. 10.10.0.0/16")]
    if not isinstance(net, ipaddress.IPv4Network) or not net.is_private:
        return None, [Problem(key, cidr, "must be a private (RFC 1918) IPv4 network")]
    return net, []


def check_networks(identity: IdentitySettings, net: NetworkSettings) -> Iterable[Problem]:
    """Every range private and no two overlapping (VPC, DR VPC, reserved, Kubernetes services)."""
    named: list[tuple[str, ipaddress.IPv4Network]] = []
    vpc_key = key_of(net, "vpc_cidr")
    vpc, problems = _private_network(vpc_key, net.vpc_cidr)
    yield from problems
    if vpc is not None:
        if not 16 <= vpc.prefixlen <= 22:
            yield bad(net, "vpc_cidr", "prefix must be between /16 and /22")
        named.append((vpc_key, vpc))
    dr_key = key_of(net, "dr_vpc_cidr")
    if net.dr_vpc_cidr:
        dr, problems = _private_network(dr_key, net.dr_vpc_cidr)
        yield from problems
        if dr is not None:
            named.append((dr_key, dr))
    elif identity.is_prod:
        yield bad(net, "dr_vpc_cidr", "prod needs a network for its DR region")
    for i, cidr in enumerate(net.reserved_cidrs):
        key = f"{key_of(net, 'reserved_cidrs')}[{i}]"
        reserved, problems = _private_network(key, cidr)
        yield from problems
        if reserved is not None:
            named.append((key, reserved))
    svc_key = key_of(net, "service_cidr")
    svc, problems = _private_network(svc_key, net.service_cidr)
    yield from problems
    if svc is not None:
        named.append((svc_key, svc))
    for i, (key_a, net_a) in enumerate(named):
        for key_b, net_b in named[i + 1 :]:
            if net_a.overlaps(net_b):
                yield Problem(key_b, str(net_b), f"overlaps {NAMESPACE}:{key_a} ({net_a})")


def check_zones(
    identity: IdentitySettings, net: NetworkSettings, cluster: ClusterSettings
) -> Iterable[Problem]:
    """Two or three distinct zones of the right region; prod's floors of spread and NAT."""
    zones = net.availability_zones
    if not 2 <= len(zones) <= 3:
        yield bad(
            net,
            "availability_zones",
            "2 or 3 zones (EKS needs subnets in two; the subnet plan has room for three)",
        )
    if len(set(zones)) != len(zones):
        yield bad(net, "availability_zones", "zones must be distinct")
    for i, zone in enumerate(zones):
        if not re.fullmatch(re.escape(net.aws_region) + r"[a-z]", zone):
            yield bad(net, "availability_zones", f"must be a zone of {net.aws_region}", index=i)
    dr_zones = net.dr_availability_zones
    if net.dr_region and not 2 <= len(dr_zones) <= 3:
        yield bad(net, "dr_availability_zones", f"2 or 3 zones of {net.dr_region}")
    if dr_zones and not net.dr_region:
        yield bad(net, "dr_availability_zones", f"only with {key_of(net, 'dr_region')} set")
    if len(set(dr_zones)) != len(dr_zones):
        yield bad(net, "dr_availability_zones", "zones must be distinct")
    for i, zone in enumerate(dr_zones):
        if net.dr_region and not re.fullmatch(re.escape(net.dr_region) + r"[a-z]", zone):
            yield bad(net, "dr_availability_zones", f"must be a zone of {net.dr_region}", index=i)
    env = identity.environment
    floors = floors_for(env)
    if floors.spread_nodes and cluster.single_az_compute:
        yield bad(cluster, "single_az_compute", f"{env} must spread nodes over zones")
    if floors.nat_per_zone and net.nat_gateway_mode != "perAz":
        yield bad(net, "nat_gateway_mode", f"{env} needs perAz (zone failure)")
    if len(zones) < floors.availability_zones:
        yield bad(
            net,
            "availability_zones",
            f"{env} spans {floors.availability_zones} availability zones or more",
        )


def check_log_retention(
    identity: IdentitySettings, domain: Domain, field: str
) -> Iterable[Problem]:
    """A CloudWatch Logs retention: one CloudWatch accepts, at least the environment's floor."""
    days = getattr(domain, field)
    floor = floors_for(identity.environment).cloudwatch_log_retention_days
    if days not in CLOUDWATCH_RETENTION_DAYS:
        yield bad(
            domain,
            field,
            "CloudWatch accepts " + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS)),
        )
    elif days < floor:
        yield bad(domain, field, f"{identity.environment} keeps logs at least {floor} days")


def check_flow_logs(identity: IdentitySettings, net: NetworkSettings) -> Iterable[Problem]:
    """VPC flow logs' retention."""
    yield from check_log_retention(identity, net, "flow_log_retention_days")


RULES = (check_regions, check_networks, check_zones, check_flow_logs)
