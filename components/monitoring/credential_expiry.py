"""The expiry dates of the third-party credentials as a series Prometheus alerts on.

The stack writes the credentials it reads from Vault (Slack, SMTP, SMS: Alertmanager's
receivers) into the cluster at deploy time, so the credential in use is the one of the last
deployment, and so is its expiry date, which preflight read from the secret's metadata
(:mod:`components.vault.expiry`). The stack publishes those dates as recording rules of constant
value, one per consumer:

    ttbt2_credential_expiry_timestamp_seconds{consumer="alertmanager-smtp-password"}

No job, no extra Vault login: a new credential (with its new date) reaches the cluster and this
series in the same deployment. Alert ``CredentialExpiringSoon``
(:mod:`components.monitoring.alerts`) fires :data:`WARNING_DAYS` days before a date.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

METRIC: Final = "ttbt2_credential_expiry_timestamp_seconds"
GROUP: Final = "ttbt2.credentials"
WARNING_DAYS: Final = 14
"""Days before an expiry the alert fires: time to get a new credential from the provider."""


def expiry_rule_group(expiries: Mapping[str, int]) -> dict[str, Any] | None:
    """One recording rule per consumer, valued its expiry (epoch seconds); None without any."""
    if not expiries:
        return None
    for consumer, when in expiries.items():
        if isinstance(when, bool) or not isinstance(when, int) or when <= 0:
            raise ValueError(f"expiry of {consumer} must be positive epoch seconds, got {when!r}")
    return {
        "name": GROUP,
        # Constant values: evaluating them more often than every 5 minutes only costs.
        "interval": "5m",
        "rules": [
            {"record": METRIC, "expr": f"vector({when})", "labels": {"consumer": consumer}}
            for consumer, when in sorted(expiries.items())
        ],
    }
