"""Pulumi.yaml and the stack files stay in step with the settings model."""

from __future__ import annotations

import re
from typing import Any, get_origin

import pytest
import yaml

from config import NAMESPACE, config_keys
from scripts.project_config import project_config, render
from tests.conftest import ROOT, STACKS, stack_values


def _project() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "Pulumi.yaml").read_text()))


def test_project_file_is_generated_from_the_model() -> None:
    assert (ROOT / "Pulumi.yaml").read_text() == render(), (
        "Pulumi.yaml is stale: run `python scripts/project_config.py --write`"
    )


def test_every_key_declared_with_description_and_default() -> None:
    """Every key has a default, except optional keys whose absence the environment decides."""
    declared = _project()["template"]["config"]
    assert set(declared) == {f"{NAMESPACE}:{k}" for k in config_keys()}
    for key, decl in declared.items():
        assert decl["description"].strip(), key
        field = config_keys()[key.removeprefix(f"{NAMESPACE}:")]
        decided_by_environment = field.default is None
        assert ("default" in decl) is not decided_by_environment, key
    assert declared == project_config()


def test_project_runtime_uses_the_locked_virtualenv() -> None:
    project = _project()
    assert project["name"] == "ttbt2-platform"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "uv", "virtualenv": ".venv"},
    }


def _is_object_key(key: str) -> bool:
    """Whether ``key`` is one of ours declared as an object (a map of strings)."""
    field = config_keys().get(key.removeprefix(f"{NAMESPACE}:"))
    return (
        key.startswith(f"{NAMESPACE}:")
        and field is not None
        and get_origin(field.annotation) is dict
    )


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_use_only_declared_keys_and_secure_secrets(stack: str) -> None:
    declared = set(_project()["template"]["config"])
    for key, value in stack_values(stack).items():
        namespace = key.split(":", 1)[0]
        assert namespace in {NAMESPACE, "aws", "gcp", "azure-native", "kubernetes"}, key
        if namespace == NAMESPACE:
            assert key in declared, key
        # An object-valued key (a map such as alertTeamEmails) holds plain strings; any other
        # mapping must be a secret.
        if isinstance(value, dict) and not _is_object_key(key):
            assert set(value) == {"secure"}, f"{key}: secrets only as secure: values"
        if isinstance(value, dict) and _is_object_key(key):
            assert all(isinstance(v, str) for v in value.values()), key
        # A key that holds a credential (not one that lists references, like vaultSecrets).
        if re.search(r"(password|token|secret|apikey)$", key, re.IGNORECASE):
            assert isinstance(value, dict) and "secure" in value, f"{key} must be a secure: value"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_name_a_kms_secrets_provider(stack: str) -> None:
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    assert doc["secretsprovider"].startswith("awskms://")
