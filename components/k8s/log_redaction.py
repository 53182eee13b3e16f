"""The ingest pipeline that redacts personal data and secrets from logs before they are stored.

Elasticsearch runs it as the **final pipeline** of the log indices
(``index.final_pipeline``, set through Filebeat's index template): a final pipeline runs after
any default or per-request pipeline and cannot be skipped by a client, so no log line reaches an
index unredacted.

Why ``gsub`` processors and not the ``redact`` processor: ``redact`` needs a Platinum or
Enterprise licence and ECK runs Elasticsearch on the free Basic licence, where ``redact`` either
fails every document or, with ``skip_if_unlicensed``, silently redacts nothing. ``gsub`` is in
every licence. Its patterns are Java regular expressions; the ones below stay within the syntax
Java and Python read alike (no possessive quantifiers, flags only at the start), so the tests and
the policy pack check them with Python's ``re`` and the tests also with Java's own engine.

Order matters: tokens are replaced before e-mail addresses and IPs, so a JWT or an API key whose
text happens to contain an ``@`` or dotted numbers is replaced whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policies.ttbt2_policies.classification import REDACTION_PIPELINE

REDACTED_FIELD = "message"
"""The field every redaction applies to: the log line Filebeat's container parser extracts."""

FAILED_REDACTION = "<REDACTION-FAILED>"
"""What the whole ``message`` becomes when a processor fails: the line is kept, its text not."""


@dataclass(frozen=True)
class Redaction:
    """One gsub: each match of ``pattern`` (Java regex) becomes ``replacement`` ($1 = group 1)."""

    tag: str
    pattern: str
    replacement: str
    ips: bool = False
    """Part of the client-IP redaction, which only ``redact_ips`` turns on."""


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_HEX = r"[0-9a-f]{1,4}"

REDACTIONS: tuple[Redaction, ...] = (
    # header.payload.signature, each base64url; the header of every JWT starts with '{"' = eyJ.
    Redaction(
        "redact-jwt",
        r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
        "<JWT>",
    ),
    # Authorization headers: the scheme (Bearer, Basic, token...) stays, the credential goes.
    Redaction(
        "redact-authorization",
        r"(?i)\b((?:proxy-)?authorization)([\"']?\s*[:=]\s*[\"']?)(?:([a-z]+)(\s+))?"
        r"[^\s\"',;]+",
        "$1$2$3$4<REDACTED>",
    ),
    # A bearer token outside a header ("retrying with Bearer abc..."); English rarely says it.
    Redaction(
        "redact-bearer",
        r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}",
        "$1$2<TOKEN>",
    ),
    # key=value and "key": "value" pairs whose key names a secret.
    Redaction(
        "redact-secret-values",
        r"(?i)\b([a-z0-9_-]*(?:api[_-]?key|token|secret|password|passwd|pwd))"
        r"([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+",
        "$1$2<REDACTED>",
    ),
    Redaction(
        "redact-email",
        r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}",
        "<EMAIL>",
    ),
    Redaction(
        "redact-ipv4",
        rf"(?<![0-9.]){_OCTET}(?:\.{_OCTET}){{3}}(?![0-9]|\.[0-9])",
        "<IP>",
        ips=True,
    ),
    # Full (eight groups) and compressed (with ::) forms; a clock time (10:15:30) or a MAC
    # address has neither, a C++/Rust path (std::vec) is no hex.
    Redaction(
        "redact-ipv6",
        rf"(?i)(?<![0-9a-z:])(?:(?:{_HEX}:){{7}}{_HEX}|(?:(?:{_HEX}:){{1,7}}|:)"
        rf":(?:{_HEX}(?::{_HEX}){{0,6}})?)(?![0-9a-z:])",
        "<IP>",
        ips=True,
    ),
)
"""Every redaction, in the order the pipeline applies them."""


def redactions(*, redact_ips: bool) -> tuple[Redaction, ...]:
    """The redactions a pipeline applies: tokens and e-mails always, client IPs when asked."""
    return tuple(r for r in REDACTIONS if redact_ips or not r.ips)


def redaction_pipeline(*, redact_ips: bool) -> dict[str, Any]:
    """The body of ingest pipeline :data:`REDACTION_PIPELINE` (``PUT _ingest/pipeline/<id>``).

    A processor failure (``message`` not a string, say) replaces the whole message rather than
    store it unredacted or lose the event.
    """
    return {
        "description": "Redacts tokens, secrets, e-mail addresses"
        + (" and client IPs" if redact_ips else "")
        + " in log messages before they are stored (the log indices' final pipeline).",
        "processors": [
            {
                "gsub": {
                    "tag": r.tag,
                    "field": REDACTED_FIELD,
                    "pattern": r.pattern,
                    "replacement": r.replacement,
                    "ignore_missing": True,
                }
            }
            for r in redactions(redact_ips=redact_ips)
        ],
        "on_failure": [
            {"set": {"field": REDACTED_FIELD, "value": FAILED_REDACTION}},
            {"set": {"field": "event.kind", "value": "pipeline_error"}},
        ],
        "_meta": {"managed_by": "pulumi", "pipeline": REDACTION_PIPELINE},
    }


__all__ = [
    "FAILED_REDACTION",
    "REDACTED_FIELD",
    "REDACTIONS",
    "REDACTION_PIPELINE",
    "Redaction",
    "redaction_pipeline",
    "redactions",
]
