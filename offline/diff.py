"""What ``pulumi preview --diff`` would report between two resource graphs, without a cloud.

The base graph stands for the stack's state (what the base commit deployed), the head graph
for the program's goal. Resources are matched the way the engine matches them: by URN first,
then by the resource's aliases, resolved as the engine's step generator resolves them
(``collapseAliasToUrn`` and ``generateAliases`` in pulumi/pulumi
``pkg/resource/deploy/step_generator.go``): an alias spec's missing name, type, project and
stack default to the resource's own, its parent defaults to the resource's parent (or the
parent's old URN when the parent itself was found through an alias), a root-stack parent means
none, and a child of a parent found through an alias inherits an alias under the parent's old
URN, with the parent's old name substituted in its own name when it starts with the parent's.

The engine computes URNs with the whole parent type chain and no root-stack segment; the mock
engine that records the graphs keeps only the parent's last type and the stack's. Both graphs
are therefore also indexed by their engine URNs, rebuilt from each resource's parent chain, so
an alias written either way finds its old resource.

Inputs are compared as recorded; a change to an input listed in :mod:`offline.replacements`
makes a replace, any other change an update. Secret values are compared but never shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from offline.graph import MASK, SECRET_SIG, SECRET_SIG_KEY, Resource, StackGraph
from offline.replacements import rule_for

Op = Literal["create", "update", "replace", "delete"]
ChangeKind = Literal["add", "update", "delete"]

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"

# Types whose replacement or deletion destroys stored data (or, for keys, makes the data they
# encrypt unreadable): these stand out in the diff even when not protected. A Namespace is
# here because deleting it deletes every PersistentVolumeClaim in it.
DATA_HOLDING_TYPES = frozenset(
    {
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:eks/cluster:Cluster",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/cluster:Cluster",
        "aws:kms/key:Key",
        "aws:backup/vault:Vault",
        "aws:dynamodb/table:Table",
        "aws:efs/fileSystem:FileSystem",
        "aws:ebs/volume:Volume",
        "gcp:storage/bucket:Bucket",
        "gcp:bigquery/dataset:Dataset",
        "gcp:bigquery/table:Table",
        "gcp:kms/keyRing:KeyRing",
        "gcp:kms/cryptoKey:CryptoKey",
        "gcp:vertex/aiDataset:AiDataset",
        "azure-native:storage:StorageAccount",
        "azure-native:storage:BlobContainer",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Key",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:core/v1:PersistentVolume",
        "kubernetes:core/v1:Namespace",
        "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch",
    }
)

# Options that change how the engine treats a resource but make no call to the cloud.
COMPARED_OPTIONS = (
    "protect",
    "retainOnDelete",
    "deleteBeforeReplace",
    "ignoreChanges",
    "customTimeouts",
    "additionalSecretOutputs",
)


@dataclass(frozen=True)
class PropertyChange:
    """One changed input: its path, and the old and new values with secrets masked."""

    path: str
    kind: ChangeKind
    old: Any = None
    new: Any = None
    replaces: bool = False
    """Whether this change is (part of) what forces the replacement."""


@dataclass(frozen=True)
class ResourceChange:
    """One resource the update would create, update, replace or delete."""

    op: Op
    urn: str
    """The head URN; the base URN for a delete."""
    type: str
    name: str
    properties: tuple[PropertyChange, ...] = ()
    replace_reasons: tuple[str, ...] = ()
    """Inputs whose change forces the replacement (paths as in ``properties``)."""
    aliased_from: str | None = None
    """The base URN when the resource was found through an alias under another URN."""
    protected: bool = False
    data_holding: bool = False
    retained: bool = False
    """``retainOnDelete``: the engine forgets the old resource but leaves it in the cloud."""

    @property
    def at_risk(self) -> bool:
        """A replacement or deletion of a protected, or a data-holding and not retained, one."""
        return self.op in ("replace", "delete") and (
            self.protected or (self.data_holding and not self.retained)
        )


@dataclass(frozen=True)
class OptionChange:
    """A changed resource option (``protect``, ``ignoreChanges``...): no cloud operation."""

    urn: str
    option: str
    old: Any
    new: Any


@dataclass
class StackDiff:
    """Everything that differs between the base and head graphs of one stack."""

    project: str
    stack: str
    base_stack: str
    changes: list[ResourceChange] = field(default_factory=list)
    unchanged: int = 0
    option_changes: list[OptionChange] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Resources per operation, and unchanged ones under ``same``."""
        totals = {op: 0 for op in ("create", "update", "replace", "delete")}
        for change in self.changes:
            totals[change.op] += 1
        return {**totals, "same": self.unchanged}

    @property
    def at_risk(self) -> list[ResourceChange]:
        """Replacements and deletions of protected or data-holding resources."""
        return [c for c in self.changes if c.at_risk]

    @property
    def empty(self) -> bool:
        """No resource changes and no option changes."""
        return not self.changes and not self.option_changes

    def to_json(self) -> dict[str, Any]:
        """The diff as JSON data (values masked, not truncated)."""
        return {
            "project": self.project,
            "stack": self.stack,
            "baseStack": self.base_stack,
            "summary": self.counts(),
            "atRisk": [c.urn for c in self.at_risk],
            "changes": [
                {
                    "op": c.op,
                    "urn": c.urn,
                    "type": c.type,
                    "name": c.name,
                    "aliasedFrom": c.aliased_from,
                    "protected": c.protected,
                    "dataHolding": c.data_holding,
                    "retained": c.retained,
                    "atRisk": c.at_risk,
                    "replaceReasons": list(c.replace_reasons),
                    "properties": [
                        {
                            "path": p.path,
                            "kind": p.kind,
                            "old": p.old,
                            "new": p.new,
                            "replaces": p.replaces,
                        }
                        for p in c.properties
                    ],
                }
                for c in self.changes
            ],
            "optionChanges": [
                {"urn": o.urn, "option": o.option, "old": o.old, "new": o.new}
                for o in self.option_changes
            ],
        }


def diff_graphs(base: StackGraph, head: StackGraph) -> StackDiff:
    """The changes that take the stack from ``base`` to ``head``. Pure: reads both graphs only."""
    result = StackDiff(project=head.project, stack=head.stack, base_stack=base.stack)
    matched = _match(base, head)
    claimed = {old.urn for old, _ in matched.values()}
    for res in head.resources:
        if res.urn not in matched:
            result.changes.append(_created(res))
            continue
        old, via_alias = matched[res.urn]
        change = _compared(old, res, via_alias)
        if change is None:
            result.unchanged += 1
        else:
            result.changes.append(change)
        result.option_changes += _option_changes(old, res)
    # The engine deletes what is left after the program finished, dependents first.
    for old in reversed(base.resources):
        if old.urn not in claimed:
            result.changes.append(_deleted(old))
    return result


# --- matching -------------------------------------------------------------------------------


def _urn_parts(urn: str) -> list[str] | None:
    parts = urn.split("::")
    if len(parts) != 4 or not parts[0].startswith("urn:pulumi:"):
        return None
    return parts


def _qualified_type(urn: str) -> str:
    parts = _urn_parts(urn)
    return parts[2] if parts else ""


def _is_root_stack(urn: str | None) -> bool:
    return urn is not None and _qualified_type(urn).rsplit("$", 1)[-1] == ROOT_STACK_TYPE


def _create_urn(name: str, type_: str, parent: str | None, project: str, stack: str) -> str:
    """``resource.CreateURN``: the parent's whole qualified type, then this type and name."""
    qualified = f"{_qualified_type(parent)}${type_}" if parent else type_
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def _stack_project(urn: str, graph: StackGraph) -> tuple[str, str]:
    parts = _urn_parts(urn)
    if parts is None:
        return graph.stack, graph.project
    return parts[0].removeprefix("urn:pulumi:"), parts[1]


def engine_urns(graph: StackGraph) -> dict[str, str]:
    """Recorded URN -> the URN the engine gives the same resource (parents come first)."""
    engine: dict[str, str] = {}
    for res in graph.resources:
        if _urn_parts(res.urn) is None:
            engine[res.urn] = res.urn
            continue
        stack, project = _stack_project(res.urn, graph)
        parent = None if _is_root_stack(res.parent) or res.parent is None else res.parent
        parent = engine.get(parent, parent) if parent else None
        engine[res.urn] = _create_urn(res.name, res.type, parent, project, stack)
    return engine


def _match(base: StackGraph, head: StackGraph) -> dict[str, tuple[Resource, str | None]]:
    """Head URN -> (its base resource, the base URN when found through an alias)."""
    base_engine = engine_urns(base)
    head_engine = engine_urns(head)
    index: dict[str, Resource] = {}
    for base_res in base.resources:
        index[base_res.urn] = base_res
        index.setdefault(base_engine[base_res.urn], base_res)
    matched: dict[str, tuple[Resource, str | None]] = {}
    claimed: set[str] = set()
    # Head engine URN -> base engine URN, for resources found through an alias (sg.aliases).
    aliased: dict[str, str] = {}
    resolver = _AliasResolver(head, head_engine, base_engine, aliased)
    for res in head.resources:
        old: Resource | None = index.get(res.urn) or index.get(head_engine[res.urn])
        via: str | None = None
        if old is None or old.urn in claimed:
            old = None
            for alias in resolver.aliases(res):
                candidate = index.get(alias)
                if candidate is not None and candidate.urn not in claimed:
                    old, via = candidate, candidate.urn
                    aliased[head_engine[res.urn]] = base_engine[candidate.urn]
                    break
        if old is not None:
            matched[res.urn] = (old, via)
            claimed.add(old.urn)
    return matched


@dataclass
class _AliasResolver:
    """Turns a resource's recorded aliases into the URNs the engine looks up."""

    head: StackGraph
    head_engine: Mapping[str, str]
    base_engine: Mapping[str, str]
    aliased: Mapping[str, str]

    def _engine_form(self, urn: str) -> str:
        return self.head_engine.get(urn) or self.base_engine.get(urn) or urn

    def _collapse(self, res: Resource, alias: str | dict[str, Any]) -> str:
        """``collapseAliasToUrn``."""
        if isinstance(alias, str):
            return alias
        stack, project = _stack_project(res.urn, self.head)
        parent: str | None
        if alias.get("parentUrn"):
            parent = self._engine_form(str(alias["parentUrn"]))
            # A parent found through its own alias: its old URN is this child's old parent.
            parent = self.aliased.get(parent, parent)
        else:
            parent = self._engine_form(res.parent) if res.parent else None
        if alias.get("noParent") or _is_root_stack(parent):
            parent = None
        return _create_urn(
            str(alias.get("name") or res.name),
            str(alias.get("type") or res.type),
            parent,
            str(alias.get("project") or project),
            str(alias.get("stack") or stack),
        )

    def aliases(self, res: Resource) -> Iterator[str]:
        """``generateAliases``: the resource's own aliases, then those inherited from its parent."""
        own = [a for a in res.option("aliases") or [] if a]
        collapsed = [self._collapse(res, a) for a in own]
        yield from collapsed
        if not res.parent or _is_root_stack(res.parent):
            return
        parent = self._engine_form(res.parent)
        parent_alias = self.aliased.get(parent)
        if parent_alias is None:
            return
        parent_name = parent.rsplit("::", 1)[-1]
        yield _inherited(res.type, res.name, parent_name, parent_alias)
        for urn in collapsed:
            child_type = _qualified_type(urn).rsplit("$", 1)[-1]
            yield _inherited(child_type, urn.rsplit("::", 1)[-1], parent_name, parent_alias)


def _inherited(child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
    """``inheritedChildAlias``: the child under its parent's old URN, and maybe old name."""
    alias_name = child_name
    if child_name.startswith(parent_name):
        alias_name = parent_alias.rsplit("::", 1)[-1] + child_name[len(parent_name) :]
    parts = _urn_parts(parent_alias)
    stack = parts[0].removeprefix("urn:pulumi:") if parts else ""
    project = parts[1] if parts else ""
    return _create_urn(alias_name, child_type, parent_alias, project, stack)


# --- comparing ------------------------------------------------------------------------------


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def shown(value: Any) -> Any:
    """A value as the diff shows it: every secret (and anything inside one) is ``[secret]``."""
    if _is_secret(value):
        return MASK
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shown(v) for v in value]
    return value


def _same(old: Any, new: Any) -> bool:
    """Equal as JSON values: ``1 == 1.0`` but ``True != 1``, and secretness counts."""
    if _is_secret(old) or _is_secret(new):
        return _is_secret(old) and _is_secret(new) and _same(old.get("value"), new.get("value"))
    if isinstance(old, dict) and isinstance(new, dict):
        keys = {k for k, v in old.items() if v is not None} | {
            k for k, v in new.items() if v is not None
        }
        return all(_same(old.get(k), new.get(k)) for k in keys)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, int | float) and isinstance(new, int | float):
        return old == new
    return type(old) is type(new) and bool(old == new)


_PLAIN_KEY = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _join(path: str, key: str) -> str:
    if key and set(key) <= _PLAIN_KEY:
        return f"{path}.{key}" if path else key
    return f"{path}[{_quoted(key)}]"


def _quoted(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def property_changes(old: Any, new: Any, path: str = "") -> Iterator[PropertyChange]:
    """Every changed leaf between two input values; a null input counts as absent."""
    if _same(old, new):
        return
    if old is None:
        yield PropertyChange(path, "add", None, shown(new))
    elif new is None:
        yield PropertyChange(path, "delete", shown(old), None)
    elif _is_secret(old) or _is_secret(new):
        yield PropertyChange(path, "update", shown(old), shown(new))
    elif isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            yield from property_changes(old.get(key), new.get(key), _join(path, str(key)))
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            yield from property_changes(
                old[i] if i < len(old) else None, new[i] if i < len(new) else None, f"{path}[{i}]"
            )
    else:
        yield PropertyChange(path, "update", shown(old), shown(new))


def _at(props: Mapping[str, Any], path: str) -> Any:
    value: Any = props
    for key in path.split("."):
        if _is_secret(value):
            value = value.get("value")
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def _ignored(path: str, ignore_changes: Iterable[str]) -> bool:
    return any(_under(path, str(ignored)) for ignored in ignore_changes)


def _replace_reasons(res: Resource, old: Resource, ignore: list[str]) -> list[str]:
    rule = rule_for(res.type)
    if rule is None:
        return []
    reasons = [
        path
        for path in rule.paths
        if not _same(_at(old.props, path), _at(res.props, path)) and not _ignored(path, ignore)
    ]
    reasons += [
        path
        for path in rule.removal_only
        if _at(old.props, path) not in (None, {}, []) and _at(res.props, path) in (None, {}, [])
    ]
    return reasons


def _compared(old: Resource, res: Resource, via_alias: str | None) -> ResourceChange | None:
    ignore = [str(p) for p in res.option("ignoreChanges") or []]
    changes = [c for c in property_changes(old.props, res.props) if not _ignored(c.path, ignore)]
    if not changes:
        return None
    reasons = _replace_reasons(res, old, ignore)
    marked = tuple(
        PropertyChange(
            c.path,
            c.kind,
            c.old,
            c.new,
            any(_under(c.path, r) or _under(r, c.path) for r in reasons),
        )
        for c in changes
    )
    return ResourceChange(
        op="replace" if reasons else "update",
        urn=res.urn,
        type=res.type,
        name=res.name,
        properties=marked,
        replace_reasons=tuple(reasons),
        aliased_from=via_alias,
        protected=bool(old.option("protect") or res.option("protect")),
        data_holding=res.type in DATA_HOLDING_TYPES or old.type in DATA_HOLDING_TYPES,
        retained=bool(old.option("retainOnDelete")),
    )


def _created(res: Resource) -> ResourceChange:
    return ResourceChange(
        op="create",
        urn=res.urn,
        type=res.type,
        name=res.name,
        protected=bool(res.option("protect")),
        data_holding=res.type in DATA_HOLDING_TYPES,
    )


def _deleted(old: Resource) -> ResourceChange:
    return ResourceChange(
        op="delete",
        urn=old.urn,
        type=old.type,
        name=old.name,
        protected=bool(old.option("protect")),
        data_holding=old.type in DATA_HOLDING_TYPES,
        retained=bool(old.option("retainOnDelete")),
    )


def _option_changes(old: Resource, res: Resource) -> list[OptionChange]:
    return [
        OptionChange(res.urn, key, old.option(key), res.option(key))
        for key in COMPARED_OPTIONS
        if not _same(old.option(key), res.option(key))
    ]
