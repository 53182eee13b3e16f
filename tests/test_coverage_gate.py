"""The platform's own coverage gate: strictly above 95 % (seed 4.3), one threshold, in pyproject.

coverage.py (through pytest-cov) fails when ``round(total, p) < fail_under``; these tests feed
its own verdict function the configured values, so they say what ``make test`` will do.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from coverage.results import should_fail_under

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report_config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    report: dict[str, Any] = config["tool"]["coverage"]["report"]
    return report


@pytest.mark.parametrize(
    ("total", "fails"),
    [
        (94.99, True),
        (95.0, True),  # exactly 95 % is not above it
        (95.004, True),  # rounds to 95.00: the margin the rounding costs
        (95.01, False),
        (96.9, False),
        (100.0, False),
    ],
)
def test_the_gate_refuses_95_and_below(
    report_config: dict[str, Any], total: float, fails: bool
) -> None:
    assert should_fail_under(total, report_config["fail_under"], report_config["precision"]) is (
        fails
    )


def test_the_makefile_sets_no_threshold_of_its_own() -> None:
    """``make test`` runs ``pytest --cov``; a --cov-fail-under there would override pyproject."""
    makefile = (ROOT / "Makefile").read_text()
    (recipe,) = re.findall(r"^test: .*\n\t(.+)$", makefile, flags=re.MULTILINE)
    assert "--cov " in recipe + " "
    assert "--cov-fail-under" not in makefile


def test_the_readme_says_above_95() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "coverage gate > 95 %" in readme and ">= 95" not in readme
