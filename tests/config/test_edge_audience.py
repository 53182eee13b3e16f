"""``edgeAllowedCidrs`` (seed 4.2 audiences) and the origin secret the services need."""

from __future__ import annotations

from typing import Any

import pytest

from config import SettingsError, parse_raw
from config.constants import ORIGIN_VERIFY_CONSUMER
from config.problems import Problem
from tests.conftest import STACKS, raw_settings


def problems(stack: str, **changes: Any) -> list[Problem]:
    """The problems of a real stack with ``changes`` (None removes a key), at least one."""
    raw = raw_settings(stack)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    with pytest.raises(SettingsError) as info:
        parse_raw(stack, raw)
    return info.value.problems


@pytest.mark.parametrize("stack", STACKS)
def test_the_real_stacks_are_valid(stack: str) -> None:
    cidrs = parse_raw(stack, raw_settings(stack)).edge.edge_allowed_cidrs
    assert bool(cidrs) == (stack != "prod")


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_dev_and_staging_name_their_audience(stack: str) -> None:
    [problem] = problems(stack, edgeAllowedCidrs=None)
    assert problem.key.endswith("edgeAllowedCidrs")
    assert f"{stack}'s audience" in problem.allowed


def test_prod_serves_everyone() -> None:
    [problem] = problems("prod", edgeAllowedCidrs=["192.0.2.0/24"])
    assert "empty in prod" in problem.allowed


@pytest.mark.parametrize(
    ("cidr", "allowed"),
    [
        ("192.0.2.1/24", "without host bits"),
        ("office", "CIDR notation"),
        ("0.0.0.0/0", "narrower than everyone"),
        ("::/0", "narrower than everyone"),
    ],
)
def test_each_network_is_checked(cidr: str, allowed: str) -> None:
    [problem] = problems("staging", edgeAllowedCidrs=["203.0.113.0/24", cidr])
    assert problem.key.endswith("edgeAllowedCidrs[1]")
    assert problem.value == cidr
    assert allowed in problem.allowed


def test_ipv6_networks_are_accepted() -> None:
    raw = {**raw_settings("dev"), "edgeAllowedCidrs": ["2001:db8::/32"]}
    assert parse_raw("dev", raw).edge.edge_allowed_cidrs == ["2001:db8::/32"]


@pytest.mark.parametrize("stack", STACKS)
def test_services_need_the_origin_secret(stack: str) -> None:
    raw = raw_settings(stack)
    kept = [s for s in raw["vaultSecrets"] if s["consumer"] != ORIGIN_VERIFY_CONSUMER]
    assert len(kept) == len(raw["vaultSecrets"]) - 1
    [problem] = problems(stack, vaultSecrets=kept)
    assert problem.key.endswith("vaultSecrets")
    assert ORIGIN_VERIFY_CONSUMER in problem.allowed


def test_without_services_the_origin_secret_is_not_needed() -> None:
    raw = raw_settings("dev")
    raw["vaultSecrets"] = [
        s for s in raw["vaultSecrets"] if s["consumer"] != ORIGIN_VERIFY_CONSUMER
    ]
    raw.pop("services", None)
    raw.pop("cacheClients", None)  # the cache's clients are services
    assert parse_raw("dev", raw).delivery.services == []
