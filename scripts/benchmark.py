"""Wall time and peak memory of the offline preview per stack and of the test suite.

Each measurement runs in a fresh child process, so its peak resident memory is its own
(``getrusage(RUSAGE_CHILDREN)`` after the child exits). Prints a Markdown table; the figures in
docs/performance.md come from this script. Usage: ``python scripts/benchmark.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.stackfile import list_stacks  # noqa: E402


def measure(argv: list[str]) -> tuple[float, float, int]:
    """Run ``argv`` in a child; return (seconds, peak RSS in MiB, exit status)."""
    start = time.perf_counter()
    # A wrapper process runs the command and reports its own RUSAGE_CHILDREN, so the peak is
    # this command's alone, not the largest of every command this script has run.
    wrapper = [
        sys.executable,
        "-c",
        "import resource, subprocess, sys;"
        "code = subprocess.call(sys.argv[1:]);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
        "sys.exit(code)",
        *argv,
    ]
    proc = subprocess.run(wrapper, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    peak_kib = int(proc.stderr.strip().splitlines()[-1])
    return seconds, peak_kib / 1024, proc.returncode


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", action="append", default=[], help="only these stacks")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median shown)")
    parser.add_argument("--skip-tests", action="store_true", help="measure the previews only")
    args = parser.parse_args(argv)
    stacks = args.stack or list_stacks(ROOT)
    rows: list[tuple[str, float, float, int]] = []
    targets = [
        (f"offline preview --stack {s}", [sys.executable, "-m", "offline", "preview", "--stack", s])
        for s in stacks
    ]
    if not args.stack:
        targets.append(
            ("offline preview (all stacks)", [sys.executable, "-m", "offline", "preview"])
        )
    if not args.skip_tests:
        targets.append(
            (
                "test suite (pytest, no coverage)",
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            )
        )
    for label, command in targets:
        # The test suite runs once: it takes long and varies little.
        repeat = 1 if "pytest" in command else args.repeat
        runs = [measure(command) for _ in range(repeat)]
        rows.append(
            (label, statistics.median(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2])
        )
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("| what | wall time (s, median) | peak RSS (MiB) | exit |")
    print("|---|---:|---:|---:|")
    for label, seconds, peak, code in rows:
        print(f"| {label} | {seconds:.2f} | {peak:.0f} | {code} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
