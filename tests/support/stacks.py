"""The real stack files and their rendered graphs, shared by every test of one session.

Rendering a stack runs the whole program on the mock engine (seconds each), so a session
renders each stack configuration and mode once. :class:`StackRenders` keeps the graphs (and
the policy pack's findings on them) in memory and, when given a folder, in that folder too, so
parallel test workers reuse what another worker rendered or evaluated. The folder lives for one session only: every session renders the
program again, so coverage always sees the rendering code run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy import Policy

from offline.engine import run_stack
from offline.evaluate import Finding, evaluate
from offline.graph import Resource, StackGraph
from offline.stackfile import StackConfig, load_stack

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")

ALERTMANAGER_SECRETS = [
    {"consumer": f"alertmanager-{name}", "path": "ttbt2/dev/alertmanager", "key": name}
    for name in ("slack-webhook-url", "smtp-password", "sms-gateway-token")
]
"""The receiver credentials every stack must declare, for tests that build a stack by hand."""


def stack_values(stack: str) -> dict[str, Any]:
    """The ``config`` mapping of a real stack file."""
    return dict(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"])


def raw_settings(stack: str) -> dict[str, Any]:
    """The ``ttbt2:`` values of a real stack file, namespace stripped."""
    return {k.split(":", 1)[1]: v for k, v in stack_values(stack).items() if k.startswith("ttbt2:")}


def of_type(graph: StackGraph, token: str) -> list[Resource]:
    """Resources of one type token."""
    return [r for r in graph.resources if r.type == token]


def one(graph: StackGraph, token: str, name_part: str = "") -> Resource:
    """The single resource of a type (whose name contains ``name_part``)."""
    found = [r for r in of_type(graph, token) if name_part in r.name]
    assert len(found) == 1, f"expected one {token} '{name_part}', got {[r.name for r in found]}"
    return found[0]


class StackRenders:
    """Graphs of the program, rendered once per project, stack configuration and mode.

    Graphs handed out by :meth:`graph` are shared between tests, which must not change them;
    :meth:`run_stack` hands out a private copy, for code under test that may.
    """

    def __init__(self, root: Path = ROOT, shared_dir: Path | None = None) -> None:
        self.root = root
        self.shared_dir = shared_dir
        self._graphs: dict[str, StackGraph] = {}
        self._findings: dict[str, list[Finding]] = {}
        self._configs: dict[str, tuple[object, StackConfig]] = {}

    def graph(self, stack: str, *, preview: bool = False) -> StackGraph:
        """The graph of a real stack file (update mode unless ``preview``)."""
        return self._render(self.root, self._config(stack), preview)

    def _config(self, stack: str) -> StackConfig:
        """A real stack file's configuration, read again only when it or the project changed.

        Tests ask for the graphs thousands of times; the files are read once.
        """
        files = (self.root / "Pulumi.yaml", self.root / f"Pulumi.{stack}.yaml")
        try:
            stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        except OSError:
            return load_stack(self.root, stack)  # raises, naming the missing file
        cached = self._configs.get(stack)
        if cached is None or cached[0] != stamp:
            cached = (stamp, load_stack(self.root, stack))
            self._configs[stack] = cached
        return cached[1]

    def run_stack(self, project_dir: Path, config: StackConfig, *, preview: bool) -> StackGraph:
        """:func:`offline.engine.run_stack` with this session's renders: a drop-in for it."""
        return copy.deepcopy(self._render(project_dir, config, preview))

    def evaluate(
        self,
        graph: StackGraph,
        policies: Iterable[Policy],
        *,
        config: Mapping[str, Mapping[str, Any]] | None = None,
        enforcement: Mapping[str, str] | None = None,
    ) -> list[Finding]:
        """:func:`offline.evaluate.evaluate` once per graph content and policy set: a drop-in.

        The CLI evaluates the whole pack on every stack it previews, and several CLI tests
        preview the same stacks; findings are a pure function of these arguments. Like graphs,
        they are shared with the session's other workers.
        """
        policies = list(policies)
        material = pickle.dumps(
            (graph, [p.name for p in policies], config, enforcement), protocol=5
        )
        key = "findings-" + hashlib.sha256(material).hexdigest()
        if key not in self._findings:
            findings = self._load(key)
            if findings is None:
                findings = evaluate(graph, policies, config=config, enforcement=enforcement)
                self._store(key, findings)
            assert isinstance(findings, list)
            self._findings[key] = findings
        return copy.deepcopy(self._findings[key])

    def _render(self, project_dir: Path, config: StackConfig, preview: bool) -> StackGraph:
        key = _key(project_dir, config, preview)
        if key in self._graphs:
            return self._graphs[key]
        graph = self._load(key)
        if graph is None:
            graph = run_stack(project_dir, config, preview=preview)
            self._store(key, graph)
        assert isinstance(graph, StackGraph)
        self._graphs[key] = graph
        return graph

    def _load(self, key: str) -> object | None:
        if self.shared_dir is None:
            return None
        path = self.shared_dir / f"{key}.pickle"
        if not path.exists():
            return None
        # Only this session writes the folder, so unpickling trusts nothing from outside.
        return pickle.loads(path.read_bytes())

    def _store(self, key: str, value: object) -> None:
        if self.shared_dir is None:
            return
        # Written under a temporary name and renamed, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=self.shared_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle)
        Path(tmp).replace(self.shared_dir / f"{key}.pickle")


def _key(project_dir: Path, config: StackConfig, preview: bool) -> str:
    """Everything :func:`offline.engine.run_stack` reads, as a file-name-safe digest."""
    identity = {
        "dir": str(project_dir.resolve()),
        "project": config.project,
        "stack": config.stack,
        "values": config.values,
        "secret_keys": sorted(config.secret_keys),
        "preview": preview,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
