"""Vault client: hvac, plus what hvac does not do for this project.

The program reads the secrets seeded in HashiCorp Vault at deploy time (seed 4.7.1) through
:func:`connect` and :class:`VaultClient`. hvac does the HTTP, the logins
(``client.auth.jwt.jwt_login``, ``auth.kubernetes.login``, ``auth.approle.login``) and the
reads (``secrets.kv.v2.read_secret_version``, ``sys.read_seal_status``, ``lookup_token``,
``sys.get_capabilities``). This module adds only:

* settings that refuse an address a token must not be sent to (plain http off loopback);
* credentials from an explicit environment mapping, never hvac's own ``VAULT_TOKEN`` /
  ``~/.vault-token`` fallback: CI logs in with the GitHub Actions OIDC id-token (``jwt``), a
  pod with its service-account token (``kubernetes``), so neither holds a long-lived Vault
  token (seed 4.9.1);
* bounded retries with capped exponential backoff: urllib3's ``Retry`` on the session hvac
  uses, its pause through an injectable ``sleep`` so tests do not wait;
* typed errors (:mod:`components.vault.errors`) that name the address, the path and the cause
  and never a credential or a value: a 503 is told apart as "sealed" (not retried) by asking
  ``sys/seal-status``.

It is pure: it imports no Pulumi resource and registers nothing. Values come back as plain
``str``; the caller wraps each in ``pulumi.Output.secret`` at once.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import hvac
import hvac.adapters
import hvac.exceptions
import requests
import requests.adapters
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from components.vault.errors import (
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
    VaultUnreachableError,
)
from components.vault.refs import SecretRef

log = logging.getLogger(__name__)

AuthMethod = Literal["token", "jwt", "kubernetes", "approle"]
AUTH_METHODS: tuple[str, ...] = get_args(AuthMethod)

DEFAULT_KUBERNETES_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"

# Environment variables each method reads, named once so messages and docs cannot drift.
ENV_TOKEN = "VAULT_TOKEN"
ENV_JWT = "VAULT_JWT"
ENV_GITHUB_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
ENV_GITHUB_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
ENV_ROLE_ID = "VAULT_ROLE_ID"
ENV_SECRET_ID = "VAULT_SECRET_ID"

# Above this many retries a deploy would hang for minutes on a Vault that is down; fail instead.
MAX_RETRIES = 10
# Answers worth another attempt. 503 is not: it is a sealed Vault more often than not, which
# answers nothing until an operator unseals it.
RETRY_STATUSES = frozenset({500, 502, 504})


def _url_problem(url: str, what: str) -> str | None:
    """Why ``url`` may not be used to send a credential, or ``None`` when it may."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return f"{what} {url!r} is not an absolute https:// URL"
    if parts.username or parts.password:
        # A URL is logged and shown in errors; credentials come from the environment only.
        return f"{what} must not carry credentials (user:password@)"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        # A loopback address never leaves the host: a local `vault server -dev`, the tests.
        return f"{what} {url!r} must use https (plain http is allowed for loopback hosts only)"
    return None


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class VaultSettings:
    """Where Vault is and how to log in to it; no credential (those come from the environment).

    ``auth_mount`` defaults to the method's name (``jwt`` is mounted at ``auth/jwt``).
    ``role`` is required by ``jwt`` and ``kubernetes``. ``ca_bundle`` is a PEM file of the CA
    that signed Vault's certificate, ``""`` for the system trust store. Timeouts are in seconds
    and apply to each request; ``retries`` is how many times a failed request is sent again,
    after ``backoff_seconds`` doubled at each retry and capped at ``backoff_max_seconds``.
    """

    address: str
    auth_method: AuthMethod = "token"
    namespace: str = ""
    auth_mount: str = ""
    role: str = ""
    ca_bundle: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 3
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 10.0
    jwt_audience: str = "vault"
    kubernetes_token_path: str = DEFAULT_KUBERNETES_TOKEN_PATH

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", self.address.strip().rstrip("/"))
        object.__setattr__(self, "namespace", self.namespace.strip().strip("/"))
        object.__setattr__(self, "auth_mount", self.auth_mount.strip().strip("/"))
        problems: list[str] = []
        parts = urlsplit(self.address)
        address_problem = _url_problem(self.address, "address")
        if address_problem:
            problems.append(address_problem)
        elif parts.query or parts.fragment:
            problems.append(f"address {self.address!r} must not have a query or fragment")
        if self.auth_method not in AUTH_METHODS:
            problems.append(
                f"auth_method {self.auth_method!r} is not one of {', '.join(AUTH_METHODS)}"
            )
        elif not self.auth_mount:
            object.__setattr__(self, "auth_mount", self.auth_method)
        if self.auth_method in {"jwt", "kubernetes"} and not self.role.strip():
            problems.append(f"auth_method {self.auth_method!r} needs a role")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            problems.append("connect_timeout and read_timeout must be greater than 0")
        if not 0 <= self.retries <= MAX_RETRIES:
            problems.append(f"retries must be between 0 and {MAX_RETRIES}, not {self.retries}")
        if self.backoff_seconds < 0 or self.backoff_max_seconds < self.backoff_seconds:
            problems.append("backoff_seconds must be >= 0 and <= backoff_max_seconds")
        if self.auth_method == "jwt" and not self.jwt_audience.strip():
            problems.append("jwt_audience must not be empty")
        if problems:
            raise VaultConfigError(
                "invalid Vault settings: " + "; ".join(problems), address=self.address
            )

    @property
    def timeout(self) -> tuple[float, float]:
        """``(connect, read)`` timeout of each request, as ``requests`` takes it."""
        return (self.connect_timeout, self.read_timeout)


# --- transport: retries and errors ---------------------------------------------------------------


class _Retry(Retry):
    """urllib3's ``Retry`` with backoff ``b, 2b, 4b, ...`` from the first retry.

    Paused by :attr:`pause` (urllib3 would retry once at once, then sleep with ``time.sleep``).
    """

    pause: Callable[[float], None] = staticmethod(time.sleep)

    def new(self, **kw: Any) -> _Retry:
        """The copy urllib3 makes at each attempt, keeping :attr:`pause`."""
        retry = super().new(**kw)
        retry.pause = self.pause
        return retry

    def get_backoff_time(self) -> float:
        """Seconds to wait before the next retry."""
        retry = max(len(self.history) - 1, 0)
        return float(min(self.backoff_max, self.backoff_factor * (2**retry)))

    def sleep(self, response: Any = None) -> None:  # noqa: ARG002 - urllib3's signature
        """Pause before the next retry (no ``Retry-After``: Vault does not send one)."""
        delay = self.get_backoff_time()
        done = len(self.history)
        log.warning("Vault: retry %d of %d in %.2fs", done, done + (self.total or 0), delay)
        self.pause(delay)


def _session(settings: VaultSettings, sleep: Callable[[float], None]) -> requests.Session:
    """A requests session whose every request (logins included) is retried as ``settings`` say."""
    retry = _Retry(
        total=settings.retries,
        other=0,  # TLS failures: a certificate does not become valid by asking again
        # Every request here is a read, a capability check or a login: safe to send again.
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=settings.backoff_seconds,
        backoff_max=settings.backoff_max_seconds,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    retry.pause = sleep
    session = requests.Session()
    # hvac takes verification from a session it is given, not from its own argument.
    session.verify = settings.ca_bundle or True
    adapter = requests.adapters.HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _connection_failure(exc: requests.RequestException) -> tuple[str, bool]:
    """The cause of a failed connection, and whether it ended the retries."""
    exhausted = bool(exc.args) and isinstance(exc.args[0], MaxRetryError)
    cause = exc.args[0].reason if exhausted else exc
    if isinstance(cause, NameResolutionError):
        reason = "DNS lookup failed"
    elif isinstance(cause, ReadTimeoutError | requests.exceptions.ReadTimeout):
        reason = "timed out waiting for a response"
    elif isinstance(cause, NewConnectionError):
        reason = "connection refused" if "refused" in str(cause).lower() else "connection failed"
    elif isinstance(exc, requests.exceptions.Timeout):
        reason = "timed out connecting"
    else:
        reason = "connection failed"
    return reason, exhausted


class _Adapter(hvac.adapters.JSONAdapter):
    """hvac's JSON adapter raising this layer's typed errors for transport failures.

    hvac maps a status to an exception class but drops the number (504 and 412 both become
    ``UnexpectedError``); :meth:`_raise_for_error` keeps it on the exception, and turns a 503
    from a sealed Vault and a 5xx that outlived the retries into errors that say so.
    """

    def __init__(self, *args: Any, retries: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retries = retries

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        raise_exception: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Send one request (retried by the session); see the class docstring."""
        path = urlsplit(url).path
        what = f"{method.upper()} {path}"
        try:
            answer = super().request(method, url, headers, raise_exception, **kwargs)
        except requests.exceptions.SSLError:
            failure: tuple[str, bool] | None = None
        except requests.exceptions.RequestException as exc:
            failure = _connection_failure(exc)
        else:
            # hvac hands back the raw response when a 200 body is not JSON.
            if isinstance(answer, requests.Response) and answer.status_code == 200:
                raise VaultResponseError(
                    f"Vault at {self.base_uri} answered {what} with a body that is not JSON",
                    address=self.base_uri,
                    path=path,
                )
            return answer
        # Raised here, outside the except blocks, so that the error does not chain the
        # requests exception: that one holds the prepared request, X-Vault-Token header included.
        if failure is None:
            raise VaultUnreachableError(
                f"Vault at {self.base_uri}: TLS verification failed on {what}; set ca_bundle "
                "to the CA that signed Vault's certificate (not retried: it would fail again)",
                address=self.base_uri,
                path=path,
                reason="TLS verification failed",
                attempts=1,
            )
        reason, exhausted = failure
        attempts = self.retries + 1 if exhausted else 1
        raise VaultUnreachableError(
            f"Vault at {self.base_uri} is unreachable: {what} failed {attempts} time(s) ({reason})",
            address=self.base_uri,
            path=path,
            reason=reason,
            attempts=attempts,
        )

    def _raise_for_error(self, method: str, url: str, response: requests.Response) -> None:
        status = response.status_code
        path = urlsplit(url).path
        what = f"{method.upper()} {path}"
        if status == 503 and self._sealed(response):
            raise VaultSealedError(
                f"Vault at {self.base_uri} is sealed ({what} answered 503); an operator must "
                "unseal it. Not retried: a sealed Vault answers nothing until then.",
                address=self.base_uri,
                path=path,
            )
        if status >= 500:
            attempts = self.retries + 1 if status in RETRY_STATUSES else 1
            raise VaultServerError(
                f"Vault at {self.base_uri} answered HTTP {status} to {what}"
                + (f" on all {attempts} attempt(s)" if attempts > 1 else ""),
                address=self.base_uri,
                path=path,
                status=status,
                attempts=attempts,
            )
        try:
            super()._raise_for_error(method, url, response)
        except hvac.exceptions.VaultError as exc:
            exc.status_code = status
            raise

    def _sealed(self, response: requests.Response) -> bool:
        """Whether a 503 comes from a sealed Vault rather than a standby or overloaded one."""
        if "sealed" in response.text.lower():
            return True
        try:
            status = super().request("get", "/v1/sys/seal-status", raise_exception=False)
        except requests.exceptions.RequestException:
            return False
        return isinstance(status, dict) and status.get("sealed") is True


def _status_of(exc: BaseException) -> int:
    """HTTP status the adapter attached to an hvac error (0 when unknown)."""
    status = getattr(exc, "status_code", 0)
    return status if isinstance(status, int) else 0


# --- answers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealStatus:
    """What ``sys/seal-status`` says (it needs no token)."""

    sealed: bool
    initialized: bool
    version: str
    progress: int
    threshold: int


@dataclass(frozen=True)
class TokenInfo:
    """What ``auth/token/lookup-self`` says about the token, minus its id and accessor."""

    display_name: str
    policies: tuple[str, ...]
    ttl: int
    renewable: bool
    expire_time: str | None


@dataclass(frozen=True)
class MountInfo:
    """The secrets engine mounted at a path: its type and, for KV, its version."""

    path: str
    type: str
    version: str

    @property
    def is_kv2(self) -> bool:
        """True for a KV version 2 engine."""
        return self.type == "kv" and self.version == "2"


def _data(body: Any) -> dict[str, Any]:
    """The ``data`` object of a Vault response (empty when absent)."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body["data"]
    return {}


def _kv_mismatch(mount: MountInfo, address: str, api_path: str) -> VaultKVVersionError:
    if mount.type in {"kv", "generic"}:
        found = f"KV v{mount.version or '1'}"
    else:
        found = f"a {mount.type} engine"
    return VaultKVVersionError(
        f"mount {mount.path} is {found}, expected KV v2 (reading {api_path} at {address})",
        address=address,
        path=api_path,
        mount=mount.path,
        found=found,
    )


def _caps(caps: frozenset[str]) -> str:
    return ", ".join(sorted(caps)) or "none"


class VaultClient:
    """An authenticated Vault client; build it with :func:`connect`.

    Holds the Vault token inside the hvac client; ``repr()`` shows where it points only.
    """

    def __init__(self, hvac_client: Any, settings: VaultSettings) -> None:
        self._hvac = hvac_client
        self.settings = settings

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"VaultClient(address={s.address!r}, namespace={s.namespace!r}, "
            f"auth_method={s.auth_method!r}, auth_mount={s.auth_mount!r})"
        )

    @property
    def address(self) -> str:
        """The Vault address."""
        return self.settings.address

    def session_token(self) -> str:
        """The token this client logged in with, for ``scripts/vault_login.py`` to export.

        Never logged; the program itself does not hand it to any resource.
        """
        return str(self._hvac.token)

    def close(self) -> None:
        """Close the HTTP session."""
        self._hvac.adapter.close()

    def seal_status(self) -> SealStatus:
        """Read ``sys/seal-status``: is Vault reachable and unsealed."""
        body = self._hvac.sys.read_seal_status()
        if not isinstance(body, dict) or not isinstance(body.get("sealed"), bool):
            raise VaultResponseError(
                f"Vault at {self.address}: sys/seal-status answered without a 'sealed' flag",
                address=self.address,
                path="sys/seal-status",
            )
        return SealStatus(
            sealed=body["sealed"],
            initialized=bool(body.get("initialized", True)),
            version=str(body.get("version", "")),
            progress=int(body.get("progress", 0)),
            threshold=int(body.get("t", 0)),
        )

    def token_lookup(self) -> TokenInfo:
        """Read ``auth/token/lookup-self``; a refused token is a :class:`VaultAuthError`."""
        path = "auth/token/lookup-self"
        try:
            body = self._hvac.lookup_token()
        except hvac.exceptions.VaultError as exc:
            if _status_of(exc) in {401, 403}:
                raise VaultAuthError(
                    f"Vault at {self.address} rejected the token: {path} answered HTTP "
                    f"{_status_of(exc)}. The token is invalid, expired or revoked (or its "
                    "policies lack the default policy, which grants lookup-self).",
                    address=self.address,
                    path=path,
                ) from exc
            raise self._request_error(path, exc) from exc
        data = _data(body)
        ttl = data.get("ttl", 0)
        return TokenInfo(
            display_name=str(data.get("display_name", "")),
            policies=tuple(str(p) for p in data.get("policies") or ()),
            ttl=ttl if isinstance(ttl, int) else 0,
            renewable=bool(data.get("renewable", False)),
            expire_time=data.get("expire_time") or None,
        )

    def capabilities(self, path: str) -> frozenset[str]:
        """The token's capabilities on ``path`` (``secret/data/app``), from capabilities-self."""
        try:
            body = self._hvac.sys.get_capabilities(paths=[path])
        except hvac.exceptions.VaultError as exc:
            if _status_of(exc) == 403:
                raise VaultPermissionError(
                    f"Vault at {self.address} refused sys/capabilities-self for {path} (HTTP "
                    "403): the token is invalid or expired, or lacks the default policy",
                    address=self.address,
                    path=path,
                ) from exc
            raise self._request_error(path, exc) from exc
        # Vault answers both at the top level and under "data", keyed by the path (and, for a
        # single path, "capabilities"); read whichever is there.
        for source in (_data(body), body if isinstance(body, dict) else {}):
            caps = source.get(path, source.get("capabilities"))
            if isinstance(caps, list):
                return frozenset(str(c) for c in caps)
        raise VaultResponseError(
            f"Vault at {self.address}: sys/capabilities-self gave no capabilities for {path}",
            address=self.address,
            path=path,
        )

    def mount_info(self, mount: str) -> MountInfo:
        """The engine mounted at ``mount``, from ``sys/internal/ui/mounts/<mount>``.

        That endpoint (which hvac does not wrap) answers any token that can reach a path in
        the mount, so a deploy identity with only ``read`` on its secrets can ask it. 403/404
        mean the mount does not exist or the token can reach nothing in it.
        """
        mount = mount.strip("/")
        path = f"sys/internal/ui/mounts/{mount}"
        try:
            body = self._hvac.adapter.get(f"/v1/{path}")
        except hvac.exceptions.VaultError as exc:
            if _status_of(exc) in {403, 404}:
                raise VaultSecretNotFoundError(
                    f"mount {mount} not found at {self.address}, or the token can reach no "
                    "path in it",
                    address=self.address,
                    path=path,
                ) from exc
            raise self._request_error(path, exc) from exc
        data = _data(body)
        options = data.get("options") if isinstance(data.get("options"), dict) else {}
        return MountInfo(
            path=mount,
            type=str(data.get("type", "")),
            version=str((options or {}).get("version", "") or ""),
        )

    def read_kv2(self, mount: str, path: str, key: str) -> str:
        """The value of ``key`` in the latest version of KV v2 secret ``<mount>/data/<path>``.

        Raises a :class:`~components.vault.errors.VaultError` subclass naming the address and
        path: permission denied (with the missing capability when Vault confirms it), secret
        or key missing (naming the keys present, never values), KV v1 mount, or a transport
        error.
        """
        ref = SecretRef(mount, path, key)
        try:
            body = self._hvac.secrets.kv.v2.read_secret_version(
                path=ref.path, mount_point=ref.mount, raise_on_deleted_version=True
            )
        except hvac.exceptions.VaultError as exc:
            raise self._read_error(ref, exc) from exc
        secret = _data(body).get("data")
        if not isinstance(secret, dict):
            # A KV v1 mount holding a secret at "data/<path>" answers 200 with flat data.
            mount_info = self._mount_or_none(ref.mount)
            if mount_info is not None and not mount_info.is_kv2:
                raise _kv_mismatch(mount_info, self.address, ref.api_path)
            raise VaultResponseError(
                f"Vault at {self.address}: {ref.api_path} answered without secret data",
                address=self.address,
                path=ref.api_path,
            )
        if ref.key not in secret:
            raise VaultKeyNotFoundError(
                f"secret {ref.api_path} at {self.address} has no key {ref.key!r}; "
                f"keys present: {', '.join(sorted(secret)) or '(none)'}",
                address=self.address,
                path=ref.api_path,
                key=ref.key,
                available=secret.keys(),
            )
        value = secret[ref.key]
        if not isinstance(value, str):
            raise VaultResponseError(
                f"key {ref.key!r} of {ref.api_path} at {self.address} holds a "
                f"{type(value).__name__}, expected a string",
                address=self.address,
                path=ref.api_path,
            )
        return value

    def kv2_custom_metadata(self, mount: str, path: str) -> dict[str, str]:
        """The ``custom_metadata`` of KV v2 secret ``<mount>/metadata/<path>`` (no value read).

        Raises a :class:`~components.vault.errors.VaultError` subclass naming the path when
        Vault refuses or fails the request.
        """
        ref = SecretRef(mount, path, "metadata")
        where = f"{ref.mount}/metadata/{ref.path}"
        try:
            body = self._hvac.secrets.kv.v2.read_secret_metadata(
                path=ref.path, mount_point=ref.mount
            )
        except hvac.exceptions.VaultError as exc:
            raise self._request_error(where, exc) from exc
        found = _data(body).get("custom_metadata") or {}
        if not isinstance(found, dict):
            raise VaultResponseError(
                f"Vault at {self.address}: {where} answered custom_metadata that is not a map",
                address=self.address,
                path=where,
            )
        return {str(k): str(v) for k, v in found.items()}

    def _mount_or_none(self, mount: str) -> MountInfo | None:
        try:
            return self.mount_info(mount)
        except (VaultSecretNotFoundError, VaultRequestError, VaultResponseError):
            return None

    def _read_error(self, ref: SecretRef, exc: hvac.exceptions.VaultError) -> VaultError:
        """The error to raise for an hvac error answered to a KV v2 read."""
        status = _status_of(exc)
        where = f"{ref.api_path} at {self.address}"
        if status == 403:
            try:
                held: frozenset[str] | None = self.capabilities(ref.api_path)
            except VaultError:
                held = None
            missing = None
            if held is None:
                detail = "its capabilities there could not be looked up (invalid or expired?)"
            elif "read" in held or "root" in held:
                detail = (
                    "it holds 'read', so a Sentinel or control-group policy, or a namespace "
                    "mismatch, denies it"
                )
            else:
                detail = f"it lacks the 'read' capability (holds: {_caps(held)})"
                missing = "read"
            return VaultPermissionError(
                f"permission denied reading {where} (key {ref.key!r}): {detail}",
                address=self.address,
                path=ref.api_path,
                missing_capability=missing,
                held=held,
            )
        if status == 401:
            return VaultAuthError(
                f"Vault rejected the token reading {where}", address=self.address, path=ref.api_path
            )
        if status == 404:
            metadata = _data(exc.json).get("metadata")
            if isinstance(metadata, dict) and (
                metadata.get("deletion_time") or metadata.get("destroyed")
            ):
                return VaultSecretNotFoundError(
                    f"the latest version of {where} is deleted or destroyed",
                    address=self.address,
                    path=ref.api_path,
                )
            # KV v1 answers 404 on data/ paths too: ask the mount before blaming the path.
            mount_info = self._mount_or_none(ref.mount)
            if mount_info is not None and not mount_info.is_kv2:
                return _kv_mismatch(mount_info, self.address, ref.api_path)
            hint = (
                f"mount {ref.mount} is KV v2; check the path"
                if mount_info is not None
                else f"mount {ref.mount} is not visible to the token: it may not exist"
            )
            return VaultSecretNotFoundError(
                f"no secret at {where} ({hint})", address=self.address, path=ref.api_path
            )
        return self._request_error(ref.api_path, exc)

    def _request_error(self, path: str, exc: hvac.exceptions.VaultError) -> VaultRequestError:
        status = _status_of(exc)
        return VaultRequestError(
            f"Vault at {self.address} refused the request on {path} (HTTP {status})",
            address=self.address,
            path=path,
            status=status,
        )


# --- login ---------------------------------------------------------------------------------------


def _env(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _github_id_token(
    settings: VaultSettings, env: Mapping[str, str], session: requests.Session
) -> str:
    """Request a GitHub Actions OIDC id-token for ``settings.jwt_audience``.

    The runner exposes a URL and a bearer token for this when the workflow has
    ``permissions: id-token: write``; the id-token lives minutes, so CI holds no Vault secret.
    ``session`` is the Vault client's, so the request is retried like any other.
    """
    url, bearer = _env(env, ENV_GITHUB_URL), _env(env, ENV_GITHUB_TOKEN)
    problem = _url_problem(url, ENV_GITHUB_URL)
    if problem:
        raise VaultAuthError(problem, address=settings.address)
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), ("audience", settings.jwt_audience)])
    where = f"{parts.scheme}://{parts.netloc}{parts.path}"
    failure = ""
    try:
        response = session.get(
            urlunsplit(parts._replace(query=query)),
            headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"},
            timeout=settings.timeout,
            verify=True,  # GitHub's service, not Vault: the system trust store, not ca_bundle
        )
    except requests.exceptions.RequestException as exc:
        reason, exhausted = _connection_failure(exc)
        failure = f"{reason} after {settings.retries + 1 if exhausted else 1} attempt(s)"
    # Outside the except block: the requests exception holds the bearer token's header.
    if failure:
        raise VaultAuthError(
            f"could not get a GitHub Actions id-token from {where} ({ENV_GITHUB_URL}): {failure}",
            address=settings.address,
        )
    try:
        value = response.json().get("value") if response.status_code == 200 else None
    except (ValueError, AttributeError):
        value = None
    if not isinstance(value, str) or not value:
        raise VaultAuthError(
            f"the GitHub Actions id-token request to {where} answered HTTP "
            f"{response.status_code} without a token; check {ENV_GITHUB_TOKEN} and the "
            "workflow's `permissions: id-token: write`",
            address=settings.address,
        )
    return value


def _jwt(settings: VaultSettings, env: Mapping[str, str], session: requests.Session) -> str:
    raw = _env(env, ENV_JWT)
    if raw:
        return raw
    url, bearer = _env(env, ENV_GITHUB_URL), _env(env, ENV_GITHUB_TOKEN)
    if url and bearer:
        return _github_id_token(settings, env, session)
    if url or bearer:
        missing = ENV_GITHUB_TOKEN if url else ENV_GITHUB_URL
        raise VaultAuthError(
            f"auth method 'jwt': {missing} is not set (the other GitHub Actions id-token "
            "variable is); give the workflow `permissions: id-token: write`",
            address=settings.address,
        )
    raise VaultAuthError(
        f"auth method 'jwt' needs {ENV_JWT}, or {ENV_GITHUB_URL} and {ENV_GITHUB_TOKEN} "
        "(GitHub Actions with `permissions: id-token: write`); none is set",
        address=settings.address,
    )


def _kubernetes_jwt(settings: VaultSettings) -> str:
    token_file = Path(settings.kubernetes_token_path)
    try:
        jwt = token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise VaultAuthError(
            f"auth method 'kubernetes' needs the service-account token file {token_file} "
            f"(kubernetes_token_path), which cannot be read: {exc.strerror or exc}",
            address=settings.address,
        ) from None
    if not jwt:
        raise VaultAuthError(
            f"auth method 'kubernetes': the service-account token file {token_file} is empty",
            address=settings.address,
        )
    return jwt


def _require(settings: VaultSettings, env: Mapping[str, str], *names: str) -> list[str]:
    values = [_env(env, n) for n in names]
    missing = [n for n, v in zip(names, values, strict=True) if not v]
    if missing:
        raise VaultAuthError(
            f"auth method {settings.auth_method!r} needs {' and '.join(missing)} in the "
            "environment; not set",
            address=settings.address,
        )
    return values


def _login(
    client: hvac.Client,
    settings: VaultSettings,
    env: Mapping[str, str],
    session: requests.Session,
) -> None:
    """Authenticate ``client`` as ``settings`` say, with hvac's login for the method."""
    method, mount, role = settings.auth_method, settings.auth_mount, settings.role
    login: Callable[[], Any]
    # Credentials first, so that a missing one is reported before any request is sent.
    if method == "token":
        client.token = _require(settings, env, ENV_TOKEN)[0]
        return
    if method == "jwt":
        credentials = [_jwt(settings, env, session)]
        login = partial(client.auth.jwt.jwt_login, role=role, jwt=credentials[0], path=mount)
    elif method == "kubernetes":
        credentials = [_kubernetes_jwt(settings)]
        login = partial(
            client.auth.kubernetes.login, role=role, jwt=credentials[0], mount_point=mount
        )
    else:
        credentials = _require(settings, env, ENV_ROLE_ID, ENV_SECRET_ID)
        login = partial(
            client.auth.approle.login,
            role_id=credentials[0],
            secret_id=credentials[1],
            mount_point=mount,
        )
    where = f"auth/{mount}/login"
    try:
        login()
    except hvac.exceptions.VaultError as exc:
        errors = exc.errors if isinstance(exc.errors, list) else []
        said = "; ".join(str(e) for e in errors)[:300]
        for credential in credentials:
            # Vault does not echo credentials, but a proxy or plugin might: never show one.
            said = said.replace(credential, "<redacted>")
        refused = (
            f"refused the {method} login at {where}{f' for role {role!r}' if role else ''} "
            f"(HTTP {_status_of(exc)}){f': {said}' if said else ''}"
        )
    except (KeyError, TypeError):
        # hvac reads auth.client_token from the answer; it was not there.
        refused = f"the {method} login at {where} answered without a client token"
    else:
        log.info("Vault: logged in to %s with %s at %s", settings.address, method, mount)
        return
    raise VaultAuthError(
        f"Vault at {settings.address} {refused}", address=settings.address, path=where
    )


def connect(
    settings: VaultSettings,
    env: Mapping[str, str] = os.environ,
    sleep: Callable[[float], None] = time.sleep,
) -> VaultClient:
    """Build an hvac client from ``settings``, log in with credentials from ``env``.

    Every request carries the namespace header (when set), verifies TLS against
    ``ca_bundle`` (or the system trust store), has the ``(connect, read)`` timeout and is
    retried as the settings say, pausing with ``sleep``.
    """
    if settings.ca_bundle and not Path(settings.ca_bundle).is_file():
        raise VaultConfigError(
            f"ca_bundle {settings.ca_bundle} is not a readable file", address=settings.address
        )
    session = _session(settings, sleep)
    client = hvac.Client(
        url=settings.address,
        # An explicit empty token: with None, hvac would read VAULT_TOKEN and ~/.vault-token
        # behind the back of `env` and of the configured method.
        token="",
        timeout=settings.timeout,
        namespace=settings.namespace or None,
        session=session,
        adapter=_Adapter,
        retries=settings.retries,
    )
    vault = VaultClient(client, settings)
    try:
        _login(client, settings, env, session)
    except BaseException:
        vault.close()
        raise
    return vault
