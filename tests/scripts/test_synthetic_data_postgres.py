"""scripts/synthetic_data.py on a real PostgreSQL: the ``postgres`` dialect, loaded as dev's Job does.

The SQLite tests (test_synthetic_data.py) load the ``sqlite`` dialect; here the script the Job
writes (the generator's command line, ``--dialect postgres``) goes through the Job's own load
script (:data:`components.k8s.synthetic_data.LOAD_SCRIPT`, ``psql --single-transaction``) into
a throw-away server (:mod:`tests.support.postgres`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.k8s.synthetic_data import LOAD_SCRIPT
from scripts import synthetic_data as gen
from tests.support.postgres import SUPERUSER, PostgresServer

SCHEMA = Path(gen.__file__).with_name("synthetic_data.json")


@pytest.fixture(scope="module")
def spec() -> gen.Spec:
    return gen.load_spec(SCHEMA)


def _generate(tmp_path: Path, schema: Path = SCHEMA) -> Path:
    """The seed script as the Job's generate step writes it (the generator's command line)."""
    out = tmp_path / "seed.sql"
    subprocess.run(
        [
            *(sys.executable, str(gen.__file__), "--schema", str(schema)),
            *("--dialect", "postgres", "--out", str(out)),
        ],
        check=True,
        capture_output=True,
    )
    return out


def _job_load(
    postgres: PostgresServer, database: str, seed_dir: Path, schema_sha256: str
) -> subprocess.CompletedProcess[str]:
    """The Job's load step, its credentials files written as the auth step leaves them."""
    (seed_dir / "db-user").write_text(SUPERUSER)
    (seed_dir / "db-password").write_text("unused: the test server trusts its socket")
    env = {
        **postgres.connection_env(database),
        "SEED_DIR": str(seed_dir),
        "SEED_MARKER": gen.MARKER,
        "SCHEMA_SHA256": schema_sha256,
    }
    return subprocess.run(
        ["sh", "-c", LOAD_SCRIPT], env=env, capture_output=True, text=True, check=False
    )


def _dump(postgres: PostgresServer, database: str, spec: gen.Spec) -> dict[str, list[list[str]]]:
    return {
        t.name: postgres.query(database, f'SELECT * FROM "{t.name}" ORDER BY "id"')
        for t in spec.tables
    }


def _as_psql_text(value: Any) -> str:
    """A generated value as ``psql -At`` prints the column it was stored in."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, gen.Decimal2):
        return gen._literal(value)
    return str(value)


def test_the_jobs_load_fills_every_table_once(
    postgres: PostgresServer, spec: gen.Spec, tmp_path: Path
) -> None:
    database = postgres.create_database("seed")
    _generate(tmp_path)
    first = _job_load(postgres, database, tmp_path, spec.sha256)
    assert first.returncode == 0, first.stderr
    assert f"seeded with schema {spec.sha256}" in first.stdout
    for table in spec.tables:
        count = postgres.scalar(database, f'SELECT count(*) FROM "{table.name}"')
        assert int(count) == table.rows, table.name
    marker = postgres.query(database, f'SELECT "id", "schema_sha256", "rows" FROM "{gen.MARKER}"')
    assert marker == [["1", spec.sha256, str(sum(t.rows for t in spec.tables))]]
    # The Job runs again on every change of its template: the marker makes that a no-op.
    second = _job_load(postgres, database, tmp_path, spec.sha256)
    assert second.returncode == 0, second.stderr
    assert "already seeded" in second.stdout
    for table in spec.tables:
        count = postgres.scalar(database, f'SELECT count(*) FROM "{table.name}"')
        assert int(count) == table.rows, table.name


def test_a_second_load_of_the_script_fails_and_changes_nothing(
    postgres: PostgresServer, spec: gen.Spec, tmp_path: Path
) -> None:
    database = postgres.create_database("seed")
    sql = _generate(tmp_path).read_text()
    postgres.psql(database, "-q", "--single-transaction", sql=sql)
    again = postgres.psql(database, "-q", "--single-transaction", sql=sql, check=False)
    # The rows' primary keys (or, for tables a migration made without one, the marker) refuse.
    assert again.returncode != 0
    assert "ERROR:  duplicate key value" in again.stderr
    for table in spec.tables:
        count = postgres.scalar(database, f'SELECT count(*) FROM "{table.name}"')
        assert int(count) == table.rows, table.name


def test_postgres_stores_the_values_the_generator_drew(
    postgres: PostgresServer, spec: gen.Spec, tmp_path: Path
) -> None:
    database = postgres.create_database("seed")
    postgres.psql(database, "-q", "--single-transaction", sql=_generate(tmp_path).read_text())
    stored = _dump(postgres, database, spec)
    for table in spec.tables:
        expected = [[_as_psql_text(v) for v in row] for row in gen.table_rows(spec, table)]
        assert stored[table.name] == expected, table.name
    types = postgres.query(
        database,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name IN ('sessions', 'orders') "
        "AND column_name IN ('token', 'total_eur', 'ordered_on') ORDER BY 1, 2",
    )
    assert types == [
        ["orders", "ordered_on", "date"],
        ["orders", "total_eur", "numeric"],
        ["sessions", "token", "uuid"],
    ]


def test_the_same_seed_loads_the_same_data_and_another_seed_other_data(
    postgres: PostgresServer, spec: gen.Spec, tmp_path: Path
) -> None:
    sql = _generate(tmp_path).read_text()
    one, two = postgres.create_database("seed"), postgres.create_database("seed")
    postgres.psql(one, "-q", "--single-transaction", sql=sql)
    postgres.psql(two, "-q", "--single-transaction", sql=gen.render_sql(spec, "postgres"))
    assert _dump(postgres, one, spec) == _dump(postgres, two, spec)
    raw = json.loads(SCHEMA.read_text())
    raw["seed"] += 1
    other = postgres.create_database("seed")
    postgres.psql(other, "-q", "--single-transaction", sql=gen.render_sql(gen.parse_spec(raw)))
    assert _dump(postgres, other, spec) != _dump(postgres, one, spec)


def test_grants_go_to_the_role_when_it_exists_and_are_skipped_when_not(
    postgres: PostgresServer,
) -> None:
    raw = json.loads(SCHEMA.read_text())
    database = postgres.create_database("seed")
    role = f"{database}_app"
    missing = f"{database}_absent"
    postgres.psql("postgres", "-q", "-c", f'CREATE ROLE "{role}" NOLOGIN')
    try:
        raw["grantTo"] = [role, missing]
        postgres.psql(
            database, "-q", "--single-transaction", sql=gen.render_sql(gen.parse_spec(raw))
        )
        privileges = postgres.query(
            database,
            "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) "
            f"FROM information_schema.role_table_grants WHERE grantee = '{role}' "
            "GROUP BY table_name ORDER BY table_name",
        )
        assert privileges == [
            [t, "DELETE,INSERT,SELECT,UPDATE"] for t in ("customers", "orders", "sessions")
        ]
    finally:
        postgres.psql("postgres", "-q", "-c", f'DROP DATABASE "{database}"')
        postgres.psql("postgres", "-q", "-c", f'DROP ROLE "{role}"')
