"""Steps of the quarterly recovery drill (.github/workflows/recovery-drill.yml) that need logic.

Standard library only, so it runs on the drill's runner before any dependency is installed.

- ``velero-restore``: restore the newest completed Velero backup that the scratch cluster's
  (read-only) backup location lists, wait until the Restore ends, and fail unless it ended
  ``Completed`` without errors (``PartiallyFailed`` is a failed drill).
- ``vault-restore``: fetch the newest raft snapshot below ``vault/<env>/`` in the snapshot
  store, start a scratch Vault server (raft storage in a temporary directory, loopback only),
  initialise and unseal it with throw-away keys, and ``vault operator raft snapshot restore
  -force`` the snapshot into it. Vault checks the snapshot's checksums and installs it, which
  proves the file is a complete, readable raft snapshot; reading the secrets inside needs the
  source cluster's unseal (or recovery) keys, which the drill does not hold (docs/dr/README.md).
- ``region-loss-rto``: read the region-loss RTO from the offline preview's report of a stack
  rendered with ``ttbt2:drActive: true`` (the failover path).
- ``push``: push the drill's result (RTO, RPO by source, success, time of the last success) to
  the Pushgateway as job :data:`JOB`, read by the "TTBT2 / Recovery drills" dashboard and the
  ``RecoveryDrillOverdue`` alert.

The restore subcommands append ``key=value`` lines to ``--output`` (``$GITHUB_OUTPUT``) and
print one JSON object; every external command is the real CLI found on ``PATH``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

JOB: Final = "ttbt2-drill"
"""The Pushgateway job the drill's metrics are grouped under."""

RTO: Final = "ttbt2_drill_rto_seconds"
RPO: Final = "ttbt2_drill_rpo_seconds"
REGION_LOSS_RTO: Final = "ttbt2_drill_region_loss_rto_seconds"
SUCCESS: Final = "ttbt2_drill_success"
LAST_SUCCESS: Final = "ttbt2_drill_last_success_timestamp_seconds"
RTO_OBJECTIVE: Final = "ttbt2_drill_rto_objective_seconds"
RPO_OBJECTIVE: Final = "ttbt2_drill_rpo_objective_seconds"

FAMILIES: Final[tuple[tuple[str, str], ...]] = (
    (RTO, "achieved RTO of the last drill: drill start to every restore checked"),
    (RPO, "achieved RPO of the last drill by source: drill start minus the restored point"),
    (REGION_LOSS_RTO, "region-loss RTO of the failover path (ttbt2:drActive), planning figure"),
    (RTO_OBJECTIVE, "the RTO objective the last drill was checked against"),
    (RPO_OBJECTIVE, "the RPO objective the last drill was checked against"),
    (SUCCESS, "1 when the last drill restored everything within the objectives, else 0"),
    (LAST_SUCCESS, "when the last successful drill ended (Unix time)"),
)
"""Every family :func:`render` pushes, all gauges (the metric catalog lists them)."""

RPO_SOURCES: Final = ("database", "velero", "vault")

TERMINAL_PHASES: Final = frozenset(
    {"Completed", "PartiallyFailed", "Failed", "FailedValidation", "FinalizingPartiallyFailed"}
)
"""Restore phases after which Velero does no more (``Finalizing*`` still runs hooks)."""
VELERO_EXCLUDED: Final = (
    # Webhooks of controllers that do not run in the scratch cluster would refuse every object
    # restored after them; the drill checks that objects come back, not admission.
    "validatingwebhookconfigurations.admissionregistration.k8s.io",
    "mutatingwebhookconfigurations.admissionregistration.k8s.io",
)
VAULT_SNAPSHOT_SUFFIX: Final = ".snap"
VAULT_ADDR: Final = "http://127.0.0.1:8200"
"""The scratch Vault listens on the runner's loopback only, without TLS: it holds a restored
copy for minutes and nothing outside the runner talks to it."""

_RTO_LINE = re.compile(r"^Region-loss RTO: \S+ ([0-9.]+) min", re.MULTILINE)


class DrillError(Exception):
    """A drill step failed; the message says which and why."""


def _run(args: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
    """Run one CLI command; its stdout, or DrillError with its stderr."""
    try:
        done = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            check=False,
            env=None if env is None else {**os.environ, **env},
        )
    except FileNotFoundError:
        raise DrillError(f"{args[0]}: command not found") from None
    if done.returncode != 0:
        raise DrillError(
            f"`{' '.join(args[:4])} ...` exited {done.returncode}: {done.stderr.strip()}"
        )
    return done.stdout


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DrillError(f"{what} is not JSON: {exc}") from None


def epoch(timestamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 / ISO 8601 time (``Z`` or an offset)."""
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise DrillError(f"not a timestamp: {timestamp!r}") from None


def _write_outputs(path: str, values: Mapping[str, object]) -> None:
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for key, value in values.items():
            out.write(f"{key}={value}\n")


# --- Velero -----------------------------------------------------------------------------------


def _items(doc: Any) -> list[dict[str, Any]]:
    """``velero ... get -o json`` prints a List for several objects and the object for one."""
    if isinstance(doc, dict) and "items" in doc:
        return list(doc["items"] or [])
    if isinstance(doc, dict) and doc.get("kind"):
        return [doc]
    return []


def latest_backup(backups: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest backup (by start time) that completed; None when there is none."""
    done = [b for b in backups if b.get("status", {}).get("phase") == "Completed"]
    done = [b for b in done if b["status"].get("startTimestamp")]
    return max(done, key=lambda b: epoch(b["status"]["startTimestamp"]), default=None)


@dataclass(frozen=True)
class VeleroResult:
    """What the Velero restore step reports."""

    backup: str
    backup_time: float
    restore: str
    phase: str
    items_restored: int
    warnings: int


def velero_restore(
    name: str,
    *,
    timeout: float,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> VeleroResult:
    """Restore the newest completed backup as Restore ``name`` and wait for its end."""
    deadline = clock() + timeout
    # The backup location syncs the bucket's backups into the cluster a minute after install.
    while True:
        listed = _json(_run(["velero", "backup", "get", "-o", "json"]), "velero backup get")
        if (backup := latest_backup(_items(listed))) is not None:
            break
        if clock() >= deadline:
            raise DrillError("no completed Velero backup appeared in the backup location")
        sleep(interval)
    backup_name = backup["metadata"]["name"]
    _run(
        [
            "velero",
            "restore",
            "create",
            name,
            "--from-backup",
            backup_name,
            "--restore-volumes=false",
            "--exclude-resources",
            ",".join(VELERO_EXCLUDED),
        ]
    )
    while True:
        restore = _json(
            _run(["velero", "restore", "get", name, "-o", "json"]), "velero restore get"
        )
        status = restore.get("status", {}) if isinstance(restore, dict) else {}
        phase = status.get("phase", "")
        if phase in TERMINAL_PHASES:
            break
        if clock() >= deadline:
            raise DrillError(f"Velero restore {name} still {phase or 'New'} after {timeout:g}s")
        sleep(interval)
    errors = int(status.get("errors", 0))
    if phase != "Completed" or errors:
        detail = status.get("failureReason") or "; ".join(status.get("validationErrors", []))
        # The phase is the verdict; the details are for the log only.
        with contextlib.suppress(DrillError):
            print(_run(["velero", "restore", "describe", name, "--details"]), file=sys.stderr)
        raise DrillError(
            f"Velero restore {name} of {backup_name} ended {phase} with {errors} errors"
            + (f": {detail}" if detail else "")
        )
    return VeleroResult(
        backup=backup_name,
        backup_time=epoch(backup["status"]["startTimestamp"]),
        restore=name,
        phase=phase,
        items_restored=int(status.get("progress", {}).get("itemsRestored", 0)),
        warnings=int(status.get("warnings", 0)),
    )


# --- Vault ------------------------------------------------------------------------------------


def latest_snapshot(objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest ``*.snap`` object of a ``list-objects-v2`` answer's Contents."""
    snaps = [o for o in objects if str(o.get("Key", "")).endswith(VAULT_SNAPSHOT_SUFFIX)]
    return max(snaps, key=lambda o: epoch(o["LastModified"]), default=None)


VAULT_CONFIG: Final = """\
storage "raft" {{
  path    = "{data}"
  node_id = "recovery-drill"
}}
listener "tcp" {{
  address     = "127.0.0.1:8200"
  tls_disable = true
}}
api_addr      = "http://127.0.0.1:8200"
cluster_addr  = "http://127.0.0.1:8201"
disable_mlock = true
ui            = false
"""


@dataclass(frozen=True)
class VaultResult:
    """What the Vault snapshot restore step reports."""

    key: str
    snapshot_time: float
    size: int
    sealed_after_restore: bool | None
    """What the scratch server said after the restore; None when it did not say."""


def _vault_up(env: Mapping[str, str], *, timeout: float, interval: float) -> None:
    """Wait until the server answers ``vault status`` (exit 2 = sealed, which is up)."""
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(
            ["vault", "status", "-format=json"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **env},
        )
        if done.returncode in (0, 2):
            return
        if time.monotonic() >= deadline:
            raise DrillError(f"the scratch Vault did not start: {done.stderr.strip()}")
        time.sleep(interval)


def vault_restore(
    bucket: str, prefix: str, work: Path, *, timeout: float, interval: float
) -> VaultResult:
    """Restore the newest snapshot below ``prefix`` into a scratch Vault started in ``work``."""
    listing = _json(
        _run(
            [
                "aws",
                "s3api",
                "list-objects-v2",
                "--bucket",
                bucket,
                "--prefix",
                f"{prefix.rstrip('/')}/",
                "--output",
                "json",
            ]
        ),
        "aws s3api list-objects-v2",
    )
    snap = latest_snapshot(list((listing or {}).get("Contents") or []))
    if snap is None:
        raise DrillError(f"no Vault snapshot (*{VAULT_SNAPSHOT_SUFFIX}) in s3://{bucket}/{prefix}/")
    file = work / "vault.snap"
    _run(["aws", "s3", "cp", f"s3://{bucket}/{snap['Key']}", str(file), "--only-show-errors"])
    data = work / "raft"
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = work / "vault.hcl"
    config.write_text(VAULT_CONFIG.format(data=data), encoding="utf-8")
    env = {"VAULT_ADDR": VAULT_ADDR}
    log = (work / "vault.log").open("w", encoding="utf-8")
    server = subprocess.Popen(
        ["vault", "server", f"-config={config}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
    )
    try:
        _vault_up(env, timeout=timeout, interval=interval)
        # Throw-away keys: one share, for a server that lives for this step only.
        init = _json(
            _run(
                ["vault", "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json"],
                env=env,
            ),
            "vault operator init",
        )
        _run(["vault", "operator", "unseal", init["unseal_keys_b64"][0]], env=env)
        token_env = {**env, "VAULT_TOKEN": init["root_token"]}
        _run(
            ["vault", "operator", "raft", "snapshot", "restore", "-force", str(file)], env=token_env
        )
        status = subprocess.run(
            ["vault", "status", "-format=json"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **env},
        )
        # For the record only: a server that no longer answers after the restore (it may
        # seal itself, the keyring now being prod's) is not a failed restore.
        try:
            sealed: bool | None = bool(json.loads(status.stdout)["sealed"])
        except (json.JSONDecodeError, KeyError, TypeError):
            sealed = None
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    return VaultResult(
        key=str(snap["Key"]),
        snapshot_time=epoch(snap["LastModified"]),
        size=int(snap.get("Size", file.stat().st_size)),
        sealed_after_restore=sealed,
    )


# --- the failover path's RTO ------------------------------------------------------------------


def region_loss_minutes(report: str) -> float:
    """The region-loss RTO (minutes) the offline preview printed for the failover stack."""
    found = _RTO_LINE.findall(report)
    if len(found) != 1:
        raise DrillError(
            f"expected one 'Region-loss RTO:' line in the preview report, found {len(found)}"
        )
    return float(found[0])


# --- metrics ----------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    return f"{value:g}" if isinstance(value, float) and not value.is_integer() else f"{value:.0f}"


def _number(result: Mapping[str, Any], key: str) -> float | None:
    value = result.get(key)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DrillError(f"drill result field {key!r} is not a number: {value!r}") from None


def render(result: Mapping[str, Any], *, now: float) -> str:
    """The exposition text of a drill result (the JSON the workflow's result step writes).

    A value the drill did not reach is NaN, so a failed drill never leaves the previous
    drill's figures on the dashboard; the time of the last success is pushed only on success,
    so a failed drill keeps the previous one (the Pushgateway replaces only what is pushed).
    """
    met = bool(result.get("objectives_met"))
    rpo = result.get("rpo_seconds_by_source") or {}
    if not isinstance(rpo, Mapping):
        raise DrillError("drill result field 'rpo_seconds_by_source' must be an object")
    minutes = _number(result, "region_loss_rto_minutes")
    samples: dict[str, list[str]] = {
        RTO: [f"{RTO} {_fmt(_number(result, 'rto_seconds'))}"],
        RPO: [f'{RPO}{{source="{s}"}} {_fmt(_number(rpo, s))}' for s in RPO_SOURCES],
        REGION_LOSS_RTO: [f"{REGION_LOSS_RTO} {_fmt(None if minutes is None else minutes * 60)}"],
        RTO_OBJECTIVE: [f"{RTO_OBJECTIVE} {_fmt(_number(result, 'rto_target_seconds'))}"],
        RPO_OBJECTIVE: [f"{RPO_OBJECTIVE} {_fmt(_number(result, 'rpo_target_seconds'))}"],
        SUCCESS: [f"{SUCCESS} {1 if met else 0}"],
    }
    if met:
        samples[LAST_SUCCESS] = [f"{LAST_SUCCESS} {now:.0f}"]
    lines: list[str] = []
    for name, text in FAMILIES:
        if name in samples:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge", *samples[name]]
    return "\n".join(lines) + "\n"


Fetch = Callable[[urllib.request.Request], bytes]


def _fetch(request: urllib.request.Request) -> bytes:
    """Send ``request``; the URL comes from workflow configuration (http or https only)."""
    if urllib.parse.urlsplit(request.full_url).scheme not in ("http", "https"):
        raise DrillError(f"only http(s) URLs are allowed: {request.full_url}")
    with urllib.request.urlopen(request, timeout=30) as response:
        body: bytes = response.read()
        return body


def push(
    gateway: str,
    result: Mapping[str, Any],
    *,
    now: float,
    fetch: Fetch = _fetch,
) -> str:
    """POST the drill's metrics to the group ``job=ttbt2-drill``; returns the text pushed.

    No credential: the gateway admits the CI runners by their security group (seed 4.9.1).
    """
    body = render(result, now=now)
    headers = {"Content-Type": "text/plain; version=0.0.4"}
    fetch(
        urllib.request.Request(
            f"{gateway.rstrip('/')}/metrics/job/{JOB}",
            data=body.encode(),
            method="POST",
            headers=headers,
        )
    )
    return body


# --- entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; exit 0 on success, 1 on a failed step, 2 on bad arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p_velero = sub.add_parser("velero-restore", help="restore the newest Velero backup")
    p_velero.add_argument("--name", required=True, help="name of the Restore object")
    p_velero.add_argument("--timeout-minutes", type=float, default=60.0)
    p_velero.add_argument("--interval-seconds", type=float, default=15.0)
    p_velero.add_argument("--output", default="", help="append key=value lines here")

    p_vault = sub.add_parser("vault-restore", help="restore the newest Vault snapshot")
    p_vault.add_argument("--bucket", required=True)
    p_vault.add_argument("--prefix", required=True, help="such as vault/prod")
    p_vault.add_argument("--timeout-minutes", type=float, default=5.0)
    p_vault.add_argument("--interval-seconds", type=float, default=1.0)
    p_vault.add_argument("--output", default="")

    p_rto = sub.add_parser("region-loss-rto", help="read the region-loss RTO of a preview")
    p_rto.add_argument("--report", required=True, help="the offline preview's output")
    p_rto.add_argument("--output", default="")

    p_push = sub.add_parser("push", help="push a drill result to the Pushgateway")
    p_push.add_argument("--gateway", required=True)
    p_push.add_argument("--result", required=True, help="the drill's recovery-drill.json")

    args = parser.parse_args(argv)
    try:
        if args.command == "velero-restore":
            if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", args.name):
                raise ValueError(f"--name must be a Kubernetes object name, got {args.name!r}")
            velero = velero_restore(
                args.name, timeout=args.timeout_minutes * 60, interval=args.interval_seconds
            )
            _write_outputs(
                args.output,
                {
                    "velero-backup": velero.backup,
                    "velero-backup-time": f"{velero.backup_time:.0f}",
                    "velero-items": velero.items_restored,
                    "velero-restored-at": f"{time.time():.0f}",
                },
            )
            print(json.dumps(velero.__dict__))
        elif args.command == "vault-restore":
            work = Path(tempfile.mkdtemp(prefix="vault-drill-"))
            try:
                vault = vault_restore(
                    args.bucket,
                    args.prefix,
                    work,
                    timeout=args.timeout_minutes * 60,
                    interval=args.interval_seconds,
                )
            finally:
                shutil.rmtree(work, ignore_errors=True)
            _write_outputs(
                args.output,
                {
                    "vault-snapshot": vault.key,
                    "vault-snapshot-time": f"{vault.snapshot_time:.0f}",
                    "vault-restored-at": f"{time.time():.0f}",
                },
            )
            print(json.dumps(vault.__dict__))
        elif args.command == "region-loss-rto":
            try:
                report = Path(args.report).read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(
                    f"--report {args.report!r} cannot be read: {exc.strerror}"
                ) from None
            minutes = region_loss_minutes(report)
            _write_outputs(args.output, {"region-loss-rto-minutes": f"{minutes:g}"})
            print(f"{minutes:g}")
        else:
            try:
                result = json.loads(Path(args.result).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ValueError(
                    f"--result {args.result!r} is not a readable JSON file: {exc}"
                ) from None
            print(push(args.gateway, result, now=time.time()), end="")
    except ValueError as exc:
        print(f"::error::{exc}", file=sys.stderr)
        return 2
    except (DrillError, urllib.error.URLError, TimeoutError) as exc:
        print(f"::error::{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
