"""Data privacy (seed 4.2): classification tags on data stores, redacted logs, log retention."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from components.k8s.log_redaction import redaction_pipeline
from offline.graph import Resource
from policies.ttbt2_policies.classification import PIPELINE_CONFIG_KEY, REDACTION_PIPELINE
from policies.ttbt2_policies.data_privacy import (
    DATA_STORES,
    LABELS,
    classification_tag,
    delete_after_days,
    log_redaction,
    log_retention,
)
from tests.support.policies import (
    UNKNOWN,
    assert_compliant,
    assert_missing,
    assert_unknown_is_a_note,
    assert_violation,
    assert_wrong_type,
    findings_for,
    resource,
)

BUCKET = "aws:s3/bucket:Bucket"
GCS = "gcp:storage/bucket:Bucket"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
BEAT = "kubernetes:beat.k8s.elastic.co/v1beta1:Beat"


def store(type_: str = BUCKET, value: Any = "synthetic", *, stack: str = "dev") -> Resource:
    """A data store whose tags or labels carry ``value`` (None: no classification)."""
    prop = DATA_STORES[type_]
    carried = {"owner": "platform-team"} if value is None else {"data-classification": value}
    return resource(type_, {prop: carried}, stack=stack)


# --- ttbt2-data-classification-tag --------------------------------------------------------------


@pytest.mark.parametrize("type_", sorted(DATA_STORES))
def test_every_data_store_type_is_compliant_with_its_stack_classification(type_: str) -> None:
    assert_compliant(findings_for(classification_tag, [store(type_, "synthetic")]))
    prod = store(type_, "real", stack="prod")
    assert_compliant(findings_for(classification_tag, [prod], stack="prod"))


@pytest.mark.parametrize("type_", sorted(DATA_STORES))
def test_a_data_store_without_the_classification_is_a_mandatory_violation(type_: str) -> None:
    kind = "label" if DATA_STORES[type_] == LABELS else "tag"
    found = findings_for(classification_tag, [store(type_, None)])
    assert_violation(found, classification_tag, f"without the {kind}", mandatory=True)


def test_a_data_store_with_no_tags_at_all_is_a_violation() -> None:
    found = findings_for(classification_tag, [resource(BUCKET, {"bucketPrefix": "x-"})])
    assert_missing(found, classification_tag, "data store without the tag 'data-classification'")


@pytest.mark.parametrize("value", ["secret", "", "REAL"])
def test_a_value_outside_the_classes_is_a_violation(value: str) -> None:
    found = findings_for(classification_tag, [store(BUCKET, value)])
    expected = "without the tag" if value == "" else "must be one of synthetic, anonymised, real"
    assert_violation(found, classification_tag, expected)


@pytest.mark.parametrize(
    ("stack", "value", "expected"),
    [("dev", "real", "synthetic"), ("prod", "anonymised", "real"), ("staging", "real", "anon")],
)
def test_a_store_classified_unlike_its_stack_is_a_violation(
    stack: str, value: str, expected: str
) -> None:
    found = findings_for(classification_tag, [store(GCS, value, stack=stack)], stack=stack)
    assert_violation(found, classification_tag, f"holds {expected}")


def test_an_unlisted_stack_may_carry_any_class_and_config_lists_stacks() -> None:
    drill = store(BUCKET, "real", stack="drill-42")
    assert_compliant(findings_for(classification_tag, [drill], stack="drill-42"))
    config = {"stackClassifications": {"drill-42": "synthetic"}}
    found = findings_for(classification_tag, [drill], stack="drill-42", config=config)
    assert_violation(found, classification_tag, "holds synthetic data")


def test_aws_provider_default_tags_count_but_not_for_labels() -> None:
    provider = resource(
        "pulumi:providers:aws",
        {"defaultTags": json.dumps({"tags": {"data-classification": "synthetic"}})},
        name="aws",
    )
    bucket = resource(BUCKET, {"tags": {"owner": "x"}}, provider=provider)
    assert_compliant(findings_for(classification_tag, [provider, bucket]))


def test_tags_of_the_wrong_type_are_a_violation() -> None:
    found = findings_for(classification_tag, [resource(BUCKET, {"tags": ["real"]})])
    assert_wrong_type(found, "tags must be an object")


def test_an_unknown_classification_is_a_note() -> None:
    found = findings_for(classification_tag, [store(BUCKET, UNKNOWN)])
    assert_unknown_is_a_note(found, classification_tag)


def test_other_types_are_not_concerned() -> None:
    assert_compliant(findings_for(classification_tag, [resource("aws:ec2/vpc:Vpc", {})]))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("type_", sorted(DATA_STORES))
def test_every_store_type_has_its_classification_property_in_the_sdk(type_: str) -> None:
    """A misspelt token, or ``labels`` where the SDK says ``tags``, would check nothing."""
    provider, module_path, class_name = type_.split(":")
    package = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "azure-native": "pulumi_azure_native"}
    module = importlib.import_module(f"{package[provider]}.{module_path.split('/')[0]}")
    args_class = getattr(module, f"{class_name}Args")
    assert isinstance(getattr(args_class, DATA_STORES[type_], None), property)


# --- ttbt2-log-redaction -------------------------------------------------------------------------


def filebeat(final_pipeline: Any = REDACTION_PIPELINE, *, stack: str = "prod") -> Resource:
    config: dict[str, Any] = {"setup.ilm.policy_name": "ttbt2-logs"}
    if final_pipeline is not None:
        config["setup.template.settings"] = {"index.final_pipeline": final_pipeline}
    return resource(BEAT, {"spec": {"type": "filebeat", "config": config}}, stack=stack)


def setup_config_map(
    pipeline: Any = None, *, ilm_days: str | None = "90d", stack: str = "prod", key: str = ""
) -> Resource:
    data: dict[str, Any] = {}
    if pipeline is not None:
        data[key or PIPELINE_CONFIG_KEY] = (
            pipeline if isinstance(pipeline, str) else json.dumps(pipeline)
        )
    phases: dict[str, Any] = {"hot": {"actions": {"rollover": {"max_age": "1d"}}}}
    if ilm_days is not None:
        phases["delete"] = {"min_age": ilm_days, "actions": {"delete": {}}}
    data["ilm-policy.json"] = json.dumps({"policy": {"phases": phases}})
    return resource(CONFIG_MAP, {"data": data}, stack=stack)


def redacting_stack(**changes: Any) -> list[Resource]:
    pipeline = changes.pop("pipeline", redaction_pipeline(redact_ips=True))
    return [filebeat(**changes), setup_config_map(pipeline)]


def test_a_prod_stack_shipping_through_the_redaction_pipeline_is_compliant() -> None:
    found = findings_for(log_redaction, redacting_stack(), stack="prod")
    assert_compliant(found)
    no_ips = [filebeat(), setup_config_map(redaction_pipeline(redact_ips=False))]
    assert_compliant(findings_for(log_redaction, no_ips, stack="prod"))


def test_filebeat_without_a_final_pipeline_is_a_violation() -> None:
    found = findings_for(log_redaction, [filebeat(None), setup_config_map()], stack="prod")
    assert_missing(found, log_redaction, "names no final ingest pipeline")
    assert found[0].enforcement == "mandatory"


def test_a_final_pipeline_without_its_body_is_a_violation() -> None:
    found = findings_for(log_redaction, [filebeat("other"), setup_config_map()], stack="prod")
    assert_violation(found, log_redaction, "'other' has no body in the stack")


@pytest.mark.parametrize(
    ("dropped", "leak"),
    [
        ("redact-email", "an e-mail address"),
        ("redact-authorization", "an Authorization header"),
        ("redact-bearer", "a bearer token"),
        ("redact-jwt", "a JWT"),
    ],
)
def test_a_pipeline_that_lets_a_secret_through_is_a_violation(dropped: str, leak: str) -> None:
    body = redaction_pipeline(redact_ips=True)
    body["processors"] = [p for p in body["processors"] if p["gsub"]["tag"] != dropped]
    found = findings_for(log_redaction, redacting_stack(pipeline=body), stack="prod")
    assert_violation(found, log_redaction, f"stores {leak}")


def test_a_conditional_or_renamed_redaction_does_not_count() -> None:
    conditional = redaction_pipeline(redact_ips=False)
    for processor in conditional["processors"]:
        processor["gsub"]["if"] = "ctx.kubernetes?.namespace == 'app'"
    found = findings_for(log_redaction, redacting_stack(pipeline=conditional), stack="prod")
    assert_violation(found, log_redaction, "an e-mail address, an Authorization header")
    other_field = redaction_pipeline(redact_ips=False)
    for processor in other_field["processors"]:
        processor["gsub"]["field"] = "event.original"
    found = findings_for(log_redaction, redacting_stack(pipeline=other_field), stack="prod")
    assert_violation(found, log_redaction, "unredacted")


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        ("{not json", "is not valid JSON"),
        (
            {"processors": [{"gsub": {"field": "message", "pattern": "(", "replacement": ""}}]},
            "not understood",
        ),
        ({"description": "no processors"}, "has no processors list"),
    ],
    ids=["not-json", "bad-regex", "no-processors"],
)
def test_malformed_pipelines_are_violations(pipeline: Any, expected: str) -> None:
    found = findings_for(log_redaction, redacting_stack(pipeline=pipeline), stack="prod")
    assert_wrong_type(found, expected)


def test_stacks_without_real_data_or_without_filebeat_are_not_concerned() -> None:
    dev = [filebeat(None, stack="dev"), setup_config_map(stack="dev")]
    assert_compliant(findings_for(log_redaction, dev, stack="dev"))
    assert_compliant(findings_for(log_redaction, [setup_config_map()], stack="prod"))


def test_an_unlisted_stack_holding_real_data_must_redact() -> None:
    stack = "drill-7"
    resources = [
        store(BUCKET, "real", stack=stack),
        filebeat(None, stack=stack),
        setup_config_map(stack=stack),
    ]
    found = findings_for(log_redaction, resources, stack=stack)
    assert_violation(found, log_redaction, "holds real data")


def test_an_unknown_pipeline_body_is_a_note() -> None:
    found = findings_for(log_redaction, [filebeat(), setup_config_map(UNKNOWN)], stack="prod")
    assert_unknown_is_a_note(found, log_redaction)


# --- ttbt2-log-retention-classification ----------------------------------------------------------


@pytest.mark.parametrize(("stack", "days"), [("prod", "90d"), ("dev", "14d"), ("dev", "3d")])
def test_retention_within_the_ceiling_is_compliant(stack: str, days: str) -> None:
    found = findings_for(log_retention, [setup_config_map(ilm_days=days, stack=stack)], stack=stack)
    assert_compliant(found)


@pytest.mark.parametrize(
    ("stack", "days", "expected"),
    [
        ("prod", "180d", "deletes after 180 days: logs of real data are kept at most 90 days"),
        ("dev", "15d", "logs of synthetic data are kept at most 14 days"),
        ("staging", "2000h", "deletes after 83.3333 days"),
    ],
)
def test_retention_beyond_the_ceiling_is_a_violation(stack: str, days: str, expected: str) -> None:
    found = findings_for(log_retention, [setup_config_map(ilm_days=days, stack=stack)], stack=stack)
    assert_violation(found, log_retention, expected, mandatory=True)


def test_an_ilm_policy_without_a_delete_phase_is_a_violation() -> None:
    found = findings_for(log_retention, [setup_config_map(ilm_days=None)], stack="prod")
    assert_missing(found, log_retention, "never deletes")


def test_a_malformed_min_age_is_a_violation() -> None:
    found = findings_for(log_retention, [setup_config_map(ilm_days="ninety")], stack="prod")
    assert_wrong_type(found, "min_age must be like '90d'")


def test_an_unlisted_stack_without_classified_stores_is_not_concerned() -> None:
    found = findings_for(log_retention, [setup_config_map(ilm_days="900d", stack="me")], stack="me")
    assert_compliant(found)


def test_delete_after_days_reads_every_unit() -> None:
    assert delete_after_days({"policy": {"phases": {"delete": {"min_age": "36h"}}}}) == 1.5
    assert delete_after_days({"policy": {"phases": {"delete": {}}}}) == 0
    assert delete_after_days({"policy": {"phases": {}}}) is None


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("index.final_pipeline=x", "setup.template.settings must be an object"),
        ({"index.final_pipeline": 5}, "index.final_pipeline must be a pipeline id"),
    ],
    ids=["settings-string", "pipeline-number"],
)
def test_filebeat_template_settings_of_the_wrong_type_are_violations(
    settings: Any, expected: str
) -> None:
    beat = resource(
        BEAT,
        {"spec": {"type": "filebeat", "config": {"setup.template.settings": settings}}},
        stack="prod",
    )
    found = findings_for(log_redaction, [beat, setup_config_map()], stack="prod")
    assert_wrong_type(found, expected)


def test_the_nested_index_form_of_the_final_pipeline_counts() -> None:
    config = {"setup.template.settings": {"index": {"final_pipeline": REDACTION_PIPELINE}}}
    beat = resource(BEAT, {"spec": {"type": "filebeat", "config": config}}, stack="prod")
    pipeline = setup_config_map(redaction_pipeline(redact_ips=False))
    assert_compliant(findings_for(log_redaction, [beat, pipeline], stack="prod"))
