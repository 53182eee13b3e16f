"""Where the program's secrets come from: Vault at deploy time, placeholders offline.

The program asks one :class:`SecretSource` for each value a consumer needs. A real run reads
Vault through the hvac layer after a preflight of every declared path; on the SDK's mock engine
(the offline preview and the tests) no Vault exists, so :class:`OfflineSource` hands out
placeholders that the offline report lists by name. Either way each value is a Pulumi secret
from the moment it exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pulumi
from pulumi.runtime.mocks import MockMonitor

from components.vault.client import VaultClient, VaultSettings, connect
from components.vault.errors import VaultError
from components.vault.preflight import preflight
from components.vault.refs import SecretRef
from config import Settings

PLACEHOLDER_PREFIX = "offline-placeholder"
"""Prefix of every value that stands in for a secret offline (also used for secure: config)."""


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

    def vault_token(self) -> pulumi.Output[str]:
        """A token for the Pulumi Vault provider of this run."""
        raise NotImplementedError

    def _read(self, ref: SecretRef) -> str:
        raise NotImplementedError


class VaultSource(SecretSource):
    """Reads Vault with the deploy identity; every declared path is checked before any read."""

    def __init__(self, client: VaultClient, refs: list[SecretRef]) -> None:
        super().__init__(refs)
        self._client = client
        try:
            report = preflight(client, refs)
        except VaultError as exc:
            raise VaultRunError(str(exc)) from None
        for warning in report.warnings:
            pulumi.log.warn(warning)

    def vault_token(self) -> pulumi.Output[str]:
        """The session token of the deploy identity, as a secret."""
        return pulumi.Output.secret(self._client.session_token())

    def _read(self, ref: SecretRef) -> str:
        try:
            return self._client.read_kv2(ref.mount, ref.path, ref.key)
        except VaultError as exc:
            raise VaultRunError(str(exc)) from None


class OfflineSource(SecretSource):
    """Placeholders for the mock engine, named after the reference they stand for."""

    def vault_token(self) -> pulumi.Output[str]:
        """A placeholder token: the mock engine contacts no Vault."""
        return pulumi.Output.secret(f"{PLACEHOLDER_PREFIX}:vault-token")

    def _read(self, ref: SecretRef) -> str:
        return f"{PLACEHOLDER_PREFIX}:vault:{ref.mount}/{ref.path}#{ref.key}"


def on_mock_engine() -> bool:
    """True when the program runs on the SDK's mock engine rather than the Pulumi engine."""
    return isinstance(pulumi.runtime.settings.get_monitor(), MockMonitor)


def open_source(cfg: Settings, env: Mapping[str, str] | None = None) -> SecretSource:
    """The source for this run: Vault for a real deployment, placeholders on the mock engine."""
    refs = declared_refs(cfg)
    if on_mock_engine():
        return OfflineSource(refs)
    settings = VaultSettings(
        address=cfg.vault.address,
        namespace=cfg.vault.namespace,
        auth_method=cfg.vault.auth_method,
        auth_mount=cfg.vault.auth_mount,
        role=cfg.vault.auth_role,
        ca_bundle=cfg.vault.ca_bundle,
    )
    try:
        client = connect(settings, env=os.environ if env is None else env)
    except VaultError as exc:
        raise VaultRunError(str(exc)) from None
    return VaultSource(client, refs)
