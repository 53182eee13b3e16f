"""Facts about the AWS account a stack deploys into, looked up once per provider."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AwsContext:
    """The account, partition and region every ARN and key policy of a region is built from."""

    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    region: str

    def arn(self, service: str, resource: str, *, regional: bool = True) -> pulumi.Output[str]:
        """Build ``arn:<partition>:<service>:<region>:<account>:<resource>``."""
        region = self.region if regional else ""
        return pulumi.Output.all(self.partition, self.account_id).apply(
            lambda pa: f"arn:{pa[0]}:{service}:{region}:{pa[1]}:{resource}"
        )

    @property
    def root_principal(self) -> pulumi.Output[str]:
        """The account's root principal, to which key policies delegate administration."""
        return self.arn("iam", "root", regional=False)


def lookup(provider: aws.Provider, region: str) -> AwsContext:
    """Ask the provider's credentials which account and partition they belong to."""
    opts = pulumi.InvokeOutputOptions(provider=provider)
    identity = aws.get_caller_identity_output(opts=opts)
    partition = aws.get_partition_output(opts=opts)
    return AwsContext(account_id=identity.account_id, partition=partition.partition, region=region)
