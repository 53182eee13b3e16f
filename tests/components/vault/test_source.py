"""The secret sources: Vault reads after a preflight, placeholders for the offline engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from components.vault import connect
from components.vault.source import (
    PLACEHOLDER_PREFIX,
    OfflineSource,
    VaultRunError,
    VaultSource,
    declared_refs,
    open_offline,
    open_source,
)
from config import Settings, parse_raw
from offline.cli import main
from offline.engine import run_program
from offline.graph import SECRET_SIG, SECRET_SIG_KEY
from tests.components.vault.conftest import TOKEN, FakeVault
from tests.conftest import ALERTMANAGER_SECRETS, one, raw_settings, render

APP = {"consumer": "app-token", "path": "ttbt2/dev/app", "key": "token"}


def _resolve(out: pulumi.Output[str]) -> tuple[str | None, bool]:
    return _sync_await(out.future()), _sync_await(out.is_secret())


def _healthy(vault: FakeVault, caps: list[str]) -> None:
    vault.seal_status()
    vault.lookup_self()
    vault.mount("kv")
    vault.capabilities("kv/data/ttbt2/dev/app", caps)
    vault.capabilities("kv/data/ttbt2/dev/alertmanager", ["read"])
    vault.kv2_metadata("kv", "ttbt2/dev/alertmanager", {"expires_at": "2100-01-01"})


def _without_services_or_sso(raw: dict[str, Any]) -> dict[str, Any]:
    """Dev's settings without the features that declare more Vault consumers.

    Services need the CDN origin secret and dashboard SSO the OIDC client secrets; these tests
    read two consumers only.
    """
    return {
        key: value
        for key, value in raw.items()
        if key not in ("services", "cacheClients")
        and not key.startswith(("sso", "grafana", "kibana"))
    }


def test_vault_source_reads_after_preflight_and_returns_a_secret(vault: FakeVault) -> None:
    _healthy(vault, ["read"])
    vault.kv2("kv", "ttbt2/dev/app", {"token": "tok-from-vault"})
    client = connect(vault.settings(), env={"VAULT_TOKEN": TOKEN})
    cfg = parse_raw(
        "dev",
        {
            **_without_services_or_sso(raw_settings("dev")),
            "vaultServices": [],
            "vaultSecrets": [APP, *ALERTMANAGER_SECRETS],
        },
    )
    source = VaultSource(client, declared_refs(cfg))
    out = source.for_consumer("app-token")
    assert out is not None
    assert _resolve(out) == ("tok-from-vault", True)
    assert source.for_consumer("grafana") is None


def test_vault_source_turns_preflight_failures_into_a_run_error(vault: FakeVault) -> None:
    _healthy(vault, ["list"])
    client = connect(vault.settings(), env={"VAULT_TOKEN": TOKEN})
    cfg = parse_raw(
        "dev",
        {
            **_without_services_or_sso(raw_settings("dev")),
            "vaultServices": [],
            "vaultSecrets": [APP, *ALERTMANAGER_SECRETS],
        },
    )
    with pytest.raises(VaultRunError) as info:
        VaultSource(client, declared_refs(cfg))
    assert isinstance(info.value, pulumi.RunError)
    assert "kv/data/ttbt2/dev/app" in str(info.value)


def _local(cfg: Settings, vault: FakeVault) -> Settings:
    """``cfg`` pointed at the fake Vault (plain http on loopback, which the stack keys refuse)."""
    vault_settings = cfg.vault.model_copy(update={"address": vault.address, "auth_method": "token"})
    return cfg.model_copy(update={"vault": vault_settings})


def test_open_source_logs_in_and_preflights_before_any_read(vault: FakeVault) -> None:
    _healthy(vault, ["read"])
    vault.kv2("kv", "ttbt2/dev/app", {"token": "tok-from-vault"})
    cfg = parse_raw(
        "dev",
        {
            **_without_services_or_sso(raw_settings("dev")),
            "vaultServices": [],
            "vaultSecrets": [APP, *ALERTMANAGER_SECRETS],
        },
    )
    opened = open_source(_local(cfg, vault), env={"VAULT_TOKEN": TOKEN})
    assert isinstance(opened, VaultSource)
    # Preflight asked for every declared path before anything was read.
    assert vault.count("/v1/sys/capabilities-self") == 2
    assert vault.count("/v1/kv/data/ttbt2/dev/app") == 0
    out = opened.for_consumer("app-token")
    assert out is not None
    assert _resolve(out) == ("tok-from-vault", True)


def test_open_source_with_a_failing_preflight_is_a_run_error(vault: FakeVault) -> None:
    _healthy(vault, ["deny"])
    cfg = parse_raw(
        "dev",
        {
            **_without_services_or_sso(raw_settings("dev")),
            "vaultServices": [],
            "vaultSecrets": [APP, *ALERTMANAGER_SECRETS],
        },
    )
    with pytest.raises(VaultRunError, match="kv/data/ttbt2/dev/app: missing read capability"):
        open_source(_local(cfg, vault), env={"VAULT_TOKEN": TOKEN})
    assert vault.count("/v1/kv/data/ttbt2/dev/app") == 0


def test_open_source_without_credentials_is_a_run_error_naming_them(vault: FakeVault) -> None:
    # The stack logs in with jwt: with no id-token in the environment, nothing is sent.
    cfg = parse_raw("dev", raw_settings("dev"))
    local = cfg.model_copy(
        update={"vault": cfg.vault.model_copy(update={"address": vault.address})}
    )
    with pytest.raises(VaultRunError, match="VAULT_JWT, or ACTIONS_ID_TOKEN_REQUEST_URL"):
        open_source(local, env={})
    assert vault.server.log == []


def test_open_offline_gives_named_placeholders() -> None:
    seen: dict[str, object] = {}

    def program() -> None:
        opened = open_offline(parse_raw("dev", raw_settings("dev")))
        seen["source"] = opened
        token = opened.for_consumer("database-admin")
        assert token is not None
        seen["value"] = _resolve(token)

    run_program(program, project="t", stack="dev", preview=False)
    assert isinstance(seen["source"], OfflineSource)
    assert seen["value"] == (
        f"{PLACEHOLDER_PREFIX}:vault:kv/ttbt2/dev/database#vault_admin_password",
        True,
    )


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_vault_values_reach_their_resources_as_secrets(preview: bool) -> None:
    receivers = one(
        render("dev", preview=preview), "kubernetes:core/v1:Secret", "alertmanager-receivers"
    ).props["stringData"]
    assert receivers[SECRET_SIG_KEY] == SECRET_SIG
    if not preview:
        assert receivers["value"]["smtp-password"] == (
            f"{PLACEHOLDER_PREFIX}:vault:kv/ttbt2/dev/alertmanager#smtp_password"
        )


@pytest.mark.usefixtures("session_engine")
def test_no_secret_value_in_the_report_or_the_json(tmp_path: Path) -> None:
    import io

    out = io.StringIO()
    assert main(["preview", "--stack", "dev", "--json", str(tmp_path / "dev.json")], out=out) == 0
    report = out.getvalue()
    exported = (tmp_path / "dev.json").read_text()
    placeholder = f"{PLACEHOLDER_PREFIX}:vault"
    assert placeholder not in report and placeholder not in exported
    # The report still says, by name, which values were placeholders.
    assert (
        "vault:kv/ttbt2/dev/alertmanager#smtp_password  ->  "
        "ttbt2-dev-observability-metrics-alertmanager-receivers"
    ) in report
    receivers = next(
        r
        for r in json.loads(exported)["resources"]
        if r["name"].endswith("alertmanager-receivers") and r["type"].endswith(":Secret")
    )
    assert receivers["props"]["stringData"] == {SECRET_SIG_KEY: SECRET_SIG, "value": "[secret]"}


def _plain_placeholders(value: object, path: str = "") -> list[str]:
    """Paths where a Vault-derived value appears outside a secret envelope."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return []
        return [p for k, v in value.items() for p in _plain_placeholders(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _plain_placeholders(v, f"{path}[{i}]")]
    if isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX):
        return [path]
    return []


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_vault_derived_input_is_a_secret(stack: str) -> None:
    graph = render(stack)
    derived = [r.name for r in graph.resources if PLACEHOLDER_PREFIX in json.dumps(r.props)]
    # At least the cache token and the database engine's admin password.
    assert len(derived) >= 2, derived
    leaks = {r.name: _plain_placeholders(r.props) for r in graph.resources}
    assert not {name: paths for name, paths in leaks.items() if paths}
