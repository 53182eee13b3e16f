r"""The runbooks and DR playbooks act on resources the stacks create.

Every command in ``docs/runbooks/*.md`` and ``docs/dr/*.md`` (inline code spans and fenced
blocks, ``\``-continued lines joined) is split into ``aws ...`` and ``kubectl ...`` commands, and
these names are taken from them:

- ``aws wafv2 get-ip-set|update-ip-set|delete-ip-set --name X``: WAF IP set ``X`` (its ``name``);
- ``aws wafv2 get-web-acl|update-web-acl|delete-web-acl --name X``: web ACL ``X``;
- in a ``--query``, ``IPSets[?Name=='X']`` (an IP set) and ``WebACLs[?Name=='X']`` or
  ``WebACLs[?starts_with(Name, 'X')]`` (a web ACL whose name, or Pulumi's auto-name, starts
  with ``X``);
- ``aws wafv2 ... --scope S``: some WAF web ACL or IP set of the stack has scope ``S``;
- ``aws logs ... --log-group-name X``: a CloudWatch log group named ``X``;
- ``kubectl ... -n X`` / ``--namespace X`` / ``--namespace=X``: a Namespace ``X`` of the stack
  (or one Kubernetes creates itself).

An AWS name must also be reached in its region: a resource of a provider other than the stack's
main one (``aws-primary``), the WAF's us-east-1 above all, needs ``--region <its region>`` in the
command, and a command's ``--region`` must be the resource's.

Which stack: a name with ``<env>`` must exist in every stack, ``<env>`` replaced by the stack's
name; a name that spells ``ttbt2-<stack>-`` in one stack's graph; any other name in prod. Names
with another placeholder (``<service>``, ``<cluster>``) or a shell variable cannot be resolved
and are left out.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from offline.graph import Resource, StackGraph
from tests.conftest import ROOT, render

STACKS = ("dev", "staging", "prod")
DEFAULT_STACK = "prod"
DOCS = sorted([*(ROOT / "docs" / "runbooks").glob("*.md"), *(ROOT / "docs" / "dr").glob("*.md")])

IP_SET = "aws:wafv2/ipSet:IpSet"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
NAMESPACE = "kubernetes:core/v1:Namespace"
MAIN_PROVIDER = "aws-primary"
BUILT_IN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})

_FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.M | re.S)
"""A fenced block, indented too (inside a list item)."""
_SPAN = re.compile(r"`([^`]+)`")
_SEPARATORS = frozenset({"|", "||", "&&", ";"})
_IP_SET_QUERY = re.compile(r"IPSets\[\?Name\s*==\s*'([^']+)'\]")
_WEB_ACL_QUERY = re.compile(
    r"WebACLs\[\?(?:Name\s*==\s*'([^']+)'|starts_with\(Name,\s*'([^']+)'\))\]"
)
_IP_SET_OPS = frozenset({"get-ip-set", "update-ip-set", "delete-ip-set"})
_WEB_ACL_OPS = frozenset({"get-web-acl", "update-web-acl", "delete-web-acl"})
_LITERAL_STACK = re.compile(r"\bttbt2-(" + "|".join(STACKS) + r")-")


@dataclass(frozen=True)
class Reference:
    """One resource a command names: its kind, name and the command's ``--region``."""

    kind: str
    """``ip-set``, ``web-acl``, ``web-acl-prefix``, ``waf-scope``, ``log-group`` or ``namespace``."""
    name: str
    region: str | None
    where: str

    def stacks(self) -> list[tuple[str, str]]:
        """``(stack, name in that stack)`` pairs this reference must hold in."""
        if "<env>" in self.name:
            return [(s, self.name.replace("<env>", s)) for s in STACKS]
        literal = _LITERAL_STACK.search(self.name)
        return [(literal.group(1) if literal else DEFAULT_STACK, self.name)]


def snippets(text: str) -> Iterator[str]:
    """Fenced blocks line by line (continuations joined), then the inline code spans."""
    for block in _FENCE.findall(text):
        yield from re.sub(r"\\\n\s*", " ", block).splitlines()
    yield from (span.replace("\n", " ") for span in _SPAN.findall(_FENCE.sub("", text)))


def commands(snippet: str) -> Iterator[list[str]]:
    """The ``aws``/``kubectl`` commands of a snippet, as tokens, comments dropped."""
    line = re.sub(r"\s#\s.*$", "", snippet)
    try:
        tokens = shlex.split(line)
    except ValueError:  # an unbalanced quote in prose: plain words are enough for flags
        tokens = line.split()
    current: list[str] | None = None
    for token in tokens:
        if token in ("aws", "kubectl") and current is None:
            current = [token]
        elif token in _SEPARATORS:
            if current:
                yield current
            current = None
        elif current is not None:
            current.append(token)
    if current:
        yield current


def _options(tokens: list[str]) -> dict[str, str]:
    """``--key value``, ``--key=value`` and ``-n value`` of a command."""
    options: dict[str, str] = {}
    for i, token in enumerate(tokens):
        if token.startswith("--") and "=" in token:
            key, value = token.split("=", 1)
            options[key] = value
        elif token.startswith("-") and i + 1 < len(tokens):
            options.setdefault(token, tokens[i + 1])
    return options


def references(text: str, where: str) -> Iterator[Reference]:
    """Every resource the commands of ``text`` name."""
    for snippet in snippets(text):
        for tokens in commands(snippet):
            options = _options(tokens)
            region = options.get("--region")

            def ref(kind: str, name: str, region: str | None = region) -> Reference:
                return Reference(kind, name, region, where)

            if tokens[0] == "kubectl":
                namespace = options.get("-n") or options.get("--namespace")
                if namespace:
                    yield ref("namespace", namespace, None)
                continue
            service, operation = [*tokens[1:3], "", ""][:2]
            if service == "wafv2":
                if operation in _IP_SET_OPS and "--name" in options:
                    yield ref("ip-set", options["--name"])
                if operation in _WEB_ACL_OPS and "--name" in options:
                    yield ref("web-acl", options["--name"])
                if "--scope" in options:
                    yield ref("waf-scope", options["--scope"])
                query = options.get("--query", "")
                for name in _IP_SET_QUERY.findall(query):
                    yield ref("ip-set", name)
                for exact, prefix in _WEB_ACL_QUERY.findall(query):
                    yield ref("web-acl", exact) if exact else ref("web-acl-prefix", prefix)
            elif service == "logs" and "--log-group-name" in options:
                yield ref("log-group", options["--log-group-name"])


def _resolvable(name: str) -> bool:
    return "$" not in name and re.search(r"<[^>]+>", name.replace("<env>", "")) is None


def _doc_references() -> list[Reference]:
    """Each distinct resolvable reference of every document, in document order."""
    found = (
        r
        for path in DOCS
        for r in references(path.read_text(), str(path.relative_to(ROOT)))
        if _resolvable(r.name)
    )
    return list(dict.fromkeys(found))


ALL_REFERENCES = _doc_references()


def _matches(kind: str, name: str, graph: StackGraph) -> list[Resource]:
    """The resources of ``graph`` a reference of ``kind`` to ``name`` means."""
    res = graph.resources
    if kind == "ip-set":
        return [r for r in res if r.type == IP_SET and r.props.get("name") == name]
    if kind in ("web-acl", "web-acl-prefix"):
        # Without a ``name`` input, AWS sees Pulumi's auto-name: the logical name plus a suffix.
        def acl_name(r: Resource) -> str:
            return str(r.props.get("name") or r.name)

        if kind == "web-acl":
            return [r for r in res if r.type == WEB_ACL and r.props.get("name") == name]
        return [r for r in res if r.type == WEB_ACL and acl_name(r).startswith(name)]
    if kind == "waf-scope":
        return [r for r in res if r.type in (WEB_ACL, IP_SET) and r.props.get("scope") == name]
    if kind == "log-group":
        return [r for r in res if r.type == LOG_GROUP and r.props.get("name") == name]
    if kind == "namespace":
        return [
            r
            for r in res
            if r.type == NAMESPACE and (r.props.get("metadata") or {}).get("name") == name
        ]
    raise ValueError(f"unknown reference kind {kind!r}")


def _region_of(resource: Resource, graph: StackGraph) -> tuple[str, bool]:
    """(region of the resource's provider, whether that is the stack's main provider)."""
    provider_urn = (resource.provider or "").rsplit("::", 1)[0]
    provider = next(r for r in graph.resources if r.urn == provider_urn)
    return str(provider.props.get("region")), provider.name == MAIN_PROVIDER


def problems(ref: Reference, graphs: dict[str, StackGraph]) -> list[str]:
    """What the stacks lack for ``ref``; empty when every stack it concerns has it."""
    found = []
    for stack, name in ref.stacks():
        graph = graphs[stack]
        if ref.kind == "namespace" and name in BUILT_IN_NAMESPACES:
            continue
        matches = _matches(ref.kind, name, graph)
        if not matches:
            found.append(f"{ref.where}: {stack} has no {ref.kind} {name!r}")
            continue
        if ref.kind == "namespace":
            continue
        regions = {_region_of(m, graph) for m in matches}
        if not any(
            region == ref.region or (main and ref.region is None) for region, main in regions
        ):
            wanted = " or ".join(sorted(r for r, _ in regions))
            found.append(
                f"{ref.where}: {ref.kind} {name!r} of {stack} is in {wanted}; the command says "
                f"--region {ref.region}"
            )
    return found


def _graphs() -> dict[str, StackGraph]:
    return {stack: render(stack) for stack in STACKS}


@pytest.mark.parametrize(
    "ref", ALL_REFERENCES, ids=lambda r: f"{Path(r.where).stem}:{r.kind}:{r.name}"
)
def test_named_resource_exists(ref: Reference) -> None:
    assert problems(ref, _graphs()) == []


def test_the_runbooks_name_every_kind_of_resource() -> None:
    """The patterns above still find something: a rewording cannot empty the check."""
    kinds = {r.kind for r in ALL_REFERENCES}
    assert {"ip-set", "web-acl-prefix", "waf-scope", "log-group", "namespace"} <= kinds
    assert any(r.name == "ttbt2-<env>-blocked" for r in ALL_REFERENCES)


def test_fenced_blocks_and_spans_are_read() -> None:
    text = (
        "Run `kubectl -n monitoring get pods | grep x` and:\n\n"
        "```sh\n"
        "aws logs tail --region us-east-1 \\\n"
        "  --log-group-name aws-waf-logs-ttbt2-<env>-edge   # the WAF log\n"
        "kubectl get pods --namespace=velero\n"
        "```\n"
    )
    assert sorted((r.kind, r.name, r.region) for r in references(text, "x.md")) == [
        ("log-group", "aws-waf-logs-ttbt2-<env>-edge", "us-east-1"),
        ("namespace", "monitoring", None),
        ("namespace", "velero", None),
    ]


BROKEN = [
    # The IP set the runbooks used to name, which no stack creates, in the wrong scope.
    "`aws wafv2 update-ip-set --name ttbt2-blocked --scope REGIONAL --id <id>`",
    # The right set, without the region where CloudFront's WAF lives.
    "`aws wafv2 update-ip-set --name ttbt2-<env>-blocked --scope CLOUDFRONT --id <id>`",
    # A namespace no stack creates.
    "`kubectl -n payments get pods`",
    # A log group of the main region asked for in us-east-1.
    "`aws logs tail /x --region us-east-1 --log-group-name /aws/eks/ttbt2-prod/cluster`",
]


@pytest.mark.parametrize("text", BROKEN)
def test_a_runbook_naming_what_no_stack_creates_fails(text: str) -> None:
    refs = list(references(text, "broken.md"))
    assert refs
    assert any(problems(r, _graphs()) for r in refs)
