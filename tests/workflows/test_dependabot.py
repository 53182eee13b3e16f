"""Dependabot keeps every exact pin of the repository current: actions, Python lock, node tools.

The action pins (commit SHA plus release comment) are only safe to keep if something proposes
the next release; a pin nobody updates ages into a known-vulnerable version.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.workflows.test_workflows import ROOT

DEPENDABOT = ROOT / ".github" / "dependabot.yml"
# Ecosystem -> the file at the repository root it updates.
ECOSYSTEMS = {"github-actions": ".github/workflows", "uv": "uv.lock", "npm": "package-lock.json"}


@pytest.fixture(scope="module")
def updates() -> dict[str, dict[str, Any]]:
    """The update entries of dependabot.yml, keyed by ecosystem."""
    config = yaml.safe_load(DEPENDABOT.read_text())
    assert config["version"] == 2
    entries: list[dict[str, Any]] = config["updates"]
    by_ecosystem = {entry["package-ecosystem"]: entry for entry in entries}
    assert len(by_ecosystem) == len(entries), "one entry per ecosystem"
    return by_ecosystem


def test_every_pinned_ecosystem_is_updated_weekly(updates: dict[str, dict[str, Any]]) -> None:
    """Actions, the uv lock and the npm lock, each from the root, weekly, after a cooldown."""
    assert set(updates) == set(ECOSYSTEMS)
    for ecosystem, entry in updates.items():
        assert (ROOT / ECOSYSTEMS[ecosystem]).exists(), ecosystem
        assert entry["directory"] == "/", ecosystem
        assert entry["schedule"]["interval"] == "weekly", ecosystem
        assert entry["cooldown"]["default-days"] >= 1, ecosystem


def test_action_updates_grouped_majors_apart(updates: dict[str, dict[str, Any]]) -> None:
    """Minor and patch releases of all actions come in one pull request; majors each alone."""
    (group,) = updates["github-actions"]["groups"].values()
    assert group["patterns"] == ["*"]
    assert sorted(group["update-types"]) == ["minor", "patch"]


def test_pulumi_sdk_grouped_apart(updates: dict[str, dict[str, Any]]) -> None:
    """The Pulumi SDK, tied to the CLI release the workflows install, is not in the bulk group."""
    groups = updates["uv"]["groups"]
    first = next(iter(groups))
    assert first == "pulumi" and "pulumi" in groups[first]["patterns"]
