"""A fake Vault on 127.0.0.1 (pytest-httpserver) answering the HTTP API the client layer uses."""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from components.vault import VaultSettings

# Distinctive credential and secret strings: no error message, repr or log line may contain any.
TOKEN = "hvs.TOKEN-d41d8cd98f00b204"
JWT = "eyJ.JWT-VALUE-9e107d9d372bb682"
GITHUB_REQUEST_TOKEN = "REQ-TOKEN-e4d909c290d0fb1c"
SA_JWT = "eyJ.SA-JWT-45c48cce2e2d7fbd"
ROLE_ID = "ROLE-ID-a87ff679a2f3e71d"
SECRET_ID = "SECRET-ID-1679091c5a880faf"
LOGIN_TOKEN = "hvs.LOGIN-TOKEN-8f14e45fceea167a"
PASSWORD = "PASSWORD-VALUE-c9f0f895fb98ab91"
USERNAME = "USERNAME-VALUE-45c48cce2e2d7fbd"
SECRETS = (
    TOKEN,
    JWT,
    GITHUB_REQUEST_TOKEN,
    SA_JWT,
    ROLE_ID,
    SECRET_ID,
    LOGIN_TOKEN,
    PASSWORD,
    USERNAME,
)

PERMISSION_DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}


def assert_no_secret(*texts_or_errors: object) -> None:
    """No known secret in the str/repr of each object, nor along an exception's cause chain."""
    for obj in texts_or_errors:
        seen: set[int] = set()
        current: object = obj
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            for text in (str(current), repr(current)):
                for secret in SECRETS:
                    assert secret not in text, f"secret leaked in {type(current).__name__}"
            current = (
                (current.__cause__ or current.__context__)
                if isinstance(current, BaseException)
                else None
            )


def no_sleep(seconds: float) -> None:
    """A ``sleep`` for tests where any retry is a bug."""
    pytest.fail(f"unexpected retry pause of {seconds}s")


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class FakeVault:
    """Registers Vault-shaped answers on an HTTPServer and counts the requests it got."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.address = f"http://127.0.0.1:{server.port}"

    def settings(self, **overrides: Any) -> VaultSettings:
        """Settings pointing at this server, with small timeouts (the sleeps are injected)."""
        values: dict[str, Any] = {
            "address": self.address,
            "connect_timeout": 0.5,
            "read_timeout": 2.0,
            "retries": 3,
            "backoff_seconds": 0.5,
        }
        values.update(overrides)
        return VaultSettings(**values)

    def count(self, path: str, method: str | None = None) -> int:
        """Requests the server answered on ``path`` (and ``method`` if given)."""
        return sum(
            1
            for request, _ in self.server.log
            if request.path == path and (method is None or request.method == method)
        )

    # --- endpoints ----------------------------------------------------------------------------
    def seal_status(self, *, sealed: bool = False) -> None:
        self.server.expect_request("/v1/sys/seal-status", method="GET").respond_with_json(
            {
                "type": "shamir",
                "initialized": True,
                "sealed": sealed,
                "t": 3,
                "n": 5,
                "progress": 1 if sealed else 0,
                "version": "1.19.0",
            }
        )

    def kv2(
        self,
        mount: str,
        path: str,
        data: dict[str, Any],
        *,
        token: str = TOKEN,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.server.expect_request(
            f"/v1/{mount}/data/{path}",
            method="GET",
            headers={"X-Vault-Token": token, **(headers or {})},
        ).respond_with_json(
            {
                "request_id": "5e1f",
                "lease_id": "",
                "renewable": False,
                "lease_duration": 0,
                "data": {
                    "data": data,
                    "metadata": {
                        "created_time": "2025-01-01T00:00:00Z",
                        "custom_metadata": None,
                        "deletion_time": "",
                        "destroyed": False,
                        "version": 3,
                    },
                },
                "wrap_info": None,
                "warnings": None,
                "auth": None,
            }
        )

    def kv2_metadata(
        self, mount: str, path: str, custom: dict[str, str] | None, *, status: int = 200
    ) -> None:
        """The secret's metadata (no value), or an error ``status``."""
        handler = self.server.expect_request(f"/v1/{mount}/metadata/{path}", method="GET")
        if status != 200:
            handler.respond_with_json({"errors": ["permission denied"]}, status=status)
            return
        handler.respond_with_json(
            {"data": {"custom_metadata": custom, "current_version": 3, "versions": {}}}
        )

    def mount(self, mount: str, *, engine: str = "kv", version: str | None = "2") -> None:
        options = {"version": version} if version is not None else None
        self.server.expect_request(
            f"/v1/sys/internal/ui/mounts/{mount}", method="GET"
        ).respond_with_json({"data": {"type": engine, "options": options, "path": f"{mount}/"}})

    def capabilities(self, path: str, caps: list[str]) -> None:
        self.server.expect_request(
            "/v1/sys/capabilities-self", method="POST", json={"paths": [path]}
        ).respond_with_json(
            {"capabilities": caps, path: caps, "data": {"capabilities": caps, path: caps}}
        )

    def lookup_self(
        self,
        *,
        policies: tuple[str, ...] = ("default", "ttbt2-deploy"),
        ttl: int = 3600,
        token: str = TOKEN,
    ) -> None:
        self.server.expect_request(
            "/v1/auth/token/lookup-self", method="GET", headers={"X-Vault-Token": token}
        ).respond_with_json(
            {
                "data": {
                    # Vault returns the token itself here; the client must not keep it.
                    "id": token,
                    "accessor": "acc-123",
                    "display_name": "jwt-deploy",
                    "policies": list(policies),
                    "ttl": ttl,
                    "renewable": True,
                    "expire_time": "2030-01-01T00:00:00Z",
                }
            }
        )

    def login(self, mount: str, body: dict[str, str], **match: Any) -> None:
        self.server.expect_request(
            f"/v1/auth/{mount}/login", method="POST", json=body, **match
        ).respond_with_json(
            {
                "auth": {
                    "client_token": LOGIN_TOKEN,
                    "accessor": "acc-456",
                    "policies": ["default", "ttbt2-deploy"],
                    "lease_duration": 3600,
                    "renewable": True,
                }
            }
        )


@pytest.fixture(scope="session")
def _session_server() -> Iterator[HTTPServer]:
    # One server for the session: stopping one waits for werkzeug's 0.5 s poll interval.
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


@pytest.fixture
def server(_session_server: HTTPServer) -> Iterator[HTTPServer]:
    """The server with no handler and an empty log; fails the test on an unexpected request.

    An unexpected request gets 418 rather than the default 500, which the client would retry.
    """
    _session_server.clear()
    _session_server.no_handler_status_code = 418
    yield _session_server
    _session_server.check_assertions()


@pytest.fixture
def vault(server: HTTPServer) -> FakeVault:
    """The fake Vault on :func:`server`."""
    return FakeVault(server)


@pytest.fixture
def sleeps() -> list[float]:
    """Pauses the client asked for; pass ``sleep=sleeps.append`` so that none is real."""
    return []


@pytest.fixture(autouse=True)
def _no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every log record of every test, at every level, is free of known secrets."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        assert_no_secret(record.getMessage())


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="session")
def _tls_server(tls_cert: tuple[Path, Path]) -> Iterator[HTTPServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_cert)
    srv = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


@pytest.fixture
def tls_vault(_tls_server: HTTPServer) -> FakeVault:
    """A fake Vault served over TLS with the :func:`tls_cert` certificate."""
    _tls_server.clear()
    _tls_server.no_handler_status_code = 418
    fake = FakeVault(_tls_server)
    fake.address = f"https://127.0.0.1:{_tls_server.port}"
    return fake
