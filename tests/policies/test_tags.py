"""Tagging (advisory platform rule): environment, owner, cost-center, managed-by."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from offline.graph import Resource
from policies.ttbt2_policies.tags import TAGGABLE_TYPES, required_tags
from tests.support.policies import UNKNOWN, findings_for, resource, sdk_resource_class, violations

TAGS = {
    "environment": "dev",
    "owner": "platform-team",
    "cost-center": "ttbt2-dev",
    "managed-by": "pulumi",
}
VPC = "aws:ec2/vpc:Vpc"


def tagged(type_: str = VPC, provider: Resource | None = None, **changes: Any) -> Resource:
    tags = {**TAGS, "Name": "x", **changes}
    props = {"tags": {k: v for k, v in tags.items() if v is not None}}
    return resource(type_, props, provider=provider)


@pytest.mark.parametrize("type_", sorted(TAGGABLE_TYPES))
def test_fully_tagged_resources_are_compliant(type_: str) -> None:
    assert findings_for(required_tags, [tagged(type_)]) == []


@pytest.mark.parametrize("key", sorted(TAGS))
def test_missing_tag_is_an_advisory_violation(key: str) -> None:
    missing: dict[str, Any] = {key: None}
    [finding] = findings_for(required_tags, [tagged(**missing)])
    assert finding.policy == "aws-required-tags"
    assert finding.enforcement == "advisory" and not finding.blocking
    assert f"missing required tags: {key} " in finding.message


def test_empty_tag_value_counts_as_missing() -> None:
    [finding] = findings_for(required_tags, [tagged(owner="")])
    assert "owner" in finding.message


def test_missing_tags_prop_lists_every_required_tag() -> None:
    [finding] = findings_for(required_tags, [resource(VPC, {"cidrBlock": "10.0.0.0/16"})])
    assert "environment, owner, cost-center, managed-by" in finding.message


def test_types_without_tags_are_not_concerned() -> None:
    res = resource("aws:iam/rolePolicy:RolePolicy", {"policy": "{}"})
    assert findings_for(required_tags, [res]) == []


@pytest.mark.parametrize("as_json", [True, False], ids=["json-string", "object"])
def test_provider_default_tags_count(as_json: bool) -> None:
    default_tags: Any = {"tags": {"owner": "platform-team", "managed-by": "pulumi"}}
    provider = resource(
        "pulumi:providers:aws",
        {
            "region": "eu-west-1",
            "defaultTags": json.dumps(default_tags) if as_json else default_tags,
        },
        name="aws-primary",
    )
    vpc = resource(VPC, {"tags": {"environment": "dev", "cost-center": "c"}}, provider=provider)
    assert findings_for(required_tags, [provider, vpc]) == []
    bare = resource(VPC, {}, name="bare", provider=provider)
    [finding] = findings_for(required_tags, [provider, bare])
    assert "environment, cost-center " in finding.message


def test_tags_of_the_wrong_type_are_a_violation() -> None:
    found = findings_for(required_tags, [resource(VPC, {"tags": ["environment=dev"]})])
    assert [f.kind for f in found] == ["violation"]
    assert "tags must be an object" in found[0].message


def test_unknown_tag_value_is_a_note() -> None:
    [finding] = findings_for(required_tags, [tagged(owner=UNKNOWN)])
    assert finding.kind == "note"
    assert not violations([finding])


@pytest.mark.parametrize("type_", sorted(TAGGABLE_TYPES))
def test_taggable_types_accept_tags_in_the_installed_sdk(type_: str) -> None:
    """Every listed token is a real pulumi_aws resource whose args have ``tags``."""
    cls = sdk_resource_class(type_)
    args_class = getattr(importlib.import_module(cls.__module__), f"{cls.__name__}Args")
    assert isinstance(getattr(args_class, "tags", None), property)


@pytest.mark.parametrize(
    ("default_tags", "expected"),
    [
        ("{not json", "defaultTags is not valid JSON"),
        ("[1]", "defaultTags must be an object"),
        ({"tags": ["owner"]}, "defaultTags.tags must be an object"),
    ],
    ids=["not-json", "array", "tags-array"],
)
def test_malformed_provider_default_tags_are_violations(default_tags: Any, expected: str) -> None:
    provider = resource("pulumi:providers:aws", {"defaultTags": default_tags}, name="aws")
    found = findings_for(required_tags, [provider, tagged(provider=provider)])
    assert [f.kind for f in found] == ["violation"]
    assert expected in found[0].message


def test_provider_without_default_tags_and_other_providers_add_nothing() -> None:
    aws = resource("pulumi:providers:aws", {"region": "eu-west-1"}, name="aws")
    k8s = resource("pulumi:providers:kubernetes", {"defaultTags": {"tags": TAGS}}, name="k8s")
    assert len(violations(findings_for(required_tags, [aws, resource(VPC, {}, provider=aws)]))) == 1
    assert len(violations(findings_for(required_tags, [k8s, resource(VPC, {}, provider=k8s)]))) == 1
