"""The VPA's recommendations as Prometheus metrics, for the right-sizing view (seed 4.11.2).

kube-state-metrics v2 dropped its ``kube_verticalpodautoscaler_*`` metrics; its custom resource
state feature reads any resource instead. These are the kube-prometheus-stack values that turn
it on for ``VerticalPodAutoscaler`` (``autoscaling.k8s.io/v1``, the CRD of
``vendor/charts/vertical-pod-autoscaler``) and let kube-state-metrics list and watch them.

Per container of each VPA, one gauge per bound (:data:`BOUNDS`) and resource:
``kube_customresource_vpa_containerrecommendations_<bound>{namespace, verticalpodautoscaler,
target_kind, target_name, container, resource="cpu"|"memory", unit="core"|"byte"}``. The
names follow kube-state-metrics' rule (``<metricNamePrefix>_<name>``, prefix
``kube_customresource``); the metric catalog derives them from these values
(``policies/ttbt2_policies/metric_catalog.py``, ``ksm_custom_resource_families``), so a panel
reading a bound dropped here fails the metric-provenance policy. kube-state-metrics parses
Kubernetes quantities (``250m``, ``512Mi``) into cores and bytes.
"""

from __future__ import annotations

from typing import Any

VPA_GROUP = "autoscaling.k8s.io"
VPA_VERSION = "v1"
VPA_KIND = "VerticalPodAutoscaler"
METRIC_PREFIX = "kube_customresource"
BOUNDS = {"target": "target", "lowerBound": "lowerbound", "upperBound": "upperbound"}
"""Recommendation field -> the metric name's suffix (``vpa_containerrecommendations_<suffix>``)."""
RESOURCES = {"cpu": "core", "memory": "byte"}
"""Resource -> the unit kube-state-metrics reports it in."""


def metric_name(bound: str) -> str:
    """The series of one bound: ``kube_customresource_vpa_containerrecommendations_target``."""
    return f"{METRIC_PREFIX}_vpa_containerrecommendations_{BOUNDS[bound]}"


def _metric(bound: str, resource: str, unit: str) -> dict[str, Any]:
    return {
        "name": f"vpa_containerrecommendations_{BOUNDS[bound]}",
        "help": f"VPA {bound} recommendation of a container's {resource}.",
        "commonLabels": {"resource": resource, "unit": unit},
        "each": {
            "type": "Gauge",
            "gauge": {
                "path": ["status", "recommendation", "containerRecommendations"],
                "valueFrom": [bound, resource],
                "labelsFromPath": {"container": ["containerName"]},
            },
        },
    }


def custom_resource_state_config() -> dict[str, Any]:
    """kube-state-metrics' ``CustomResourceStateMetrics`` config for the VPA."""
    return {
        "kind": "CustomResourceStateMetrics",
        "spec": {
            "resources": [
                {
                    "groupVersionKind": {
                        "group": VPA_GROUP,
                        "version": VPA_VERSION,
                        "kind": VPA_KIND,
                    },
                    "labelsFromPath": {
                        "verticalpodautoscaler": ["metadata", "name"],
                        "namespace": ["metadata", "namespace"],
                        "target_kind": ["spec", "targetRef", "kind"],
                        "target_name": ["spec", "targetRef", "name"],
                    },
                    "metrics": [
                        _metric(bound, resource, unit)
                        for bound in BOUNDS
                        for resource, unit in RESOURCES.items()
                    ],
                }
            ]
        },
    }


def kube_state_metrics_values() -> dict[str, Any]:
    """The ``kube-state-metrics`` subchart values: the config, and RBAC to list the VPAs.

    The chart's ClusterRole already grants listing CRDs (``rbac.customResourceState``), which
    kube-state-metrics needs to discover the resource; ``extraRules`` adds the VPAs themselves,
    read-only.
    """
    return {
        "customResourceState": {"enabled": True, "config": custom_resource_state_config()},
        "rbac": {
            "extraRules": [
                {
                    "apiGroups": [VPA_GROUP],
                    "resources": ["verticalpodautoscalers"],
                    "verbs": ["list", "watch"],
                }
            ]
        },
    }
