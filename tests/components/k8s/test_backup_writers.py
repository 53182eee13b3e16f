"""The hourly backup writers of the rendered stacks: the database export and Vault's snapshots.

The scripts run for real, with ``/bin/sh`` and the environment of their rendered containers,
against stub ``aws``, ``curl``, ``pg_dump``, ``pg_restore`` and ``vault`` executables that
record what they were asked. The rest reads the rendered graphs: schedule and limits, the
restricted pod, the IRSA role's permissions, the NetworkPolicy, the store's lifecycle rule, and
the prod graph without its export, which ``python -m offline check`` must refuse.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from components.k8s import database_export
from components.k8s.backup_job import SCRATCH_DIR, WRITES_TO
from offline import cli
from offline.graph import Resource, StackGraph, mask_secrets
from tests.support.pod_security import restricted_problems
from tests.support.stacks import StackRenders, of_type, one, raw_settings

CRONJOB = "kubernetes:batch/v1:CronJob"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
EXPORT, SNAPSHOT = "database-export", "vault-snapshot"

STUBS = {
    "aws": """
case "$1" in
  rds) echo "iam-token-123" ;;
  s3) exit "${AWS_S3_EXIT:-0}" ;;
esac
""",
    "curl": """
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then echo "CA BUNDLE" > "$2"; fi
  shift
done
""",
    "pg_dump": """
{
  echo "env PGPASSWORD=${PGPASSWORD:-} PGSSLMODE=${PGSSLMODE:-} PGUSER=${PGUSER:-}"
  echo "env PGSSLROOTCERT=${PGSSLROOTCERT:-} PGHOST=${PGHOST:-}"
  if [ -e "$BACKUP_DIR/db-token" ]; then echo "token file present"; fi
} >> "$LOG"
for a in "$@"; do
  case "$a" in --file=*) echo "PGDMP" > "${a#--file=}" ;; esac
done
exit "${PG_DUMP_EXIT:-0}"
""",
    "pg_restore": "",
    "vault": """
case "$1" in
  write) echo "hvs.snapshot-token" ;;
  operator) echo "env VAULT_TOKEN=${VAULT_TOKEN:-}" >> "$LOG"; echo "SNAP" > "$5" ;;
esac
""",
}


@pytest.fixture(scope="module")
def prod(stacks: StackRenders) -> StackGraph:
    """The rendered prod stack (shared: never changed, only copied)."""
    return stacks.graph("prod")


def _cronjob(graph: StackGraph, app: str) -> Resource:
    return one(graph, CRONJOB, f"-{app}-cronjob")


def _pod(graph: StackGraph, app: str) -> dict[str, Any]:
    spec: dict[str, Any] = _cronjob(graph, app).props["spec"]["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def _containers(graph: StackGraph, app: str) -> dict[str, dict[str, Any]]:
    pod = _pod(graph, app)
    return {c["name"]: c for c in [*pod.get("initContainers", []), *pod["containers"]]}


def _run(
    tmp_path: Path, container: dict[str, Any], **extra: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``container``'s script with its rendered env, the scratch dir in ``tmp_path``."""
    bin_dir, scratch = tmp_path / "bin", tmp_path / "scratch"
    bin_dir.mkdir(exist_ok=True)
    scratch.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    for name, body in STUBS.items():
        stub = bin_dir / name
        stub.write_text(
            '#!/bin/sh\nprintf "%s" "$(basename "$0")" >> "$LOG"\n'
            'for a in "$@"; do printf \' [%s]\' "$a" >> "$LOG"; done\n'
            'echo >> "$LOG"\n' + body
        )
        stub.chmod(0o755)
    env = {e["name"]: str(e["value"]).replace(SCRATCH_DIR, str(scratch)) for e in container["env"]}
    env.update(PATH=f"{bin_dir}:/usr/bin:/bin", LOG=str(log), **extra)
    command = container["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    done = subprocess.run(
        ["/bin/sh", "-c", command[2]], env=env, capture_output=True, text=True, check=False
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return done, calls


def _call(calls: list[str], tool: str) -> list[str]:
    """The arguments of the calls of ``tool``, each as one string."""
    return [line.removeprefix(tool).strip() for line in calls if line.startswith(tool + " [")]


# --- the scripts, run ------------------------------------------------------------------------


def test_auth_step_fetches_the_region_bundle_and_a_token_for_the_export_user(
    tmp_path: Path, prod: StackGraph
) -> None:
    done, calls = _run(tmp_path, _containers(prod, EXPORT)["auth"])
    assert done.returncode == 0, done.stderr
    [token_call] = _call(calls, "aws")
    assert "[rds] [generate-db-auth-token]" in token_call
    assert f"[--username] [{database_export.EXPORT_USER}]" in token_call
    assert "[--port] [5432]" in token_call and "[--region] [eu-west-1]" in token_call
    assert re.search(r"\[--hostname\] \[ttbt2-prod-db\.[^\]]+\.rds\.amazonaws\.com\]", token_call)
    [curl] = _call(calls, "curl")
    assert "[--proto] [=https]" in curl
    assert "[https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem]" in curl
    assert (tmp_path / "scratch" / "db-token").read_text().strip() == "iam-token-123"


def test_dump_step_dumps_custom_compressed_over_verified_tls_with_the_token(
    tmp_path: Path, prod: StackGraph
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "db-token").write_text("iam-token-123\n")
    done, calls = _run(tmp_path, _containers(prod, EXPORT)["dump"])
    assert done.returncode == 0, done.stderr
    [dump] = _call(calls, "pg_dump")
    assert "[--format=custom]" in dump and "[--compress=9]" in dump
    assert f"[--file={scratch}/export.dump]" in dump and "[--dbname=ttbt2]" in dump
    assert "[--no-password]" in dump
    assert "env PGPASSWORD=iam-token-123 PGSSLMODE=verify-full PGUSER=ttbt2_export" in calls
    assert f"env PGSSLROOTCERT={scratch}/rds-ca.pem PGHOST=ttbt2-prod-db." in "\n".join(calls)
    # The token left the disk before the dump started.
    assert "token file present" not in calls
    assert _call(calls, "pg_restore") == [f"[--list] [{scratch}/export.dump]"]


def test_a_failed_dump_stops_the_pod_before_the_archive_is_checked(
    tmp_path: Path, prod: StackGraph
) -> None:
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "db-token").write_text("t")
    done, calls = _run(tmp_path, _containers(prod, EXPORT)["dump"], PG_DUMP_EXIT="1")
    assert done.returncode != 0
    assert _call(calls, "pg_restore") == []


def test_upload_puts_the_dump_below_exports_env_with_the_store_key(
    tmp_path: Path, prod: StackGraph
) -> None:
    done, calls = _run(tmp_path, _containers(prod, EXPORT)["upload"])
    assert done.returncode == 0, done.stderr
    [upload] = _call(calls, "aws")
    # The store: the bucket and default key of its encryption configuration.
    store = one(prod, SSE, "snapshots").props
    key_arn = store["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]
    scratch = tmp_path / "scratch"
    match = re.fullmatch(
        rf"\[s3\] \[cp\] \[{scratch}/export\.dump\] "
        r"\[s3://(?P<bucket>[^/]+)/exports/prod/(?P<stamp>\d{8}T\d{6}Z)\.dump\] "
        r"\[--sse\] \[aws:kms\] \[--sse-kms-key-id\] \[(?P<key>[^\]]+)\] \[--only-show-errors\]",
        upload,
    )
    assert match, upload
    assert (match["bucket"], match["key"]) == (store["bucket"], key_arn)
    # ... the bucket the copy to Azure reads.
    copier = _env(
        one(prod, CRONJOB, "backup-copy").props["spec"]["jobTemplate"]["spec"]["template"]["spec"][
            "containers"
        ][0]
    )
    assert copier["RCLONE_SOURCE"] == f"s3:{store['bucket']}/exports/prod"


def test_a_failed_upload_fails_the_run(tmp_path: Path, prod: StackGraph) -> None:
    done, _ = _run(tmp_path, _containers(prod, EXPORT)["upload"], AWS_S3_EXIT="1")
    assert done.returncode != 0


def test_vault_snapshot_logs_in_as_its_role_saves_and_revokes(
    tmp_path: Path, prod: StackGraph
) -> None:
    done, calls = _run(tmp_path, _containers(prod, SNAPSHOT)["snapshot"])
    assert done.returncode == 0, done.stderr
    login, save, revoke = _call(calls, "vault")
    assert login == (
        "[write] [-field=token] [auth/kubernetes-prod/login] [role=vault-snapshot] "
        "[jwt=@/var/run/secrets/vault/token]"
    )
    assert save == f"[operator] [raft] [snapshot] [save] [{tmp_path}/scratch/vault.snap]"
    assert "env VAULT_TOKEN=hvs.snapshot-token" in calls
    assert revoke == "[token] [revoke] [-self]"
    upload, calls = _run(tmp_path, _containers(prod, SNAPSHOT)["upload"])
    assert upload.returncode == 0, upload.stderr
    assert re.search(
        r"\[s3://[^/]+/vault/prod/\d{8}T\d{6}Z\.snap\] \[--sse\] \[aws:kms\]", calls[-1]
    )


# --- the rendered objects ------------------------------------------------------------------------


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}


@pytest.mark.parametrize("app", [EXPORT, SNAPSHOT])
def test_hourly_never_twice_at_once_and_stopped_before_the_next_run(
    prod: StackGraph, app: str
) -> None:
    spec = _cronjob(prod, app).props["spec"]
    assert re.fullmatch(r"\d{1,2} \* \* \* \*", spec["schedule"])
    assert spec["concurrencyPolicy"] == "Forbid"
    assert 0 < spec["startingDeadlineSeconds"] <= 900
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    assert 0 < spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 3600
    kubernetes_validate.validate(
        {"apiVersion": "batch/v1", **_cronjob(prod, app).props}, "1.33", strict=True
    )


@pytest.mark.parametrize("app", [EXPORT, SNAPSHOT])
def test_pod_is_restricted_read_only_and_holds_no_secret_in_env(prod: StackGraph, app: str) -> None:
    pod = _pod(prod, app)
    assert restricted_problems(pod) == []
    assert pod["automountServiceAccountToken"] is False
    for container in _containers(prod, app).values():
        ctx = container["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True and ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["runAsUser"] >= 10000
        assert all("valueFrom" not in e for e in container["env"])
        assert container["resources"]["limits"] and container["resources"]["requests"]
        assert ":" in container["image"] and not container["image"].endswith(":latest")
    scratch = [v for v in pod["volumes"] if v["name"] == "scratch"]
    assert scratch and "emptyDir" in scratch[0]


def test_dump_image_matches_the_database_major_version(prod: StackGraph) -> None:
    major = str(raw_settings("prod").get("dbEngineVersion", "17")).split(".")[0]
    assert _containers(prod, EXPORT)["dump"]["image"].startswith(f"postgres:{major}.")
    with pytest.raises(ValueError, match="known majors"):
        database_export.postgres_image("15")


def _statements(graph: StackGraph, app: str) -> list[dict[str, Any]]:
    doc = json.loads(one(graph, ROLE_POLICY, f"-{app}").props["policy"])
    return list(doc["Statement"])


def test_export_role_may_only_put_below_its_prefix_use_the_store_key_and_connect(
    prod: StackGraph,
) -> None:
    grants = {
        (a, s["Resource"])
        for s in _statements(prod, EXPORT)
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    store = one(prod, SSE, "snapshots").props
    key_arn = store["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]
    s3 = {r for a, r in grants if a.startswith("s3:")}
    assert s3 == {f"arn:aws:s3:::{store['bucket']}/exports/prod/*"}
    assert {a for a, _ in grants if a.startswith("s3:")} == {
        "s3:PutObject",
        "s3:AbortMultipartUpload",
    }
    assert {r for a, r in grants if a.startswith("kms:")} == {key_arn}
    assert {a for a, _ in grants if a.startswith("kms:")} == {
        "kms:GenerateDataKey",
        "kms:Encrypt",
        "kms:Decrypt",
    }
    [connect] = [r for a, r in grants if a == "rds-db:connect"]
    assert re.fullmatch(
        r"arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-[0-9A-F]{26}/ttbt2_export", connect
    )


def test_snapshot_role_may_not_connect_to_the_database(prod: StackGraph) -> None:
    actions = {json.dumps(s["Action"]) for s in _statements(prod, SNAPSHOT)}
    assert not any("rds-db" in a for a in actions)
    [put] = [s for s in _statements(prod, SNAPSHOT) if "s3:PutObject" in s["Action"]]
    assert put["Resource"].endswith("/vault/prod/*")


def test_network_policy_admits_nothing_and_lets_out_dns_postgres_in_the_vpc_and_https(
    prod: StackGraph,
) -> None:
    spec = one(prod, NETPOL, f"-{EXPORT}-netpol").props["spec"]
    labels = _cronjob(prod, EXPORT).props["spec"]["jobTemplate"]["spec"]["template"]["metadata"]
    assert spec["podSelector"]["matchLabels"].items() <= labels["labels"].items()
    assert spec["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in spec
    ports = sorted((p["protocol"], p["port"]) for r in spec["egress"] for p in r["ports"])
    assert ports == [("TCP", 53), ("TCP", 443), ("TCP", 5432), ("UDP", 53)]
    [postgres] = [r for r in spec["egress"] if r["ports"][0]["port"] == 5432]
    assert postgres["to"] == [{"ipBlock": {"cidr": raw_settings("prod")["vpcCidr"]}}]


def test_snapshot_job_may_reach_vault_on_its_port_only_beyond_https(prod: StackGraph) -> None:
    spec = one(prod, NETPOL, f"-{SNAPSHOT}-netpol").props["spec"]
    ports = sorted((p["protocol"], p["port"]) for r in spec["egress"] for p in r["ports"])
    # ttbt2:vaultAddress is https://vault.ttbt2.example:8200 in prod.
    assert ports == [("TCP", 53), ("TCP", 443), ("TCP", 8200), ("UDP", 53)]
    [vault] = [r for r in spec["egress"] if r["ports"][0]["port"] == 8200]
    assert vault["to"][0]["ipBlock"]["except"] == ["169.254.169.254/32"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_exports_and_keeps_exports_for_the_retention_setting(
    stacks: StackRenders, stack: str
) -> None:
    graph = stacks.graph(stack)
    assert _cronjob(graph, EXPORT).props["metadata"]["annotations"] == {
        WRITES_TO: f"exports/{stack}"
    }
    rules = one(graph, LIFECYCLE, "snapshots").props["rules"]
    days = int(raw_settings(stack).get("exportRetentionDays", 30))
    [rule] = [r for r in rules if r["filter"].get("prefix") == f"exports/{stack}/"]
    assert rule["expiration"] == {"days": days} and rule["status"] == "Enabled"


def test_only_the_stack_that_takes_vault_snapshots_runs_the_job(stacks: StackRenders) -> None:
    takes = {
        stack: any(f"-{SNAPSHOT}-cronjob" in r.name for r in of_type(stacks.graph(stack), CRONJOB))
        for stack in ("dev", "staging", "prod")
    }
    assert takes == {"dev": False, "staging": False, "prod": True}


# --- issue 16's done-when: prod without its export fails the policy check -------------------------


def _check(tmp_path: Path, graph: StackGraph, drop: str, name: str) -> tuple[int, str]:
    """``python -m offline check`` on ``graph`` without the resources whose name has ``drop``.

    The command's main runs in this process; its module entry is tested in
    tests/offline/test_cli.py.
    """
    kept = [
        dataclasses.replace(r, props=mask_secrets(r.props))
        for r in graph.resources
        if not (drop and drop in r.name)
    ]
    path = tmp_path / f"{name}.json"
    StackGraph(graph.project, graph.stack, kept, graph.outputs).write(path)
    out = io.StringIO()
    return cli.main(["check", str(path)], out=out), out.getvalue()


@pytest.mark.usefixtures("session_engine")
def test_prod_without_its_database_export_fails_the_check_naming_copy_job_and_prefix(
    tmp_path: Path, prod: StackGraph
) -> None:
    code, whole = _check(tmp_path, prod, "", "whole")
    assert code == 0, whole
    code, without = _check(tmp_path, prod, f"-{EXPORT}-cronjob", "without")
    assert code == 1, without
    assert "ttbt2-copy-source-has-writer" in without
    assert "copy job ttbt2-prod-backup-copy-cronjob copies exports/prod/" in without
