"""scripts/recovery_drill.py: the drill's Velero and Vault restores, failover RTO and metrics.

The restores run the script as the workflow does, with recording stubs of ``velero``, ``vault``
and ``aws`` first on PATH; the push runs against a recording fetch.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import urllib.request
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from scripts import recovery_drill as drill

SCRIPT = Path(drill.__file__)


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run(sandbox: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The script's ``main``, run in this process so that coverage sees it.

    The stub CLIs come first on PATH; the script's own calls to them are real subprocesses.
    """
    environ = {
        "PATH": f"{sandbox / 'bin'}:{os.environ['PATH']}",
        "CALLS": str(sandbox / "calls"),
        "STATE": str(sandbox),
        **env,
    }
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, environ), redirect_stdout(out), redirect_stderr(err):
        try:
            code = drill.main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess([str(SCRIPT), *args], code, out.getvalue(), err.getvalue())


def _calls(sandbox: Path) -> list[str]:
    path = sandbox / "calls"
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    return tmp_path


# --- Velero -----------------------------------------------------------------------------------

_BACKUPS = {
    "kind": "BackupList",
    "items": [
        {
            "kind": "Backup",
            "metadata": {"name": "ttbt2-prod-hourly-0400"},
            "status": {"phase": "Completed", "startTimestamp": "2026-10-01T04:00:00Z"},
        },
        {
            "kind": "Backup",
            "metadata": {"name": "ttbt2-prod-hourly-0500"},
            "status": {"phase": "Completed", "startTimestamp": "2026-10-01T05:00:00Z"},
        },
        {  # newer, but failed: never the one restored
            "kind": "Backup",
            "metadata": {"name": "ttbt2-prod-hourly-0600"},
            "status": {"phase": "PartiallyFailed", "startTimestamp": "2026-10-01T06:00:00Z"},
        },
    ],
}

# `restore get` answers InProgress the first time, then $FINAL (a phase) with $ERRORS errors.
_VELERO = """\
echo "velero $*" >> "$CALLS"
case "$1 $2" in
  "backup get") cat "$STATE/backups.json" ;;
  "restore create") ;;
  "restore get")
    n=$(cat "$STATE/polls" 2>/dev/null || echo 0); echo $((n + 1)) > "$STATE/polls"
    if [ "$n" = 0 ]; then phase=InProgress; else phase=$FINAL; fi
    printf '{"kind":"Restore","status":{"phase":"%s","errors":%s,"warnings":2,
      "progress":{"itemsRestored":812},"failureReason":"%s"}}' "$phase" "$ERRORS" "$REASON" ;;
  "restore describe") echo "details of $3" ;;
esac
"""


def _velero(
    sandbox: Path, *, final: str = "Completed", errors: int = 0, backups: Any = None
) -> Any:
    (sandbox / "backups.json").write_text(json.dumps(_BACKUPS if backups is None else backups))
    _stub(sandbox / "bin", "velero", _VELERO)
    return _run(
        sandbox,
        "velero-restore",
        "--name",
        "drill-42",
        "--interval-seconds",
        "0",
        "--timeout-minutes",
        "0.02",
        "--output",
        str(sandbox / "out"),
        FINAL=final,
        ERRORS=str(errors),
        REASON="",
    )


def test_velero_restores_the_newest_completed_backup_and_waits(sandbox: Path) -> None:
    proc = _velero(sandbox)
    assert proc.returncode == 0, proc.stderr
    calls = _calls(sandbox)
    assert calls[0] == "velero backup get -o json"
    assert calls[1] == (
        "velero restore create drill-42 --from-backup ttbt2-prod-hourly-0500 "
        "--restore-volumes=false --exclude-resources "
        "validatingwebhookconfigurations.admissionregistration.k8s.io,"
        "mutatingwebhookconfigurations.admissionregistration.k8s.io"
    )
    # Polled until the Restore left InProgress.
    assert calls[2:] == ["velero restore get drill-42 -o json"] * 2
    out = dict(line.split("=", 1) for line in (sandbox / "out").read_text().splitlines())
    assert out["velero-backup"] == "ttbt2-prod-hourly-0500"
    assert out["velero-backup-time"] == str(int(drill.epoch("2026-10-01T05:00:00Z")))
    assert out["velero-items"] == "812"
    assert json.loads(proc.stdout)["phase"] == "Completed"


@pytest.mark.parametrize(
    ("final", "errors"),
    [("PartiallyFailed", 3), ("Failed", 0), ("FailedValidation", 0), ("Completed", 1)],
)
def test_velero_restore_that_is_not_clean_fails_the_drill(
    sandbox: Path, final: str, errors: int
) -> None:
    proc = _velero(sandbox, final=final, errors=errors)
    assert proc.returncode == 1
    assert f"ended {final} with {errors} errors" in proc.stderr
    assert "velero restore describe drill-42 --details" in _calls(sandbox)
    assert not (sandbox / "out").exists()


def test_velero_restore_that_never_ends_times_out(sandbox: Path) -> None:
    proc = _velero(sandbox, final="InProgress")
    assert proc.returncode == 1 and "still InProgress" in proc.stderr


def test_velero_without_a_completed_backup_fails(sandbox: Path) -> None:
    failed = {"kind": "BackupList", "items": [_BACKUPS["items"][2]]}
    proc = _velero(sandbox, backups=failed)
    assert proc.returncode == 1 and "no completed Velero backup" in proc.stderr
    assert not any("restore create" in c for c in _calls(sandbox))


def test_velero_single_backup_answer_is_an_object(sandbox: Path) -> None:
    """`velero backup get -o json` prints the object itself when there is one backup."""
    proc = _velero(sandbox, backups=_BACKUPS["items"][0])
    assert proc.returncode == 0, proc.stderr
    assert "--from-backup ttbt2-prod-hourly-0400" in _calls(sandbox)[1]


def test_velero_restore_name_is_checked(sandbox: Path) -> None:
    proc = _run(sandbox, "velero-restore", "--name", "Drill_42")
    assert proc.returncode == 2 and "--name must be a Kubernetes object name" in proc.stderr


# --- Vault ------------------------------------------------------------------------------------

_AWS = """\
echo "aws $*" >> "$CALLS"
case "$1 $2" in
  "s3api list-objects-v2") cat "$STATE/objects.json" ;;
  "s3 cp") echo "raft snapshot of $3" > "$4" ;;
esac
"""
# The server stays up until terminated; `status` answers sealed (2) as a fresh server does,
# unsealed (0) after the unseal; the restore records its token and the file it was given.
_VAULT = """\
case "$1" in
  server) echo "vault $*" >> "$CALLS"; trap 'echo stopped >> "$STATE/server"; exit 0' TERM
    while true; do sleep 0.1; done ;;
esac
echo "vault $* addr=$VAULT_ADDR token=${VAULT_TOKEN:-}" >> "$CALLS"
case "$1 $2" in
  "status -format=json")
    if [ -n "${STATUS_GONE:-}" ] && [ -f "$STATE/restored.snap" ]; then echo refused >&2; exit 1; fi
    if [ -f "$STATE/unsealed" ]; then echo '{"sealed": false}'; exit 0; fi
    echo '{"sealed": true}'; exit 2 ;;
  "operator init") echo '{"unseal_keys_b64": ["scratch-key"], "root_token": "scratch-root"}' ;;
  "operator unseal") touch "$STATE/unsealed" ;;
  "operator raft")
    cp "$6" "$STATE/restored.snap"; exit "${RESTORE_RC:-0}" ;;
esac
"""

_OBJECTS = {
    "Contents": [
        {
            "Key": "vault/prod/20261001T042000Z.snap",
            "LastModified": "2026-10-01T04:20:09Z",
            "Size": 10,
        },
        {
            "Key": "vault/prod/20261001T052000Z.snap",
            "LastModified": "2026-10-01T05:20:07Z",
            "Size": 11,
        },
        {"Key": "vault/prod/notes.txt", "LastModified": "2026-10-01T05:50:00Z", "Size": 1},
    ]
}


def _vault(sandbox: Path, objects: Any = None, **env: str) -> subprocess.CompletedProcess[str]:
    (sandbox / "objects.json").write_text(json.dumps(_OBJECTS if objects is None else objects))
    _stub(sandbox / "bin", "aws", _AWS)
    _stub(sandbox / "bin", "vault", _VAULT)
    return _run(
        sandbox,
        "vault-restore",
        "--bucket",
        "ttbt2-prod-snapshots",
        "--prefix",
        "vault/prod",
        "--interval-seconds",
        "0.05",
        "--output",
        str(sandbox / "out"),
        **env,
    )


def test_vault_restores_the_newest_snapshot_into_a_scratch_server(sandbox: Path) -> None:
    proc = _vault(sandbox)
    assert proc.returncode == 0, proc.stderr
    calls = _calls(sandbox)
    assert calls[0] == (
        "aws s3api list-objects-v2 --bucket ttbt2-prod-snapshots --prefix vault/prod/ --output json"
    )
    assert calls[1].startswith(
        "aws s3 cp s3://ttbt2-prod-snapshots/vault/prod/20261001T052000Z.snap "
    )
    assert any(c.startswith("vault server -config=") and c.endswith("vault.hcl") for c in calls)
    init = [c for c in calls if c.startswith("vault operator init")]
    assert init == [
        "vault operator init -key-shares=1 -key-threshold=1 -format=json "
        "addr=http://127.0.0.1:8200 token="
    ]
    assert "vault operator unseal scratch-key addr=http://127.0.0.1:8200 token=" in calls
    (restore,) = [c for c in calls if c.startswith("vault operator raft snapshot restore")]
    assert "-force " in restore and restore.endswith("token=scratch-root")
    # The newest snapshot is what reached Vault, and the server was stopped afterwards.
    assert (sandbox / "restored.snap").read_text() == (
        "raft snapshot of s3://ttbt2-prod-snapshots/vault/prod/20261001T052000Z.snap\n"
    )
    assert (sandbox / "server").read_text() == "stopped\n"
    out = dict(line.split("=", 1) for line in (sandbox / "out").read_text().splitlines())
    assert out["vault-snapshot"] == "vault/prod/20261001T052000Z.snap"
    assert out["vault-snapshot-time"] == str(int(drill.epoch("2026-10-01T05:20:07Z")))
    assert json.loads(proc.stdout)["sealed_after_restore"] is False


def test_vault_that_stops_answering_after_the_restore_is_recorded_not_failed(
    sandbox: Path,
) -> None:
    """The restored keyring is prod's: the scratch server may seal itself or stop answering."""
    proc = _vault(sandbox, STATUS_GONE="1")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sealed_after_restore"] is None


def test_vault_restore_refused_fails_the_drill(sandbox: Path) -> None:
    proc = _vault(sandbox, RESTORE_RC="1")
    assert proc.returncode == 1 and "exited 1" in proc.stderr
    assert (sandbox / "server").read_text() == "stopped\n"  # stopped even so
    assert not (sandbox / "out").exists()


def test_vault_without_a_snapshot_fails(sandbox: Path) -> None:
    proc = _vault(sandbox, objects={"Contents": [_OBJECTS["Contents"][2]]})
    assert proc.returncode == 1
    assert "no Vault snapshot (*.snap) in s3://ttbt2-prod-snapshots/vault/prod/" in proc.stderr
    assert not any(c.startswith("vault ") for c in _calls(sandbox))


# --- the failover path's RTO ------------------------------------------------------------------

_REPORT = """\
Previewing stack 'drill-failover' offline (mock engine, Pulumi.drill-failover.yaml)
Region-loss RTO: \N{WHITE HEAVY CHECK MARK} 45.7 min (objective ttbt2:rtoObjectiveMinutes 120 min)
    ttbt2:drActive is true: the DR region's layer is up
"""


def test_region_loss_rto_is_read_from_the_preview(sandbox: Path) -> None:
    report = sandbox / "report.txt"
    report.write_text(_REPORT, encoding="utf-8")
    proc = _run(sandbox, "region-loss-rto", "--report", str(report), "--output", str(sandbox / "o"))
    assert proc.returncode == 0, proc.stderr
    assert (sandbox / "o").read_text() == "region-loss-rto-minutes=45.7\n"


def test_region_loss_rto_missing_from_the_report_fails(sandbox: Path) -> None:
    report = sandbox / "report.txt"
    report.write_text("policy summary: 1 mandatory\n", encoding="utf-8")
    proc = _run(sandbox, "region-loss-rto", "--report", str(report))
    assert proc.returncode == 1 and "found 0" in proc.stderr


# --- metrics ----------------------------------------------------------------------------------

_RESULT = {
    "objectives_met": True,
    "rto_seconds": 3600,
    "rpo_seconds_by_source": {"database": 120, "velero": 300, "vault": 500},
    "rto_target_seconds": 7200,
    "rpo_target_seconds": 3600,
    "region_loss_rto_minutes": 45.7,
}


def _push(result: dict[str, Any]) -> tuple[urllib.request.Request, str]:
    sent: list[urllib.request.Request] = []

    def fetch(request: urllib.request.Request) -> bytes:
        sent.append(request)
        return b""

    body = drill.push("http://pushgateway:9091/", result, now=1790000000.0, fetch=fetch)
    (request,) = sent
    return request, body


def test_push_sends_the_measured_values() -> None:
    request, body = _push(_RESULT)
    assert request.get_method() == "POST"  # replaces only the families pushed
    assert request.full_url == "http://pushgateway:9091/metrics/job/ttbt2-drill"
    assert request.data == body.encode()
    samples = [line for line in body.splitlines() if not line.startswith("#")]
    assert samples == [
        "ttbt2_drill_rto_seconds 3600",
        'ttbt2_drill_rpo_seconds{source="database"} 120',
        'ttbt2_drill_rpo_seconds{source="velero"} 300',
        'ttbt2_drill_rpo_seconds{source="vault"} 500',
        "ttbt2_drill_region_loss_rto_seconds 2742",
        "ttbt2_drill_rto_objective_seconds 7200",
        "ttbt2_drill_rpo_objective_seconds 3600",
        "ttbt2_drill_success 1",
        "ttbt2_drill_last_success_timestamp_seconds 1790000000",
    ]


def test_a_failed_drill_keeps_the_last_success_and_blanks_its_figures() -> None:
    _, body = _push({"objectives_met": False, "rpo_seconds_by_source": {"database": 120}})
    assert "ttbt2_drill_success 0" in body
    assert drill.LAST_SUCCESS not in body
    assert "ttbt2_drill_rto_seconds NaN" in body
    assert 'ttbt2_drill_rpo_seconds{source="vault"} NaN' in body
    assert 'ttbt2_drill_rpo_seconds{source="database"} 120' in body


def test_pushed_text_is_valid_exposition_format() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/install-tools.sh)")
    _, body = _push(_RESULT)
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_push_refuses_a_result_that_is_not_json(sandbox: Path) -> None:
    bad = sandbox / "result.json"
    bad.write_text("{")
    proc = _run(sandbox, "push", "--gateway", "http://pushgateway:9091", "--result", str(bad))
    assert proc.returncode == 2 and "is not a readable JSON file" in proc.stderr


def test_the_workflow_runs_the_script_as_a_program(sandbox: Path) -> None:
    """The drill calls ``python3 scripts/recovery_drill.py``: the entry point exits with main's."""
    bad = sandbox / "result.json"
    bad.write_text("{")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "push", "--gateway", "http://gw:9091", "--result", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2 and "is not a readable JSON file" in proc.stderr
