"""The IAM identity of one Kubernetes workload: its IRSA role and the permissions it holds.

A controller or service that calls AWS gets a role that only its own service account can
assume (:func:`components.aws.iam.irsa_trust`) and, when it needs any, one inline policy with
exactly the permissions it declares. Both carry the workload's name, the name IAM already knows
them by: the role and its policy were registered under the cluster and at the stack's root
before this component owned them, and the aliases below let ``pulumi up`` adopt them in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.eks import KubernetesCluster
from components.aws.iam import irsa_trust


@dataclass(frozen=True)
class WorkloadIdentityArgs:
    """Who may assume the role and what it may do.

    ``policy`` is a JSON policy document (plain or an output), or None for a role that holds
    no AWS permission of its own (its trust alone is the identity).
    """

    cluster: KubernetesCluster
    namespace: str
    service_account: str
    policy: pulumi.Input[str] | None = None
    tags: dict[str, str] = field(default_factory=dict)


class WorkloadIdentity(pulumi.ComponentResource):
    """An IRSA role pinned to one service account, plus its inline policy if it declares one.

    The AWS provider comes from ``opts`` (``providers={"aws": ...}``). ``role`` is the role the
    workload's service account annotates; ``policy`` is its inline policy or None.
    """

    role: aws.iam.Role
    policy: aws.iam.RolePolicy | None

    def __init__(
        self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:aws:WorkloadIdentity", name, None, opts)
        cluster = args.cluster
        self.role = aws.iam.Role(
            name,
            assume_role_policy=irsa_trust(
                cluster.oidc_provider.arn,
                cluster.oidc_issuer,
                args.namespace,
                args.service_account,
            ),
            tags={**args.tags, "Name": name},
            # Formerly created by KubernetesCluster.irsa_role, as the cluster's child.
            opts=pulumi.ResourceOptions(
                parent=self, aliases=[pulumi.Alias(name=name, parent=cluster)]
            ),
        )
        self.policy = None
        if args.policy is not None:
            self.policy = aws.iam.RolePolicy(
                name,
                role=self.role.id,
                policy=args.policy,
                # Formerly registered by the composition itself, at the stack's root.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    aliases=[pulumi.Alias(name=name, parent=pulumi.ROOT_STACK_RESOURCE)],
                ),
            )
        self.register_outputs({"role_arn": self.role.arn})
