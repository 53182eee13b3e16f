"""Vault policies: no sudo/root, no writes through wildcards, nothing on sys/ globs (platform rule).

Also the strict parser of the Vault policy subset the rule reads, and Vault's glob semantics.
"""

from __future__ import annotations

from typing import Any

import pulumi_vault as vault
import pytest
from pulumi.type_token import get_type_token

from components.vault.config import deployer_policy_hcl, service_policy_hcl
from offline.graph import Resource
from policies.ttbt2_policies import ALL_POLICIES
from policies.ttbt2_policies.vault import (
    POLICY,
    PathRule,
    VaultPolicyParseError,
    glob_matches,
    has_wildcard,
    parse_vault_policy,
    vault_policy_least_privilege,
    violations_of,
)
from tests.support.policies import UNKNOWN, findings_for, resource, violations

BASELINE = """\
# ttbt2-dev-api: what the api service reads
path "kv/data/ttbt2/dev/api/*" {
  capabilities = ["read"]
}
path "database-dev/creds/api" {
  capabilities = ["read"]
}
path "kv/data/ttbt2/dev/api/config" {
  capabilities = ["create", "update"]
}
path "sys/capabilities-self" {
  capabilities = ["update"]
}
"""


def policy(text: Any = BASELINE, **extra: Any) -> Resource:
    props = {"name": "ttbt2-dev-api", **extra}
    if text is not None:
        props["policy"] = text
    return resource(POLICY, props)


def run(res: Resource) -> list[Any]:
    return findings_for(vault_policy_least_privilege, [res])


def with_block(path: str, *caps: str) -> str:
    quoted = ", ".join(f'"{c}"' for c in caps)
    return BASELINE + f'path "{path}" {{\n  capabilities = [{quoted}]\n}}\n'


# --- the rule ----------------------------------------------------------------------------------


def test_rule_is_registered_mandatory_and_a_platform_rule() -> None:
    assert vault_policy_least_privilege in ALL_POLICIES
    assert vault_policy_least_privilege.name == "vault-policy-least-privilege"
    assert vault_policy_least_privilege.enforcement_level is not None
    assert vault_policy_least_privilege.enforcement_level.value == "mandatory"
    assert "platform rule" in (vault_policy_least_privilege.description or "").lower()


def test_type_token_exists_in_the_installed_sdk() -> None:
    """A misspelt token would silently make the rule apply to nothing."""
    assert get_type_token(vault.Policy) == POLICY


def test_baseline_is_compliant() -> None:
    assert run(policy()) == []


def test_json_form_is_read_too() -> None:
    text = '{"path": {"kv/data/ttbt2/dev/api/*": {"capabilities": ["read"]}}}'
    assert run(policy(text)) == []
    bad = '{"path": {"kv/data/*": {"capabilities": ["update"]}}}'
    assert len(violations(run(policy(bad)))) == 1


def test_rule_applies_to_vault_policies_only() -> None:
    other = resource("vault:index/mount:Mount", {"policy": 'path "*" {capabilities=["sudo"]}'})
    assert run(other) == []


VIOLATING: list[tuple[str, str, tuple[str, ...], str]] = [
    ("sudo", "auth/token/create", ("update", "sudo"), "grants 'sudo'"),
    ("root", "kv/data/ttbt2/dev/api/x", ("read", "root"), "grants 'root'"),
    ("create-on-star", "kv/data/ttbt2/dev/*", ("create",), "holds a wildcard and grants"),
    ("update-on-plus", "kv/data/ttbt2/+/api", ("update",), "holds a wildcard and grants"),
    ("delete-on-star", "kv/metadata/ttbt2/*", ("delete",), "['delete']"),
    ("patch-on-star", "kv/data/*", ("read", "patch"), "['patch']"),
    ("sys-star", "sys/*", ("read",), "sys/ itself"),
    ("sys-root", "sys/", ("list",), "sys/ itself"),
    ("sys-bare", "sys", ("read",), "sys/ itself"),
    ("sys-policy-star", "sys/policy/*", ("read",), "wildcard reaching sys/"),
    ("sys-plus", "sys/mounts/+", ("read",), "wildcard reaching sys/"),
    ("sys-prefix", "sys*", ("read",), "wildcard reaching sys/"),
    ("everything", "*", ("read",), "wildcard reaching sys/"),
    ("unknown-capability", "kv/data/ttbt2/dev/api", ("read", "write"), "not a Vault capability"),
]


@pytest.mark.parametrize(
    ("path", "caps", "expected"), [v[1:] for v in VIOLATING], ids=[v[0] for v in VIOLATING]
)
def test_each_violation_alone(path: str, caps: tuple[str, ...], expected: str) -> None:
    [finding] = run(policy(with_block(path, *caps)))
    assert finding.kind == "violation" and finding.enforcement == "mandatory"
    assert finding.policy == "vault-policy-least-privilege"
    assert expected in finding.message
    assert repr(path) in finding.message


@pytest.mark.parametrize(
    ("path", "caps"),
    [
        ("kv/data/ttbt2/dev/*", ("read", "list")),
        ("sys/capabilities-self", ("update",)),
        ("sys/leases/renew", ("update",)),
        ("sysadmin/*", ("read",)),
        ("sys/mounts/+/tune", ("read",)),
        ("kv/data/*", ("deny", "update")),
        ("*", ("deny",)),
    ],
)
def test_allowed_neighbours(path: str, caps: tuple[str, ...]) -> None:
    """Exact sys/ paths, reads through globs and deny blocks grant nothing the rule forbids."""
    assert run(policy(with_block(path, *caps))) == []


def test_every_problem_is_reported() -> None:
    text = with_block("sys/*", "sudo") + 'path "kv/*" { capabilities = ["update"] }\n'
    messages = [f.message for f in run(policy(text))]
    assert len(messages) == 3
    assert any("grants 'sudo'" in m for m in messages)
    assert any("sys/ itself" in m for m in messages)
    assert any("'kv/*' holds a wildcard" in m for m in messages)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('path "kv/data/x" { capabilities = ["read"]', "line 1, column 43"),
        ('path "kv/data/x" {\n  capabilities = ["read" "list"]\n}', "line 2, column 26"),
        ('path "kv/data/x" { allowed_parameters = {} }', "unsupported attribute"),
        ('paths "kv/data/x" { capabilities = ["read"] }', "expected a path block"),
        ("/* never closed", "unterminated /* comment"),
        ('{"path": []}', "must map each glob"),
    ],
)
def test_unparseable_policy_is_a_violation_with_the_parse_error(text: str, expected: str) -> None:
    [finding] = run(policy(text))
    assert finding.kind == "violation"
    assert "not a Vault policy this rule can read" in finding.message
    assert expected in finding.message


def test_missing_policy_is_a_violation() -> None:
    [finding] = run(policy(None))
    assert finding.kind == "violation"
    assert "a Vault policy without rules" in finding.message


@pytest.mark.parametrize("text", ["", "  \n", "# only a comment\n"])
def test_policy_without_path_blocks_is_a_violation(text: str) -> None:
    [finding] = run(policy(text))
    assert "a Vault policy without rules" in finding.message


@pytest.mark.parametrize("value", [7, True, ["path"], {"path": {}}])
def test_wrongly_typed_policy_is_a_violation(value: Any) -> None:
    [finding] = run(policy(value))
    assert finding.kind == "violation"
    assert "policy must be a string" in finding.message


def test_unknown_policy_is_a_note() -> None:
    [finding] = run(policy(UNKNOWN))
    assert finding.kind == "note" and finding.enforcement == "advisory"
    assert "can't run during preview" in finding.message


# --- the platform's own policies ---------------------------------------------------------------


@pytest.mark.parametrize("service", ["api", "worker"])
@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_generated_service_policies_pass(environment: str, service: str) -> None:
    assert run(policy(service_policy_hcl(environment, "kv", service))) == []


def test_deployer_policy_is_out_of_band_because_it_needs_sudo() -> None:
    """The deploy identity's policy holds sudo on exactly one path, so no program may own it."""
    rules = parse_vault_policy(deployer_policy_hcl("dev", "kv", ["api"]))
    messages = list(violations_of(rules))
    assert messages == [
        "path 'sys/auth/kubernetes-dev' grants 'sudo': sudo and root reach Vault's privileged "
        "endpoints, which no policy managed by the platform may hold"
    ]


# --- parser ------------------------------------------------------------------------------------


def test_parser_reads_blocks_comments_and_trailing_commas() -> None:
    text = """
    # hash comment
    // slash comment
    /* block
       comment */ path "a/b" { capabilities = ["read", "list",] }
    path "c/+/d" {
      capabilities = []
    }
    path "e\\"f" { capabilities = ["read"] }
    """
    assert parse_vault_policy(text) == [
        PathRule("a/b", ("read", "list"), 5),
        PathRule("c/+/d", (), 6),
        PathRule('e"f', ("read",), 9),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('path "a" {', 'expected "}" closing path "a", found the end of the policy'),
        ("path a {}", "expected the quoted path after 'path'"),
        ('path "a" { capabilities = "read" }', '"[" opening the capabilities'),
        ('path "a" { capabilities = ["read"] capabilities = ["list"] }', "given twice"),
        ('path "a" {}', 'path "a" has no capabilities'),
        ('path "a\nb" {}', "unterminated string"),
        ('path "a\\q" {}', "unsupported escape"),
        ('path "a" { capabilities = ["read"] } ;', "unexpected character ';'"),
        ("{not json", "invalid JSON"),
        ('{"path": {"a": {"capabilities": "read"}}}', "must be a list of strings"),
        ('{"path": {"a": {"capabilities": [], "x": 1}}}', "with capabilities only"),
        ('{"paths": {}}', 'one key, "path"'),
    ],
)
def test_parser_refuses_anything_else(text: str, expected: str) -> None:
    with pytest.raises(VaultPolicyParseError) as caught:
        parse_vault_policy(text)
    assert expected in str(caught.value)


def test_parse_error_names_line_and_column() -> None:
    with pytest.raises(VaultPolicyParseError) as caught:
        parse_vault_policy('path "a" {\n  capabilities = ["read"]\n  bogus = 1\n}')
    assert (caught.value.line, caught.value.column) == (3, 3)
    assert str(caught.value).startswith("line 3, column 3: ")


def test_parsed_rules_feed_the_checks_directly() -> None:
    assert list(violations_of([])) == ["a Vault policy without rules: the text holds no path block"]


# --- globs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("kv/data/a", "kv/data/a", True),
        ("kv/data/a", "kv/data/a/b", False),
        ("kv/data/a/*", "kv/data/a/b/c", True),
        ("kv/data/a*", "kv/data/ab", True),
        ("kv/+/a", "kv/data/a", True),
        ("kv/+/a", "kv/data/x/a", False),
        ("kv/+/a", "kv//a", False),
        ("*", "sys/policy/x", True),
        ("kv/data.x", "kv/dataax", False),
    ],
)
def test_glob_matches_like_vault(glob: str, path: str, matches: bool) -> None:
    assert glob_matches(glob, path) is matches


@pytest.mark.parametrize(("path", "wild"), [("a/*", True), ("a/+/b", True), ("a/b", False)])
def test_has_wildcard(path: str, wild: bool) -> None:
    assert has_wildcard(path) is wild
