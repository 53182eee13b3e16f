"""The VPA's recommendations as kube-state-metrics custom resource metrics: paths that exist.

kube-state-metrics reports nothing (and no error) for a path the resource does not have, so
every path of the config is checked against the vendored VerticalPodAutoscaler CRD.
"""

from __future__ import annotations

from typing import Any

import yaml

from components.k8s.autoscaling import VPA_DIR
from components.k8s.vpa_metrics import (
    BOUNDS,
    VPA_GROUP,
    VPA_KIND,
    VPA_VERSION,
    custom_resource_state_config,
    kube_state_metrics_values,
    metric_name,
)

CRD = yaml.safe_load((VPA_DIR / "crds" / "VerticalPodAutoscaler.yaml").read_text())


def _schema() -> dict[str, Any]:
    [version] = [v for v in CRD["spec"]["versions"] if v["name"] == VPA_VERSION]
    assert version["served"] and version["storage"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _at(schema: dict[str, Any], path: list[str]) -> dict[str, Any]:
    """The schema of ``path`` below ``schema``, through arrays' items; KeyError if absent."""
    node = schema
    for step in path:
        if node.get("type") == "array":
            node = node["items"]
        node = node["properties"][step]
    return node


def _resource() -> dict[str, Any]:
    [resource] = custom_resource_state_config()["spec"]["resources"]
    return dict(resource)


def test_the_config_reads_the_served_vpa_version() -> None:
    gvk = _resource()["groupVersionKind"]
    assert (gvk["group"], gvk["version"], gvk["kind"]) == (
        CRD["spec"]["group"],
        VPA_VERSION,
        CRD["spec"]["names"]["kind"],
    )
    assert (CRD["spec"]["group"], CRD["spec"]["names"]["kind"]) == (VPA_GROUP, VPA_KIND)


def test_every_label_path_exists_in_the_crd() -> None:
    schema = _schema()
    for label, path in _resource()["labelsFromPath"].items():
        if path[0] == "metadata":
            continue  # ObjectMeta: not in the CRD's schema, always present.
        assert _at(schema, path), label


def test_every_metric_reads_a_quantity_the_crd_has() -> None:
    schema = _schema()
    for metric in _resource()["metrics"]:
        gauge = metric["each"]["gauge"]
        recommendations = _at(schema, gauge["path"])
        assert recommendations["type"] == "array"
        item = recommendations["items"]
        bound, resource = gauge["valueFrom"]
        # A ResourceList: resource name -> Kubernetes quantity (an integer or a string: 250m).
        quantities = _at(item, [bound])["additionalProperties"]
        assert quantities.get("x-kubernetes-int-or-string") is True, metric["name"]
        assert resource in ("cpu", "memory")
        for path in gauge["labelsFromPath"].values():
            assert _at(item, path)


def test_one_metric_per_bound_and_resource_named_as_the_dashboard_reads() -> None:
    metrics = _resource()["metrics"]
    found = {(m["name"], m["commonLabels"]["resource"]) for m in metrics}
    assert len(found) == len(metrics) == len(BOUNDS) * 2
    assert f"kube_customresource_{metrics[0]['name']}" == metric_name("target")


def test_kube_state_metrics_may_list_and_watch_the_vpas_only() -> None:
    values = kube_state_metrics_values()
    assert values["customResourceState"]["enabled"] is True
    assert values["rbac"]["extraRules"] == [
        {
            "apiGroups": [CRD["spec"]["group"]],
            "resources": [CRD["spec"]["names"]["plural"]],
            "verbs": ["list", "watch"],
        }
    ]
