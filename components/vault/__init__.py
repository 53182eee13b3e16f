"""Vault client layer: read KV v2 secrets at deploy time, check access first (seed 4.7.1, 4.9.1).

Pure: it imports no Pulumi resource and registers nothing. The Pulumi program calls
:func:`connect`, then :func:`preflight` with every :class:`SecretRef` it will read, then
:meth:`VaultClient.read_kv2`, and wraps each value in ``pulumi.Output.secret`` at once.
"""

from components.vault.client import (
    AUTH_METHODS,
    DEFAULT_KUBERNETES_TOKEN_PATH,
    AuthMethod,
    MountInfo,
    SealStatus,
    TokenInfo,
    VaultClient,
    VaultSettings,
    connect,
)
from components.vault.errors import (
    PreflightProblem,
    VaultAuthError,
    VaultConfigError,
    VaultError,
    VaultKeyNotFoundError,
    VaultKVVersionError,
    VaultPermissionError,
    VaultPreflightError,
    VaultRequestError,
    VaultResponseError,
    VaultSealedError,
    VaultSecretNotFoundError,
    VaultServerError,
    VaultUnreachableError,
)
from components.vault.preflight import PreflightReport, preflight
from components.vault.refs import SecretRef

__all__ = [
    "AUTH_METHODS",
    "DEFAULT_KUBERNETES_TOKEN_PATH",
    "AuthMethod",
    "MountInfo",
    "PreflightProblem",
    "PreflightReport",
    "SealStatus",
    "SecretRef",
    "TokenInfo",
    "VaultAuthError",
    "VaultClient",
    "VaultConfigError",
    "VaultError",
    "VaultKVVersionError",
    "VaultKeyNotFoundError",
    "VaultPermissionError",
    "VaultPreflightError",
    "VaultRequestError",
    "VaultResponseError",
    "VaultSealedError",
    "VaultSecretNotFoundError",
    "VaultServerError",
    "VaultSettings",
    "VaultUnreachableError",
    "connect",
    "preflight",
]
