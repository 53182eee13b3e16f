"""The reusable workflow the configuration repository's CI calls: ``gitops-check.yml``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows.test_workflows import load_workflow

WORKFLOW = "gitops-check.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load_workflow(WORKFLOW)


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = workflow["jobs"]["check"]["steps"]
    return steps


def _step(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in _steps(workflow) if s.get("name") == name)


def test_it_is_reusable_with_the_stack_and_platform_ref(workflow: dict[str, Any]) -> None:
    trigger = workflow["on"]
    assert set(trigger) == {"workflow_call"}
    inputs = trigger["workflow_call"]["inputs"]
    assert inputs["stack"]["required"] is True
    assert {"platform-repository", "platform-ref", "config-app-id"} <= set(inputs)


def test_it_checks_out_the_platform_at_the_given_ref(workflow: dict[str, Any]) -> None:
    platform = _step(workflow, "Check out the platform repository")
    assert platform["with"]["repository"] == "${{ inputs.platform-repository }}"
    assert platform["with"]["ref"] == "${{ inputs.platform-ref }}"
    assert platform["with"]["persist-credentials"] is False
    token = _step(workflow, "Read-only token for the platform repository")
    assert token["with"]["permission-contents"] == "read"
    assert "permission-pull-requests" not in token["with"]


def test_it_runs_check_gitops_on_the_caller_checkout(workflow: dict[str, Any]) -> None:
    config = _step(workflow, "Check out the configuration repository")
    assert "repository" not in config["with"]
    assert config["with"]["path"] == "config"
    check = _step(workflow, "Policy check (check-gitops)")
    assert check["working-directory"] == "platform"
    assert check["shell"] == "bash"  # pipefail: tee keeps the exit status of check-gitops
    assert (
        'python -m offline check-gitops "$GITHUB_WORKSPACE/config" --stack "$STACK"' in check["run"]
    )
    assert check["env"]["STACK"] == "${{ inputs.stack }}"


def test_it_validates_the_schemas_with_the_vendored_crds(workflow: dict[str, Any]) -> None:
    schemas = _step(workflow, "Schema validation (vendored CRDs)")
    assert "python -m scripts.validate_gitops_schemas" in schemas["run"]
    assert schemas["working-directory"] == "platform"
    assert "!cancelled()" in schemas["if"]


def test_it_needs_no_cloud_and_writes_nothing(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["check"]
    assert job["runs-on"] == "ubuntu-latest"
    assert workflow["permissions"] == {"contents": "read"}
    assert job["permissions"] == {"contents": "read"}
