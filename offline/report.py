"""Text output that reads like ``pulumi preview`` and ``pulumi preview --policy-pack``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from components.delivery.rollback import ROLLBACK_LIMIT_SECONDS, rollback_breakdown
from components.delivery.spec import ServiceSpec
from components.vault.source import PLACEHOLDER_PREFIX
from offline.evaluate import Finding
from offline.graph import Resource, StackGraph, unwrap_secrets


def display_type(token: str) -> str:
    """Shorten a type token the way the CLI shows it: ``aws:ec2/vpc:Vpc`` -> ``aws:ec2:Vpc``."""
    parts = token.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        parts[1] = parts[1].split("/", 1)[0]
    return ":".join(parts)


def tree(graph: StackGraph) -> list[str]:
    """The resource tree under the stack, children in registration order."""
    children: dict[str | None, list[Resource]] = {}
    urns = {r.urn for r in graph.resources}
    for res in graph.resources:
        parent = res.parent if res.parent in urns else None
        children.setdefault(parent, []).append(res)
    rows: list[tuple[str, str, str, bool]] = [
        ("", "pulumi:pulumi:Stack", f"{graph.project}-{graph.stack}", False)
    ]

    def walk(parent: str | None, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, res in enumerate(kids):
            last = i == len(kids) - 1
            branch = "└─ " if last else "├─ "
            rows.append(
                (prefix + branch, display_type(res.type), res.name, bool(res.option("protect")))
            )
            walk(res.urn, prefix + ("   " if last else "│  "))

    walk(None, "")
    width = max(len(p) + len(t) for p, t, _, _ in rows) + 2
    lines = [f"     {'Type'.ljust(width)}Name"]
    for prefix, typ, name, protected in rows:
        flags = " [protect]" if protected else ""
        lines.append(f" +   {(prefix + typ).ljust(width)}{name}{flags}")
    return lines


def counts(graph: StackGraph) -> list[str]:
    """Totals per cloud and per type."""
    # Components are counted apart: they are groupings in the program, not cloud resources.
    by_cloud = Counter(r.cloud for r in graph.resources if r.custom)
    components = sum(1 for r in graph.resources if not r.custom)
    by_type = Counter(display_type(r.type) for r in graph.resources)
    lines = [f"Resources: + {len(graph.resources) + 1} to create (offline)"]
    lines.append(
        "  per cloud: "
        + ", ".join(f"{c} {n}" for c, n in sorted(by_cloud.items()))
        + f"; components {components}"
    )
    lines.append("  per type:")
    lines += [f"    {n:4d}  {t}" for t, n in sorted(by_type.items())]
    return lines


def outputs(graph: StackGraph) -> list[str]:
    """Stack outputs; secrets are masked, unknown values say so."""
    if not graph.outputs:
        return []
    width = max(len(k) for k in graph.outputs)
    lines = ["Outputs:"]
    for key, out in graph.outputs.items():
        if out.get("secret"):
            shown = "[secret]"
        elif not out.get("known", True):
            shown = "output<unknown until apply>"
        else:
            shown = json.dumps(out.get("value"))
        lines.append(f"    {key.ljust(width)}: {shown}")
    return lines


def policy_report(pack: str, findings: Iterable[Finding], graph: StackGraph) -> list[str]:
    """Findings grouped like the CLI's policy section; a clean pack says so."""
    by_urn = graph.by_urn()
    found = [f for f in findings if f.kind != "note"]
    lines = ["Policies:"]
    if not found:
        lines.append(f"    ✅ {pack} (local: policies): no violations")
        return lines
    lines.append(f"    ❌ {pack} (local: policies)")
    order = {"error": 0, "mandatory": 1, "advisory": 2}
    for f in sorted(
        found,
        key=lambda f: (
            order.get("error" if f.kind == "error" else f.enforcement, 3),
            f.policy,
            f.urn,
        ),
    ):
        level = "policy error" if f.kind == "error" else f.enforcement
        lines.append(f"        - [{level}]  {f.policy}  ({_where(f.urn, by_urn)})")
        lines.append(f"          {f.description}")
        lines += [f"          {line}" for line in f.message.splitlines()]
    return lines


def _where(urn: str, by_urn: dict[str, Resource]) -> str:
    if not urn:
        return "stack"
    res = by_urn.get(urn)
    if res is None:
        return urn
    return f"{display_type(res.type)}: {res.name}"


def summary(findings: Iterable[Finding]) -> str:
    """One line: how many mandatory, advisory and policy errors."""
    found = list(findings)
    kinds = Counter(
        "error" if f.kind == "error" else f.enforcement for f in found if f.kind != "note"
    )
    notes = sum(1 for f in found if f.kind == "note")
    return (
        f"policy summary: {kinds.get('mandatory', 0)} mandatory, "
        f"{kinds.get('advisory', 0)} advisory, {kinds.get('error', 0)} policy errors, "
        f"{notes} preview notes"
    )


def placeholders(graph: StackGraph, config_keys: Iterable[str] = ()) -> list[str]:
    """Which values are placeholders offline, and which resources received them.

    Secure config values and Vault reads cannot be had without the stack's key or a Vault, so
    the engine substitutes named placeholders; listing them keeps the preview honest about
    what it did not see.
    """
    used: dict[str, list[str]] = {f"{key} (secure config)": [] for key in config_keys}
    marker = PLACEHOLDER_PREFIX + ":"

    def walk(value: object, owner: str) -> None:
        if isinstance(value, str) and value.startswith(marker):
            name = value[len(marker) :]
            label = f"{name} (secure config)" if not name.startswith("vault") else name
            used.setdefault(label, []).append(owner)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item, owner)
        elif isinstance(value, list):
            for item in value:
                walk(item, owner)

    for res in graph.resources:
        walk(unwrap_secrets(res.props), res.name)
    if not used:
        return []
    lines = ["Placeholders (values a real run reads from Vault or decrypts; none exist offline):"]
    for label, owners in sorted(used.items()):
        where = ", ".join(sorted(set(owners))) or "not used by any resource"
        lines.append(f"    {label}  ->  {where}")
    return lines


def monitoring(graph: StackGraph) -> list[str]:
    """Alert count per severity and the routing table, as the stack deploys them."""
    from components.monitoring.routing import routing_table
    from offline.render import deployed_alertmanager_config, deployed_rule_groups

    severities = Counter(
        str((rule.get("labels") or {}).get("severity", "none"))
        for group in deployed_rule_groups(graph)
        for rule in group.get("rules") or []
        if "alert" in rule
    )
    config = deployed_alertmanager_config(graph)
    if not severities and config is None:
        return []
    order = ("critical", "warning", "info")
    counts = ", ".join(f"{severities.get(s, 0)} {s}" for s in order)
    lines = [f"Alerts: {sum(severities.values())} ({counts})"]
    if config is not None:
        lines.append("Routing (severity / priority -> receivers):")
        rows: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for severity, priority, targets in routing_table(config):
            rows.setdefault((severity, tuple(targets)), []).append(priority)
        for (severity, receivers), priorities in rows.items():
            lines.append(f"    {severity:<8} {'/'.join(priorities):<28} -> {', '.join(receivers)}")
    return lines


def _step_text(step: Any) -> str:
    if step.set_weight is not None:
        return f"{step.set_weight}%"
    if step.pause_until_promoted:
        return "pause until promoted"
    return f"pause {step.pause_seconds}s"


def services(specs: Sequence[ServiceSpec]) -> list[str]:
    """Each service with its canary plan and its worst-case rollback (seed 4.10.1: < 10 min)."""
    if not specs:
        return []
    lines = [f"Services (canary plan; worst-case rollback, limit {ROLLBACK_LIMIT_SECONDS} s):"]
    for spec in specs:
        analysis = spec.canary.analysis
        breakdown = rollback_breakdown(spec)
        mark = "✅" if breakdown.within_limit else "❌"
        lines.append(f"    {spec.name}  {spec.image}")
        plan = " -> ".join(_step_text(step) for step in spec.canary.steps)
        lines.append(
            f"        canary: {plan} -> 100%; analysis every {analysis.interval_seconds}s from "
            f"step {analysis.starting_step}, failure limit {analysis.failure_limit}; SLO "
            f"success >= {spec.slo.success_rate:g}, p95 <= {spec.slo.p95_latency_ms} ms"
        )
        lines.append(f"        {mark} rollback: {breakdown.describe()}")
    return lines
