"""The offline engine's commands: ``preview``, ``render``, ``check``, ``check-gitops``, ``diff``.

Exit status: 0 clean, 1 at least one mandatory policy violation (or a policy that crashed),
2 bad configuration, bad usage or unreadable input, 3 the program itself failed (a bug).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from pulumi_policy import Policy

from config import Settings, SettingsError, from_config_values
from offline.cost import diff_costs, estimate_cost
from offline.cost_report import budget_line, format_cost, format_cost_diff
from offline.diff import diff_graphs
from offline.diff_report import render_diff
from offline.engine import run_stack
from offline.evaluate import Finding, evaluate
from offline.gitops import GitOpsInputError, check_gitops, render_gitops
from offline.graph import GraphFileError, StackGraph, load_graph, mask_secrets
from offline.parallel import can_fork, default_workers, fork_map
from offline.prices import PriceTableError, load_price_table
from offline.region_loss import DR_ACTIVE_KEY, estimate_region_loss, format_region_loss
from offline.render import render
from offline.report import (
    counts,
    monitoring,
    outputs,
    placeholders,
    policy_report,
    services,
    summary,
    tree,
)
from offline.rto import RtoEstimate, RtoGraphError, estimate_rto, format_rto
from offline.secrets_audit import audit
from offline.stackfile import (
    StackConfig,
    StackFileError,
    list_stacks,
    load_stack,
    stack_from_filename,
)
from offline.warmup import warm_up

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_PROGRAM = 0, 1, 2, 3
PROJECT_DIR = Path(__file__).resolve().parent.parent


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage already; this keeps its message to one clear line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m offline`` argument parser."""
    parser = _Parser(prog="python -m offline", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prev = sub.add_parser(
        "preview", help="render stacks on the mock engine and run the policy pack"
    )
    prev.add_argument(
        "--stack",
        action="append",
        default=[],
        metavar="NAME",
        help="stack to render (repeatable; default: every stack)",
    )
    prev.add_argument(
        "--config-file",
        type=Path,
        metavar="PATH",
        help="render a Pulumi.<name>.yaml that is not in the repo",
    )
    prev.add_argument(
        "--json",
        type=Path,
        metavar="OUT",
        help="write the resource graph (one stack: this file; several: OUT/<stack>.json)",
    )
    prev.add_argument(
        "--json-dir", type=Path, metavar="DIR", help="write each stack's graph to DIR/<stack>.json"
    )
    prev.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="renders run side by side in N processes (default: one per core; 1: in this one)",
    )
    prev.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    ren = sub.add_parser("render", help="write a stack's rules, configs, dashboards and manifests")
    ren.add_argument("--stack", metavar="NAME", help="stack to render (or give --config-file)")
    ren.add_argument("--config-file", type=Path, metavar="PATH", help="a Pulumi.<name>.yaml")
    ren.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write")
    ren.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    chk = sub.add_parser("check", help="evaluate the policy pack on a resource-graph JSON file")
    chk.add_argument("file", type=Path, metavar="FILE.json")
    chk.add_argument(
        "--stack", metavar="NAME", help="stack name, if the file has none or to override it"
    )
    git = sub.add_parser(
        "check-gitops",
        help="judge a checkout of the application configuration repository (or a render)",
    )
    git.add_argument("dir", type=Path, metavar="DIR", help="checkout root, or a render's --out")
    git.add_argument("--stack", required=True, metavar="NAME", help="the environment's stack")
    git.add_argument("--config-file", type=Path, metavar="PATH", help="a Pulumi.<name>.yaml")
    git.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    dif = sub.add_parser(
        "diff", help="what `pulumi preview --diff` would change between two resource-graph files"
    )
    dif.add_argument("base", type=Path, metavar="BASE.json")
    dif.add_argument("head", type=Path, metavar="HEAD.json")
    dif.add_argument(
        "--stack", metavar="NAME", help="stack name, if the files have none or to override it"
    )
    dif.add_argument("--json", type=Path, metavar="OUT", help="also write the diff as JSON to OUT")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


@dataclass
class StackResult:
    """The outcome of one stack: its graph and findings, or the error that stopped it."""

    stack: str
    graph: StackGraph | None = None
    findings: list[Finding] = field(default_factory=list)
    preview_notes: int = 0
    exit_code: int = EXIT_OK


def _pack() -> tuple[str, list[Policy]]:
    from policies.ttbt2_policies import ALL_POLICIES, PACK_NAME

    return PACK_NAME, list(ALL_POLICIES)


def check_graph(graph: StackGraph, policies: list[Policy]) -> list[Finding]:
    """The policy pack's findings plus the engine's own plaintext-secret audit."""
    return evaluate(graph, policies) + audit(graph)


@dataclass
class ModeRun:
    """One run of the program for one stack in one mode, with its policy findings.

    Preview mode keeps only what the report prints of it (resource count and preview notes);
    update mode keeps the graph. ``error`` is the text printed instead of the report when the
    run stopped, with ``exit_code`` saying why.
    """

    stack: str
    preview: bool
    config: StackConfig | None = None
    graph: StackGraph | None = None
    resources: int = 0
    findings: list[Finding] = field(default_factory=list)
    error: str = ""
    exit_code: int = EXIT_OK
    dr_counterpart: StackGraph | None = None
    """Update mode, stacks with a DR region: the graph with ``ttbt2:drActive`` the other way."""
    dr_counterpart_error: str = ""
    """Why that graph could not be rendered (the DR region could not be made active)."""


def run_mode(project_dir: Path, stack: str, config_path: Path | None, preview: bool) -> ModeRun:
    """Render one stack in one mode and evaluate the policies on it.

    Policies are enforced on the update-mode run, where the mocks return realistic values, as
    ``pulumi up`` enforces them; of the preview-mode run only the preview notes count.
    """
    run = ModeRun(stack, preview)
    try:
        run.config = load_stack(project_dir, stack, config_path)
        graph = run_stack(project_dir, run.config, preview=preview)
    except (StackFileError, SettingsError) as exc:
        run.error, run.exit_code = f"error: {exc}", EXIT_USAGE
        return run
    except Exception:  # noqa: BLE001 - a crash of the program is reported with its traceback
        run.error = f"error: the program failed for stack '{stack}':\n{traceback.format_exc()}"
        run.exit_code = EXIT_PROGRAM
        return run
    _, policies = _pack()
    run.resources = len(graph.resources)
    if preview:
        run.findings = [f for f in evaluate(graph, policies) if f.kind == "note"]
    else:
        run.graph = graph
        run.findings = check_graph(graph, policies)
        _render_dr_counterpart(project_dir, run)
    return run


def _render_dr_counterpart(project_dir: Path, run: ModeRun) -> None:
    """Render ``run``'s stack with ``ttbt2:drActive`` flipped, for the region-loss RTO.

    Only stacks with a DR region (not drills) have one; a failure to render is kept as the
    reason the region-loss RTO cannot be estimated.
    """
    assert run.config is not None
    settings = _settings(run.stack, run.config.values)
    if not settings.network.dr_region or settings.identity.drill:
        return
    flipped = "false" if settings.recovery.dr_active else "true"
    config = replace(run.config, values={**run.config.values, DR_ACTIVE_KEY: flipped})
    try:
        run.dr_counterpart = run_stack(project_dir, config, preview=False)
    except SettingsError as exc:
        run.dr_counterpart_error = f"with {DR_ACTIVE_KEY}: {flipped}: {exc}"
    except Exception:  # noqa: BLE001 - a crash of the program is reported with its traceback
        run.dr_counterpart_error = (
            f"with {DR_ACTIVE_KEY}: {flipped} the program failed:\n{traceback.format_exc()}"
        )


def preview_stack(
    project_dir: Path, stack: str, config_path: Path | None, out: TextIO
) -> StackResult:
    """Render one stack in preview mode and in update mode, then evaluate the policies.

    The preview-mode run (outputs of new resources unknown) proves the program does not depend
    on values a first ``pulumi preview`` cannot know; the policies are enforced on the
    update-mode run, where the mocks return realistic values, as ``pulumi up`` enforces them.
    """
    preview_run = run_mode(project_dir, stack, config_path, preview=True)
    if preview_run.exit_code != EXIT_OK:
        return report_stack(preview_run, preview_run, out)
    return report_stack(preview_run, run_mode(project_dir, stack, config_path, False), out)


def report_stack(preview_run: ModeRun, update_run: ModeRun, out: TextIO) -> StackResult:
    """Print one stack's report from its two runs, or the error that stopped the first."""
    stack = update_run.stack
    result = StackResult(stack)
    for run in (preview_run, update_run):
        if run.exit_code != EXIT_OK:
            print(run.error, file=out)
            result.exit_code = run.exit_code
            return result
    config, graph = update_run.config, update_run.graph
    assert config is not None and graph is not None
    pack, _ = _pack()
    result.graph = graph
    result.findings = update_run.findings
    result.preview_notes = len(preview_run.findings)
    print(f"Previewing stack '{stack}' offline (mock engine, {config.path.name})", file=out)
    print("", file=out)
    for block in (tree(graph), counts(graph), outputs(graph)):
        print("\n".join(block), file=out)
        print("", file=out)
    watch = monitoring(graph)
    if watch:
        print("\n".join(watch), file=out)
        print("", file=out)
    settings = _settings(stack, config.values)
    block = services(settings.delivery.services)
    if block:
        print("\n".join(block), file=out)
        print("", file=out)
    try:
        rto = _rto(settings, graph)
    except RtoGraphError as exc:
        print(f"error: {exc}", file=out)
        result.exit_code = EXIT_PROGRAM
        return result
    if rto is not None:
        print("\n".join(format_rto(rto)), file=out)
        if (failure := rto.failure()) is not None:
            print(f"error: {failure}", file=out)
        print("", file=out)
    try:
        region_loss_ok = _report_region_loss(settings, update_run, graph, out)
    except RtoGraphError as exc:
        print(f"error: {exc}", file=out)
        result.exit_code = EXIT_PROGRAM
        return result
    try:
        estimate = estimate_cost(graph, load_price_table())
        lines = format_cost(estimate)
        lines.append(budget_line(estimate, float(settings.cost.monthly_budget_usd)))
        print("\n".join(lines), file=out)
    except PriceTableError as exc:
        print(f"error: {exc}", file=out)
        result.exit_code = EXIT_USAGE
        return result
    print("", file=out)
    held = placeholders(graph, config.placeholders)
    if held:
        print("\n".join(held), file=out)
        print("", file=out)
    print("\n".join(policy_report(pack, result.findings, graph)), file=out)
    print(summary(result.findings), file=out)
    print(
        f"preview mode: {preview_run.resources} resources registered with unknown outputs; "
        f"{result.preview_notes} policy checks wait for values known only after apply",
        file=out,
    )
    print("", file=out)
    if (
        any(f.blocking for f in result.findings)
        or (rto is not None and not rto.within_objective)
        or not region_loss_ok
    ):
        result.exit_code = EXIT_VIOLATION
    return result


def preview_parallel(
    project_dir: Path, stacks: list[str], config_path: Path | None, out: TextIO, *, jobs: int
) -> list[StackResult]:
    """:func:`preview_stack` for every stack, the runs forked ``jobs`` at a time.

    The provider SDKs and the policy pack are imported once, here, before forking; each child
    renders one stack in one mode. The report is the same, stack by stack, as run one by one.
    """
    warm_up(project_dir)
    _pack()
    # Update-mode runs first: they take longest (outputs computed, every policy enforced).
    tasks = [(stack, False) for stack in stacks] + [(stack, True) for stack in stacks]
    outcomes = fork_map(
        lambda task: run_mode(project_dir, task[0], config_path, task[1]), tasks, workers=jobs
    )
    runs: dict[tuple[str, bool], ModeRun] = {}
    for (stack, preview), outcome in zip(tasks, outcomes, strict=True):
        if outcome.value is not None:
            runs[stack, preview] = outcome.value
            continue
        mode = "preview" if preview else "update"
        how = (
            f"was killed by signal {-outcome.status}"
            if outcome.status < 0
            else f"exited with status {outcome.status}"
        )
        runs[stack, preview] = ModeRun(
            stack,
            preview,
            error=f"error: the {mode}-mode run of stack '{stack}' {how}",
            exit_code=outcome.status
            if outcome.status in (EXIT_USAGE, EXIT_PROGRAM)
            else EXIT_PROGRAM,
        )
    return [report_stack(runs[stack, True], runs[stack, False], out) for stack in stacks]


def _settings(stack: str, values: dict[str, str]) -> Settings:
    """The stack's settings; validated when the program ran, read again for the report."""
    return from_config_values(stack, values)


def _rto(settings: Settings, graph: StackGraph) -> RtoEstimate | None:
    """The DR restore estimate of a stack that has a DR region, against its objective.

    A drill stack has prod's DR region but not its resources: the drill measures instead.
    """
    if not settings.network.dr_region or settings.identity.drill:
        return None
    return estimate_rto(graph, objective=float(settings.recovery.rto_objective_minutes))


def _report_region_loss(settings: Settings, run: ModeRun, graph: StackGraph, out: TextIO) -> bool:
    """Print the region-loss RTO of a stack with a DR region; False when it fails the preview.

    It fails above ``ttbt2:rtoObjectiveMinutes``, and when the stack cannot be rendered with
    the DR region active (the failover would fail too).
    """
    if run.dr_counterpart_error:
        print(f"error: region-loss RTO: {run.dr_counterpart_error}", file=out)
        print("", file=out)
        return False
    if run.dr_counterpart is None:
        return True
    active, standby = (
        (graph, run.dr_counterpart) if settings.recovery.dr_active else (run.dr_counterpart, graph)
    )
    result = estimate_region_loss(
        active,
        standby,
        objective=float(settings.recovery.rto_objective_minutes),
        dr_active=settings.recovery.dr_active,
    )
    print("\n".join(format_region_loss(result)), file=out)
    if (failure := result.failure()) is not None:
        print(f"error: {failure}", file=out)
    print("", file=out)
    return result.within_objective


def _write_graph(graph: StackGraph, path: Path) -> None:
    masked = StackGraph(graph.project, graph.stack, graph.resources, graph.outputs)
    for res in masked.resources:
        res.props = mask_secrets(res.props)
    path.parent.mkdir(parents=True, exist_ok=True)
    masked.write(path)


def cmd_preview(args: argparse.Namespace, out: TextIO) -> int:
    """``preview``: every stack (or the named ones, or one file) rendered and checked."""
    project_dir: Path = args.project_dir
    if args.config_file is not None:
        try:
            stacks = [stack_from_filename(args.config_file)]
        except StackFileError as exc:
            print(f"error: {exc}", file=out)
            return EXIT_USAGE
        if args.stack and args.stack != stacks:
            print(f"error: --stack {args.stack} does not match {args.config_file.name}", file=out)
            return EXIT_USAGE
    else:
        stacks = args.stack or list_stacks(project_dir)
    jobs = args.jobs or default_workers()
    if jobs > 1 and can_fork():
        results = preview_parallel(project_dir, stacks, args.config_file, out, jobs=jobs)
    else:
        results = [preview_stack(project_dir, s, args.config_file, out) for s in stacks]
    rendered = [r for r in results if r.graph is not None]
    for r in rendered:
        assert r.graph is not None
        if args.json_dir is not None:
            _write_graph(r.graph, args.json_dir / f"{r.stack}.json")
        if args.json is not None:
            target = args.json if len(stacks) == 1 else args.json / f"{r.stack}.json"
            _write_graph(r.graph, target)
    print("stacks: " + ", ".join(f"{r.stack} {_verdict(r.exit_code)}" for r in results), file=out)
    return max((r.exit_code for r in results), default=EXIT_OK)


def _verdict(code: int) -> str:
    return {
        EXIT_OK: "ok",
        EXIT_VIOLATION: "policy violations",
        EXIT_USAGE: "bad config",
        EXIT_PROGRAM: "program error",
    }[code]


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """``check``: the policy pack on a graph file, reported as ``preview --policy-pack`` does."""
    try:
        graph = load_graph(args.file, args.stack)
    except GraphFileError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_USAGE
    pack, policies = _pack()
    findings = check_graph(graph, policies)
    print(
        f"Checking {args.file} (stack '{graph.stack}', {len(graph.resources)} resources)", file=out
    )
    print("\n".join(policy_report(pack, findings, graph)), file=out)
    print(summary(findings), file=out)
    return EXIT_VIOLATION if any(f.blocking for f in findings) else EXIT_OK


def cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    """``diff``: the changes from one graph file to another; any diff, even empty, is exit 0."""
    try:
        base = load_graph(args.base, args.stack)
        head = load_graph(args.head, args.stack)
    except GraphFileError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_USAGE
    try:
        table = load_price_table()
    except PriceTableError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_USAGE
    diff = diff_graphs(base, head)
    cost = diff_costs(estimate_cost(base, table), estimate_cost(head, table))
    lines = render_diff(diff, str(args.base), str(args.head))
    # The resource summary stays the last line: CI shows it as the comment's headline.
    print("\n".join([*lines[:-1], *format_cost_diff(cost), "", lines[-1]]), file=out)
    if args.json is not None:
        try:
            document = {**diff.to_json(), "cost": cost.to_json()}
            args.json.write_text(json.dumps(document, indent=2) + "\n")
        except OSError as exc:
            print(f"error: {args.json}: cannot write the JSON diff ({exc.strerror})", file=out)
            return EXIT_USAGE
    return EXIT_OK


def cmd_render(args: argparse.Namespace, out: TextIO) -> int:
    """``render``: one stack's artifacts written to a folder, for the upstream tools."""
    try:
        if args.config_file is not None:
            stack = stack_from_filename(args.config_file)
        elif args.stack:
            stack = args.stack
        else:
            print("error: render needs --stack NAME or --config-file PATH", file=out)
            return EXIT_USAGE
        config = load_stack(args.project_dir, stack, args.config_file)
        graph = run_stack(args.project_dir, config, preview=False)
    except (StackFileError, SettingsError) as exc:
        print(f"error: {exc}", file=out)
        return EXIT_USAGE
    written = render(graph, args.out)
    written += render_gitops(_settings(stack, config.values), graph, args.out)
    print(f"Rendered stack '{stack}' to {args.out}: {len(written)} files", file=out)
    for path in sorted(written):
        print(f"    {path.relative_to(args.out)}", file=out)
    return EXIT_OK


def cmd_check_gitops(args: argparse.Namespace, out: TextIO) -> int:
    """``check-gitops``: the configuration repository's manifests of one environment, judged.

    No program run: the stack's settings give the services, their canary plans and the
    AppProject; the findings print as ``check`` prints them.
    """
    try:
        config = load_stack(args.project_dir, args.stack, args.config_file)
        settings = _settings(args.stack, config.values)
    except (StackFileError, SettingsError) as exc:
        print(f"error: {exc}", file=out)
        return EXIT_USAGE
    if not settings.gitops.app_config_repo:
        print(
            f"error: stack '{args.stack}' has no ttbt2:appConfigRepo: Pulumi applies its "
            "Rollouts, there is no configuration repository to check",
            file=out,
        )
        return EXIT_USAGE
    try:
        result = check_gitops(args.dir, settings, args.stack)
    except GitOpsInputError as exc:
        print(f"error: {exc}", file=out)
        return EXIT_USAGE
    pack, _ = _pack()
    env = settings.identity.environment
    print(
        f"Checking {args.dir} envs/{env} (stack '{args.stack}', "
        f"{len(result.graph.resources)} manifests)",
        file=out,
    )
    print("\n".join(policy_report(pack, result.findings, result.graph)), file=out)
    print(summary(result.findings), file=out)
    return EXIT_VIOLATION if any(f.blocking for f in result.findings) else EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point; returns the exit status."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    if args.command == "preview":
        return cmd_preview(args, out)
    if args.command == "render":
        return cmd_render(args, out)
    if args.command == "diff":
        return cmd_diff(args, out)
    if args.command == "check-gitops":
        return cmd_check_gitops(args, out)
    return cmd_check(args, out)
