"""The vendored Helm charts (``vendor/charts/``): where they are and which version we install.

Each chart's Chart.yaml is the only place its version is written; the releases read it from
there, and the offline validators read the same folder's values.yaml and CRDs.
"""

from __future__ import annotations

from pathlib import Path

import yaml

CHARTS_DIR = Path(__file__).resolve().parents[2] / "vendor" / "charts"


def chart_dir(name: str) -> Path:
    """The vendored folder of chart ``name``."""
    return CHARTS_DIR / name


def chart_version(directory: Path) -> str:
    """The ``version`` of the vendored Chart.yaml in ``directory``."""
    return str(yaml.safe_load((directory / "Chart.yaml").read_text())["version"])
