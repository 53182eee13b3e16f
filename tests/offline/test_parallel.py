"""The forked runner and the parallel preview: same results as one by one, failures reported."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline import cli
from offline.cli import EXIT_PROGRAM, EXIT_USAGE, main
from offline.parallel import CHILD_CRASHED, Outcome, fork_map
from tests.support.stacks import StackRenders

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forking needs POSIX")


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    """Fail, rather than hang the suite, if a run never returns."""

    def stop(*_: object) -> None:
        raise TimeoutError("the forked run did not finish in 120 s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(120)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _square_in_child(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_results_come_back_in_order_from_other_processes() -> None:
    outcomes = fork_map(_square_in_child, list(range(7)), workers=2)
    assert [o.value[0] for o in outcomes if o.value] == [n * n for n in range(7)]
    assert all(o.ok and o.status == 0 for o in outcomes)
    assert os.getpid() not in {o.value[1] for o in outcomes if o.value}


def test_a_result_larger_than_a_pipe_buffer_arrives_whole() -> None:
    def big(n: int) -> str:
        return str(n) * (3 << 20)

    outcomes = fork_map(big, [1, 2, 3], workers=3)
    assert [o.value for o in outcomes] == [str(n) * (3 << 20) for n in (1, 2, 3)]


def _failing(n: int) -> int:
    if n == 1:
        sys.exit(2)
    if n == 2:
        raise ValueError("the job failed")
    if n == 3:
        os._exit(3)
    if n == 4:
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def test_failing_children_report_their_exit_status_and_the_others_finish(
    capfd: pytest.CaptureFixture[str],
) -> None:
    outcomes = fork_map(_failing, [0, 1, 2, 3, 4, 5], workers=2)
    assert [o.status for o in outcomes] == [0, 2, CHILD_CRASHED, 3, -signal.SIGKILL, 0]
    assert [o.value for o in outcomes] == [0, None, None, None, None, 5]
    # The job that raised printed its traceback, as an uncaught exception does.
    assert "ValueError: the job failed" in capfd.readouterr().err


def test_outcome_ok_is_about_the_status() -> None:
    assert Outcome(1).ok and not Outcome(None, 2).ok


def _tree_as_rows(text: str) -> list[object]:
    """The report with the resource tree as a sorted list of rows.

    The SDK registers resources from worker threads, so their order (not their place in the
    tree) varies from run to run.
    """
    lines: list[object] = []
    tree: list[str] = []
    for line in text.splitlines():
        if line.startswith(" +   "):
            tree.append(line.translate(str.maketrans("├└│─", "    ")))
            continue
        if tree:
            lines.append(sorted(tree))
            tree = []
        lines.append(line)
    return lines


def _by_urn(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "resources": {r["urn"]: r for r in doc["resources"]}}


def test_parallel_preview_prints_and_writes_what_the_sequential_one_does(
    tmp_path: Path, stacks: StackRenders, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts, graphs = [], []
    for jobs in ("1", "2"):
        out = io.StringIO()
        folder = tmp_path / jobs
        with monkeypatch.context() as patch:
            if jobs == "1":
                # In this process the session's renders are what run_stack would return; the
                # forked children render for themselves.
                patch.setattr(cli, "run_stack", stacks.run_stack)
                patch.setattr(cli, "evaluate", stacks.evaluate)
            code = main(
                ["preview", "--stack", "dev", "--jobs", jobs, "--json-dir", str(folder)], out
            )
        assert code == 0, out.getvalue()
        texts.append(out.getvalue())
        graphs.append(json.loads((folder / "dev.json").read_text()))
    assert _tree_as_rows(texts[0]) == _tree_as_rows(texts[1])
    assert _by_urn(graphs[0]) == _by_urn(graphs[1])
    assert len(graphs[0]["resources"]) > 100


@pytest.mark.parametrize("status", [EXIT_USAGE, EXIT_PROGRAM])
def test_a_child_that_exits_fails_its_stack_with_that_status(
    monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    def dies(_project: Path, _stack: str, _config: Path | None, preview: bool) -> None:
        if preview:
            os._exit(status)
        sys.exit(0)

    monkeypatch.setattr(cli, "run_mode", dies)
    out = io.StringIO()
    assert main(["preview", "--stack", "dev", "--jobs", "2"], out) == status
    text = out.getvalue()
    assert f"error: the preview-mode run of stack 'dev' exited with status {status}" in text
    assert "stacks: dev " in text


def test_a_child_killed_by_a_signal_is_a_program_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(*_args: object, **_kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(cli, "run_mode", killed)
    out = io.StringIO()
    assert main(["preview", "--stack", "dev", "--jobs", "2"], out) == EXIT_PROGRAM
    assert "run of stack 'dev' was killed by signal 9" in out.getvalue()


def test_jobs_must_be_a_positive_number(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["preview", "--jobs", "0"])
    assert exc.value.code == EXIT_USAGE
    assert "--jobs: must be a whole number of at least 1, got '0'" in capsys.readouterr().err
