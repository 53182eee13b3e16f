"""Errors of the Vault client layer.

Every error names the Vault address and the path concerned and never a secret value: messages,
attributes and ``repr()`` carry addresses, paths, key names, capability names and HTTP statuses
only. Callers catch :class:`VaultError` for "anything went wrong with Vault" or one subclass to
react to one cause (a sealed Vault is an operator's job, a missing capability a policy change).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class VaultError(Exception):
    """Base of every error raised by :mod:`components.vault`.

    :attr:`address` is the Vault address (or the configured one when the error precedes any
    request) and :attr:`path` the Vault path concerned, ``""`` when none is.
    """

    def __init__(self, message: str, *, address: str = "", path: str = "") -> None:
        super().__init__(message)
        self.address = address
        self.path = path

    def __repr__(self) -> str:
        # The default repr would be the same text; spelled out so that it stays value-free even
        # if a subclass later grows attributes.
        return f"{type(self).__name__}({str(self)!r})"


class VaultConfigError(VaultError):
    """The :class:`~components.vault.client.VaultSettings` or a secret reference is invalid."""


class VaultAuthError(VaultError):
    """No credential in the environment, or Vault refused the login or the token."""


class VaultUnreachableError(VaultError):
    """No answer from Vault: connection refused, DNS, TLS or a timeout, after the retries.

    :attr:`reason` is a short cause (``"connection refused"``, ``"timed out ..."``) and
    :attr:`attempts` how many requests were sent.
    """

    def __init__(
        self, message: str, *, address: str, path: str, reason: str, attempts: int
    ) -> None:
        super().__init__(message, address=address, path=path)
        self.reason = reason
        self.attempts = attempts


class VaultSealedError(VaultError):
    """Vault is sealed: no request can succeed until an operator unseals it, so none is retried."""


class VaultServerError(VaultError):
    """Vault answered HTTP 5xx to every attempt."""

    def __init__(
        self, message: str, *, address: str, path: str, status: int, attempts: int
    ) -> None:
        super().__init__(message, address=address, path=path)
        self.status = status
        self.attempts = attempts


class VaultRequestError(VaultError):
    """Vault refused a request with a 4xx this layer has no more specific error for."""

    def __init__(self, message: str, *, address: str, path: str, status: int) -> None:
        super().__init__(message, address=address, path=path)
        self.status = status


class VaultPermissionError(VaultError):
    """HTTP 403: the token may not do this on this path.

    :attr:`missing_capability` is the capability the operation needs (``"read"``) when Vault
    confirmed the token lacks it, else ``None``; :attr:`held` the capabilities the token has on
    the path when they could be looked up.
    """

    def __init__(
        self,
        message: str,
        *,
        address: str,
        path: str,
        missing_capability: str | None = None,
        held: frozenset[str] | None = None,
    ) -> None:
        super().__init__(message, address=address, path=path)
        self.missing_capability = missing_capability
        self.held = held


class VaultSecretNotFoundError(VaultError):
    """HTTP 404: no secret (or no live version of it) at the path."""


class VaultKeyNotFoundError(VaultError):
    """The secret exists but has no such key; :attr:`available` names the keys it has."""

    def __init__(
        self, message: str, *, address: str, path: str, key: str, available: Iterable[str]
    ) -> None:
        super().__init__(message, address=address, path=path)
        self.key = key
        # Key names only: the secret's values never reach an error.
        self.available = tuple(sorted(available))


class VaultKVVersionError(VaultError):
    """The mount is not a KV version 2 secrets engine (KV v1, or another engine)."""

    def __init__(self, message: str, *, address: str, path: str, mount: str, found: str) -> None:
        super().__init__(message, address=address, path=path)
        self.mount = mount
        self.found = found


class VaultResponseError(VaultError):
    """Vault answered 200 with a body this layer cannot use (wrong shape, non-string value)."""


@dataclass(frozen=True)
class PreflightProblem:
    """One thing preflight found wrong: the path concerned and what is missing there."""

    path: str
    detail: str

    def render(self) -> str:
        """Render as one line: ``path: detail``."""
        return f"{self.path}: {self.detail}" if self.path else self.detail


class VaultPreflightError(VaultError):
    """Preflight found problems; :attr:`problems` lists every one, so all are fixed in one go.

    :attr:`checks` are the checks that passed before it stopped, :attr:`warnings` the
    least-privilege warnings gathered so far.
    """

    def __init__(
        self,
        *,
        address: str,
        problems: Iterable[PreflightProblem],
        checks: Iterable[str] = (),
        warnings: Iterable[str] = (),
    ) -> None:
        self.problems = tuple(problems)
        self.checks = tuple(checks)
        self.warnings = tuple(warnings)
        lines = [f"Vault preflight against {address} found {len(self.problems)} problem(s):"]
        lines += [f"  - {p.render()}" for p in self.problems]
        super().__init__("\n".join(lines), address=address)
