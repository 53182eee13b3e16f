"""The reusable application pipeline (app-pipeline.yml) and its helper scripts/deploy_event.py.

Structure tests read the workflow as data (job order, gates, permissions, GitOps only); the
behaviour tests run the helper against a fake Pushgateway and a fake version endpoint served
over real HTTP, and the workflow's own shell steps in bash. actionlint itself runs over this
workflow in tests/workflows/test_workflows.py.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from coverage.results import should_fail_under

from components.monitoring import dashboards
from scripts import deploy_event
from tests.workflows.test_workflows import ROOT, action_name, load_workflow, steps_of

WORKFLOW = "app-pipeline.yml"
GATES = ("unit-tests", "bandit", "sonarqube", "dependency-scan")
PRE_STAGING_GATES = ("zap-scan", "api-compatibility", "service-spec")
"""The release gates that run before staging (no environment reached), seed 4.3.2 and 4.11.1."""
DEPLOYS = {"deploy-staging": "staging", "deploy-production": "production"}
VERIFIES = {"verify-staging": "deploy-staging", "verify-production": "deploy-production"}
"""The in-VPC job that waits for each deploy to serve, and the deploy job it follows."""
RECORDS = {"record-staging": "staging", "verify-production": "production"}
"""The job that pushes each environment's deployment event."""


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load_workflow(WORKFLOW)


def _needs(job: dict[str, Any]) -> set[str]:
    needs = job.get("needs") or []
    return {needs} if isinstance(needs, str) else set(needs)


def _ancestors(jobs: dict[str, Any], job_id: str) -> set[str]:
    """Every job ``job_id`` waits for, directly or through others."""
    seen: set[str] = set()
    todo = list(_needs(jobs[job_id]))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(_needs(jobs[current]))
    return seen


def _step(job: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [s for s in steps_of(job) if s.get("name") == name]
    return step


def _uses(job: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [s for s in steps_of(job) if str(s.get("uses", "")).startswith(prefix)]


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps_of(job))


# ---------------------------------------------------------------------------------------------
# workflow structure


def test_reusable_with_the_inputs_and_secrets_callers_need(workflow: dict[str, Any]) -> None:
    """Only workflow_call; the service-specific values are inputs, credentials are secrets."""
    assert set(workflow["on"]) == {"workflow_call"}
    call = workflow["on"]["workflow_call"]
    required = {k for k, spec in call["inputs"].items() if spec.get("required")}
    assert {
        "service",
        "image-repository",
        "staging-url",
        "production-url",
        "aws-role-arn",
        "config-repository",
    } <= required
    assert call["inputs"]["working-directory"]["default"] == "."
    assert "python-version" in call["inputs"]
    assert {k for k, spec in call["secrets"].items() if spec.get("required")} == {
        "SONAR_TOKEN",
        "CONFIG_REPO_APP_PRIVATE_KEY",
    }
    assert call["outputs"]["image"]["value"] == "${{ jobs.build.outputs.image }}"


def test_job_order(workflow: dict[str, Any]) -> None:
    """Gates -> build -> ZAP -> staging -> k6 and Selenium -> production, nothing skipped."""
    jobs = workflow["jobs"]
    assert _needs(jobs["sonarqube"]) == {"unit-tests"}  # it reads the coverage report
    assert _needs(jobs["build"]) == set(GATES)
    # The gates that need no environment hold staging's deploy back.
    assert _needs(jobs["zap-scan"]) == {"build", "service-spec"}
    assert _needs(jobs["deploy-staging"]) == set(PRE_STAGING_GATES) | {"build"}
    assert _needs(jobs["verify-staging"]) == {"build", "deploy-staging"}
    assert _needs(jobs["record-staging"]) == {"deploy-staging", "verify-staging"}
    # k6 and Selenium test what serves: after the wait, not merely after the merge.
    assert _needs(jobs["performance"]) == {"service-spec", "verify-staging"}
    assert _needs(jobs["selenium"]) == {"verify-staging"}
    assert {*PRE_STAGING_GATES, "performance", "selenium", "build", "verify-staging"} <= _needs(
        jobs["deploy-production"]
    )
    assert _needs(jobs["verify-production"]) == {"build", "deploy-production"}
    # Only staging's event push may fail without holding production back.
    assert _ancestors(jobs, "deploy-production") == set(jobs) - {
        "deploy-production",
        "verify-production",
        "record-staging",
    }


def test_coverage_gate_is_above_95_and_fixed(workflow: dict[str, Any]) -> None:
    """``pytest --cov --cov-fail-under=95.01``, in the workflow rather than an input.

    Fed to coverage.py's own verdict with the lowest precision a service could configure (0):
    95.00 % fails, 95.01 % passes.
    """
    run = _step(workflow["jobs"]["unit-tests"], "Unit tests with the coverage gate")["run"]
    assert "pytest" in run and "--cov " in run
    (threshold,) = re.findall(r"--cov-fail-under=(\S+)", run)
    assert "inputs." not in run
    for precision in (0, 2):
        assert should_fail_under(95.0, float(threshold), precision)
        assert should_fail_under(95.004, float(threshold), precision)
        assert not should_fail_under(95.01, float(threshold), precision)


def test_bandit_fails_on_medium_and_up(workflow: dict[str, Any]) -> None:
    run = _runs(workflow["jobs"]["bandit"])
    assert re.search(r"bandit --recursive .* --severity-level medium", run)
    assert "|| true" not in run


def test_sonarqube_waits_for_the_quality_gate(workflow: dict[str, Any]) -> None:
    (step,) = _uses(workflow["jobs"]["sonarqube"], "SonarSource/sonarqube-scan-action@")
    assert step["env"]["SONAR_TOKEN"] == "${{ secrets.SONAR_TOKEN }}"
    assert step["env"]["SONAR_HOST_URL"] == "${{ inputs.sonar-host-url }}"
    assert "-Dsonar.qualitygate.wait=true" in step["with"]["args"]
    assert "coverage.reportPaths=coverage.xml" in step["with"]["args"]


def test_dependencies_and_image_are_scanned(workflow: dict[str, Any]) -> None:
    """pip-audit on the requirements, Trivy on the pushed digest, both failing the run."""
    assert "pip-audit --requirement" in _runs(workflow["jobs"]["dependency-scan"])
    assert "--strict" in _runs(workflow["jobs"]["dependency-scan"])
    trivy = _step(workflow["jobs"]["build"], "Trivy image scan (fail on high and critical)")
    assert "--exit-code 1" in trivy["run"] and "HIGH,CRITICAL" in trivy["run"]
    assert trivy["env"]["IMAGE"] == "${{ steps.image.outputs.image }}"


def test_build_pushes_to_ecr_through_oidc_and_outputs_the_digest(
    workflow: dict[str, Any],
) -> None:
    build = workflow["jobs"]["build"]
    assert build["permissions"] == {"contents": "read", "id-token": "write"}
    (aws,) = _uses(build, "aws-actions/configure-aws-credentials@")
    assert aws["with"]["role-to-assume"] == "${{ inputs.aws-role-arn }}"
    assert _uses(build, "aws-actions/amazon-ecr-login@")
    (push,) = _uses(build, "docker/build-push-action@")
    assert push["id"] == "push" and push["with"]["push"] is True
    assert "REVISION=${{ github.sha }}" in push["with"]["build-args"]
    image = _step(build, "Image reference")
    assert image["env"]["DIGEST"] == "${{ steps.push.outputs.digest }}"
    assert build["outputs"]["image"] == "${{ steps.image.outputs.image }}"


def test_only_the_build_job_reaches_a_cloud(workflow: dict[str, Any]) -> None:
    """Least privilege: id-token only on build; every other job reads contents only."""
    assert workflow["permissions"] == {"contents": "read"}
    for job_id, job in workflow["jobs"].items():
        if job_id == "build":
            continue
        assert job["permissions"] == {"contents": "read"}, job_id
        assert not _uses(job, "aws-actions/"), job_id


def test_deploys_are_gitops_only(workflow: dict[str, Any]) -> None:
    """No kubectl, helm or argocd anywhere: a deploy is a pull request on the config repo."""
    text = (ROOT / ".github" / "workflows" / WORKFLOW).read_text()
    for tool in ("kubectl", "helm ", "argocd ", "aws eks"):
        assert tool not in text, tool
    for job_id, env_name in DEPLOYS.items():
        job = workflow["jobs"][job_id]
        assert job["environment"]["name"] == env_name
        assert job["concurrency"] == {
            "group": f"deploy-${{{{ inputs.service }}}}-{env_name}",
            "cancel-in-progress": False,
        }
        assert job["env"]["IMAGE"] == "${{ needs.build.outputs.image }}"
        pr = _step(job, "Open the deployment pull request")
        # The image goes in by digest, never by tag.
        assert 'kustomize edit set image "${IMAGE%@*}=$IMAGE"' in pr["run"]
        assert "gh pr create" in pr["run"]
        token = _step(job, "Token for the configuration repository")
        assert action_name(token["uses"]) == "actions/create-github-app-token"
        assert token["with"]["private-key"] == "${{ secrets.CONFIG_REPO_APP_PRIVATE_KEY }}"
        assert token["with"]["repositories"] == "${{ steps.names.outputs.config-name }}"
    for job_id, deploy in VERIFIES.items():
        job = workflow["jobs"][job_id]
        platform = _step(job, "Read-only token for the platform repository")
        assert platform["with"]["permission-contents"] == "read"
        assert "permission-pull-requests" not in platform["with"]
        assert (
            platform["with"]["repositories"] == f"${{{{ needs.{deploy}.outputs.platform-name }}}}"
        )


def test_staging_auto_merges_production_waits_for_review(workflow: dict[str, Any]) -> None:
    """Staging's PR merges by itself; prod's goes to release/prod for the SRE to review."""
    call = workflow["on"]["workflow_call"]["inputs"]
    assert call["staging-branch"]["default"] == "main"
    assert call["production-branch"]["default"] == "release/prod"
    staging, prod = (workflow["jobs"][j] for j in DEPLOYS)
    assert staging["env"]["BASE"] == "${{ inputs.staging-branch }}"
    assert prod["env"]["BASE"] == "${{ inputs.production-branch }}"
    assert "gh pr merge" in _runs(staging)
    assert "gh pr merge" not in _runs(prod)
    assert staging["env"]["CONFIG_ENVIRONMENT"] == "staging"
    assert prod["env"]["CONFIG_ENVIRONMENT"] == "prod"


def test_staging_is_tested_by_selenium(workflow: dict[str, Any]) -> None:
    assert workflow["on"]["workflow_call"]["inputs"]["zap-image"]["default"].startswith(
        "ghcr.io/zaproxy/zaproxy:"
    )
    selenium = workflow["jobs"]["selenium"]
    service = selenium["services"]["selenium"]
    assert service["image"] == "${{ inputs.selenium-image }}"
    assert workflow["on"]["workflow_call"]["inputs"]["selenium-image"]["default"].startswith(
        "selenium/standalone-chrome:"
    )
    suite = _step(selenium, "Selenium suite against staging")
    assert suite["env"]["BASE_URL"] == "${{ inputs.staging-url }}"
    assert suite["env"]["SELENIUM_REMOTE_URL"] == "http://localhost:4444/wd/hub"


def test_production_needs_the_protected_environment(workflow: dict[str, Any]) -> None:
    prod = workflow["jobs"]["deploy-production"]
    assert prod["environment"] == {"name": "production", "url": "${{ inputs.production-url }}"}


def test_every_deploy_records_its_event(workflow: dict[str, Any]) -> None:
    """Both deploys push an event, also on failure; prod adds lead time and validation."""
    jobs = workflow["jobs"]
    for deploy in DEPLOYS:
        # Recorded when the deploy got as far as an unrefused pull request, failed or not.
        assert jobs[deploy]["outputs"]["record"] == (
            "${{ steps.pr.outcome == 'success' && steps.merge.outputs.state != 'CLOSED' }}"
        )
    for job_id, deploy in VERIFIES.items():
        job = jobs[job_id]
        assert job["if"].startswith(f"!cancelled() && needs.{deploy}.outputs.record == 'true'")
        assert job["env"]["STARTED"] == f"${{{{ needs.{deploy}.outputs.started }}}}"
        wait = _step(job, "Wait until the new revision serves")
        assert wait["if"] == f"needs.{deploy}.result == 'success'"
        assert "deploy_event.py wait" in wait["run"] and '--revision "$GITHUB_SHA"' in wait["run"]
        assert '--rollback-output "$GITHUB_OUTPUT"' in wait["run"]
    for job_id, env_name in RECORDS.items():
        job = jobs[job_id]
        assert job["env"]["DEPLOY_ENVIRONMENT"] == env_name
        assert job["concurrency"] == {
            "group": f"deployment-event-${{{{ inputs.service }}}}-{env_name}",
            "cancel-in-progress": False,
        }
        record = _step(job, "Record the deployment event")
        assert "deploy_event.py push" in record["run"]
        assert '--rollback-seconds "$ROLLBACK_SECONDS"' in record["run"]
    # Staging's event: the verify job's result and rollback time, from production's runner.
    staging = _step(jobs["record-staging"], "Record the deployment event")
    assert staging["env"]["OUTCOME"] == (
        "${{ needs.verify-staging.outputs.result == 'healthy' && 'success' || 'failure' }}"
    )
    assert staging["env"]["ROLLBACK_SECONDS"] == (
        "${{ needs.verify-staging.outputs.rollback-seconds }}"
    )
    assert "--lead-time-seconds" not in staging["run"]
    assert jobs["record-staging"]["continue-on-error"] is True
    assert jobs["record-staging"]["if"] == jobs["verify-staging"]["if"]
    # Production's: after the wait, whatever it found, never failing the job by itself.
    prod_job = jobs["verify-production"]
    prod = _step(prod_job, "Record the deployment event")
    assert prod["if"] == "always()" and prod["continue-on-error"] is True
    assert prod["env"]["OUTCOME"] == (
        "${{ steps.wait.outputs.result == 'healthy' && 'success' || 'failure' }}"
    )
    assert prod["env"]["ROLLBACK_SECONDS"] == "${{ steps.wait.outputs.rollback-seconds }}"
    assert "--lead-time-seconds" in prod["run"] and "--validation-seconds" in prod["run"]
    assert prod["env"]["COMMIT_TIME"] == "${{ needs.build.outputs.commit-time }}"
    assert prod["env"]["VALIDATION_SECONDS"] == (
        "${{ needs.deploy-production.outputs.validation-seconds }}"
    )
    names = [s.get("name") for s in steps_of(prod_job)]
    assert names.index("Wait until the new revision serves") < names.index(
        "Record the deployment event"
    )
    served = jobs["verify-staging"]["outputs"]["served-at"]
    assert served == "${{ steps.wait.outputs.finished }}"
    validation = _step(jobs["deploy-production"], "Release validation time")
    assert validation["env"]["STAGING_SERVED"] == "${{ needs.verify-staging.outputs.served-at }}"


# ---------------------------------------------------------------------------------------------
# the dashboard contract


def _deployment_metrics() -> set[str]:
    """Base names of the ttbt2_* series the Deployments dashboard queries."""
    board = dashboards.dashboards()["deployments"]
    exprs = [t["expr"] for p in dashboards.panels(board) for t in p.get("targets", [])]
    exprs += [v.get("query", "") for v in board["templating"]["list"] if v.get("query")]
    names = {m for e in exprs for m in re.findall(r"ttbt2_[a-z_]+", json.dumps(e))}
    return {re.sub(r"_(sum|count|bucket)$", "", n) for n in names}


def test_pipeline_emits_what_the_dashboard_queries() -> None:
    """Every delivery metric the dashboard reads is pushed; a new dashboard metric fails here."""
    state = deploy_event.apply(
        deploy_event.State(),
        deploy_event.Event("success", True, lead_time_seconds=60, validation_seconds=5),
    )
    deploy_event.apply(state, deploy_event.Event("failure", rollback_seconds=240))
    body = deploy_event.render(state)
    emitted = {line.split()[2] for line in body.splitlines() if line.startswith("# TYPE")}
    assert "ttbt2_rollback_duration_seconds" in _deployment_metrics()
    assert _deployment_metrics() <= emitted


def test_environment_labels_match_the_dashboards() -> None:
    """The executive dashboard counts environment="production": the label the jobs push."""
    executive = json.dumps(dashboards.dashboards()["executive"])
    assert 'environment=\\"production\\"' in executive
    assert set(deploy_event.ENVIRONMENTS) == set(DEPLOYS.values())


def test_pushed_text_passes_promtool() -> None:
    """The exposition text is valid for Prometheus (promtool check metrics)."""
    promtool = _which("promtool")
    state = deploy_event.State()
    deploy_event.apply(state, deploy_event.Event("failure"))
    deploy_event.apply(state, deploy_event.Event("success", lead_time_seconds=7200.5))
    proc = subprocess.run(
        [promtool, "check", "metrics"],
        input=deploy_event.render(state),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _which(tool: str) -> str:
    import shutil

    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not on PATH (make test installs it)")
    return path


# ---------------------------------------------------------------------------------------------
# deploy_event: Pushgateway state


def _exposition_to_api(text: str, group: dict[str, str]) -> dict[str, Any]:
    """What a Pushgateway's /api/v1/metrics answers for ``text`` pushed to ``group``."""
    types: dict[str, str] = {}
    families: dict[str, Any] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            _, _, name, kind = line.split()
            types[name] = kind.upper()
            families[name] = {"type": kind.upper(), "help": "", "metrics": []}
            continue
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        name, _, labels_text = series.partition("{")
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if types.get(base) == "HISTOGRAM":
            metric = families[base]["metrics"] or [{"labels": group, "buckets": {}}]
            families[base]["metrics"] = metric
            if name.endswith("_bucket") and labels["le"] != "+Inf":
                metric[0]["buckets"][labels["le"]] = value
            elif name.endswith("_sum"):
                metric[0]["sum"] = value
            elif name.endswith("_count"):
                metric[0]["count"] = value
        else:
            families[name]["metrics"].append({"labels": {**group, **labels}, "value": value})
    return {"labels": dict(group), **families}


class FakePushgateway:
    """An in-memory Pushgateway over real HTTP: PUT replaces a group, the API lists groups."""

    def __init__(self) -> None:
        self.groups: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        self.auth: list[str | None] = []
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gateway.auth.append(self.headers.get("Authorization"))
                if self.path != "/api/v1/metrics":
                    self.send_error(404)
                    return
                body = {"status": "success", "data": list(gateway.groups.values())}
                self._answer(json.dumps(body).encode())

            def do_PUT(self) -> None:
                parts = self.path.strip("/").split("/")
                assert parts[:2] == ["metrics", "job"], self.path
                group = dict(zip(["job", *parts[3::2]], [parts[2], *parts[4::2]], strict=True))
                text = self.rfile.read(int(self.headers["Content-Length"])).decode()
                gateway.groups[tuple(sorted(group.items()))] = _exposition_to_api(text, group)
                self._answer(b"")

            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def group(self, environment: str, service: str) -> dict[str, Any]:
        key = (("environment", environment), ("job", deploy_event.JOB), ("service", service))
        return self.groups[tuple(sorted(key))]


@pytest.fixture
def gateway() -> Iterator[FakePushgateway]:
    fake = FakePushgateway()
    yield fake
    fake.server.shutdown()


def _value(group: dict[str, Any], name: str, **labels: str) -> float:
    for metric in group[name]["metrics"]:
        if all(metric["labels"].get(k) == v for k, v in labels.items()):
            return float(metric["value"])
    raise AssertionError(f"{name}{labels} not in the group")


def test_counters_accumulate_across_pushes(gateway: FakePushgateway) -> None:
    """Three runs make the counter 3, not 1: the push reads before it replaces."""
    for outcome in ("success", "success", "failure"):
        deploy_event.push(gateway.url, "staging", "api", deploy_event.Event(outcome))
    group = gateway.group("staging", "api")
    assert _value(group, deploy_event.DEPLOYMENTS, outcome="success") == 2
    assert _value(group, deploy_event.DEPLOYMENTS, outcome="failure") == 1
    assert _value(group, deploy_event.DEPLOYMENTS, environment="staging", service="api") == 2


def test_groups_are_per_environment_and_service(gateway: FakePushgateway) -> None:
    deploy_event.push(gateway.url, "staging", "api", deploy_event.Event("success"))
    deploy_event.push(gateway.url, "production", "api", deploy_event.Event("success"))
    deploy_event.push(gateway.url, "production", "web", deploy_event.Event("failure"))
    deploy_event.push(gateway.url, "production", "api", deploy_event.Event("success"))
    assert _value(gateway.group("staging", "api"), deploy_event.DEPLOYMENTS, outcome="success") == 1
    prod_api = gateway.group("production", "api")
    assert _value(prod_api, deploy_event.DEPLOYMENTS, outcome="success") == 2
    assert _value(prod_api, deploy_event.DEPLOYMENTS, outcome="failure") == 0
    assert _value(gateway.group("production", "web"), deploy_event.DEPLOYMENTS, outcome="failure")


def test_lead_time_histogram_is_cumulative(gateway: FakePushgateway) -> None:
    """Buckets count every observation at or under their edge; the 2 h target is an edge."""
    assert 7200.0 in deploy_event.LEAD_TIME_BUCKETS
    for seconds in (600, 7200, 9000):
        deploy_event.push(
            gateway.url,
            "production",
            "api",
            deploy_event.Event("success", lead_time_seconds=seconds),
        )
    (metric,) = gateway.group("production", "api")[deploy_event.LEAD_TIME]["metrics"]
    buckets = {float(k): int(v) for k, v in metric["buckets"].items()}
    assert buckets[300.0] == 0 and buckets[900.0] == 1 and buckets[7200.0] == 2
    assert buckets[14400.0] == 3 and metric["count"] == "3" and float(metric["sum"]) == 16800


def test_hotfix_and_validation(gateway: FakePushgateway) -> None:
    deploy_event.push(
        gateway.url,
        "production",
        "api",
        deploy_event.Event("success", hotfix=True, validation_seconds=900),
    )
    deploy_event.push(
        gateway.url, "production", "api", deploy_event.Event("success", validation_seconds=300)
    )
    group = gateway.group("production", "api")
    assert _value(group, deploy_event.HOTFIXES) == 1
    assert _value(group, deploy_event.VALIDATION) == 300  # a gauge: the last release


def test_no_credential_is_sent(gateway: FakePushgateway) -> None:
    """The gateway admits the runners by security group: a push carries no Authorization."""
    deploy_event.push(gateway.url, "staging", "api", deploy_event.Event("success"))
    assert gateway.auth and gateway.auth == [None] * len(gateway.auth)


def test_parse_state_reads_a_real_pushgateway_answer() -> None:
    """The shape the Pushgateway's JSON API really returns, with its extra metrics."""
    answer = {
        "status": "success",
        "data": [
            {"labels": {"job": "other"}, "push_time_seconds": {"metrics": []}},
            {
                "labels": {"job": "ttbt2-delivery", "environment": "production", "service": "api"},
                "last_push_successful": True,
                "push_time_seconds": {"type": "GAUGE", "metrics": [{"value": "1.7e+09"}]},
                "ttbt2_deployments_total": {
                    "type": "COUNTER",
                    "metrics": [
                        {"labels": {"outcome": "success", "instance": ""}, "value": "41"},
                        {"labels": {"outcome": "failure"}, "value": "2"},
                        {"labels": {"outcome": "other"}, "value": "9"},
                    ],
                },
                "ttbt2_hotfixes_total": {"type": "COUNTER", "metrics": [{"value": "1"}]},
                "ttbt2_deployment_lead_time_seconds": {
                    "type": "HISTOGRAM",
                    "metrics": [{"buckets": {"300": "1", "900": "3"}, "count": "4", "sum": "1e4"}],
                },
                "ttbt2_release_validation_seconds": {"metrics": [{"value": "600"}]},
            },
        ],
    }
    state = deploy_event.parse_state(answer, "production", "api")
    assert state.deployments == {"success": 41, "failure": 2}
    assert state.hotfixes == 1 and state.validation == 600
    # Edges the old push did not have start from the next lower edge's count.
    assert state.lead_time.buckets[300.0] == 1 and state.lead_time.buckets[1800.0] == 3
    assert state.lead_time.count == 4 and state.lead_time.total == 10000
    assert deploy_event.parse_state(answer, "staging", "api") == deploy_event.State()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"status": "error"}, "unexpected Pushgateway answer"),
        (
            {
                "status": "success",
                "data": [
                    {
                        "labels": {
                            "job": "ttbt2-delivery",
                            "environment": "staging",
                            "service": "api",
                        },
                        "ttbt2_hotfixes_total": {"metrics": [{"value": "x"}]},
                    }
                ],
            },
            "not a number",
        ),
    ],
)
def test_parse_state_refuses_garbage(answer: dict[str, Any], message: str) -> None:
    with pytest.raises(deploy_event.EventError, match=message):
        deploy_event.parse_state(answer, "staging", "api")


def test_group_with_an_extra_key_is_another_group() -> None:
    answer = {
        "status": "success",
        "data": [
            {
                "labels": {
                    "job": "ttbt2-delivery",
                    "environment": "staging",
                    "service": "api",
                    "instance": "runner-1",
                },
                "ttbt2_hotfixes_total": {"metrics": [{"value": "5"}]},
            }
        ],
    }
    assert deploy_event.parse_state(answer, "staging", "api").hotfixes == 0


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (deploy_event.Event("maybe"), "outcome"),
        (deploy_event.Event("success", lead_time_seconds=-1), "finite"),
        (deploy_event.Event("success", lead_time_seconds=float("nan")), "finite"),
        (deploy_event.Event("success", validation_seconds=-5), "validation"),
        (deploy_event.Event("success", rollback_seconds=60), "belongs to a failed deployment"),
        (deploy_event.Event("failure", rollback_seconds=-1), "finite"),
    ],
)
def test_bad_events_are_refused(event: deploy_event.Event, message: str) -> None:
    with pytest.raises(deploy_event.EventError, match=message):
        deploy_event.apply(deploy_event.State(), event)


def test_group_url_validates_and_quotes() -> None:
    url = deploy_event.group_url("https://pg.example/", "production", "a b")
    assert (
        url == "https://pg.example/metrics/job/ttbt2-delivery/environment/production/service/a%20b"
    )
    with pytest.raises(deploy_event.EventError, match="environment"):
        deploy_event.group_url("https://pg.example", "prod", "api")
    with pytest.raises(deploy_event.EventError, match="service"):
        deploy_event.group_url("https://pg.example", "staging", "")


def test_only_http_urls_are_fetched() -> None:
    with pytest.raises(deploy_event.EventError, match="http"):
        deploy_event._fetch(urllib.request.Request("file:///etc/passwd"))


# ---------------------------------------------------------------------------------------------
# deploy_event: waiting for the rollout


class FakeService:
    """A version endpoint whose answers follow a script (a canary shifting traffic)."""

    def __init__(self, answers: list[str | int]) -> None:
        self.answers = answers
        self.calls = 0
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer = service.answers[min(service.calls, len(service.answers) - 1)]
                service.calls += 1
                if isinstance(answer, int):
                    self.send_error(answer)
                    return
                body = answer.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/version"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


NEW = "a" * 40
OLD = "b" * 40


def _wait(answers: list[str | int], **kwargs: Any) -> tuple[str, FakeService]:
    verdict, service = _verdict(answers, **kwargs)
    return verdict.result, service


def _verdict(answers: list[str | int], **kwargs: Any) -> tuple[deploy_event.Verdict, FakeService]:
    """Wait on a scripted endpoint; the clock advances one second per answer."""
    ticks = iter(range(10_000))
    service = FakeService(answers)
    try:
        verdict = deploy_event.wait(
            service.url,
            NEW,
            timeout=kwargs.pop("timeout", 500),
            interval=0,
            clock=lambda: next(ticks),
            sleep=lambda _: None,
            **kwargs,
        )
    finally:
        service.server.shutdown()
    return verdict, service


def test_wait_needs_consecutive_answers_of_the_new_revision() -> None:
    """A canary answering new, old, new... is not done; ``consecutive`` answers in a row are."""
    canary = [json.dumps({"revision": r}) for r in (OLD, NEW, OLD, NEW, NEW)]
    result, service = _wait([*canary, json.dumps({"revision": NEW})], consecutive=3)
    assert result == "healthy"
    assert service.calls == 6  # the streak restarts after the OLD at call 3: calls 4, 5, 6


def test_wait_times_out_when_the_revision_never_serves() -> None:
    """An aborted canary (old revision forever) or a sync that never happens: timeout."""
    ticks = iter(range(100))
    service = FakeService([OLD])
    try:
        result = deploy_event.wait(
            service.url, NEW, timeout=5, interval=0, clock=lambda: next(ticks), sleep=lambda _: None
        )
    finally:
        service.server.shutdown()
    assert result == deploy_event.Verdict("timeout")
    assert service.calls == 5  # deadline 0 + 5, one answer per tick


def test_wait_survives_errors() -> None:
    """5xx while pods restart breaks the streak but is not a verdict."""
    result, service = _wait([503, NEW, 500, NEW, NEW], consecutive=2)
    assert result == "healthy" and service.calls == 5


def test_wait_refuses_a_zero_streak() -> None:
    with pytest.raises(deploy_event.EventError):
        deploy_event.wait("http://127.0.0.1:1", NEW, timeout=1, consecutive=0)
    with pytest.raises(deploy_event.EventError):
        deploy_event.wait("http://127.0.0.1:1", NEW, timeout=1, rolled_back_after=0)


def test_wait_times_a_rollback_from_the_first_new_answer_to_the_stable_run() -> None:
    """Canary first seen at answer 3, last at answer 5; previous version alone from answer 6."""
    old, new = json.dumps({"revision": OLD}), json.dumps({"revision": NEW})
    # answers:     1    2    3    4    5    6.. (old forever, with an error inside the run)
    answers: list[str | int] = [old, old, new, old, new, old, old, 503, old, old]
    verdict, service = _verdict(answers, rolled_back_after=4)
    # Ticks: 0 for the deadline, then answer k is read at tick k. First new: tick 3. The run of
    # previous answers starts at answer 6 (tick 6); the error at answer 8 neither counts nor
    # breaks it, so the fourth previous answer is answer 10.
    assert verdict == deploy_event.Verdict("rolled-back", 3.0)
    assert service.calls == 10


def test_wait_is_no_rollback_when_the_canary_resumes_or_never_served() -> None:
    """A short run of previous answers is a low-weight canary, not a rollback.

    A run of previous answers shorter than the threshold is a low-weight canary, and a
    revision never seen cannot have been rolled back.
    """
    old, new = json.dumps({"revision": OLD}), json.dumps({"revision": NEW})
    verdict, _ = _verdict([new, old, old, old, new, new, new], rolled_back_after=4, consecutive=3)
    assert verdict == deploy_event.Verdict("healthy")
    verdict, service = _verdict([old], rolled_back_after=2, timeout=20)
    assert verdict == deploy_event.Verdict("timeout") and service.calls == 20


# ---------------------------------------------------------------------------------------------
# deploy_event: command line


def test_cli_push(gateway: FakePushgateway) -> None:
    args = ["push", "--gateway", gateway.url, "--environment", "production", "--service", "api"]
    rc = deploy_event.main(
        [*args, "--outcome", "success", "--hotfix", "true", "--lead-time-seconds", "120"]
    )
    assert rc == 0
    # A step output that was never set arrives as an empty string: no observation.
    assert deploy_event.main([*args, "--outcome", "failure", "--lead-time-seconds", ""]) == 0
    group = gateway.group("production", "api")
    assert group[deploy_event.LEAD_TIME]["metrics"][0]["count"] == "1"
    assert _value(group, deploy_event.HOTFIXES) == 1
    assert gateway.auth[0] is None


def test_cli_wait(capsys: pytest.CaptureFixture[str]) -> None:
    service = FakeService([NEW])
    try:
        rc = deploy_event.main(
            ["wait", "--url", service.url, "--revision", NEW, "--interval-seconds", "0"]
        )
    finally:
        service.server.shutdown()
    assert rc == 0 and capsys.readouterr().out.strip() == "healthy"


def test_cli_wait_timeout_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    service = FakeService([OLD])
    try:
        rc = deploy_event.main(
            [
                *("wait", "--url", service.url, "--revision", NEW, "--timeout-minutes", "0"),
                *("--consecutive", "1", "--interval-seconds", "0"),
            ]
        )
    finally:
        service.server.shutdown()
    assert rc == 1 and capsys.readouterr().out.strip() == "timeout"


def test_cli_wait_writes_the_rollback_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rolled-back exits 1 and appends rollback-seconds to the step-output file."""
    service = FakeService([json.dumps({"revision": NEW}), json.dumps({"revision": OLD})])
    out = tmp_path / "github_output"
    out.write_text("result=earlier\n")
    try:
        rc = deploy_event.main(
            [
                *("wait", "--url", service.url, "--revision", NEW, "--interval-seconds", "0"),
                *("--rolled-back-after", "3", "--rollback-output", str(out)),
            ]
        )
    finally:
        service.server.shutdown()
    assert rc == 1 and capsys.readouterr().out.strip() == "rolled-back"
    lines = out.read_text().splitlines()
    assert lines[0] == "result=earlier"  # appended, never overwritten
    key, seconds = lines[1].split("=")
    assert key == "rollback-seconds" and 0 <= int(seconds) < 5


def test_cli_wait_refuses_an_unwritable_output_before_waiting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad --rollback-output is exit 2 naming the option, and the endpoint is never polled."""
    service = FakeService([json.dumps({"revision": NEW})])
    try:
        rc = deploy_event.main(
            [
                *("wait", "--url", service.url, "--revision", NEW, "--interval-seconds", "0"),
                *("--rollback-output", str(tmp_path / "missing" / "out")),
            ]
        )
    finally:
        service.server.shutdown()
    assert rc == 2 and service.calls == 0
    err = capsys.readouterr().err
    assert "::error::--rollback-output" in err and "cannot be written" in err


def test_cli_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """A bad argument is 2; an unreachable gateway is 1, with a workflow error annotation."""
    assert (
        deploy_event.main(["wait", "--url", "http://x", "--revision", NEW, "--consecutive", "0"])
        == 2
    )
    rc = deploy_event.main(
        [
            *("push", "--gateway", "http://127.0.0.1:1", "--environment", "staging"),
            *("--service", "api", "--outcome", "success"),
        ]
    )
    assert rc == 1
    assert "::error::" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        deploy_event.main(["push", "--gateway", "x", "--environment", "prod"])


# ---------------------------------------------------------------------------------------------
# the workflow's own shell steps, run in bash


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env={"PATH": os.environ["PATH"], **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def test_resolve_names_step(workflow: dict[str, Any], tmp_path: Path) -> None:
    """{environment} is the stack name (prod, not production), as Argo CD's envs/<env>/."""
    step = _step(workflow["jobs"]["deploy-production"], "Resolve names")
    out = tmp_path / "out"
    inputs = workflow["on"]["workflow_call"]["inputs"]
    proc = _bash(
        step["run"],
        {
            "GITHUB_OUTPUT": str(out),
            "CONFIG_ENVIRONMENT": "prod",
            "CONFIG_REPOSITORY": "ttbt2/app-config",
            "PLATFORM_REPOSITORY": "ttbt2/platform",
            "CONFIG_PATH": inputs["config-path"]["default"],
            "NAMESPACE": inputs["namespace"]["default"],
            "SERVICE": "api",
        },
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    # Each service runs in its own namespace, one Argo CD Application and folder each.
    assert _outputs(out) == {
        "config-owner": "ttbt2",
        "config-name": "app-config",
        "platform-owner": "ttbt2",
        "platform-name": "platform",
        "config-path": "envs/prod/api",
    }


@pytest.mark.parametrize(
    "case",
    [("success", 3600, "1", ""), ("failure", None, "0", "300")],
    ids=["success", "rolled-back"],
)
def test_production_record_step(
    workflow: dict[str, Any],
    gateway: FakePushgateway,
    tmp_path: Path,
    case: tuple[str, int | None, str, str],
) -> None:
    """The prod step pushes lead time and rollback time, each when it applies.

    Lead time (commit to serving) only for a success, and the rollback time the wait measured
    for a canary rolled back.
    """
    outcome, lead, count, rollback = case
    step = _step(workflow["jobs"]["verify-production"], "Record the deployment event")
    helper = tmp_path / ".platform" / "scripts"
    helper.mkdir(parents=True)
    (helper / "deploy_event.py").write_text((ROOT / "scripts" / "deploy_event.py").read_text())
    env = {
        "PUSHGATEWAY_URL": gateway.url,
        "OUTCOME": outcome,
        "HOTFIX": "false",
        "COMMIT_TIME": "1000",
        "FINISHED": "4600",
        "VALIDATION_SECONDS": "420",
        "ROLLBACK_SECONDS": rollback,
        "DEPLOY_ENVIRONMENT": "production",
        "SERVICE": "api",
    }
    proc = _bash(step["run"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    group = gateway.group("production", "api")
    (metric,) = group[deploy_event.LEAD_TIME]["metrics"]
    assert metric["count"] == count
    if lead is not None:
        assert float(metric["sum"]) == lead
    assert _value(group, deploy_event.VALIDATION) == 420
    (timed,) = group[deploy_event.ROLLBACK]["metrics"]
    assert timed["count"] == ("1" if rollback else "0")
    assert float(timed["sum"]) == float(rollback or 0)
    assert _value(group, deploy_event.DEPLOYMENTS, outcome=outcome) == 1


def test_record_step_without_a_gateway_only_warns(workflow: dict[str, Any], tmp_path: Path) -> None:
    step = _step(workflow["jobs"]["record-staging"], "Record the deployment event")
    proc = _bash(step["run"], {"PUSHGATEWAY_URL": "", "OUTCOME": "success"}, tmp_path)
    assert proc.returncode == 0
    assert "::warning::" in proc.stdout


def test_unreachable_helper_is_reported() -> None:
    """``urlopen`` errors surface as URLError, which main() turns into exit 1."""
    with pytest.raises(urllib.error.URLError):
        deploy_event._fetch(urllib.request.Request("http://127.0.0.1:1/"))


@pytest.mark.parametrize("job_id", sorted(DEPLOYS))
def test_the_deploy_refuses_a_folder_without_the_gitops_layout(
    workflow: dict[str, Any], job_id: str, tmp_path: Path
) -> None:
    """No kustomization.yaml and rollout.yaml: the step stops before editing anything."""
    step = _step(workflow["jobs"][job_id], "Open the deployment pull request")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "envs" / "prod" / "api").mkdir(parents=True)
    (tmp_path / "envs" / "prod" / "api" / "kustomization.yaml").write_text("resources: []\n")
    proc = _bash(
        step["run"],
        {
            "CONFIG_PATH": "envs/prod/api",
            "SERVICE": "api",
            "CONFIG_ENVIRONMENT": "prod",
            "GITHUB_RUN_ID": "1",
            "GITHUB_RUN_ATTEMPT": "1",
            "IMAGE": "r.example/api@sha256:" + "0" * 64,
        },
        tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "envs/prod/api needs kustomization.yaml and rollout.yaml" in proc.stdout
