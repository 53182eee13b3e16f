"""KMS rules.

Rotation (CKV_AWS_7), no wildcard principal in key policies (CKV_AWS_33), deletion window
(platform rule).
"""

from __future__ import annotations

from typing import Any

import pytest

from policies.ttbt2_policies.kms import (
    key_deletion_window,
    key_policy_no_wildcard_principal,
    key_rotation_enabled,
)
from tests.support.policies import UNKNOWN, allow, doc, findings_for, resource, violations

KEY = "aws:kms/key:Key"
ROOT = "arn:aws:iam::123456789012:root"


def root_statement(**extra: Any) -> dict[str, Any]:
    return allow("kms:*", Principal={"AWS": ROOT}, **extra)


def key(stack: str = "dev", **props: Any) -> Any:
    base: dict[str, Any] = {"enableKeyRotation": True, "policy": doc(root_statement())}
    base.update(props)
    return resource(KEY, {k: v for k, v in base.items() if v is not None}, stack=stack)


# --- rotation --------------------------------------------------------------------------------


def test_rotation_on_is_compliant() -> None:
    assert findings_for(key_rotation_enabled, [key()]) == []


def test_rotation_off_is_a_violation() -> None:
    [finding] = findings_for(key_rotation_enabled, [key(enableKeyRotation=False)])
    assert finding.policy == "aws-kms-key-rotation-enabled"
    assert finding.kind == "violation"
    assert "rotation is off" in finding.message and "false" in finding.message


def test_rotation_missing_is_a_violation_because_aws_defaults_it_off() -> None:
    [finding] = violations(findings_for(key_rotation_enabled, [key(enableKeyRotation=None)]))
    assert "not set" in finding.message


@pytest.mark.parametrize("spec_key", ["keySpec", "customerMasterKeySpec"])
@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256", "HMAC_256"])
def test_keys_that_cannot_rotate_are_not_applicable(spec_key: str, spec: str) -> None:
    assert (
        findings_for(key_rotation_enabled, [key(enableKeyRotation=None, **{spec_key: spec})]) == []
    )


def test_symmetric_key_spec_still_needs_rotation() -> None:
    found = findings_for(
        key_rotation_enabled, [key(enableKeyRotation=None, keySpec="SYMMETRIC_DEFAULT")]
    )
    assert len(violations(found)) == 1


def test_rotation_applies_to_kms_keys_only() -> None:
    assert findings_for(key_rotation_enabled, [resource("aws:kms/alias:Alias", {})]) == []


# --- key policy ----------------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [True, False], ids=["json-string", "parsed-dict"])
def test_key_policy_naming_the_account_is_compliant(as_json: bool) -> None:
    policy = doc(root_statement(), as_json=as_json)
    assert findings_for(key_policy_no_wildcard_principal, [key(policy=policy)]) == []


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": [ROOT, "*"]}, {"Service": "*"}],
    ids=["star", "aws-star", "aws-list-with-star", "service-star"],
)
def test_wildcard_principal_on_allow_is_a_violation(principal: Any) -> None:
    policy = doc(root_statement(), allow("kms:Decrypt", Principal=principal, Sid="Everyone"))
    [finding] = findings_for(key_policy_no_wildcard_principal, [key(policy=policy)])
    assert finding.policy == "aws-kms-key-policy-no-wildcard-principal"
    assert "wildcard principal" in finding.message and "'Everyone'" in finding.message


def test_single_statement_object_is_read_too() -> None:
    policy = {"Version": "2012-10-17", "Statement": allow("kms:*", Principal="*")}
    assert (
        len(violations(findings_for(key_policy_no_wildcard_principal, [key(policy=policy)]))) == 1
    )


def test_allow_with_not_principal_is_a_violation() -> None:
    policy = doc(
        {"Effect": "Allow", "NotPrincipal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}
    )
    [finding] = findings_for(key_policy_no_wildcard_principal, [key(policy=policy)])
    assert "NotPrincipal" in finding.message


def test_wildcard_principal_on_deny_is_compliant() -> None:
    policy = doc(
        root_statement(), {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    )
    assert findings_for(key_policy_no_wildcard_principal, [key(policy=policy)]) == []


def test_missing_key_policy_means_the_aws_default_and_is_compliant() -> None:
    assert findings_for(key_policy_no_wildcard_principal, [key(policy=None)]) == []


def test_key_policy_that_is_not_json_is_a_violation() -> None:
    [finding] = findings_for(key_policy_no_wildcard_principal, [key(policy="{not json")])
    assert finding.kind == "violation"
    assert "not valid JSON" in finding.message


def test_unknown_key_policy_is_a_note() -> None:
    [finding] = findings_for(key_policy_no_wildcard_principal, [key(policy=UNKNOWN)])
    assert finding.kind == "note"
    assert ".policy" in finding.message


# --- deletion window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "days"), [("dev", 7), ("staging", 10), ("prod", 30), ("prod-dr", 30), ("dev", 30)]
)
def test_deletion_window_long_enough_is_compliant(stack: str, days: int) -> None:
    res = key(stack, deletionWindowInDays=days)
    assert findings_for(key_deletion_window, [res], stack=stack) == []


@pytest.mark.parametrize(
    ("stack", "days", "needed"), [("dev", 6, 7), ("prod", 29, 30), ("prod-dr", 7, 30)]
)
def test_short_deletion_window_is_a_violation(stack: str, days: int, needed: int) -> None:
    [finding] = findings_for(
        key_deletion_window, [key(stack, deletionWindowInDays=days)], stack=stack
    )
    assert finding.policy == "aws-kms-key-deletion-window"
    assert finding.kind == "violation" and finding.enforcement == "mandatory"
    assert f"deletionWindowInDays is {days}" in finding.message
    assert f"at least {needed} days" in finding.message


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_missing_deletion_window_is_the_aws_default_30_and_compliant(stack: str) -> None:
    assert findings_for(key_deletion_window, [key(stack)], stack=stack) == []


def test_deletion_window_production_stacks_come_from_config() -> None:
    res = key("live", deletionWindowInDays=7)
    config = {"productionStacks": ["live"]}
    found = findings_for(key_deletion_window, [res], stack="live", config=config)
    assert len(violations(found)) == 1
    assert key_deletion_window.config_schema is not None


def test_deletion_window_of_the_wrong_type_is_a_violation() -> None:
    found = findings_for(key_deletion_window, [key(deletionWindowInDays="30")])
    assert [f.kind for f in found] == ["violation"]
    assert "deletionWindowInDays must be a number" in found[0].message


def test_unknown_deletion_window_is_a_note() -> None:
    [finding] = findings_for(key_deletion_window, [key(deletionWindowInDays=UNKNOWN)])
    assert finding.kind == "note"
