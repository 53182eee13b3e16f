"""Raw ``ttbt2:*`` values in, a validated :class:`Settings` out, or every problem at once.

Each domain is validated on its own, and each domain's rules run when the domains they read
parsed, so a bad service entry does not hide a range error in the database settings.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args, get_origin

import pulumi
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from config.fields import Domain, bounds, range_text
from config.problems import NAMESPACE, UNSET, Problem, SettingsError
from config.rules import run_rules
from config.settings import DOMAINS, Settings, flat_keys

_RANGE_ERRORS = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})


def parse_raw(stack: str, raw: Mapping[str, Any]) -> Settings:
    """Build :class:`Settings` from raw ``ttbt2:*`` values (the namespace already stripped).

    Values may be typed (from a YAML file) or strings (as the Pulumi engine passes config to a
    program: arrays arrive as JSON text). Raises :class:`SettingsError` naming every problem.
    """
    keys = flat_keys()
    problems: list[Problem] = []
    by_domain: dict[str, dict[str, Any]] = {domain: {} for domain in DOMAINS}
    for key, value in raw.items():
        flat = keys.get(key)
        if flat is None:
            problems.append(Problem(key, value, _unknown(key, keys)))
            continue
        kind = _json_kind(flat.info)
        if kind is not None and isinstance(value, str):
            # The engine passes list and object values to the program as JSON text.
            try:
                by_domain[flat.domain][key] = json.loads(value)
            except json.JSONDecodeError:
                problems.append(Problem(key, value, _JSON_EXAMPLES[kind]))
            continue
        by_domain[flat.domain][key] = value
    parsed: dict[type[Domain], Domain] = {}
    for domain, model in DOMAINS.items():
        try:
            parsed[model] = model.model_validate(by_domain[domain])
        except ValidationError as exc:
            problems += _type_problems(model, by_domain[domain], exc)
    problems += run_rules(parsed)
    if problems:
        raise SettingsError(stack, problems)
    return Settings.model_validate({domain: parsed[model] for domain, model in DOMAINS.items()})


def from_config_values(stack: str, values: Mapping[str, Any]) -> Settings:
    """Build :class:`Settings` from full config keys (``ttbt2:vpcCidr``).

    Other namespaces (``aws:region``...) are not ours and are left out.
    """
    prefix = f"{NAMESPACE}:"
    raw = {key[len(prefix) :]: value for key, value in values.items() if key.startswith(prefix)}
    return parse_raw(stack, raw)


def from_pulumi_config() -> Settings:
    """Read the current stack's ``ttbt2:*`` config through the Pulumi runtime."""
    all_config = dict(pulumi.runtime.config.get_config_env())
    all_config.update(pulumi.runtime.config.CONFIG.get())
    return from_config_values(pulumi.get_stack(), all_config)


def _unknown(key: str, keys: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(keys), n=3, cutoff=0.8)
    if close:
        return "unknown key; did you mean " + " or ".join(close) + "?"
    return "unknown key; Pulumi.yaml lists every key"


_JSON_EXAMPLES: dict[type, str] = {
    list: 'must be a list, e.g. ["a", "b"]',
    dict: 'must be an object, e.g. {"a": "b"}',
}


def _json_kind(info: FieldInfo) -> type | None:
    """``list`` or ``dict`` for a field the engine hands over as JSON text, else ``None``."""
    annotation = info.annotation
    for kind in (list, dict):
        if get_origin(annotation) is kind or annotation is kind:
            return kind
    return None


def _type_problems(
    model: type[Domain], data: Mapping[str, Any], exc: ValidationError
) -> list[Problem]:
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    problems = []
    for error in exc.errors():
        loc = error["loc"]
        key = str(loc[0]) if loc else "?"
        path = key + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
        value = _value_at(data, loc)
        problems.append(Problem(path, value, _describe(error, fields.get(key), len(loc) == 1)))
    return problems


def _value_at(data: Mapping[str, Any], loc: Sequence[int | str]) -> Any:
    """The value at an error location: the offending element, not its whole list.

    A location that does not resolve to its end is a missing key: not set.
    """
    node: Any = data
    for step in loc:
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if not in_list and not (isinstance(node, Mapping) and step in node):
            return UNSET
        node = node[step]
    return node


def _describe(error: Mapping[str, Any], info: FieldInfo | None, top_level: bool) -> str:
    """Say what is allowed for a field that failed validation."""
    annotation = info.annotation if info is not None and top_level else None
    if info is not None and top_level and error["type"] in _RANGE_ERRORS:
        return range_text(*bounds(info))
    if get_origin(annotation) is Literal:
        return "allowed values: " + ", ".join(str(a) for a in get_args(annotation))
    kinds: dict[Any, str] = {int: "an integer", bool: "true or false", str: "a string"}
    if annotation in kinds:
        return f"must be {kinds[annotation]}"
    return str(error["msg"])
