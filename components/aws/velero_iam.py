"""The AWS side of Velero: EBS snapshot permissions on the role its backups write with.

The backup store (:class:`components.aws.snapshots.SnapshotStore`) gives Velero an IRSA role
that reads and writes its own prefix only. Persistent volumes are backed up as EBS snapshots,
so that role also needs :func:`components.k8s.velero.volume_snapshot_policy`, attached here.
The policy was registered at the stack's root before this component owned it; the alias lets
``pulumi up`` adopt it in place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext
from components.k8s.velero import volume_snapshot_policy


@dataclass(frozen=True)
class VeleroSnapshotPermissionsArgs:
    """The role to extend, and the account and region the snapshots live in.

    ``kms_key_arns`` are the keys of the volumes backed up (see :func:`volume_snapshot_policy`).
    """

    role: aws.iam.Role
    context: AwsContext
    kms_key_arns: list[str] = field(default_factory=list)


class VeleroSnapshotPermissions(pulumi.ComponentResource):
    """One inline policy, ``<name>-volume-snapshots``, on Velero's backup-store role.

    The AWS provider comes from ``opts`` (``providers={"aws": ...}``).
    """

    policy: aws.iam.RolePolicy

    def __init__(
        self,
        name: str,
        args: VeleroSnapshotPermissionsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ttbt2:aws:VeleroSnapshotPermissions", name, None, opts)
        region = args.context.region
        keys = list(args.kms_key_arns)
        policy_name = f"{name}-volume-snapshots"
        self.policy = aws.iam.RolePolicy(
            policy_name,
            role=args.role.id,
            policy=args.context.account_id.apply(
                lambda account: json.dumps(volume_snapshot_policy(region, account, keys))
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                aliases=[pulumi.Alias(name=policy_name, parent=pulumi.ROOT_STACK_RESOURCE)],
            ),
        )
        self.register_outputs({})
