"""Data privacy (seed 4.2, platform rules): classified stores, redacted logs, bounded retention.

* ``ttbt2-data-classification-tag`` (resource): every data store carries the tag (AWS, Azure) or
  label (GCP) ``data-classification`` with an allowed value; in a stack the config
  ``stackClassifications`` lists, the value is that stack's.
* ``ttbt2-log-redaction`` (stack): a stack holding real data ships its container logs only
  through a pipeline that redacts. Filebeat's index template must name an ingest pipeline as the
  logs' final pipeline (``setup.template.settings`` ``index.final_pipeline``), the stack must
  carry that pipeline's body (a ConfigMap key ``ingest-pipeline-<id>.json``, which the logging
  stack's setup Job PUTs), and the body, run on sample lines (``ingest_simulation``), must mask
  an e-mail address, an ``Authorization`` header, a bearer token and a JWT.
* ``ttbt2-log-retention-classification`` (stack): the ILM policy of the logs
  (ConfigMap key ``ilm-policy.json``) deletes them no later than the ceiling of the stack's
  classification.

A stack's classification is its entry in ``stackClassifications``; for an unlisted stack, the most
sensitive value its data stores carry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ResourceValidationArgs,
    StackValidationArgs,
)

from .classification import (
    CLASSIFICATIONS,
    LOG_RETENTION_CEILING_DAYS,
    REDACTING_CLASSIFICATIONS,
    STACK_CLASSIFICATIONS,
    TAG,
)
from .common import (
    MANDATORY,
    InvalidPropError,
    is_mapping,
    mapping_prop,
    report_on,
    resource_policy,
    stack_of,
    stack_policy,
    str_prop,
    wrong_type,
)
from .ingest_simulation import PipelineError, apply_gsubs
from .tags import provider_default_tags

LABELS = "labels"
TAGS = "tags"

DATA_STORES: Mapping[str, str] = {
    "aws:s3/bucket:Bucket": TAGS,
    "aws:s3/bucketV2:BucketV2": TAGS,
    "aws:rds/instance:Instance": TAGS,
    "aws:rds/cluster:Cluster": TAGS,
    "aws:elasticache/replicationGroup:ReplicationGroup": TAGS,
    "aws:elasticache/cluster:Cluster": TAGS,
    "aws:backup/vault:Vault": TAGS,
    "aws:dynamodb/table:Table": TAGS,
    "aws:efs/fileSystem:FileSystem": TAGS,
    "gcp:storage/bucket:Bucket": LABELS,
    "gcp:bigquery/dataset:Dataset": LABELS,
    "gcp:bigquery/table:Table": LABELS,
    "azure-native:storage:StorageAccount": TAGS,
}
"""Data store type -> the property carrying its classification (``tags`` or ``labels``)."""

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
BEAT = "kubernetes:beat.k8s.elastic.co/v1beta1:Beat"
PIPELINE_KEY = re.compile(r"^ingest-pipeline-(?P<id>[A-Za-z0-9._-]+)\.json$")
ILM_KEY = "ilm-policy.json"
LOG_FIELD = "message"

CANARIES: tuple[tuple[str, str, str], ...] = (
    ("an e-mail address", "password reset sent to jane.doe@example.org", "jane.doe@example.org"),
    (
        "an Authorization header",
        "GET /v1/orders Authorization: Basic YWxpY2U6czNjcjN0LXBhc3M=",
        "YWxpY2U6czNjcjN0LXBhc3M=",
    ),
    (
        "a bearer token",
        "retrying with bearer sk_live_51HqLyjWDarjtT1zdp7dc",
        "sk_live_51HqLyjWDarjtT1zdp7dc",
    ),
    (
        "a JWT",
        "session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
        ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
    ),
)
"""(what, sample log line, the part that must not survive): what a redacting pipeline masks."""

STACK_CLASSIFICATIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": "string", "enum": list(CLASSIFICATIONS)},
    "default": dict(STACK_CLASSIFICATIONS),
    "description": "Stack name (from the URN) -> the data classification it holds.",
}


def stack_classifications(config: Any) -> Mapping[str, str]:
    """The ``stackClassifications`` config, or the default; raises ValueError when malformed."""
    value = config.get("stackClassifications") if config else None
    if value is None:
        return STACK_CLASSIFICATIONS
    if not is_mapping(value) or not all(v in CLASSIFICATIONS for v in value.values()):
        raise ValueError(
            "policy config stackClassifications must map stack names to one of "
            + ", ".join(CLASSIFICATIONS)
        )
    return dict(value)


def _classification_of(
    type_: str, props: Mapping[str, Any], provider_tags: Mapping[str, Any]
) -> Any:
    prop = DATA_STORES[type_]
    own = mapping_prop(props, prop) or {}
    merged = {**provider_tags, **own} if prop == TAGS else own
    return merged.get(TAG)


def _check_tag(args: ResourceValidationArgs) -> Iterator[str]:
    prop = DATA_STORES[args.resource_type]
    provider_tags = provider_default_tags(args) if args.resource_type.startswith("aws:") else {}
    value = _classification_of(args.resource_type, args.props, provider_tags)
    allowed = ", ".join(CLASSIFICATIONS)
    kind = "label" if prop == LABELS else "tag"
    if value is None or value == "":
        yield (
            f"data store without the {kind} {TAG!r} in {prop}: every data store names the "
            f"class of data it holds ({allowed})"
        )
        return
    if value not in CLASSIFICATIONS:
        yield f"{prop}.{TAG} must be one of {allowed}, got {value!r}"
        return
    stack = stack_of(args.urn)
    expected = stack_classifications(args.get_config()).get(stack)
    if expected is not None and value != expected:
        yield (
            f"{prop}.{TAG} is {value!r} but stack {stack!r} holds {expected} data "
            "(config stackClassifications)"
        )


classification_tag = resource_policy(
    name="ttbt2-data-classification-tag",
    description=(
        "Seed 4.2 (platform rule): every data store (S3, RDS, ElastiCache, AWS Backup vaults, "
        "GCS, BigQuery, Azure storage) carries the tag or label data-classification, one of "
        "synthetic, anonymised, real, equal to its stack's (config stackClassifications)."
    ),
    enforcement=MANDATORY,
    applies_to=DATA_STORES,
    check=_check_tag,
    config_schema=PolicyConfigSchema(
        properties={"stackClassifications": STACK_CLASSIFICATIONS_SCHEMA}
    ),
)


# --- the stack's classification ----------------------------------------------------------------


def _stack_classification(args: StackValidationArgs) -> str | None:
    """The configured classification of the stack, else the most sensitive its stores carry."""
    resources = list(args.resources)
    if not resources:
        return None
    configured = stack_classifications(args.get_config()).get(stack_of(resources[0].urn))
    if configured is not None:
        return configured
    carried: set[str] = set()
    for res in resources:
        if res.resource_type not in DATA_STORES:
            continue
        try:
            value = _classification_of(res.resource_type, res.props, {})
        except InvalidPropError:
            continue  # reported by ttbt2-data-classification-tag
        if value in CLASSIFICATIONS:
            carried.add(value)
    ranked = [c for c in CLASSIFICATIONS if c in carried]
    return ranked[-1] if ranked else None


def _config_map_data(res: PolicyResource) -> Mapping[str, Any]:
    data = mapping_prop(res.props, "data")
    return data or {}


def _parse_body(text: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(text, str):
        raise wrong_type(where, "a JSON string", text)
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidPropError(f"{where} is not valid JSON ({exc.msg})") from None
    if not is_mapping(body):
        raise wrong_type(where, "a JSON object", body)
    return body


# --- redaction ---------------------------------------------------------------------------------


def _final_pipeline(beat: PolicyResource) -> str | None:
    config = mapping_prop(beat.props, "spec.config") or {}
    settings = config.get("setup.template.settings")
    if settings is None:
        return None
    if not is_mapping(settings):
        raise wrong_type("spec.config.setup.template.settings", "an object", settings)
    value = settings.get("index.final_pipeline")
    if value is None and is_mapping(settings.get("index")):
        value = settings["index"].get("final_pipeline")
    if value is not None and not isinstance(value, str):
        raise wrong_type("index.final_pipeline", "a pipeline id", value)
    return value


def pipelines(resources: Sequence[PolicyResource]) -> dict[str, Mapping[str, Any]]:
    """Ingest pipeline id -> body, from ConfigMap keys ``ingest-pipeline-<id>.json``."""
    found: dict[str, Mapping[str, Any]] = {}
    for res in resources:
        if res.resource_type != CONFIG_MAP:
            continue
        for key, text in _config_map_data(res).items():
            match = PIPELINE_KEY.match(key)
            if match:
                found[match["id"]] = _parse_body(text, f"data.{key}")
    return found


def unredacted(pipeline: Mapping[str, Any]) -> list[str]:
    """What of :data:`CANARIES` the pipeline stores unmasked in ``message``."""
    return [
        what for what, line, secret in CANARIES if secret in apply_gsubs(pipeline, LOG_FIELD, line)
    ]


def _beat_problems(
    beat: PolicyResource, bodies: Mapping[str, Mapping[str, Any]], classification: str
) -> Iterator[str]:
    pipeline_id = _final_pipeline(beat)
    if pipeline_id is None:
        yield (
            f"the stack holds {classification} data but Filebeat names no final ingest pipeline "
            "(setup.template.settings index.final_pipeline): its logs are stored unredacted"
        )
        return
    body = bodies.get(pipeline_id)
    if body is None:
        yield (
            f"Filebeat's final pipeline {pipeline_id!r} has no body in the stack (a ConfigMap "
            f"key ingest-pipeline-{pipeline_id}.json the setup Job installs)"
        )
        return
    try:
        leaks = unredacted(body)
    except PipelineError as exc:
        yield f"ingest pipeline {pipeline_id!r}: {exc}"
        return
    if leaks:
        yield (
            f"ingest pipeline {pipeline_id!r} stores {', '.join(leaks)} in {LOG_FIELD} "
            "unredacted (its gsub processors, run on sample log lines)"
        )


def _check_redaction(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    classification = _stack_classification(args)
    if classification not in REDACTING_CLASSIFICATIONS:
        return
    resources = list(args.resources)
    beats = [
        r
        for r in resources
        if r.resource_type == BEAT and str_prop(r.props, "spec.type") == "filebeat"
    ]
    if not beats:
        return
    try:
        bodies = pipelines(resources)
    except InvalidPropError as exc:
        yield exc.message, None
        return
    for beat in beats:
        yield from report_on(beat.urn, _beat_problems(beat, bodies, classification or ""))


log_redaction = stack_policy(
    name="ttbt2-log-redaction",
    description=(
        "Seed 4.2 (platform rule): a stack holding real data stores container logs only "
        "through a final ingest pipeline that masks e-mail addresses, Authorization headers, "
        "bearer tokens and JWTs (checked by running the pipeline's gsub processors)."
    ),
    enforcement=MANDATORY,
    check=_check_redaction,
)
log_redaction.config_schema = PolicyConfigSchema(
    properties={"stackClassifications": STACK_CLASSIFICATIONS_SCHEMA}
)


# --- retention ---------------------------------------------------------------------------------

_AGE = re.compile(r"^(\d+)(d|h|m|s|ms|micros|nanos)$")
_DAYS_PER_UNIT = {
    "d": 1.0,
    "h": 1 / 24,
    "m": 1 / 1440,
    "s": 1 / 86400,
    "ms": 1 / 86_400_000,
    "micros": 1 / 86_400_000_000,
    "nanos": 1 / 86_400_000_000_000,
}


def delete_after_days(ilm: Mapping[str, Any]) -> float | None:
    """Days after which the ILM policy deletes an index; None when it never does."""
    policy: Any = ilm.get("policy")
    phases: Any = policy.get("phases") if is_mapping(policy) else None
    delete: Any = phases.get("delete") if is_mapping(phases) else None
    if not is_mapping(delete):
        return None
    age = delete.get("min_age", "0ms")
    match = _AGE.match(age) if isinstance(age, str) else None
    if match is None:
        raise InvalidPropError(f"ILM delete min_age must be like '90d', got {age!r}")
    return int(match[1]) * _DAYS_PER_UNIT[match[2]]


def _retention_problems(res: PolicyResource, classification: str) -> Iterator[str]:
    text = _config_map_data(res).get(ILM_KEY)
    if text is None:
        return
    ceiling = LOG_RETENTION_CEILING_DAYS[classification]
    days = delete_after_days(_parse_body(text, f"data.{ILM_KEY}"))
    if days is None:
        yield (
            f"the log ILM policy never deletes: logs of {classification} data are kept at "
            f"most {ceiling} days"
        )
    elif days > ceiling:
        yield (
            f"the log ILM policy deletes after {days:g} days: logs of {classification} data "
            f"are kept at most {ceiling} days"
        )


def _check_retention(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    classification = _stack_classification(args)
    if classification is None:
        return
    for res in args.resources:
        if res.resource_type == CONFIG_MAP:
            yield from report_on(res.urn, _retention_problems(res, classification))


log_retention = stack_policy(
    name="ttbt2-log-retention-classification",
    description=(
        "Seed 4.2 (platform rule): container logs are deleted (ILM) within the ceiling of the "
        "stack's data classification: "
        + ", ".join(f"{c} {d} days" for c, d in LOG_RETENTION_CEILING_DAYS.items())
        + "."
    ),
    enforcement=MANDATORY,
    check=_check_retention,
)
log_retention.config_schema = PolicyConfigSchema(
    properties={"stackClassifications": STACK_CLASSIFICATIONS_SCHEMA}
)

POLICIES: list[Policy] = [classification_tag, log_redaction, log_retention]

__all__ = [
    "CANARIES",
    "DATA_STORES",
    "POLICIES",
    "classification_tag",
    "delete_after_days",
    "log_redaction",
    "log_retention",
    "pipelines",
    "stack_classifications",
    "unredacted",
]
