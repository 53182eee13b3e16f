"""A private DNS name for an internal load balancer, resolvable inside one VPC only.

The Pushgateway's ALB is internal and its own DNS name (``internal-k8s-….elb.amazonaws.com``)
is not one a certificate of ours can cover, so HTTPS to it fails verification. This gives the
load balancer a name the certificate covers: a Route 53 private hosted zone whose apex is that
exact name, associated with the VPC, holding an alias A record to the load balancer.

The zone is the name itself, not its parent domain: a private zone for ``ttbt2.example`` would
answer every ``*.ttbt2.example`` question inside the VPC and hide the public records (the
CloudFront names the pipeline calls). A zone per name shadows nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

ALB_HOSTED_ZONE_IDS = {
    "eu-west-1": "Z32O12XQLNTSW2",
    "eu-central-1": "Z215JYRZR1TBD5",
    "us-east-1": "Z35SXDOTRQ7X7K",
}
"""Application Load Balancers' canonical hosted zone per region (AWS's published table), the
zone an alias record to an ALB names. A constant, not a lookup: the record needs it before the
load balancer exists, and it never changes."""

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def is_host(name: str) -> bool:
    """Whether ``name`` is a lower-case DNS name of at least two labels."""
    return _HOST.match(name) is not None


@dataclass(frozen=True)
class PrivateAliasArgs:
    """Arguments of :class:`PrivateAlias`: the name, the VPC, and the ALB's own DNS name."""

    host: str
    vpc_id: pulumi.Input[str]
    region: str
    load_balancer_dns_name: pulumi.Input[str]
    tags: dict[str, str]

    def __post_init__(self) -> None:
        if not is_host(self.host):
            raise ValueError(f"host must be a DNS name, got {self.host!r}")
        if self.region not in ALB_HOSTED_ZONE_IDS:
            raise ValueError(
                f"no ALB hosted zone known for region {self.region!r}; known: "
                + ", ".join(sorted(ALB_HOSTED_ZONE_IDS))
            )


class PrivateAlias(pulumi.ComponentResource):
    """``<name>-zone`` (private, the VPC only) and ``<name>-record`` (alias A to the ALB)."""

    zone: aws.route53.Zone

    def __init__(
        self, name: str, args: PrivateAliasArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:PrivateAlias", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.zone = aws.route53.Zone(
            f"{name}-zone",
            name=args.host,
            comment=f"{args.host} inside the VPC only: the internal load balancer",
            vpcs=[aws.route53.ZoneVpcArgs(vpc_id=args.vpc_id, vpc_region=args.region)],
            tags={**args.tags, "Name": f"{name}-zone"},
            opts=child,
        )
        aws.route53.Record(
            f"{name}-record",
            zone_id=self.zone.zone_id,
            name=args.host,
            type="A",
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=args.load_balancer_dns_name,
                    zone_id=ALB_HOSTED_ZONE_IDS[args.region],
                    evaluate_target_health=False,
                )
            ],
            opts=child,
        )
        self.register_outputs({"zoneId": self.zone.zone_id, "host": args.host})
