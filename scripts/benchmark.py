"""Wall time and peak memory of the offline preview, against the floor of importing its modules.

Every figure is a fresh child process, run ``--repeat`` times (best time shown: other work on
the machine only ever adds time). Printed, as Markdown tables (docs/performance.md keeps them):

- the import floor: a fresh ``python`` importing exactly the third-party modules the preview
  loads (recorded from a sequential preview in this same run), and each preview's ratio to it;
- the preview per stack and of every stack, forked side by side (the default) and in one
  process (``--jobs 1``);
- scale: prod as committed and prod with 50 and 100 generated services (stack files written
  to a temporary folder, nothing in the repo), with each point's resources, seconds, ms per
  resource and peak memory, and the marginal ms per resource between the points;
- the test suite, unless ``--skip-tests``.

Peak memory is the most the whole process tree held at once: the sum of the proportional set
size (PSS: shared pages split between the processes sharing them) of the command and its
children, sampled every 50 ms. Usage: ``python scripts/benchmark.py [--repeat N] [--skip-...]``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.stackfile import list_stacks  # noqa: E402

PYTHON = sys.executable
PREVIEW = [PYTHON, "-m", "offline", "preview"]
SCALE_SERVICES = (50, 100)
"""Declared services of the generated prod stacks (the first point is prod as committed)."""

# Runs a sequential preview of every stack, then writes the modules it loaded: name and
# whether it was really executed (the SDKs register submodules lazily, as placeholders).
_RECORD_MODULES = """
import io, json, sys
from types import ModuleType
from offline.cli import main
code = main(["preview", "--jobs", "1"], out=io.StringIO())
loaded = {}
for name, module in list(sys.modules.items()):
    if not isinstance(module, ModuleType):  # typing.io and the like are classes
        continue
    # Read through ModuleType: a lazy placeholder loads itself on reads through its own class.
    lazy = type(module).__name__ == "_LazyModule"
    file = ModuleType.__getattribute__(module, "__dict__").get("__file__") or ""
    if "site-packages" in str(file):
        loaded[name] = not lazy
with open(sys.argv[1], "w") as fh:
    json.dump(loaded, fh)
sys.exit(code)
"""

# Imports the recorded modules in a fresh process; a module the preview executed is executed
# here too (reading any attribute of a lazy placeholder loads it).
_IMPORT_MODULES = """
import importlib, json, sys
loaded = json.load(open(sys.argv[1]))
imported = 0
for name in sorted(loaded):
    try:
        module = importlib.import_module(name)
        if loaded[name]:
            hasattr(module, "__benchmark_probe__")
        imported += 1
    except Exception:
        pass
print(f"imported {imported} of {len(loaded)} modules")
"""


@dataclass(frozen=True)
class Measurement:
    """One run of a command."""

    seconds: float
    cpu_seconds: float
    """User and system time of the command and every child it waited for."""
    peak_mib: float
    """Most memory the process tree held at once (sum of PSS, sampled; see the module doc)."""
    exit_code: int
    output: str = ""


def measure(argv: Sequence[str], *, interval: float = 0.05) -> Measurement:
    """Run ``argv`` from the repository root; return its time, memory and exit status."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        peak_kib = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak_kib = max(peak_kib, tree_memory_kib(proc.pid))
            time.sleep(interval)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    # The largest single process (ru_maxrss, KiB on Linux) bounds the peak from below, for runs
    # too short to sample.
    peak_kib = max(peak_kib, int(usage.ru_maxrss))
    return Measurement(
        seconds, usage.ru_utime + usage.ru_stime, peak_kib / 1024, proc.returncode, text
    )


def tree_memory_kib(pid: int) -> int:
    """Sum of the PSS (else RSS) of ``pid`` and its descendants, in KiB; 0 where unreadable."""
    total = 0
    for member in process_tree(pid):
        total += _memory_kib(member)
    return total


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, read from /proc (Linux); just ``pid`` elsewhere."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


def _memory_kib(pid: int) -> int:
    for path, field in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(field):
                    return int(line.split()[1])
        except (OSError, ValueError):
            continue
    return 0


def best(runs: Iterable[Measurement]) -> Measurement:
    """The fastest run, with the highest peak memory of all runs (the conservative figure)."""
    items = list(runs)
    fastest = min(items, key=lambda m: m.seconds)
    return Measurement(
        fastest.seconds,
        fastest.cpu_seconds,
        max(m.peak_mib for m in items),
        fastest.exit_code,
        fastest.output,
    )


def repeat(argv: Sequence[str], times: int) -> Measurement:
    """:func:`best` of ``times`` runs of ``argv``."""
    return best(measure(argv) for _ in range(max(1, times)))


# --- the import floor -----------------------------------------------------------------------


def record_modules(path: Path) -> Measurement:
    """Run a sequential preview of every stack, writing the modules it loaded to ``path``."""
    return measure([PYTHON, "-c", _RECORD_MODULES, str(path)])


def floor_command(modules_file: Path) -> list[str]:
    """The command that imports, in a fresh process, the modules listed in ``modules_file``."""
    return [PYTHON, "-c", _IMPORT_MODULES, str(modules_file)]


# --- scale ----------------------------------------------------------------------------------


def generated_service(index: int) -> dict[str, Any]:
    """A service valid in prod: image by digest, its own paths, a canary plan under the limit.

    It is prod's own ``api`` entry with a new name, image, paths and permission.
    """
    prod = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    entry = copy.deepcopy(prod["ttbt2:services"][0])
    name = f"svc{index:03d}"
    digest = hashlib.sha256(name.encode()).hexdigest()
    entry.update(
        name=name,
        image=f"210987654321.dkr.ecr.eu-west-1.amazonaws.com/ttbt2/{name}@sha256:{digest}",
        publicPaths=[f"/{name}"],
        healthPath=f"/{name}/healthz",
        awsPermissions=[
            {
                "actions": ["s3:GetObject"],
                "resources": [f"arn:aws:s3:::ttbt2-prod-user-data-*/{name}/*"],
            }
        ],
    )
    return entry


def scaled_prod_file(services: int, folder: Path) -> Path:
    """Write prod's stack file with ``services`` generated services to ``folder``; its path."""
    doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    generated = [generated_service(i) for i in range(services)]
    doc["config"]["ttbt2:services"] = generated
    # The cache's clients name services: the generated ones stand in for prod's api.
    if "ttbt2:cacheClients" in doc["config"]:
        doc["config"]["ttbt2:cacheClients"] = [generated[0]["name"]]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


_RESOURCES = re.compile(r"^Resources: \+ (\d+) to create", re.MULTILINE)


def resources_in(output: str) -> int:
    """Resources a one-stack preview registered (its ``Resources:`` line counts the stack too)."""
    match = _RESOURCES.search(output)
    if match is None:
        raise ValueError("the preview printed no 'Resources: + N to create' line")
    return int(match.group(1)) - 1


@dataclass(frozen=True)
class ScalePoint:
    """One stack size: what it is, resources registered, and the preview's figures."""

    label: str
    resources: int
    run: Measurement

    @property
    def ms_per_resource(self) -> float:
        """Wall time per registered resource."""
        return 1000 * self.run.seconds / self.resources


def marginal_ms(a: ScalePoint, b: ScalePoint, *, cpu: bool = False) -> float:
    """Extra wall (or CPU) milliseconds per extra resource from ``a`` to ``b``."""
    spent = (b.run.cpu_seconds - a.run.cpu_seconds) if cpu else (b.run.seconds - a.run.seconds)
    return 1000 * spent / (b.resources - a.resources)


def scale_table(points: Sequence[ScalePoint]) -> list[str]:
    """The scale points and the marginal cost between consecutive ones, as Markdown."""
    lines = [
        "| prod | resources | wall (s) | CPU (s) | ms/resource | peak (MiB) | exit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        lines.append(
            f"| {p.label} | {p.resources} | {p.run.seconds:.2f} | {p.run.cpu_seconds:.2f} | "
            f"{p.ms_per_resource:.2f} | {p.run.peak_mib:.0f} | {p.run.exit_code} |"
        )
    slopes = [
        f"{a.resources}->{b.resources} resources: {marginal_ms(a, b):.2f} ms/resource "
        f"({marginal_ms(a, b, cpu=True):.2f} ms of CPU)"
        for a, b in itertools.pairwise(points)
    ]
    if slopes:
        lines += ["", "marginal cost: " + "; ".join(slopes)]
    return lines


# --- main -----------------------------------------------------------------------------------


def row(label: str, m: Measurement, floor: Measurement | None = None) -> str:
    """One Markdown row: wall, CPU, peak, ratio to the floor, exit status."""
    ratio = f"{m.seconds / floor.seconds:.2f}" if floor is not None and floor.seconds else "-"
    return (
        f"| {label} | {m.seconds:.2f} | {m.cpu_seconds:.2f} | {m.peak_mib:.0f} | {ratio} | "
        f"{m.exit_code} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", action="append", default=[], help="only these stacks")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best shown)")
    parser.add_argument("--skip-tests", action="store_true", help="do not run the test suite")
    parser.add_argument("--skip-floor", action="store_true", help="do not measure the floor")
    parser.add_argument("--skip-scale", action="store_true", help="do not measure scale")
    args = parser.parse_args(argv)
    stacks = args.stack or list_stacks(ROOT)
    print(f"machine: {len(os.sched_getaffinity(0))} cores, Python {sys.version.split()[0]}; ")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    floor: Measurement | None = None
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_floor:
            modules = Path(tmp) / "modules.json"
            sequential = best(record_modules(modules) for _ in range(max(1, args.repeat)))
            if not modules.exists():
                print(sequential.output, file=sys.stderr)
                raise SystemExit("recording the modules the preview loads failed")
            floor = repeat(floor_command(modules), args.repeat)
            count = len(json.loads(modules.read_text()))
            rows.append(row(f"import floor ({count} third-party modules)", floor))
            rows.append(
                row("offline preview --jobs 1 (all stacks, one process)", sequential, floor)
            )
        for stack in stacks:
            rows.append(
                row(
                    f"offline preview --stack {stack}",
                    repeat([*PREVIEW, "--stack", stack], args.repeat),
                    floor,
                )
            )
        if not args.stack:
            rows.append(row("offline preview (all stacks)", repeat(PREVIEW, args.repeat), floor))
        if not args.skip_tests:
            # The test suite runs once: it takes long and varies little.
            tests = measure([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
            rows.append(row("test suite (pytest, no coverage)", tests))
        print("| what | wall (s, best) | CPU (s) | peak (MiB) | x floor | exit |")
        print("|---|---:|---:|---:|---:|---:|")
        print("\n".join(rows))
        if not args.skip_scale:
            committed = len(
                yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]["ttbt2:services"]
            )
            files = [(f"as committed ({committed} services)", ROOT / "Pulumi.prod.yaml")]
            files += [
                (f"{n} services", scaled_prod_file(n, Path(tmp) / f"prod-{n}"))
                for n in SCALE_SERVICES
            ]
            points = []
            for label, path in files:
                run = repeat([*PREVIEW, "--config-file", str(path)], args.repeat)
                points.append(ScalePoint(label, resources_in(run.output), run))
            print()
            print("\n".join(scale_table(points)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
