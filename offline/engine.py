"""Run the real program on the SDK's mock engine and return what it registered.

:func:`run_stack` loads the project's own ``__main__.py`` and calls its ``main`` entry, the
one Pulumi reaches when it runs that file as ``__main__``, with one difference made explicit:
the secret source. A real run reads Vault; this engine passes
:func:`components.vault.source.open_offline` (named placeholders), so no code in the program
has to detect the mock engine.
"""

from __future__ import annotations

import logging
import os
import runpy
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.vault.source import SecretSourceFactory, open_offline
from offline.gcpause import collector_paused
from offline.graph import MASK, StackGraph
from offline.mocks import PlatformMocks
from offline.recorder import Recorder
from offline.stackfile import StackConfig


def run_program(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    preview: bool,
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    region: str = "eu-west-1",
) -> StackGraph:
    """Run any Pulumi program function on the mock engine and record what it registers.

    Component tests use this to render one component; :func:`run_stack` uses it for the whole
    program. ``preview=True`` behaves like a first ``pulumi preview``.
    """
    mocks = PlatformMocks(region=region, preview=preview)
    recorder = Recorder(mocks)
    # Reset the root stack, or this stack's resources would hang off the previous stack's URN.
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        mocks,
        project=project,
        stack=stack,
        preview=preview,
        monitor=recorder,
        logger=_quiet_logger(),
    )
    pulumi.runtime.set_all_config(dict(config or {}), list(secret_keys or []))
    # A previous run that failed leaves its pending RPCs and output tasks behind; the SDK's own
    # test decorator clears them too, or that failure would surface in this run.
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()
    with collector_paused(), _no_source_positions():
        _sync_await(run_pulumi_func(program))
        outputs = _collect_outputs()
    return StackGraph(
        project=project,
        stack=stack,
        resources=list(recorder.recorded),
        outputs=outputs,
        preview=preview,
    )


# The name __main__.py is loaded under here: anything but "__main__", so that loading it
# defines its entry without running it with the real secret source.
PROGRAM_MODULE = "ttbt2_program"


class ProgramEntryError(Exception):
    """The project's ``__main__.py`` has no ``main(open_secrets)`` entry to call."""


def program_entry(project_dir: Path) -> Callable[[SecretSourceFactory], None]:
    """The ``main`` function of ``project_dir/__main__.py``, loaded without being run."""
    main_file = project_dir / "__main__.py"
    namespace = runpy.run_path(str(main_file), run_name=PROGRAM_MODULE)
    entry = namespace.get("main")
    if not callable(entry):
        raise ProgramEntryError(
            f"{main_file} defines no main(open_secrets) function for the offline engine to call"
        )
    return entry


def run_stack(project_dir: Path, config: StackConfig, *, preview: bool) -> StackGraph:
    """Run the program of ``project_dir`` for one stack and record its resource graph.

    The program is ``main(open_offline)`` of the project's ``__main__.py``: the real program,
    its secrets placeholders. ``preview=True`` behaves like a first
    ``pulumi preview``: outputs of new resources are unknown and ``apply`` callbacks on them
    do not run. A settings error propagates as :class:`config.SettingsError`
    before any resource is registered.
    """

    def program() -> None:
        program_entry(project_dir)(open_offline)

    with project_on_path(project_dir):
        return run_program(
            program,
            project=config.project,
            stack=config.stack,
            preview=preview,
            config=config.values,
            secret_keys=config.secret_keys,
            region=_region(config),
        )


def _region(config: StackConfig) -> str:
    return str(config.values.get("ttbt2:awsRegion", "eu-west-1"))


def _collect_outputs() -> dict[str, dict[str, Any]]:
    """Resolve the stack's exports: value (masked when secret), secrecy and knownness."""
    root = runtime_settings.get_root_resource()
    exported: dict[str, Any] = getattr(root, "outputs", {}) or {}
    result: dict[str, dict[str, Any]] = {}
    for name, value in exported.items():
        out = pulumi.Output.from_input(value)
        known = _sync_await(out.is_known())
        secret = _sync_await(out.is_secret())
        resolved = _sync_await(out.future()) if known else None
        result[name] = {
            "value": MASK if secret else resolved,
            "secret": bool(secret),
            "known": bool(known),
        }
    return result


@contextmanager
def _no_source_positions() -> Iterator[None]:
    """Skip the SDK's stack walk on every registration (where in the source it was declared).

    The recorder does not keep that position, and the walk is a tenth of a render's time. The
    SDK's own function is put back afterwards.
    """
    sdk_resource = pulumi.runtime.resource
    original = getattr(sdk_resource, "_get_stack_trace", None)
    if original is None:
        # Another SDK version: nothing to skip.
        yield
        return
    sdk_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = original


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger("ttbt2.offline.engine")
    logger.setLevel(logging.ERROR)
    return logger


class project_on_path:  # noqa: N801 - used as a context manager
    """Make the program's own packages importable, as the Pulumi language host does."""

    def __init__(self, project_dir: Path) -> None:
        self.path = str(project_dir.resolve())
        self.cwd = os.getcwd()

    def __enter__(self) -> None:
        sys.path.insert(0, self.path)
        os.chdir(self.path)

    def __exit__(self, *exc: object) -> None:
        os.chdir(self.cwd)
        if self.path in sys.path:
            sys.path.remove(self.path)
