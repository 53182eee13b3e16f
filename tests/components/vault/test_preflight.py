"""Preflight against a fake Vault: every problem in one error, least-privilege warnings."""

from __future__ import annotations

import pytest

from components.vault import (
    PreflightProblem,
    SecretRef,
    VaultClient,
    VaultConfigError,
    VaultPreflightError,
    VaultSettings,
    connect,
    preflight,
)
from tests.components.vault.conftest import (
    PERMISSION_DENIED,
    TOKEN,
    FakeVault,
    assert_no_secret,
    no_sleep,
    unused_port,
)

DB = SecretRef("secret", "ttbt2/prod/db", "password", consumer="rds-master")
TLS = SecretRef("secret", "/ttbt2/prod/tls/", "cert", consumer="ingress")
TLS_KEY = SecretRef("secret", "ttbt2/prod/tls", "key", consumer="ingress")
DB_PATH = "secret/data/ttbt2/prod/db"
TLS_PATH = "secret/data/ttbt2/prod/tls"


def client_for(vault: FakeVault) -> VaultClient:
    """A token-authenticated client; preflight must not need anything else."""
    return connect(vault.settings(), env={"VAULT_TOKEN": TOKEN}, sleep=no_sleep)


def healthy(vault: FakeVault, *, policies: tuple[str, ...] = ("default", "ttbt2-deploy")) -> None:
    """An unsealed Vault, a valid token and a KV v2 mount ``secret``."""
    vault.seal_status(sealed=False)
    vault.lookup_self(policies=policies)
    vault.mount("secret")


def test_all_good_lists_every_check_and_reads_no_secret(vault: FakeVault) -> None:
    healthy(vault)
    vault.capabilities(DB_PATH, ["read"])
    vault.capabilities(TLS_PATH, ["read", "list"])
    report = preflight(client_for(vault), [DB, TLS, TLS_KEY])
    assert report.checks == (
        f"reachable: {vault.address} answered sys/seal-status (Vault 1.19.0)",
        "unsealed",
        "token valid: jwt-deploy, policies default, ttbt2-deploy, ttl 3600s",
        "mount secret: KV v2",
        f"read: {DB_PATH}",
        f"read: {TLS_PATH}",
    )
    assert report.warnings == ()
    assert report.refs == (DB, TLS, TLS_KEY)
    # One capability check per path (TLS and TLS_KEY share one), and no secret read at all.
    assert vault.count("/v1/sys/capabilities-self", "POST") == 2
    assert not any("/data/" in request.path for request, _ in vault.server.log)
    # lookup-self returned the token itself; neither the report nor its rendering keeps it.
    assert_no_secret(report, report.render(), client_for(vault).token_lookup())


def test_missing_read_on_one_of_two_paths_is_one_problem(vault: FakeVault) -> None:
    healthy(vault)
    vault.capabilities(DB_PATH, ["read"])
    vault.capabilities(TLS_PATH, ["list"])
    with pytest.raises(VaultPreflightError) as err:
        preflight(client_for(vault), [DB, TLS])
    assert err.value.problems == (
        PreflightProblem(
            TLS_PATH, "missing read capability (holds: list); needed by ingress (key cert)"
        ),
    )
    assert str(err.value) == (
        f"Vault preflight against {vault.address} found 1 problem(s):\n"
        f"  - {TLS_PATH}: missing read capability (holds: list); needed by ingress (key cert)"
    )
    assert f"read: {DB_PATH}" in err.value.checks


def test_every_problem_is_collected_in_one_error(vault: FakeVault) -> None:
    vault.seal_status(sealed=False)
    vault.lookup_self()
    vault.mount("secret")
    vault.mount("legacy", version="1")
    vault.server.expect_request("/v1/sys/internal/ui/mounts/gone").respond_with_json(
        PERMISSION_DENIED, status=403
    )
    vault.capabilities(DB_PATH, ["deny"])
    vault.capabilities(TLS_PATH, [])
    vault.capabilities("legacy/data/app", ["read"])
    vault.capabilities("gone/data/app", ["read"])
    refs = [DB, TLS, SecretRef("legacy", "app", "k"), SecretRef("gone", "app", "k", "api")]
    with pytest.raises(VaultPreflightError) as err:
        preflight(client_for(vault), refs)
    problems = [p.render() for p in err.value.problems]
    assert problems == [
        "legacy: mount legacy is KV v1, expected v2",
        f"gone: mount gone not found at {vault.address}, or the token can reach no path in it",
        f"{DB_PATH}: missing read capability (holds: deny); needed by rds-master (key password)",
        f"{TLS_PATH}: missing read capability (holds: none); needed by ingress (key cert)",
    ]
    assert "found 4 problem(s)" in str(err.value)


def test_more_than_read_is_a_least_privilege_warning(vault: FakeVault) -> None:
    healthy(vault)
    vault.capabilities(DB_PATH, ["delete", "read", "update", "list", "create"])
    vault.capabilities(TLS_PATH, ["sudo", "read"])
    report = preflight(client_for(vault), [DB, TLS])
    assert report.warnings == (
        f"least privilege: {DB_PATH} grants create, update, delete; the deploy identity needs "
        "only read",
        f"least privilege: {TLS_PATH} grants sudo; the deploy identity needs only read",
    )


def test_root_token_is_warned_about(vault: FakeVault) -> None:
    healthy(vault, policies=("root",))
    vault.capabilities(DB_PATH, ["root"])
    report = preflight(client_for(vault), [DB])
    assert report.warnings == (
        "least privilege: the deploy identity uses a root token; give it a policy with read on "
        "the secrets it consumes only",
        f"least privilege: {DB_PATH} grants root; the deploy identity needs only read",
    )


def test_short_lived_token_is_warned_about(vault: FakeVault) -> None:
    vault.seal_status(sealed=False)
    vault.lookup_self(ttl=120)
    vault.mount("secret")
    vault.capabilities(DB_PATH, ["read"])
    report = preflight(client_for(vault), [DB])
    assert report.warnings == ("the token expires in 120s; a long deploy may outlive it",)


def test_invalid_token_is_a_clear_error_and_stops(vault: FakeVault) -> None:
    vault.seal_status(sealed=False)
    vault.server.expect_request("/v1/auth/token/lookup-self").respond_with_json(
        PERMISSION_DENIED, status=403
    )
    with pytest.raises(VaultPreflightError) as err:
        preflight(client_for(vault), [DB, TLS])
    (problem,) = err.value.problems
    assert problem.path == "auth/token/lookup-self"
    assert problem.detail.startswith(
        f"Vault at {vault.address} rejected the token: auth/token/lookup-self answered HTTP 403."
    )
    assert err.value.checks[-1] == "unsealed"
    # Nothing after the token check can be trusted: no capability nor mount request was sent.
    assert vault.count("/v1/sys/capabilities-self") == 0
    assert vault.count("/v1/auth/token/lookup-self") == 1
    assert_no_secret(err.value)


def test_a_token_lookup_that_is_not_json_stops_with_its_path(vault: FakeVault) -> None:
    vault.seal_status(sealed=False)
    vault.server.expect_request("/v1/auth/token/lookup-self").respond_with_data("garbage")
    with pytest.raises(VaultPreflightError) as err:
        preflight(client_for(vault), [DB])
    (problem,) = err.value.problems
    assert problem.path == "auth/token/lookup-self"
    assert "with a body that is not JSON" in problem.detail
    assert "Traceback" not in str(err.value)


def test_capabilities_that_are_not_json_are_one_problem_among_all(vault: FakeVault) -> None:
    healthy(vault)
    vault.server.expect_request(
        "/v1/sys/capabilities-self", method="POST", json={"paths": [DB_PATH]}
    ).respond_with_data("{not json")
    vault.capabilities(TLS_PATH, ["list"])
    with pytest.raises(VaultPreflightError) as err:
        preflight(client_for(vault), [DB, TLS])
    assert [p.path for p in err.value.problems] == [DB_PATH, TLS_PATH]
    assert "not JSON; needed by rds-master (key password)" in err.value.problems[0].detail
    assert err.value.problems[1].detail.startswith("missing read capability")


def test_sealed_vault_stops_preflight(vault: FakeVault) -> None:
    vault.seal_status(sealed=True)
    with pytest.raises(VaultPreflightError, match=r"Vault is sealed \(unseal progress 1/3\)"):
        preflight(client_for(vault), [DB])
    assert vault.count("/v1/auth/token/lookup-self") == 0


def test_unreachable_vault_stops_preflight(sleeps: list[float]) -> None:
    settings = VaultSettings(address=f"http://127.0.0.1:{unused_port()}", retries=1)
    client = connect(settings, env={"VAULT_TOKEN": TOKEN}, sleep=sleeps.append)
    with pytest.raises(VaultPreflightError, match="is unreachable: GET /v1/sys/seal-status") as err:
        preflight(client, [DB])
    assert err.value.problems[0].path == "sys/seal-status"
    assert err.value.checks == ()
    assert sleeps == [0.5]


def test_bad_ref_is_refused_before_any_request() -> None:
    with pytest.raises(VaultConfigError, match="invalid Vault path"):
        SecretRef("secret", "ttbt2/../other", "k")
    with pytest.raises(VaultConfigError, match="invalid key"):
        SecretRef("secret", "ttbt2/db", "")
    assert TLS.path == "ttbt2/prod/tls"
    assert TLS.api_path == TLS_PATH


# --- expiry dates of third-party credentials ------------------------------------------------------

SMTP = SecretRef("secret", "ttbt2/prod/alertmanager", "smtp_password", consumer="smtp")
SLACK = SecretRef("secret", "ttbt2/prod/alertmanager", "slack_webhook_url", consumer="slack")
ALERT_PATH = "secret/data/ttbt2/prod/alertmanager"
ALERT_META = "secret/metadata/ttbt2/prod/alertmanager"
NOW = 1_800_000_000.0  # 2027-01-15


def _expiring(vault: FakeVault, custom: dict[str, str] | None, **kw: int) -> None:
    healthy(vault)
    vault.capabilities(ALERT_PATH, ["read"])
    vault.kv2_metadata("secret", "ttbt2/prod/alertmanager", custom, **kw)


def test_expiry_dates_are_read_from_custom_metadata(vault: FakeVault) -> None:
    _expiring(
        vault, {"expires_at_smtp_password": "2027-03-31", "expires_at": "2027-06-30T12:00:00Z"}
    )
    report = preflight(client_for(vault), [SMTP, SLACK], expiring={"smtp", "slack"}, now=NOW)
    # The key's own date first; the secret-wide one for the keys without.
    assert report.expiries == {"smtp": 1806451200, "slack": 1814356800}
    assert report.checks[-1] == "expiry dates: slack, smtp"
    assert report.warnings == ()
    # One metadata read for the two keys of one secret, and still no value read.
    assert vault.count("/v1/secret/metadata/ttbt2/prod/alertmanager", "GET") == 1
    assert not any("/data/" in request.path for request, _ in vault.server.log)


def test_only_expiring_consumers_need_a_date(vault: FakeVault) -> None:
    healthy(vault)
    vault.capabilities(DB_PATH, ["read"])
    report = preflight(client_for(vault), [DB], expiring={"smtp"}, now=NOW)
    assert report.expiries == {}
    assert vault.count("/v1/secret/metadata/ttbt2/prod/db") == 0


@pytest.mark.parametrize(
    ("custom", "expected"),
    [
        (
            None,
            "key 'smtp_password' (smtp) has no expiry: set custom_metadata "
            "expires_at_smtp_password (or expires_at)",
        ),
        (
            {"expires_at_smtp_password": "next spring"},
            "custom_metadata expires_at_smtp_password "
            "is 'next spring', expected a date (2027-03-31) or an RFC 3339 time",
        ),
        (
            {"expires_at": "2027-03-31T12:00:00"},
            "custom_metadata expires_at is '2027-03-31T12:00:00', expected",
        ),
    ],
    ids=["missing", "not-a-date", "no-time-zone"],
)
def test_a_missing_or_invalid_date_is_a_problem_naming_path_and_key(
    vault: FakeVault, custom: dict[str, str] | None, expected: str
) -> None:
    _expiring(vault, custom)
    with pytest.raises(VaultPreflightError) as caught:
        preflight(client_for(vault), [SMTP], expiring={"smtp"}, now=NOW)
    (problem,) = caught.value.problems
    assert problem.path == ALERT_META
    assert expected in problem.detail


def test_unreadable_metadata_is_a_problem(vault: FakeVault) -> None:
    _expiring(vault, None, status=403)
    with pytest.raises(VaultPreflightError) as caught:
        preflight(client_for(vault), [SMTP], expiring={"smtp"}, now=NOW)
    (problem,) = caught.value.problems
    assert problem.path == ALERT_META and "the expiry of smtp (key smtp_password)" in problem.detail


def test_an_expired_credential_is_a_warning(vault: FakeVault) -> None:
    _expiring(vault, {"expires_at_smtp_password": "2026-12-31"})
    report = preflight(client_for(vault), [SMTP], expiring={"smtp"}, now=NOW)
    assert report.expiries == {"smtp": 1798675200}
    assert report.warnings == (
        f"{ALERT_META}: the credential of smtp (key smtp_password) has expired; replace it and "
        "its expiry date",
    )
