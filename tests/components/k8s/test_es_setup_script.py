"""The Elasticsearch setup Job's script, run for real with curl against a local HTTP server.

The Job reads the ``elastic`` password from a mounted file (CKV_K8S_35) and hands it to curl on
standard input; these tests run the same script text with the mount paths moved to a temporary
directory and check what Elasticsearch would receive.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from components.k8s.logs import (
    CREDENTIALS_DIR,
    ILM_POLICY,
    SETUP_SCRIPT,
    SLM_POLICY,
    SNAPSHOT_REPOSITORY,
)
from policies.ttbt2_policies.classification import PIPELINE_CONFIG_KEY, REDACTION_PIPELINE

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")

BODIES = ("ilm-policy.json", "snapshot-repository.json", "slm-policy.json")


def _run(
    tmp_path: Path, password: str, url: str, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    credentials, bodies, ca = tmp_path / "credentials", tmp_path / "bodies", tmp_path / "ca"
    for folder in (credentials, bodies, ca):
        folder.mkdir()
    (credentials / "elastic").write_text(password)
    for body in (*extra, *BODIES):
        (bodies / body).write_text(json.dumps({"body": body}))
    (ca / "ca.crt").write_text("")
    script = (
        SETUP_SCRIPT.replace(CREDENTIALS_DIR, str(credentials))
        .replace("/etc/es-setup", str(bodies))
        .replace("/etc/es-ca", str(ca))
        # One attempt: a refused request fails the test at once instead of retrying for minutes.
        .replace("--retry 60", "--retry 0")
    )
    return subprocess.run(
        ["sh", "-c", script],
        env={"PATH": os.environ["PATH"], "ES_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("password", ["s3cr3tAlnum42", 'quote"and\\backslash'])
def test_the_password_from_the_file_authenticates_every_request(
    tmp_path: Path, httpserver: HTTPServer, password: str
) -> None:
    expected = "Basic " + base64.b64encode(f"elastic:{password}".encode()).decode()
    for path in (f"/_ilm/policy/{ILM_POLICY}", f"/_snapshot/{SNAPSHOT_REPOSITORY}"):
        httpserver.expect_ordered_request(
            path, method="PUT", headers={"Authorization": expected}
        ).respond_with_json({"acknowledged": True})
    httpserver.expect_ordered_request(
        f"/_slm/policy/{SLM_POLICY}", method="PUT", headers={"Authorization": expected}
    ).respond_with_json({"acknowledged": True})
    result = _run(tmp_path, password, httpserver.url_for("").rstrip("/"))
    assert result.returncode == 0, result.stderr
    httpserver.check_assertions()
    bodies = [request.get_data(as_text=True) for request, _ in httpserver.log]
    assert bodies == [json.dumps({"body": body}) for body in BODIES]


def test_a_wrong_password_fails_the_job(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/_ilm/policy/" + ILM_POLICY, method="PUT").respond_with_data(
        "unauthorized", status=401
    )
    result = _run(tmp_path, "wrong", httpserver.url_for("").rstrip("/"))
    assert result.returncode != 0


def test_the_password_is_never_an_argument_or_an_environment_variable() -> None:
    assert "ELASTIC_PASSWORD" not in SETUP_SCRIPT
    assert "-u " not in SETUP_SCRIPT and "--user" not in SETUP_SCRIPT
    assert "curl -K -" in SETUP_SCRIPT


def test_the_redaction_pipeline_is_installed_first_when_its_body_is_mounted(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    paths = [
        f"/_ingest/pipeline/{REDACTION_PIPELINE}",
        f"/_ilm/policy/{ILM_POLICY}",
        f"/_snapshot/{SNAPSHOT_REPOSITORY}",
        f"/_slm/policy/{SLM_POLICY}",
    ]
    for path in paths:
        httpserver.expect_ordered_request(path, method="PUT").respond_with_json({"ok": True})
    url = httpserver.url_for("").rstrip("/")
    result = _run(tmp_path, "pw", url, extra=(PIPELINE_CONFIG_KEY,))
    assert result.returncode == 0, result.stderr
    httpserver.check_assertions()
    first, _ = httpserver.log[0]
    assert first.get_data(as_text=True) == json.dumps({"body": PIPELINE_CONFIG_KEY})
