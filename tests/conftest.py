"""Shared fixtures: the repository root, stack rendering with a per-session cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.engine import run_stack
from offline.graph import Resource, StackGraph
from offline.stackfile import load_stack

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "staging", "prod")

_cache: dict[tuple[str, bool], StackGraph] = {}


def render(stack: str, *, preview: bool = False) -> StackGraph:
    """Render a stack from its real file, once per session and mode."""
    key = (stack, preview)
    if key not in _cache:
        _cache[key] = run_stack(ROOT, load_stack(ROOT, stack), preview=preview)
    return _cache[key]


def stack_values(stack: str) -> dict[str, Any]:
    """The ``config`` mapping of a real stack file."""
    return dict(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"])


def raw_settings(stack: str) -> dict[str, Any]:
    """The ``ttbt2:`` values of a real stack file, namespace stripped."""
    return {k.split(":", 1)[1]: v for k, v in stack_values(stack).items() if k.startswith("ttbt2:")}


ALERTMANAGER_SECRETS = [
    {"consumer": f"alertmanager-{name}", "path": "ttbt2/dev/alertmanager", "key": name}
    for name in ("slack-webhook-url", "smtp-password", "sms-gateway-token")
]
"""The receiver credentials every stack must declare, for tests that build a stack by hand."""


def of_type(graph: StackGraph, token: str) -> list[Resource]:
    """Resources of one type token."""
    return [r for r in graph.resources if r.type == token]


def one(graph: StackGraph, token: str, name_part: str = "") -> Resource:
    """The single resource of a type (whose name contains ``name_part``)."""
    found = [r for r in of_type(graph, token) if name_part in r.name]
    assert len(found) == 1, f"expected one {token} '{name_part}', got {[r.name for r in found]}"
    return found[0]


@pytest.fixture
def stack_file(tmp_path: Path) -> Callable[..., Path]:
    """Write ``Pulumi.<name>.yaml`` to a temporary folder from a base stack plus overrides.

    ``None`` as an override value removes the key.
    """

    def make(name: str, base: str = "dev", **overrides: Any) -> Path:
        values = stack_values(base)
        for key, value in overrides.items():
            full = key if ":" in key else f"ttbt2:{key}"
            if value is None:
                values.pop(full, None)
            else:
                values[full] = value
        path = tmp_path / f"Pulumi.{name}.yaml"
        path.write_text(yaml.safe_dump({"config": values}, sort_keys=False))
        return path

    return make
