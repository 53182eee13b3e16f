"""The policy-test harness: builders for resources, graphs and IAM documents, a runner, checks.

Every test goes through :func:`offline.evaluate.evaluate`, the same path the offline engine
uses, so props are proxied, unknowns become notes and policy crashes become ``error`` findings.

Rule families are tested from a compliant resource: each rule has a case where the compliant
resource passes, cases where one changed property is a violation, and cases where a missing
property reads the cloud's default. The ``assert_*`` checks below are the one definition of
what each kind of case must find, and :func:`case_ids` names parametrized cases uniformly.
"""

from __future__ import annotations

import importlib
import json
import keyword
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi.type_token import get_type_token
from pulumi_policy import Policy

from offline.evaluate import Finding, evaluate
from offline.graph import UNKNOWN, Resource, StackGraph

PROJECT = "ttbt2-platform"
__all__ = [
    "UNKNOWN",
    "allow",
    "assert_compliant",
    "assert_missing",
    "assert_unknown_is_a_note",
    "assert_violation",
    "assert_wrong_type",
    "case_ids",
    "deny",
    "doc",
    "findings_for",
    "resource",
    "sdk_resource_class",
    "urn",
    "violations",
    "without_none",
]


def urn(type_: str, name: str, stack: str = "dev") -> str:
    """The URN of a top-level resource of this project."""
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def resource(
    type_: str,
    props: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    stack: str = "dev",
    protect: bool | None = False,
    dependencies: Iterable[Resource] = (),
    provider: Resource | None = None,
) -> Resource:
    """A custom resource; ``protect=None`` leaves the option out of the options entirely."""
    name = name or type_.rsplit(":", 1)[-1].lower()
    return Resource(
        urn=urn(type_, name, stack),
        type=type_,
        name=name,
        props=dict(props or {}),
        options={} if protect is None else {"protect": protect},
        dependencies=[d.urn for d in dependencies],
        provider=f"{provider.urn}::provider-id" if provider else None,
    )


def findings_for(
    policy: Policy,
    resources: Iterable[Resource],
    *,
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
) -> list[Finding]:
    """Run one policy over a stack made of ``resources``; ``config`` is that policy's config."""
    graph = StackGraph(project=PROJECT, stack=stack, resources=list(resources))
    return evaluate(graph, [policy], config={policy.name: dict(config)} if config else None)


def violations(findings: Iterable[Finding]) -> list[Finding]:
    """Only the violations (not notes or errors)."""
    return [f for f in findings if f.kind == "violation"]


def doc(*statements: Mapping[str, Any], as_json: bool = True) -> str | dict[str, Any]:
    """A 2012-10-17 policy document, as a JSON string (default) or a dict."""
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return json.dumps(document) if as_json else document


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    """An Allow statement; ``resource=None`` leaves Resource out (trust policies)."""
    stmt: dict[str, Any] = {"Effect": "Allow", "Action": action, **extra}
    if resource is not None:
        stmt["Resource"] = resource
    return stmt


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    """A Deny statement."""
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def sdk_resource_class(type_: str) -> type:
    """The installed pulumi_aws class of a type token; fails when the token does not exist."""
    module_path, class_name = type_.removeprefix("aws:").split(":")
    module_name = module_path.split("/")[0]
    if keyword.iskeyword(module_name):
        module_name += "_"
    module = importlib.import_module(f"pulumi_aws.{module_name}")
    cls = getattr(module, class_name)
    assert get_type_token(cls) == type_, f"{type_} is {get_type_token(cls)} in the SDK"
    return cls


# --- the harness ---------------------------------------------------------------------------------


def without_none(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied, where a change to ``None`` removes the property."""
    merged = {**base, **changes}
    return {key: value for key, value in merged.items() if value is not None}


def case_ids(cases: Sequence[Sequence[Any]]) -> list[str]:
    """Test ids ``<policy name>-<index>`` for case rows whose first item is the policy."""
    return [f"{row[0].name}-{index}" for index, row in enumerate(cases)]


def assert_compliant(found: Sequence[Finding]) -> None:
    """The compliant case: the rule has nothing to say."""
    assert list(found) == [], [f.message for f in found]


def assert_violation(
    found: Sequence[Finding],
    policy: Policy,
    expected: str,
    *,
    mandatory: bool = False,
    only: bool = True,
) -> None:
    """The violating case: ``policy`` reports a violation whose message contains ``expected``.

    ``only`` (the default) requires exactly one finding; otherwise every finding must be a
    violation of ``policy`` and one of them must say ``expected``. ``mandatory`` also requires
    the mandatory enforcement level.
    """
    assert found, f"expected a violation of {policy.name}"
    if only:
        assert len(found) == 1, [f.message for f in found]
    for finding in found:
        assert finding.kind == "violation", finding
        assert finding.policy == policy.name, finding
        if mandatory:
            assert finding.enforcement == "mandatory", finding
    assert any(expected in f.message for f in found), [f.message for f in found]


def assert_missing(
    found: Sequence[Finding], policy: Policy, expected: str | None, *, only: bool = True
) -> None:
    """The missing-property case: the cloud's default decides.

    ``expected`` is the message of the violation when the default is unsafe, ``None`` when the
    default is safe and the rule must stay quiet.
    """
    if expected is None:
        assert_compliant(found)
    else:
        assert_violation(found, policy, expected, only=only)


def assert_wrong_type(found: Sequence[Finding], expected: str) -> None:
    """A property of the wrong type is one violation naming the problem, never a crash."""
    assert [f.kind for f in found] == ["violation"], found
    assert expected in found[0].message, found[0].message


def assert_unknown_is_a_note(found: Sequence[Finding], policy: Policy) -> None:
    """A value unknown during preview is one note of ``policy``: the rule waits for the value."""
    assert [(f.kind, f.policy) for f in found] == [("note", policy.name)], found
