"""The disaster-recovery playbooks in docs/dr: structure, cited alerts and configuration keys.

Each check is a function returning the problems it finds, run on the real documents (which must
have none) and on broken copies (which must be reported), so a check that stops looking fails
here too.
"""

from __future__ import annotations

import re

import pytest

from components.k8s.velero import DAILY_RETENTION_DAYS, HOURLY_RETENTION_HOURS
from components.monitoring.alerts import alerts_by_name, kebab
from config import config_keys
from tests.conftest import ROOT

DR_DIR = ROOT / "docs" / "dr"
RUNBOOK_DIR = ROOT / "docs" / "runbooks"
PLAYBOOKS = (
    "region-loss",
    "database-corruption",
    "accidental-deletion",
    "compromised-credentials",
    "vault-loss",
)
REFERENCES = ("database-exports",)
"""Companion documents of the playbooks (what a backup holds, how to restore from it)."""
REQUIRED_SECTIONS = ("Trigger", "Owners", "Objectives", "Steps", "Verification", "Follow-up")
RTO, RPO = "RTO 2 h", "RPO 1 h"

_HEADING = re.compile(r"^## (.+?)\s*$")
_FENCE = re.compile(r"^\s*```")
_ALERT_LIKE = re.compile(r"`([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+)`")
_RUNBOOK_LINK = re.compile(r"\[`?([^\]`]+)`?\]\(\.\./runbooks/([^)#]+)\)")
_CONFIG_KEY = re.compile(r"\bttbt2:([A-Za-z][A-Za-z0-9]*)(?![:\w])")  # not ttbt2:aws:Type
_PLANNED_ITEM = re.compile(r"^- `ttbt2:([A-Za-z][A-Za-z0-9]*)`", re.MULTILINE)
_ROLE = re.compile(r"^- \*\*([^*]+)\*\*", re.MULTILINE)
_NUMBERED = re.compile(r"^\d+\. ", re.MULTILINE)


def read(name: str) -> str:
    return (DR_DIR / f"{name}.md").read_text()


def sections(text: str) -> dict[str, str]:
    """Level-2 sections by heading, in order; headings inside code blocks do not count."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading:
            current = found.setdefault(heading.group(1), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def structure_problems(text: str) -> list[str]:
    """Missing or out-of-order sections, steps without numbers or commands, empty sections."""
    found = sections(text)
    problems = [f"missing section '## {name}'" for name in REQUIRED_SECTIONS if name not in found]
    present = [name for name in found if name in REQUIRED_SECTIONS]
    if not problems and present != list(REQUIRED_SECTIONS):
        problems.append(f"sections out of order: {present}")
    for name in REQUIRED_SECTIONS:
        if name in found and not found[name].strip():
            problems.append(f"section '## {name}' is empty")
    steps = found.get("Steps", "")
    if steps and not _NUMBERED.search(steps):
        problems.append("Steps are not a numbered list")
    if steps and "```" not in steps:
        problems.append("Steps carry no command block")
    objectives = found.get("Objectives", "")
    for target in (RTO, RPO):
        if objectives and target not in objectives:
            problems.append(f"Objectives do not state {target}")
    follow_up = found.get("Follow-up", "").lower()
    if follow_up and ("post-mortem" not in follow_up or "drill log" not in follow_up):
        problems.append("Follow-up must plan the post-mortem and the drill log entry")
    return problems


def trigger_alerts(text: str) -> list[str]:
    """Alert-like names (backticked CamelCase) the Trigger section cites."""
    return _ALERT_LIKE.findall(sections(text).get("Trigger", ""))


def alert_problems(text: str) -> list[str]:
    """Cited alerts missing from the catalog, and runbook links that do not match their alert.

    In the Trigger section every backticked CamelCase word is an alert name, and there must be
    at least one. Anywhere in the text, a link into ``../runbooks/`` whose text is a CamelCase
    name must name a catalogued alert and point at that alert's own runbook; every linked
    runbook must exist.
    """
    catalog = alerts_by_name()
    cited = trigger_alerts(text)
    problems = [] if cited else ["the Trigger section cites no alert"]
    problems += [f"unknown alert {name!r}" for name in cited if name not in catalog]
    for name, target in _RUNBOOK_LINK.findall(text):
        if not _ALERT_LIKE.fullmatch(f"`{name}`"):
            if not (RUNBOOK_DIR / target).is_file():
                problems.append(f"runbook {target} does not exist")
        elif name not in catalog:
            problems.append(f"runbook link names unknown alert {name!r}")
        elif target != f"{kebab(name)}.md":
            problems.append(f"{name} links to {target}, not its runbook {kebab(name)}.md")
        elif not (RUNBOOK_DIR / target).is_file():
            problems.append(f"{name}: runbook {target} does not exist")
    return problems


def planned_keys() -> set[str]:
    """Keys listed (``- `ttbt2:key```) under '## Planned configuration keys' in the README."""
    section = sections((DR_DIR / "README.md").read_text()).get("Planned configuration keys", "")
    return set(_PLANNED_ITEM.findall(section))


def config_key_problems(text: str, planned: set[str]) -> list[str]:
    """``ttbt2:`` keys that are neither settings nor listed as planned."""
    known = set(config_keys())
    return [
        f"unknown config key ttbt2:{key} (add it to settings or to the planned keys)"
        for key in sorted(set(_CONFIG_KEY.findall(text)))
        if key not in known and key not in planned
    ]


# ---- the real playbooks ----------------------------------------------------------------------


def test_docs_dr_holds_the_index_the_five_playbooks_and_their_references() -> None:
    names = {path.stem for path in DR_DIR.glob("*.md")}
    assert names == {"README", *PLAYBOOKS, *REFERENCES}
    index = (DR_DIR / "README.md").read_text()
    for name in (*PLAYBOOKS, *REFERENCES):
        assert f"]({name}.md)" in index, f"README.md does not link {name}.md"


def test_index_states_the_objectives_and_the_quarterly_drill() -> None:
    index = (DR_DIR / "README.md").read_text()
    found = sections(index)
    assert "**RTO**" in found["Objectives"] and "**2 h**" in found["Objectives"]
    assert "**RPO**" in found["Objectives"] and "**1 h**" in found["Objectives"]
    assert "recovery-drill.yml" in found["Drills"]
    assert "quarter" in found["Drills"]


def test_index_states_the_velero_retention_the_component_applies() -> None:
    index = (DR_DIR / "README.md").read_text()
    days = " / ".join(str(DAILY_RETENTION_DAYS[env]) for env in ("dev", "staging", "prod"))
    assert f"kept {days} days in dev / staging / prod" in index
    assert f"(kept {HOURLY_RETENTION_HOURS} h)" in index


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_playbook_has_every_required_section(name: str) -> None:
    assert structure_problems(read(name)) == []


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_playbook_cites_only_alerts_of_the_catalog(name: str) -> None:
    assert alert_problems(read(name)) == []


def test_index_cites_only_alerts_of_the_catalog() -> None:
    table = sections((DR_DIR / "README.md").read_text())["Playbooks"]
    cited = _ALERT_LIKE.findall(table)
    assert cited
    assert sorted(set(cited) - set(alerts_by_name())) == []


@pytest.mark.parametrize("name", [*PLAYBOOKS, "README"])
def test_config_keys_exist_or_are_planned(name: str) -> None:
    assert config_key_problems(read(name), planned_keys()) == []


def test_planned_keys_are_not_settings_yet() -> None:
    """Once the pilot-light work adds a planned key, the playbooks must stop calling it planned."""
    assert sorted(planned_keys() & set(config_keys())) == []


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_owners_are_roles_the_index_defines(name: str) -> None:
    roles = set(_ROLE.findall(sections((DR_DIR / "README.md").read_text())["Roles"]))
    owners = _ROLE.findall(sections(read(name))["Owners"])
    assert owners
    assert [owner for owner in owners if owner not in roles] == []


# ---- the checks find what they must ----------------------------------------------------------

SAMPLE = read("vault-loss")


@pytest.mark.parametrize("section", REQUIRED_SECTIONS)
def test_a_removed_section_is_reported(section: str) -> None:
    broken = SAMPLE.replace(f"\n## {section}\n", f"\n## {section} (draft)\n")
    assert broken != SAMPLE
    assert f"missing section '## {section}'" in structure_problems(broken)


def test_steps_without_commands_or_numbers_and_wrong_objectives_are_reported() -> None:
    steps = sections(SAMPLE)["Steps"]
    no_code = SAMPLE.replace(steps, "\nRestore Vault.\n")
    assert {"Steps are not a numbered list", "Steps carry no command block"} <= set(
        structure_problems(no_code)
    )
    assert "Objectives do not state RTO 2 h" in structure_problems(
        SAMPLE.replace("**RTO 2 h**", "**RTO 4 h**")
    )
    moved = SAMPLE.replace("## Verification", "## Checks").replace("## Steps", "## Verification")
    assert structure_problems(moved.replace("## Checks", "## Steps"))[0].startswith(
        "sections out of order"
    )


def test_a_misspelt_or_mislinked_alert_is_reported() -> None:
    assert "unknown alert 'DependencyDwn'" in alert_problems(
        SAMPLE.replace("[`DependencyDown`](", "[`DependencyDwn`](", 1)
    )
    assert "unknown alert 'ServiceEndpointDwn'" in alert_problems(
        SAMPLE.replace("## Trigger\n", "## Trigger\n\n- `ServiceEndpointDwn`\n")
    )
    missing = SAMPLE.replace("vault-database-bootstrap.md", "vault-bootstrap.md")
    assert "runbook vault-bootstrap.md does not exist" in alert_problems(missing)
    mislinked = SAMPLE.replace(
        "../runbooks/dependency-down.md", "../runbooks/scrape-target-down.md"
    )
    assert any("not its runbook" in p for p in alert_problems(mislinked))
    trigger = sections(SAMPLE)["Trigger"]
    assert "the Trigger section cites no alert" in alert_problems(
        SAMPLE.replace(trigger, "\nVault is gone.\n")
    )


def test_an_unknown_config_key_is_reported_unless_planned() -> None:
    text = SAMPLE + "\n`ttbt2:vaultAdress`\n"
    assert config_key_problems(text, set()) == [
        "unknown config key ttbt2:vaultAdress (add it to settings or to the planned keys)"
    ]
    assert config_key_problems(text, {"vaultAdress"}) == []
    assert "ttbt2:drActive" in read("region-loss")
    assert config_key_problems(read("region-loss"), set()) == [], "drActive is a setting"
