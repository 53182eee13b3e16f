"""Dev's synthetic-data Job, as rendered: its three scripts run for real, its objects read.

``auth`` runs against stub ``aws`` and ``curl``; ``generate`` runs the real Python on the
files of the rendered ConfigMap (so the generator and schema the Job gets are the ones that
produce the SQL); ``load`` runs against a stub ``psql`` that answers the marker queries as a
seeded or an empty database would, and records whether the seed was loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from components.k8s import synthetic_data as job
from offline.graph import StackGraph
from scripts import synthetic_data as gen
from tests.support.pod_security import restricted_problems
from tests.support.stacks import StackRenders, of_type, one, raw_settings

JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
INSTANCE = "aws:rds/instance:Instance"

STUBS = {
    "aws": 'echo \'{"username": "ttbt2_admin", "password": "pw:with\\"quote"}\'',
    "curl": 'while [ $# -gt 0 ]; do [ "$1" = -o ] && echo "CA" > "$2"; shift; done',
    "psql": """
echo "env PGUSER=${PGUSER:-} PGPASSWORD=${PGPASSWORD:-} PGSSLMODE=${PGSSLMODE:-}" >> "$LOG"
[ "${PSQL_EXIT:-0}" = 0 ] || exit "$PSQL_EXIT"
case "$*" in
  *to_regclass*) echo "${MARKER_EXISTS:-f}" ;;
  *"SELECT schema_sha256"*) echo "${SEEDED_SHA:-}" ;;
esac
""",
}


@pytest.fixture(scope="module")
def dev(stacks: StackRenders) -> StackGraph:
    return stacks.graph("dev")


def _pod(graph: StackGraph) -> dict[str, Any]:
    pod: dict[str, Any] = one(graph, JOB, "-synthetic-data-job").props["spec"]["template"]["spec"]
    return pod


def _containers(graph: StackGraph) -> dict[str, dict[str, Any]]:
    pod = _pod(graph)
    return {c["name"]: c for c in [*pod["initContainers"], *pod["containers"]]}


def _run(
    tmp_path: Path, graph: StackGraph, name: str, **extra: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run one container's script with its rendered env, scratch and ConfigMap in tmp_path."""
    bin_dir, scratch, config = tmp_path / "bin", tmp_path / "scratch", tmp_path / "seed"
    for d in (bin_dir, scratch, config):
        d.mkdir(exist_ok=True)
    for file, text in one(graph, CONFIG_MAP, "-synthetic-data-generator").props["data"].items():
        (config / file).write_text(text)
    log = tmp_path / "calls.log"
    for tool, body in STUBS.items():
        stub = bin_dir / tool
        stub.write_text(
            '#!/bin/sh\nprintf "%s" "$(basename "$0")" >> "$LOG"\n'
            'for a in "$@"; do printf \' [%s]\' "$a" >> "$LOG"; done\necho >> "$LOG"\n' + body
        )
        stub.chmod(0o755)
    python = bin_dir / "python3"
    if not python.exists():
        python.symlink_to(sys.executable)
    container = _containers(graph)[name]
    env = {e["name"]: str(e["value"]).replace(job.SCRATCH, str(scratch)) for e in container["env"]}
    env.update(PATH=f"{bin_dir}:/usr/bin:/bin", LOG=str(log), **extra)
    script = container["command"][2].replace(job.CONFIG_DIR, str(config))
    done = subprocess.run(
        ["/bin/sh", "-c", script], env=env, capture_output=True, text=True, check=False
    )
    return done, log.read_text().splitlines() if log.exists() else []


def test_the_three_steps_seed_an_empty_database(tmp_path: Path, dev: StackGraph) -> None:
    done, calls = _run(tmp_path, dev, "auth")
    assert done.returncode == 0, done.stderr
    [aws] = [c for c in calls if c.startswith("aws ")]
    assert "[secretsmanager] [get-secret-value] [--secret-id] [arn:aws:secretsmanager:" in aws
    scratch = tmp_path / "scratch"
    done, _ = _run(tmp_path, dev, "generate")
    assert done.returncode == 0, done.stderr
    assert not (scratch / "db-secret.json").exists()
    assert (scratch / "db-password").read_text() == 'pw:with"quote'
    expected = gen.render_sql(gen.load_spec(job.SCHEMA), "postgres")
    assert (scratch / "seed.sql").read_text() == expected
    done, calls = _run(tmp_path, dev, "load", MARKER_EXISTS="f")
    assert done.returncode == 0, done.stderr
    assert f"[--single-transaction] [-f] [{scratch}/seed.sql]" in calls[-2]
    assert 'env PGUSER=ttbt2_admin PGPASSWORD=pw:with"quote PGSSLMODE=verify-full' in calls
    assert not (scratch / "db-password").exists()
    assert "seeded with schema" in done.stdout


@pytest.mark.parametrize(("sha", "words"), [("SAME", "nothing to do"), ("old", "left as it is")])
def test_a_seeded_database_is_left_alone(
    tmp_path: Path, dev: StackGraph, sha: str, words: str
) -> None:
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "db-user").write_text("ttbt2_admin")
    (tmp_path / "scratch" / "db-password").write_text("pw")
    seeded = job.schema_sha256() if sha == "SAME" else sha
    done, calls = _run(tmp_path, dev, "load", MARKER_EXISTS="t", SEEDED_SHA=seeded)
    assert done.returncode == 0, done.stderr
    assert words in done.stdout
    assert not any("[-f]" in c for c in calls)


def test_an_unreachable_database_fails_the_run_without_loading(
    tmp_path: Path, dev: StackGraph
) -> None:
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "db-user").write_text("u")
    (tmp_path / "scratch" / "db-password").write_text("p")
    done, calls = _run(tmp_path, dev, "load", PSQL_EXIT="2")
    assert done.returncode != 0
    assert not any("[-f]" in c for c in calls)


def test_job_waits_for_the_database_and_is_a_valid_restricted_job(dev: StackGraph) -> None:
    resource = one(dev, JOB, "-synthetic-data-job")
    [instance] = of_type(dev, INSTANCE)
    assert instance.urn in resource.dependencies
    kubernetes_validate.validate({"apiVersion": "batch/v1", **resource.props}, "1.33", strict=True)
    pod = _pod(dev)
    assert restricted_problems(pod) == []
    assert pod["automountServiceAccountToken"] is False
    for container in _containers(dev).values():
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert all("valueFrom" not in e for e in container["env"])
    [scratch] = [v for v in pod["volumes"] if v["name"] == "scratch"]
    assert scratch["emptyDir"]["medium"] == "Memory"
    annotations = resource.props["spec"]["template"]["metadata"]["annotations"]
    assert len(annotations[job.SCHEMA_HASH]) == 64


def test_network_policy_lets_out_dns_https_and_postgres_in_the_vpc_only(dev: StackGraph) -> None:
    spec = one(dev, NETPOL, "-synthetic-data-netpol").props["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in spec
    ports = sorted((p["protocol"], p["port"]) for r in spec["egress"] for p in r["ports"])
    assert ports == [("TCP", 53), ("TCP", 443), ("TCP", 5432), ("UDP", 53)]
    [postgres] = [r for r in spec["egress"] if r["ports"][0]["port"] == 5432]
    assert postgres["to"] == [{"ipBlock": {"cidr": raw_settings("dev")["vpcCidr"]}}]


def test_role_reads_the_master_secret_only(dev: StackGraph) -> None:
    doc = json.loads(one(dev, ROLE_POLICY, "-synthetic-data").props["policy"])
    read, decrypt = doc["Statement"]
    assert read["Action"] == "secretsmanager:GetSecretValue"
    assert read["Resource"] == dev.outputs["databaseMasterSecretArn"]["value"]
    assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"].startswith("arn:aws:kms:")
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    }


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_only_dev_runs_it(stacks: StackRenders, stack: str) -> None:
    assert not [r for r in of_type(stacks.graph(stack), JOB) if "synthetic" in r.name]
