"""KMS keys: automatic rotation (CKV_AWS_7), no wildcard principal in key policies (CKV_AWS_33)."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Policy, ResourceValidationArgs

from .common import MANDATORY, bool_prop, document_statements, resource_policy, str_prop

KEY = "aws:kms/key:Key"
SYMMETRIC = "SYMMETRIC_DEFAULT"


def _rotation(args: ResourceValidationArgs) -> Iterator[str]:
    """Rotation must be on; AWS leaves it off when ``enableKeyRotation`` is not set.

    Asymmetric and HMAC keys cannot rotate automatically: the rule does not apply to them.
    """
    spec = str_prop(args.props, "keySpec") or str_prop(args.props, "customerMasterKeySpec")
    if spec is not None and spec != SYMMETRIC:
        args.not_applicable(f"{spec} keys cannot rotate automatically")
    enabled = bool_prop(args.props, "enableKeyRotation")
    if enabled is None:
        yield "key rotation is off: enableKeyRotation is not set and AWS defaults it to false"
    elif not enabled:
        yield "key rotation is off: enableKeyRotation is false"


def _no_wildcard_principal(args: ResourceValidationArgs) -> Iterator[str]:
    """No Allow statement of the key policy may name ``*`` (or allow every NotPrincipal).

    Without ``policy`` AWS applies its default key policy, which names only the account root.
    """
    value = args.props.get("policy")
    if value is None:
        return
    for stmt in document_statements(value, "key policy"):
        problem = stmt.principal_everyone_message()
        if problem:
            yield f"{problem}: anyone who can call KMS could use or manage this key"


key_rotation_enabled = resource_policy(
    name="aws-kms-key-rotation-enabled",
    description="Customer-managed symmetric KMS keys rotate their key material (CKV_AWS_7).",
    enforcement=MANDATORY,
    applies_to={KEY},
    check=_rotation,
)

key_policy_no_wildcard_principal = resource_policy(
    name="aws-kms-key-policy-no-wildcard-principal",
    description="KMS key policies grant nothing to the wildcard principal '*' (CKV_AWS_33).",
    enforcement=MANDATORY,
    applies_to={KEY},
    check=_no_wildcard_principal,
)

POLICIES: list[Policy] = [key_rotation_enabled, key_policy_no_wildcard_principal]
