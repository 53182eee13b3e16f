"""The log redaction pipeline, run for real on sample log lines.

The pipeline's gsub patterns are run twice: with Python's ``re`` through the pack's simulation
(what the ``ttbt2-log-redaction`` policy checks) and, when a JDK is installed, with Java's own
``java.util.regex`` (what Elasticsearch runs). Both must mask the personal data and secrets and
leave ordinary text as it was, and both must agree line for line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.k8s.log_redaction import FAILED_REDACTION, REDACTIONS, redaction_pipeline
from components.k8s.logs import SETUP_SCRIPT, LoggingSettings
from components.k8s.metrics import MetricsStackArgs
from components.k8s.observability import Observability, ObservabilityArgs
from offline.engine import run_program
from offline.graph import StackGraph
from policies.ttbt2_policies.classification import PIPELINE_CONFIG_KEY, REDACTION_PIPELINE
from policies.ttbt2_policies.data_privacy import log_redaction, unredacted
from policies.ttbt2_policies.ingest_simulation import apply_gsubs
from tests.conftest import one
from tests.support.policies import findings_for, violations

# (log line, what it must become with IPs redacted, and without)
SAMPLES: list[tuple[str, str, str]] = [
    (
        "password reset sent to jane.doe+reset@mail.example.co.uk",
        "password reset sent to <EMAIL>",
        "password reset sent to <EMAIL>",
    ),
    (
        "GET /v1/orders Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543 200",
        "GET /v1/orders Authorization: Bearer <REDACTED> 200",
        "GET /v1/orders Authorization: Bearer <REDACTED> 200",
    ),
    (
        '{"headers": {"authorization": "Basic dXNlcjpwYXNz"}}',
        '{"headers": {"authorization": "Basic <REDACTED>"}}',
        '{"headers": {"authorization": "Basic <REDACTED>"}}',
    ),
    (
        "retrying with bearer sk_live_51HqLyjWDarjtT1zdp7dc",
        "retrying with bearer <TOKEN>",
        "retrying with bearer <TOKEN>",
    ),
    (
        "session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok",
        "session <JWT> ok",
        "session <JWT> ok",
    ),
    (
        'login {"user": "bob", "password": "hunter2!", "api_key": "AKIA1234"}',
        'login {"user": "bob", "password": "<REDACTED>", "api_key": "<REDACTED>"}',
        'login {"user": "bob", "password": "<REDACTED>", "api_key": "<REDACTED>"}',
    ),
    (
        "callback?access_token=abc123&state=xyz X-Api-Key: 0f0f0f0f",
        "callback?access_token=<REDACTED>&state=xyz X-Api-Key: <REDACTED>",
        "callback?access_token=<REDACTED>&state=xyz X-Api-Key: <REDACTED>",
    ),
    (
        "client 203.0.113.7 forwarded-for 10.0.12.250",
        "client <IP> forwarded-for <IP>",
        "client 203.0.113.7 forwarded-for 10.0.12.250",
    ),
    (
        "peer [2001:db8::8a2e:370:7334]:443 via fe80::1 and ::1",
        "peer [<IP>]:443 via <IP> and <IP>",
        "peer [2001:db8::8a2e:370:7334]:443 via fe80::1 and ::1",
    ),
    (
        "peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334 done",
        "peer <IP> done",
        "peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334 done",
    ),
]

ORDINARY = [
    "GET /healthz 200 3ms at 10:15:30.123",
    "basic authentication failed for token validation; retry in 5s",
    "build 1.2.3 of std::vector<int> on node ip-10-0-1-5 mac 00:1a:2b:3c:4d:5e",
    "max_tokens=512 user_id=42 order=ORD-2024-0001 total=19.99 EUR",
    "version 10.2.3.4.5 is not an address",
]


def _run(text: str, *, redact_ips: bool) -> str:
    return apply_gsubs(redaction_pipeline(redact_ips=redact_ips), "message", text)


@pytest.mark.parametrize(("line", "with_ips", "without_ips"), SAMPLES)
def test_personal_data_and_secrets_are_masked(line: str, with_ips: str, without_ips: str) -> None:
    assert _run(line, redact_ips=True) == with_ips
    assert _run(line, redact_ips=False) == without_ips


@pytest.mark.parametrize("line", ORDINARY)
def test_ordinary_text_survives(line: str) -> None:
    assert _run(line, redact_ips=True) == line


def test_the_pipeline_is_gsub_on_message_with_a_closed_failure_path() -> None:
    body = redaction_pipeline(redact_ips=True)
    assert [p["gsub"]["tag"] for p in body["processors"]] == [r.tag for r in REDACTIONS]
    assert all(p["gsub"]["field"] == "message" for p in body["processors"])
    # A failed processor must not leave the line as it was.
    assert {"set": {"field": "message", "value": FAILED_REDACTION}} in body["on_failure"]
    without = redaction_pipeline(redact_ips=False)
    assert {p["gsub"]["tag"] for p in without["processors"]} == {
        r.tag for r in REDACTIONS if not r.ips
    }


JAVA_GSUB = """
import java.nio.file.*;
import java.util.*;
import java.util.regex.*;

public class Gsub {
    public static void main(String[] args) throws Exception {
        List<String> patterns = Files.readAllLines(Paths.get(args[0]));
        List<String> lines = Files.readAllLines(Paths.get(args[1]));
        for (String line : lines) {
            String text = line;
            for (int i = 0; i + 1 < patterns.size(); i += 2) {
                text = Pattern.compile(patterns.get(i)).matcher(text)
                    .replaceAll(patterns.get(i + 1));
            }
            System.out.println(text);
        }
    }
}
"""


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a JDK (java)")
def test_java_regex_agrees_with_the_simulation(tmp_path: Path) -> None:
    """What Elasticsearch's gsub (java.util.regex) makes of every sample, line for line."""
    body = redaction_pipeline(redact_ips=True)
    pairs = [(p["gsub"]["pattern"], p["gsub"]["replacement"]) for p in body["processors"]]
    (tmp_path / "patterns.txt").write_text("\n".join(x for pair in pairs for x in pair) + "\n")
    lines = [s[0] for s in SAMPLES] + ORDINARY
    (tmp_path / "lines.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "Gsub.java").write_text(JAVA_GSUB)
    run = subprocess.run(
        ["java", str(tmp_path / "Gsub.java"), "patterns.txt", "lines.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    java = run.stdout.splitlines()
    assert java == [s[1] for s in SAMPLES] + ORDINARY
    assert java == [_run(line, redact_ips=True) for line in lines]


# --- rendered --------------------------------------------------------------------------------


def _render(logging: LoggingSettings) -> StackGraph:
    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        Observability(
            "obs",
            ObservabilityArgs(metrics=MetricsStackArgs(environment="prod"), logging=logging),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )

    return run_program(program, project="ttbt2-platform", stack="prod", preview=False)


BASE = LoggingSettings(
    snapshot_bucket="bucket", snapshot_role_arn="arn:aws:iam::123456789012:role/placeholder"
)


def test_rendered_pipeline_redacts_and_filebeat_cannot_skip_it() -> None:
    graph = _render(replace(BASE, redact_ips=True))
    (config_map,) = [
        r
        for r in graph.resources
        if r.type == "kubernetes:core/v1:ConfigMap" and PIPELINE_CONFIG_KEY in r.props["data"]
    ]
    body = json.loads(config_map.props["data"][PIPELINE_CONFIG_KEY])
    assert unredacted(body) == []
    assert apply_gsubs(body, "message", "from 198.51.100.9") == "from <IP>"
    beat = one(graph, "kubernetes:beat.k8s.elastic.co/v1beta1:Beat")
    settings = beat.props["spec"]["config"]["setup.template.settings"]
    assert settings == {"index.final_pipeline": REDACTION_PIPELINE}
    # Filebeat starts only once the Job has installed the pipeline.
    assert one(graph, "kubernetes:batch/v1:Job").urn in beat.dependencies
    assert f"put {PIPELINE_CONFIG_KEY} _ingest/pipeline/{REDACTION_PIPELINE}" in SETUP_SCRIPT
    # The policy pack, run on the rendered stack holding real data, agrees.
    assert findings_for(log_redaction, graph.resources, stack="prod") == []


def test_without_redaction_the_pack_refuses_a_stack_of_real_data() -> None:
    graph = _render(replace(BASE, redact_logs=False))
    assert not any(PIPELINE_CONFIG_KEY in (r.props.get("data") or {}) for r in graph.resources)
    found = violations(findings_for(log_redaction, graph.resources, stack="prod"))
    assert [f.policy for f in found] == ["ttbt2-log-redaction"]
    assert "names no final ingest pipeline" in found[0].message


def test_ip_redaction_needs_the_pipeline() -> None:
    with pytest.raises(ValueError, match="redact_ips needs redact_logs"):
        replace(BASE, redact_logs=False, redact_ips=True)
