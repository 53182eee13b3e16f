"""Every function stays short enough to read, and no class grows into a bag of fields.

A function over :data:`MAX_FUNCTION_LINES` lines mixes concerns: split it into named steps.
Declarative tables (IAM documents, dashboards), whose length is their content, are exempt by
name in :data:`DECLARATIVE_TABLES`. A class with more than :data:`MAX_ANNOTATED_FIELDS`
annotated fields is a configuration that wants grouping into smaller records.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 150
MAX_ANNOTATED_FIELDS = 40
SKIPPED_DIRS = frozenset({"tests", ".venv", "node_modules", "__pycache__"})
"""Directories not walked: tests, installed packages and caches (hidden ones are skipped too)."""

DECLARATIVE_TABLES = frozenset(
    {
        # One panel or alert per deployment and signal: the dashboard's content, not logic.
        "components/monitoring/dashboards.py::_deployments",
        # The Karpenter controller's IAM policy documents, statement by statement.
        "components/aws/karpenter_iam.py::controller_policies",
    }
)
"""Functions, as ``<path>::<qualified name>``, allowed over the limit because they are data."""


def source_files(root: Path) -> Iterator[Path]:
    """Every ``.py`` file of the project outside the skipped and hidden directories."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for file in sorted(files):
            if file.endswith(".py"):
                yield Path(directory, file)


def _definitions(
    node: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]]:
    """Each function and class under ``node`` with its qualified name (``Class.method``)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            qualname = f"{prefix}{child.name}"
            yield qualname, child
            yield from _definitions(child, f"{qualname}.")
        else:
            yield from _definitions(child, prefix)


def function_lengths(path: Path) -> dict[str, int]:
    """Lines of each function of ``path`` (``def`` line through its last line), by qualname."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {
        qualname: (node.end_lineno or node.lineno) - node.lineno + 1
        for qualname, node in _definitions(tree)
        if not isinstance(node, ast.ClassDef)
    }


def annotated_fields(path: Path) -> dict[str, int]:
    """Number of annotated fields (``name: type`` in the class body) of each class of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {
        qualname: sum(isinstance(stmt, ast.AnnAssign) for stmt in node.body)
        for qualname, node in _definitions(tree)
        if isinstance(node, ast.ClassDef)
    }


def _key(root: Path, path: Path, qualname: str) -> str:
    return f"{path.relative_to(root).as_posix()}::{qualname}"


def long_functions(
    root: Path, limit: int = MAX_FUNCTION_LINES, allowed: frozenset[str] = DECLARATIVE_TABLES
) -> dict[str, int]:
    """Functions under ``root`` over ``limit`` lines and not in ``allowed``, with their length."""
    return {
        _key(root, path, qualname): lines
        for path in source_files(root)
        for qualname, lines in function_lengths(path).items()
        if lines > limit and _key(root, path, qualname) not in allowed
    }


def crowded_classes(root: Path, limit: int = MAX_ANNOTATED_FIELDS) -> dict[str, int]:
    """Classes under ``root`` with more than ``limit`` annotated fields, with their count."""
    return {
        _key(root, path, qualname): fields
        for path in source_files(root)
        for qualname, fields in annotated_fields(path).items()
        if fields > limit
    }


def test_the_walk_covers_the_project_and_skips_tests_and_packages() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in source_files(ROOT)}
    assert {"offline/mocks.py", "components/gcp/analytics.py", "__main__.py"} <= files
    assert not any(f.startswith(("tests/", ".venv/", "node_modules/")) for f in files)


def test_no_function_is_over_the_limit() -> None:
    offenders = long_functions(ROOT)
    assert not offenders, (
        f"functions over {MAX_FUNCTION_LINES} lines (split them by concern, or, if they are "
        f"declarative tables, add them to DECLARATIVE_TABLES): {offenders}"
    )


def test_no_class_has_too_many_annotated_fields() -> None:
    crowded = crowded_classes(ROOT)
    assert not crowded, (
        f"classes with more than {MAX_ANNOTATED_FIELDS} annotated fields (group related "
        f"fields into smaller records): {crowded}"
    )


def test_the_allow_list_names_existing_functions_that_need_it() -> None:
    # A stale entry would silently exempt whatever later takes its name.
    lengths = long_functions(ROOT, allowed=frozenset())
    for entry in DECLARATIVE_TABLES:
        assert entry in lengths, f"{entry} is no function over {MAX_FUNCTION_LINES} lines"


def _statements(count: int) -> str:
    return "".join(f"        x{i} = {i}\n" for i in range(count))


def test_a_method_over_the_limit_is_reported_unless_allowed(tmp_path: Path) -> None:
    # ``def`` line plus body: ``at_limit`` is exactly the limit, ``over`` one line more.
    (tmp_path / "module.py").write_text(
        "class Table:\n"
        f"    def at_limit(self) -> None:\n{_statements(MAX_FUNCTION_LINES - 1)}\n"
        f"    def over(self) -> None:\n{_statements(MAX_FUNCTION_LINES)}"
    )
    assert long_functions(tmp_path, allowed=frozenset()) == {
        "module.py::Table.over": MAX_FUNCTION_LINES + 1
    }
    assert long_functions(tmp_path, allowed=frozenset({"module.py::Table.over"})) == {}


def test_a_class_with_too_many_annotated_fields_is_reported(tmp_path: Path) -> None:
    fields = "".join(f"    f{i}: int\n" for i in range(MAX_ANNOTATED_FIELDS))
    (tmp_path / "module.py").write_text(
        f"class Full:\n{fields}\n\nclass Crowded:\n{fields}    extra: str = ''\n"
    )
    assert crowded_classes(tmp_path) == {"module.py::Crowded": MAX_ANNOTATED_FIELDS + 1}
