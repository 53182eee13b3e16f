"""Every pulumi step of an environment stack gets a fresh Vault token from the login script.

The Vault provider reads ``VAULT_TOKEN`` from the environment (no token in its inputs, so none
in state); the workflows export one with ``scripts/vault_login.py`` right before each pulumi
step. A drill stack needs none: it has no Vault provider.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offline.engine import run_stack
from offline.stackfile import load_stack
from tests.conftest import ROOT
from tests.workflows.test_workflows import load_workflow, steps_of

LOGIN = "Log in to Vault (OIDC) and preflight"


def _names(job: dict[str, Any]) -> list[str]:
    return [str(s.get("name") or s.get("uses")) for s in steps_of(job)]


@pytest.mark.parametrize(
    ("workflow", "job", "pulumi_step"),
    [
        ("pulumi-stack.yml", "pulumi", "pulumi ${{ inputs.command }}"),
        ("drift.yml", "preview", "pulumi preview --refresh --expect-no-changes"),
    ],
)
def test_a_vault_login_right_before_the_pulumi_step(
    workflow: str, job: str, pulumi_step: str
) -> None:
    definition = load_workflow(workflow)["jobs"][job]
    steps, names = steps_of(definition), _names(definition)
    assert names.count(LOGIN) == 1
    assert names.index(LOGIN) + 1 == names.index(pulumi_step)
    login = steps[names.index(LOGIN)]
    assert login["run"] == (
        'uv run --frozen python scripts/vault_login.py "$STACK" --github-env "$GITHUB_ENV"'
    )
    # The login comes after the Python environment it runs in.
    assert names.index("Install Python dependencies") < names.index(LOGIN)


def test_no_workflow_passes_a_vault_token_itself() -> None:
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        assert "VAULT_TOKEN:" not in text, path.name
        assert "vault:token" not in text, path.name


def test_the_drill_needs_no_vault_login(stack_file: Callable[..., Path]) -> None:
    for job in load_workflow("recovery-drill.yml")["jobs"].values():
        assert LOGIN not in _names(job)
    path = stack_file("drill-7", base="prod", drill=True)
    graph = run_stack(ROOT, load_stack(ROOT, "drill-7", path), preview=False)
    assert not [r.type for r in graph.resources if "vault" in r.type]
