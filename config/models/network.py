"""Regions and networks: the primary and DR regions, VPC ranges, zones, NAT, flow logs."""

from __future__ import annotations

from typing import Literal

from config.fields import Domain, setting
from config.floors import per_environment

NatGatewayMode = Literal["single", "perAz"]


class NetworkSettings(Domain):
    """Where the platform runs and the private address space it uses."""

    aws_region: str = setting("eu-west-1", "Primary AWS region.", key="awsRegion")
    dr_region: str = setting("", "Disaster-recovery AWS region; required in prod.", key="drRegion")
    vpc_cidr: str = setting(
        "10.10.0.0/16", "Private IPv4 CIDR of the VPC (/16 to /22).", key="vpcCidr"
    )
    dr_vpc_cidr: str = setting(
        "", "Private IPv4 CIDR of the DR-region VPC; must not overlap the VPC.", key="drVpcCidr"
    )
    reserved_cidrs: list[str] = setting(
        [],
        "Other private networks (peered VPCs, VPN, offices) the VPC must not overlap.",
        key="reservedCidrs",
    )
    service_cidr: str = setting(
        "172.20.0.0/16",
        "CIDR for Kubernetes service IPs; must not overlap any network.",
        key="serviceCidr",
    )
    availability_zones: list[str] = setting(
        ["eu-west-1a", "eu-west-1b"],
        "Availability zones of the VPC (2 or 3, in the primary region; at least "
        f"{per_environment(lambda f: f.availability_zones)}). EKS needs two.",
        key="availabilityZones",
    )
    dr_availability_zones: list[str] = setting(
        [],
        "Availability zones of the DR-region VPC (2 or 3, in drRegion); required with drRegion.",
        key="drAvailabilityZones",
    )
    nat_gateway_mode: NatGatewayMode = setting(
        "single",
        "One NAT gateway for the VPC (single) or one per availability zone (perAz; prod).",
        key="natGatewayMode",
    )
    flow_log_retention_days: int = setting(
        30,
        "Days VPC flow logs are kept in CloudWatch Logs (at least "
        f"{per_environment(lambda f: f.cloudwatch_log_retention_days)}).",
        key="flowLogRetentionDays",
    )
