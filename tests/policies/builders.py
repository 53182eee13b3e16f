"""Small builders for policy tests: resources, stack graphs, IAM documents, and a runner.

Every test goes through :func:`offline.evaluate.evaluate`, the same path the offline engine
uses, so props are proxied, unknowns become notes and policy crashes become ``error`` findings.
"""

from __future__ import annotations

import importlib
import json
import keyword
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.type_token import get_type_token
from pulumi_policy import Policy

from offline.evaluate import Finding, evaluate
from offline.graph import UNKNOWN, Resource, StackGraph

PROJECT = "ttbt2-platform"
__all__ = [
    "UNKNOWN",
    "allow",
    "deny",
    "doc",
    "findings_for",
    "resource",
    "sdk_resource_class",
    "urn",
    "violations",
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
