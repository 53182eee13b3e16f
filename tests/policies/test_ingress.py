"""Internet-facing ALB Ingresses: source restriction, access logs, deletion protection in prod."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s
import pytest
from pulumi.type_token import get_type_token
from pulumi_policy import Policy

from policies.ttbt2_policies.ingress import (
    INGRESS,
    access_logs,
    deletion_protection,
    source_restricted,
)
from tests.support.policies import (
    assert_compliant,
    assert_missing,
    assert_violation,
    assert_wrong_type,
    case_ids,
    findings_for,
    resource,
)

A = "alb.ingress.kubernetes.io/"
ATTRIBUTES = (
    "access_logs.s3.enabled=true,access_logs.s3.bucket=ttbt2-prod-logs-1,"
    "access_logs.s3.prefix=alb/ttbt2-prod,deletion_protection.enabled=true"
)
BASE_NOTES: dict[str, Any] = {
    f"{A}scheme": "internet-facing",
    f"{A}security-group-prefix-lists": "pl-4fa04526",
    f"{A}load-balancer-attributes": ATTRIBUTES,
}


def ingress(notes: dict[str, Any] | None = None, *, stack: str = "prod", **spec: Any) -> Any:
    """An Ingress of class alb whose annotations are BASE_NOTES with ``notes`` (None removes)."""
    merged = {**BASE_NOTES, **(notes or {})}
    annotations = {k: v for k, v in merged.items() if v is not None}
    props = {
        "metadata": {"name": "api", "namespace": "api", "annotations": annotations},
        "spec": {"ingressClassName": "alb", **spec},
    }
    return resource(INGRESS, props, name="api-ingress", stack=stack)


def run(policy: Policy, res: Any, stack: str = "prod") -> list[Any]:
    return findings_for(policy, [res], stack=stack)


def test_the_token_is_the_sdk_ingress() -> None:
    assert get_type_token(k8s.networking.v1.Ingress) == INGRESS


COMPLIANT = [
    (source_restricted, {}),
    (
        source_restricted,
        {f"{A}security-group-prefix-lists": None, f"{A}inbound-cidrs": "10.0.0.0/8"},
    ),
    (source_restricted, {f"{A}security-group-prefix-lists": None, f"{A}security-groups": "sg-1"}),
    (access_logs, {}),
    (deletion_protection, {}),
]


@pytest.mark.parametrize(("policy", "notes"), COMPLIANT, ids=case_ids(COMPLIANT))
def test_compliant(policy: Policy, notes: dict[str, Any]) -> None:
    assert_compliant(run(policy, ingress(notes)))


VIOLATIONS = [
    (source_restricted, {f"{A}inbound-cidrs": "10.0.0.0/8, 0.0.0.0/0"}, "admits everyone"),
    (
        source_restricted,
        {f"{A}security-group-prefix-lists": None, f"{A}inbound-cidrs": "::/0"},
        "admits everyone (::/0)",
    ),
    (source_restricted, {f"{A}security-group-prefix-lists": " , "}, "no source restriction"),
    (
        access_logs,
        {f"{A}load-balancer-attributes": "access_logs.s3.enabled=false"},
        "access_logs.s3.enabled=true",
    ),
    (
        access_logs,
        {f"{A}load-balancer-attributes": "access_logs.s3.enabled=true"},
        "without access_logs.s3.bucket",
    ),
    (
        deletion_protection,
        {f"{A}load-balancer-attributes": "deletion_protection.enabled=false"},
        "deletion_protection.enabled=true in production stack 'prod'",
    ),
]


@pytest.mark.parametrize(("policy", "notes", "expected"), VIOLATIONS, ids=case_ids(VIOLATIONS))
def test_violations_are_mandatory(policy: Policy, notes: dict[str, Any], expected: str) -> None:
    assert_violation(run(policy, ingress(notes)), policy, expected, mandatory=True)


# The annotation a rule reads, left out of an internet-facing Ingress: the controller's
# default (open to 0.0.0.0/0, no access logs, deletable) is a violation.
MISSING = [
    (source_restricted, f"{A}security-group-prefix-lists", "no source restriction"),
    (access_logs, f"{A}load-balancer-attributes", "access_logs.s3.enabled=true"),
    (deletion_protection, f"{A}load-balancer-attributes", "deletion_protection.enabled=true"),
]


@pytest.mark.parametrize(("policy", "key", "expected"), MISSING, ids=case_ids(MISSING))
def test_missing_annotation_is_the_unsafe_default(policy: Policy, key: str, expected: str) -> None:
    assert_missing(run(policy, ingress({key: None})), policy, expected)


@pytest.mark.parametrize("policy", [source_restricted, access_logs, deletion_protection])
def test_without_a_scheme_the_load_balancer_is_internal(policy: Policy) -> None:
    """The controller's default scheme is internal: no annotations at all is not public."""
    bare = resource(INGRESS, {"metadata": {"name": "gw"}, "spec": {"ingressClassName": "alb"}})
    assert_missing(run(policy, bare), policy, None)
    internal = ingress(
        {
            f"{A}scheme": "internal",
            f"{A}security-group-prefix-lists": None,
            f"{A}load-balancer-attributes": None,
        }
    )
    assert_compliant(run(policy, internal))


@pytest.mark.parametrize("policy", [source_restricted, access_logs, deletion_protection])
def test_other_ingress_classes_are_not_judged(policy: Policy) -> None:
    nginx = ingress({f"{A}security-group-prefix-lists": None, f"{A}load-balancer-attributes": None})
    nginx.props["spec"]["ingressClassName"] = "nginx"
    assert_compliant(run(policy, nginx))


def test_the_legacy_class_annotation_counts() -> None:
    legacy = ingress(
        {"kubernetes.io/ingress.class": "alb", f"{A}security-group-prefix-lists": None}
    )
    del legacy.props["spec"]["ingressClassName"]
    assert_violation(run(source_restricted, legacy), source_restricted, "no source restriction")


def test_deletion_protection_is_asked_of_production_stacks_only() -> None:
    dev = ingress({f"{A}load-balancer-attributes": "access_logs.s3.enabled=true"}, stack="dev")
    assert_compliant(findings_for(deletion_protection, [dev], stack="dev"))
    config = {"productionStacks": ["dev"]}
    found = findings_for(deletion_protection, [dev], stack="dev", config=config)
    assert_violation(found, deletion_protection, "production stack 'dev'")


def test_an_annotation_of_the_wrong_type_is_a_violation() -> None:
    assert_wrong_type(
        run(source_restricted, ingress({f"{A}inbound-cidrs": ["10.0.0.0/8"]})), "a string"
    )
