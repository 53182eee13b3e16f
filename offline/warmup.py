"""Import, ahead of a run, the modules the program will load: the provider SDKs above all.

Importing the SDKs is most of a preview's time. The parallel preview (:mod:`offline.parallel`)
pays it once in the parent and forks the renders after it, so every child starts with the
modules imported. Which modules: the program's own modules (from ``__main__.py``, following its
imports) and every SDK module they reach through an attribute: the SDKs import their submodules
lazily (``aws.ec2.Vpc`` loads ``pulumi_aws.ec2`` on first use), so importing the packages alone
would leave most of the work to each child.

This is only an optimisation: a module missed here is imported by the child that needs it, and
a module that fails to import here is left for the run itself to report.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from offline.engine import project_on_path
from offline.gcpause import collector_paused

_SCANNED: set[tuple[str, str | None]] = set()
"""Project modules (name, file) whose uses are loaded in this process: what they reach stays
imported, so a later warm-up (a test process previews many times) need not parse them again."""


def warm_up(project_dir: Path) -> int:
    """Import the program's modules and the SDK modules they use; return how many were added."""
    before = len(sys.modules)
    root = project_dir.resolve()
    with project_on_path(root):
        names = list(_imported_names(root / "__main__.py", package=""))
        _import_all(names)
        while True:
            todo = [m for m in _project_modules(root) if _identity(m) not in _SCANNED]
            if not todo:
                break
            for module in todo:
                _SCANNED.add(_identity(module))
                _load_module_uses(module)
    return len(sys.modules) - before


def _identity(module: ModuleType) -> tuple[str, str | None]:
    """A module by name and source file: two projects may both have a module ``stacks``."""
    return module.__name__, _file_of(module)


def _project_modules(root: Path) -> list[ModuleType]:
    """Modules imported so far whose source is in the project (not in its virtualenv)."""
    found: list[ModuleType] = []
    for module in list(sys.modules.values()):
        file = _file_of(module)
        if not isinstance(file, str) or not file.endswith(".py"):
            continue
        path = Path(file)
        if path.is_relative_to(root) and ".venv" not in path.relative_to(root).parts:
            found.append(module)
    return found


def _file_of(module: object) -> str | None:
    """A module's ``__file__``, read without loading a lazily imported module."""
    if not isinstance(module, ModuleType):
        return None
    # The lazy placeholders load themselves on any attribute read through their own class.
    namespace = ModuleType.__getattribute__(module, "__dict__")
    file = namespace.get("__file__")
    return file if isinstance(file, str) else None


def _parse(path: Path) -> ast.Module | None:
    try:
        # Finalizers the collector runs mid-parse (a failed run's futures logging their
        # errors) can upset CPython 3.11's parser with a SystemError: the collector is paused.
        with collector_paused():
            return ast.parse(path.read_text(), str(path))
    except (OSError, SyntaxError, ValueError, SystemError):
        return None


def _imported_names(path: Path, package: str) -> Iterator[str]:
    """Absolute names of the modules a file imports, at any depth of its code."""
    tree = _parse(path)
    if tree is None:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base is not None:
                yield base
                # ``from pkg import sub`` may name a submodule.
                yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def _absolute(node: ast.ImportFrom, package: str) -> str | None:
    if not node.level:
        return node.module
    parts = package.split(".") if package else []
    if node.level > len(parts):
        return None
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _import_all(names: list[str]) -> None:
    for name in names:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a name that is not a module, or a broken one
            continue


def _load_module_uses(module: ModuleType) -> None:
    """Import what ``module`` imports, then load every SDK module it reaches by attribute."""
    file = _file_of(module)
    if file is None:
        return
    package = module.__package__ or ""
    _import_all(list(_imported_names(Path(file), package)))
    tree = _parse(Path(file))
    if tree is None:
        return
    aliases = _aliases(tree, package)
    for chain in _attribute_chains(tree):
        obj = vars(module).get(chain[0])
        if obj is None and chain[0] in aliases:
            # Imported inside a function: not a global of the module.
            obj = _resolve(aliases[chain[0]])
        for name in chain[1:]:
            if not isinstance(obj, ModuleType):
                break
            # Reading an attribute of a lazily imported module loads it.
            try:
                obj = getattr(obj, name, None)
            except Exception:  # noqa: BLE001 - left for the run to report
                break


def _aliases(tree: ast.Module, package: str) -> dict[str, str]:
    """Local name -> dotted name of what it was imported as, for every import in the code."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and (base := _absolute(node, package)):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{base}.{alias.name}"
    return names


def _resolve(dotted: str) -> object:
    """The object a dotted name imported, or None when it was not imported."""
    head, _, rest = dotted.partition(".")
    obj: object = sys.modules.get(head)
    for name in rest.split(".") if rest else []:
        obj = getattr(obj, name, None) if isinstance(obj, ModuleType) else None
    return obj


def _attribute_chains(tree: ast.Module) -> Iterator[list[str]]:
    """``["aws", "ec2", "Vpc"]`` for every outermost ``aws.ec2.Vpc`` in the code."""
    inner: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        names: list[str] = []
        cur: ast.expr = node
        while isinstance(cur, ast.Attribute):
            names.append(cur.attr)
            inner.add(id(cur.value))
            cur = cur.value
        if isinstance(cur, ast.Name):
            names.append(cur.id)
            yield names[::-1]
