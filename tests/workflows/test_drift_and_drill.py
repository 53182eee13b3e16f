"""The scheduled drift check (drift.yml) and the quarterly recovery drill (recovery-drill.yml).

Structure tests read the workflows as data; behaviour tests run their shell steps in bash with
fake ``pulumi``, ``gh`` and ``aws`` commands on PATH that log each call and answer as told.
actionlint itself runs over both workflows in tests/workflows/test_workflows.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.test_workflows import (
    ROOT,
    STACKS,
    action_name,
    all_workflows,
    load_workflow,
    steps_of,
)

DRIFT = "drift.yml"
DRILL = "recovery-drill.yml"


def _step(job: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [s for s in steps_of(job) if s.get("name") == name]
    return step


def _names(job: dict[str, Any]) -> list[str]:
    return [str(s.get("name") or s.get("uses")) for s in steps_of(job)]


def _sdk_version() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    sdk = next(d for d in project["project"]["dependencies"] if d.startswith("pulumi=="))
    return sdk.removeprefix("pulumi==")


def _cron_fields(expr: str) -> list[set[int] | None]:
    """Minute, hour, day of month, month, day of week; None for ``*``."""
    fields: list[set[int] | None] = []
    for field in expr.split():
        fields.append(None if field == "*" else {int(v) for v in field.split(",")})
    return fields


# ---------------------------------------------------------------------------------------------
# drift.yml


@pytest.fixture(scope="module")
def drift() -> dict[str, Any]:
    return load_workflow(DRIFT)


def test_drift_runs_daily_and_on_demand(drift: dict[str, Any]) -> None:
    assert set(drift["on"]) == {"schedule", "workflow_dispatch"}
    (schedule,) = drift["on"]["schedule"]
    minute, hour, day, month, weekday = _cron_fields(schedule["cron"])
    assert minute and hour and len(minute) == 1 and len(hour) == 1
    assert day is None and month is None and weekday is None


def test_drift_previews_every_stack_read_only(drift: dict[str, Any]) -> None:
    """A matrix over the stacks, with the preview identities only and no environment."""
    job = drift["jobs"]["preview"]
    assert job["strategy"]["matrix"]["stack"] == list(STACKS)
    assert job["strategy"]["fail-fast"] is False
    assert "environment" not in job
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    text = (ROOT / ".github" / "workflows" / DRIFT).read_text()
    assert "DEPLOY" not in text
    assert "${{ vars.AWS_PREVIEW_ROLE_ARN }}" in text
    assert "${{ vars.GCP_PREVIEW_SERVICE_ACCOUNT }}" in text
    assert "${{ vars.AZURE_PREVIEW_CLIENT_ID }}" in text
    preview = _step(job, "pulumi preview --refresh --expect-no-changes")
    for flag in ("--expect-no-changes", "--refresh", "--policy-pack policies", "--diff"):
        assert flag in preview["run"], flag
    assert 'ttbt2-platform/$STACK"' in preview["run"]
    # Credentials come before the preview; GCP only for stacks that enable it.
    names = _names(job)
    for before in (
        "Install Python dependencies",
        "Clouds of the stack",
        "Log in to Pulumi Cloud (OIDC)",
    ):
        assert names.index(before) < names.index(preview["name"])
    gcp = _step(job, "Authenticate to Google Cloud (OIDC, read-only)")
    assert gcp["if"] == "steps.clouds.outputs.gcp == 'true'"
    assert preview["env"]["ARM_USE_OIDC"] == "${{ steps.clouds.outputs.azure }}"


def test_drift_installs_the_cli_of_the_sdk(drift: dict[str, Any]) -> None:
    install = _step(drift["jobs"]["preview"], "Install the Pulumi CLI")
    assert f"--version {_sdk_version()}" in install["run"]


def test_drift_result_reaches_the_report_before_failing(drift: dict[str, Any]) -> None:
    """The preview never fails its step; the diff is uploaded, then the job fails on drift."""
    names = _names(drift["jobs"]["preview"])
    preview = names.index("pulumi preview --refresh --expect-no-changes")
    assert preview < names.index("Upload the preview") < names.index("Fail on drift")
    report = drift["jobs"]["report"]
    assert report["needs"] == "preview"
    assert report["if"] == "${{ !cancelled() }}"


def test_only_the_drift_report_writes_issues() -> None:
    """issues: write exists on exactly one job of all workflows: drift.yml's report."""
    writers = [
        (name, job_id)
        for name, workflow in all_workflows().items()
        for job_id, job in workflow["jobs"].items()
        if (job.get("permissions") or workflow.get("permissions") or {}).get("issues") == "write"
    ]
    assert writers == [(DRIFT, "report")]
    assert load_workflow(DRIFT)["jobs"]["report"]["permissions"] == {
        "contents": "read",
        "issues": "write",
    }


def _fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env={"PATH": f"{cwd / 'bin'}:{os.environ['PATH']}", "HOME": str(cwd), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    return tmp_path


@pytest.mark.parametrize("rc", [0, 255])
def test_drift_preview_step_records_the_exit_status(
    drift: dict[str, Any], sandbox: Path, rc: int
) -> None:
    step = _step(drift["jobs"]["preview"], "pulumi preview --refresh --expect-no-changes")
    _fake(
        sandbox / "bin",
        "pulumi",
        f'echo "pulumi $*"; echo "~ aws:s3:Bucket logs update"; exit {rc}\n',
    )
    out = sandbox / "out"
    proc = _bash(
        step["run"], {"STACK": "prod", "PULUMI_ORG": "ttbt2", "GITHUB_OUTPUT": str(out)}, sandbox
    )
    assert proc.returncode == 0, proc.stderr  # the step itself never fails
    assert out.read_text() == f"rc={rc}\n"
    assert (sandbox / "drift" / "prod.rc").read_text().strip() == str(rc)
    text = (sandbox / "drift" / "prod.txt").read_text()
    assert "--expect-no-changes" in text and "ttbt2/ttbt2-platform/prod" in text


def _run_report(
    drift: dict[str, Any], sandbox: Path, results: dict[str, int], open_issues: dict[str, int]
) -> tuple[list[str], str]:
    """Run the report step with per-stack exit codes and open issues; gh calls and summary."""
    step = _step(drift["jobs"]["report"], "Summary and issues")
    (sandbox / "drift").mkdir()
    for stack, rc in results.items():
        (sandbox / "drift" / f"{stack}.rc").write_text(f"{rc}\n")
        (sandbox / "drift" / f"{stack}.txt").write_text(f"preview of {stack}\n~ changed\n")
    # The fake answers `issue list` with the issue open for the stack named in --search.
    _fake(
        sandbox / "bin",
        "gh",
        'echo "$*" >> "$GH_LOG"\n'
        'if [ "$1 $2" = "issue list" ]; then\n  :\n'
        + "".join(
            f'  case "$*" in *"drift: {s}\\""*) echo {n} ;; esac\n' for s, n in open_issues.items()
        )
        + "fi\n",
    )
    log, summary = sandbox / "gh.log", sandbox / "summary.md"
    log.touch()
    proc = _bash(
        step["run"],
        {"GH_LOG": str(log), "GITHUB_STEP_SUMMARY": str(summary), "RUN_URL": "https://run/1"},
        sandbox,
    )
    assert proc.returncode == 0, proc.stderr
    return log.read_text().splitlines(), summary.read_text()


def test_drift_report_opens_updates_and_closes_issues(drift: dict[str, Any], sandbox: Path) -> None:
    """New drift opens an issue, known drift updates it, a clean stack closes its issue."""
    calls, summary = _run_report(
        drift, sandbox, {"dev": 0, "staging": 1, "prod": 1}, {"dev": 11, "prod": 12}
    )
    assert calls[0].startswith("label create drift")
    assert "issue close 11 --comment No drift any more as of https://run/1." in calls
    creates = [c for c in calls if c.startswith("issue create")]
    assert creates == [
        "issue create --title Infrastructure drift: staging --label drift --body-file drift/staging.md"
    ]
    assert "issue edit 12 --body-file drift/prod.md" in calls
    assert any(c.startswith("issue comment 12") for c in calls)
    body = (sandbox / "drift" / "staging.md").read_text()
    assert "preview of staging" in body and "exited 1" in body
    assert "### dev: no drift" in summary
    assert "### prod: differs (exit 1)" in summary and "preview of prod" in summary


def test_drift_report_says_when_a_stack_has_no_result(drift: dict[str, Any], sandbox: Path) -> None:
    calls, summary = _run_report(drift, sandbox, {"dev": 0}, {})
    assert "### staging: no result" in summary and "### prod: no result" in summary
    assert not any(c.startswith(("issue create", "issue close")) for c in calls)


# ---------------------------------------------------------------------------------------------
# recovery-drill.yml


@pytest.fixture(scope="module")
def drill() -> dict[str, Any]:
    return load_workflow(DRILL)


def _drill_step(drill: dict[str, Any], name: str) -> dict[str, Any]:
    """The one step of that name, whichever of the drill's jobs runs it."""
    (step,) = [s for job in drill["jobs"].values() for s in steps_of(job) if s.get("name") == name]
    return step


def test_drill_runs_quarterly_and_on_demand(drill: dict[str, Any]) -> None:
    assert set(drill["on"]) == {"schedule", "workflow_dispatch"}
    (schedule,) = drill["on"]["schedule"]
    minute, hour, day, month, weekday = _cron_fields(schedule["cron"])
    assert day == {1} and month == {1, 4, 7, 10} and weekday is None
    assert minute and hour and len(minute) == 1 and len(hour) == 1
    assert drill["concurrency"]["cancel-in-progress"] is False


def test_drill_uses_the_drill_environment_identity(drill: dict[str, Any]) -> None:
    """The drill environment's own deploy role; never production, never a preview identity."""
    assert set(drill["jobs"]) == {"prepare", "restore", "teardown"}
    for job in drill["jobs"].values():
        assert job["environment"] == "drill"
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        roles = [
            s["with"]["role-to-assume"]
            for s in steps_of(job)
            if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
        ]
        assert roles and set(roles) == {"${{ vars.AWS_DEPLOY_ROLE_ARN }}"}
        assert "production" not in json.dumps(job)
        assert job["env"]["STACK"] == "drill-${{ github.run_id }}"


def test_drill_stack_comes_from_prod_with_the_switch(drill: dict[str, Any]) -> None:
    job = drill["jobs"]["prepare"]
    run = _step(job, "Create the drill stack")["run"]
    assert 'pulumi stack init "$PULUMI_ORG/ttbt2-platform/$STACK"' in run
    assert '--copy-config-from "$PULUMI_ORG/ttbt2-platform/prod"' in run
    assert "ttbt2:drill true" in run
    assert "pulumi up" in run and "--policy-pack policies" in run
    for job in (drill["jobs"]["prepare"], drill["jobs"]["teardown"]):
        install = _step(job, "Install the Pulumi CLI")
        assert f"--version {_sdk_version()}" in install["run"]


def test_drill_restores_the_latest_recovery_points(drill: dict[str, Any]) -> None:
    job = drill["jobs"]["restore"]
    db = _step(job, "Start the database restore (latest restorable time)")["run"]
    assert "restore-db-instance-to-point-in-time" in db and "--use-latest-restorable-time" in db
    assert '--target-db-instance-identifier "$STACK"' in db
    assert "--no-publicly-accessible" in db and "--no-deletion-protection" in db
    s3 = _step(job, "Restore the user-data objects (latest versions)")["run"]
    assert "copy-object" in s3 and "versionId=$version" in s3
    wait = _step(job, "Wait for the database")["run"]
    assert 'aws rds wait db-instance-available --db-instance-identifier "$STACK"' in wait


def test_drill_restores_velero_and_vault_on_the_drill_runner(drill: dict[str, Any]) -> None:
    """Issue 16: a Velero restore and a Vault snapshot restore, in the restore job."""
    job = drill["jobs"]["restore"]
    assert job["runs-on"].startswith("codebuild-ttbt2-drill-${{ github.run_id }}-ci-runner-")
    velero = _step(job, "Restore cluster objects (Velero, newest prod backup)")
    assert velero["id"] == "restore-velero"
    run = velero["run"]
    assert 'kind create cluster --name "$STACK"' in run
    assert '--bucket "$SNAPSHOT_BUCKET" --prefix velero/prod' in run
    assert "--use-volume-snapshots=false" in run
    assert '"accessMode":"ReadOnly"' in run
    # Read-only before the restore starts: the drill never writes to prod's backups.
    assert run.index('"accessMode":"ReadOnly"') < run.index("recovery_drill.py velero-restore")
    assert 'rm -f "$creds"' in run and "umask 077" in run
    vault = _step(job, "Restore Vault (newest prod raft snapshot, scratch server)")
    assert vault["id"] == "restore-vault"
    assert "recovery_drill.py vault-restore" in vault["run"]
    assert '--bucket "$SNAPSHOT_BUCKET"' in vault["run"] and "--prefix vault/prod " in vault["run"]
    assert job["env"]["SNAPSHOT_BUCKET"] == "${{ needs.prepare.outputs.snapshot-bucket }}"
    names = _names(job)
    # Both run while RDS restores: after the database restore starts, before the wait.
    start = names.index("Start the database restore (latest restorable time)")
    for step in (velero["name"], vault["name"]):
        assert start < names.index(step) < names.index("Wait for the database")
    checkout = steps_of(job)[0]
    assert action_name(checkout["uses"]) == "actions/checkout"
    assert checkout["with"]["sparse-checkout"] == "scripts/recovery_drill.py"
    tools = _step(job, "Install kind, kubectl, the Velero CLI and Vault")["run"]
    assert tools.count("sha256sum -c -") == 4
    assert names.index("Install kind, kubectl, the Velero CLI and Vault") < names.index(
        velero["name"]
    )


def test_drill_previews_the_failover_path(drill: dict[str, Any]) -> None:
    """Prod's stack with ttbt2:drActive: true, rendered; its region-loss RTO in the result."""
    job = drill["jobs"]["prepare"]
    step = _step(job, "Failover path (ttbt2:drActive) preview")
    run = step["run"]
    assert 'stack["config"]["ttbt2:drActive"] = True' in run
    assert "python -m offline preview" in run and "drill-failover.yaml" in run
    assert "recovery_drill.py region-loss-rto" in run
    assert step["continue-on-error"] is True
    assert job["outputs"]["region-loss-rto-minutes"] == (
        "${{ steps.failover.outputs.region-loss-rto-minutes }}"
    )
    result = _drill_step(drill, "Achieved RTO and RPO")
    assert (
        result["env"]["REGION_LOSS_RTO"] == "${{ needs.prepare.outputs.region-loss-rto-minutes }}"
    )


def test_drill_pushes_its_result_from_prods_network(drill: dict[str, Any]) -> None:
    job = drill["jobs"]["teardown"]
    step = _step(job, "Push the result (Pushgateway, job ttbt2-drill)")
    assert step["if"] == "always()"
    assert 'recovery_drill.py push --gateway "$PUSHGATEWAY_URL"' in step["run"]
    # No credential: prod's Pushgateway admits the CI runners by their security group.
    assert set(step["env"]) == {"PUSHGATEWAY_URL"}
    names = _names(job)
    assert names.index("Download the drill result") < names.index(step["name"])
    assert names.index(step["name"]) < names.index("Check the objectives")


def test_drill_order_and_teardown(drill: dict[str, Any]) -> None:
    """Clock first; restores, smoke checks, result, upload; teardown always, after all of them."""
    jobs = drill["jobs"]
    assert jobs["restore"]["needs"] == "prepare"
    assert sorted(jobs["teardown"]["needs"]) == ["prepare", "restore"]
    assert jobs["teardown"]["if"] == "always()"
    order = {
        "prepare": ["Start the clock", "Latest recovery points", "Create the drill stack"],
        "restore": [
            "Start the database restore (latest restorable time)",
            "Restore the user-data objects (latest versions)",
            "Restore cluster objects (Velero, newest prod backup)",
            "Restore Vault (newest prod raft snapshot, scratch server)",
            "Wait for the database",
            "Smoke checks",
            "Achieved RTO and RPO",
            "Upload the drill result",
        ],
        "teardown": ["Tear down (restored instance, drill stack)", "Check the objectives"],
    }
    for job_id, expected in order.items():
        names = _names(jobs[job_id])
        assert [n for n in names if n in expected] == expected, job_id
    assert _names(jobs["prepare"])[0] == "Start the clock"
    # The clock reaches the RTO of the restore job through the prepare job's outputs.
    assert jobs["prepare"]["outputs"]["started"] == "${{ steps.clock.outputs.started }}"
    assert jobs["restore"]["env"]["STARTED"] == "${{ needs.prepare.outputs.started }}"
    teardown_job = jobs["teardown"]
    names = _names(teardown_job)
    teardown = _step(teardown_job, "Tear down (restored instance, drill stack)")
    assert teardown["if"] == "always()"
    assert "continue-on-error" not in teardown
    for refresh in (
        "Refresh AWS credentials for the teardown",
        "Refresh the Pulumi Cloud token for the teardown",
    ):
        assert _step(teardown_job, refresh)["if"] == "always()"
        assert names.index(refresh) < names.index(teardown["name"])
    upload = _step(jobs["restore"], "Upload the drill result")
    assert action_name(upload["uses"]) == "actions/upload-artifact"
    assert upload["with"]["path"] == "drill/recovery-drill.json"
    assert upload["if"].startswith("always()")
    download = _step(teardown_job, "Download the drill result")
    assert download["with"]["name"] == upload["with"]["name"]
    assert names.index(download["name"]) < names.index("Check the objectives")


def test_drill_restore_runs_on_the_drill_stacks_own_runner(drill: dict[str, Any]) -> None:
    """The restored database is reachable only from the drill network: its runner, not prod's."""
    jobs = drill["jobs"]
    assert jobs["restore"]["runs-on"] == (
        "codebuild-ttbt2-drill-${{ github.run_id }}-ci-runner-"
        "${{ github.run_id }}-${{ github.run_attempt }}"
    )
    for job_id in ("prepare", "teardown"):
        assert jobs[job_id]["runs-on"] == (
            "codebuild-ttbt2-prod-ci-runner-${{ github.run_id }}-${{ github.run_attempt }}"
        )
    # The prepare job fails unless the drill stack brought that runner.
    create = _step(jobs["prepare"], "Create the drill stack")["run"]
    assert '"ttbt2-$STACK-ci-runner"' in create and ".ciRunnerProject" in create


def _run_result(drill: dict[str, Any], sandbox: Path, **env: str) -> dict[str, Any]:
    step = _drill_step(drill, "Achieved RTO and RPO")
    base = {
        "STACK": "drill-42",
        "GITHUB_RUN_ID": "42",
        "STARTED": "1000000",
        "HEALTHY": "1003600",
        "CANARY": "999880",
        "COUNTS": '{"ops.recovery_canary": 5000}',
        "OBJECTS": "100",
        "DB_POINT": "1970-01-12T13:44:00+00:00",
        "S3_NEWEST": "1970-01-12T13:40:00Z",
        "VELERO_BACKUP": "ttbt2-prod-hourly-19700112134000",
        "VELERO_TIME": "999700",
        "VELERO_ITEMS": "812",
        "VAULT_SNAPSHOT": "vault/prod/19700112T134000Z.snap",
        "VAULT_TIME": "999500",
        "REGION_LOSS_RTO": "45.7",
        "RTO_TARGET_SECONDS": drill["env"]["RTO_TARGET_SECONDS"],
        "RPO_TARGET_SECONDS": drill["env"]["RPO_TARGET_SECONDS"],
        "GITHUB_STEP_SUMMARY": str(sandbox / "summary.md"),
    }
    proc = _bash(step["run"], {**base, **env}, sandbox)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads((sandbox / "drill" / "recovery-drill.json").read_text())
    return result


def test_drill_result_records_rto_and_rpo(drill: dict[str, Any], sandbox: Path) -> None:
    """RTO = start to healthy, RPO = the oldest restored point (canary, Velero, Vault)."""
    assert drill["env"]["RTO_TARGET_SECONDS"] == "7200"
    assert drill["env"]["RPO_TARGET_SECONDS"] == "3600"
    result = _run_result(drill, sandbox)
    assert result["rto_seconds"] == 3600 and result["rpo_seconds"] == 500
    assert result["rpo_seconds_by_source"] == {"database": 120, "velero": 300, "vault": 500}
    assert result["velero_items_restored"] == 812
    assert result["vault_snapshot_restored"] == "vault/prod/19700112T134000Z.snap"
    assert result["region_loss_rto_minutes"] == 45.7
    assert result["healthy"] is True and result["objectives_met"] is True
    assert result["row_counts"] == {"ops.recovery_canary": 5000}
    assert result["started_at"] == "1970-01-12T13:46:40Z"
    assert result["s3_objects_restored"] == 100
    assert "Recovery drill" in (sandbox / "summary.md").read_text()


@pytest.mark.parametrize(
    "env",
    [
        {"HEALTHY": "1007201"},  # RTO 2 h + 1 s
        {"CANARY": "996399"},  # RPO 1 h + 1 s
        {"HEALTHY": "", "CANARY": ""},  # never healthy
        {"VELERO_TIME": "996399"},  # the Velero backup 1 h + 1 s old
        {"VAULT_TIME": "996399"},  # the Vault snapshot 1 h + 1 s old
        {"VELERO_BACKUP": "", "VELERO_TIME": ""},  # no Velero restore
        {"VAULT_SNAPSHOT": "", "VAULT_TIME": ""},  # no Vault restore
        {"REGION_LOSS_RTO": ""},  # the failover path failed its preview
        {"REGION_LOSS_RTO": "120.1"},  # the failover path slower than the objective
    ],
    ids=[
        "rto-missed",
        "rpo-missed",
        "never-healthy",
        "velero-rpo-missed",
        "vault-rpo-missed",
        "no-velero-restore",
        "no-vault-restore",
        "no-failover-preview",
        "failover-too-slow",
    ],
)
def test_drill_result_flags_missed_objectives(
    drill: dict[str, Any], sandbox: Path, env: dict[str, str]
) -> None:
    result = _run_result(drill, sandbox, **env)
    assert result["objectives_met"] is False
    check = _drill_step(drill, "Check the objectives")
    proc = _bash(
        check["run"], {"RTO_TARGET_SECONDS": "7200", "RPO_TARGET_SECONDS": "3600"}, sandbox
    )
    assert proc.returncode == 1 and "::error::" in proc.stdout


_FAKE_AWS = """\
echo "aws $*" >> "$CALLS"
case "$1 $2" in
  "rds describe-db-instances") [ -n "$DB_EXISTS" ] || exit 254 ;;
  "s3api list-object-versions") echo '{"Versions": [{"Key": "a", "VersionId": "1"}], "DeleteMarkers": []}' ;;
esac
"""
_FAKE_PULUMI = """\
echo "pulumi $*" >> "$CALLS"
case "$1 $2" in
  "stack ls") echo "$STACKS_JSON" ;;
esac
"""


@pytest.mark.parametrize(
    ("restored", "created", "exists"),
    [("true", "true", True), ("false", "false", False), ("true", "true", False)],
    ids=["everything", "nothing-started", "already-gone"],
)
def test_drill_teardown(
    drill: dict[str, Any], sandbox: Path, restored: str, created: str, exists: bool
) -> None:
    """Deletes the restored instance, empties the bucket, destroys and removes the stack."""
    step = _drill_step(drill, "Tear down (restored instance, drill stack)")
    _fake(sandbox / "bin", "aws", _FAKE_AWS)
    _fake(sandbox / "bin", "pulumi", _FAKE_PULUMI)
    calls = sandbox / "calls"
    calls.touch()
    stacks = [{"name": "ttbt2/ttbt2-platform/drill-42"}] if exists else []
    proc = _bash(
        step["run"],
        {
            "CALLS": str(calls),
            "STACK": "drill-42",
            "PULUMI_ORG": "ttbt2",
            "RESTORED": restored,
            "CREATED": created,
            "BUCKET": "drill-bucket" if created == "true" else "",
            "DB_EXISTS": "1" if exists else "",
            "STACKS_JSON": json.dumps(stacks),
        },
        sandbox,
    )
    assert proc.returncode == 0, proc.stderr
    log = calls.read_text()
    deleted = "aws rds delete-db-instance --db-instance-identifier drill-42" in log
    destroyed = "pulumi destroy --stack ttbt2/ttbt2-platform/drill-42" in log
    assert deleted is destroyed is exists
    if exists:
        assert "--skip-final-snapshot --delete-automated-backups" in log
        assert "--remove" in log
        assert log.index("delete-db-instance") < log.index("pulumi destroy")
        assert '"Key":"a","VersionId":"1"' in log  # the bucket emptied first
