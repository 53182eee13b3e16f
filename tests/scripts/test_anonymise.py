"""scripts/anonymise.py: prod's masking, run for real on SQLite over dev's synthetic tables.

The synthetic schema has the tables and columns prod's ``ttbt2:piiColumns`` names, so the
generator fills a SQLite database, the masking SQL the pipeline would run is executed on it
(``sha256``, ``encode`` and ``convert_to`` defined as PostgreSQL defines them), and the check
SQL must find unmasked values before and none after.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import anonymise as anon
from scripts import synthetic_data as gen

ROOT = Path(anon.__file__).resolve().parents[1]
SALT = "test-salt"


def _postgres_functions(conn: sqlite3.Connection) -> None:
    def convert_to(text: str, encoding: str) -> bytes:
        assert encoding == "UTF8"
        return text.encode()

    def encode(data: bytes, form: str) -> str:
        assert form == "hex"
        return data.hex()

    conn.create_function("convert_to", 2, convert_to, deterministic=True)
    conn.create_function("sha256", 1, lambda b: hashlib.sha256(b).digest(), deterministic=True)
    conn.create_function("encode", 2, encode, deterministic=True)


@pytest.fixture(scope="module")
def items() -> list[anon.Masked]:
    return anon.load_masking(ROOT / "Pulumi.prod.yaml")


@pytest.fixture
def db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(
        gen.render_sql(gen.load_spec(ROOT / "scripts/synthetic_data.json"), "sqlite")
    )
    _postgres_functions(conn)
    return conn


def _unmasked(conn: sqlite3.Connection, items: list[anon.Masked]) -> dict[str, int]:
    return dict(conn.execute(anon.check_sql(items)).fetchall())


def _rows(conn: sqlite3.Connection, table: str) -> list[tuple[Any, ...]]:
    return conn.execute(f'SELECT * FROM "{table}" ORDER BY "id"').fetchall()


def test_prod_masks_its_configured_columns(items: list[anon.Masked]) -> None:
    raw = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]["ttbt2:piiColumns"]
    assert [(i.table, i.column, i.strategy) for i in items] == [
        (c["table"], c["column"], c["strategy"]) for c in raw
    ]


def test_masking_leaves_no_configured_value_and_touches_nothing_else(
    db: sqlite3.Connection, items: list[anon.Masked]
) -> None:
    before = {t: _rows(db, t) for t in ("customers", "sessions", "orders")}
    counts = _unmasked(db, items)
    assert set(counts) == {f"{i.table}.{i.column}" for i in items}
    assert all(n > 0 for n in counts.values()), counts
    db.executescript("BEGIN;\n" + anon.mask_sql(items, SALT) + "COMMIT;")
    assert set(_unmasked(db, items).values()) == {0}
    masked = {(i.table, i.column) for i in items}
    for table, rows in before.items():
        names = [d[0] for d in db.execute(f'SELECT * FROM "{table}"').description]
        after = _rows(db, table)
        assert len(after) == len(rows)
        for old, new in zip(rows, after, strict=True):
            for name, was, now in zip(names, old, new, strict=True):
                if (table, name) not in masked:
                    assert now == was, (table, name)
                elif was is not None:
                    assert now != was, (table, name)
                else:
                    assert now is None, (table, name)


def test_email_and_hash_keep_equality_and_uniqueness(
    db: sqlite3.Connection, items: list[anon.Masked]
) -> None:
    ips = [r[0] for r in db.execute('SELECT "client_ip" FROM "sessions" ORDER BY "id"')]
    db.executescript(anon.mask_sql(items, SALT))
    emails = [r[0] for r in db.execute('SELECT "email" FROM "customers"')]
    assert all(re.fullmatch(r"user-[0-9a-f]{16}@example\.invalid", e) for e in emails)
    assert len(set(emails)) == len(emails)
    hashed = [r[0] for r in db.execute('SELECT "client_ip" FROM "sessions" ORDER BY "id"')]
    assert hashed[0] == hashlib.sha256((SALT + ips[0]).encode()).hexdigest()
    pairs = dict(zip(ips, hashed, strict=True))
    assert len(set(pairs.values())) == len(pairs)  # equal in, equal out; distinct stays distinct
    assert all(pairs[ip] == h for ip, h in zip(ips, hashed, strict=True))


def test_another_salt_gives_other_hashes(items: list[anon.Masked]) -> None:
    assert anon.mask_sql(items, "a") != anon.mask_sql(items, "b")
    assert "'it''s'" in anon.mask_sql([anon.Masked("t", "c", "hash")], "it's")


def test_maintenance_rewrites_every_masked_table_and_drops_credentials(
    items: list[anon.Masked],
) -> None:
    sql = anon.maintenance_sql(items)
    assert re.findall(r'VACUUM \(FULL, ANALYZE\) "(\w+)";', sql) == [
        "customers",
        "sessions",
        "orders",
    ]
    assert "ALTER ROLE %I PASSWORD NULL" in sql and "pg_stat_statements_reset()" in sql


def test_schema_qualified_tables_are_quoted_part_by_part() -> None:
    sql = anon.mask_sql([anon.Masked("app.people", "email", "email")], SALT)
    assert sql.startswith('UPDATE "app"."people" SET\n  "email" = CASE WHEN "email" IS NULL')


def test_plan_writes_the_files_and_the_outputs(tmp_path: Path, items: list[anon.Masked]) -> None:
    output = tmp_path / "github_output"
    code = anon.main(
        [
            "plan",
            "--dir",
            str(tmp_path / "sql"),
            "--output",
            str(output),
            "--day",
            "2026-12-05",
            "--salt",
            SALT,
        ]
    )
    assert code == 0
    lines = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert lines == {
        "snapshot": "ttbt2-anonymised-2026-12-05",
        "masking-sha256": anon.spec_sha256(items),
        "columns": str(len(items)),
    }
    assert (tmp_path / "sql/mask.sql").read_text() == anon.mask_sql(items, SALT)
    assert (tmp_path / "sql/check.sql").read_text() == anon.check_sql(items)
    assert anon.spec_sha256(items[:-1]) != anon.spec_sha256(items)


def _stack_file(tmp_path: Path, pii: Any) -> Path:
    doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    doc["config"]["ttbt2:piiColumns"] = pii
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(
    ("pii", "message"),
    [
        ([{"table": "t", "column": "c", "strategy": "shuffle"}], "ttbt2:piiColumns[0].strategy"),
        ([], "anonymisationEnabled"),
    ],
)
def test_bad_masking_config_is_refused_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pii: Any, message: str
) -> None:
    path = _stack_file(tmp_path, pii)
    assert anon.main(["plan", "--stack-file", str(path), "--dir", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_bad_day_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert anon.main(["plan", "--dir", str(tmp_path / "o"), "--day", "5 Dec"]) == 2
    assert "not a date" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
