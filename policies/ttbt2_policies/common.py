"""Helpers shared by every rule module: policy builders, typed property access, IAM documents.

Props arrive as the engine hands them to analyzers: camelCase inputs wrapped in
``pulumi_policy``'s unknown-checking proxy (a ``Mapping``/``Sequence``, not a ``dict``/``list``).
Reading an unknown value raises ``UnknownValueError``; it is deliberately not caught here, so
the engine turns it into an advisory "can't run during preview" note.

A property of the wrong type raises :class:`InvalidPropError`; the builders below report its message
as a violation of the policy that read it. A policy never lets any other exception escape for
bad input.

Stack policies join resources through dependencies (URNs), never through ids: see
:func:`referenced`. Production stacks are the policy config ``productionStacks``: see
:func:`production_stacks`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

ResourceCheck = Callable[[ResourceValidationArgs], Iterable[str]]
"""Yields one message per violation of one resource."""

StackCheck = Callable[[StackValidationArgs], Iterable[tuple[str, str | None]]]
"""Yields ``(message, urn)`` per violation of the stack (``urn`` None for the stack itself)."""


class InvalidPropError(Exception):
    """A property of the wrong type or shape: reported as a violation, never raised further."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- policy builders -----------------------------------------------------------------------


def resource_policy(
    *,
    name: str,
    description: str,
    enforcement: EnforcementLevel,
    applies_to: Collection[str] | Callable[[str], bool],
    check: ResourceCheck,
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    """A resource policy that runs ``check`` on resources whose type ``applies_to`` accepts.

    ``applies_to`` is a collection of type tokens or a predicate on the token. Every message
    ``check`` yields is reported; an :class:`InvalidPropError` it raises is reported as well.
    """
    accepts = applies_to if callable(applies_to) else frozenset(applies_to).__contains__

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not accepts(args.resource_type):
            return
        try:
            for message in check(args):
                report_violation(message, None)
        except InvalidPropError as exc:
            report_violation(exc.message, None)

    policy = ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        config_schema=config_schema,
    )
    # Declared for evaluators that dispatch resources by type (the offline engine does): they
    # hand this policy only the resources it accepts. ``validate`` still checks, for the engine.
    policy.applies_to = accepts  # type: ignore[attr-defined]
    return policy


def stack_policy(
    *, name: str, description: str, enforcement: EnforcementLevel, check: StackCheck
) -> StackValidationPolicy:
    """A stack policy reporting every ``(message, urn)`` that ``check`` yields."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        try:
            for message, urn in check(args):
                report_violation(message, urn)
        except InvalidPropError as exc:
            report_violation(exc.message, None)

    return StackValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=enforcement
    )


# --- values and typed property access --------------------------------------------------------


def is_mapping(value: Any) -> bool:
    """True for objects: ``dict`` and the proxy's mapping."""
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    """True for arrays: ``list`` and the proxy's sequence (never a string)."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def is_number(value: Any) -> bool:
    """True for JSON numbers (``int`` or ``float``); booleans are not numbers."""
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_NAMES: tuple[tuple[Callable[[Any], bool], str], ...] = (
    (lambda v: v is None, "null"),
    (lambda v: isinstance(v, bool), "boolean"),
    (is_number, "number"),
    (lambda v: isinstance(v, str), "string"),
    (is_mapping, "object"),
    (is_list, "array"),
)


def type_name(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    return next((name for test, name in _TYPE_NAMES if test(value)), type(value).__name__)


def describe(value: Any, limit: int = 60) -> str:
    """A value's JSON type, with the value itself when it is a scalar: ``string 'yes'``."""
    if isinstance(value, str):
        text = repr(value)
    elif is_number(value) or isinstance(value, bool):
        text = json.dumps(value)
    else:
        return type_name(value)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type_name(value)} {text}"


def wrong_type(where: str, expected: str, value: Any) -> InvalidPropError:
    """The error for ``where`` holding ``value`` where ``expected`` belongs."""
    return InvalidPropError(f"{where} must be {expected}, got {describe(value)}")


def lookup(props: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` (``vpcConfig.endpointPublicAccess``), None when absent.

    Raises :class:`InvalidPropError` when a step on the way is not an object.
    """
    value: Any = props
    walked: list[str] = []
    for key in path.split("."):
        if value is None:
            return None
        if not is_mapping(value):
            raise wrong_type(".".join(walked), "an object", value)
        walked.append(key)
        value = value.get(key)
    return value


def _typed(props: Mapping[str, Any], path: str, ok: Callable[[Any], bool], expected: str) -> Any:
    value = lookup(props, path)
    if value is not None and not ok(value):
        raise wrong_type(path, expected, value)
    return value


def bool_prop(props: Mapping[str, Any], path: str) -> bool | None:
    """A boolean property, None when absent."""
    return _typed(props, path, lambda v: isinstance(v, bool), "true or false")


def number_prop(props: Mapping[str, Any], path: str) -> float | None:
    """A numeric property (``1`` and ``1.0`` alike), None when absent."""
    value = _typed(props, path, is_number, "a number")
    return None if value is None else float(value)


def str_prop(props: Mapping[str, Any], path: str) -> str | None:
    """A string property, None when absent."""
    return _typed(props, path, lambda v: isinstance(v, str), "a string")


def mapping_prop(props: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    """An object property, None when absent."""
    return _typed(props, path, is_mapping, "an object")


def list_prop(props: Mapping[str, Any], path: str) -> Sequence[Any] | None:
    """An array property, None when absent."""
    return _typed(props, path, is_list, "an array")


def str_list(value: Any, where: str, *, scalar_ok: bool = False) -> list[str]:
    """A list of strings from an array (or from one string when ``scalar_ok``).

    Raises :class:`InvalidPropError` naming ``where`` for anything else.
    """
    if scalar_ok and isinstance(value, str):
        return [value]
    expected = "a string or an array of strings" if scalar_ok else "an array of strings"
    if not is_list(value):
        raise wrong_type(where, expected, value)
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise InvalidPropError(f"{where} must be {expected}; it holds {describe(item)}")
    return items


def str_list_prop(props: Mapping[str, Any], path: str) -> list[str] | None:
    """An array-of-strings property, None when absent."""
    value = lookup(props, path)
    return None if value is None else str_list(value, path)


def is_open_cidr(cidr: str) -> bool:
    """True for a CIDR that matches every address (``0.0.0.0/0``, ``::/0``)."""
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def stack_of(urn: str) -> str:
    """The stack name of a URN ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    return urn.removeprefix("urn:pulumi:").split("::", 1)[0]


def bool_or_string_prop(props: Mapping[str, Any], path: str) -> bool | None:
    """A boolean that may also arrive as the string ``"true"``/``"false"``, None when absent."""
    value = lookup(props, path)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if value is not None and not isinstance(value, bool):
        raise wrong_type(path, "true or false", value)
    return value


def is_set(props: Mapping[str, Any], key: str) -> bool:
    """True when ``key`` holds a value other than null or ``""``, whatever its type.

    For secrets (passwords, tokens): the value is never put into a message, not even its type
    and value through :func:`describe`.
    """
    return props.get(key) not in (None, "")


AWS_MANAGED_KEY_ALIAS = re.compile(r"(^|:)alias/aws/")


def is_aws_managed_key(key_id: str) -> bool:
    """True for an AWS-managed key alias (``alias/aws/s3``, ``arn:...:alias/aws/rds``)."""
    return bool(AWS_MANAGED_KEY_ALIAS.search(key_id))


# --- policy config: stacks ---------------------------------------------------------------------

DEFAULT_PRODUCTION_STACKS = ("prod", "prod-dr")


def stack_names_config(config: Any, key: str, default: Sequence[str]) -> Sequence[str]:
    """The list of stack names at ``key`` of a policy's config, or ``default`` when absent.

    Raises ValueError when malformed: the engine validates config against the schema first, so
    offline a malformed config is a loud policy error rather than a silent fallback.
    """
    value = config.get(key) if config else None
    if value is None:
        return default
    if not is_list(value) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"policy config {key} must be a list of stack names")
    return list(value)


def production_stacks(config: Any) -> Sequence[str]:
    """The ``productionStacks`` config value, or the default; raises ValueError when malformed."""
    return stack_names_config(config, "productionStacks", DEFAULT_PRODUCTION_STACKS)


def stack_names_schema(default: Sequence[str], description: str) -> dict[str, Any]:
    """The JSON schema of a list-of-stack-names config property."""
    return {
        "type": "array",
        "items": {"type": "string"},
        "default": list(default),
        "description": description,
    }


PRODUCTION_STACKS_SCHEMA: dict[str, Any] = stack_names_schema(
    DEFAULT_PRODUCTION_STACKS, "Stack names (from the URN) treated as production."
)


def production_config_schema(**extra: dict[str, Any]) -> PolicyConfigSchema:
    """A config schema with ``productionStacks`` and any ``extra`` properties."""
    return PolicyConfigSchema(properties={"productionStacks": PRODUCTION_STACKS_SCHEMA, **extra})


def require_production(args: ResourceValidationArgs) -> str:
    """The resource's stack name; marks the policy not applicable outside production stacks."""
    stack = stack_of(args.urn)
    if stack not in production_stacks(args.get_config()):
        args.not_applicable(f"stack {stack!r} is not a production stack")
    return stack


# --- stack policies: joins and per-resource reports --------------------------------------------


def referenced(resource: PolicyResource, prop: str, types: Collection[str]) -> list[PolicyResource]:
    """The resources of ``types`` that ``resource``'s input ``prop`` refers to.

    Joins go through dependencies (URNs), never through ids. When the engine hands over
    per-property dependencies (``property_dependencies``, as ``pulumi preview`` does), only the
    resources ``prop`` itself depends on count. Without them (the offline evaluator and
    hand-written graph files carry ``dependencies`` only), every dependency of one of ``types``
    counts, whichever property or ``depends_on`` created it.
    """
    by_prop = getattr(resource, "property_dependencies", None) or {}
    chosen = by_prop.get(prop, []) if by_prop else resource.dependencies
    found: dict[str, PolicyResource] = {}
    for dep in chosen:
        if dep.resource_type in types:
            found.setdefault(dep.urn, dep)
    return list(found.values())


def report_on(urn: str, messages: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """``(message, urn)`` for every message; an :class:`InvalidPropError` becomes one more.

    Lets a stack check report a wrongly typed prop on the resource concerned and go on with the
    next resource, instead of stopping the whole check.
    """
    try:
        for message in messages:
            yield message, urn
    except InvalidPropError as exc:
        yield exc.message, urn


# --- IAM policy documents ----------------------------------------------------------------


def parse_document(value: Any, where: str) -> Mapping[str, Any]:
    """A policy document from a JSON string or an already parsed object.

    Raises :class:`InvalidPropError` for invalid JSON or anything that is not an object.
    """
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidPropError(
                f"{where} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
    elif is_mapping(value):
        doc = value
    else:
        raise wrong_type(where, "a policy document (a JSON string or an object)", value)
    if not is_mapping(doc):
        raise wrong_type(where, "a JSON object", doc)
    return doc


@dataclass(frozen=True)
class Statement:
    """One normalised statement: single values become lists, absent elements are None."""

    label: str
    effect: str
    actions: list[str] | None = None
    not_actions: list[str] | None = None
    resources: list[str] | None = None
    not_resources: list[str] | None = None
    principals: dict[str, list[str]] | None = None
    """Principal type (``AWS``, ``Service``, ``Federated``...) -> identifiers; ``"*"`` -> AWS."""
    not_principals: dict[str, list[str]] | None = None
    conditions: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Operator (``StringEquals``...) -> condition key -> values."""

    @property
    def allows(self) -> bool:
        """True for an ``Allow`` statement."""
        return self.effect == "Allow"

    @property
    def wildcard_principal(self) -> bool:
        """True when the principal is ``*``, ``{"AWS": "*"}`` or a list holding ``*``."""
        return any("*" in ids for ids in (self.principals or {}).values())

    def principal_everyone_message(self) -> str | None:
        """Why an Allow statement lets anyone in, or None when it names its principals."""
        if not self.allows:
            return None
        if self.wildcard_principal:
            return f"{self.label} allows the wildcard principal '*'"
        if self.not_principals is not None:
            return f"{self.label} allows every principal but those in NotPrincipal"
        return None


def _principal(value: Any, where: str) -> dict[str, list[str]]:
    if value == "*":
        return {"AWS": ["*"]}
    if not is_mapping(value):
        raise wrong_type(where, "'*' or an object", value)
    return {
        str(kind): str_list(ids, f"{where}.{kind}", scalar_ok=True) for kind, ids in value.items()
    }


def _conditions(value: Any, where: str) -> dict[str, dict[str, list[str]]]:
    if value is None:
        return {}
    if not is_mapping(value):
        raise wrong_type(where, "an object", value)
    result: dict[str, dict[str, list[str]]] = {}
    for operator, keys in value.items():
        if not is_mapping(keys):
            raise wrong_type(f"{where}.{operator}", "an object", keys)
        result[str(operator)] = {}
        for key, raw in keys.items():
            values = list(raw) if is_list(raw) else [raw]
            for item in values:
                if is_mapping(item) or is_list(item) or item is None:
                    raise wrong_type(f"{where}.{operator}.{key}", "strings", item)
            result[str(operator)][str(key)] = [
                json.dumps(v) if isinstance(v, bool) else str(v) for v in values
            ]
    return result


def _optional_list(stmt: Mapping[str, Any], key: str, where: str) -> list[str] | None:
    value = stmt.get(key)
    return None if value is None else str_list(value, f"{where}.{key}", scalar_ok=True)


def statements(doc: Mapping[str, Any], where: str) -> list[Statement]:
    """The statements of a policy document; ``Statement`` may be one object or an array.

    Raises :class:`InvalidPropError` for a statement of the wrong shape.
    """
    raw = doc.get("Statement")
    if raw is None:
        return []
    items = [raw] if is_mapping(raw) else raw
    if not is_list(items):
        raise InvalidPropError(f"{where}: Statement must be an object or an array of objects")
    result: list[Statement] = []
    for i, stmt in enumerate(items):
        if not is_mapping(stmt):
            raise wrong_type(f"{where}: Statement[{i}]", "an object", stmt)
        sid = stmt.get("Sid")
        named = isinstance(sid, str) and sid
        label = f"{where} statement {sid!r}" if named else f"{where} statement {i}"
        effect = stmt.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise wrong_type(f"{label}: Effect", "'Allow' or 'Deny'", effect)
        principal = stmt.get("Principal")
        not_principal = stmt.get("NotPrincipal")
        result.append(
            Statement(
                label=label,
                effect=effect,
                actions=_optional_list(stmt, "Action", label),
                not_actions=_optional_list(stmt, "NotAction", label),
                resources=_optional_list(stmt, "Resource", label),
                not_resources=_optional_list(stmt, "NotResource", label),
                principals=(
                    None if principal is None else _principal(principal, f"{label}.Principal")
                ),
                not_principals=(
                    None
                    if not_principal is None
                    else _principal(not_principal, f"{label}.NotPrincipal")
                ),
                conditions=_conditions(stmt.get("Condition"), f"{label}.Condition"),
            )
        )
    return result


def document_statements(value: Any, where: str) -> list[Statement]:
    """Parse a policy document prop and return its statements (see :func:`statements`)."""
    return statements(parse_document(value, where), where)
