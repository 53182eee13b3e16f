"""The program's one entry: Pulumi runs it with Vault, the offline engine with placeholders.

``__main__.py`` defines ``main(open_secrets)``; run as ``__main__`` (as Pulumi runs it) it
calls ``main`` with the Vault source, and the offline engine loads the same file and calls the
same ``main`` with the offline source. Nothing in the program detects the mock engine.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from components.vault.source import VaultRunError
from offline.engine import ProgramEntryError, program_entry, run_program, run_stack
from offline.stackfile import StackConfig, load_stack
from tests.conftest import one, render

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = [
    ROOT / "__main__.py",
    *(ROOT / "components").rglob("*.py"),
    *(ROOT / "stacks").rglob("*.py"),
]
CREDENTIAL_VARIABLES = (
    "VAULT_TOKEN",
    "VAULT_JWT",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
)


def test_the_offline_engine_calls_the_entry_of_main_py() -> None:
    loaded = program_entry(ROOT)
    assert loaded.__name__ == "main"
    assert loaded.__code__.co_filename == str(ROOT / "__main__.py")


def test_the_offline_engine_passes_the_offline_source(tmp_path: Path) -> None:
    # A project whose entry writes down what it was given, and which refuses to be run as
    # __main__ (that would be the real run, with Vault).
    (tmp_path / "__main__.py").write_text(
        "from pathlib import Path\n"
        "def main(open_secrets):\n"
        "    name = f'{open_secrets.__module__}.{open_secrets.__qualname__}'\n"
        f"    Path({str(tmp_path / 'given')!r}).write_text(name)\n"
        "if __name__ == '__main__':\n"
        "    raise SystemExit('run as __main__')\n"
    )
    run_stack(tmp_path, StackConfig("t", "dev", tmp_path / "Pulumi.dev.yaml", {}), preview=False)
    assert (tmp_path / "given").read_text() == "components.vault.source.open_offline"


def test_a_project_without_the_entry_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("VALUE = 1\n")
    with pytest.raises(ProgramEntryError, match=r"__main__\.py defines no main\(open_secrets\)"):
        program_entry(tmp_path)


def test_run_as_main_the_program_opens_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    # __main__.py as Pulumi runs it, on the mock engine: it still asks Vault (and, with no
    # credential in the environment, stops with the stack's login named), never placeholders.
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    config = load_stack(ROOT, "dev")

    def as_pulumi_runs_it() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    with pytest.raises(VaultRunError, match="auth method 'jwt' needs VAULT_JWT"):
        run_program(
            as_pulumi_runs_it,
            project=config.project,
            stack=config.stack,
            preview=True,
            config=config.values,
            secret_keys=config.secret_keys,
        )


@pytest.mark.parametrize("path", PRODUCTION, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_program_code_asks_which_engine_runs_it(path: Path) -> None:
    text = path.read_text()
    for probe in ("MockMonitor", "get_monitor", "is_dry_run_mock", "on_mock_engine"):
        assert probe not in text, f"{path.relative_to(ROOT)} looks at the engine ({probe})"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_vault_provider_takes_no_token(stack: str) -> None:
    provider = one(render(stack), "pulumi:providers:vault")
    assert "token" not in provider.props
    assert provider.props["address"] == "https://vault.ttbt2.example:8200"
