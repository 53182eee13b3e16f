"""The rules name fields, never keys: every field a rule names exists, and rules run per domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from config import DOMAINS, key_of
from config.models.data import DatabaseSettings
from config.rules import RULES, domains_of
from tests.conftest import ROOT

RULES_DIR = ROOT / "config" / "rules"
FIELDS = {name for model in DOMAINS.values() for name in model.model_fields}


def _named_fields(path: Path) -> list[tuple[int, str]]:
    """``(line, field)`` of every literal field name passed to ``bad`` or ``key_of``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("bad", "key_of")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            found.append((node.lineno, node.args[1].value))
    return found


@pytest.mark.parametrize("path", sorted(RULES_DIR.glob("*.py")), ids=lambda p: p.name)
def test_every_field_a_rule_names_exists(path: Path) -> None:
    missing = [(line, name) for line, name in _named_fields(path) if name not in FIELDS]
    assert missing == [], f"{path.name}: fields no domain has: {missing}"


def test_the_scan_sees_the_rules_field_names() -> None:
    names = {name for _, name in _named_fields(RULES_DIR / "data.py")}
    assert {"backup_retention_days", "instance_class", "nodes"} <= names


def test_a_renamed_field_fails_loudly() -> None:
    assert key_of(DatabaseSettings, "backup_retention_days") == "dbBackupRetentionDays"
    with pytest.raises(KeyError):
        key_of(DatabaseSettings, "db_backup_retention_days")


def test_every_rule_reads_only_settings_domains() -> None:
    known = set(DOMAINS.values())
    for rule in RULES:
        needed = domains_of(rule)
        assert needed, rule.__name__
        assert set(needed) <= known, rule.__name__
