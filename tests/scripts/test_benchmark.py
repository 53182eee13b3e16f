"""The benchmark's pieces: measuring a command, the import floor, the generated prod stacks.

No timing is asserted: the script prints figures, these tests check what it measures and how.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.delivery.spec import parse_services
from config import from_config_values
from offline.stackfile import load_stack, stack_from_filename
from scripts import benchmark
from scripts.benchmark import (
    Measurement,
    ScalePoint,
    best,
    floor_command,
    generated_service,
    main,
    marginal_ms,
    measure,
    process_tree,
    resources_in,
    scale_table,
    scaled_prod_file,
    tree_memory_kib,
)
from tests.conftest import ROOT


def test_measure_reports_time_memory_output_and_status() -> None:
    run = measure([sys.executable, "-c", "x = bytearray(64 * 2**20); print('done')"])
    assert run.seconds > 0 and run.cpu_seconds >= 0
    assert run.peak_mib >= 64
    assert run.exit_code == 0 and "done" in run.output
    assert measure([sys.executable, "-c", "raise SystemExit(3)"]).exit_code == 3


def test_peak_memory_counts_the_children_a_command_forks() -> None:
    # Two processes that each hold 64 MiB of their own at the same time: more than either.
    script = (
        "import os, time\n"
        "pid = os.fork()\n"
        "x = bytearray(64 * 2**20)\n"
        "x[::4096] = b'1' * len(x[::4096])\n"
        "time.sleep(1.0)\n"
        "os._exit(0) if pid == 0 else os.waitpid(pid, 0)\n"
    )
    assert measure([sys.executable, "-c", script]).peak_mib >= 128


def test_process_tree_and_its_memory() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert {os.getpid(), child.pid} <= set(process_tree(os.getpid()))
        assert tree_memory_kib(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()


def test_best_is_the_fastest_run_with_the_highest_peak() -> None:
    runs = [Measurement(3.0, 2.0, 100, 0), Measurement(2.0, 1.5, 90, 0), Measurement(4, 3, 120, 1)]
    assert best(runs) == Measurement(2.0, 1.5, 120, 0)


def test_the_floor_imports_the_listed_modules(tmp_path: Path) -> None:
    listed = tmp_path / "modules.json"
    listed.write_text(json.dumps({"json": True, "xml.dom.minidom": True, "no_such_mod": False}))
    run = measure(floor_command(listed))
    assert run.exit_code == 0
    assert "imported 2 of 3 modules" in run.output


def test_generated_services_are_valid_prod_services() -> None:
    entries = [generated_service(i) for i in range(60)]
    specs = parse_services("prod", entries)
    assert len({s.name for s in specs}) == 60
    assert all("@sha256:" in s.image for s in specs)


def test_a_scaled_prod_file_is_a_valid_prod_stack(tmp_path: Path) -> None:
    path = scaled_prod_file(5, tmp_path)
    assert stack_from_filename(path) == "prod"
    config = load_stack(ROOT, "prod", path)
    settings = from_config_values("prod", config.values)
    assert [s.name for s in settings.delivery.services] == [f"svc{i:03d}" for i in range(5)]
    assert not list(Path(ROOT).glob("Pulumi.prod-*.yaml"))


def test_resources_are_read_from_the_preview_output() -> None:
    assert resources_in("x\nResources: + 445 to create (offline)\n") == 444
    with pytest.raises(ValueError, match="Resources"):
        resources_in("no such line")


def test_scale_table_gives_each_point_and_the_marginal_cost_between_them() -> None:
    points = [
        ScalePoint("base", 400, Measurement(10.0, 12.0, 500, 0)),
        ScalePoint("50 services", 1400, Measurement(16.0, 20.0, 700, 0)),
        ScalePoint("100 services", 2400, Measurement(23.0, 29.0, 900, 0)),
    ]
    assert marginal_ms(points[0], points[1]) == pytest.approx(6.0)
    assert marginal_ms(points[1], points[2]) == pytest.approx(7.0)
    assert marginal_ms(points[1], points[2], cpu=True) == pytest.approx(9.0)
    table = scale_table(points)
    assert "| 50 services | 1400 | 16.00 | 20.00 | 11.43 | 700 | 0 |" in table
    assert table[-1] == (
        "marginal cost: 400->1400 resources: 6.00 ms/resource (8.00 ms of CPU); "
        "1400->2400 resources: 7.00 ms/resource (9.00 ms of CPU)"
    )


def test_the_preview_measured_is_the_offline_preview_of_this_interpreter() -> None:
    assert [sys.executable, "-m", "offline", "preview"] == benchmark.PREVIEW


def test_main_prints_one_row_per_measurement(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real measure() runs a real process; a stand-in for the preview keeps this test to the
    # table's logic (make bench runs the preview itself).
    monkeypatch.setattr(benchmark, "PREVIEW", [sys.executable, "-c", "print('preview')"])
    argv = ["--skip-tests", "--skip-floor", "--skip-scale", "--repeat", "1", "--stack", "dev"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "--stack dev" in line)
    assert row.startswith("| offline preview --stack dev |")
    assert row.rstrip().endswith("| 0 |")
