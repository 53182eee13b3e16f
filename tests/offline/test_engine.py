"""The mock engine runner: one run's failure does not leak into the next run."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from offline.engine import run_program


def _failing() -> None:
    provider = aws.Provider("aws", region="eu-west-1")
    key = aws.kms.Key("k", opts=pulumi.ResourceOptions(provider=provider))

    def explode(_: str) -> str:
        raise ValueError("this run fails inside an apply")

    aws.kms.Alias(
        "a",
        name=key.arn.apply(explode),
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(provider=provider),
    )


def _clean() -> None:
    provider = aws.Provider("aws", region="eu-west-1")
    aws.kms.Key("k", enable_key_rotation=True, opts=pulumi.ResourceOptions(provider=provider))


def test_a_failed_apply_does_not_leak_into_the_next_run() -> None:
    with pytest.raises(Exception, match="this run fails inside an apply"):
        run_program(_failing, project="t", stack="one", preview=False)
    graph = run_program(_clean, project="t", stack="two", preview=False)
    assert [r.type for r in graph.resources] == ["pulumi:providers:aws", "aws:kms/key:Key"]
    assert all(r.urn.startswith("urn:pulumi:two::") for r in graph.resources)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, 0.0),
        ("", 0.0),
        (90, 90.0),
        ("30m", 1800.0),
        ("1h30m", 5400.0),
        ("2s", 2.0),
        ("soon", 0.0),
        (True, 0.0),
    ],
)
def test_custom_timeouts_become_seconds(value: object, seconds: float) -> None:
    from offline.evaluate import duration_seconds

    assert duration_seconds(value) == seconds
