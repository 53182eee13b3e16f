"""Tagging (platform rule, advisory): taggable AWS resources carry the cost-allocation tags.

Tags set by the AWS provider's ``defaultTags`` count: AWS applies them to every resource.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs

from .common import (
    ADVISORY,
    InvalidPropError,
    is_mapping,
    mapping_prop,
    resource_policy,
    wrong_type,
)

REQUIRED_TAGS = ("environment", "owner", "cost-center", "managed-by")

TAGGABLE_TYPES = frozenset(
    {
        # network
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/eip:Eip",
        "aws:ec2/networkAcl:NetworkAcl",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ec2/flowLog:FlowLog",
        # compute
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/instance:Instance",
        "aws:ebs/volume:Volume",
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/addon:Addon",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/fargateProfile:FargateProfile",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:lambda/function:Function",
        "aws:ecr/repository:Repository",
        # identity, keys, logs
        "aws:iam/role:Role",
        "aws:iam/policy:Policy",
        "aws:iam/user:User",
        "aws:iam/instanceProfile:InstanceProfile",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:kms/key:Key",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:secretsmanager/secret:Secret",
        "aws:acm/certificate:Certificate",
        # data
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/subnetGroup:SubnetGroup",
        "aws:dynamodb/table:Table",
        "aws:efs/fileSystem:FileSystem",
        "aws:opensearch/domain:Domain",
        "aws:elasticsearch/domain:Domain",
        "aws:sqs/queue:Queue",
        "aws:sns/topic:Topic",
        "aws:backup/vault:Vault",
        "aws:backup/plan:Plan",
        # edge
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/targetGroup:TargetGroup",
        "aws:cloudfront/distribution:Distribution",
        "aws:wafv2/webAcl:WebAcl",
        "aws:route53/zone:Zone",
    }
)
"""AWS resource types that accept ``tags`` (checked against the installed SDK by the tests)."""


def _tag_map(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not is_mapping(value):
        raise wrong_type(where, "an object of key/value pairs", value)
    return value


def provider_default_tags(args: ResourceValidationArgs) -> Mapping[str, Any]:
    """``defaultTags.tags`` of the resource's AWS provider (a JSON string in provider inputs)."""
    if args.provider is None or not args.provider.resource_type.startswith("pulumi:providers:aws"):
        return {}
    default = args.provider.props.get("defaultTags")
    if isinstance(default, str):
        try:
            default = json.loads(default)
        except json.JSONDecodeError:
            raise InvalidPropError("the AWS provider's defaultTags is not valid JSON") from None
    if default is None:
        return {}
    if not is_mapping(default):
        raise wrong_type("the AWS provider's defaultTags", "an object", default)
    return _tag_map(default.get("tags"), "the AWS provider's defaultTags.tags")


def _required_tags(args: ResourceValidationArgs) -> Iterator[str]:
    tags = {**provider_default_tags(args), **_tag_map(mapping_prop(args.props, "tags"), "tags")}
    missing = [key for key in REQUIRED_TAGS if not (isinstance(tags.get(key), str) and tags[key])]
    if missing:
        yield (
            f"missing required tags: {', '.join(missing)} "
            f"(every taggable resource needs {', '.join(REQUIRED_TAGS)})"
        )


required_tags = resource_policy(
    name="aws-required-tags",
    description=(
        "Platform rule: taggable AWS resources carry the tags environment, owner, cost-center "
        "and managed-by (cost allocation and ownership)."
    ),
    enforcement=ADVISORY,
    applies_to=TAGGABLE_TYPES,
    check=_required_tags,
)

POLICIES: list[Policy] = [required_tags]
