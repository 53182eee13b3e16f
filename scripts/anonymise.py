"""The SQL and names of the anonymisation pipeline (.github/workflows/anonymise.yml).

Staging's data (seed 4.2) is production's, masked: the workflow restores a production snapshot
into an isolated instance, runs what this script writes, snapshots the result as
``ttbt2-anonymised-<YYYY-MM-DD>`` and deletes the instance. What is masked, and how, is prod's
stack configuration (``ttbt2:piiColumns``, validated by the settings model); ``plan`` writes:

- ``mask.sql``: one ``UPDATE`` per table, every configured column in it, run in one
  transaction. ``email`` becomes ``user-<16 hex>@example.invalid``, ``hash`` the hex SHA-256 of
  the value with a per-run salt (equal values stay equal, so joins and uniqueness survive; the
  salt is never stored, so nobody can hash a guessed address and compare), ``null`` NULL,
  ``redact`` the text ``[redacted]``. NULL stays NULL.
- ``check.sql``: one row ``<table>.<column>|<count of values not masked>`` per column; the
  workflow fails unless every count is 0.
- ``maintenance.sql`` (PostgreSQL only, outside the transaction): ``VACUUM (FULL, ANALYZE)`` of
  every masked table (refused up front unless the user owns each table or the database, since
  PostgreSQL would skip such a table with only a warning), so no dead row version with the
  original value stays in the data files and the planner statistics (``pg_statistic`` keeps
  common values) are rebuilt from masked data; the passwords of every other login role
  removed (production's credentials must not reach staging, not even as hashes);
  ``pg_stat_statements`` emptied where it is installed and loaded (a server without it, or
  with the extension but not the library, has none to empty).

``mask.sql`` and ``check.sql`` use only what PostgreSQL and SQLite share besides
``sha256``/``encode``/``convert_to`` (PostgreSQL built-ins), so the tests run them on SQLite
with those three defined as PostgreSQL defines them, and all three files on a throw-away
PostgreSQL server (tests/scripts/test_anonymise_postgres.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from config import SettingsError, from_config_values
from offline.stackfile import StackFileError, load_stack, stack_from_filename
from policies.ttbt2_policies.data_seed import anonymised_snapshot_name

ROOT: Final = Path(__file__).resolve().parents[1]
REDACTED: Final = "[redacted]"
EMAIL_DOMAIN: Final = "example.invalid"
"""RFC 2606: a domain that can never receive mail."""


class AnonymiseError(ValueError):
    """Nothing to mask, or a bad argument; the message says which."""


@dataclass(frozen=True)
class Masked:
    """One configured column: where it is and how it is masked."""

    table: str
    column: str
    strategy: str


def quote(name: str) -> str:
    """A quoted identifier, schema-qualified names quoted part by part."""
    return ".".join(f'"{part}"' for part in name.split("."))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _digest(column: str, salt: str) -> str:
    return f"encode(sha256(convert_to({_literal(salt)} || CAST({column} AS TEXT), 'UTF8')), 'hex')"


def masked_value(item: Masked, salt: str) -> str:
    """The SQL expression that replaces ``item``'s value."""
    column = quote(item.column)
    if item.strategy == "null":
        return "NULL"
    if item.strategy == "redact":
        value = _literal(REDACTED)
    elif item.strategy == "hash":
        value = _digest(column, salt)
    elif item.strategy == "email":
        value = f"'user-' || substr({_digest(column, salt)}, 1, 16) || '@{EMAIL_DOMAIN}'"
    else:
        raise AnonymiseError(f"unknown masking strategy {item.strategy!r}")
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {value} END"


def unmasked_condition(item: Masked) -> str:
    """The SQL condition true for a value ``item``'s masking did not produce."""
    column = quote(item.column)
    if item.strategy == "null":
        return f"{column} IS NOT NULL"
    if item.strategy == "redact":
        return f"{column} IS NOT NULL AND {column} <> {_literal(REDACTED)}"
    if item.strategy == "hash":
        return f"{column} IS NOT NULL AND length({column}) <> 64"
    return f"{column} IS NOT NULL AND {column} NOT LIKE 'user-%@{EMAIL_DOMAIN}'"


def _by_table(items: Iterable[Masked]) -> dict[str, list[Masked]]:
    tables: dict[str, list[Masked]] = {}
    for item in items:
        tables.setdefault(item.table, []).append(item)
    return tables


def mask_sql(items: Sequence[Masked], salt: str) -> str:
    """One UPDATE per table setting every configured column of it."""
    statements = []
    for table, columns in _by_table(items).items():
        sets = ",\n  ".join(f"{quote(c.column)} = {masked_value(c, salt)}" for c in columns)
        statements.append(f"UPDATE {quote(table)} SET\n  {sets};")
    return "\n".join(statements) + "\n"


def check_sql(items: Sequence[Masked]) -> str:
    """Per column, ``<table>.<column>`` and how many of its values are not masked."""
    selects = [
        f"SELECT {_literal(f'{i.table}.{i.column}')}, count(*) FROM {quote(i.table)} "
        f"WHERE {unmasked_condition(i)}"
        for i in items
    ]
    return "\nUNION ALL\n".join(selects) + ";\n"


def _vacuum_permitted(tables: Sequence[str]) -> str:
    """A block failing unless the current user may VACUUM every table.

    PostgreSQL skips a table its user may not vacuum (neither the table's nor the database's
    owner, nor a superuser) with a mere WARNING and succeeds: the unmasked row versions would
    stay in the data files while the workflow goes on to snapshot them.
    """
    names = ", ".join(_literal(quote(table)) for table in tables)
    return (
        "DO $owner$ DECLARE t text; BEGIN\n"
        f"  FOREACH t IN ARRAY ARRAY[{names}] LOOP\n"
        "    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = t::regclass), 'USAGE')\n"
        "       AND NOT pg_has_role((SELECT datdba FROM pg_database\n"
        "                            WHERE datname = current_database()), 'USAGE') THEN\n"
        "      RAISE EXCEPTION 'VACUUM FULL of % would be skipped: % owns neither it nor the "
        "database', t, current_user;\n"
        "    END IF;\n"
        "  END LOOP;\n"
        "END $owner$;"
    )


def maintenance_sql(items: Sequence[Masked]) -> str:
    """PostgreSQL, outside a transaction: rewrite masked tables, drop credentials and stats."""
    tables = list(_by_table(items))
    vacuums = [f"VACUUM (FULL, ANALYZE) {quote(table)};" for table in tables]
    return (
        "\n".join(
            [
                _vacuum_permitted(tables),
                *vacuums,
                "DO $reset$ DECLARE r record; BEGIN\n"
                "  FOR r IN SELECT rolname FROM pg_roles\n"
                "    WHERE rolcanlogin AND rolname <> current_user AND rolname NOT LIKE 'rds%'\n"
                "  LOOP\n"
                "    EXECUTE format('ALTER ROLE %I PASSWORD NULL', r.rolname);\n"
                "  END LOOP;\n"
                "END $reset$;",
                # The extension comes with the snapshot, but its library is loaded only where
                # the parameter group preloads it (the restored instance may have the default
                # group): then the reset raises 55000 and there are no statistics to empty.
                "DO $stats$ BEGIN\n"
                "  IF to_regproc('pg_stat_statements_reset') IS NOT NULL THEN\n"
                "    PERFORM pg_stat_statements_reset();\n"
                "  END IF;\n"
                "EXCEPTION WHEN object_not_in_prerequisite_state THEN\n"
                "  RAISE NOTICE 'pg_stat_statements is not loaded: no statistics to empty';\n"
                "END $stats$;",
            ]
        )
        + "\n"
    )


def spec_sha256(items: Sequence[Masked]) -> str:
    """Hash of the masking specification (not the salt): the output snapshot's tag."""
    canonical = json.dumps(
        [{"table": i.table, "column": i.column, "strategy": i.strategy} for i in items],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_masking(stack_file: Path) -> list[Masked]:
    """``ttbt2:piiColumns`` of the stack file, validated with the rest of its settings."""
    stack = stack_from_filename(stack_file)
    config = load_stack(ROOT, stack, stack_file)
    settings = from_config_values(stack, config.values)
    items = [Masked(p.table, p.column, p.strategy) for p in settings.data_pipelines.pii_columns]
    if not items:
        raise AnonymiseError(f"{stack_file}: ttbt2:piiColumns is empty: nothing would be masked")
    return items


def plan(stack_file: Path, out_dir: Path, *, salt: str, day: str) -> dict[str, str]:
    """Write the three SQL files into ``out_dir``; the names and hashes the workflow needs."""
    snapshot = anonymised_snapshot_name(day)
    items = load_masking(stack_file)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "mask.sql").write_text(mask_sql(items, salt), encoding="utf-8")
    (out_dir / "check.sql").write_text(check_sql(items), encoding="utf-8")
    (out_dir / "maintenance.sql").write_text(maintenance_sql(items), encoding="utf-8")
    return {
        "snapshot": snapshot,
        "masking-sha256": spec_sha256(items),
        "columns": str(len(items)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``anonymise.py plan --stack-file Pulumi.prod.yaml --dir DIR [--output FILE]``."""
    parser = argparse.ArgumentParser(description="SQL and names of the anonymisation pipeline")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan", help="write mask.sql, check.sql, maintenance.sql")
    p.add_argument("--stack-file", type=Path, default=ROOT / "Pulumi.prod.yaml")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--output", type=Path, help="append key=value lines here ($GITHUB_OUTPUT)")
    p.add_argument("--day", default=datetime.now(UTC).date().isoformat(), help="YYYY-MM-DD")
    p.add_argument("--salt", help="hash salt (default: 32 random bytes, never stored)")
    args = parser.parse_args(argv)
    try:
        result = plan(
            args.stack_file, args.dir, salt=args.salt or secrets.token_hex(32), day=args.day
        )
    except (StackFileError, SettingsError, ValueError) as exc:
        print(f"anonymise: {exc}", file=sys.stderr)
        return 2
    lines = "".join(f"{key}={value}\n" for key, value in result.items())
    if args.output is not None:
        with args.output.open("a", encoding="utf-8") as out:
            out.write(lines)
    sys.stdout.write(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
