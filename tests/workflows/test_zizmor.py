"""zizmor, the GitHub Actions security linter, finds nothing high and no unpinned action.

zizmor comes from the dev dependency group (PyPI), so it sits next to the interpreter running
the tests. It runs ``--offline``: the audits that need the GitHub API (impostor commits,
known-vulnerable actions) are left out, so the tests need no network and no token.

A finding that is a deliberate design decision carries zizmor's own ignore comment,
``# zizmor: ignore[<audit>]``, with the reason in the comment lines right above it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.test_workflows import ROOT

GITHUB_DIR = ROOT / ".github"
ZIZMOR_VERSION = "1.32.0"
# The gate: any finding at this severity, and an unpinned action at any severity.
GATE_SEVERITY = "High"
ALWAYS_REFUSED = frozenset({"unpinned-uses"})
_IGNORE_COMMENT = "# zizmor: ignore["


def zizmor_binary() -> str:
    """The zizmor of this virtualenv; fails (never skips) when it is not installed."""
    beside = Path(sys.executable).with_name("zizmor")
    found = str(beside) if beside.is_file() else shutil.which("zizmor")
    if found is None:
        pytest.fail("zizmor is not installed: run `make setup` (it is in the dev group)")
    return found


def run_zizmor(*inputs: Path) -> list[dict[str, Any]]:
    """The findings (JSON) of zizmor on ``inputs``, offline; ignored findings are left out."""
    proc = subprocess.run(
        [
            zizmor_binary(),
            "--offline",
            "--no-progress",
            "--no-exit-codes",
            "--format",
            "json",
            *map(str, inputs),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"zizmor failed ({proc.returncode}):\n{proc.stderr}"
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


def refused(findings: list[dict[str, Any]]) -> list[str]:
    """The findings the gate refuses, one line each: ``path:line: [audit] severity: text``."""
    lines = []
    for finding in findings:
        severity = finding["determinations"]["severity"]
        if severity != GATE_SEVERITY and finding["ident"] not in ALWAYS_REFUSED:
            continue
        where = finding["locations"][0]
        path = next(iter(where["symbolic"]["key"].values()))["verbatim_path"]
        row = where["concrete"]["location"]["start_point"]["row"] + 1
        lines.append(f"{path}:{row}: [{finding['ident']}] {severity}: {finding['desc']}")
    return lines


def test_zizmor_pinned_exactly() -> None:
    """The zizmor run is the release pyproject.toml pins (its audits change between releases)."""
    proc = subprocess.run(
        [zizmor_binary(), "--version"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.split() == ["zizmor", ZIZMOR_VERSION]
    assert f'"zizmor=={ZIZMOR_VERSION}"' in (ROOT / "pyproject.toml").read_text()


def test_zizmor_finds_nothing_high_and_no_unpinned_action() -> None:
    """Workflows, actions and the Dependabot file: no high finding, no unpinned ``uses:``."""
    workflows = sorted((GITHUB_DIR / "workflows").glob("*.y*ml"))
    assert workflows, f"no workflows under {GITHUB_DIR}"
    problems = refused(run_zizmor(GITHUB_DIR))
    assert not problems, "zizmor findings:\n" + "\n".join(problems)


_INJECTED_AND_UNPINNED = """\
on:
  issues:
    types: [opened]
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: echo "${{ github.event.issue.title }}"
"""


def test_zizmor_gate_refuses_tags_and_high_findings(tmp_path: Path) -> None:
    """The gate can fail: a tag-pinned action and an injected issue title are both refused."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(_INJECTED_AND_UNPINNED)
    problems = refused(run_zizmor(tmp_path / ".github"))
    assert any("[unpinned-uses]" in p and "bad.yml:9:" in p for p in problems), problems
    assert any("[template-injection] High" in p and "bad.yml:12:" in p for p in problems)


def ignores_without_reason(name: str, text: str) -> list[str]:
    """Each ``# zizmor: ignore[...]`` line not right under a comment line saying why."""
    lines = text.splitlines()
    bare = []
    for index, line in enumerate(lines):
        above = lines[index - 1].strip() if index else ""
        if _IGNORE_COMMENT in line and not (above.startswith("#") and _IGNORE_COMMENT not in above):
            bare.append(f"{name}:{index + 1}: say why in a comment line above the ignore")
    return bare


def test_every_ignore_comment_gives_its_reason() -> None:
    """The ignores in the repository each come with their reason."""
    bare = [
        problem
        for path in sorted(GITHUB_DIR.rglob("*.y*ml"))
        for problem in ignores_without_reason(str(path.relative_to(ROOT)), path.read_text())
    ]
    assert not bare, "\n".join(bare)


def test_ignore_without_reason_is_refused() -> None:
    """The reason check can fail: a bare ignore, or one under another ignore, is refused."""
    text = (
        "steps:\n"
        "  - uses: x # zizmor: ignore[artipacked]\n"
        "  # Pushes with these credentials.\n"
        "  - uses: y # zizmor: ignore[artipacked]\n"
        "  - uses: z # zizmor: ignore[artipacked]\n"
    )
    assert ignores_without_reason("t.yml", text) == [
        "t.yml:2: say why in a comment line above the ignore",
        "t.yml:5: say why in a comment line above the ignore",
    ]
