"""The Vault client against a fake Vault on 127.0.0.1: login, reads, errors, retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from components.vault import (
    DEFAULT_KUBERNETES_TOKEN_PATH,
    VaultAuthError,
    VaultConfigError,
    VaultError,
    VaultKeyNotFoundError,
    VaultKVVersionError,
    VaultPermissionError,
    VaultRequestError,
    VaultResponseError,
    VaultSealedError,
    VaultSecretNotFoundError,
    VaultServerError,
    VaultSettings,
    VaultUnreachableError,
    connect,
)
from tests.components.vault.conftest import (
    GITHUB_REQUEST_TOKEN,
    JWT,
    LOGIN_TOKEN,
    PASSWORD,
    PERMISSION_DENIED,
    ROLE_ID,
    SA_JWT,
    SECRET_ID,
    TOKEN,
    USERNAME,
    FakeVault,
    assert_no_secret,
    no_sleep,
    unused_port,
)

READ_PATH = "/v1/secret/data/ttbt2/prod/db"
TOKEN_ENV = {"VAULT_TOKEN": TOKEN}


def read_db(
    vault: FakeVault, sleeps: list[float], key: str = "password", **settings: object
) -> str:
    """Connect with a token and read ``secret/ttbt2/prod/db#key``."""
    client = connect(vault.settings(**settings), env=TOKEN_ENV, sleep=sleeps.append)
    return client.read_kv2("secret", "ttbt2/prod/db", key)


# --- settings ---------------------------------------------------------------------------------


def test_settings_defaults_and_auth_mount_default() -> None:
    s = VaultSettings(address="https://vault.example.com:8200/", auth_method="jwt", role="deploy")
    assert s.address == "https://vault.example.com:8200"
    assert s.auth_mount == "jwt"
    assert s.timeout == (5.0, 30.0)
    assert (s.retries, s.backoff_seconds, s.jwt_audience) == (3, 0.5, "vault")
    assert s.kubernetes_token_path == DEFAULT_KUBERNETES_TOKEN_PATH
    assert (
        VaultSettings(address="https://v", auth_method="approle", auth_mount="ci").auth_mount
        == "ci"
    )


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"address": "http://10.1.2.3:8200"}, "must use https"),
        ({"address": "vault:8200"}, "not an absolute https:// URL"),
        ({"address": "https://user:pw@vault.example.com"}, "must not carry credentials"),
        ({"address": "https://v", "auth_method": "ldap"}, "auth_method 'ldap' is not one of"),
        ({"address": "https://v", "auth_method": "kubernetes"}, "needs a role"),
        ({"address": "https://v", "retries": 11}, "retries must be between 0 and 10"),
        ({"address": "https://v", "read_timeout": 0}, "must be greater than 0"),
        ({"address": "https://v", "backoff_seconds": 5, "backoff_max_seconds": 1}, "backoff"),
    ],
)
def test_settings_refuse_bad_values(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(VaultConfigError, match="invalid Vault settings") as err:
        VaultSettings(**kwargs)  # type: ignore[arg-type]
    assert fragment in str(err.value)


def test_plain_http_is_allowed_for_loopback_only() -> None:
    for address in ("http://127.0.0.1:8200", "http://localhost:8200", "http://[::1]:8200"):
        assert VaultSettings(address=address).address == address


def test_missing_ca_bundle_file_is_a_config_error(tmp_path: Path) -> None:
    settings = VaultSettings(address="https://127.0.0.1:1", ca_bundle=str(tmp_path / "ca.pem"))
    with pytest.raises(VaultConfigError, match=r"ca_bundle .*ca\.pem is not a readable file"):
        connect(settings, env=TOKEN_ENV)


# --- login --------------------------------------------------------------------------------------


def test_token_auth_reads_kv2_value(vault: FakeVault, sleeps: list[float]) -> None:
    vault.kv2("secret", "ttbt2/prod/db", {"username": USERNAME, "password": PASSWORD})
    assert read_db(vault, sleeps) == PASSWORD
    ((request, _),) = vault.server.log
    assert request.headers["X-Vault-Token"] == TOKEN
    assert "X-Vault-Namespace" not in request.headers
    assert sleeps == []


def test_client_repr_shows_no_token(vault: FakeVault) -> None:
    client = connect(vault.settings(namespace="team-a"), env=TOKEN_ENV)
    assert repr(client) == (
        f"VaultClient(address='{vault.address}', namespace='team-a', auth_method='token', "
        "auth_mount='token')"
    )
    assert_no_secret(client, vault.settings())


def test_namespace_header_sent_on_login_and_read(vault: FakeVault, sleeps: list[float]) -> None:
    ns = {"headers": {"X-Vault-Namespace": "ttbt2/prod"}}
    vault.login("approle", {"role_id": ROLE_ID, "secret_id": SECRET_ID}, **ns)
    vault.kv2("secret", "ttbt2/prod/db", {"password": PASSWORD}, token=LOGIN_TOKEN, **ns)
    client = connect(
        vault.settings(namespace="/ttbt2/prod/", auth_method="approle"),
        env={"VAULT_ROLE_ID": ROLE_ID, "VAULT_SECRET_ID": SECRET_ID},
        sleep=sleeps.append,
    )
    assert client.read_kv2("secret", "ttbt2/prod/db", "password") == PASSWORD
    # The handlers match only with the header: both requests reached them.
    assert vault.count("/v1/auth/approle/login") == 1
    assert vault.count(READ_PATH) == 1


def test_jwt_login_with_raw_vault_jwt_on_custom_mount(vault: FakeVault) -> None:
    vault.login("github", {"role": "deploy", "jwt": JWT})
    vault.kv2("secret", "ttbt2/prod/db", {"password": PASSWORD}, token=LOGIN_TOKEN)
    settings = vault.settings(auth_method="jwt", auth_mount="github", role="deploy")
    client = connect(settings, env={"VAULT_JWT": JWT, "VAULT_TOKEN": "ignored"})
    assert client.read_kv2("secret", "ttbt2/prod/db", "password") == PASSWORD


def test_jwt_login_with_github_actions_id_token(vault: FakeVault) -> None:
    vault.server.expect_request(
        "/_apis/idtoken",
        method="GET",
        query_string={"api-version": "2.0", "audience": "vault.ttbt2"},
        headers={"Authorization": f"bearer {GITHUB_REQUEST_TOKEN}"},
    ).respond_with_json({"value": JWT})
    vault.login("jwt", {"role": "ci-deploy", "jwt": JWT})
    vault.kv2("secret", "ttbt2/prod/db", {"password": PASSWORD}, token=LOGIN_TOKEN)
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{vault.address}/_apis/idtoken?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": GITHUB_REQUEST_TOKEN,
    }
    settings = vault.settings(auth_method="jwt", role="ci-deploy", jwt_audience="vault.ttbt2")
    client = connect(settings, env=env)
    assert client.read_kv2("secret", "ttbt2/prod/db", "password") == PASSWORD
    assert vault.count("/_apis/idtoken") == 1


def test_github_id_token_5xx_is_retried(vault: FakeVault, sleeps: list[float]) -> None:
    vault.server.expect_oneshot_request("/_apis/idtoken").respond_with_data("", status=502)
    vault.server.expect_request("/_apis/idtoken").respond_with_json({"value": JWT})
    vault.login("jwt", {"role": "ci-deploy", "jwt": JWT})
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{vault.address}/_apis/idtoken?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": GITHUB_REQUEST_TOKEN,
    }
    connect(vault.settings(auth_method="jwt", role="ci-deploy"), env=env, sleep=sleeps.append)
    assert vault.count("/_apis/idtoken") == 2
    assert sleeps == [0.5]


def test_github_id_token_refused_is_an_auth_error(vault: FakeVault) -> None:
    vault.server.expect_request("/_apis/idtoken").respond_with_json({"message": "no"}, status=403)
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{vault.address}/_apis/idtoken?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": GITHUB_REQUEST_TOKEN,
    }
    with pytest.raises(
        VaultAuthError, match=r"id-token request to .*/_apis/idtoken answered HTTP 403"
    ) as err:
        connect(vault.settings(auth_method="jwt", role="ci-deploy"), env=env)
    assert "ACTIONS_ID_TOKEN_REQUEST_TOKEN" in str(err.value)
    assert vault.count("/_apis/idtoken") == 1
    assert_no_secret(err.value)


def test_credentials_come_from_env_argument_only(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # hvac falls back to $VAULT_TOKEN and ~/.vault-token when given no token; the client must
    # not, or a stray developer token would ride along with every CI login.
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".vault-token").write_text(TOKEN)
    vault.login("jwt", {"role": "deploy", "jwt": JWT})
    connect(vault.settings(auth_method="jwt", role="deploy"), env={"VAULT_JWT": JWT})
    ((request, _),) = vault.server.log
    assert "X-Vault-Token" not in request.headers


def test_kubernetes_login_reads_the_token_file(vault: FakeVault, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(SA_JWT + "\n")
    vault.login("k8s-prod", {"role": "ttbt2-deployer", "jwt": SA_JWT})
    vault.kv2("secret", "ttbt2/prod/db", {"password": PASSWORD}, token=LOGIN_TOKEN)
    settings = vault.settings(
        auth_method="kubernetes",
        auth_mount="k8s-prod",
        role="ttbt2-deployer",
        kubernetes_token_path=str(token_file),
    )
    client = connect(settings, env={})
    assert client.read_kv2("secret", "ttbt2/prod/db", "password") == PASSWORD


def test_approle_login(vault: FakeVault) -> None:
    vault.login("approle", {"role_id": ROLE_ID, "secret_id": SECRET_ID})
    vault.kv2("secret", "ttbt2/prod/db", {"password": PASSWORD}, token=LOGIN_TOKEN)
    client = connect(
        vault.settings(auth_method="approle"),
        env={"VAULT_ROLE_ID": ROLE_ID, "VAULT_SECRET_ID": SECRET_ID},
    )
    assert client.read_kv2("secret", "ttbt2/prod/db", "password") == PASSWORD


@pytest.mark.parametrize(
    ("method", "env", "names"),
    [
        ("token", {}, ["VAULT_TOKEN"]),
        ("token", {"VAULT_TOKEN": "  "}, ["VAULT_TOKEN"]),
        (
            "jwt",
            {},
            ["VAULT_JWT", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
        ),
        (
            "jwt",
            {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://127.0.0.1/idtoken"},
            ["ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set"],
        ),
        ("approle", {}, ["VAULT_ROLE_ID and VAULT_SECRET_ID"]),
        ("approle", {"VAULT_ROLE_ID": ROLE_ID}, ["needs VAULT_SECRET_ID"]),
    ],
)
def test_missing_credential_names_the_variable(
    vault: FakeVault, method: str, env: dict[str, str], names: list[str]
) -> None:
    settings = vault.settings(auth_method=method, role="deploy")
    with pytest.raises(VaultAuthError) as err:
        connect(settings, env=env)
    for name in names:
        assert name in str(err.value)
    assert vault.server.log == []  # nothing was sent without a credential
    assert_no_secret(err.value)


def test_missing_kubernetes_token_file_names_the_file(vault: FakeVault, tmp_path: Path) -> None:
    missing = tmp_path / "no-token"
    settings = vault.settings(
        auth_method="kubernetes", role="deploy", kubernetes_token_path=str(missing)
    )
    with pytest.raises(VaultAuthError, match=f"token file {missing} .*cannot be read"):
        connect(settings, env={})


@pytest.mark.parametrize("status", [400, 403])
def test_refused_login_names_method_mount_and_role(vault: FakeVault, status: int) -> None:
    vault.server.expect_request("/v1/auth/ci-jwt/login", method="POST").respond_with_json(
        # A body that echoes the credential, to prove it is redacted.
        {"errors": [f'role "deploy" rejected jwt {JWT}']},
        status=status,
    )
    settings = vault.settings(auth_method="jwt", auth_mount="ci-jwt", role="deploy")
    with pytest.raises(VaultAuthError) as err:
        connect(settings, env={"VAULT_JWT": JWT}, sleep=no_sleep)
    message = str(err.value)
    assert (
        f"refused the jwt login at auth/ci-jwt/login for role 'deploy' (HTTP {status})" in message
    )
    assert vault.address in message
    assert "<redacted>" in message
    assert vault.count("/v1/auth/ci-jwt/login") == 1
    assert_no_secret(err.value)


# --- read errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"errors": ["Vault is sealed"]}, {"errors": []}],
    ids=["body-says-sealed", "seal-status"],
)
def test_sealed_vault_fails_fast_without_retries(
    vault: FakeVault, sleeps: list[float], body: dict[str, list[str]]
) -> None:
    vault.server.expect_request(READ_PATH).respond_with_json(body, status=503)
    vault.seal_status(sealed=True)
    with pytest.raises(VaultSealedError) as err:
        read_db(vault, sleeps)
    assert str(err.value).startswith(f"Vault at {vault.address} is sealed (GET {READ_PATH}")
    assert vault.count(READ_PATH) == 1
    # The body alone is enough when it says so; otherwise sys/seal-status is asked, once.
    assert vault.count("/v1/sys/seal-status") == (0 if body["errors"] else 1)
    assert sleeps == []


def test_503_from_an_unsealed_vault_is_a_server_error_not_retried(
    vault: FakeVault, sleeps: list[float]
) -> None:
    # 503 is not retried (a sealed Vault is its usual cause); seal-status tells the two apart.
    vault.server.expect_request(READ_PATH).respond_with_json({"errors": []}, status=503)
    vault.seal_status(sealed=False)
    with pytest.raises(VaultServerError) as err:
        read_db(vault, sleeps)
    assert str(err.value) == f"Vault at {vault.address} answered HTTP 503 to GET {READ_PATH}"
    assert (err.value.status, err.value.attempts) == (503, 1)
    assert vault.count(READ_PATH) == 1
    assert vault.count("/v1/sys/seal-status") == 1
    assert sleeps == []


def test_403_names_path_and_missing_read_capability(vault: FakeVault, sleeps: list[float]) -> None:
    vault.server.expect_request(READ_PATH).respond_with_json(PERMISSION_DENIED, status=403)
    vault.capabilities("secret/data/ttbt2/prod/db", ["list"])
    with pytest.raises(VaultPermissionError) as err:
        read_db(vault, sleeps)
    assert str(err.value) == (
        f"permission denied reading secret/data/ttbt2/prod/db at {vault.address} "
        "(key 'password'): it lacks the 'read' capability (holds: list)"
    )
    assert err.value.missing_capability == "read"
    assert err.value.held == frozenset({"list"})
    assert err.value.path == "secret/data/ttbt2/prod/db"
    assert vault.count(READ_PATH) == 1
    assert sleeps == []


def test_403_although_read_is_held_blames_another_policy(
    vault: FakeVault, sleeps: list[float]
) -> None:
    vault.server.expect_request(READ_PATH).respond_with_json(PERMISSION_DENIED, status=403)
    vault.capabilities("secret/data/ttbt2/prod/db", ["read"])
    with pytest.raises(VaultPermissionError, match="holds 'read', so a Sentinel") as err:
        read_db(vault, sleeps)
    assert err.value.missing_capability is None


def test_403_when_capabilities_cannot_be_looked_up(vault: FakeVault, sleeps: list[float]) -> None:
    vault.server.expect_request(READ_PATH).respond_with_json(PERMISSION_DENIED, status=403)
    vault.server.expect_request("/v1/sys/capabilities-self").respond_with_json(
        PERMISSION_DENIED, status=403
    )
    with pytest.raises(VaultPermissionError, match="could not be looked up") as err:
        read_db(vault, sleeps)
    assert err.value.missing_capability is None
    assert "secret/data/ttbt2/prod/db" in str(err.value)


def test_404_is_secret_not_found(vault: FakeVault, sleeps: list[float]) -> None:
    vault.server.expect_request(READ_PATH).respond_with_json({"errors": []}, status=404)
    vault.mount("secret")
    with pytest.raises(VaultSecretNotFoundError) as err:
        read_db(vault, sleeps)
    assert str(err.value) == (
        f"no secret at secret/data/ttbt2/prod/db at {vault.address} "
        "(mount secret is KV v2; check the path)"
    )
    assert vault.count(READ_PATH) == 1


def test_deleted_latest_version_is_not_found(vault: FakeVault, sleeps: list[float]) -> None:
    vault.server.expect_request(READ_PATH).respond_with_json(
        {
            "data": {
                "data": None,
                "metadata": {"deletion_time": "2025-01-02T00:00:00Z", "destroyed": False},
            }
        },
        status=404,
    )
    with pytest.raises(
        VaultSecretNotFoundError, match=r"latest version of secret/data/ttbt2/prod/db .* is deleted"
    ):
        read_db(vault, sleeps)


def test_missing_key_names_present_keys_but_no_value(vault: FakeVault, sleeps: list[float]) -> None:
    vault.kv2("secret", "ttbt2/prod/db", {"username": USERNAME, "host": "db.internal"})
    with pytest.raises(VaultKeyNotFoundError) as err:
        read_db(vault, sleeps)
    assert str(err.value) == (
        f"secret secret/data/ttbt2/prod/db at {vault.address} has no key 'password'; "
        "keys present: host, username"
    )
    assert err.value.available == ("host", "username")
    assert "db.internal" not in repr(err.value)
    assert_no_secret(err.value)


def test_kv_v1_mount_is_a_version_mismatch(vault: FakeVault, sleeps: list[float]) -> None:
    vault.server.expect_request(READ_PATH).respond_with_json({"errors": []}, status=404)
    vault.mount("secret", version="1")
    with pytest.raises(VaultKVVersionError) as err:
        read_db(vault, sleeps)
    assert str(err.value).startswith("mount secret is KV v1, expected KV v2")
    assert vault.address in str(err.value)
    assert err.value.found == "KV v1"


def test_kv_v1_mount_answering_200_on_data_path_is_a_mismatch(
    vault: FakeVault, sleeps: list[float]
) -> None:
    # A KV v1 mount holding a secret at the literal path "data/ttbt2/prod/db": flat data.
    vault.server.expect_request(READ_PATH).respond_with_json({"data": {"password": PASSWORD}})
    vault.mount("secret", version=None)
    with pytest.raises(VaultKVVersionError, match="mount secret is KV v1, expected KV v2") as err:
        read_db(vault, sleeps)
    assert_no_secret(err.value)


def test_non_string_value_is_refused_without_showing_it(
    vault: FakeVault, sleeps: list[float]
) -> None:
    vault.kv2("secret", "ttbt2/prod/db", {"password": {"nested": PASSWORD}})
    with pytest.raises(VaultError, match="holds a dict, expected a string") as err:
        read_db(vault, sleeps)
    assert_no_secret(err.value)


def test_a_body_that_is_not_json_is_a_response_error_naming_the_path(
    vault: FakeVault, sleeps: list[float]
) -> None:
    # A proxy in front of Vault answering 200 with its own page.
    vault.server.expect_request(READ_PATH).respond_with_data("<html>sign in</html>")
    with pytest.raises(VaultResponseError) as err:
        read_db(vault, sleeps)
    assert str(err.value) == (
        f"Vault at {vault.address} answered GET {READ_PATH} with a body that is not JSON"
    )
    assert err.value.path == READ_PATH


# --- timeouts and retries -----------------------------------------------------------------------


class SlowHandler:
    """A handler that answers only when released, long after any tiny read timeout."""

    def __init__(self) -> None:
        self.hits = 0
        self.release = threading.Event()

    def __call__(self, _request: Request) -> Response:
        self.hits += 1
        self.release.wait(2.0)
        return Response("{}", content_type="application/json")


@pytest.fixture
def slow(server: HTTPServer) -> Iterator[SlowHandler]:
    """A :class:`SlowHandler`, released at teardown.

    Teardown waits until every call has been logged, so that a late answer cannot land in the
    next test's log.
    """
    handler = SlowHandler()
    yield handler
    handler.release.set()
    deadline = time.monotonic() + 2.0
    while len(server.log) < handler.hits and time.monotonic() < deadline:
        time.sleep(0.01)


def test_timeout_is_unreachable_after_configured_retries(
    vault: FakeVault, sleeps: list[float], slow: SlowHandler
) -> None:
    vault.server.expect_request(READ_PATH).respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(VaultUnreachableError) as err:
        read_db(vault, sleeps, read_timeout=0.05, retries=2)
    assert time.monotonic() - started < 1.5  # the read timeout, not the handler, ended each try
    assert err.value.reason == "timed out waiting for a response"
    assert err.value.attempts == 3
    assert str(err.value) == (
        f"Vault at {vault.address} is unreachable: GET {READ_PATH} failed 3 time(s) "
        "(timed out waiting for a response)"
    )
    assert slow.hits == 3
    assert sleeps == [0.5, 1.0]


def test_5xx_then_success_retries_with_exponential_backoff(
    vault: FakeVault, sleeps: list[float]
) -> None:
    for _ in range(2):
        vault.server.expect_oneshot_request(READ_PATH).respond_with_json(
            {"errors": ["internal error"]}, status=500
        )
    vault.kv2("secret", "ttbt2/prod/db", {"password": PASSWORD})
    assert read_db(vault, sleeps) == PASSWORD
    assert vault.count(READ_PATH) == 3
    assert sleeps == [0.5, 1.0]


def test_5xx_every_time_is_a_server_error_with_capped_backoff(
    vault: FakeVault, sleeps: list[float]
) -> None:
    vault.server.expect_request(READ_PATH).respond_with_data("bad gateway", status=502)
    with pytest.raises(VaultServerError) as err:
        read_db(vault, sleeps, backoff_max_seconds=0.75)
    assert str(err.value) == (
        f"Vault at {vault.address} answered HTTP 502 to GET {READ_PATH} on all 4 attempt(s)"
    )
    assert (err.value.status, err.value.attempts) == (502, 4)
    assert vault.count(READ_PATH) == 4
    assert sleeps == [0.5, 0.75, 0.75]


@pytest.mark.parametrize("status", [400, 405, 429])
def test_4xx_is_never_retried(vault: FakeVault, sleeps: list[float], status: int) -> None:
    vault.server.expect_request(READ_PATH).respond_with_json({"errors": ["no"]}, status=status)
    with pytest.raises(VaultRequestError) as err:
        read_db(vault, sleeps)
    assert err.value.status == status
    assert vault.address in str(err.value)
    assert "secret/data/ttbt2/prod/db" in str(err.value)
    assert vault.count(READ_PATH) == 1
    assert sleeps == []


def test_connection_refused_is_unreachable_after_retries(sleeps: list[float]) -> None:
    address = f"http://127.0.0.1:{unused_port()}"
    client = connect(
        VaultSettings(address=address, connect_timeout=0.5, retries=3),
        env=TOKEN_ENV,
        sleep=sleeps.append,
    )
    with pytest.raises(VaultUnreachableError) as err:
        client.read_kv2("secret", "ttbt2/prod/db", "password")
    assert str(err.value) == (
        f"Vault at {address} is unreachable: GET {READ_PATH} failed 4 time(s) (connection refused)"
    )
    assert err.value.attempts == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert_no_secret(err.value)


def test_login_is_retried_and_times_out_too(
    vault: FakeVault, sleeps: list[float], slow: SlowHandler
) -> None:
    vault.server.expect_request("/v1/auth/approle/login").respond_with_handler(slow)
    settings = vault.settings(auth_method="approle", read_timeout=0.05, retries=1)
    env = {"VAULT_ROLE_ID": ROLE_ID, "VAULT_SECRET_ID": SECRET_ID}
    with pytest.raises(VaultUnreachableError, match="POST /v1/auth/approle/login failed 2 time"):
        connect(settings, env=env, sleep=sleeps.append)
    assert slow.hits == 2
    assert sleeps == [0.5]


# --- TLS ----------------------------------------------------------------------------------------


def test_ca_bundle_is_used_to_verify_vault(
    tls_vault: FakeVault, tls_cert: tuple[Path, Path], sleeps: list[float]
) -> None:
    tls_vault.kv2("secret", "ttbt2/prod/db", {"password": PASSWORD})
    assert read_db(tls_vault, sleeps, ca_bundle=str(tls_cert[0])) == PASSWORD


def test_untrusted_certificate_fails_fast_without_retries(
    tls_vault: FakeVault, sleeps: list[float]
) -> None:
    with pytest.raises(
        VaultUnreachableError, match=r"TLS verification failed .* set ca_bundle"
    ) as err:
        read_db(tls_vault, sleeps)
    assert err.value.attempts == 1
    assert sleeps == []
