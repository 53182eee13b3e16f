"""The release gates of the application pipeline (seed 4.3.2, 4.9.2, 4.11.1).

k6 held to the service's SLO, oasdiff against the last release, and a blocking ZAP scan in
an ephemeral environment. The structure tests read app-pipeline.yml as data; the behaviour
tests run the gates' own shell steps in bash, with the tools they call (oasdiff, docker)
replaced by stubs that record their arguments and answer as told.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.test_workflows import ROOT, load_workflow, steps_of

WORKFLOW = "app-pipeline.yml"
DEPLOYS = ("deploy-staging", "deploy-production")


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load_workflow(WORKFLOW)


def _step(job: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [s for s in steps_of(job) if s.get("name") == name]
    return step


def _needs(job: dict[str, Any]) -> set[str]:
    needs = job.get("needs") or []
    return {needs} if isinstance(needs, str) else set(needs)


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A step's script as the runner runs it (bash -e -o pipefail), with ``env`` only."""
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _stub(bin_dir: Path, name: str, body: str) -> None:
    """An executable ``name`` in ``bin_dir`` running the bash ``body``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


# ---------------------------------------------------------------------------------------------
# structure


def test_every_deploy_needs_the_gates(workflow: dict[str, Any]) -> None:
    """A failed gate blocks the release: staging needs the pre-staging gates, prod all."""
    jobs = workflow["jobs"]
    gates = {"zap-scan", "api-compatibility", "service-spec"}
    assert gates <= _needs(jobs["deploy-staging"])
    assert gates | {"performance", "selenium"} <= _needs(jobs["deploy-production"])
    for gate in [*gates, "performance"]:
        # A gate that could be skipped or tolerated would not block anything.
        assert "continue-on-error" not in jobs[gate], gate
        for step in steps_of(jobs[gate]):
            assert "continue-on-error" not in step, (gate, step.get("name"))


def test_the_slo_comes_from_the_platform_stack(workflow: dict[str, Any]) -> None:
    """service_gates.py reads the staging stack's entry of this service; k6 runs its gate.js."""
    spec_job = workflow["jobs"]["service-spec"]
    step = _step(spec_job, "SLO thresholds and the k6 script")
    assert "scripts/service_gates.py" in step["run"] and "uv run --frozen" in step["run"]
    assert step["env"]["STACK"] == "${{ inputs.staging-stack }}"
    assert step["env"]["SERVICE"] == "${{ inputs.service }}"
    assert '"$GITHUB_OUTPUT"' in step["run"]
    checkout = _step(spec_job, "Check out the platform repository")
    assert checkout["with"]["ref"] == "${{ inputs.platform-ref }}"
    performance = workflow["jobs"]["performance"]
    run = _step(performance, "k6 against staging (SLO thresholds)")
    assert run["run"].startswith("k6 run ") and run["run"].endswith(" k6-gate/gate.js")
    assert run["env"]["BASE_URL"] == "${{ inputs.staging-url }}"
    download = _step(performance, "Download the k6 gate")
    assert download["with"] == {"name": "k6-gate", "path": "k6-gate"}


def test_zap_scans_an_ephemeral_environment_and_blocks_on_high(workflow: dict[str, Any]) -> None:
    """Its own network, the built image by id, no shared environment, torn down always."""
    zap = workflow["jobs"]["zap-scan"]
    text = json.dumps(zap)
    assert "staging-url" not in text and "production-url" not in text
    assert zap["runs-on"] == "ubuntu-latest"
    assert zap["env"]["IMAGE_ID"] == "${{ needs.build.outputs.image-id }}"
    assert zap["env"]["PORT"] == "${{ needs.service-spec.outputs.port }}"
    assert "${{ github.run_id }}" in zap["env"]["NETWORK"]
    start = _step(zap, "Start the ephemeral environment")
    assert 'docker network create --internal "$NETWORK"' in start["run"]
    assert '"$IMAGE_ID"' in start["run"]
    scan = _step(zap, "ZAP API scan (fails on High)")
    assert "zap_gate.py check zap/report.json" in scan["run"]
    assert " -I" not in scan["run"] and "|| true" not in scan["run"]
    teardown = _step(zap, "Tear down the ephemeral environment")
    assert teardown["if"] == "always()"
    assert 'docker network rm "$NETWORK"' in teardown["run"]
    names = [s.get("name") for s in steps_of(zap)]
    assert names[-1] == "Tear down the ephemeral environment"
    # The image handed over is the one the build pushed and Trivy scanned.
    build = workflow["jobs"]["build"]
    assert build["outputs"]["image-id"] == "${{ steps.save.outputs.image-id }}"
    save = _step(build, "Save the image for the ephemeral environment")
    assert save["env"]["IMAGE"] == "${{ steps.image.outputs.image }}"


@pytest.mark.parametrize(
    ("job_id", "step_name", "version_var", "checksums"),
    [
        ("performance", "Install k6", "K6_VERSION", '"$release/k6-$K6_VERSION-checksums.txt"'),
        ("api-compatibility", "Install oasdiff", "OASDIFF_VERSION", '"$release/checksums.txt"'),
    ],
)
def test_tools_are_pinned_and_checksummed(
    workflow: dict[str, Any], job_id: str, step_name: str, version_var: str, checksums: str
) -> None:
    """An exact release, and its archive checked against that release's checksum file."""
    job = workflow["jobs"][job_id]
    assert re.fullmatch(r"v?\d+\.\d+\.\d+", str(job["env"][version_var]))
    run = _step(job, step_name)["run"]
    assert checksums in run and "| sha256sum -c -" in run
    # The archive is checked before it is unpacked.
    assert run.index("sha256sum -c") < run.index("tar -xzf")


def test_the_zap_image_is_a_release(workflow: dict[str, Any]) -> None:
    default = workflow["on"]["workflow_call"]["inputs"]["zap-image"]["default"]
    assert re.fullmatch(r"ghcr\.io/zaproxy/zaproxy:\d+\.\d+\.\d+", default)


# ---------------------------------------------------------------------------------------------
# the backward-compatibility step, run in bash against real git repositories


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _release_repo(tmp_path: Path, history: list[tuple[str, str | None]]) -> Path:
    """A repository whose commits write ``svc/openapi.yaml`` as given, tagged as given."""
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    for number, (spec, tag) in enumerate(history):
        (repo / "svc" / "openapi.yaml").write_text(spec)
        (repo / "svc" / "n").write_text(str(number))
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"c{number}")
        if tag:
            _git(repo, "tag", tag)
    return repo


def _compatibility(
    workflow: dict[str, Any], repo: Path, tmp_path: Path, oasdiff_status: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the step in ``repo/svc``; oasdiff is a stub that records the files it compared."""
    step = _step(workflow["jobs"]["api-compatibility"], "No breaking change since the last release")
    calls = tmp_path / "oasdiff-calls"
    stubs = tmp_path / "bin"
    _stub(
        stubs,
        "oasdiff",
        f'for a in "$@"; do if [ -f "$a" ]; then echo "$a|$(cat "$a")" >> {calls}; '
        f'else echo "$a" >> {calls}; fi; done\nexit {oasdiff_status}\n',
    )
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    proc = _bash(
        step["run"],
        {
            "PATH": f"{stubs}:{os.environ['PATH']}",
            "SPEC": "openapi.yaml",
            "PATTERN": "v*",
            "RUNNER_TEMP": str(runner_temp),
        },
        repo / "svc",
    )
    return proc, calls.read_text().splitlines() if calls.exists() else []


def test_compares_with_the_last_release_before_this_commit(
    workflow: dict[str, Any], tmp_path: Path
) -> None:
    """On a release tag's own run, the release before it is the base; other tags don't count."""
    repo = _release_repo(
        tmp_path,
        [("spec-1.0", "v1.0.0"), ("spec-1.1", "v1.1.0"), ("spec-wip", "nightly"), ("spec-2", "v2")],
    )
    proc, calls = _compatibility(workflow, repo, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "OpenAPI spec against v1.1.0" in proc.stdout
    assert calls[:3] == ["breaking", "--fail-on", "ERR"]
    base, head = calls[3:]
    assert base.endswith("/last-release/svc/openapi.yaml|spec-1.1")
    assert head == "openapi.yaml|spec-2"


def test_a_breaking_change_fails_the_step(workflow: dict[str, Any], tmp_path: Path) -> None:
    repo = _release_repo(tmp_path, [("spec-1", "v1.0.0"), ("spec-2", None)])
    proc, calls = _compatibility(workflow, repo, tmp_path, oasdiff_status=1)
    assert proc.returncode == 1 and calls


def test_a_first_release_has_nothing_to_break(workflow: dict[str, Any], tmp_path: Path) -> None:
    repo = _release_repo(tmp_path, [("spec-1", None), ("spec-2", "v1.0.0")])
    proc, calls = _compatibility(workflow, repo, tmp_path, oasdiff_status=1)
    assert proc.returncode == 0, proc.stderr
    assert "::notice::no release tag matching v*" in proc.stdout and calls == []


def test_a_spec_new_since_the_last_release_passes(workflow: dict[str, Any], tmp_path: Path) -> None:
    repo = _release_repo(tmp_path, [("spec-1", "v1.0.0")])
    (repo / "svc" / "openapi.yaml").rename(repo / "svc" / "old.yaml")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "no spec in the release")
    _git(repo, "tag", "v1.0.1")
    (repo / "svc" / "openapi.yaml").write_text("spec-2")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "spec")
    proc, calls = _compatibility(workflow, repo, tmp_path, oasdiff_status=1)
    assert proc.returncode == 0, proc.stderr
    assert "openapi.yaml is new since v1.0.1" in proc.stdout and calls == []


def test_a_missing_spec_is_an_error(workflow: dict[str, Any], tmp_path: Path) -> None:
    repo = _release_repo(tmp_path, [("spec-1", "v1.0.0"), ("spec-2", None)])
    (repo / "svc" / "openapi.yaml").unlink()
    proc, calls = _compatibility(workflow, repo, tmp_path)
    assert proc.returncode == 1 and calls == []
    assert "::error::openapi.yaml not found" in proc.stdout


# ---------------------------------------------------------------------------------------------
# the ZAP scan step, run in bash with docker stubbed


def _zap_scan(
    workflow: dict[str, Any], tmp_path: Path, status: int, report: object | None
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The scan step with a docker stub that writes ``report`` and exits ``status``."""
    step = _step(workflow["jobs"]["zap-scan"], "ZAP API scan (fails on High)")
    work = tmp_path / "work"
    (work / ".platform" / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "zap_gate.py", work / ".platform" / "scripts" / "zap_gate.py")
    (work / "svc").mkdir()
    (work / "svc" / "openapi.yaml").write_text("openapi: 3.0.3\n")
    report_file = tmp_path / "report-to-write.json"
    if report is not None:
        report_file.write_text(json.dumps(report))
    calls = tmp_path / "docker-calls"
    _stub(
        tmp_path / "bin",
        "docker",
        f'echo "$*" >> {calls}\n'
        f"[ -f {report_file} ] && cp {report_file} zap/report.json\nexit {status}\n",
    )
    proc = _bash(
        step["run"],
        {
            "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
            "SPEC": "svc/openapi.yaml",
            "MAX_MINUTES": "5",
            "NETWORK": "zap-1-1",
            "PORT": "8080",
            "ZAP_IMAGE": "zap:test",
        },
        work,
    )
    return proc, calls.read_text().splitlines() if calls.exists() else []


HIGH = {"site": [{"@name": "http://service:8080", "alerts": [{"name": "XSS", "riskcode": "3"}]}]}
MEDIUM = {"site": [{"@name": "http://service:8080", "alerts": [{"name": "CSP", "riskcode": "2"}]}]}


@pytest.mark.parametrize(
    ("status", "report", "expected"),
    [
        (0, MEDIUM, 0),
        (2, MEDIUM, 0),  # the plan's own warnings: the report decides
        (0, HIGH, 1),
        (2, HIGH, 1),
        (1, MEDIUM, 1),  # the plan failed: no complete scan to judge
        (3, None, 1),
        (0, None, 2),  # ran, but left no report
    ],
)
def test_the_scan_step_verdict(
    workflow: dict[str, Any], tmp_path: Path, status: int, report: object | None, expected: int
) -> None:
    proc, calls = _zap_scan(workflow, tmp_path, status, report)
    assert proc.returncode == expected, proc.stdout + proc.stderr
    (run,) = calls
    assert run.startswith("run --rm --network zap-1-1 ") and "-autorun /zap/wrk/plan.yaml" in run
    plan = json.loads((tmp_path / "work" / "zap" / "plan.yaml").read_text())
    assert plan["jobs"][0]["parameters"]["targetUrl"] == "http://service:8080"
    assert (tmp_path / "work" / "zap" / "openapi").read_text() == "openapi: 3.0.3\n"
