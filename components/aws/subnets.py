"""The subnet plan of a VPC: a pure function from the VPC CIDR and zones to subnet CIDRs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

TIERS = ("public", "private", "isolated")


@dataclass(frozen=True)
class SubnetPlan:
    """Subnet CIDRs per tier, one per availability zone, in zone order."""

    public: list[str]
    private: list[str]
    isolated: list[str]

    def tier(self, name: str) -> list[str]:
        """CIDRs of one tier by name."""
        return list(getattr(self, name))


def plan_subnets(vpc_cidr: str, zone_count: int) -> SubnetPlan:
    """Carve a VPC into public, private and isolated subnets for up to three zones.

    The VPC is split in quarters: the first holds the public subnets (load balancers and NAT
    only, so small), the second the isolated ones (databases, caches), the last two the private
    ones, which hold every pod IP (the VPC CNI gives pods VPC addresses) and so get half the
    space. Each quarter is cut into four equal slots, leaving one spare slot per tier for a
    fourth zone.
    """
    if not 1 <= zone_count <= 3:
        raise ValueError(f"zone_count must be 1 to 3, got {zone_count}")
    vpc = ipaddress.ip_network(vpc_cidr, strict=True)
    public_q, isolated_q, private_a, _ = vpc.subnets(prefixlen_diff=2)
    private_space = private_a.supernet()  # the last two quarters, as one block

    def slots(space: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
        return [str(net) for net in list(space.subnets(prefixlen_diff=2))[:zone_count]]

    return SubnetPlan(
        public=slots(public_q), private=slots(private_space), isolated=slots(isolated_q)
    )
