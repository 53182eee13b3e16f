"""The environment as layers: typed, frozen results; short functions; the secret source passed in."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import stacks.layers
from components.vault.refs import SecretRef
from components.vault.source import PLACEHOLDER_PREFIX, SecretSource, declared_refs
from config import from_pulumi_config
from offline.engine import run_program
from offline.stackfile import load_stack
from stacks import environment
from tests.conftest import ROOT

LAYER_MODULES = [
    importlib.import_module(f"stacks.layers.{info.name}")
    for info in pkgutil.iter_modules(stacks.layers.__path__)
]
MAX_FUNCTION_LINES = 150


def _is_frozen(cls: Any) -> bool:
    return bool(cls.__dataclass_params__.frozen)


def _layer_functions() -> list[Callable[..., Any]]:
    """The public functions each layer module defines (its layer function)."""
    return [
        obj
        for module in LAYER_MODULES
        for name, obj in vars(module).items()
        if inspect.isfunction(obj)
        and obj.__module__ == module.__name__
        and not name.startswith("_")
    ]


def test_every_layer_module_has_a_layer_function() -> None:
    names = {f.__module__.rsplit(".", 1)[1] for f in _layer_functions()}
    assert names == {m.__name__.rsplit(".", 1)[1] for m in LAYER_MODULES}
    assert {"foundation", "data", "observability", "addons", "services", "clouds"} <= names


@pytest.mark.parametrize("function", _layer_functions(), ids=lambda f: f.__name__)
def test_each_layer_returns_a_frozen_dataclass(function: Callable[..., Any]) -> None:
    result: Any = typing.get_type_hints(function)["return"]
    assert dataclasses.is_dataclass(result), f"{function.__name__} returns {result!r}"
    assert _is_frozen(result), f"{function.__name__} returns a dataclass that is not frozen"


def test_every_result_dataclass_of_the_layers_is_frozen() -> None:
    found = [
        obj
        for module in LAYER_MODULES
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and obj.__module__ == module.__name__
        and dataclasses.is_dataclass(obj)
    ]
    assert len(found) >= 7
    for cls in found:
        assert _is_frozen(cls), cls.__name__
        instance = cls(**{f.name: None for f in dataclasses.fields(cls)})
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(instance, dataclasses.fields(cls)[0].name, "changed")


def test_no_function_of_the_composition_exceeds_the_limit() -> None:
    for path in [
        ROOT / "stacks" / "environment.py",
        *sorted((ROOT / "stacks" / "layers").glob("*.py")),
    ]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                assert lines <= MAX_FUNCTION_LINES, f"{path.name}:{node.name} has {lines} lines"


class _MarkedSource(SecretSource):
    """Every value names the consumer it was read for, so the graph shows where it came from."""

    def _read(self, ref: SecretRef) -> str:
        # Padded: the origin header's value must be at least 32 characters.
        return f"marked:{ref.consumer}".ljust(32, ".")


def test_build_reads_secrets_from_the_source_it_is_given() -> None:
    stack = load_stack(ROOT, "dev")

    def program() -> None:
        cfg = from_pulumi_config()
        environment.build(cfg, _MarkedSource(declared_refs(cfg)))

    graph = run_program(
        program,
        project=stack.project,
        stack=stack.stack,
        preview=False,
        config=stack.values,
        secret_keys=stack.secret_keys,
    )
    # The Vault provider takes no token from the source: it reads VAULT_TOKEN at run time.
    vault = next(r for r in graph.resources if r.type == "pulumi:providers:vault")
    assert "token" not in vault.props
    origin = [r for r in graph.resources if "marked:cdn-origin-verify" in str(r.props)]
    assert origin, "the CDN's origin header is not the value the source gave"
    # Nothing came from a source the program opened itself (placeholders of the mock engine).
    assert f"{PLACEHOLDER_PREFIX}:vault" not in str([r.props for r in graph.resources])


def test_build_takes_the_secret_source_as_a_parameter() -> None:
    params = inspect.signature(environment.build).parameters
    assert list(params) == ["cfg", "secrets"]
    assert typing.get_type_hints(environment.build)["secrets"] is SecretSource
    assert "open_source" not in Path(environment.__file__).read_text()
