"""Across rules: wrongly typed props are violations (never errors); unknowns are notes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import Policy

from policies.ttbt2_policies import eks, iam, kms, network, tags
from tests.support.policies import (
    UNKNOWN,
    allow,
    assert_unknown_is_a_note,
    assert_wrong_type,
    case_ids,
    doc,
    findings_for,
    resource,
)

KEY = "aws:kms/key:Key"
CLUSTER = "aws:eks/cluster:Cluster"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X"


def web_identity(**extra: Any) -> str:
    return str(
        doc(allow("sts:AssumeRoleWithWebIdentity", None, Principal={"Federated": OIDC}, **extra))
    )


WRONG_TYPES: list[tuple[Policy, str, dict[str, Any], str]] = [
    (
        kms.key_rotation_enabled,
        KEY,
        {"enableKeyRotation": "yes"},
        "enableKeyRotation must be true or false",
    ),
    (
        kms.key_rotation_enabled,
        KEY,
        {"enableKeyRotation": 1},
        "must be true or false, got number 1",
    ),
    (kms.key_policy_no_wildcard_principal, KEY, {"policy": 7}, "policy must be a policy document"),
    (
        eks.secrets_encryption,
        CLUSTER,
        {"encryptionConfig": "secrets"},
        "encryptionConfig must be an object",
    ),
    (
        eks.secrets_encryption,
        CLUSTER,
        {"encryptionConfig": {"provider": "k"}},
        "provider must be an object",
    ),
    (
        eks.control_plane_logging,
        CLUSTER,
        {"enabledClusterLogTypes": "api"},
        "must be an array of strings",
    ),
    (eks.control_plane_logging, CLUSTER, {"enabledClusterLogTypes": [1]}, "it holds number 1"),
    (
        eks.endpoint_not_public,
        CLUSTER,
        {"vpcConfig": {"endpointPublicAccess": "no"}},
        "true or false",
    ),
    (eks.endpoint_not_public, CLUSTER, {"vpcConfig": []}, "vpcConfig must be an object"),
    (iam.no_wildcard_actions, ROLE_POLICY, {"policy": ["s3:*"]}, "must be a policy document"),
    (
        iam.no_wildcard_actions,
        ROLE,
        {"inlinePolicies": {"name": "x"}},
        "inlinePolicies must be an array",
    ),
    (
        iam.no_wildcard_resources,
        ROLE_POLICY,
        {"policy": doc(allow("s3:GetObject", 5))},
        "Resource must be",
    ),
    (
        iam.trust_no_wildcard_principal,
        ROLE,
        {"assumeRolePolicy": doc(allow("sts:AssumeRole", None, Principal=5))},
        "Principal must be '*' or an object",
    ),
    (iam.no_administrator_access, ATTACHMENT, {"policyArn": 5}, "policyArn must be a string"),
    (
        iam.no_administrator_access,
        ROLE,
        {"managedPolicyArns": "arn"},
        "managedPolicyArns must be an array",
    ),
    (
        iam.web_identity_trust_pinned,
        ROLE,
        {"assumeRolePolicy": web_identity(Condition="pinned")},
        "Condition must be an object",
    ),
    (
        network.no_public_admin_ingress,
        SG,
        {"ingress": {"fromPort": 22}},
        "ingress must be an array",
    ),
    (
        network.no_public_admin_ingress,
        SG,
        {"ingress": [{"fromPort": "22", "toPort": 22, "protocol": "tcp"}]},
        "ingress[0]: fromPort must be a number",
    ),
    (
        network.no_public_admin_ingress,
        SG_RULE,
        {"type": "ingress", "protocol": True},
        "protocol must be a string",
    ),
    (
        network.no_public_admin_ingress,
        INGRESS_RULE,
        {"cidrIpv4": ["0.0.0.0/0"]},
        "cidrIpv4 must be a string",
    ),
    (
        network.launch_template_imdsv2,
        TEMPLATE,
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": "1"}},
        "httpPutResponseHopLimit must be a number",
    ),
    (
        network.launch_template_imdsv2,
        TEMPLATE,
        {"metadataOptions": "required"},
        "must be an object",
    ),
    (
        network.default_security_group_closed,
        DEFAULT_SG,
        {"ingress": "all"},
        "ingress must be an array",
    ),
    (tags.required_tags, "aws:ec2/vpc:Vpc", {"tags": "environment=dev"}, "tags must be an object"),
]


@pytest.mark.parametrize(
    ("policy", "type_", "props", "expected"),
    WRONG_TYPES,
    ids=case_ids(WRONG_TYPES),
)
def test_wrongly_typed_prop_is_a_violation_not_an_error(
    policy: Policy, type_: str, props: dict[str, Any], expected: str
) -> None:
    assert_wrong_type(findings_for(policy, [resource(type_, props)]), expected)


UNKNOWNS: list[tuple[Policy, str, dict[str, Any]]] = [
    (kms.key_rotation_enabled, KEY, {"enableKeyRotation": UNKNOWN}),
    (kms.key_policy_no_wildcard_principal, KEY, {"policy": UNKNOWN}),
    (eks.secrets_encryption, CLUSTER, {"encryptionConfig": {"provider": {"keyArn": UNKNOWN}}}),
    (eks.control_plane_logging, CLUSTER, {"enabledClusterLogTypes": ["api", UNKNOWN]}),
    (eks.endpoint_not_public, CLUSTER, {"vpcConfig": {"endpointPublicAccess": UNKNOWN}}),
    (iam.no_wildcard_actions, ROLE_POLICY, {"policy": UNKNOWN}),
    (iam.no_wildcard_resources, ROLE, {"inlinePolicies": [{"name": "x", "policy": UNKNOWN}]}),
    (iam.trust_no_wildcard_principal, ROLE, {"assumeRolePolicy": UNKNOWN}),
    (iam.no_administrator_access, ATTACHMENT, {"policyArn": UNKNOWN}),
    (iam.web_identity_trust_pinned, ROLE, {"assumeRolePolicy": UNKNOWN}),
    (
        network.no_public_admin_ingress,
        SG,
        {"ingress": [{"protocol": "tcp", "cidrBlocks": [UNKNOWN]}]},
    ),
    (network.launch_template_imdsv2, TEMPLATE, {"metadataOptions": {"httpTokens": UNKNOWN}}),
    (network.default_security_group_closed, DEFAULT_SG, {"ingress": UNKNOWN}),
    (tags.required_tags, "aws:ec2/vpc:Vpc", {"tags": UNKNOWN}),
]


@pytest.mark.parametrize(
    ("policy", "type_", "props"), UNKNOWNS, ids=[p.name for p, *_rest in UNKNOWNS]
)
def test_unknown_value_is_a_note(policy: Policy, type_: str, props: dict[str, Any]) -> None:
    found = findings_for(policy, [resource(type_, props)])
    assert_unknown_is_a_note(found, policy)
    assert "can't run during preview" in found[0].message


def test_valid_json_of_a_parsed_document_reads_the_same() -> None:
    statement = allow("s3:*", "*")
    as_text = findings_for(
        iam.no_wildcard_actions,
        [resource(ROLE_POLICY, {"policy": json.dumps(doc(statement, as_json=False))})],
    )
    as_dict = findings_for(
        iam.no_wildcard_actions, [resource(ROLE_POLICY, {"policy": doc(statement, as_json=False)})]
    )
    assert [f.message for f in as_text] == [f.message for f in as_dict]
