"""Fixed facts the settings are checked against: what AWS, GCP and the platform accept."""

from __future__ import annotations

import re
from collections.abc import Mapping

# Instance families a node group may use. Burstable families (t*) are cheap enough for dev and
# staging but their CPU credits make production latency unpredictable, so prod refuses them.
GENERAL_FAMILIES = frozenset(
    {"m6i", "m6a", "m6g", "m7i", "m7a", "m7g", "c6i", "c6a", "c6g", "c7i", "c7a", "c7g"}
    | {"r6i", "r6a", "r6g", "r7i", "r7a", "r7g"}
)
BURSTABLE_FAMILIES = frozenset({"t3", "t3a", "t4g"})
ALLOWED_INSTANCE_FAMILIES = GENERAL_FAMILIES | BURSTABLE_FAMILIES

ALERTMANAGER_CONSUMERS = (
    "alertmanager-slack-webhook-url",
    "alertmanager-smtp-password",
    "alertmanager-sms-gateway-token",
)
"""Receiver credentials of Alertmanager (seed 4.5.2), each read from Vault, mounted as a file."""

OPS_ROOM_CONSUMER = "alertmanager-ops-room-webhook-token"
"""Bearer token of the operations-room dashboard, needed only with alertOpsRoomWebhookUrl."""

THIRD_PARTY_CONSUMERS = ALERTMANAGER_CONSUMERS
"""Credentials issued by other companies (Slack, SMTP, SMS): kept in Vault KV with an expiry
date in the secret's custom metadata, alerted on before it (components/vault/expiry.py)."""

ORIGIN_VERIFY_CONSUMER = "cdn-origin-verify"
"""Secret header CloudFront sends to the load balancer, which forwards nothing without it."""

CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
"""The retention periods CloudWatch Logs accepts (PutRetentionPolicy)."""

CACHE_VERSIONS: Mapping[str, tuple[str, ...]] = {
    "valkey": ("7.2", "8.0", "8.1"),
    "redis": ("7.0", "7.1"),
}
"""ElastiCache engine versions the platform runs, per engine."""

GCS_DUAL_REGIONS = frozenset({"ASIA1", "EUR4", "EUR5", "EUR7", "EUR8", "NAM4"})
"""GCS predefined dual-regions (also Cloud KMS locations, for the bucket's key)."""

RTO_LIMIT_MINUTES = 120
"""Seed 4.7: the platform is restored within two hours."""
RPO_LIMIT_MINUTES = 60
"""Seed 4.7: at most one hour of data may be lost."""


def instance_architecture(instance_type: str) -> str:
    """``arm64`` for Graviton families (a 'g' after the generation digit), else ``x86_64``."""
    family = instance_type.split(".", 1)[0]
    return "arm64" if re.fullmatch(r"[a-z]+\d+g[a-z]*", family) else "x86_64"
