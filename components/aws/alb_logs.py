"""Bucket-policy grants that let Elastic Load Balancing deliver ALB access logs.

The load balancers the Ingresses create (``components/k8s/alb.py``) write their access logs to
the stack's access-log bucket under ``alb/<group>/AWSLogs/<account>/``. ELB writes them as one
of two principals, depending on the region: regions opened before August 2022 (eu-west-1,
eu-central-1...) use a regional Elastic Load Balancing account (``aws.elb.get_service_account``
answers it); newer ones the service principal ``logdelivery.elasticloadbalancing.amazonaws.com``.
Both are granted, each only ``s3:PutObject`` under this account's ``alb/`` prefix.

The bucket must be SSE-S3: ALB access logs cannot be delivered to an SSE-KMS bucket, which the
stack's access-log bucket already is not (S3 server access logs have the same limit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from components.k8s.alb import ACCESS_LOG_PREFIX

LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def alb_log_writers(elb_account_arn: pulumi.Input[str]) -> list[dict[str, Any]]:
    """The two principals ELB delivers logs as: the regional account, the service."""
    return [{"AWS": elb_account_arn}, {"Service": LOG_DELIVERY_SERVICE}]


def alb_log_statement(
    bucket_arn: str, account_id: str, principal: dict[str, Any]
) -> pulumi.Output[dict[str, Any]]:
    """Allow ``principal`` to write ALB access logs of ``account_id`` under ``alb/``."""
    (kind, value), *_ = principal.items()
    return pulumi.Output.from_input(value).apply(
        lambda who: {
            "Sid": "AlbAccessLogs" + ("ElbAccount" if kind == "AWS" else "Service"),
            "Effect": "Allow",
            "Principal": {kind: who},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/{ACCESS_LOG_PREFIX}/*/AWSLogs/{account_id}/*",
        }
    )


def alb_log_grants(
    elb_account_arn: pulumi.Input[str], account_id: pulumi.Input[str]
) -> list[Callable[[pulumi.Output[str]], pulumi.Output[dict[str, Any]]]]:
    """Bucket-policy statement builders (``SecureBucketArgs.policy_statements``), one a writer."""

    def grant(principal: dict[str, Any]) -> Callable[[pulumi.Output[str]], Any]:
        def build(bucket_arn: pulumi.Output[str]) -> pulumi.Output[dict[str, Any]]:
            return pulumi.Output.all(bucket_arn, account_id).apply(
                lambda v: alb_log_statement(v[0], v[1], principal)
            )

        return build

    return [grant(principal) for principal in alb_log_writers(elb_account_arn)]


__all__ = ["LOG_DELIVERY_SERVICE", "alb_log_grants", "alb_log_statement", "alb_log_writers"]
