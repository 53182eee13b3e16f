"""The offline CLI: exit statuses, messages for bad input, the JSON format both ways."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offline.cli import EXIT_OK, EXIT_PROGRAM, EXIT_USAGE, EXIT_VIOLATION, main
from offline.graph import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN
from tests.conftest import ROOT

# Each stack configuration is rendered once per session, not once per CLI run.
pytestmark = pytest.mark.usefixtures("session_engine")


def run(*argv: str) -> tuple[int, str]:
    """Run the CLI in-process; return (exit status, printed text)."""
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


TAGS = {"environment": "dev", "owner": "o", "cost-center": "c", "managed-by": "pulumi"}


def key_resource(name: str = "k", **props: Any) -> dict[str, Any]:
    """A hand-written KMS key entry of a graph file (tagged, so only the props under test vary)."""
    props.setdefault("tags", TAGS)
    return {
        "urn": f"urn:pulumi:dev::ttbt2-platform::aws:kms/key:Key::{name}",
        "type": "aws:kms/key:Key",
        "name": name,
        "props": props,
    }


def write(tmp_path: Path, doc: Any, name: str = "graph.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_preview_of_every_stack_is_clean_and_writes_json(tmp_path: Path) -> None:
    code, text = run("preview", "--json-dir", str(tmp_path))
    assert code == EXIT_OK, text
    for stack in ("dev", "staging", "prod"):
        assert f"Previewing stack '{stack}'" in text
        doc = json.loads((tmp_path / f"{stack}.json").read_text())
        assert doc["stack"] == stack and doc["project"] == "ttbt2-platform"
        assert {
            "urn",
            "type",
            "name",
            "parent",
            "props",
            "options",
            "dependencies",
            "provider",
        } <= set(doc["resources"][0])
    assert "stacks: dev ok, staging ok, prod ok" in text
    assert "kubeconfig" in text and "[secret]" in text
    assert "per cloud: aws" in text


def test_preview_json_masks_secrets(tmp_path: Path) -> None:
    out = tmp_path / "dev.json"
    code, _ = run("preview", "--stack", "dev", "--json", str(out))
    assert code == EXIT_OK
    text = out.read_text()
    assert json.loads(text)["outputs"]["kubeconfig"] == {
        "value": "[secret]",
        "secret": True,
        "known": True,
    }
    assert "get-token" not in text.split('"outputs"')[1]


def _sandbox(stack_file: Callable[..., Path]) -> Path:
    """Dev's configuration as stack 'sandbox', outside the repo, its owner a secure value.

    The tests of a config file outside the repo and of secure values preview this one file:
    rendered once per session.
    """
    return stack_file("sandbox", base="dev", owner={"secure": "v1:abc"})


def test_preview_of_a_config_file_outside_the_repo(stack_file: Callable[..., Path]) -> None:
    code, text = run("preview", "--config-file", str(_sandbox(stack_file)))
    assert code == EXIT_OK, text
    assert "Previewing stack 'sandbox'" in text
    assert "ttbt2-platform-sandbox" in text and "stacks: sandbox ok" in text


def test_bad_config_exits_2_with_every_key_and_no_traceback(
    stack_file: Callable[..., Path],
) -> None:
    path = stack_file("broken", base="prod", natGatewayMode="single", workloadNodeMinSize="lots")
    code, text = run("preview", "--config-file", str(path))
    assert code == EXIT_USAGE
    assert "ttbt2:workloadNodeMinSize" in text and "must be an integer" in text
    assert "Traceback" not in text
    assert "stacks: broken bad config" in text


def test_bad_config_file_name_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, "config: {}", "stack.yaml")
    code, text = run("preview", "--config-file", str(path))
    assert code == EXIT_USAGE
    assert "Pulumi.<stack>.yaml" in text


def test_config_file_and_other_stack_conflict(stack_file: Callable[..., Path]) -> None:
    code, text = run("preview", "--stack", "prod", "--config-file", str(stack_file("x")))
    assert code == EXIT_USAGE and "does not match" in text


@pytest.mark.parametrize(
    ("content", "words"),
    [
        # The position the pure-Python parser gives (LibYAML: line 2, column 1).
        ("config: [1, 2", "not valid YAML (line 1, column 14)"),
        ("- a list", "must be a YAML mapping"),
        ("config: 3", "'config' must be a mapping"),
        ("config:\n  nonamespace: 1", "must be namespaced"),
        ("config:\n  ttbt2:owner: {secure: 1}", "a secure value is"),
    ],
)
def test_unreadable_stack_file(tmp_path: Path, content: str, words: str) -> None:
    path = write(tmp_path, content, "Pulumi.odd.yaml")
    code, text = run("preview", "--config-file", str(path))
    assert code == EXIT_USAGE
    assert words in text and "Traceback" not in text


def test_unknown_stack_lists_the_known_ones() -> None:
    code, text = run("preview", "--stack", "qa")
    assert code == EXIT_USAGE
    assert "stacks here: dev, staging, prod" in text


def test_secure_values_become_placeholders(stack_file: Callable[..., Path]) -> None:
    code, text = run("preview", "--config-file", str(_sandbox(stack_file)))
    assert code == EXIT_OK, text
    assert (
        "Placeholders (values a real run reads from Vault or decrypts; none exist offline):" in text
    )
    assert "ttbt2:owner" in text


def test_program_crash_is_exit_3_with_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from offline import cli

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("bug in a component")

    monkeypatch.setattr(cli, "run_stack", boom)
    code, text = run("preview", "--stack", "dev")
    assert code == EXIT_PROGRAM
    assert "bug in a component" in text and "Traceback" in text


def test_check_clean_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"stack": "dev", "resources": [key_resource(enableKeyRotation=True)]})
    code, text = run("check", str(path))
    assert code == EXIT_OK, text
    assert "no violations" in text


def test_check_reports_a_mandatory_violation(tmp_path: Path) -> None:
    path = write(tmp_path, {"stack": "dev", "resources": [key_resource(enableKeyRotation=False)]})
    code, text = run("check", str(path))
    assert code == EXIT_VIOLATION
    assert "[mandatory]  aws-kms-key-rotation-enabled  (aws:kms:Key: k)" in text


@pytest.mark.parametrize(
    "props",
    [
        {},
        {"enableKeyRotation": "yes"},
        {"enableKeyRotation": None, "policy": "{not json"},
        {"policy": 12},
    ],
    ids=["missing", "string-bool", "bad-json-policy", "number-policy"],
)
def test_check_missing_or_wrongly_typed_props_are_violations_not_crashes(
    tmp_path: Path, props: dict[str, Any]
) -> None:
    path = write(tmp_path, {"stack": "dev", "resources": [key_resource(**props)]})
    code, text = run("check", str(path))
    assert code == EXIT_VIOLATION
    assert "[policy error]" not in text and "0 policy errors" in text and "Traceback" not in text


def test_check_unknown_values_are_preview_notes(tmp_path: Path) -> None:
    path = write(tmp_path, {"stack": "dev", "resources": [key_resource(enableKeyRotation=UNKNOWN)]})
    code, text = run("check", str(path))
    assert code == EXIT_OK
    assert "1 preview notes" in text


def test_check_unwraps_secrets_before_policies(tmp_path: Path) -> None:
    secret = {SECRET_SIG_KEY: SECRET_SIG, "value": True}
    path = write(tmp_path, {"stack": "dev", "resources": [key_resource(enableKeyRotation=secret)]})
    code, _ = run("check", str(path))
    assert code == EXIT_OK


def test_check_stack_flag_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"resources": [key_resource(enableKeyRotation=True)]})
    assert run("check", str(path))[0] == EXIT_USAGE
    code, text = run("check", str(path), "--stack", "prod")
    assert code in (EXIT_OK, EXIT_VIOLATION) and "stack 'prod'" in text


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ("{oops", "not valid JSON (line 1"),
        ([], "must be a JSON object"),
        ({"stack": "dev"}, "missing required field 'resources'"),
        ({"stack": "dev", "resources": {}}, "field 'resources' must be list"),
        ({"stack": "dev", "resources": [3]}, "resources[0]: must be an object"),
        ({"stack": "dev", "resources": [{"type": "x"}]}, "missing required field 'urn'"),
        ({"stack": "dev", "resources": [{"urn": "nope"}]}, "is not urn:pulumi"),
        ({"stack": "dev", "resources": [key_resource(), key_resource()]}, "duplicate urn"),
        (
            {"stack": "dev", "resources": [{**key_resource(), "props": []}]},
            "field 'props' must be dict",
        ),
        (
            {"stack": "dev", "resources": [{**key_resource(), "propertyDependencies": {"a": "u"}}]},
            "propertyDependencies.a must be a list of URNs",
        ),
        (
            {"stack": "dev", "resources": [{**key_resource(), "options": {"protect": "yes"}}]},
            "options.protect must be true or false",
        ),
    ],
)
def test_check_bad_files_exit_2_naming_the_problem(tmp_path: Path, doc: Any, words: str) -> None:
    code, text = run("check", str(write(tmp_path, doc)))
    assert code == EXIT_USAGE
    assert words in text and "Traceback" not in text


def test_check_missing_file(tmp_path: Path) -> None:
    code, text = run("check", str(tmp_path / "absent.json"))
    assert code == EXIT_USAGE and "cannot read file" in text


def test_check_reads_what_preview_writes(tmp_path: Path) -> None:
    out = tmp_path / "prod.json"
    assert run("preview", "--stack", "prod", "--json", str(out))[0] == EXIT_OK
    code, text = run("check", str(out))
    assert code == EXIT_OK, text
    doc = json.loads(out.read_text())
    for res in doc["resources"]:
        if res["type"] == "aws:kms/key:Key":
            res["props"]["enableKeyRotation"] = False
    out.write_text(json.dumps(doc))
    code, text = run("check", str(out))
    assert code == EXIT_VIOLATION
    assert "aws-kms-key-rotation-enabled" in text


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    # In this process: the module entry's exit status is tested below, with ``check``.
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "invalid choice" in err and "Traceback" not in err


def test_module_entry_point_runs_check(tmp_path: Path) -> None:
    path = write(tmp_path, {"stack": "dev", "resources": [key_resource(enableKeyRotation=False)]})
    proc = subprocess.run(
        [sys.executable, "-m", "offline", "check", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == EXIT_VIOLATION, proc.stdout + proc.stderr


def test_check_flags_plaintext_secret_inputs(tmp_path: Path) -> None:
    group = {
        "urn": "urn:pulumi:dev::ttbt2-platform::aws:elasticache/replicationGroup:ReplicationGroup::c",
        "props": {"authToken": "plain-text-token"},
    }
    code, text = run("check", str(write(tmp_path, {"stack": "dev", "resources": [group]})))
    assert code == EXIT_VIOLATION
    assert "plaintext-secret-inputs" in text and "'authToken'" in text
    assert "plain-text-token" not in text


TIGHT_RTO_OBJECTIVE = 30
"""Below prod's DR restore and region-loss estimates: the tests that break either RTO on purpose
preview this one configuration, rendered once per session."""


def test_rto_objective_below_the_estimate_fails_the_preview(
    stack_file: Callable[..., Path],
) -> None:
    """Breaking the RTO on purpose: an objective shorter than the DR restore estimate."""
    path = stack_file("prod", base="prod", rtoObjectiveMinutes=TIGHT_RTO_OBJECTIVE)
    code, text = run("preview", "--config-file", str(path))
    assert code == EXIT_VIOLATION, text
    assert "RTO (DR restore):" in text
    assert f"objective {TIGHT_RTO_OBJECTIVE} min" in text
    assert f"error: RTO objective of {TIGHT_RTO_OBJECTIVE} min exceeded" in text


def test_rto_within_objective_shows_the_critical_path_only_with_a_dr_region() -> None:
    code, text = run("preview", "--stack", "prod")
    assert code == EXIT_OK, text
    section = text.split("RTO (DR restore):", 1)[1].split("\n\n", 1)[0]
    assert "within objective" in section and "objective 120 min" in section
    assert "restore aws:rds/instance:Instance" in section
    code, text = run("preview", "--stack", "dev")
    assert "RTO (DR restore):" not in text


def test_rpo_broken_in_config_is_a_settings_error(stack_file: Callable[..., Path]) -> None:
    """Breaking the RPO on purpose: backup copies an hour apart."""
    path = stack_file("prod", base="prod", backupCopySchedule="0 * * * *")
    code, text = run("preview", "--config-file", str(path))
    assert code == EXIT_USAGE
    assert 'ttbt2:backupCopySchedule = "0 * * * *"' in text
    assert "RPO is under 60 min" in text and "Traceback" not in text


def test_report_shows_each_service_with_its_canary_plan_and_rollback_figure() -> None:
    code, text = run("preview", "--stack", "staging")
    assert code == EXIT_OK, text
    section = text.split("Services (canary plan; worst-case rollback, limit 600 s):", 1)[1]
    section = section.split("\n\n", 1)[0]
    assert "    api  " in section and "    web  " in section
    assert "canary: 10% -> pause 120s -> 50% -> pause 120s -> 100%" in section
    assert "✅ rollback: pauses 0 + initial delay 30" in section and "= 355 s" in section


def test_a_canary_too_slow_to_roll_back_is_a_settings_error(
    stack_file: Callable[..., Path],
) -> None:
    """Seed 4.10.1: a plan whose worst-case rollback exceeds 10 minutes is refused."""
    slow = [
        {
            "name": "api",
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ttbt2/api:1.0.0",
            "healthPath": "/api/healthz",
            "publicPaths": ["/api"],
            "canary": {
                "steps": [{"setWeight": 10}, {"pauseSeconds": 600}, {"setWeight": 50}],
                "analysis": {"intervalSeconds": 60, "failureLimit": 2, "startingStep": 2},
            },
        }
    ]
    path = stack_file("dev", base="dev", services=slow)
    code, text = run("preview", "--config-file", str(path))
    assert code == EXIT_USAGE
    assert "ttbt2:services[0].canary" in text and "Traceback" not in text


def test_latest_image_is_a_settings_error_naming_the_key(stack_file: Callable[..., Path]) -> None:
    broken = [{"name": "api", "image": "nginx:latest", "healthPath": "/h", "publicPaths": ["/api"]}]
    code, text = run(
        "preview", "--config-file", str(stack_file("dev", base="dev", services=broken))
    )
    assert code == EXIT_USAGE
    assert "ttbt2:services[0].image" in text and "latest" in text
