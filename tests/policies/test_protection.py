"""Protection (mandatory platform rule): stateful resources of production stacks are protected."""

from __future__ import annotations

import pytest

from policies.ttbt2_policies.protection import STATEFUL_TYPES, protect_stateful_resources
from tests.support.policies import findings_for, resource, sdk_resource_class, violations

SEARCH_DOMAINS = ["aws:opensearch/domain:Domain", "aws:elasticsearch/domain:Domain"]
STATEFUL = sorted(STATEFUL_TYPES) + SEARCH_DOMAINS


@pytest.mark.parametrize("type_", STATEFUL)
def test_protected_stateful_resource_in_prod_is_compliant(type_: str) -> None:
    res = resource(type_, {}, stack="prod", protect=True)
    assert findings_for(protect_stateful_resources, [res], stack="prod") == []


@pytest.mark.parametrize("type_", STATEFUL)
def test_unprotected_stateful_resource_in_prod_is_a_violation(type_: str) -> None:
    res = resource(type_, {}, name="data", stack="prod", protect=False)
    [finding] = findings_for(protect_stateful_resources, [res], stack="prod")
    assert finding.policy == "aws-protect-stateful-resources"
    assert finding.enforcement == "mandatory"
    assert "not protected" in finding.message and "'prod'" in finding.message


def test_missing_protect_option_counts_as_unprotected() -> None:
    res = resource("aws:kms/key:Key", {}, stack="prod-dr", protect=None)
    assert len(violations(findings_for(protect_stateful_resources, [res], stack="prod-dr"))) == 1


@pytest.mark.parametrize("stack", ["dev", "staging", "production-test"])
def test_non_production_stacks_are_not_applicable(stack: str) -> None:
    res = resource("aws:rds/instance:Instance", {}, stack=stack, protect=False)
    assert findings_for(protect_stateful_resources, [res], stack=stack) == []


def test_stateless_resources_are_not_concerned() -> None:
    res = resource("aws:ec2/subnet:Subnet", {}, stack="prod", protect=False)
    assert findings_for(protect_stateful_resources, [res], stack="prod") == []


def test_production_stacks_come_from_config() -> None:
    live = resource("aws:dynamodb/table:Table", {}, stack="live", protect=False)
    prod = resource("aws:dynamodb/table:Table", {}, stack="prod", protect=False)
    config = {"productionStacks": ["live"]}
    assert (
        len(
            violations(
                findings_for(protect_stateful_resources, [live], stack="live", config=config)
            )
        )
        == 1
    )
    assert findings_for(protect_stateful_resources, [prod], stack="prod", config=config) == []


def test_production_stacks_config_is_declared_with_its_default() -> None:
    schema = protect_stateful_resources.config_schema
    assert schema is not None
    assert schema.properties["productionStacks"]["default"] == ["prod", "prod-dr"]


def test_stateful_types_exist_in_the_installed_sdk() -> None:
    for type_ in STATEFUL:
        sdk_resource_class(type_)


def test_malformed_config_is_reported_as_a_policy_error() -> None:
    """The engine validates config against the schema first; offline, it is a loud error."""
    res = resource("aws:kms/key:Key", {}, stack="prod")
    found = findings_for(
        protect_stateful_resources, [res], stack="prod", config={"productionStacks": "prod"}
    )
    assert [f.kind for f in found] == ["error"]
    assert "productionStacks must be a list" in found[0].message
