"""The resource graph: what a run registered, in the JSON format ``preview --json`` writes.

Format (documented in the README; ``check`` reads it, so users can write one by hand)::

    {"project": "ttbt2-platform", "stack": "dev",
     "resources": [{"urn": "...", "type": "aws:kms/key:Key", "name": "...",
                    "parent": "<urn or null>", "props": {...camelCase inputs...},
                    "options": {"protect": false, ...}, "dependencies": ["<urn>", ...],
                    "propertyDependencies": {"<input>": ["<urn>", ...]},
                    "provider": "<provider urn>::<id> or null"}],
     "outputs": {"name": {"value": ..., "secret": false, "known": true}}}

``options.aliases`` lists what the program passed as ``aliases``: an old URN string, or an alias
spec object with only the fields the program set, among ``name``, ``type``, ``stack``,
``project``, ``parentUrn`` (the old parent's URN) and ``noParent: true`` (it had none); the
engine fills the others from the resource itself (``offline diff`` resolves them the same way).

Unknown values (a first preview) are the engine's sentinel ``04da6b54-80e4-46f7-96ec-b56ff0331ba9``;
secrets are ``{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
"value": "[secret]"}``: the value itself is never written.
"""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
MASK = "[secret]"

OPTION_DEFAULTS: dict[str, Any] = {
    "protect": False,
    "retainOnDelete": False,
    "ignoreChanges": [],
    "deleteBeforeReplace": False,
    "aliases": [],
    "additionalSecretOutputs": [],
    "customTimeouts": {"create": 0.0, "update": 0.0, "delete": 0.0},
}


class GraphFileError(Exception):
    """A resource-graph file that cannot be read; the message names the file and the field."""


@dataclass
class Resource:
    """One registered resource or component."""

    urn: str
    type: str
    name: str
    parent: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    provider: str | None = None
    custom: bool = True
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Input name -> URNs its value came from, as the engine passes them to stack policies."""

    @property
    def cloud(self) -> str:
        """Package of the type: ``aws``, ``kubernetes``, ``gcp``, ``azure-native``, ``ttbt2``..."""
        if self.type.startswith("pulumi:providers:"):
            return self.type.split(":")[2]
        return self.type.split(":", 1)[0]

    def option(self, key: str) -> Any:
        """A resource option, with the engine's default when the file leaves it out."""
        return self.options.get(key, OPTION_DEFAULTS.get(key))

    def to_json(self) -> dict[str, Any]:
        """The resource as one entry of the file's ``resources`` list."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "props": self.props,
            "options": {**OPTION_DEFAULTS, **self.options},
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "provider": self.provider,
        }


@dataclass
class StackGraph:
    """Every resource of one stack run, and its outputs."""

    project: str
    stack: str
    resources: list[Resource]
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    preview: bool = False

    def by_urn(self) -> dict[str, Resource]:
        """Resources keyed by URN."""
        return {r.urn: r for r in self.resources}

    def to_json(self) -> dict[str, Any]:
        """The graph as the JSON document ``preview --json`` writes."""
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs,
        }

    def write(self, path: Path) -> None:
        """Write the JSON document to ``path``."""
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n")


def provider_urn(res: Resource, urns: Container[str]) -> str | None:
    """The URN of ``res``'s provider, when the provider is among ``urns``.

    The recorded reference is ``<urn>::<id>``; the SDK may put the provider under the stack
    (``pulumi:pulumi:Stack$pulumi:providers:...``) while the resource's own URN omits that.
    """
    if not res.provider:
        return None
    urn = res.provider.rsplit("::", 1)[0]
    if urn in urns:
        return urn
    plain = urn.replace("pulumi:pulumi:Stack$", "")
    return plain if plain in urns else None


def _require(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise GraphFileError(f"{where}: missing required field '{key}'")
    value = obj[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise GraphFileError(f"{where}: field '{key}' must be {names}, got {type(value).__name__}")
    return value


def _optional(
    obj: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any, where: str
) -> Any:
    if obj.get(key) is None:
        return default
    return _require(obj, key, kind, where)


def load_graph(path: Path, stack: str | None = None) -> StackGraph:
    """Read a resource-graph file. Raises :class:`GraphFileError` with the path and field.

    ``props`` may hold anything JSON allows: a wrongly typed property is the policies' business
    (a violation), not a reason to refuse the file. The structure around it must be right.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise GraphFileError(f"{path}: cannot read file ({exc.strerror})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GraphFileError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(doc, dict):
        raise GraphFileError(f"{path}: the document must be a JSON object with 'resources'")
    where = str(path)
    project = _optional(doc, "project", str, "ttbt2-platform", where)
    file_stack = _optional(doc, "stack", str, None, where)
    chosen = stack or file_stack
    if chosen is None:
        raise GraphFileError(f"{path}: no 'stack' field; pass --stack NAME")
    items = _require(doc, "resources", list, where)
    resources: list[Resource] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        at = f"{path}: resources[{i}]"
        if not isinstance(item, dict):
            raise GraphFileError(f"{at}: must be an object")
        urn = _require(item, "urn", str, at)
        if urn in seen:
            raise GraphFileError(f"{at}: duplicate urn {urn}")
        seen.add(urn)
        rtype = _optional(item, "type", str, _type_from_urn(urn, at), at)
        options = _optional(item, "options", dict, {}, at)
        for key in ("protect", "retainOnDelete", "deleteBeforeReplace"):
            if key in options and not isinstance(options[key], bool):
                raise GraphFileError(f"{at}: options.{key} must be true or false")
        _check_aliases(options.get("aliases"), at)
        resources.append(
            Resource(
                urn=urn,
                type=rtype,
                name=_optional(item, "name", str, urn.rsplit("::", 1)[-1], at),
                parent=_optional(item, "parent", str, None, at),
                props=_optional(item, "props", dict, {}, at),
                options=options,
                dependencies=_optional(item, "dependencies", list, [], at),
                provider=_optional(item, "provider", str, None, at),
                custom=_optional(item, "custom", bool, not rtype.startswith("ttbt2:"), at),
                property_dependencies=_property_dependencies(item, at),
            )
        )
    outputs = _optional(doc, "outputs", dict, {}, where)
    return StackGraph(project=project, stack=chosen, resources=resources, outputs=outputs)


ALIAS_SPEC_FIELDS = ("name", "type", "stack", "project", "parentUrn")


def _check_aliases(aliases: Any, where: str) -> None:
    if aliases is None:
        return
    if not isinstance(aliases, list):
        raise GraphFileError(f"{where}: options.aliases must be a list")
    for i, alias in enumerate(aliases):
        at = f"{where}: options.aliases[{i}]"
        if isinstance(alias, str):
            continue
        if not isinstance(alias, dict):
            raise GraphFileError(f"{at} must be a URN string or an alias object")
        unknown = set(alias) - {*ALIAS_SPEC_FIELDS, "noParent"}
        if unknown:
            allowed = ", ".join((*ALIAS_SPEC_FIELDS, "noParent"))
            raise GraphFileError(f"{at}: unknown field '{sorted(unknown)[0]}' (allowed: {allowed})")
        for key in ALIAS_SPEC_FIELDS:
            if key in alias and not isinstance(alias[key], str):
                raise GraphFileError(f"{at}.{key} must be a string")
        if "noParent" in alias and not isinstance(alias["noParent"], bool):
            raise GraphFileError(f"{at}.noParent must be true or false")


def _property_dependencies(item: dict[str, Any], where: str) -> dict[str, list[str]]:
    deps = _optional(item, "propertyDependencies", dict, {}, where)
    for key, urns in deps.items():
        if not isinstance(urns, list) or not all(isinstance(u, str) for u in urns):
            raise GraphFileError(f"{where}: propertyDependencies.{key} must be a list of URNs")
    return deps


def _type_from_urn(urn: str, where: str) -> str:
    parts = urn.split("::")
    if len(parts) != 4 or not urn.startswith("urn:pulumi:"):
        raise GraphFileError(
            f"{where}: urn '{urn}' is not urn:pulumi:<stack>::<project>::<type>::<name>"
        )
    return parts[2].rsplit("$", 1)[-1]


def mask_secrets(value: Any) -> Any:
    """Replace the value inside every secret envelope with ``[secret]``."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return {SECRET_SIG_KEY: SECRET_SIG, "value": MASK}
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def unwrap_secrets(value: Any) -> Any:
    """Replace every secret envelope with its value, as the engine does before policies run.

    A masked envelope (a graph read back from its file, where :func:`mask_secrets` left
    ``[secret]``) becomes unknown: the value was never written, so a policy that needs it waits
    for a preview, as it would for a value known only after apply.
    """
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            inner = value.get("value")
            return UNKNOWN if inner == MASK else unwrap_secrets(inner)
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value
