"""The data classification of the platform (seed 4.2): one table, read by everything enforcing it.

Each environment holds one class of data: synthetic (dev), anonymised (staging), real (prod).
Every data store carries it as the tag (AWS, Azure) or label (GCP) :data:`TAG`; the log
pipeline's redaction and the logs' retention follow it. Like :mod:`.floors`, this module is plain
data with no imports from the rest of the project: the pack loads it on its own from
``policies/``, the settings and components import it as
``policies.ttbt2_policies.classification``.
"""

from __future__ import annotations

from collections.abc import Mapping

TAG = "data-classification"
"""Tag key on AWS and Azure, label key on GCP (lowercase with a hyphen: valid on all three)."""

CLASSIFICATIONS = ("synthetic", "anonymised", "real")
"""The allowed values, from the least to the most sensitive."""

STACK_CLASSIFICATIONS: Mapping[str, str] = {
    "dev": "synthetic",
    "staging": "anonymised",
    "prod": "real",
    "prod-dr": "real",
}
"""What each listed stack (environment) holds. Unlisted stacks (personal, drill) are free to
carry any allowed value; a drill restores production's data and is tagged ``real``."""

LOG_RETENTION_CEILING_DAYS: Mapping[str, int] = {
    "synthetic": 14,
    "anonymised": 30,
    "real": 90,
}
"""The longest container logs of each class are kept in Elasticsearch (ILM delete phase).
Logs of real data are personal data even when redacted (user ids, paths, timings): they are kept
as long as incident analysis needs, no longer."""

REDACTING_CLASSIFICATIONS = frozenset({"real"})
"""Classes whose logs must be redacted before they are stored."""

REDACTION_PIPELINE = "ttbt2-logs-redact"
"""The Elasticsearch ingest pipeline that redacts logs: the final pipeline of the log indices."""

PIPELINE_CONFIG_KEY = f"ingest-pipeline-{REDACTION_PIPELINE}.json"
"""Key of the pipeline's body in the logging stack's setup ConfigMap, the key the pack reads:
``ingest-pipeline-<pipeline id>.json``."""
