"""kube-state-metrics custom resource state in the metric catalog and the provenance policy.

The families a ``CustomResourceStateMetrics`` config defines are derived from the release's
``kube-state-metrics.customResourceState.config`` value (the VPA's recommendations feed the
right-sizing view): compliant when enabled and configured, dark when disabled or missing, and a
violation naming the value when the config is malformed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.k8s.vpa_metrics import custom_resource_state_config, kube_state_metrics_values
from offline.graph import Resource
from policies.ttbt2_policies.metric_catalog import (
    DerivedConfigError,
    Family,
    ksm_custom_resource_families,
)
from policies.ttbt2_policies.metric_provenance import metric_provenance
from tests.support.policies import findings_for, resource

RELEASE = "kubernetes:helm.sh/v3:Release"
TARGET = "kube_customresource_vpa_containerrecommendations_target"


def _resource(metrics: Any, **extra: Any) -> dict[str, Any]:
    gvk = {"group": "example.io", "version": "v1", "kind": "Thing"}
    return {"groupVersionKind": gvk, "metrics": metrics, **extra}


def _config(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "CustomResourceStateMetrics", "spec": {"resources": list(resources)}}


GAUGE = {"name": "ready", "each": {"type": "Gauge", "gauge": {"path": ["status", "ready"]}}}


def test_names_take_the_default_prefix() -> None:
    assert ksm_custom_resource_families(_config(_resource([GAUGE]))) == [
        Family("kube_customresource_ready", "gauge")
    ]


def test_a_resource_may_set_its_own_prefix_or_none() -> None:
    config = _config(
        _resource([GAUGE], metricNamePrefix="thing"), _resource([GAUGE], metricNamePrefix="")
    )
    assert [f.name for f in ksm_custom_resource_families(config)] == ["thing_ready", "ready"]


def test_the_vpa_config_defines_the_three_bounds_once_each() -> None:
    names = [f.name for f in ksm_custom_resource_families(custom_resource_state_config())]
    assert names == [
        TARGET,
        "kube_customresource_vpa_containerrecommendations_lowerbound",
        "kube_customresource_vpa_containerrecommendations_upperbound",
    ]


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"spec": {"resources": []}}, "of kind CustomResourceStateMetrics"),
        ({"kind": "CustomResourceStateMetrics"}, "spec.resources list"),
        (_config({"metrics": [GAUGE]}), "groupVersionKind"),
        (_config(_resource("ready")), "needs a metrics list"),
        (_config(_resource([{"name": "x", "each": {"type": "Histogram"}}])), "each.type"),
        (_config(_resource([GAUGE], metricNamePrefix=3)), "metricNamePrefix must be a string"),
        (_config(_resource([{**GAUGE, "name": "bad-name"}])), "is not a metric name"),
    ],
)
def test_configs_kube_state_metrics_would_refuse_are_errors(config: Any, problem: str) -> None:
    with pytest.raises(DerivedConfigError, match=problem):
        ksm_custom_resource_families(config)


# --- through the policy ---------------------------------------------------------------------


def _kps(ksm: Any) -> Resource:
    values = {} if ksm is None else {"kube-state-metrics": ksm}
    props = {"chart": "kube-prometheus-stack", "version": "88.5.3", "values": values}
    return resource(RELEASE, props, name="prometheus-stack", stack="prod")


def _board() -> Resource:
    board = {
        "title": "Cost",
        "panels": [{"title": "VPA target", "targets": [{"expr": f"max({TARGET})"}]}],
    }
    props = {
        "metadata": {"name": "board", "labels": {"grafana_dashboard": "1"}},
        "data": {"board.json": json.dumps(board)},
    }
    return resource("kubernetes:core/v1:ConfigMap", props, name="board", stack="prod")


def _messages(release: Resource) -> list[str]:
    return [f.message for f in findings_for(metric_provenance, [release, _board()], stack="prod")]


def test_the_vpa_target_has_a_producer_when_custom_resource_state_is_on() -> None:
    assert _messages(_kps(kube_state_metrics_values())) == []


def test_switched_off_custom_resource_state_darkens_the_panel_and_says_why() -> None:
    values = kube_state_metrics_values()
    values["customResourceState"]["enabled"] = False
    [message] = _messages(_kps(values))
    assert TARGET in message and "customResourceState.enabled is false" in message


def test_without_the_config_the_series_has_no_producer() -> None:
    [message] = _messages(_kps(None))
    assert f"reads {TARGET}: no producer in this stack" in message


def test_a_malformed_config_is_a_violation_naming_the_value() -> None:
    values = {"customResourceState": {"enabled": True, "config": {"kind": "Nope"}}}
    messages = _messages(_kps(values))
    assert any(
        "values.kube-state-metrics.customResourceState.config: must be a mapping of kind" in m
        for m in messages
    ), messages


def test_a_config_given_as_text_is_a_violation() -> None:
    values = {
        "customResourceState": {"enabled": True, "config": "kind: CustomResourceStateMetrics"}
    }
    messages = _messages(_kps(values))
    assert any("customResourceState.config must be an object" in m for m in messages), messages
