"""Vault ACL policies: least privilege for what the platform writes into Vault (platform rule).

No checkov ID covers Vault, so this is a platform rule (seed 4.9.1). On every
``vault:index/policy:Policy`` the ``policy`` text is parsed and:

- no path grants ``sudo`` (or ``root``, which is not a capability but says what is meant);
- no path holding a wildcard (``*`` or ``+``) grants a write capability (``create``,
  ``update``, ``delete``, ``patch``): a glob reaches paths nobody reviewed;
- nothing at all is granted on ``sys/`` itself or on a wildcard that ends a path under ``sys/``
  (``sys/*``, ``sys/policy/*``, ``sys/+``, and ``*`` alone, which reaches ``sys/`` too);
- every capability is one Vault knows.

A path block holding ``deny`` grants nothing (``deny`` overrides every other capability on the
path), so the grant rules skip it.

The parser is deliberately small and strict: it reads the HCL that Vault policies are written in
(``path "<glob>" { capabilities = [...] }``, ``#``, ``//`` and ``/* */`` comments) and Vault's
JSON form, and refuses anything else with the line and column. A policy it cannot read is a
violation carrying that error, never an exception: a rule that cannot see the grants must not
pass them. ``python-hcl2`` is not a dependency of the pack on purpose: the subset is tiny, and a
general HCL parser would accept constructs Vault does not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from pulumi_policy import Policy, ResourceValidationArgs

from .common import MANDATORY, resource_policy, str_prop

POLICY = "vault:index/policy:Policy"

VAULT_CAPABILITIES = frozenset(
    {"create", "read", "update", "patch", "delete", "list", "sudo", "deny", "subscribe", "recover"}
)
"""Every capability Vault accepts in an ACL policy."""
PRIVILEGED = ("sudo", "root")
WRITE_CAPABILITIES = ("create", "update", "patch", "delete")
WILDCARDS = ("*", "+")


class VaultPolicyParseError(ValueError):
    """A policy text outside the supported subset; the message names line and column."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        where = f"line {line}, column {column}: " if line else ""
        super().__init__(f"{where}{message}")
        self.line = line
        self.column = column


@dataclass(frozen=True)
class PathRule:
    """One ``path`` block: the glob and the capabilities it lists, in order."""

    path: str
    capabilities: tuple[str, ...]
    line: int = 0


# --- parser ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "ident" or the punctuation character itself
    value: str
    line: int
    column: int


_PUNCTUATION = frozenset("{}[]=,")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0

    @property
    def column(self) -> int:
        return self.pos - self.line_start + 1

    def error(self, message: str) -> VaultPolicyParseError:
        return VaultPolicyParseError(message, self.line, self.column)

    def _advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.text[self.pos] == "\n":
                self.line += 1
                self.line_start = self.pos + 1
            self.pos += 1

    def _skip_space_and_comments(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r\n":
                self._advance()
            elif char == "#" or text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self._advance((len(text) if end < 0 else end) - self.pos)
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated /* comment")
                self._advance(end + 2 - self.pos)
            else:
                return

    def _string(self) -> str:
        self._advance()  # opening quote
        chars: list[str] = []
        while True:
            if self.pos >= len(self.text) or self.text[self.pos] == "\n":
                raise self.error("unterminated string")
            char = self.text[self.pos]
            if char == '"':
                self._advance()
                return "".join(chars)
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if escaped not in _ESCAPES:
                    raise self.error(f"unsupported escape \\{escaped} in a string")
                chars.append(_ESCAPES[escaped])
                self._advance(2)
            else:
                chars.append(char)
                self._advance()

    def tokens(self) -> Iterator[_Token]:
        while True:
            self._skip_space_and_comments()
            if self.pos >= len(self.text):
                return
            line, column, char = self.line, self.column, self.text[self.pos]
            if char == '"':
                yield _Token("string", self._string(), line, column)
            elif char in _PUNCTUATION:
                self._advance()
                yield _Token(char, char, line, column)
            elif match := _IDENT.match(self.text, self.pos):
                self._advance(match.end() - self.pos)
                yield _Token("ident", match.group(), line, column)
            else:
                raise self.error(f"unexpected character {char!r}")


class _Parser:
    """Recursive descent with one token of lookahead.

    It lexes lazily, so the first error in reading order is the one reported.
    """

    def __init__(self, text: str) -> None:
        self.lexer = _Lexer(text)
        self.stream = self.lexer.tokens()
        self.lookahead: _Token | None = None

    @property
    def end(self) -> tuple[int, int]:
        return self.lexer.line, self.lexer.column

    def _peek(self) -> _Token | None:
        if self.lookahead is None:
            self.lookahead = next(self.stream, None)
        return self.lookahead

    def _take(self) -> None:
        self.lookahead = None

    def _expect(self, kind: str, what: str) -> _Token:
        token = self._peek()
        if token is None:
            raise VaultPolicyParseError(f"expected {what}, found the end of the policy", *self.end)
        if token.kind != kind:
            found = repr(token.value) if token.kind != "string" else f'"{token.value}"'
            raise VaultPolicyParseError(f"expected {what}, found {found}", token.line, token.column)
        self._take()
        return token

    def policy(self) -> list[PathRule]:
        rules: list[PathRule] = []
        while (token := self._peek()) is not None:
            if token.kind != "ident" or token.value != "path":
                raise VaultPolicyParseError(
                    f"expected a path block, found {token.value!r}: a Vault policy here holds "
                    'path "<glob>" { capabilities = [...] } blocks only',
                    token.line,
                    token.column,
                )
            self._take()
            rules.append(self._block(token))
        return rules

    def _block(self, keyword: _Token) -> PathRule:
        path = self._expect("string", "the quoted path after 'path'").value
        self._expect("{", f'"{{" after path "{path}"')
        capabilities: tuple[str, ...] | None = None
        while (token := self._peek()) is not None and token.kind != "}":
            name = self._expect("ident", f'an attribute or "}}" in path "{path}"')
            if name.value != "capabilities":
                raise VaultPolicyParseError(
                    f'unsupported attribute {name.value!r} in path "{path}": only capabilities '
                    "is read here",
                    name.line,
                    name.column,
                )
            if capabilities is not None:
                raise VaultPolicyParseError(
                    f'capabilities given twice in path "{path}"', name.line, name.column
                )
            self._expect("=", "'=' after capabilities")
            capabilities = self._list(path)
        self._expect("}", f'"}}" closing path "{path}"')
        if capabilities is None:
            raise VaultPolicyParseError(
                f'path "{path}" has no capabilities', keyword.line, keyword.column
            )
        return PathRule(path, capabilities, keyword.line)

    def _list(self, path: str) -> tuple[str, ...]:
        self._expect("[", f'"[" opening the capabilities of path "{path}"')
        items: list[str] = []
        while True:
            token = self._peek()
            if token is not None and token.kind == "]":
                break
            items.append(self._expect("string", "a quoted capability").value)
            token = self._peek()
            if token is not None and token.kind == ",":
                self._take()
            elif token is None or token.kind != "]":
                self._expect("]", f'"," or "]" in the capabilities of path "{path}"')
        self._expect("]", "']'")
        return tuple(items)


def _parse_json(text: str) -> list[PathRule]:
    """Vault's JSON form: ``{"path": {"<glob>": {"capabilities": [...]}}}``."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VaultPolicyParseError(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    if not isinstance(doc, dict) or set(doc) - {"path"}:
        raise VaultPolicyParseError('a JSON Vault policy is an object with one key, "path"')
    paths = doc.get("path", {})
    if not isinstance(paths, dict):
        raise VaultPolicyParseError('"path" must map each glob to its block')
    rules: list[PathRule] = []
    for glob, block in paths.items():
        if not isinstance(block, dict) or set(block) != {"capabilities"}:
            raise VaultPolicyParseError(f'path "{glob}" must be an object with capabilities only')
        caps = block["capabilities"]
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            raise VaultPolicyParseError(f'capabilities of path "{glob}" must be a list of strings')
        rules.append(PathRule(glob, tuple(caps)))
    return rules


def parse_vault_policy(text: str) -> list[PathRule]:
    """Every path block of a Vault policy, in order; raises :class:`VaultPolicyParseError`."""
    if text.lstrip().startswith("{"):
        return _parse_json(text)
    return _Parser(text).policy()


# --- globs -------------------------------------------------------------------------------------


def has_wildcard(path: str) -> bool:
    """True when the path holds a glob character, ``*`` or ``+``."""
    return any(w in path for w in WILDCARDS)


def glob_matches(glob: str, path: str) -> bool:
    """Whether a Vault policy glob matches a request path.

    ``+`` as a whole segment matches exactly one segment; a trailing ``*`` matches any suffix
    (Vault supports ``*`` only at the end of a path). Everything else is literal.
    """
    prefix_match = glob.endswith("*")
    body = glob[:-1] if prefix_match else glob
    pattern = "/".join(
        "[^/]+" if segment == "+" else re.escape(segment) for segment in body.split("/")
    )
    return re.fullmatch(pattern + (".*" if prefix_match else ""), path) is not None


def _is_sys_root(path: str) -> bool:
    """``sys``, ``sys/`` or ``sys/*``: the whole system backend."""
    return path.rstrip("/") == "sys" or path == "sys/*"


def _reaches_sys(path: str) -> bool:
    """A glob ending in a wildcard that can match something under ``sys/``.

    The literal part before the first wildcard decides: ``sys/policy/*`` and ``sys*`` reach
    ``sys/``, and so do ``*`` and ``+/*``, which match every path.
    """
    if not path.endswith(WILDCARDS):
        return False
    cut = min((path.find(w) for w in WILDCARDS if w in path), default=len(path))
    literal = path[:cut]
    return "sys/".startswith(literal) or literal.startswith("sys/")


# --- the rule ----------------------------------------------------------------------------------


def violations_of(rules: list[PathRule]) -> Iterator[str]:
    """One message per least-privilege problem of parsed path blocks."""
    if not rules:
        yield "a Vault policy without rules: the text holds no path block"
    for rule in rules:
        path, caps = rule.path, rule.capabilities
        where = f"path {path!r}"
        for cap in caps:
            if cap not in VAULT_CAPABILITIES and cap != "root":
                yield f"{where} lists {cap!r}, which is not a Vault capability"
        if "deny" in caps:
            continue  # deny overrides every other capability: the block grants nothing
        for cap in PRIVILEGED:
            if cap in caps:
                yield (
                    f"{where} grants {cap!r}: sudo and root reach Vault's privileged endpoints, "
                    "which no policy managed by the platform may hold"
                )
        granted = [c for c in caps if c in VAULT_CAPABILITIES]
        if _is_sys_root(path):
            if granted:
                yield f"{where} grants {granted} on sys/ itself: never grant the system backend"
            continue
        if granted and _reaches_sys(path):
            yield (
                f"{where} is a wildcard reaching sys/ and grants {granted}: grant exact sys/ "
                "paths only (such as sys/capabilities-self)"
            )
            continue
        writes = [c for c in caps if c in WRITE_CAPABILITIES]
        if writes and has_wildcard(path):
            yield (
                f"{where} holds a wildcard and grants {writes}: write capabilities go on exact "
                "paths only, so a glob cannot reach what nobody reviewed"
            )


def _least_privilege(args: ResourceValidationArgs) -> Iterator[str]:
    text = str_prop(args.props, "policy")
    if text is None or not text.strip():
        yield f"a Vault policy without rules: policy is {'not set' if text is None else 'empty'}"
        return
    try:
        rules = parse_vault_policy(text)
    except VaultPolicyParseError as exc:
        yield f"policy is not a Vault policy this rule can read ({exc}): fix the text"
        return
    yield from violations_of(rules)


vault_policy_least_privilege = resource_policy(
    name="vault-policy-least-privilege",
    description=(
        "Platform rule (no checkov ID covers Vault): Vault ACL policies grant no sudo or root, "
        "no write capability on a wildcard path, and nothing on sys/ or a wildcard under sys/; "
        "a policy text that cannot be parsed is a violation."
    ),
    enforcement=MANDATORY,
    applies_to={POLICY},
    check=_least_privilege,
)

POLICIES: list[Policy] = [vault_policy_least_privilege]
