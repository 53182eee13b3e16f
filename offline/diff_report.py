"""Text of a :class:`offline.diff.StackDiff`, read like ``pulumi preview --diff``.

Replacements and deletions that put data at risk come first, in their own section; then the
other changes in the order the engine would run them; then option-only changes and a summary
line. Values are JSON, secrets ``[secret]``, long values cut to :data:`VALUE_WIDTH` characters.
"""

from __future__ import annotations

import json
from typing import Any

from offline.diff import PropertyChange, ResourceChange, StackDiff
from offline.graph import UNKNOWN

VALUE_WIDTH = 60
SYMBOLS = {"create": "+ ", "update": "~ ", "replace": "+-", "delete": "- "}
PROPERTY_SYMBOLS = {"add": "+", "update": "~", "delete": "-"}


def value_text(value: Any, width: int = VALUE_WIDTH) -> str:
    """One value on one line, cut with ``...`` past ``width`` characters."""
    if value == UNKNOWN:
        return "output<unknown>"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


def _property_line(change: PropertyChange) -> str:
    symbol = PROPERTY_SYMBOLS[change.kind]
    if change.kind == "add":
        body = value_text(change.new)
    elif change.kind == "delete":
        body = value_text(change.old)
    else:
        body = f"{value_text(change.old)} -> {value_text(change.new)}"
    note = "  (forces replacement)" if change.replaces else ""
    return f"        {symbol} {change.path}: {body}{note}"


def _flags(change: ResourceChange) -> str:
    flags = []
    if change.protected:
        flags.append("[protect]")
    if change.data_holding and change.op in ("replace", "delete"):
        flags.append("[holds data]")
    if change.retained and change.op in ("replace", "delete"):
        flags.append("[retained in the cloud]")
    return (" " + " ".join(flags)) if flags else ""


def resource_lines(change: ResourceChange) -> list[str]:
    """The resource's line (operation, type, name, flags), then one line per changed input."""
    head = f"{SYMBOLS[change.op]} {change.type}  {change.name}  ({change.op})"
    lines = [f"    {head}{_flags(change)}"]
    if change.aliased_from:
        lines.append(f"        (same resource through an alias of {change.aliased_from})")
    if change.op == "replace":
        lines.append(f"        replaced because of: {', '.join(change.replace_reasons)}")
    if change.protected and change.op in ("replace", "delete"):
        # The engine refuses to delete a protected resource, so `pulumi up` would stop here.
        lines.append(f"        protected: `pulumi up` refuses to {change.op} it until unprotected")
    lines += [_property_line(p) for p in change.properties]
    return lines


def summary_line(diff: StackDiff) -> str:
    """``Resources: + 1 to create, ~ 2 to update, ...`` with only the non-zero operations."""
    counts = diff.counts()
    parts = [
        f"{SYMBOLS[op].strip()} {counts[op]} to {op}"
        for op in ("create", "update", "replace", "delete")
        if counts[op]
    ]
    if not parts:
        return f"Resources: no changes ({counts['same']} unchanged)"
    return f"Resources: {', '.join(parts)}, {counts['same']} unchanged"


def render_diff(diff: StackDiff, base_label: str = "base", head_label: str = "head") -> list[str]:
    """The whole report as lines."""
    stack = diff.stack if diff.stack == diff.base_stack else f"{diff.base_stack} -> {diff.stack}"
    lines = [f"Diff of stack '{stack}' ({diff.project}): {base_label} -> {head_label}", ""]
    at_risk = diff.at_risk
    if at_risk:
        lines.append(
            f"!! DATA AT RISK: {len(at_risk)} replacement(s) or deletion(s) of protected or "
            "data-holding resources"
        )
        for change in at_risk:
            lines += resource_lines(change)
        lines.append("")
    others = [c for c in diff.changes if not c.at_risk]
    if others:
        lines.append("Changes:")
        for change in others:
            lines += resource_lines(change)
        lines.append("")
    if diff.option_changes:
        lines.append("Option changes (no cloud operation):")
        for option in diff.option_changes:
            lines.append(
                f"    ~ {option.urn}: {option.option} "
                f"{value_text(option.old)} -> {value_text(option.new)}"
            )
        lines.append("")
    lines.append(summary_line(diff))
    return lines
