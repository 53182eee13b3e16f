"""Session-wide fixtures: the rendered stacks of the real stack files, stack files to edit.

The helpers themselves live in :mod:`tests.support`; the names below are re-exported for tests
that import them from here.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate.utils
import pytest
import yaml

from offline import cli
from offline.graph import StackGraph
from tests.support.stacks import (
    ALERTMANAGER_SECRETS,
    ROOT,
    STACKS,
    StackRenders,
    of_type,
    one,
    raw_settings,
    stack_values,
)

__all__ = [
    "ALERTMANAGER_SECRETS",
    "ROOT",
    "STACKS",
    "of_type",
    "one",
    "raw_settings",
    "render",
    "stack_values",
]

_RENDERS = pytest.StashKey[StackRenders]()
_SHARED_DIR = pytest.StashKey[Path]()
_WORKER_INPUT = "ttbt2_stack_renders"


def pytest_configure(config: pytest.Config) -> None:
    """One :class:`StackRenders` per session; parallel workers share one folder of graphs."""
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    if worker_input is not None:
        shared = Path(worker_input[_WORKER_INPUT])
    else:
        shared = Path(tempfile.mkdtemp(prefix="ttbt2-stack-renders-"))
        config.stash[_SHARED_DIR] = shared
    config.stash[_RENDERS] = StackRenders(ROOT, shared)
    global _session_renders  # noqa: PLW0603 - see render()
    _session_renders = config.stash[_RENDERS]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: tell each worker the session's folder of rendered graphs."""
    node.workerinput[_WORKER_INPUT] = str(node.config.stash[_SHARED_DIR])


def pytest_unconfigure(config: pytest.Config) -> None:
    """The graphs folder lives for one session: the next one renders the program again."""
    shared = config.stash.get(_SHARED_DIR, None)
    if shared is not None:
        shutil.rmtree(shared, ignore_errors=True)


@pytest.fixture(scope="session")
def stacks(pytestconfig: pytest.Config) -> StackRenders:
    """The real stacks, each configuration and mode rendered once per session."""
    return pytestconfig.stash[_RENDERS]


@pytest.fixture(scope="session", autouse=True)
def kubernetes_schemas_read_once() -> Iterator[None]:
    """kubernetes-validate parses its JSON schemas once per session, not once per object.

    Every ``kubernetes_validate.validate`` call reads and parses the schema of the kind and the
    whole definitions file (about 20 ms); the files do not change during a session.
    """
    original = kubernetes_validate.utils.schema_contents
    kubernetes_validate.utils.schema_contents = functools.cache(original)
    yield
    kubernetes_validate.utils.schema_contents = original


@pytest.fixture
def session_engine(stacks: StackRenders, monkeypatch: pytest.MonkeyPatch) -> StackRenders:
    """The offline CLI renders and evaluates through this session: each configuration once.

    A rendered graph depends only on the program and the stack configuration (on the mock engine
    the program reads no environment), and findings only on the graph and the policies, so the
    CLI gets what it would compute itself, as private copies it may change.

    Without ``--jobs`` the CLI renders and evaluates in this process, as on a one-core machine:
    the findings a forked child computed would end with it, and the test workers already use
    every core. The forked preview is tested in tests/offline/test_parallel.py.
    """
    monkeypatch.setattr(cli, "run_stack", stacks.run_stack)
    monkeypatch.setattr(cli, "evaluate", stacks.evaluate)
    monkeypatch.setattr(cli, "default_workers", lambda: 1)
    return stacks


_session_renders: StackRenders | None = None


def render(stack: str, *, preview: bool = False) -> StackGraph:
    """``stacks.graph(stack, preview=preview)`` for code that cannot take the fixture."""
    assert _session_renders is not None, "render() works only inside a pytest session"
    return _session_renders.graph(stack, preview=preview)


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
