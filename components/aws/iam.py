"""IAM policy documents built as plain data, so policies and tests can read them as JSON."""

from __future__ import annotations

import json
from typing import Any

import pulumi

PolicyDocument = dict[str, Any]


def document(*statements: dict[str, Any]) -> PolicyDocument:
    """Wrap statements in a 2012-10-17 policy document."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def service_trust(*services: str) -> str:
    """Trust policy letting AWS services (``eks.amazonaws.com``, ...) assume a role."""
    principal = list(services) if len(services) > 1 else services[0]
    return json.dumps(
        document(
            {"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}
        )
    )


def irsa_trust(
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer_url: pulumi.Input[str],
    namespace: str,
    service_account: str,
) -> pulumi.Output[str]:
    """Trust policy for IAM Roles for Service Accounts, pinned on both ``sub`` and ``aud``.

    Pinning ``sub`` to one service account stops every other pod in the cluster from assuming
    the role; pinning ``aud`` stops tokens minted for other audiences.
    """

    def build(args: list[str]) -> str:
        arn, url = args
        issuer = url.removeprefix("https://")
        return json.dumps(
            document(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            )
        )

    return pulumi.Output.all(oidc_provider_arn, oidc_issuer_url).apply(build)
