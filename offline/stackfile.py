"""Reading ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` the way the Pulumi CLI would."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.vault.source import PLACEHOLDER_PREFIX

_STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[A-Za-z0-9_.-]+)\.ya?ml$")

# LibYAML's parser, when PyYAML has it, reads the project file (tens of kilobytes, generated)
# ten times faster than the pure-Python one, with the same safe constructor and resolver. A file
# it refuses is read again by the pure-Python parser, whose error positions the messages give.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StackFileError(Exception):
    """A project or stack file that cannot be used; the message names the file and the key."""


@dataclass
class StackConfig:
    """One stack's configuration, ready for the runtime."""

    project: str
    stack: str
    path: Path
    values: dict[str, str]
    """Full key (``ttbt2:vpcCidr``) -> value as the engine passes it (strings, JSON for lists)."""
    secret_keys: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    """Keys whose real value is a ``secure:`` ciphertext and were replaced offline."""


def project_name(project_dir: Path) -> str:
    """The ``name`` of the project file."""
    doc = _load_yaml(project_dir / "Pulumi.yaml")
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise StackFileError(f"{project_dir / 'Pulumi.yaml'}: 'name' must be a non-empty string")
    return name


def list_stacks(project_dir: Path) -> list[str]:
    """Names of the stacks that have a file in the project directory, in a stable order."""
    order = {"dev": 0, "staging": 1, "prod": 2}
    names = [m.group("stack") for p in project_dir.iterdir() if (m := _STACK_FILE.match(p.name))]
    return sorted(names, key=lambda n: (order.get(n, 9), n))


def stack_from_filename(path: Path) -> str:
    """The stack name a file such as ``Pulumi.qa.yaml`` stands for."""
    match = _STACK_FILE.match(path.name)
    if not match:
        raise StackFileError(
            f"{path}: a stack config file must be named Pulumi.<stack>.yaml (got '{path.name}')"
        )
    return match.group("stack")


def load_stack(project_dir: Path, stack: str, path: Path | None = None) -> StackConfig:
    """Load a stack's config file (default ``Pulumi.<stack>.yaml`` beside the project file)."""
    project = project_name(project_dir)
    path = path or project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = ", ".join(list_stacks(project_dir)) or "none"
        raise StackFileError(f"{path}: no such stack file; stacks here: {known}")
    doc = _load_yaml(path)
    config = doc.get("config", {}) or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path}: 'config' must be a mapping of keys to values")
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    placeholders: list[str] = []
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            raise StackFileError(f"{path}: config key '{key}' must be namespaced, e.g. ttbt2:{key}")
        if isinstance(value, dict) and "secure" in value:
            if set(value) != {"secure"} or not isinstance(value["secure"], str):
                raise StackFileError(f"{path}: {key}: a secure value is {{secure: <ciphertext>}}")
            secret_keys.append(key)
            placeholders.append(key)
            values[key] = f"{PLACEHOLDER_PREFIX}:{key}"
            continue
        values[key] = value if isinstance(value, str) else json.dumps(value)
    return StackConfig(project, stack, path, values, secret_keys, placeholders)


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise StackFileError(f"{path}: cannot read file ({exc.strerror})") from None
    try:
        doc = yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        doc = _load_yaml_slowly(path, text)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise StackFileError(f"{path}: the file must be a YAML mapping")
    return doc


def _load_yaml_slowly(path: Path, text: str) -> Any:
    """``text`` read by the pure-Python parser; its error (with line and column) as ours."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise StackFileError(f"{path}: not valid YAML{where}") from None
