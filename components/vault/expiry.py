r"""Expiry dates of third-party credentials, kept in Vault next to them (seed 4.9.1).

Slack webhooks, the SMTP password and the SMS gateway token are issued by other companies and
cannot be rotated by this stack: they stay in Vault KV, each with the date it stops working in
the secret's KV v2 ``custom_metadata``, under ``expires_at_<key>`` (or ``expires_at`` for every
key of the secret). Preflight reads those dates with the deploy identity and refuses a deploy
whose third-party credential has none or an unreadable one; the stack then publishes them as
the series ``ttbt2_credential_expiry_timestamp_seconds{consumer=...}``
(:mod:`components.monitoring.credential_expiry`) that alert ``CredentialExpiringSoon`` reads.

Setting a date (an operator, when the provider issues the credential)::

    vault kv metadata patch -mount=kv -custom-metadata=expires_at_smtp_password=2027-03-31 \
        ttbt2/prod/alertmanager
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from components.vault.refs import SecretRef

PREFIX = "expires_at"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ACCEPTED = "a date (2027-03-31) or an RFC 3339 time (2027-03-31T12:00:00Z)"


class ExpiryError(ValueError):
    """A third-party credential's expiry is missing or unreadable; the message says which."""


def metadata_path(ref: SecretRef) -> str:
    """``<mount>/metadata/<path>``: where KV v2 keeps the secret's custom metadata."""
    return f"{ref.mount}/metadata/{ref.path}"


def expiry_keys(ref: SecretRef) -> tuple[str, str]:
    """The custom-metadata keys read for ``ref``, the key-specific one first."""
    return (f"{PREFIX}_{ref.key}", PREFIX)


def parse_expiry(custom_metadata: Mapping[str, object] | None, ref: SecretRef) -> int:
    """The expiry of ``ref``'s credential, in seconds since the epoch (UTC)."""
    found = custom_metadata or {}
    specific, shared = expiry_keys(ref)
    name = specific if specific in found else shared
    if name not in found:
        raise ExpiryError(
            f"key {ref.key!r} ({ref.consumer or 'no consumer'}) has no expiry: set "
            f"custom_metadata {specific} (or {shared}) to {_ACCEPTED}"
        )
    raw = found[name]
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        if _DATE.match(text):
            moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError("no time zone")
    except ValueError:
        raise ExpiryError(
            f"key {ref.key!r} ({ref.consumer or 'no consumer'}): custom_metadata {name} is "
            f"{raw!r}, expected {_ACCEPTED}"
        ) from None
    return int(moment.timestamp())
