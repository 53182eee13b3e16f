"""The benchmark script measures a child process and prints its table."""

from __future__ import annotations

import sys

import pytest

from scripts.benchmark import main, measure


def test_measure_reports_time_memory_and_status() -> None:
    seconds, peak_mib, code = measure([sys.executable, "-c", "x = bytearray(64 * 2**20)"])
    assert seconds > 0
    assert peak_mib >= 64
    assert code == 0
    assert measure([sys.executable, "-c", "raise SystemExit(3)"])[2] == 3


def test_main_prints_one_row_per_measurement(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--skip-tests", "--repeat", "1", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "| offline preview --stack dev |" in out
    row = next(line for line in out.splitlines() if "--stack dev" in line)
    assert row.rstrip().endswith("| 0 |")
