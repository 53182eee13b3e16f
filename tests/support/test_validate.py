"""Offline validators: custom resources against vendored CRDs, Helm values against values.yaml."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.graph import UNKNOWN
from tests.conftest import ROOT
from tests.support.validate.crds import (
    CrdError,
    index_crds,
    load_crds,
    load_yaml_documents,
    to_json_schema,
    validate_custom_resource,
)
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

VSO = ROOT / "vendor" / "charts" / "vault-secrets-operator"
VSO_CRDS = [VSO / "crds"]


def _static_secret() -> dict[str, Any]:
    return {
        "apiVersion": "secrets.hashicorp.com/v1beta1",
        "kind": "VaultStaticSecret",
        "metadata": {"name": "api-config", "namespace": "ttbt2", "labels": {"app": "api"}},
        "spec": {
            "vaultAuthRef": "api",
            "type": "kv-v2",
            "mount": "kv",
            "path": "ttbt2/dev/api/config",
            "refreshAfter": "1h",
            "destination": {"name": "api-config", "create": True},
            "rolloutRestartTargets": [{"kind": "Deployment", "name": "api"}],
        },
    }


# ---- CRD loading ---------------------------------------------------------------------------

# Shaped like the prometheus-operator CRDs: a bare "=" as an enum item, which PyYAML resolves
# to the tag:yaml.org,2002:value tag that yaml.safe_load has no constructor for.
EQUALS_CRD = textwrap.dedent(
    """\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: matchers.example.com
    spec:
      group: example.com
      scope: Namespaced
      names: {kind: Matcher, plural: matchers}
      versions:
      - name: v1
        served: true
        storage: true
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                required: [op]
                properties:
                  op:
                    type: string
                    enum:
                    - =
                    - '!='
                    - =~
                  port:
                    x-kubernetes-int-or-string: true
                  extra:
                    type: object
                    x-kubernetes-preserve-unknown-fields: true
                    properties:
                      mode: {type: string}
                      inner:
                        type: object
                        properties:
                          a: {type: string}
                  note:
                    type: string
                    nullable: true
                  weight:
                    type: integer
                    maximum: 10
                    exclusiveMaximum: true
                  tags:
                    type: array
                    x-kubernetes-list-type: set
                    items: {type: string}
                  template:
                    type: object
                    x-kubernetes-embedded-resource: true
                    properties:
                      spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
                  opaque:
                    type: object
                  replicas:
                    type: integer
                    default: 1
                    minimum: 0
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: not-a-crd}
    """
)


@pytest.fixture
def equals_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "crds"
    folder.mkdir()
    (folder / "matcher.yaml").write_text(EQUALS_CRD)
    return folder


def _matcher(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Matcher",
        "metadata": {"name": "m"},
        "spec": {"op": "=", **spec},
    }


def test_a_bare_equals_enum_item_loads_where_safe_load_fails(equals_dir: Path) -> None:
    path = equals_dir / "matcher.yaml"
    with pytest.raises(yaml.constructor.ConstructorError):
        list(yaml.safe_load_all(path.read_text()))
    docs = load_yaml_documents(path)
    assert len(docs) == 2  # the ConfigMap is read too, and then ignored by load_crds
    (crd,) = load_crds(path)
    enum = crd.openapi["properties"]["spec"]["properties"]["op"]["enum"]
    assert enum == ["=", "!=", "=~"]
    assert (crd.group, crd.version, crd.kind, crd.plural) == (
        "example.com",
        "v1",
        "Matcher",
        "matchers",
    )


def test_every_vendored_vso_crd_loads_and_is_indexed() -> None:
    index = index_crds(VSO_CRDS)
    kinds = {kind for (_group, _version, kind) in index}
    assert {"VaultConnection", "VaultAuth", "VaultStaticSecret", "VaultDynamicSecret"} <= kinds
    assert len(kinds) == len(list((VSO / "crds").glob("*.yaml")))
    assert all(group == "secrets.hashicorp.com" for (group, _v, _k) in index)


def test_missing_folder_and_duplicate_definitions_are_crd_errors(
    tmp_path: Path, equals_dir: Path
) -> None:
    with pytest.raises(CrdError, match="no such CRD folder"):
        index_crds([tmp_path / "absent"])
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "again.yaml").write_text(EQUALS_CRD)
    with pytest.raises(CrdError, match="defined in both"):
        index_crds([equals_dir, twin])


def test_broken_yaml_is_a_crd_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: [unclosed\n")
    with pytest.raises(CrdError, match=r"bad\.yaml: not valid YAML"):
        load_yaml_documents(bad)


# ---- schema conversion ---------------------------------------------------------------------


def test_conversion_closes_objects_unless_preserve_unknown_fields() -> None:
    schema = to_json_schema(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        "map": {"type": "object", "additionalProperties": {"type": "string"}},
                        "bare": {"type": "object"},
                    },
                }
            },
        }
    )
    spec = schema["properties"]["spec"]
    assert schema["additionalProperties"] is False
    assert spec["additionalProperties"] is False
    assert "additionalProperties" not in spec["properties"]["open"]
    assert spec["properties"]["map"]["additionalProperties"] == {"type": "string"}
    assert spec["properties"]["bare"]["additionalProperties"] is False
    assert schema["required"] == ["apiVersion", "kind"]


def test_conversion_of_openapi_bounds_nullable_and_int_or_string() -> None:
    node = to_json_schema(
        {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "nullable": True},
        root=False,
    )
    assert node == {"type": ["integer", "null"], "exclusiveMinimum": 0}
    assert to_json_schema({"x-kubernetes-int-or-string": True}, root=False) == {
        "type": ["integer", "string"]
    }


# ---- custom resources ----------------------------------------------------------------------


def test_a_valid_static_secret_has_no_errors() -> None:
    assert validate_custom_resource(_static_secret(), VSO_CRDS) == []


def test_a_typo_in_a_spec_field_is_an_unknown_field_with_a_suggestion() -> None:
    obj = _static_secret()
    obj["spec"]["destination"]["nmae"] = obj["spec"]["destination"].pop("name")
    errors = validate_custom_resource(obj, VSO_CRDS)
    assert (
        "VaultStaticSecret api-config: $.spec.destination.nmae: unknown field "
        "(did you mean 'name'?); the API server would drop it" in errors
    )
    # Renaming also removed the required name.
    assert any(e.endswith("$.spec.destination: 'name' is a required property") for e in errors)


def test_unknown_fields_at_the_root_and_in_metadata_are_errors() -> None:
    obj = _static_secret()
    obj["sepc"] = obj.pop("spec")
    obj["metadata"]["lables"] = {"a": "b"}
    errors = validate_custom_resource(obj, VSO_CRDS)
    assert any("$.sepc: unknown field (did you mean 'spec'?)" in e for e in errors)
    assert any("$.metadata.lables: unknown field (did you mean 'labels'?)" in e for e in errors)


def test_a_wrong_type_is_an_error_at_its_path() -> None:
    obj = _static_secret()
    obj["spec"]["destination"]["create"] = "true"
    errors = validate_custom_resource(obj, VSO_CRDS)
    assert errors == [
        "VaultStaticSecret api-config: $.spec.destination.create: 'true' is not of type 'boolean'"
    ]


def test_a_missing_required_field_is_an_error() -> None:
    obj = _static_secret()
    del obj["spec"]["type"]
    assert validate_custom_resource(obj, VSO_CRDS) == [
        "VaultStaticSecret api-config: $.spec: 'type' is a required property"
    ]


def test_enum_pattern_and_bounds_are_checked() -> None:
    obj = _static_secret()
    obj["spec"]["rolloutRestartTargets"][0]["kind"] = "Job"
    obj["spec"]["refreshAfter"] = "1 hour"
    errors = validate_custom_resource(obj, VSO_CRDS)
    assert any("$.spec.rolloutRestartTargets[0].kind: 'Job' is not one of" in e for e in errors)
    assert any(e.startswith("VaultStaticSecret api-config: $.spec.refreshAfter:") for e in errors)
    dynamic: dict[str, Any] = {
        "apiVersion": "secrets.hashicorp.com/v1beta1",
        "kind": "VaultDynamicSecret",
        "metadata": {"name": "api-db"},
        "spec": {"mount": "db", "path": "creds/api", "destination": {"name": "x"}},
    }
    assert validate_custom_resource(dynamic, VSO_CRDS) == []
    dynamic["spec"]["renewalPercent"] = 95
    assert validate_custom_resource(dynamic, VSO_CRDS) == [
        "VaultDynamicSecret api-db: $.spec.renewalPercent: 95 is greater than the maximum of 90"
    ]


def test_a_required_field_with_a_default_may_be_left_out() -> None:
    # VaultConnection requires skipTLSVerify, whose default the API server fills in.
    conn: dict[str, Any] = {
        "apiVersion": "secrets.hashicorp.com/v1beta1",
        "kind": "VaultConnection",
        "metadata": {"name": "vault"},
        "spec": {"address": "https://vault.example:8200"},
    }
    assert validate_custom_resource(conn, VSO_CRDS) == []
    del conn["spec"]["address"]
    assert validate_custom_resource(conn, VSO_CRDS) == [
        "VaultConnection vault: $.spec: 'address' is a required property"
    ]


def test_an_invalid_object_name_is_an_error() -> None:
    obj = _static_secret()
    obj["metadata"]["name"] = "API_Config"
    (error,) = validate_custom_resource(obj, VSO_CRDS)
    assert error.startswith("VaultStaticSecret API_Config: $.metadata.name: 'API_Config' does not")


def test_an_unknown_kind_or_version_is_reported_not_raised() -> None:
    obj = _static_secret()
    obj["apiVersion"] = "secrets.hashicorp.com/v1"
    (error,) = validate_custom_resource(obj, VSO_CRDS)
    assert "no CRD defines kind VaultStaticSecret in secrets.hashicorp.com/v1" in error
    obj["apiVersion"] = "v1"
    (error,) = validate_custom_resource(obj, VSO_CRDS)
    assert "$.apiVersion: expected '<group>/<version>'" in error


def test_the_object_is_not_modified_by_defaulting() -> None:
    obj = _static_secret()
    before = copy.deepcopy(obj)
    validate_custom_resource(obj, VSO_CRDS)
    assert obj == before


def test_kubernetes_extensions(equals_dir: Path) -> None:
    dirs = [equals_dir]
    ok = _matcher(
        port="http",
        extra={"mode": "a", "anything": {"goes": 1}, "inner": {"a": "x"}},
        note=None,
        weight=9,
        tags=["a", "b"],
        template={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}},
    )
    assert validate_custom_resource(ok, dirs) == []
    assert validate_custom_resource(_matcher(port=8080), dirs) == []

    def errors(**spec: Any) -> list[str]:
        return validate_custom_resource(_matcher(**spec), dirs)

    assert errors(port=1.5) == ["Matcher m: $.spec.port: 1.5 is not of type 'integer', 'string'"]
    # preserve-unknown-fields opens its own node only: below a listed property, typos count.
    assert errors(extra={"inner": {"b": "x"}}) == [
        "Matcher m: $.spec.extra.inner.b: unknown field; the API server would drop it"
    ]
    assert errors(weight=10) == [
        "Matcher m: $.spec.weight: 10 is greater than or equal to the maximum of 10"
    ]
    assert errors(tags=["a", "a"]) == ["Matcher m: $.spec.tags: ['a', 'a'] has non-unique elements"]
    assert errors(opaque={"x": 1}) == [
        "Matcher m: $.spec.opaque.x: unknown field; the API server would drop it"
    ]
    assert errors(op="==") == ["Matcher m: $.spec.op: '==' is not one of ['=', '!=', '=~']"]
    assert errors(replicas=-1) == ["Matcher m: $.spec.replicas: -1 is less than the minimum of 0"]


def test_the_unknown_marker_silences_complaints_about_unknown_values(equals_dir: Path) -> None:
    obj = _matcher(weight=UNKNOWN)
    assert validate_custom_resource(obj, [equals_dir]) != []
    assert validate_custom_resource(obj, [equals_dir], unknown_marker=UNKNOWN) == []


# ---- Helm values ---------------------------------------------------------------------------

CHART = {
    "replicas": 1,
    "image": {"repository": "r", "tag": "t"},
    "podAnnotations": {},
    "tolerations": [],
    "securityContext": {"runAsNonRoot": True},
    "cacheSize": None,
    "nested": {"resources": {"limits": {"cpu": "1"}}},
}


def test_paths_that_exist_in_the_chart_are_accepted() -> None:
    values = {
        "replicas": 2,
        "image": {"tag": "u"},
        "nested": {"resources": {"limits": {"cpu": "2"}}},
    }
    assert unknown_value_paths(values, CHART, set()) == []


def test_a_typo_is_reported_with_its_full_path() -> None:
    values = {"replica": 2, "image": {"tga": "u"}, "nested": {"resources": {"limit": {}}}}
    assert unknown_value_paths(values, CHART, set()) == [
        "image.tga",
        "nested.resources.limit",
        "replica",
    ]


def test_below_empty_maps_lists_and_null_defaults_anything_goes() -> None:
    values = {
        "podAnnotations": {"example.com/a": "b", "deep": {"x": 1}},
        "tolerations": [{"key": "k", "operator": "Exists"}],
        "cacheSize": {"any": "shape"},
    }
    assert unknown_value_paths(values, CHART, set()) == []


def test_declared_free_form_maps_by_path_or_by_name() -> None:
    values = {"securityContext": {"capabilities": {"drop": ["ALL"]}}}
    assert unknown_value_paths(values, CHART, set()) == ["securityContext.capabilities"]
    assert unknown_value_paths(values, CHART, {"securityContext"}) == []
    assert unknown_value_paths(values, CHART, {"image.extra"}) == ["securityContext.capabilities"]
    nested = {"nested": {"resources": {"limits": {"cpu": "1", "nvidia.com/gpu": 1}}}}
    assert unknown_value_paths(nested, CHART, {"nested.resources"}) == []
    assert unknown_value_paths(nested, CHART, {"resources"}) == []
    assert unknown_value_paths(nested, CHART, set()) == [
        'nested.resources.limits["nvidia.com/gpu"]'
    ]
    # A free-form name does not excuse the map itself from existing in the chart.
    assert unknown_value_paths({"podSecurityContext": {"a": 1}}, CHART, {"podSecurityContext"}) == [
        "podSecurityContext"
    ]


def test_a_map_where_the_chart_has_a_scalar_reports_its_keys() -> None:
    assert unknown_value_paths({"replicas": {"min": 1}}, CHART, set()) == ["replicas.min"]


def test_keys_with_dots_are_quoted() -> None:
    assert unknown_value_paths({"image": {"a.b": 1}}, CHART, set()) == ['image["a.b"]']


def test_against_the_vendored_vso_values() -> None:
    chart = load_chart_values(VSO)
    good: dict[str, Any] = {
        "controller": {
            "replicas": 2,
            "nodeSelector": {"kubernetes.io/arch": "arm64"},
            "manager": {"resources": {"limits": {"memory": "256Mi"}}, "extraEnv": [{"name": "A"}]},
            "kubeRbacProxy": {"image": {"tag": "v0"}},
        },
        "telemetry": {"serviceMonitor": {"enabled": True, "selectors": {"release": "prom"}}},
    }
    assert unknown_value_paths(good, chart, set()) == []
    bad = copy.deepcopy(good)
    bad["controller"]["manager"]["resource"] = bad["controller"]["manager"].pop("resources")
    bad["telemetry"]["serviceMonitor"]["enable"] = True
    assert unknown_value_paths(bad, chart, set()) == [
        "controller.manager.resource",
        "telemetry.serviceMonitor.enable",
    ]
