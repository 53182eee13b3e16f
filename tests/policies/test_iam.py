"""IAM rules.

Wildcard actions and resources in identity policies, role trust, AdministratorAccess,
web-identity trust pinning.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.graph import Resource
from policies.ttbt2_policies.iam import (
    no_administrator_access,
    no_wildcard_actions,
    no_wildcard_resources,
    security_group_writes_conditioned,
    trust_no_wildcard_principal,
    web_identity_trust_pinned,
)
from tests.support.policies import UNKNOWN, allow, deny, doc, findings_for, resource, violations

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IDENTITY_TYPES = [
    "aws:iam/policy:Policy",
    ROLE_POLICY,
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
]
LOG_GROUP = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vpc/flow-logs"
SCOPED = allow(["logs:CreateLogStream", "logs:PutLogEvents"], [LOG_GROUP, f"{LOG_GROUP}:*"])
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
OIDC_ARN = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
SERVICE_TRUST = allow("sts:AssumeRole", None, Principal={"Service": "eks.amazonaws.com"})


def identity_policy(*statements: Any, type_: str = ROLE_POLICY, as_json: bool = True) -> Resource:
    return resource(type_, {"policy": doc(*statements, as_json=as_json), "role": "r"})


def role(trust: Any = None, **props: Any) -> Resource:
    return resource(ROLE, {"assumeRolePolicy": trust or doc(SERVICE_TRUST), **props})


def web_identity(
    condition: dict[str, Any] | None, action: Any = "sts:AssumeRoleWithWebIdentity"
) -> Any:
    extra = {"Condition": condition} if condition is not None else {}
    return doc(allow(action, None, Principal={"Federated": OIDC_ARN}, **extra))


PINNED = {
    "StringEquals": {
        f"{ISSUER}:sub": "system:serviceaccount:kube-system:aws-node",
        f"{ISSUER}:aud": "sts.amazonaws.com",
    }
}


# --- wildcard actions ------------------------------------------------------------------------


@pytest.mark.parametrize("type_", IDENTITY_TYPES)
def test_named_actions_are_compliant(type_: str) -> None:
    assert findings_for(no_wildcard_actions, [identity_policy(SCOPED, type_=type_)]) == []


@pytest.mark.parametrize("type_", IDENTITY_TYPES)
@pytest.mark.parametrize("action", ["*", "s3:*", ["logs:PutLogEvents", "iam:*"]])
def test_wildcard_action_is_a_violation(type_: str, action: Any) -> None:
    res = identity_policy(allow(action, LOG_GROUP), type_=type_)
    [finding] = findings_for(no_wildcard_actions, [res])
    assert finding.policy == "aws-iam-no-wildcard-actions"
    assert "wildcard actions" in finding.message


def test_prefix_wildcard_is_left_to_the_resource_rule() -> None:
    res = identity_policy(allow("ec2:Describe*", "*"))
    assert findings_for(no_wildcard_actions, [res]) == []


def test_allow_with_not_action_is_a_violation() -> None:
    res = identity_policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    [finding] = findings_for(no_wildcard_actions, [res])
    assert "NotAction" in finding.message


def test_deny_with_wildcard_action_is_compliant() -> None:
    res = identity_policy(
        SCOPED, deny("*"), {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}
    )
    assert findings_for(no_wildcard_actions, [res]) == []


def test_role_inline_policies_are_checked() -> None:
    inline = [
        {"name": "ok", "policy": doc(SCOPED)},
        {"name": "admin", "policy": doc(allow("*"))},
    ]
    [finding] = findings_for(no_wildcard_actions, [role(inlinePolicies=inline)])
    assert "'admin'" in finding.message


def test_role_without_inline_policies_is_compliant() -> None:
    assert findings_for(no_wildcard_actions, [role()]) == []
    assert findings_for(no_wildcard_actions, [role(inlinePolicies=[{}])]) == []


def test_missing_policy_prop_has_nothing_to_check() -> None:
    assert findings_for(no_wildcard_actions, [resource(ROLE_POLICY, {"role": "r"})]) == []


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (42, "must be a policy document"),
        (json.dumps({"Statement": "everything"}), "Statement must be an object or an array"),
        (json.dumps({"Statement": [{"Effect": "Maybe", "Action": "s3:*"}]}), "Effect must be"),
        (json.dumps({"Statement": [{"Effect": "Allow", "Action": 7}]}), "Action must be"),
    ],
    ids=["not-json", "array", "number", "statement-string", "bad-effect", "numeric-action"],
)
def test_malformed_documents_are_violations_not_errors(policy: Any, expected: str) -> None:
    found = findings_for(no_wildcard_actions, [resource(ROLE_POLICY, {"policy": policy})])
    assert [f.kind for f in found] == ["violation"]
    assert expected in found[0].message


# --- wildcard resources --------------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        "ec2:DescribeInstances",
        "logs:DescribeLogGroups",
        "sts:GetCallerIdentity",
        "EC2:describeinstances",
        ["ec2:DescribeInstances", "sts:GetCallerIdentity"],
    ],
)
def test_star_resource_for_actions_that_only_accept_star_is_compliant(action: Any) -> None:
    assert findings_for(no_wildcard_resources, [identity_policy(allow(action, "*"))]) == []


def test_scoped_resources_are_compliant() -> None:
    assert findings_for(no_wildcard_resources, [identity_policy(SCOPED)]) == []


@pytest.mark.parametrize("action", ["s3:GetObject", "logs:PutLogEvents", "kms:Decrypt", "s3:Get*"])
def test_star_resource_for_scopable_actions_is_a_violation(action: str) -> None:
    res = identity_policy(allow(["sts:GetCallerIdentity", action], ["*"]))
    [finding] = findings_for(no_wildcard_resources, [res])
    assert finding.policy == "aws-iam-no-wildcard-resources"
    assert action in finding.message and "Resource '*'" in finding.message
    assert "sts:GetCallerIdentity" not in finding.message


@pytest.mark.parametrize(
    ("action", "reason"),
    [("nosuchservice:Get", "unknown service"), ("s3:NoSuchAction", "unknown action")],
)
def test_unknown_actions_with_star_resource_are_violations(action: str, reason: str) -> None:
    [finding] = findings_for(no_wildcard_resources, [identity_policy(allow(action, "*"))])
    assert reason in finding.message


def test_not_resource_counts_as_star() -> None:
    res = identity_policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x/*"}
    )
    [finding] = findings_for(no_wildcard_resources, [res])
    assert "NotResource" in finding.message


def test_deny_with_star_resource_is_compliant() -> None:
    assert findings_for(no_wildcard_resources, [identity_policy(SCOPED, deny("s3:*"))]) == []


def test_parsed_dict_policy_is_read_like_json() -> None:
    res = identity_policy(allow("s3:GetObject", "*"), as_json=False)
    assert len(violations(findings_for(no_wildcard_resources, [res]))) == 1


def test_statement_without_resource_has_nothing_to_check() -> None:
    res = identity_policy(allow("s3:GetObject", None))
    assert findings_for(no_wildcard_resources, [res]) == []


# --- trust policies: wildcard principal ------------------------------------------------------


def test_service_trust_is_compliant() -> None:
    assert findings_for(trust_no_wildcard_principal, [role()]) == []


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::1:root", "*"]}])
def test_wildcard_trust_principal_is_a_violation(principal: Any) -> None:
    trust = doc(allow("sts:AssumeRole", None, Principal=principal))
    [finding] = findings_for(trust_no_wildcard_principal, [role(trust)])
    assert finding.policy == "aws-iam-trust-no-wildcard-principal"
    assert "wildcard principal" in finding.message


def test_missing_trust_policy_has_nothing_to_check() -> None:
    assert findings_for(trust_no_wildcard_principal, [resource(ROLE, {"name": "r"})]) == []


def test_unknown_trust_policy_is_a_note() -> None:
    [finding] = findings_for(trust_no_wildcard_principal, [role(UNKNOWN)])
    assert finding.kind == "note" and "assumeRolePolicy" in finding.message


# --- AdministratorAccess -----------------------------------------------------------------------

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ATTACHMENTS = [
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
]


@pytest.mark.parametrize("type_", ATTACHMENTS)
def test_other_managed_policies_are_compliant(type_: str) -> None:
    res = resource(type_, {"policyArn": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"})
    assert findings_for(no_administrator_access, [res]) == []


@pytest.mark.parametrize("type_", ATTACHMENTS)
@pytest.mark.parametrize("arn", [ADMIN, "arn:aws-us-gov:iam::aws:policy/AdministratorAccess"])
def test_attaching_administrator_access_is_a_violation(type_: str, arn: str) -> None:
    [finding] = findings_for(no_administrator_access, [resource(type_, {"policyArn": arn})])
    assert finding.policy == "aws-iam-no-administrator-access"
    assert "AdministratorAccess" in finding.message


def test_role_managed_policy_arns_are_checked() -> None:
    res = role(managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess", ADMIN])
    assert len(violations(findings_for(no_administrator_access, [res]))) == 1
    assert findings_for(no_administrator_access, [role()]) == []


def test_exclusive_attachments_are_checked() -> None:
    type_ = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
    res = resource(type_, {"roleName": "r", "policyArns": [ADMIN]})
    assert len(violations(findings_for(no_administrator_access, [res]))) == 1


def test_customer_policy_named_like_admin_is_compliant() -> None:
    res = resource(
        ATTACHMENTS[0], {"policyArn": "arn:aws:iam::123456789012:policy/AdministratorAccess"}
    )
    assert findings_for(no_administrator_access, [res]) == []


def test_missing_policy_arn_has_nothing_to_check() -> None:
    assert findings_for(no_administrator_access, [resource(ATTACHMENTS[0], {"role": "r"})]) == []


# --- web identity ----------------------------------------------------------------------------


def test_pinned_web_identity_trust_is_compliant() -> None:
    assert findings_for(web_identity_trust_pinned, [role(web_identity(PINNED))]) == []


def test_non_web_identity_trust_is_not_concerned() -> None:
    assert findings_for(web_identity_trust_pinned, [role()]) == []


@pytest.mark.parametrize(
    ("condition", "missing"),
    [
        ({"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}, ":sub"),
        ({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:a:b"}}, ":aud"),
        (
            {
                "StringLike": {f"{ISSUER}:sub": "system:serviceaccount:*"},
                "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
            },
            ":sub",
        ),
        ({"StringEquals": {f"{ISSUER}:sub": "", f"{ISSUER}:aud": "sts.amazonaws.com"}}, ":sub"),
    ],
    ids=["no-sub", "no-aud", "sub-only-string-like", "empty-sub"],
)
def test_unpinned_web_identity_trust_is_a_violation(
    condition: dict[str, Any], missing: str
) -> None:
    [finding] = findings_for(web_identity_trust_pinned, [role(web_identity(condition))])
    assert finding.policy == "aws-iam-web-identity-trust-pinned"
    assert missing in finding.message and OIDC_ARN in finding.message


def test_missing_condition_is_a_violation_naming_both_claims() -> None:
    [finding] = findings_for(web_identity_trust_pinned, [role(web_identity(None))])
    assert ":sub and :aud" in finding.message


def test_wildcard_sts_action_counts_as_web_identity() -> None:
    found = findings_for(web_identity_trust_pinned, [role(web_identity(None, action="sts:*"))])
    assert len(violations(found)) == 1


# --- edges ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("*", "every action"),
        ("GetObject", "not a service:action name"),
        ("s3:NoSuch*", "matches no known action"),
    ],
)
def test_star_resource_reasons(action: str, reason: str) -> None:
    [finding] = findings_for(no_wildcard_resources, [identity_policy(allow(action, "*"))])
    assert reason in finding.message


def test_pattern_matching_only_wildcard_only_actions_is_compliant() -> None:
    res = identity_policy(allow("sts:GetCallerIdentit?", "*"))
    assert findings_for(no_wildcard_resources, [res]) == []


def test_inline_policy_entry_of_the_wrong_type_is_a_violation() -> None:
    found = findings_for(no_wildcard_actions, [role(inlinePolicies=["{}"])])
    assert [f.kind for f in found] == ["violation"]
    assert "inlinePolicies[0] must be an object" in found[0].message


def test_federated_principal_without_web_identity_action_is_not_concerned() -> None:
    saml = doc(
        allow(
            "sts:AssumeRoleWithSAML",
            None,
            Principal={"Federated": "arn:aws:iam::1:saml-provider/x"},
        )
    )
    assert findings_for(web_identity_trust_pinned, [role(saml)]) == []


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"StringEquals": "x"}, "Condition.StringEquals must be an object"),
        ({"StringEquals": {"k:sub": {"nested": 1}}}, "StringEquals.k:sub must be strings"),
    ],
)
def test_malformed_conditions_are_violations(condition: Any, expected: str) -> None:
    found = findings_for(web_identity_trust_pinned, [role(web_identity(condition))])
    assert [f.kind for f in found] == ["violation"]
    assert expected in found[0].message


def test_statement_entry_of_the_wrong_type_is_a_violation() -> None:
    found = findings_for(
        no_wildcard_actions, [resource(ROLE_POLICY, {"policy": json.dumps({"Statement": ["x"]})})]
    )
    assert "Statement[0] must be an object" in found[0].message


def test_document_without_statements_is_compliant() -> None:
    res = resource(ROLE_POLICY, {"policy": json.dumps({"Version": "2012-10-17"})})
    assert findings_for(no_wildcard_actions, [res]) == []


# --- security-group writes on account-wide resources ----------------------------------------------

SG_ARN = "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0"
ACCOUNT_EC2 = "arn:aws:ec2:eu-west-1:123456789012:*"
CLUSTER_TAGGED = {"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}


@pytest.mark.parametrize(
    "statement",
    [
        allow("ec2:AuthorizeSecurityGroupIngress", [SG_ARN]),
        allow(
            ["ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
            "*",
            Condition=CLUSTER_TAGGED,
        ),
        allow("ec2:DescribeSecurityGroups", "*"),
        deny("ec2:*", "*"),
    ],
    ids=["named-group", "tag-conditioned", "read-only", "deny"],
)
def test_named_or_conditioned_security_group_writes_are_compliant(statement: Any) -> None:
    assert findings_for(security_group_writes_conditioned, [identity_policy(statement)]) == []


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            allow(["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"], "*"),
            "allows ec2:AuthorizeSecurityGroupIngress, ec2:RevokeSecurityGroupIngress on * ",
        ),
        (allow("ec2:DeleteSecurityGroup", [ACCOUNT_EC2]), f"on {ACCOUNT_EC2} without a condition"),
        (
            allow("ec2:ModifySecurityGroupRules", "arn:aws:ec2:*:*:security-group/*"),
            "ec2:ModifySecurityGroupRules on arn:aws:ec2:*:*:security-group/*",
        ),
        (allow("ec2:*", [ACCOUNT_EC2]), "allows ec2:* on"),
        (
            {
                "Effect": "Allow",
                "Action": "ec2:AuthorizeSecurityGroupEgress",
                "NotResource": SG_ARN,
            },
            "on NotResource",
        ),
    ],
    ids=["star", "account-arn", "any-region-sg-arn", "service-wildcard", "not-resource"],
)
def test_unconditioned_account_wide_security_group_writes_are_violations(
    statement: Any, expected: str
) -> None:
    found = violations(
        findings_for(security_group_writes_conditioned, [identity_policy(statement)])
    )
    assert len(found) == 1 and expected in found[0].message, found
    assert "any security group of the account could be opened or deleted" in found[0].message


def test_role_inline_security_group_writes_are_checked() -> None:
    inline = [{"name": "lbc", "policy": doc(allow("ec2:RevokeSecurityGroupIngress", "*"))}]
    assert violations(
        findings_for(security_group_writes_conditioned, [role(inlinePolicies=inline)])
    )


def test_missing_policy_or_statement_parts_have_nothing_to_check() -> None:
    assert (
        findings_for(security_group_writes_conditioned, [resource(ROLE_POLICY, {"role": "r"})])
        == []
    )
    no_resource = {"Effect": "Allow", "Action": "ec2:DeleteSecurityGroup"}
    assert findings_for(security_group_writes_conditioned, [identity_policy(no_resource)]) == []


def test_unknown_security_group_policy_is_a_note() -> None:
    [finding] = findings_for(
        security_group_writes_conditioned, [resource(ROLE_POLICY, {"policy": UNKNOWN, "role": "r"})]
    )
    assert finding.kind == "note"
