"""The policy evaluator: type dispatch, views built once, the same findings as without dispatch."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import pytest
from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from offline import evaluate as evaluate_module
from offline.evaluate import applies_to, evaluate
from offline.graph import Resource, StackGraph
from policies.ttbt2_policies import ALL_POLICIES
from policies.ttbt2_policies.common import MANDATORY, resource_policy
from tests.conftest import render

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"


def _graph() -> StackGraph:
    kinds = [BUCKET, KEY, ROLE, BUCKET, KEY]
    resources = [
        Resource(urn=f"urn:pulumi:dev::p::{t}::r{i}", type=t, name=f"r{i}", props={"n": i})
        for i, t in enumerate(kinds)
    ]
    return StackGraph("p", "dev", resources)


def _recorder(
    seen: list[str], declared: Collection[str] | Callable[[str], bool] | None
) -> ResourceValidationPolicy:
    """A policy that records every resource it is handed and reports each one."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        seen.append(args.urn)
        report(f"saw {args.name}", None)

    policy = ResourceValidationPolicy("recorder", "records", validate, MANDATORY)
    if declared is not None:
        policy.applies_to = declared  # type: ignore[attr-defined]
    return policy


def test_a_policy_that_declares_types_sees_only_resources_of_those_types() -> None:
    seen: list[str] = []
    findings = evaluate(_graph(), [_recorder(seen, {BUCKET, ROLE})])
    assert [u.rsplit("::", 1)[1] for u in seen] == ["r0", "r2", "r3"]
    assert [f.message for f in findings] == ["saw r0", "saw r2", "saw r3"]


def test_a_policy_may_declare_its_types_as_a_predicate() -> None:
    seen: list[str] = []
    evaluate(_graph(), [_recorder(seen, lambda t: t.startswith("aws:kms/"))])
    assert [u.rsplit("::", 1)[1] for u in seen] == ["r1", "r4"]


def test_a_policy_without_declared_types_sees_every_resource() -> None:
    seen: list[str] = []
    evaluate(_graph(), [_recorder(seen, None)])
    assert [u.rsplit("::", 1)[1] for u in seen] == ["r0", "r1", "r2", "r3", "r4"]


def test_without_dispatch_every_policy_sees_every_resource() -> None:
    seen: list[str] = []
    evaluate(_graph(), [_recorder(seen, {KEY})], dispatch=False)
    assert len(seen) == 5


def test_a_declaration_that_raises_leaves_the_policy_to_report_its_own_error() -> None:
    def broken(_: str) -> bool:
        raise RuntimeError("bad predicate")

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if broken(args.resource_type):
            report("never", None)

    policy = ResourceValidationPolicy("broken", "raises", validate, MANDATORY)
    policy.applies_to = broken  # type: ignore[attr-defined]
    findings = evaluate(_graph(), [policy])
    assert [f.kind for f in findings] == ["error"] * 5
    assert findings == evaluate(_graph(), [policy], dispatch=False)


def test_the_pack_builder_declares_the_types_a_policy_checks() -> None:
    policy = resource_policy(
        name="only-keys",
        description="d",
        enforcement=MANDATORY,
        applies_to={KEY},
        check=lambda _args: ["a key"],
    )
    accepts = applies_to(policy)
    assert accepts is not None and accepts(KEY) and not accepts(BUCKET)
    assert [f.urn.rsplit("::", 1)[1] for f in evaluate(_graph(), [policy])] == ["r1", "r4"]


def test_every_resource_policy_of_the_pack_declares_its_types() -> None:
    resource_policies = [p for p in ALL_POLICIES if isinstance(p, ResourceValidationPolicy)]
    assert resource_policies
    assert all(applies_to(p) is not None for p in resource_policies)


def test_props_are_unwrapped_and_proxied_once_per_resource_for_every_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[Any] = []
    real = evaluate_module.unknown_checking_proxy

    def counting(props: dict[str, Any]) -> Any:
        built.append(props)
        return real(props)

    monkeypatch.setattr(evaluate_module, "unknown_checking_proxy", counting)
    stacks: list[StackValidationArgs] = []

    def stack_check(args: StackValidationArgs, _report: ReportViolation) -> None:
        stacks.append(args)

    policies = [
        _recorder([], None),
        _recorder([], {BUCKET}),
        StackValidationPolicy("s1", "stack", stack_check, MANDATORY),
        StackValidationPolicy("s2", "stack", stack_check, MANDATORY),
    ]
    evaluate(_graph(), policies)
    assert len(built) == 5
    # Both stack policies were handed the same resources, built once.
    assert stacks[0].resources is stacks[1].resources
    assert [r.props["n"] for r in stacks[0].resources] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("preview", [False, True])
def test_dispatch_finds_exactly_what_every_policy_on_every_resource_finds(preview: bool) -> None:
    # prod: the production-only policies apply; preview mode: unknown values become notes.
    graph = render("prod", preview=preview)
    dispatched = evaluate(graph, ALL_POLICIES)
    assert dispatched == evaluate(graph, ALL_POLICIES, dispatch=False)
    if preview:
        assert any(f.kind == "note" for f in dispatched)


def test_a_secret_masked_in_a_graph_file_is_unknown_to_the_policies() -> None:
    """A graph read back from its file holds ``[secret]``, never the value: rules wait for it."""
    from offline.graph import MASK, SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, unwrap_secrets
    from policies.ttbt2_policies.cloudfront import s3_origin_access_control

    masked = {SECRET_SIG_KEY: SECRET_SIG, "value": MASK}
    kept = {SECRET_SIG_KEY: SECRET_SIG, "value": [{"originId": "a"}]}
    assert unwrap_secrets({"origins": masked, "other": kept}) == {
        "origins": UNKNOWN,
        "other": [{"originId": "a"}],
    }
    dist = Resource(
        urn="urn:pulumi:prod::p::aws:cloudfront/distribution:Distribution::d",
        type="aws:cloudfront/distribution:Distribution",
        name="d",
        props={"origins": masked},
    )
    found = evaluate(
        StackGraph(project="p", stack="prod", resources=[dist]), [s3_origin_access_control]
    )
    assert [(f.kind, f.policy) for f in found] == [("note", s3_origin_access_control.name)]
