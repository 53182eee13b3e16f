"""scripts/vault_login.py: log in with the stack's method, preflight, export a masked token."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from components.vault.source import declared_refs
from config import from_config_values
from config.constants import THIRD_PARTY_CONSUMERS
from offline.stackfile import load_stack
from scripts import vault_login
from tests.components.vault.conftest import JWT, LOGIN_TOKEN, FakeVault, assert_no_secret

ROOT = Path(__file__).resolve().parents[3]
ROLE = "ttbt2-deployer-dev"


def _project(tmp_path: Path, vault: FakeVault, ca_bundle: Path) -> Path:
    """A project whose ``qa`` stack is dev's, pointed at the fake Vault (over TLS)."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    text = text.replace("https://vault.ttbt2.example:8200", vault.address)
    text += f"  ttbt2:vaultCaBundle: {ca_bundle}\n"
    (project / "Pulumi.qa.yaml").write_text(text)
    return project


def _healthy(vault: FakeVault, project: Path, denied: str = "") -> None:
    vault.login("jwt", {"role": ROLE, "jwt": JWT})
    vault.seal_status()
    vault.lookup_self(token=LOGIN_TOKEN)
    vault.mount("kv")
    cfg = from_config_values("qa", load_stack(project, "qa").values)
    for path in dict.fromkeys(ref.api_path for ref in declared_refs(cfg)):
        vault.capabilities(path, ["deny"] if path == denied else ["read"])
    # The third-party credentials carry their expiry dates (components/vault/expiry.py).
    expiring = {r.path for r in declared_refs(cfg) if r.consumer in THIRD_PARTY_CONSUMERS}
    for path in sorted(expiring):
        vault.kv2_metadata("kv", path, {"expires_at": "2100-01-01"})


def _run(project: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    out = io.StringIO()
    rc = vault_login.main(["qa", *args], env=env, out=out, project_dir=project)
    return rc, out.getvalue()


def test_exports_a_masked_token_after_the_preflight(
    tls_vault: FakeVault,
    tls_cert: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = _project(tmp_path, tls_vault, tls_cert[0])
    _healthy(tls_vault, project)
    github_env = tmp_path / "github_env"
    github_env.write_text("EARLIER=1\n")
    rc, out = _run(project, {"VAULT_JWT": JWT}, "--github-env", str(github_env))
    assert rc == 0
    assert out == f"::add-mask::{LOGIN_TOKEN}\n"
    assert github_env.read_text() == f"EARLIER=1\nVAULT_TOKEN={LOGIN_TOKEN}\n"
    assert "check(s) passed" in capsys.readouterr().err
    # Every declared path was checked (the fake Vault fails the test on a missing request).
    assert tls_vault.count("/v1/sys/capabilities-self") == len(
        {
            r.api_path
            for r in declared_refs(from_config_values("qa", load_stack(project, "qa").values))
        }
    )


def test_without_github_env_prints_the_variable(
    tls_vault: FakeVault, tls_cert: tuple[Path, Path], tmp_path: Path
) -> None:
    project = _project(tmp_path, tls_vault, tls_cert[0])
    _healthy(tls_vault, project)
    assert _run(project, {"VAULT_JWT": JWT}) == (0, f"VAULT_TOKEN={LOGIN_TOKEN}\n")


@pytest.mark.parametrize("status", [400, 403])
def test_refused_login_is_exit_2_naming_method_and_role(
    tls_vault: FakeVault,
    tls_cert: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    status: int,
) -> None:
    project = _project(tmp_path, tls_vault, tls_cert[0])
    tls_vault.server.expect_request("/v1/auth/jwt/login", method="POST").respond_with_json(
        {"errors": ["permission denied"]}, status=status
    )
    github_env = tmp_path / "github_env"
    rc, out = _run(project, {"VAULT_JWT": JWT}, "--github-env", str(github_env))
    err = capsys.readouterr().err
    assert rc == 2
    assert out == ""
    assert not github_env.exists()
    assert f"refused the jwt login at auth/jwt/login for role '{ROLE}' (HTTP {status})" in err
    assert "Traceback" not in err
    assert_no_secret(err)


def test_missing_credentials_are_exit_2_naming_the_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The repository's dev stack: no id-token in the environment, so nothing is sent.
    assert vault_login.main(["dev"], env={}, out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("Vault login for stack dev failed: auth method 'jwt' needs VAULT_JWT")
    assert "ACTIONS_ID_TOKEN_REQUEST_URL" in err


def test_failed_preflight_is_exit_2_and_exports_nothing(
    tls_vault: FakeVault,
    tls_cert: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = _project(tmp_path, tls_vault, tls_cert[0])
    _healthy(tls_vault, project, denied="kv/data/ttbt2/dev/database")
    github_env = tmp_path / "github_env"
    rc, out = _run(project, {"VAULT_JWT": JWT}, "--github-env", str(github_env))
    assert (rc, out) == (2, "")
    assert not github_env.exists()
    assert "kv/data/ttbt2/dev/database: missing read capability" in capsys.readouterr().err


def test_bad_stack_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert vault_login.main(["nope"], env={}, out=io.StringIO()) == 2
    assert "no such stack file" in capsys.readouterr().err
