"""Every job that runs ``pulumi`` runs inside a VPC, on the CodeBuild runner of its stack.

Each stack's EKS API endpoint (and Vault) is private, so a ``pulumi`` run on a GitHub-hosted
runner could not preview, deploy or refresh anything inside the cluster. The workflows are read
as data: a job runs pulumi when a ``run:`` script calls the ``pulumi`` CLI or a step uses
``pulumi/actions``; such a job must run on ``codebuild-<project>-${{ github.run_id }}-
${{ github.run_attempt }}`` (CodeBuild's runner label), for a project the stacks register, and
never on a GitHub-hosted label. Pull requests from forks never reach those runners.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from components.aws.ci_runner import project_name
from config import parse_raw
from tests.conftest import raw_settings
from tests.workflows.test_workflows import (
    STACKS,
    all_workflows,
    called_workflow,
    load_workflow,
    steps_of,
)

Workflows = Mapping[str, Mapping[str, Any]]

GITHUB_HOSTED = re.compile(r"^(ubuntu|windows|macos)-", re.IGNORECASE)
CODEBUILD_LABEL = re.compile(
    r"^codebuild-(?P<project>.+)-\$\{\{ github\.run_id \}\}-\$\{\{ github\.run_attempt \}\}$"
)
PROJECT = re.compile(r"^ttbt2-(?P<stack>.+)-ci-runner$")
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
PULUMI_COMMAND = re.compile(r"(?:^|[;&|(]|\bthen|\bdo)[ \t]*pulumi[ \t]+[a-z]", re.MULTILINE)
"""The pulumi CLI called as a shell command (``pulumi up``, ``x=$(pulumi stack output)``,
``... && pulumi destroy``), not a path such as ``$HOME/.pulumi/bin``, a host such as
``get.pulumi.com`` or a command named inside a message (``echo "... `pulumi preview` ..."``)."""
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"
PR_EVENTS = ("pull_request", "pull_request_target")

PULUMI_JOBS = {
    ("pulumi-stack.yml", "pulumi"),
    ("drift.yml", "preview"),
    ("recovery-drill.yml", "prepare"),
    ("recovery-drill.yml", "teardown"),
}
"""What the detector must find today: a detector that finds nothing cannot pass the checks."""

VPC_JOBS_WITHOUT_PULUMI = {("recovery-drill.yml", "restore"), ("anonymise.yml", "anonymise")}
"""Jobs on a runner inside a VPC that run no pulumi: the drill's smoke checks reach the restored
database, which only its own network can; so does the anonymisation's masking."""

APP_PIPELINE = "app-pipeline.yml"
APP_ENVIRONMENT_JOBS = {
    "verify-staging": "staging",
    "performance": "staging",
    "selenium": "staging",
    "record-staging": "production",
    "verify-production": "production",
}
"""What the detector must find in the application pipeline, and whose runner each job needs:
staging's URL answers staging's NAT addresses only; the Pushgateway is on production's internal
load balancer; production's URL is public but its verify job also pushes the event."""
STACK_INPUTS = {"staging": "staging-stack", "production": "production-stack"}
BRANCH_GUARD = (
    "github.event_name != 'pull_request' && github.event_name != 'pull_request_target' "
    "&& (github.ref == format('refs/heads/{0}', github.event.repository.default_branch) "
    "|| startsWith(github.ref, 'refs/tags/'))"
)
"""The condition of every app-pipeline job on an in-VPC runner: deploys happen from the default
branch or a tag, never for a pull request (a fork's included)."""


def _step_text(step: Mapping[str, Any]) -> str:
    """What a step runs and passes: its script, env and ``with`` (not the job's display URL)."""
    return " ".join(str(step.get(key, "")) for key in ("run", "env", "with"))


def environment_needs(job: Mapping[str, Any]) -> set[str]:
    """The environments whose network a job's steps reach.

    ``staging``/``production`` for a step that passes or calls that environment's URL input;
    ``production`` also for a deployment-event push (the Pushgateway is production's).
    """
    found: set[str] = set()
    for step in steps_of(dict(job)):
        text = _step_text(step)
        for environment in STACK_INPUTS:
            if f"inputs.{environment}-url" in text:
                found.add(environment)
        if "deploy_event.py push" in text:
            found.add("production")
    return found


def runs_containers(job: Mapping[str, Any]) -> bool:
    """Whether a job needs a Docker daemon: service containers or ``docker`` in a script."""
    if job.get("services") or job.get("container"):
        return True
    return any(
        re.search(r"(^|[\s;&|(])docker\s", str(s.get("run", ""))) for s in steps_of(dict(job))
    )


def app_runner_problems(
    workflow: Mapping[str, Any], runners: Mapping[str, tuple[bool, bool]]
) -> list[str]:
    """Every app-pipeline job that reaches an environment but not from that environment's runner.

    ``runners`` maps a stack to (registers a runner, runner has Docker), from the stack files.
    """
    inputs = workflow["on"]["workflow_call"]["inputs"]
    problems: list[str] = []
    for job_id, job in workflow["jobs"].items():
        needs = environment_needs(job)
        if not needs:
            continue
        where = f"{APP_PIPELINE}:{job_id}"
        if len(needs) > 1:
            problems.append(f"{where} reaches {sorted(needs)}: no one runner reaches both")
            continue
        (environment,) = needs
        stack_input = STACK_INPUTS[environment]
        expected = f"codebuild-ttbt2-${{{{ inputs.{stack_input} }}}}-ci-runner-" + (
            "${{ github.run_id }}-${{ github.run_attempt }}"
        )
        labels = _labels(job)
        if labels != [expected]:
            problems.append(f"{where} reaches {environment} from {labels}, not {expected!r}")
            continue
        stack = str(inputs[stack_input].get("default", ""))
        registered, docker = runners.get(stack, (False, False))
        if not registered:
            problems.append(f"{where}: input {stack_input} defaults to {stack!r}, no runner")
        elif runs_containers(job) and not docker:
            problems.append(f"{where} runs containers on {stack!r}, whose runner has no Docker")
        if BRANCH_GUARD not in " ".join(str(job.get("if", "")).split()):
            problems.append(f"{where} reaches a runner in the VPC without the branch guard")
    return problems


def guard_allows(condition: str, event: str, ref: str, default_branch: str = "main") -> bool:
    """Evaluates a job's ``if`` for an event and ref (``needs``/status parts taken as true).

    Only the operators the guard uses: ``&&``, ``||``, ``!=``, ``==``, ``format`` and
    ``startsWith``.
    """
    python = " ".join(condition.split()).replace("!cancelled()", "True")
    python = re.sub(r"needs\.[a-z-]+\.outputs\.[a-z-]+ == 'true'", "True", python)
    python = python.replace("github.event.repository.default_branch", repr(default_branch))
    python = python.replace("github.event_name", repr(event))
    python = re.sub(r"github\.ref\b", repr(ref), python)
    python = re.sub(r"format\(('[^']*'), ", r"str.format(\1, ", python)
    python = re.sub(r"startsWith\(('[^']*'), ('[^']*')\)", r"\1.startswith(\2)", python)
    python = python.replace("&&", " and ").replace("||", " or ")
    allowed: bool = eval(python, {"__builtins__": {}, "str": str})
    return allowed


def runs_pulumi(job: Mapping[str, Any]) -> bool:
    """Whether a job's own steps call the pulumi CLI or pulumi/actions."""
    for step in steps_of(dict(job)):
        if str(step.get("uses", "")).startswith("pulumi/actions@"):
            return True
        if PULUMI_COMMAND.search(str(step.get("run", ""))):
            return True
    return False


def _labels(job: Mapping[str, Any]) -> list[str]:
    runs_on = job.get("runs-on")
    if isinstance(runs_on, str):
        return [runs_on]
    if isinstance(runs_on, list):
        return [str(label) for label in runs_on]
    if isinstance(runs_on, dict):
        return [str(label) for label in runs_on.get("labels") or []]
    return []


def _stack_values(
    expression: str, job: Mapping[str, Any], callers: list[Mapping[str, Any]]
) -> set[str]:
    """The stacks a ``${{ ... }}`` of a label stands for: matrix values or callers' inputs."""
    if expression == "matrix.stack":
        return {str(v) for v in job["strategy"]["matrix"]["stack"]}
    if expression == "inputs.stack":
        values: set[str] = set()
        for caller in callers:
            given = str(caller["with"]["stack"])
            inner = EXPRESSION.fullmatch(given)
            values |= _stack_values(inner[1], caller, []) if inner else {given}
        return values
    return set()


def _callers(workflows: Workflows) -> dict[str, list[Mapping[str, Any]]]:
    found: dict[str, list[Mapping[str, Any]]] = {}
    for workflow in workflows.values():
        for job in workflow["jobs"].values():
            if (callee := called_workflow(dict(job))) is not None:
                found.setdefault(callee, []).append(job)
    return found


def runner_problems(workflows: Workflows, runner_stacks: Iterable[str]) -> list[str]:
    """Every pulumi job not on the CodeBuild runner of a stack that has one.

    ``runner_stacks`` are the stacks whose config registers a runner; a drill stack's project
    (``ttbt2-drill-${{ github.run_id }}-ci-runner``) is the only other one a label may name.
    """
    known = {project_name(f"ttbt2-{stack}") for stack in runner_stacks}
    callers = _callers(workflows)
    problems: list[str] = []
    for name, workflow in workflows.items():
        for job_id, job in workflow["jobs"].items():
            if not runs_pulumi(job):
                continue
            where = f"{name}:{job_id}"
            labels = _labels(job)
            hosted = [label for label in labels if GITHUB_HOSTED.match(label)]
            if hosted or not labels:
                problems.append(f"{where} runs pulumi on GitHub-hosted {hosted or 'default'}")
                continue
            match = CODEBUILD_LABEL.match(labels[0])
            if match is None:
                problems.append(f"{where} runs pulumi on {labels[0]!r}, not a CodeBuild label")
                continue
            project = PROJECT.match(match["project"])
            if project is None:
                problems.append(f"{where}: {match['project']!r} is not a ttbt2-<stack>-ci-runner")
                continue
            stack = project["stack"]
            expression = EXPRESSION.fullmatch(stack)
            stacks = (
                _stack_values(expression[1], job, callers.get(name, [])) if expression else {stack}
            )
            if not stacks:
                problems.append(f"{where}: cannot tell which stacks {stack!r} stands for")
            unknown = sorted(s for s in stacks if project_name(f"ttbt2-{s}") not in known)
            if unknown:
                problems.append(f"{where}: no runner project for stack(s) {unknown}")
    return problems


def fork_problems(workflows: Workflows) -> list[str]:
    """Pull-request-triggered jobs that could run pulumi (or a VPC runner) for a fork."""
    vpc = {name for name, w in workflows.items() if any(runs_pulumi(j) for j in w["jobs"].values())}
    problems: list[str] = []
    for name, workflow in workflows.items():
        events = workflow["on"] if isinstance(workflow["on"], (dict, list)) else [workflow["on"]]
        if "pull_request_target" in events:
            problems.append(f"{name}: pull_request_target runs fork code with this repo's rights")
        if not any(event in events for event in PR_EVENTS):
            continue
        for job_id, job in workflow["jobs"].items():
            reaches = runs_pulumi(job) or called_workflow(dict(job)) in vpc
            if reaches and FORK_GUARD not in str(job.get("if", "")):
                problems.append(f"{name}:{job_id} reaches a runner in the VPC without {FORK_GUARD}")
    return problems


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    return all_workflows()


@pytest.fixture(scope="module")
def runner_stacks() -> list[str]:
    return [s for s in STACKS if parse_raw(s, raw_settings(s)).ci_runner.enabled]


def test_the_detector_finds_every_pulumi_job(workflows: dict[str, dict[str, Any]]) -> None:
    found = {
        (name, job_id)
        for name, workflow in workflows.items()
        for job_id, job in workflow["jobs"].items()
        if runs_pulumi(job)
    }
    assert found == PULUMI_JOBS


def test_no_job_runs_pulumi_on_a_github_hosted_runner(
    workflows: dict[str, dict[str, Any]], runner_stacks: list[str]
) -> None:
    assert sorted(runner_stacks) == sorted(STACKS)
    assert runner_problems(workflows, runner_stacks) == []


@pytest.mark.parametrize(("name", "job_id"), sorted(PULUMI_JOBS))
def test_switching_a_job_back_to_ubuntu_is_caught(
    workflows: dict[str, dict[str, Any]], runner_stacks: list[str], name: str, job_id: str
) -> None:
    broken = {**workflows, name: load_workflow(name)}
    broken[name]["jobs"][job_id]["runs-on"] = "ubuntu-latest"
    assert runner_problems(broken, runner_stacks) == [
        f"{name}:{job_id} runs pulumi on GitHub-hosted ['ubuntu-latest']"
    ]


def test_a_label_for_a_stack_without_a_runner_is_caught(
    workflows: dict[str, dict[str, Any]],
) -> None:
    problems = runner_problems(workflows, ["dev", "staging"])
    assert problems and all("['prod']" in p for p in problems)


def test_the_stack_job_runs_on_the_runner_of_the_stack_it_deploys() -> None:
    (job,) = load_workflow("pulumi-stack.yml")["jobs"].values()
    (step,) = [s for s in steps_of(job) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert step["with"]["stack-name"].endswith("/${{ inputs.stack }}")
    assert job["runs-on"].startswith("codebuild-ttbt2-${{ inputs.stack }}-ci-runner-")


def test_drift_runs_on_the_runner_of_the_stack_it_refreshes() -> None:
    job = load_workflow("drift.yml")["jobs"]["preview"]
    assert job["env"]["STACK"] == "${{ matrix.stack }}"
    assert job["runs-on"].startswith("codebuild-ttbt2-${{ matrix.stack }}-ci-runner-")


def test_forks_never_reach_the_runners(workflows: dict[str, dict[str, Any]]) -> None:
    assert fork_problems(workflows) == []
    # The reusable stack workflow refuses a fork's pull request itself too.
    (job,) = workflows["pulumi-stack.yml"]["jobs"].values()
    assert FORK_GUARD in job["if"] and "github.event_name != 'pull_request'" in job["if"]


def test_a_preview_without_the_fork_guard_is_caught(workflows: dict[str, dict[str, Any]]) -> None:
    broken = {**workflows, "pull-request.yml": load_workflow("pull-request.yml")}
    del broken["pull-request.yml"]["jobs"]["preview"]["if"]
    assert fork_problems(broken) == [
        f"pull-request.yml:preview reaches a runner in the VPC without {FORK_GUARD}"
    ]
    broken["pull-request.yml"]["on"] = {"pull_request_target": None}
    assert any("pull_request_target" in p for p in fork_problems(broken))


def test_only_jobs_that_need_the_vpc_use_its_runners(workflows: dict[str, dict[str, Any]]) -> None:
    """Everything else stays on GitHub-hosted runners: no CodeBuild minutes, no VPC access."""
    on_codebuild = {
        (name, job_id)
        for name, workflow in workflows.items()
        for job_id, job in workflow["jobs"].items()
        if any(label.startswith("codebuild-") for label in _labels(job))
    }
    app_jobs = {(APP_PIPELINE, job_id) for job_id in APP_ENVIRONMENT_JOBS}
    assert on_codebuild == PULUMI_JOBS | VPC_JOBS_WITHOUT_PULUMI | app_jobs


# ---------------------------------------------------------------------------------------------
# the application pipeline: jobs that reach an environment run on its runner


@pytest.fixture(scope="module")
def stack_runners() -> dict[str, tuple[bool, bool]]:
    settings = {s: parse_raw(s, raw_settings(s)).ci_runner for s in STACKS}
    return {s: (ci.enabled, ci.docker) for s, ci in settings.items()}


def test_the_detector_finds_every_app_job_that_reaches_an_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    found = {
        job_id: environment_needs(job)
        for job_id, job in workflows[APP_PIPELINE]["jobs"].items()
        if environment_needs(job)
    }
    assert found == {job_id: {env} for job_id, env in APP_ENVIRONMENT_JOBS.items()}
    assert {j for j, job in workflows[APP_PIPELINE]["jobs"].items() if runs_containers(job)} == {
        "selenium",
        # On the hosted runner, reaching no environment: Trivy and the image handed to ZAP;
        # ZAP scans that image in a Docker network of its own.
        "build",
        "zap-scan",
    }


def test_app_jobs_reach_environments_from_their_runners(
    workflows: dict[str, dict[str, Any]], stack_runners: dict[str, tuple[bool, bool]]
) -> None:
    assert app_runner_problems(workflows[APP_PIPELINE], stack_runners) == []


def test_the_runner_inputs_default_to_the_stacks_of_the_environments(
    workflows: dict[str, dict[str, Any]],
) -> None:
    inputs = workflows[APP_PIPELINE]["on"]["workflow_call"]["inputs"]
    assert inputs["staging-stack"]["default"] == "staging"
    assert inputs["production-stack"]["default"] == "prod"
    for name in STACK_INPUTS.values():
        assert inputs[name]["type"] == "string" and not inputs[name].get("required")
        assert "codebuild-ttbt2-<stack>-ci-runner-" in inputs[name]["description"] or (
            "same label format" in inputs[name]["description"]
        )


@pytest.mark.parametrize(("job_id", "environment"), sorted(APP_ENVIRONMENT_JOBS.items()))
def test_an_app_job_moved_back_to_ubuntu_is_caught(
    stack_runners: dict[str, tuple[bool, bool]], job_id: str, environment: str
) -> None:
    broken = load_workflow(APP_PIPELINE)
    broken["jobs"][job_id]["runs-on"] = "ubuntu-latest"
    (problem,) = app_runner_problems(broken, stack_runners)
    assert problem.startswith(
        f"{APP_PIPELINE}:{job_id} reaches {environment} from ['ubuntu-latest']"
    )


def test_an_app_job_on_the_other_environments_runner_is_caught(
    stack_runners: dict[str, tuple[bool, bool]],
) -> None:
    broken = load_workflow(APP_PIPELINE)
    jobs = broken["jobs"]
    jobs["record-staging"]["runs-on"] = jobs["verify-staging"]["runs-on"]
    (problem,) = app_runner_problems(broken, stack_runners)
    assert "record-staging reaches production" in problem


def test_container_jobs_need_a_runner_with_docker(
    workflows: dict[str, dict[str, Any]], stack_runners: dict[str, tuple[bool, bool]]
) -> None:
    without = {**stack_runners, "staging": (True, False)}
    assert sorted(app_runner_problems(workflows[APP_PIPELINE], without)) == [
        f"{APP_PIPELINE}:selenium runs containers on 'staging', whose runner has no Docker"
    ]


def test_a_default_stack_without_a_runner_is_caught(
    stack_runners: dict[str, tuple[bool, bool]],
) -> None:
    broken = load_workflow(APP_PIPELINE)
    broken["on"]["workflow_call"]["inputs"]["production-stack"]["default"] = "qa"
    problems = app_runner_problems(broken, stack_runners)
    assert {p.split(":")[1].split(" ")[0] for p in problems} == {
        job for job, env in APP_ENVIRONMENT_JOBS.items() if env == "production"
    }


@pytest.mark.parametrize("job_id", sorted(APP_ENVIRONMENT_JOBS))
def test_an_app_job_without_the_branch_guard_is_caught(
    stack_runners: dict[str, tuple[bool, bool]], job_id: str
) -> None:
    broken = load_workflow(APP_PIPELINE)
    broken["jobs"][job_id]["if"] = "!cancelled()"
    assert app_runner_problems(broken, stack_runners) == [
        f"{APP_PIPELINE}:{job_id} reaches a runner in the VPC without the branch guard"
    ]


@pytest.mark.parametrize(
    ("event", "ref", "allowed"),
    [
        ("push", "refs/heads/main", True),
        ("push", "refs/tags/v1.2.0", True),
        ("workflow_dispatch", "refs/heads/main", True),
        ("push", "refs/heads/feature", False),
        ("workflow_dispatch", "refs/heads/feature", False),
        ("pull_request", "refs/pull/7/merge", False),
        # A pull request's ref is never main's, but the event alone already refuses it.
        ("pull_request", "refs/heads/main", False),
        ("pull_request_target", "refs/heads/main", False),
    ],
)
def test_the_branch_guard_admits_the_default_branch_and_tags_only(
    workflows: dict[str, dict[str, Any]], event: str, ref: str, allowed: bool
) -> None:
    jobs = workflows[APP_PIPELINE]["jobs"]
    # The deploy jobs themselves too: nothing after them runs for anything else.
    for job_id in [*APP_ENVIRONMENT_JOBS, "deploy-staging", "deploy-production"]:
        assert guard_allows(jobs[job_id]["if"], event, ref) is allowed, job_id


def test_the_guard_evaluator_can_say_no() -> None:
    """The evaluator sees the parts it substitutes: a guard on another branch refuses main."""
    other = BRANCH_GUARD.replace("github.event.repository.default_branch", "'release'")
    assert guard_allows(other, "push", "refs/heads/main") is False
    assert guard_allows(other, "push", "refs/heads/release") is True


def test_the_app_pipeline_is_only_called(workflows: dict[str, dict[str, Any]]) -> None:
    """No trigger of its own: its callers' events reach the guard through ``github``."""
    assert set(workflows[APP_PIPELINE]["on"]) == {"workflow_call"}


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("pulumi up --stack x", True),
        ("out=$(pulumi stack output --json)", True),
        ("  pulumi destroy --yes", True),
        ('echo "$HOME/.pulumi/bin" >> "$GITHUB_PATH"', False),
        ("curl -fsSL https://get.pulumi.com | sh", False),
        ("uv run python -m offline preview", False),
        ('echo "the `pulumi preview` comments"', False),
        ("if [ -n x ] && pulumi stack ls --json", True),
    ],
)
def test_what_counts_as_running_pulumi(script: str, expected: bool) -> None:
    assert runs_pulumi({"steps": [{"run": script}]}) is expected
