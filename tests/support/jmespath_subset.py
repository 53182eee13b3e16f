"""A JMESPath evaluator for the subset Grafana's role expressions use, written from the spec.

The ``jmespath`` package is not a dependency of the project, so the role mapping is evaluated
here: ``||`` and ``&&`` (JMESPath's or/and, returning an operand, with ``&&`` binding tighter),
quoted and unquoted identifiers, raw string literals (``'...'``), JSON literals (`` `...` ``),
and the functions ``contains`` and ``to_array`` with the spec's semantics (``contains`` on a
string is a substring test; on anything but a string or an array it is an invalid-type error).
Any other construct is a syntax error, so an expression outside this subset fails loudly.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<or>\|\|) | (?P<and>&&) | (?P<lparen>\() | (?P<rparen>\)) | (?P<comma>,)
    | (?P<quoted>"(?:[^"\\]|\\.)*")
    | (?P<raw>'(?:[^'\\]|\\.)*')
    | (?P<literal>`(?:[^`\\]|\\.)*`)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


class JmesPathError(ValueError):
    """A syntax or type error, as JMESPath would raise."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise JmesPathError(f"unsupported syntax at {pos}: {text[pos : pos + 20]!r}")
        out.append((match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
    return out


def truthy(value: Any) -> bool:
    """JMESPath truth: false, null, and empty strings, arrays and objects are false."""
    if value is False or value is None:
        return False
    return not (isinstance(value, str | list | dict) and len(value) == 0)


class _Parser:
    def __init__(self, text: str, data: Any) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.data = data

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self, kind: str) -> str:
        if self.peek() != kind:
            raise JmesPathError(f"expected {kind} at token {self.pos}, got {self.peek()}")
        self.pos += 1
        return self.tokens[self.pos - 1][1]

    def parse(self) -> Any:
        value = self.or_expr()
        if self.peek() is not None:
            raise JmesPathError(f"unexpected {self.peek()} at token {self.pos}")
        return value

    def or_expr(self) -> Any:
        value = self.and_expr()
        while self.peek() == "or":
            self.take("or")
            right = self.and_expr()
            value = value if truthy(value) else right
        return value

    def and_expr(self) -> Any:
        value = self.primary()
        while self.peek() == "and":
            self.take("and")
            right = self.primary()
            value = right if truthy(value) else value
        return value

    def primary(self) -> Any:
        kind = self.peek()
        if kind == "quoted":
            return self._field(json.loads(self.take("quoted")))
        if kind == "raw":
            return self.take("raw")[1:-1].replace("\\'", "'")
        if kind == "literal":
            return json.loads(self.take("literal")[1:-1].replace("\\`", "`"))
        if kind == "name":
            name = self.take("name")
            if self.peek() == "lparen":
                return self.call(name)
            return self._field(name)
        raise JmesPathError(f"unexpected {kind} at token {self.pos}")

    def _field(self, name: str) -> Any:
        return self.data.get(name) if isinstance(self.data, dict) else None

    def call(self, name: str) -> Any:
        self.take("lparen")
        args = [self.or_expr()]
        while self.peek() == "comma":
            self.take("comma")
            args.append(self.or_expr())
        self.take("rparen")
        if name == "to_array" and len(args) == 1:
            return args[0] if isinstance(args[0], list) else [args[0]]
        if name == "contains" and len(args) == 2:
            subject, search = args
            if isinstance(subject, list):
                return search in subject
            if isinstance(subject, str) and isinstance(search, str):
                return search in subject
            raise JmesPathError(f"invalid-type: contains({subject!r}, ...)")
        raise JmesPathError(f"unsupported function {name}/{len(args)}")


def search(expression: str, data: Any) -> Any:
    """Evaluate ``expression`` on ``data``, as ``jmespath.search`` would."""
    return _Parser(expression, data).parse()
