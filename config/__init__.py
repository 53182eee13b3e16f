"""The stack settings: nested models per domain behind the flat ``ttbt2:`` keys.

This package is pure: it registers no resources and talks to no cloud. It turns the raw
``ttbt2:*`` configuration of one stack into a frozen :class:`Settings` object, or raises
:class:`SettingsError` with one message that names every bad key, the value given and what is
allowed.

- :mod:`config.models`: one pydantic model per domain; each field's alias is its flat key;
- :mod:`config.rules`: the cross-field rules, one module per domain;
- :mod:`config.floors`: the per-environment floors (one table, shared with the policy pack);
- :mod:`config.constants`: what AWS, GCP and the platform accept.

``scripts/project_config.py`` writes Pulumi.yaml's key declarations from these models and
``tests/test_project_file.py`` keeps the two in step.
"""

from __future__ import annotations

from config import constants
from config.constants import instance_architecture
from config.floors import Floors, floors_for
from config.parse import from_config_values, from_pulumi_config, parse_raw
from config.problems import NAMESPACE, Problem, SettingsError, format_problems, key_of
from config.settings import DOMAINS, FlatKey, Settings, config_keys, flat_keys

__all__ = [
    "DOMAINS",
    "NAMESPACE",
    "FlatKey",
    "Floors",
    "Problem",
    "Settings",
    "SettingsError",
    "config_keys",
    "constants",
    "flat_keys",
    "floors_for",
    "format_problems",
    "from_config_values",
    "from_pulumi_config",
    "instance_architecture",
    "key_of",
    "parse_raw",
]
