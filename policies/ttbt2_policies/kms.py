"""KMS keys: automatic rotation, no wildcard principal, a deletion window that can be undone.

Checkov: CKV_AWS_7 (rotation), CKV_AWS_33 (wildcard principal); the deletion window is a
platform rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Policy, ResourceValidationArgs

from .common import (
    MANDATORY,
    bool_prop,
    document_statements,
    number_prop,
    production_config_schema,
    production_stacks,
    resource_policy,
    stack_of,
    str_prop,
)

KEY = "aws:kms/key:Key"
SYMMETRIC = "SYMMETRIC_DEFAULT"
MINIMUM_DELETION_WINDOW = 7
PRODUCTION_DELETION_WINDOW = 30
AWS_DEFAULT_DELETION_WINDOW = 30


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


def _deletion_window(args: ResourceValidationArgs) -> Iterator[str]:
    """At least 7 days everywhere and 30 days in production stacks (config productionStacks).

    Without ``deletionWindowInDays`` AWS waits its default of 30 days, which complies.
    """
    days = number_prop(args.props, "deletionWindowInDays")
    if days is None:
        return
    stack = stack_of(args.urn)
    production = stack in production_stacks(args.get_config())
    needed = PRODUCTION_DELETION_WINDOW if production else MINIMUM_DELETION_WINDOW
    if days < needed:
        where = f"production stack {stack!r}" if production else f"stack {stack!r}"
        yield (
            f"deletionWindowInDays is {days:g}: a key scheduled for deletion in {where} must "
            f"stay recoverable for at least {needed} days (leave it unset for the AWS default of "
            f"{AWS_DEFAULT_DELETION_WINDOW})"
        )


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

key_deletion_window = resource_policy(
    name="aws-kms-key-deletion-window",
    description=(
        "Platform rule: KMS keys keep a deletion window of at least 7 days, and 30 days in "
        "production stacks (config productionStacks); unset means the AWS default of 30."
    ),
    enforcement=MANDATORY,
    applies_to={KEY},
    check=_deletion_window,
    config_schema=production_config_schema(),
)

POLICIES: list[Policy] = [
    key_rotation_enabled,
    key_policy_no_wildcard_principal,
    key_deletion_window,
]
