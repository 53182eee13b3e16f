"""Check the Helm values we set against the chart's own ``values.yaml``.

Helm merges our values over the chart's defaults and templates read them by path. A path the
templates never read (``controller.replica`` for ``controller.replicas``) is silently ignored, so
the release installs and simply lacks the setting. Most charts document every path they read in
``values.yaml``, which makes "every path we set exists there" a cheap, offline typo check.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml


def load_chart_values(chart_dir: Path) -> dict[str, Any]:
    """The chart's ``values.yaml`` as a mapping (empty when the file is empty).

    Each file is parsed once per content (path, size and modification time); every caller gets
    its own copy.
    """
    path = (chart_dir / "values.yaml").resolve()
    stat = path.stat()
    return copy.deepcopy(_parsed_values(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=64)
def _parsed_values(path: Path, _mtime_ns: int, _size: int) -> dict[str, Any]:
    # LibYAML's parser when PyYAML has it: chart values files run to thousands of lines.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(), Loader=loader)
    return dict(data or {})


def unknown_value_paths(
    values: Mapping[str, Any], chart_values: Mapping[str, Any], free_form: set[str]
) -> list[str]:
    """Dotted paths we set in ``values`` that ``chart_values`` (the chart's values.yaml) lacks.

    A path is accepted when the chart has it, or when it lies below a free-form node (the node
    itself must still exist in the chart). Free-form nodes are:

    - every map that is ``{}`` in values.yaml (``podAnnotations``, ``nodeSelector``,
      ``extraLabels``...): the chart passes it through, so any key below it is ours to choose;
    - every list in values.yaml (``tolerations``, ``extraEnv``, ``topologySpreadConstraints``...),
      and every list we set: list items are not paths;
    - every key whose default is ``null`` (an unset value of undocumented shape);
    - the entries of ``free_form``, for maps the chart fills with defaults but passes through as a
      whole, such as a pod ``securityContext``. An entry with a dot is a full path
      (``controller.podSecurityContext``); an entry without one is a key name that is free-form
      wherever it appears (``podAnnotations``).

    A map we set where the chart has a scalar is checked like any other map: each key below it is
    reported, since the chart has no path there. Paths are sorted; a key with a dot in it is
    written ``["key.with.dots"]``.
    """
    return sorted(_walk(values, chart_values, (), frozenset(free_form)))


def _walk(
    ours: Mapping[str, Any], chart: Any, path: tuple[str, ...], free_form: frozenset[str]
) -> Iterator[str]:
    for key, value in ours.items():
        here = (*path, str(key))
        if not isinstance(chart, Mapping) or key not in chart:
            yield _dotted(here)
            continue
        default = chart[key]
        free = default is None or isinstance(default, list) or default == {}
        if free or _is_free_form(here, free_form):
            continue
        if isinstance(value, Mapping):
            yield from _walk(value, default, here, free_form)


def _is_free_form(path: tuple[str, ...], free_form: frozenset[str]) -> bool:
    return path[-1] in free_form or ".".join(path) in free_form


def _dotted(path: tuple[str, ...]) -> str:
    text = ""
    for part in path:
        if "." in part:
            text += f'["{part}"]'
        else:
            text += f".{part}" if text else part
    return text
