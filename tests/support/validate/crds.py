"""Validate custom resources against the CustomResourceDefinitions a chart vendors.

A CRD's ``openAPIV3Schema`` is an OpenAPI 3.0 schema with Kubernetes extensions. It is turned
into a JSON Schema (Draft 2020-12, the draft ``kubernetes-validate`` uses for core objects) and
checked with :mod:`jsonschema`. What the conversion does, and why:

- **Unknown fields are errors.** The API server *prunes* fields its schema does not list, so a
  typo (``destination.nmae``) is silently dropped and the object quietly means something else.
  For objects we write, an unknown field is always a mistake, so every object node that lists
  no ``additionalProperties`` and does not set ``x-kubernetes-preserve-unknown-fields`` is
  closed (``additionalProperties: false``); a bare ``type: object`` with no properties is closed
  too, because the API server would prune all of it. Errors name each unknown field and suggest
  the closest known one.
- ``x-kubernetes-preserve-unknown-fields: true`` leaves that node open, and only that node: its
  listed properties are still checked, as the API server still prunes below them.
- ``x-kubernetes-int-or-string: true`` accepts an integer or a string.
- ``x-kubernetes-embedded-resource: true`` also allows ``apiVersion``, ``kind`` and ``metadata``.
- ``x-kubernetes-list-type: set`` means unique items.
- ``nullable: true`` adds ``null`` to the type; OpenAPI 3.0's boolean ``exclusiveMinimum`` and
  ``exclusiveMaximum`` become Draft 2020-12's numeric form.
- Defaults are applied before validation, as the API server does, so a required field that has a
  default may be left out.
- The root ``metadata`` is checked as the ObjectMeta fields a client may set (name a DNS-1123
  subdomain, namespace a DNS-1123 label, string maps for labels and annotations).
- Not evaluated: CEL rules (``x-kubernetes-validations``), ``x-kubernetes-list-type: map`` key
  uniqueness and string ``format`` values. Admission webhooks are out of reach offline.

The YAML loader accepts a bare ``=`` (the prometheus-operator CRDs list one as an enum item):
PyYAML resolves it to the ``tag:yaml.org,2002:value`` tag, which ``yaml.safe_load`` refuses.
"""

from __future__ import annotations

import copy
import difflib
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

OBJECT_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": _DNS_LABEL},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": ["string", "null"]},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "managedFields": {"type": "array"},
        "selfLink": {"type": "string"},
    },
    "additionalProperties": False,
}
"""The ObjectMeta fields of a custom resource, as this module checks them."""

# OpenAPI keywords that carry no constraint JSON Schema can check (or that are handled apart).
_DROPPED = {"description", "example", "externalDocs", "nullable", "exclusiveMinimum"}
_DROPPED |= {"exclusiveMaximum", "title", "deprecated", "readOnly", "writeOnly", "discriminator"}


class CrdError(Exception):
    """A CRD folder or file that cannot be used: missing, unreadable or ambiguous."""


# LibYAML's parser when PyYAML has it: the vendored CRD files are megabytes of YAML, which the
# pure-Python parser reads ten times slower. Both share the safe constructor and the resolver.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CrdLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """``yaml.SafeLoader`` that reads a bare ``=`` as the string ``"="``."""


def _construct_value(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


CrdLoader.add_constructor("tag:yaml.org,2002:value", _construct_value)


def load_yaml_documents(path: Path) -> list[Any]:
    """Every non-empty YAML document of ``path``, read with :class:`CrdLoader`."""
    try:
        with path.open() as stream:
            return [doc for doc in yaml.load_all(stream, Loader=CrdLoader) if doc is not None]
    except OSError as exc:
        raise CrdError(f"{path}: cannot read file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise CrdError(f"{path}: not valid YAML ({exc})") from None


@dataclass(frozen=True)
class CrdVersion:
    """One version of one CRD: what a custom resource of that apiVersion and kind must match."""

    group: str
    version: str
    kind: str
    plural: str
    scope: str
    served: bool
    openapi: dict[str, Any]
    """The ``openAPIV3Schema`` as the file has it."""
    source: Path

    @property
    def api_version(self) -> str:
        """``<group>/<version>``."""
        return f"{self.group}/{self.version}"

    @functools.cached_property
    def json_schema(self) -> dict[str, Any]:
        """The schema converted for :mod:`jsonschema` (see the module docstring)."""
        return to_json_schema(self.openapi)


def load_crds(path: Path) -> list[CrdVersion]:
    """Every version of every CustomResourceDefinition in one YAML file (other kinds ignored).

    A file is parsed once per content (path, size and modification time), however many sets of
    CRD folders include it.
    """
    try:
        stat = path.stat()
    except OSError:
        return _parse_crds(path)  # reports the file as unreadable
    return list(_parsed_crds(path.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=256)
def _parsed_crds(path: Path, _mtime_ns: int, _size: int) -> tuple[CrdVersion, ...]:
    return tuple(_parse_crds(path))


def _parse_crds(path: Path) -> list[CrdVersion]:
    found: list[CrdVersion] = []
    for doc in load_yaml_documents(path):
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc.get("spec") or {}
        names = spec.get("names") or {}
        for ver in spec.get("versions") or []:
            schema = (ver.get("schema") or {}).get("openAPIV3Schema")
            if not isinstance(schema, dict):
                raise CrdError(f"{path}: {names.get('kind')} {ver.get('name')} has no schema")
            found.append(
                CrdVersion(
                    group=str(spec.get("group", "")),
                    version=str(ver.get("name", "")),
                    kind=str(names.get("kind", "")),
                    plural=str(names.get("plural", "")),
                    scope=str(spec.get("scope", "Namespaced")),
                    served=bool(ver.get("served", True)),
                    openapi=schema,
                    source=path,
                )
            )
    return found


def index_crds(crd_dirs: Iterable[Path]) -> dict[tuple[str, str, str], CrdVersion]:
    """CRD versions of every ``*.yaml``/``*.yml`` file in ``crd_dirs``, by (group, version, kind).

    Results are cached per set of folders. Raises :class:`CrdError` for a missing folder or a
    (group, version, kind) defined twice.
    """
    return _index(tuple(Path(d).resolve() for d in crd_dirs))


@functools.lru_cache(maxsize=32)
def _index(dirs: tuple[Path, ...]) -> dict[tuple[str, str, str], CrdVersion]:
    index: dict[tuple[str, str, str], CrdVersion] = {}
    for folder in dirs:
        if not folder.is_dir():
            raise CrdError(f"{folder}: no such CRD folder")
        files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
        for path in files:
            for crd in load_crds(path):
                key = (crd.group, crd.version, crd.kind)
                if key in index:
                    raise CrdError(
                        f"{crd.kind} {crd.api_version} is defined in both "
                        f"{index[key].source} and {path}"
                    )
                index[key] = crd
    return index


def to_json_schema(node: dict[str, Any], *, root: bool = True) -> dict[str, Any]:
    """Convert an ``openAPIV3Schema`` (or one of its nodes) to a Draft 2020-12 JSON Schema."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-"):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {k: to_json_schema(v, root=False) for k, v in value.items()}
        elif key == "items":
            if isinstance(value, list):
                out["prefixItems"] = [to_json_schema(v, root=False) for v in value]
            else:
                out["items"] = to_json_schema(value, root=False)
        elif key == "additionalProperties":
            out[key] = to_json_schema(value, root=False) if isinstance(value, dict) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(v, root=False) for v in value]
        elif key == "not":
            out[key] = to_json_schema(value, root=False)
        else:
            out[key] = copy.deepcopy(value)
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if node.get(exclusive) is True and bound in out:
            out[exclusive] = out.pop(bound)
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    is_object = out.get("type") == "object" or "properties" in out
    if (
        is_object
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if root:
        props = out.setdefault("properties", {})
        props["metadata"] = OBJECT_META_SCHEMA
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        out["required"] = sorted({*out.get("required", []), "apiVersion", "kind"})
    return out


def apply_defaults(instance: Any, node: dict[str, Any]) -> Any:
    """A copy of ``instance`` with the schema's defaults filled in, as the API server does."""
    if isinstance(instance, dict):
        result = dict(instance)
        props: dict[str, Any] = node.get("properties") or {}
        for key, sub in props.items():
            if key not in result and "default" in sub:
                result[key] = copy.deepcopy(sub["default"])
            if key in result:
                result[key] = apply_defaults(result[key], sub)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for key in result.keys() - props.keys():
                result[key] = apply_defaults(result[key], extra)
        return result
    if isinstance(instance, list) and isinstance(node.get("items"), dict):
        return [apply_defaults(item, node["items"]) for item in instance]
    return instance


def json_path(parts: Iterable[str | int]) -> str:
    """``$.spec.targets[0].kind`` for ``["spec", "targets", 0, "kind"]``."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            text += f".{part}"
        else:
            text += f"[{part!r}]"
    return text


def validate_custom_resource(
    obj: dict[str, Any], crd_dirs: list[Path], *, unknown_marker: str | None = None
) -> list[str]:
    """Errors of one custom resource against the CRDs in ``crd_dirs``; ``[]`` when it is valid.

    Each message reads ``<Kind> <name>: <JSON path>: <problem>``. ``unknown_marker`` is a value
    that stands for "not known yet" (the engine's sentinel in a first preview): a complaint about
    a value equal to it is dropped. Raises :class:`CrdError` only for unusable CRD folders.
    """
    if not isinstance(obj, dict):
        return [f"<object>: $: expected a mapping, got {type(obj).__name__}"]
    kind = str(obj.get("kind") or "<no kind>")
    meta = obj.get("metadata")
    name = str(meta.get("name") or "<unnamed>") if isinstance(meta, dict) else "<unnamed>"
    where = f"{kind} {name}"
    api_version = obj.get("apiVersion")
    if not isinstance(api_version, str) or "/" not in api_version:
        return [f"{where}: $.apiVersion: expected '<group>/<version>', got {api_version!r}"]
    group, version = api_version.split("/", 1)
    crd = index_crds(crd_dirs).get((group, version, kind))
    if crd is None:
        folders = ", ".join(str(d) for d in crd_dirs)
        return [f"{where}: $: no CRD defines kind {kind} in {api_version} (searched {folders})"]
    if not crd.served:
        return [f"{where}: $.apiVersion: {api_version} is not served by the {kind} CRD"]
    instance = apply_defaults(obj, crd.openapi)
    validator = jsonschema.Draft202012Validator(crd.json_schema)
    errors: set[str] = set()
    for error in validator.iter_errors(instance):
        if unknown_marker is not None and error.instance == unknown_marker:
            continue
        for path, message in _explain(error):
            errors.add(f"{where}: {json_path(path)}: {message}")
    return sorted(errors)


def _explain(error: jsonschema.ValidationError) -> Iterator[tuple[list[str | int], str]]:
    """One (path, message) per problem; an unknown field is reported at its own path."""
    path = list(error.absolute_path)
    if (
        error.validator == "additionalProperties"
        and error.validator_value is False
        and isinstance(error.instance, dict)
    ):
        known = list(error.schema.get("properties") or {})
        patterns = list(error.schema.get("patternProperties") or {})
        for key in sorted(error.instance):
            if key in known or any(re.search(p, key) for p in patterns):
                continue
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            yield [*path, key], f"unknown field{suggestion}; the API server would drop it"
        return
    yield path, error.message
