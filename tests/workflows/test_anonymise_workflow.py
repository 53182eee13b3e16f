"""The anonymisation workflow, read as data, and its source-snapshot step run in bash."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.aws.anonymisation import ENVIRONMENT, INSTANCE_PREFIX
from policies.ttbt2_policies.data_seed import ANONYMISED_TAG, MASKING_TAG, SOURCE_TAG
from tests.workflows.test_workflows import load_workflow, steps_of

WORKFLOW = "anonymise.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load_workflow(WORKFLOW)


def _step(job: dict[str, Any], name: str) -> dict[str, Any]:
    [step] = [s for s in steps_of(job) if str(s.get("name", "")).startswith(name)]
    return step


def test_runs_monthly_and_by_hand_never_two_at_once(workflow: dict[str, Any]) -> None:
    on = workflow["on"]
    assert on["schedule"] == [{"cron": "0 3 2 * *"}]
    assert "source-snapshot" in on["workflow_dispatch"]["inputs"]
    assert workflow["concurrency"] == {"group": "anonymise", "cancel-in-progress": False}
    assert workflow["env"]["TEMP"].startswith(INSTANCE_PREFIX)


def test_the_job_runs_in_the_environment_the_role_trusts(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["anonymise"]
    assert job["environment"] == ENVIRONMENT
    assert job["runs-on"].startswith("codebuild-ttbt2-prod-ci-runner-")


def test_restore_is_private_deletable_and_in_the_pipelines_group(workflow: dict[str, Any]) -> None:
    run = _step(workflow["jobs"]["anonymise"], "Restore")["run"]
    for flag in ("--no-publicly-accessible", "--no-deletion-protection", "--no-multi-az"):
        assert flag in run
    assert '--vpc-security-group-ids "$SECURITY_GROUP"' in run
    assert "--master-user-password" in run and "::add-mask::" in run


def test_output_is_tagged_as_the_policy_reads_it(workflow: dict[str, Any]) -> None:
    run = _step(workflow["jobs"]["anonymise"], "Snapshot, copy")["run"]
    for tag in (f"Key={ANONYMISED_TAG},Value=true", SOURCE_TAG, MASKING_TAG):
        assert tag in run
    env = _step(workflow["jobs"]["anonymise"], "Snapshot, copy")["env"]
    assert env["OUTPUT"] == "${{ steps.plan.outputs.snapshot }}"


def test_clean_up_runs_whatever_happened_and_is_last(workflow: dict[str, Any]) -> None:
    steps = steps_of(workflow["jobs"]["anonymise"])
    last = steps[-1]
    assert last["if"] == "always()"
    assert 'delete-db-instance --db-instance-identifier "$TEMP"' in last["run"]
    assert 'delete-db-snapshot --db-snapshot-identifier "$TEMP-masked"' in last["run"]
    assert '"$RUNNER_TEMP/db-password"' in last["run"]


def _source_step(
    workflow: dict[str, Any], tmp_path: Path, requested: str
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    aws = bin_dir / "aws"
    aws.write_text('#!/bin/sh\necho "$*" >> "$CALLS"\necho rds:ttbt2-prod-db-2026-12-01-02-10\n')
    aws.chmod(0o755)
    output = tmp_path / "out"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "GITHUB_OUTPUT": str(output),
        "REQUESTED": requested,
        "SOURCE_INSTANCE": workflow["env"]["SOURCE_INSTANCE"],
    }
    run = _step(workflow["jobs"]["anonymise"], "Source snapshot")["run"]
    return subprocess.run(
        ["bash", "-e", "-c", run], env=env, capture_output=True, text=True, check=False
    )


def test_source_defaults_to_the_newest_automated_snapshot(
    workflow: dict[str, Any], tmp_path: Path
) -> None:
    done = _source_step(workflow, tmp_path, "")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_text() == "snapshot=rds:ttbt2-prod-db-2026-12-01-02-10\n"
    assert "--snapshot-type automated" in (tmp_path / "calls").read_text()


@pytest.mark.parametrize("requested", ["ttbt2-staging-db-final", "ttbt2-anonymised-2026-11", "x"])
def test_source_must_be_a_snapshot_of_prods_instance(
    workflow: dict[str, Any], tmp_path: Path, requested: str
) -> None:
    done = _source_step(workflow, tmp_path, requested)
    assert done.returncode != 0
    assert "is not a snapshot of ttbt2-prod-db" in done.stdout
    assert not (tmp_path / "out").exists()
