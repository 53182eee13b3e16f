"""Who reaches the environment's load balancers, and what those load balancers keep.

The AWS Load Balancer Controller (v3.5, ``vendor/charts/aws-load-balancer-controller``) builds
one ALB per Ingress group from the annotations of the group's Ingresses. The annotations that
describe the load balancer itself (scheme, sources, attributes, TLS policy) are *exclusive*:
every Ingress of a group must carry the same values, or the controller refuses the whole group.
:func:`group_annotations` is therefore the only place they come from.

Two kinds of group:

- **public** (the services): internet-facing, but its security group admits only CloudFront's
  origin-facing servers (the AWS-managed prefix list
  ``com.amazonaws.global.cloudfront.origin-facing``). That list admits *every* CloudFront
  distribution, anyone's, so the load balancer also carries a regional WAF web ACL
  (``wafv2-acl-arn``) that answers 403 to any request without the secret origin header only
  this environment's distribution sends (``components/aws/cdn.py``).
- **internal** (the Pushgateway): scheme ``internal``, reachable from the VPC only.

Both log every request to the stack's access-log bucket (SSE-S3: ALB access logs cannot be
written to an SSE-KMS bucket) under ``alb/<group>/``, and in prod are deletion-protected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

PREFIX = "alb.ingress.kubernetes.io/"
CLOUDFRONT_ORIGIN_FACING = "com.amazonaws.global.cloudfront.origin-facing"
"""AWS-managed prefix list of CloudFront's origin-facing addresses (IPv4; the ALBs are IPv4)."""
ACCESS_LOG_PREFIX = "alb"
"""ALB access logs land under ``<bucket>/alb/<group>/AWSLogs/<account>/...``."""
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 and 1.2 with forward-secret ciphers only."""


@dataclass(frozen=True)
class AlbGroup:
    """One ALB: its group name, who may reach it, and where it logs.

    Public (``prefix_list_id`` and ``web_acl_arn`` set): internet-facing, CloudFront only,
    behind the web ACL that checks the origin header. Internal (neither set): reachable from
    ``inbound_cidrs`` (the VPC) only.
    ``log_bucket`` empty turns access logs off (only for tests and internal groups without a
    bucket: the policy pack refuses an internet-facing ALB without them).
    """

    name: str
    log_bucket: pulumi.Input[str] | None = None
    deletion_protection: bool = False
    prefix_list_id: pulumi.Input[str] | None = None
    web_acl_arn: pulumi.Input[str] | None = None
    inbound_cidrs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.prefix_list_id is None) != (self.web_acl_arn is None):
            raise ValueError(
                f"ALB group {self.name!r}: a public group needs both the CloudFront prefix "
                "list and the origin-checking web ACL; an internal group neither"
            )
        if self.public and self.inbound_cidrs:
            raise ValueError(f"ALB group {self.name!r}: a public group admits CloudFront only")
        if not self.public and not self.inbound_cidrs:
            raise ValueError(f"ALB group {self.name!r}: an internal group needs inbound_cidrs")

    @property
    def public(self) -> bool:
        """Whether the ALB is internet-facing (behind CloudFront)."""
        return self.web_acl_arn is not None

    @classmethod
    def internal(
        cls,
        name: str,
        inbound_cidrs: Sequence[str],
        *,
        log_bucket: pulumi.Input[str] | None = None,
        deletion_protection: bool = False,
    ) -> AlbGroup:
        """An internal ALB reachable from ``inbound_cidrs``."""
        return cls(
            name=name,
            inbound_cidrs=tuple(inbound_cidrs),
            log_bucket=log_bucket,
            deletion_protection=deletion_protection,
        )


def load_balancer_attributes(group: AlbGroup) -> pulumi.Input[str] | None:
    """The ``load-balancer-attributes`` value: access logs, deletion protection; None if none."""
    fixed = ["deletion_protection.enabled=true"] if group.deletion_protection else []
    if group.log_bucket is None:
        return ",".join(fixed) or None
    prefix = f"{ACCESS_LOG_PREFIX}/{group.name}"
    return pulumi.Output.from_input(group.log_bucket).apply(
        lambda bucket: ",".join(
            [
                "access_logs.s3.enabled=true",
                f"access_logs.s3.bucket={bucket}",
                f"access_logs.s3.prefix={prefix}",
                *fixed,
            ]
        )
    )


def group_annotations(group: AlbGroup, certificate_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The annotations every Ingress of ``group`` carries, identical across the group."""
    notes: dict[str, Any] = {
        f"{PREFIX}group.name": group.name,
        f"{PREFIX}scheme": "internet-facing" if group.public else "internal",
        f"{PREFIX}listen-ports": '[{"HTTPS": 443}]',
        f"{PREFIX}certificate-arn": certificate_arn,
        f"{PREFIX}ssl-policy": SSL_POLICY,
    }
    if group.public:
        # Without inbound-cidrs the controller drops its 0.0.0.0/0 default and admits the
        # prefix list alone. The list weighs 55 rules of the security group's quota of 60.
        notes[f"{PREFIX}security-group-prefix-lists"] = group.prefix_list_id
        notes[f"{PREFIX}wafv2-acl-arn"] = group.web_acl_arn
    else:
        notes[f"{PREFIX}inbound-cidrs"] = ",".join(group.inbound_cidrs)
    attributes = load_balancer_attributes(group)
    if attributes is not None:
        notes[f"{PREFIX}load-balancer-attributes"] = attributes
    return notes


__all__ = ["CLOUDFRONT_ORIGIN_FACING", "AlbGroup", "group_annotations", "load_balancer_attributes"]
