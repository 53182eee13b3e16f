"""The ServiceAccount of a pod that reaches AWS through IAM roles for service accounts (IRSA)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s


def irsa_service_account(
    resource_name: str,
    *,
    name: str,
    namespace: pulumi.Input[str],
    labels: Mapping[str, str],
    role_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.ServiceAccount:
    """A ServiceAccount bound to ``role_arn`` that mounts no Kubernetes API token.

    EKS projects the web-identity token IRSA needs on its own; the API token is left out because
    these pods never talk to the Kubernetes API.
    """
    return k8s.core.v1.ServiceAccount(
        resource_name,
        metadata={
            "name": name,
            "namespace": namespace,
            "labels": dict(labels),
            "annotations": {"eks.amazonaws.com/role-arn": role_arn},
        },
        automount_service_account_token=False,
        opts=opts,
    )
