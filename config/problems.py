"""What a bad stack configuration is reported as: problems, named by their flat ``ttbt2:`` key.

A problem's key is never typed by hand: :func:`key_of` reads it from the field's alias, so a
renamed field cannot leave a stale key in a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import BaseModel

NAMESPACE = "ttbt2"
"""Config namespace of every project key (``ttbt2:<key>``)."""

UNSET: Any = object()
"""The value of a key the stack file does not set."""


@dataclass(frozen=True)
class Problem:
    """One bad configuration value: which key, what was given, what is allowed."""

    key: str
    value: Any
    allowed: str

    def render(self) -> str:
        """Render as one line: ``ttbt2:key = value: allowed``."""
        shown = "(not set)" if self.value is UNSET else json.dumps(self.value, default=str)
        return f"{NAMESPACE}:{self.key} = {shown}: {self.allowed}"


def format_problems(stack: str, problems: list[Problem]) -> str:
    """Format every problem of a stack config into one message."""
    lines = [f"stack '{stack}': invalid configuration ({len(problems)} problem(s)):"]
    lines += [f"  - {p.render()}" for p in problems]
    lines.append(
        f"Fix these keys in Pulumi.{stack}.yaml (or with `pulumi config set`); "
        "Pulumi.yaml describes every key."
    )
    return "\n".join(lines)


class SettingsError(pulumi.RunError):
    """A stack configuration that cannot be deployed.

    Subclasses ``pulumi.RunError`` so that ``pulumi up`` prints the message alone, without a
    Python traceback. :attr:`problems` holds each problem for callers that format their own.
    """

    def __init__(self, stack: str, problems: list[Problem]) -> None:
        self.stack = stack
        self.problems = problems
        super().__init__(format_problems(stack, problems))


def key_of(model: type[BaseModel] | BaseModel, field: str) -> str:
    """The flat config key of a settings field: its alias (``dbBackupRetentionDays``).

    Raises ``KeyError`` for a field the model does not have, so a rule naming a renamed field
    fails its first test instead of reporting a key nobody can set.
    """
    cls = model if isinstance(model, type) else type(model)
    info = cls.model_fields[field]
    return info.alias or field


def bad(
    model: BaseModel,
    field: str,
    allowed: str,
    *,
    index: int | None = None,
    value: Any = UNSET,
    suffix: str = "",
) -> Problem:
    """A problem with one field of a parsed settings domain.

    The value defaults to the field's own (or its ``index``-th element); ``suffix`` names a
    part of that element (``.path``), whose value the caller passes.
    """
    key = key_of(model, field)
    shown = getattr(model, field)
    if index is not None:
        key = f"{key}[{index}]"
        shown = shown[index]
    return Problem(key + suffix, shown if value is UNSET else value, allowed)
