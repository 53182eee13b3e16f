"""Write a stack's artifacts to a folder so anyone can run the upstream tools on them by hand.

Everything is taken from the recorded resource graph, that is from what the program would
deploy, not recomputed: Kubernetes objects as manifests, the rule groups of every
``PrometheusRule`` as Prometheus rule files, every dashboard ConfigMap as Grafana JSON, the
Alertmanager configuration from the monitoring release's values, and each Helm release's values.
Secret values never reach the folder: secrets are written masked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from offline.graph import MASK, SECRET_SIG, SECRET_SIG_KEY, Resource, StackGraph

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _file_name(*parts: str) -> str:
    return _SAFE.sub("-", "-".join(p for p in parts if p)).strip("-").lower()


def masked(value: Any, *, secret: bool = False) -> Any:
    """Plain data with every secret leaf replaced by ``[secret]`` and its structure kept.

    A secret object (say a Secret's whole ``stringData``) keeps its keys, so the manifest
    still has the shape its schema expects.
    """
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return masked(value.get("value"), secret=True)
        return {k: masked(v, secret=secret) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, secret=secret) for v in value]
    return MASK if secret and value is not None else value


def manifest(resource: Resource) -> dict[str, Any] | None:
    """The Kubernetes object a resource stands for (secrets masked), or None for other types."""
    if not resource.type.startswith("kubernetes:") or resource.type == HELM_RELEASE:
        return None
    props = masked(resource.props)
    if "apiVersion" not in props or "kind" not in props:
        # Typed resources leave apiVersion and kind to the type token: group/version:Kind.
        group_version, kind = resource.type.split(":", 1)[1].rsplit(":", 1)
        group, version = group_version.split("/", 1)
        props = {
            "apiVersion": version if group == "core" else f"{group}/{version}",
            "kind": kind,
            **props,
        }
    # The conventional order, so the files read like hand-written manifests.
    head = {k: props[k] for k in ("apiVersion", "kind", "metadata") if k in props}
    return {**head, **{k: v for k, v in props.items() if k not in head}}


def deployed_rule_groups(graph: StackGraph) -> list[dict[str, Any]]:
    """The rule groups of every PrometheusRule the stack deploys."""
    groups: list[dict[str, Any]] = []
    for res in graph.resources:
        obj = manifest(res)
        if obj is not None and obj["kind"] == "PrometheusRule":
            groups += list((obj.get("spec") or {}).get("groups") or [])
    return groups


def deployed_alertmanager_config(graph: StackGraph) -> dict[str, Any] | None:
    """The Alertmanager configuration in the monitoring release's values, if the stack has one."""
    for res in graph.resources:
        if res.type == HELM_RELEASE and res.props.get("chart") == "kube-prometheus-stack":
            values = masked(res.props.get("values") or {})
            config = (values.get("alertmanager") or {}).get("config")
            if isinstance(config, dict):
                return config
    return None


def _dump(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        path.write_text(yaml.safe_dump(document, sort_keys=False, width=100))


def render(graph: StackGraph, out: Path) -> list[Path]:
    """Write every artifact of ``graph`` under ``out``; return the files written."""
    written: list[Path] = []

    def emit(path: Path, document: Any) -> None:
        _dump(path, document)
        written.append(path)

    for res in graph.resources:
        obj = manifest(res)
        if obj is not None:
            meta = obj.get("metadata") or {}
            name = _file_name(
                str(obj["kind"]), str(meta.get("namespace", "")), str(meta.get("name", res.name))
            )
            emit(out / "manifests" / f"{name}.yaml", obj)
            if obj["kind"] == "PrometheusRule":
                emit(
                    out / "rules" / f"{meta.get('name', res.name)}.yaml",
                    {"groups": obj["spec"]["groups"]},
                )
            labels = meta.get("labels") or {}
            if obj["kind"] == "ConfigMap" and labels.get("grafana_dashboard") == "1":
                for key, text in (obj.get("data") or {}).items():
                    if key.endswith(".json") and text != MASK:
                        emit(out / "dashboards" / key, json.loads(text))
        elif res.type == HELM_RELEASE:
            values = masked(res.props.get("values") or {})
            chart = str(res.props.get("chart", res.name))
            emit(out / "helm" / f"{_file_name(res.name)}-values.yaml", values)
            if chart == "kube-prometheus-stack":
                config = deployed_alertmanager_config(StackGraph(graph.project, graph.stack, [res]))
                if config is not None:
                    emit(out / "alertmanager.yaml", config)
    return written
