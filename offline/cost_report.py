"""The cost sections of the reports: the estimate in ``preview``, its change in ``diff``."""

from __future__ import annotations

from collections.abc import Iterable

from offline.cost import CostDiff, CostEstimate, LineItem, Unpriced
from offline.report import display_type

TOP_ITEMS = 8
"""Line items the preview shows; the JSON of ``diff --json`` has them all."""


def usd(value: float, *, signed: bool = False) -> str:
    """``$1,234.56``; with ``signed``, ``+$1.00`` / ``-$1.00``."""
    text = f"${abs(value):,.2f}"
    if signed:
        return ("-" if value < 0 else "+") + text
    return ("-" if value < 0 else "") + text


def unit_price(value: float) -> str:
    """A unit price with the decimals it has, at least two: ``$0.10``, ``$0.0912``."""
    whole, _, decimals = f"{value:,.6f}".partition(".")
    decimals = decimals.rstrip("0").ljust(2, "0")
    return f"${whole}.{decimals}"


def _quantity(line: LineItem) -> str:
    return f"{line.quantity:,.6g} {line.unit} x {unit_price(line.unit_usd)}"


def item_line(line: LineItem) -> str:
    """One line item: monthly cost, priced item, region, quantity x unit price, resource."""
    return (
        f"{usd(line.monthly_usd):>11}  {line.item} ({line.region}): {_quantity(line)}  "
        f"{display_type(line.type)} {line.name}"
    )


def _unpriced_groups(unpriced: Iterable[Unpriced]) -> list[str]:
    """Unpriced needs grouped by item and region: how many resources, which, and why."""
    groups: dict[tuple[str, str, str | None], list[Unpriced]] = {}
    for entry in unpriced:
        groups.setdefault((entry.kind, entry.item, entry.region), []).append(entry)
    order = {"fixed": 0, "unknown": 1, "usage": 2}
    lines = []
    for (kind, item, region), entries in sorted(
        groups.items(), key=lambda g: (order.get(g[0][0], 3), g[0][1], g[0][2] or "")
    ):
        # By name: graph order differs between a sequential and a parallel preview.
        first = sorted(e.name for e in entries)[:3]
        names = ", ".join(first) + (", ..." if len(entries) > 3 else "")
        lines.append(
            f"      [{kind}] {item} ({region or 'region unknown'}) x{len(entries)}: {names}"
            f" - {entries[0].reason}"
        )
    return lines


def format_cost(estimate: CostEstimate) -> list[str]:
    """The preview's cost section: totals, the largest items, assumptions, what is unpriced."""
    table = estimate.table
    fixed_unpriced = sum(1 for u in estimate.unpriced if u.kind != "usage")
    lines = [
        f"Monthly cost estimate: {usd(estimate.total_usd)} "
        f"(price table of {table.as_of.isoformat()}, {table.currency} on-demand list prices, "
        f"{table.hours_per_month:g} h/month)",
        f"    fixed capacity {usd(estimate.fixed_usd)} + usage at assumed volumes "
        f"{usd(estimate.usage_usd)}; not counted: {len(estimate.unpriced)} unpriced "
        f"({fixed_unpriced} of them capacity or unknown types), "
        f"{len(estimate.not_estimated)} not estimated",
        f"    largest items ({min(TOP_ITEMS, len(estimate.items))} of {len(estimate.items)}):",
    ]
    lines += [f"    {item_line(line)}" for line in estimate.top(TOP_ITEMS)]
    if estimate.assumptions:
        lines.append("    usage assumptions (price table, usage_assumptions):")
        lines += [f"      {a.name}: {a.value:g} {a.unit}" for a in estimate.assumptions.values()]
    if estimate.unpriced:
        lines.append("    unpriced (cost money; no price in the table, so not in the total):")
        lines += _unpriced_groups(estimate.unpriced)
    if estimate.not_estimated:
        lines.append("    not estimated (capacity decided at run time):")
        lines += [
            f"      {display_type(n.type)} {n.name}: {n.reason}" for n in estimate.not_estimated
        ]
    where = table.path.name if table.path else "the price table"
    lines.append(f"    sources: each price's page and evidence are in {where}")
    return lines


def budget_line(estimate: CostEstimate, budget_usd: float) -> str:
    """The estimate against the stack's AWS budget (``monthlyBudgetUsd``), a warning above it.

    The budget's alerts go off on the real bill; this says before the merge whether the priced
    part of the stack alone would already set them off. The unpriced items are not in the
    estimate, so a share under 100 % is a floor, not a clearance.
    """
    share = 100 * estimate.total_usd / budget_usd
    text = (
        f"against the budget: {usd(estimate.total_usd)} is {share:.0f} % of monthlyBudgetUsd "
        f"{usd(budget_usd)}"
    )
    if share > 100:
        return (
            f"    warning: {text}; the budget's alerts will fire every month "
            "(raise monthlyBudgetUsd or shrink the stack)"
        )
    unpriced = f" (before {len(estimate.unpriced)} unpriced items)" if estimate.unpriced else ""
    return f"    {text}{unpriced}"


def format_cost_diff(diff: CostDiff) -> list[str]:
    """The diff's cost section: the total before and after, and each line that changed."""
    base, head = diff.base, diff.head
    fixed = head.fixed_usd - base.fixed_usd
    usage = head.usage_usd - base.usage_usd
    lines = [
        f"Monthly cost estimate: {usd(base.total_usd)} -> {usd(head.total_usd)} "
        f"({usd(diff.delta_usd, signed=True)}/month: fixed {usd(fixed, signed=True)}, "
        f"usage {usd(usage, signed=True)}; price table of {head.table.as_of.isoformat()})"
    ]
    symbols = {"add": "+", "remove": "-", "change": "~"}
    for change in diff.changes:
        line = change.line
        head_text = (
            f"    {symbols[change.op]} {usd(change.delta_usd, signed=True):>11}  {line.item} "
            f"({line.region})  {display_type(line.type)} {line.name}"
        )
        if change.old is not None and change.new is not None:
            if change.old.item != change.new.item:
                head_text += f" (was {change.old.item})"
            head_text += (
                f": {usd(change.old.monthly_usd)} -> {usd(change.new.monthly_usd)} "
                f"({_quantity(change.old)} -> {_quantity(change.new)})"
            )
        lines.append(head_text)
    if diff.unpriced_added:
        lines.append("    newly unpriced (not in the new total):")
        lines += _unpriced_groups(diff.unpriced_added)
    if diff.unpriced_removed:
        lines.append("    no longer unpriced:")
        lines += _unpriced_groups(diff.unpriced_removed)
    if diff.unpriced_changed:
        lines.append("    still unpriced, for another item:")
        lines += [
            f"      [{new.kind}] {old.item} -> {new.item} ({new.region or 'region unknown'}): "
            f"{new.name}"
            for old, new in diff.unpriced_changed
        ]
    if not (diff.changes or diff.unpriced_added or diff.unpriced_removed or diff.unpriced_changed):
        lines.append("    no change")
    return lines
