"""The plaintext-secret audit: compliant, violating and missing-property cases."""

from __future__ import annotations

from typing import Any

import pytest

from offline.graph import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, Resource, StackGraph
from offline.secrets_audit import NAME, audit
from tests.conftest import STACKS
from tests.support.stacks import StackRenders


def secret(value: Any) -> dict[str, Any]:
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def graph_of(rtype: str, props: dict[str, Any]) -> StackGraph:
    urn = f"urn:pulumi:dev::ttbt2-platform::{rtype}::r"
    return StackGraph("ttbt2-platform", "dev", [Resource(urn, rtype, "r", props=props)])


RG = "aws:elasticache/replicationGroup:ReplicationGroup"


@pytest.mark.parametrize(
    ("rtype", "props", "flagged"),
    [
        (RG, {"authToken": secret("t0ken")}, []),
        (RG, {"authToken": "t0ken"}, ["authToken"]),
        (RG, {}, []),
        (RG, {"authToken": UNKNOWN}, []),
        (RG, {"authTokenUpdateStrategy": "ROTATE", "kmsKeyId": "arn:aws:kms:x"}, []),
        ("pulumi:providers:vault", {"skipChildToken": "true", "token": secret("t")}, []),
        ("kubernetes:helm.sh/v3:Release", {"values": {"admin": {"existingSecret": "g"}}}, []),
        ("aws:rds/instance:Instance", {"password": "hunter2"}, ["password"]),
        (
            "aws:rds/instance:Instance",
            {"manageMasterUserPassword": True, "masterUserSecretKmsKeyId": "k"},
            [],
        ),
        ("aws:x/y:Z", {"config": {"nested": [{"apiKey": "abc"}]}}, ["config.nested[0].apiKey"]),
        ("aws:x/y:Z", {"config": secret({"apiKey": "abc"})}, []),
        (
            "kubernetes:core/v1:Secret",
            {"stringData": {"user": "u", "pass": secret("p")}},
            ["stringData.user"],
        ),
        ("kubernetes:core/v1:Secret", {"stringData": secret({"user": "u"})}, []),
        (
            "kubernetes:helm.sh/v3:Release",
            {"values": {"auth": {"client_secret": "$__file{/etc/secrets/oidc/client-secret}"}}},
            [],
        ),
        (
            "kubernetes:helm.sh/v3:Release",
            {"values": {"auth": {"client_secret": "s3cret $__file{/etc/secrets/x}"}}},
            ["values.auth.client_secret"],
        ),
        (
            "kubernetes:helm.sh/v3:Release",
            {"values": {"auth": {"client_secret": "$__file{}"}}},
            ["values.auth.client_secret"],
        ),
    ],
    ids=[
        "secret",
        "plaintext",
        "missing",
        "unknown",
        "pointers",
        "provider-flag",
        "existing-secret-name",
        "rds-password",
        "rds-managed",
        "nested",
        "nested-secret",
        "k8s-secret-plain",
        "k8s-secret-secret",
        "grafana-file-reference",
        "file-reference-with-text",
        "empty-file-reference",
    ],
)
def test_audit(rtype: str, props: dict[str, Any], flagged: list[str]) -> None:
    findings = audit(graph_of(rtype, props))
    assert [f.policy for f in findings] == [NAME] * len(flagged)
    for path, finding in zip(flagged, findings, strict=True):
        assert f"'{path}'" in finding.message
        assert finding.blocking


@pytest.mark.parametrize("stack", STACKS)
def test_real_stacks_pass_the_audit(stack: str, stacks: StackRenders) -> None:
    assert audit(stacks.graph(stack)) == []
    assert audit(stacks.graph(stack, preview=True)) == []
