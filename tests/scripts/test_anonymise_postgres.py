"""scripts/anonymise.py on a real PostgreSQL: the plan's three files run as the workflow runs them.

dev's synthetic schema has the tables and columns prod's ``ttbt2:piiColumns`` names (checked
below), so a database seeded by the generator's ``postgres`` script stands in for the restored
production snapshot. ``plan`` writes mask.sql, check.sql and maintenance.sql from the real
Pulumi.prod.yaml, and they are run with the workflow's ``psql`` options: mask in one
transaction, check unaligned with ``|`` between column and count, maintenance outside any
transaction. The SQLite tests (test_anonymise.py) emulate ``sha256``/``encode``/``convert_to``;
here they are PostgreSQL's own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import anonymise as anon
from scripts import synthetic_data as gen
from tests.support.postgres import PostgresServer, start_server

ROOT = Path(anon.__file__).resolve().parents[1]
SALT = "test-salt"
TABLES = ("customers", "sessions", "orders")


@pytest.fixture(scope="module")
def items() -> list[anon.Masked]:
    return anon.load_masking(ROOT / "Pulumi.prod.yaml")


@pytest.fixture(scope="module")
def seed_sql() -> str:
    return gen.render_sql(gen.load_spec(ROOT / "scripts/synthetic_data.json"), "postgres")


@pytest.fixture
def seeded(postgres: PostgresServer, seed_sql: str) -> str:
    """A new database holding dev's synthetic data."""
    database = postgres.create_database("anon")
    postgres.psql(database, "-q", "--single-transaction", sql=seed_sql)
    return database


def _plan(tmp_path: Path, salt: str = SALT) -> Path:
    out = tmp_path / f"plan-{salt}"
    args = ["plan", "--dir", str(out), "--day", "2026-12-05", "--salt", salt]
    assert anon.main(args) == 0
    return out


def _mask(postgres: PostgresServer, database: str, plan: Path) -> None:
    postgres.psql(database, "-q", "--single-transaction", "-f", str(plan / "mask.sql"))


def _unmasked(postgres: PostgresServer, database: str, plan: Path) -> dict[str, int]:
    out = postgres.psql(database, "-At", "-F", "|", "-f", str(plan / "check.sql")).stdout
    return {column: int(count) for column, count in (line.split("|") for line in out.splitlines())}


def _column(postgres: PostgresServer, database: str, table: str, column: str) -> list[str]:
    return [
        r[0] for r in postgres.query(database, f'SELECT "{column}" FROM "{table}" ORDER BY "id"')
    ]


def test_the_synthetic_schema_has_every_configured_column(
    postgres: PostgresServer, seeded: str, items: list[anon.Masked]
) -> None:
    present = {
        (t, c)
        for t, c in postgres.query(
            seeded,
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public'",
        )
    }
    assert {(i.table, i.column) for i in items} <= present


def test_masking_leaves_no_configured_value_and_touches_nothing_else(
    postgres: PostgresServer, seeded: str, items: list[anon.Masked], tmp_path: Path
) -> None:
    plan = _plan(tmp_path)
    before = {t: postgres.query(seeded, f'SELECT * FROM "{t}" ORDER BY "id"') for t in TABLES}
    counts = _unmasked(postgres, seeded, plan)
    assert set(counts) == {f"{i.table}.{i.column}" for i in items}
    assert all(n > 0 for n in counts.values()), counts
    _mask(postgres, seeded, plan)
    assert _unmasked(postgres, seeded, plan) == dict.fromkeys(counts, 0)
    masked = {(i.table, i.column): i.strategy for i in items}
    for table, rows in before.items():
        names = [
            r[0]
            for r in postgres.query(
                seeded,
                "SELECT column_name FROM information_schema.columns "
                f"WHERE table_name = '{table}' ORDER BY ordinal_position",
            )
        ]
        after = postgres.query(seeded, f'SELECT * FROM "{table}" ORDER BY "id"')
        assert len(after) == len(rows), table
        for old, new in zip(rows, after, strict=True):
            for name, was, now in zip(names, old, new, strict=True):
                strategy = masked.get((table, name))
                if strategy is None:
                    assert now == was, (table, name)
                elif was == "\\N" or strategy == "null":
                    assert now == "\\N", (table, name)
                else:
                    assert now != was, (table, name)


def test_email_and_hash_are_postgres_sha256_and_keep_equality(
    postgres: PostgresServer, seeded: str, tmp_path: Path
) -> None:
    ips = _column(postgres, seeded, "sessions", "client_ip")
    emails_before = _column(postgres, seeded, "customers", "email")
    _mask(postgres, seeded, _plan(tmp_path))
    hashed = _column(postgres, seeded, "sessions", "client_ip")
    assert hashed == [hashlib.sha256((SALT + ip).encode()).hexdigest() for ip in ips]
    emails = _column(postgres, seeded, "customers", "email")
    assert emails == [
        f"user-{hashlib.sha256((SALT + e).encode()).hexdigest()[:16]}@example.invalid"
        for e in emails_before
    ]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"user-[0-9a-f]{16}@example\.invalid", e) for e in emails)


def test_the_hash_is_the_same_for_one_salt_and_differs_for_another(
    postgres: PostgresServer, seed_sql: str, tmp_path: Path
) -> None:
    results = []
    for salt in (SALT, SALT, "another-salt"):
        database = postgres.create_database("anon")
        postgres.psql(database, "-q", "--single-transaction", sql=seed_sql)
        _mask(postgres, database, _plan(tmp_path, salt))
        results.append(_column(postgres, database, "sessions", "client_ip"))
    assert results[0] == results[1]
    assert not set(results[0]) & set(results[2])


def test_a_failing_mask_changes_nothing(
    postgres: PostgresServer, seeded: str, tmp_path: Path
) -> None:
    plan = _plan(tmp_path)
    before = postgres.query(seeded, 'SELECT * FROM "customers" ORDER BY "id"')
    # The last table's UPDATE fails: the workflow's one transaction must undo the earlier ones.
    postgres.psql(seeded, "-q", "-c", 'ALTER TABLE "orders" RENAME COLUMN "notes" TO "remarks"')
    failed = postgres.psql(
        seeded, "-q", "--single-transaction", "-f", str(plan / "mask.sql"), check=False
    )
    assert failed.returncode != 0 and 'column "notes"' in failed.stderr
    assert postgres.query(seeded, 'SELECT * FROM "customers" ORDER BY "id"') == before


def test_maintenance_runs_and_removes_passwords_and_statement_statistics(
    postgres: PostgresServer, seeded: str, tmp_path: Path
) -> None:
    plan = _plan(tmp_path)
    _mask(postgres, seeded, plan)
    role = f"{seeded}_reader"
    postgres.psql("postgres", "-q", "-c", f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'from-prod'")
    statements = postgres.has_library("pg_stat_statements")
    if statements:
        postgres.psql(seeded, "-q", "-c", "CREATE EXTENSION pg_stat_statements")
        postgres.query(seeded, 'SELECT count(*) FROM "customers" WHERE "email" LIKE \'%\'')
        assert int(postgres.scalar(seeded, "SELECT count(*) FROM pg_stat_statements")) > 0
    try:
        dead = postgres.scalar(
            seeded, "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'customers'"
        )
        done = postgres.psql(seeded, "-q", "-f", str(plan / "maintenance.sql"), check=False)
        assert done.returncode == 0, done.stderr
        password = postgres.scalar(
            "postgres", f"SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = '{role}'"
        )
        assert password == "t"
        # VACUUM FULL rewrote the table: the old row versions (the unmasked values) are gone.
        assert int(dead) > 0
        after = postgres.scalar(
            seeded, "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'customers'"
        )
        assert after == "0"
        if statements:
            left = postgres.scalar(
                seeded,
                "SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%customers%'",
            )
            assert left == "0"
    finally:
        postgres.psql("postgres", "-q", "-c", f'DROP ROLE "{role}"')


def test_maintenance_refuses_a_user_who_may_not_vacuum_the_masked_tables(
    postgres: PostgresServer, seeded: str, tmp_path: Path
) -> None:
    # PostgreSQL itself only warns and skips the table, leaving the unmasked row versions.
    plan = _plan(tmp_path)
    _mask(postgres, seeded, plan)
    role = f"{seeded}_operator"
    postgres.psql("postgres", "-q", "-c", f'CREATE ROLE "{role}" LOGIN')
    try:
        dead = "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'customers'"
        before = postgres.scalar(seeded, dead)
        done = postgres.psql(
            seeded, "-q", "-U", role, "-f", str(plan / "maintenance.sql"), check=False
        )
        assert done.returncode != 0
        assert f'VACUUM FULL of "customers" would be skipped: {role} owns neither' in done.stderr
        assert int(before) > 0 and postgres.scalar(seeded, dead) == before
        # The database's owner may vacuum every table in it, as PostgreSQL allows.
        postgres.psql("postgres", "-q", "-c", f'ALTER DATABASE "{seeded}" OWNER TO "{role}"')
        vacuum = (plan / "maintenance.sql").read_text().split("\nDO $reset$")[0]
        owner = postgres.psql(seeded, "-q", "-U", role, sql=vacuum, check=False)
        assert owner.returncode == 0, owner.stderr
        assert "WARNING" not in owner.stderr
        assert postgres.scalar(seeded, dead) == "0"
    finally:
        postgres.psql("postgres", "-q", "-c", f'DROP DATABASE "{seeded}"')
        postgres.psql("postgres", "-q", "-c", f'DROP ROLE "{role}"')


def test_maintenance_runs_where_pg_stat_statements_is_not_installed(
    postgres: PostgresServer, seeded: str, tmp_path: Path
) -> None:
    plan = _plan(tmp_path)
    _mask(postgres, seeded, plan)
    installed = postgres.scalar(
        seeded, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'"
    )
    assert installed == "0"
    done = postgres.psql(seeded, "-q", "-f", str(plan / "maintenance.sql"), check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def unloaded_statements(postgres: PostgresServer) -> Iterator[PostgresServer]:
    """A second server whose pg_stat_statements library is not preloaded (a default group)."""
    if not postgres.has_library("pg_stat_statements"):
        pytest.skip("this PostgreSQL has no pg_stat_statements (contrib) to install")
    server = start_server(postgres.bindir, preload_statements=False)
    try:
        yield server
    finally:
        server.stop()


def test_maintenance_runs_where_the_extension_is_installed_but_not_loaded(
    unloaded_statements: PostgresServer, seed_sql: str, tmp_path: Path
) -> None:
    # A production snapshot carries the extension; the restored instance may not preload it.
    server = unloaded_statements
    database = server.create_database("anon")
    server.psql(database, "-q", "--single-transaction", sql=seed_sql)
    server.psql(database, "-q", "-c", "CREATE EXTENSION pg_stat_statements")
    reset = server.psql(database, "-q", "-c", "SELECT pg_stat_statements_reset()", check=False)
    assert "must be loaded via shared_preload_libraries" in reset.stderr
    plan = _plan(tmp_path)
    _mask(server, database, plan)
    done = server.psql(database, "-f", str(plan / "maintenance.sql"), check=False)
    assert done.returncode == 0, done.stderr
    assert "pg_stat_statements is not loaded" in done.stderr
