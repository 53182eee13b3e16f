"""scripts/synthetic_data.py: dev's seed SQL, loaded for real into SQLite.

The generated script is executed by SQLite as it comes (the ``sqlite`` dialect differs from
``postgres`` only by the grants at the end, checked below), so the row counts, the values'
types and shapes, the references and the marker are read back from a real database.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts import synthetic_data as gen

SCHEMA = Path(gen.__file__).with_name("synthetic_data.json")


def _load(sql: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executescript(sql)
    return conn


@pytest.fixture(scope="module")
def spec() -> gen.Spec:
    return gen.load_spec(SCHEMA)


@pytest.fixture(scope="module")
def seeded(spec: gen.Spec) -> sqlite3.Connection:
    return _load(gen.render_sql(spec, "sqlite"))


def test_every_table_has_its_rows(spec: gen.Spec, seeded: sqlite3.Connection) -> None:
    for table in spec.tables:
        (count,) = seeded.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()
        assert count == table.rows, table.name
    marker = seeded.execute(f'SELECT "schema_sha256", "rows" FROM "{gen.MARKER}"').fetchall()
    assert marker == [(spec.sha256, sum(t.rows for t in spec.tables))]


def test_the_same_schema_gives_the_same_sql(spec: gen.Spec) -> None:
    again = gen.load_spec(SCHEMA)
    assert gen.render_sql(again) == gen.render_sql(spec)
    raw = json.loads(SCHEMA.read_text())
    raw["seed"] += 1
    assert gen.render_sql(gen.parse_spec(raw)) != gen.render_sql(spec)


def test_a_new_table_leaves_the_others_rows_alone(spec: gen.Spec) -> None:
    raw = json.loads(SCHEMA.read_text())
    raw["tables"].append(
        {"name": "extra", "rows": 3, "columns": [{"name": "id", "kind": "serial"}]}
    )
    grown = gen.parse_spec(raw)
    first = spec.tables[0]
    assert list(gen.table_rows(grown, grown.tables[0])) == list(gen.table_rows(spec, first))


def test_values_have_their_kinds_shapes(seeded: sqlite3.Connection) -> None:
    rows = seeded.execute(
        'SELECT "email", "phone", "country", "marketing_opt_in", "created_at" FROM "customers"'
    ).fetchall()
    for email, phone, country, opt_in, created in rows:
        assert re.fullmatch(r"[a-z]+\.\d+@example\.com", email)
        assert phone is None or re.fullmatch(r"\+44 7700 900\d{3}", phone)
        assert country in {"ES", "PT", "FR", "IT", "DE", "MX", "AR"}
        assert opt_in in (0, 1)
        assert "2024-01-01 00:00:00" <= created < "2026-11-01"
    emails = [r[0] for r in rows]
    assert len(set(emails)) == len(emails)
    phones = [r[1] for r in rows]
    assert 0 < phones.count(None) < len(phones)  # nullFraction 0.2: some, not all
    for (ip,) in seeded.execute('SELECT "client_ip" FROM "sessions"'):
        assert re.fullmatch(r"(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}", ip)
    for total, items in seeded.execute('SELECT "total_eur", "items" FROM "orders"'):
        assert 1 <= total <= 2500 and round(total, 2) == total
        assert isinstance(items, int) and 1 <= items <= 12


def test_references_point_at_existing_rows(seeded: sqlite3.Connection) -> None:
    orphans = seeded.execute(
        'SELECT count(*) FROM "orders" o LEFT JOIN "customers" c ON c."id" = o."customer_id" '
        'WHERE c."id" IS NULL'
    ).fetchone()
    assert orphans == (0,)
    assert seeded.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_second_load_fails_as_a_whole(spec: gen.Spec) -> None:
    sql = gen.render_sql(spec, "sqlite")
    conn = _load(sql)
    # The duplicate keys stop it first; without keys the marker's CREATE TABLE would.
    with pytest.raises(sqlite3.DatabaseError, match=r"UNIQUE|already exists"):
        conn.executescript("BEGIN;\n" + sql + "COMMIT;")
    conn.rollback()
    (count,) = conn.execute('SELECT count(*) FROM "customers"').fetchone()
    assert count == spec.tables[0].rows


def test_postgres_adds_only_the_guarded_grants(spec: gen.Spec) -> None:
    postgres, sqlite = gen.render_sql(spec, "postgres"), gen.render_sql(spec, "sqlite")
    assert postgres.startswith(sqlite)
    tail = postgres.removeprefix(sqlite)
    assert "WHERE rolname = 'ttbt2_app'" in tail
    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON "customers", "sessions", "orders"' in tail


def test_every_kind_has_a_generator() -> None:
    assert set(gen.GENERATORS) == set(gen.KINDS)


def test_literals_are_quoted() -> None:
    raw: dict[str, Any] = {
        "seed": 1,
        "tables": [
            {
                "name": "t",
                "rows": 5,
                "columns": [{"name": "v", "kind": "choice", "values": ["it's"]}],
            }
        ],
    }
    conn = _load(gen.render_sql(gen.parse_spec(raw), "sqlite"))
    assert conn.execute('SELECT DISTINCT "v" FROM "t"').fetchall() == [("it's",)]


def _with(change: dict[str, Any], column: int = 0, table: int = 0) -> dict[str, Any]:
    raw = json.loads(SCHEMA.read_text())
    raw["tables"][table]["columns"][column].update(change)
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "must be a JSON object"),
        ({"tables": []}, "seed: missing"),
        ({"seed": 1, "tables": [], "colour": 1}, "colour: unknown key"),
        ({"seed": "x", "tables": []}, "seed: 'x' must be an integer"),
        ({"seed": 1, "tables": []}, "tables: must be a non-empty list"),
        (_with({"kind": "creditcard"}, 1), "tables[0].columns[1].kind: 'creditcard' is not one of"),
        (_with({"name": "Full Name"}, 1), "tables[0].columns[1].name: 'Full Name' must be"),
        (_with({"nullFraction": 2}, 1), "tables[0].columns[1].nullFraction: 2 must be between"),
        (_with({"values": []}, 4), "tables[0].columns[4].values: must be a non-empty list"),
        (
            _with({"from": "2026-13-01"}, 6),
            "tables[0].columns[6].from: '2026-13-01' must be a date",
        ),
        (_with({"to": "2020-01-01"}, 6), "tables[0].columns[6].from: 2024-01-01 is after to"),
        (_with({"min": 5, "max": 1}, 4, 2), "tables[2].columns[4].min: 5 is above max 1"),
        (_with({"words": 0}, 5, 2), "tables[2].columns[5].words: 0 must be an integer"),
        (_with({"table": "orders"}, 2, 1), "tables[1].columns[2].table: 'orders' is not a table"),
        (_with({"colour": "red"}, 2), "tables[0].columns[2].colour: not an option of kind email"),
        (_with({"nullFraction": 0.1}, 0), "tables[0].columns[0].nullFraction: not an option"),
    ],
)
def test_bad_schema_names_the_key(raw: Any, message: str) -> None:
    with pytest.raises(gen.SpecError) as err:
        gen.parse_spec(raw)
    assert message in str(err.value)


def test_bad_table_shapes_name_the_key() -> None:
    raw = json.loads(SCHEMA.read_text())
    raw["tables"].append(dict(raw["tables"][0]))
    with pytest.raises(
        gen.SpecError, match=r"tables\[3\]\.name: table 'customers' is declared twice"
    ):
        gen.parse_spec(raw)
    raw["tables"][3] = {
        "name": gen.MARKER,
        "rows": 1,
        "columns": [{"name": "id", "kind": "serial"}],
    }
    with pytest.raises(gen.SpecError, match="seed marker"):
        gen.parse_spec(raw)
    raw["tables"][3] = {"name": "x", "rows": 0, "columns": [{"name": "id", "kind": "serial"}]}
    with pytest.raises(gen.SpecError, match=r"tables\[3\]\.rows: 0 must be an integer between 1"):
        gen.parse_spec(raw)


def test_cli_writes_the_file_and_refuses_a_bad_schema(tmp_path: Path) -> None:
    out = tmp_path / "seed.sql"
    done = subprocess.run(
        [sys.executable, gen.__file__, "--schema", str(SCHEMA), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text() == gen.render_sql(gen.load_spec(SCHEMA))
    bad = tmp_path / "bad.json"
    bad.write_text('{"seed": 1}')
    assert gen.main(["--schema", str(bad)]) == 2
    bad.write_text("{not json")
    assert gen.main(["--schema", str(bad)]) == 2
    assert gen.main(["--schema", str(SCHEMA), "--hash"]) == 0
