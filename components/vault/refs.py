"""References to secrets in Vault: where a value lives, never the value itself."""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.vault.errors import VaultConfigError

# Vault paths are slash-separated segments. "." and ".." segments are refused so that a ref can
# never climb out of the mount it names, and a policy written for <mount>/data/<path> matches.
_SEGMENT = re.compile(r"^[A-Za-z0-9_@+=,.:-]+$")


def _clean(value: str, what: str) -> str:
    cleaned = value.strip().strip("/")
    segments = cleaned.split("/")
    if not cleaned or any(s in {".", ".."} or not _SEGMENT.match(s) for s in segments):
        raise VaultConfigError(
            f"invalid Vault {what} {value!r}: expected slash-separated segments of letters, "
            "digits and _@+=,.:- (no empty, '.' or '..' segment)"
        )
    return cleaned


@dataclass(frozen=True)
class SecretRef:
    """One key of one KV v2 secret, and who consumes it.

    ``mount`` is the KV v2 mount (``secret``), ``path`` the secret's path inside it
    (``ttbt2/prod/db``), ``key`` the key in the secret (``password``) and ``consumer`` a free
    label (``rds-master``) that preflight repeats so a user knows what a missing grant breaks.
    Leading and trailing slashes are dropped.
    """

    mount: str
    path: str
    key: str
    consumer: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mount", _clean(self.mount, "mount"))
        object.__setattr__(self, "path", _clean(self.path, "path"))
        if not self.key or self.key != self.key.strip():
            raise VaultConfigError(
                f"invalid key {self.key!r} for {self.mount}/{self.path}: "
                "expected a non-empty key name without surrounding spaces"
            )

    @property
    def api_path(self) -> str:
        """``<mount>/data/<path>``: what a policy grants and ``sys/capabilities-self`` checks."""
        return f"{self.mount}/data/{self.path}"

    def describe(self) -> str:
        """Short human form, ``<mount>/<path>#<key>`` plus the consumer when there is one."""
        text = f"{self.mount}/{self.path}#{self.key}"
        return f"{text} (for {self.consumer})" if self.consumer else text
