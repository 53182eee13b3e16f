"""Where the program's secrets come from: Vault at deploy time, placeholders offline.

The program asks one :class:`SecretSource` for each value a consumer needs; which source it
gets is decided by whoever starts it, not detected at run time. ``__main__.py`` passes
:func:`open_source` (Vault, through the hvac layer, after a preflight of every declared path)
when Pulumi runs it; the offline engine (:mod:`offline.engine`) passes :func:`open_offline`,
whose :class:`OfflineSource` hands out placeholders that the offline report lists by name.
Either way each value is a Pulumi secret from the moment it exists.

No source hands out a Vault token: the Pulumi Vault provider reads ``VAULT_TOKEN`` from the
environment of each run (``scripts/vault_login.py`` exports a fresh one in CI), so no
short-lived credential is stored in the stack's state.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import pulumi

from components.vault.client import VaultClient, VaultSettings, connect
from components.vault.errors import VaultError
from components.vault.preflight import PreflightReport, preflight
from components.vault.refs import SecretRef
from config import Settings
from config.constants import THIRD_PARTY_CONSUMERS

PLACEHOLDER_PREFIX = "offline-placeholder"
"""Prefix of every value that stands in for a secret offline (also used for secure: config)."""
OFFLINE_EXPIRY = 4_102_444_800
"""2100-01-01T00:00:00Z: the expiry offline sources give every third-party credential."""


class VaultRunError(pulumi.RunError):
    """Vault refused or failed a deploy-time read: ``pulumi up`` prints the message alone."""


def declared_refs(cfg: Settings) -> list[SecretRef]:
    """The stack's ``vaultSecrets`` declarations as references, mounts filled in."""
    return [
        SecretRef(
            mount=ref.mount or cfg.vault.kv_mount, path=ref.path, key=ref.key, consumer=ref.consumer
        )
        for ref in cfg.vault.secrets
    ]


def vault_settings(cfg: Settings) -> VaultSettings:
    """The client settings the stack's ``vault*`` keys describe."""
    return VaultSettings(
        address=cfg.vault.address,
        namespace=cfg.vault.namespace,
        auth_method=cfg.vault.auth_method,
        auth_mount=cfg.vault.auth_mount,
        role=cfg.vault.auth_role,
        ca_bundle=cfg.vault.ca_bundle,
    )


class SecretSource:
    """Values by consumer, each a Pulumi secret; subclasses say where they come from."""

    def __init__(self, refs: list[SecretRef]) -> None:
        self.refs = refs

    def for_consumer(self, consumer: str) -> pulumi.Output[str] | None:
        """The value declared for ``consumer``, or None when the stack declares none."""
        for ref in self.refs:
            if ref.consumer == consumer:
                return pulumi.Output.secret(self._read(ref))
        return None

    def expiry(self, consumer: str) -> int | None:
        """When ``consumer``'s third-party credential expires (epoch seconds); None: unknown.

        Known for the declared consumers of
        :data:`~config.constants.THIRD_PARTY_CONSUMERS`, whose dates preflight reads.
        """
        del consumer  # a source without dates knows none
        return None

    def _read(self, ref: SecretRef) -> str:
        raise NotImplementedError


SecretSourceFactory = Callable[[Settings], SecretSource]
"""What the program is started with: opens the source for the stack's settings."""


def checked(client: VaultClient, refs: list[SecretRef]) -> PreflightReport:
    """Preflight ``refs`` with ``client``; any problem becomes one :class:`VaultRunError`.

    The third-party credentials' expiry dates are part of it (a deploy without them fails).
    """
    try:
        return preflight(client, refs, expiring=THIRD_PARTY_CONSUMERS)
    except VaultError as exc:
        raise VaultRunError(str(exc)) from None


class VaultSource(SecretSource):
    """Reads Vault with the deploy identity; every declared path is checked before any read."""

    def __init__(self, client: VaultClient, refs: list[SecretRef]) -> None:
        super().__init__(refs)
        self._client = client
        report = checked(client, refs)
        self._expiries = dict(report.expiries)
        for warning in report.warnings:
            pulumi.log.warn(warning)

    def expiry(self, consumer: str) -> int | None:
        """The date preflight read from the secret's custom metadata."""
        return self._expiries.get(consumer)

    def _read(self, ref: SecretRef) -> str:
        try:
            return self._client.read_kv2(ref.mount, ref.path, ref.key)
        except VaultError as exc:
            raise VaultRunError(str(exc)) from None


class OfflineSource(SecretSource):
    """Placeholders for the mock engine, named after the reference they stand for."""

    def _read(self, ref: SecretRef) -> str:
        return f"{PLACEHOLDER_PREFIX}:vault:{ref.mount}/{ref.path}#{ref.key}"

    def expiry(self, consumer: str) -> int | None:
        """:data:`OFFLINE_EXPIRY` for a declared third-party consumer: no Vault to ask."""
        declared = any(ref.consumer == consumer for ref in self.refs)
        return OFFLINE_EXPIRY if declared and consumer in THIRD_PARTY_CONSUMERS else None


def login(cfg: Settings, env: Mapping[str, str] | None = None) -> VaultClient:
    """Log in to the stack's Vault with its auth method; errors become :class:`VaultRunError`."""
    try:
        return connect(vault_settings(cfg), env=os.environ if env is None else env)
    except VaultError as exc:
        raise VaultRunError(str(exc)) from None


def open_source(cfg: Settings, env: Mapping[str, str] | None = None) -> SecretSource:
    """The source of a real run: log in to Vault, preflight every declared path, then read."""
    return VaultSource(login(cfg, env), declared_refs(cfg))


def open_offline(cfg: Settings) -> SecretSource:
    """The source of the offline engine: named placeholders, no Vault contacted."""
    return OfflineSource(declared_refs(cfg))
