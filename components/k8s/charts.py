"""The vendored Helm charts (``vendor/charts/``): where they are, versions, how to install one.

Each chart's Chart.yaml is the only place its version is written; the releases read it from
there, and the offline validators read the same folder's values.yaml and CRDs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

CHARTS_DIR = Path(__file__).resolve().parents[2] / "vendor" / "charts"
RELEASE_TIMEOUT_SECONDS = 600
"""How long Helm waits for a release's resources; charts with slow starters pass more."""
RELEASE_HISTORY = 10
"""Revisions Helm keeps per release: enough to roll back by hand, few enough to stay small."""


def chart_dir(name: str) -> Path:
    """The vendored folder of chart ``name``."""
    return CHARTS_DIR / name


def chart_version(directory: Path) -> str:
    """The ``version`` of the vendored Chart.yaml in ``directory``."""
    return str(yaml.safe_load((directory / "Chart.yaml").read_text())["version"])


def vendored_release(
    logical: str,
    chart: str,
    directory: Path,
    *,
    repository: str,
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    values: Mapping[str, Any] | None = None,
    timeout: int = RELEASE_TIMEOUT_SECONDS,
    skip_crds: bool = False,
    release_name: str | None = None,
) -> k8s.helm.v3.Release:
    """Helm release ``chart`` at the version vendored in ``directory``.

    The Helm release is named after the chart unless ``release_name`` is given: release names
    are unique per namespace, so a second release of one chart in a namespace needs its own.
    ``repository`` is a chart repository URL, or an ``oci://`` registry, where the chart is
    ``<repository>/<chart>``. The namespace must already exist (the caller creates it with its
    Pod Security labels, and ``opts`` waits for it). A failed install or upgrade rolls back and
    removes what it created (``atomic``, ``cleanup_on_fail``).
    """
    if repository.startswith("oci://"):
        source: dict[str, Any] = {"chart": f"{repository}/{chart}"}
    else:
        source = {
            "chart": chart,
            "repository_opts": k8s.helm.v3.RepositoryOptsArgs(repo=repository),
        }
    return k8s.helm.v3.Release(
        logical,
        name=release_name or chart,
        **source,
        version=chart_version(directory),
        namespace=namespace,
        create_namespace=False,
        values=values,
        skip_crds=skip_crds or None,  # unset unless asked: Helm's default installs the CRDs
        atomic=True,
        cleanup_on_fail=True,
        timeout=timeout,
        max_history=RELEASE_HISTORY,
        opts=opts,
    )
