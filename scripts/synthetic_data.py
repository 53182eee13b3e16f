"""Synthetic data for dev (seed 4.2): SQL generated from a declarative schema, deterministically.

Standard library only: the dev cluster's seeding Job (:mod:`components.k8s.synthetic_data`)
runs this file from a ConfigMap in a plain Python image, next to the schema
(``scripts/synthetic_data.json``).

The schema is JSON::

    {"seed": 42, "grantTo": ["ttbt2_app"],
     "tables": [{"name": "customers", "rows": 200,
                 "columns": [{"name": "id", "kind": "serial"},
                             {"name": "email", "kind": "email"}, ...]}]}

Column kinds (:data:`KINDS`): ``serial`` (the primary key, 1..rows), ``integer`` and
``decimal`` (``min``, ``max``), ``boolean``, ``date`` and ``timestamp`` (``from``, ``to``,
ISO dates), ``choice`` (``values``), ``text`` (``words``), ``name``, ``email``, ``phone``,
``ipv4``, ``uuid`` and ``reference`` (``table``: a row id of an earlier table). Any column but
``serial`` may set ``nullFraction`` (0 to 1). Nothing generated looks like a real person's data:
e-mail addresses are under ``example.com`` (RFC 2606), telephone numbers in the +44 7700 900xxx
range Ofcom reserves for drama, IPv4 addresses in the documentation networks (RFC 5737), names
from a short list of invented ones.

The same schema and seed give the same SQL byte for byte: every table draws from a random
generator seeded with the schema's seed and the table's name, so adding a table changes no
other. The SQL is one script for ``psql --single-transaction``: the tables (``IF NOT EXISTS``,
so tables a migration created first are filled as they are), the rows, then the marker table
:data:`MARKER` with the schema's hash, created without ``IF NOT EXISTS`` so a second load fails
as a whole instead of doubling the data. The ``postgres`` dialect adds the grants; ``sqlite``
leaves them out, which is how the tests load the very same statements into SQLite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

MARKER: Final = "ttbt2_synthetic_seed"
"""The table whose one row says the database was seeded, and with which schema."""
BATCH: Final = 200
"""Rows per INSERT statement."""
MAX_ROWS: Final = 1_000_000
DIALECTS: Final = ("postgres", "sqlite")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_FIRST_NAMES: Final = (
    "Alba", "Bruno", "Carmela", "Dario", "Elena", "Fabio", "Greta", "Hugo", "Irene", "Jonas",
    "Kira", "Lucio", "Marta", "Nilo", "Olga", "Pavel", "Quima", "Rosendo", "Selma", "Tadeo",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Arvelo", "Brinque", "Caldoso", "Durrant", "Espelt", "Fonterra", "Galbis", "Hortal",
    "Ibarne", "Jolvar", "Kestrel", "Lomendi", "Marvaz", "Norrel", "Oquendra", "Pelayre",
)  # fmt: skip
_WORDS: Final = (
    "alpha", "beacon", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo",
    "juniper", "kestrel", "lumen", "meadow", "nimbus", "onyx", "prairie", "quartz", "ridge",
)  # fmt: skip
_DOC_NETWORKS: Final = ("192.0.2", "198.51.100", "203.0.113")
"""RFC 5737: addresses reserved for documentation, never routed to anyone."""


class SpecError(ValueError):
    """The schema is malformed; the message names the key (``tables[1].columns[0].kind``)."""


@dataclass(frozen=True)
class Column:
    """One column: its name, its kind and the kind's options."""

    name: str
    kind: str
    options: Mapping[str, Any]

    @property
    def null_fraction(self) -> float:
        """Share of rows left NULL."""
        return float(self.options.get("nullFraction", 0))


@dataclass(frozen=True)
class Table:
    """One table: its name, how many rows, its columns."""

    name: str
    rows: int
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Spec:
    """A validated schema."""

    seed: int
    grant_to: tuple[str, ...]
    tables: tuple[Table, ...]
    sha256: str
    """Hash of the schema's canonical JSON: the marker records it."""


# --- validation --------------------------------------------------------------------------------


def _require(raw: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in raw:
        raise SpecError(f"{where}.{key}: missing" if where else f"{key}: missing")
    return raw[key]


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(f"{where}: {value!r} must be an integer between {low} and {high}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{where}: {value!r} must be a number")
    return float(value)


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise SpecError(
            f"{where}: {value!r} must be a lower-case SQL identifier "
            "(letters, digits, underscores; at most 63 characters)"
        )
    return value


def _day(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: {value!r} must be a date YYYY-MM-DD") from None


def _check_range(options: Mapping[str, Any], where: str) -> None:
    low = _number(_require(options, "min", where), f"{where}.min")
    high = _number(_require(options, "max", where), f"{where}.max")
    if low > high:
        raise SpecError(f"{where}.min: {low:g} is above max {high:g}")


def _check_dates(options: Mapping[str, Any], where: str) -> None:
    start = _day(_require(options, "from", where), f"{where}.from")
    end = _day(_require(options, "to", where), f"{where}.to")
    if start > end:
        raise SpecError(f"{where}.from: {start} is after to {end}")


def _check_choice(options: Mapping[str, Any], where: str) -> None:
    values = _require(options, "values", where)
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise SpecError(f"{where}.values: must be a non-empty list of strings")


def _check_text(options: Mapping[str, Any], where: str) -> None:
    _int(options.get("words", 6), f"{where}.words", 1, 200)


def _no_options(options: Mapping[str, Any], where: str) -> None:
    del options, where


KINDS: Final[
    Mapping[str, tuple[str, tuple[str, ...], Callable[[Mapping[str, Any], str], None]]]
] = {
    "serial": ("INTEGER NOT NULL PRIMARY KEY", (), _no_options),
    "integer": ("INTEGER", ("min", "max"), _check_range),
    "decimal": ("NUMERIC(14, 2)", ("min", "max"), _check_range),
    "boolean": ("BOOLEAN", (), _no_options),
    "date": ("DATE", ("from", "to"), _check_dates),
    "timestamp": ("TIMESTAMP", ("from", "to"), _check_dates),
    "choice": ("TEXT", ("values",), _check_choice),
    "text": ("TEXT", ("words",), _check_text),
    "name": ("TEXT", (), _no_options),
    "email": ("TEXT", (), _no_options),
    "phone": ("TEXT", (), _no_options),
    "ipv4": ("TEXT", (), _no_options),
    "uuid": ("UUID", (), _no_options),
    "reference": ("INTEGER", ("table",), _no_options),
}
"""Kind -> (SQL type, the options it takes, its option check). Every type name is one both
PostgreSQL and SQLite accept."""


def _column(raw: Any, where: str, earlier: Mapping[str, Table]) -> Column:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: must be an object with name and kind")
    name = _identifier(_require(raw, "name", where), f"{where}.name")
    kind = _require(raw, "kind", where)
    if kind not in KINDS:
        raise SpecError(f"{where}.kind: {kind!r} is not one of {', '.join(sorted(KINDS))}")
    _, allowed, check = KINDS[kind]
    options = {k: v for k, v in raw.items() if k not in ("name", "kind")}
    extra = sorted(set(options) - set(allowed) - ({"nullFraction"} if kind != "serial" else set()))
    if extra:
        allowed_text = (
            ", ".join(allowed + (("nullFraction",) if kind != "serial" else ())) or "none"
        )
        raise SpecError(
            f"{where}.{extra[0]}: not an option of kind {kind} (allowed: {allowed_text})"
        )
    check(options, where)
    if "nullFraction" in options:
        fraction = _number(options["nullFraction"], f"{where}.nullFraction")
        if not 0 <= fraction <= 1:
            raise SpecError(f"{where}.nullFraction: {fraction:g} must be between 0 and 1")
    if kind == "reference":
        target = options.get("table")
        if not isinstance(target, str) or target not in earlier:
            raise SpecError(
                f"{where}.table: {target!r} is not a table declared before this one "
                f"(declared: {', '.join(earlier) or 'none'})"
            )
        if not any(c.kind == "serial" for c in earlier[target].columns):
            raise SpecError(f"{where}.table: table {target!r} has no serial column to refer to")
    return Column(name=name, kind=kind, options=options)


def _table(raw: Any, where: str, earlier: Mapping[str, Table]) -> Table:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: must be an object with name, rows and columns")
    unknown = sorted(set(raw) - {"name", "rows", "columns"})
    if unknown:
        raise SpecError(f"{where}.{unknown[0]}: unknown key (allowed: name, rows, columns)")
    name = _identifier(_require(raw, "name", where), f"{where}.name")
    if name == MARKER:
        raise SpecError(f"{where}.name: {MARKER} is the seed marker's table")
    if name in earlier:
        raise SpecError(f"{where}.name: table {name!r} is declared twice")
    rows = _int(_require(raw, "rows", where), f"{where}.rows", 1, MAX_ROWS)
    raw_columns = _require(raw, "columns", where)
    if not isinstance(raw_columns, list) or not raw_columns:
        raise SpecError(f"{where}.columns: must be a non-empty list")
    columns = tuple(_column(c, f"{where}.columns[{i}]", earlier) for i, c in enumerate(raw_columns))
    names = [c.name for c in columns]
    for i, column in enumerate(names):
        if column in names[:i]:
            raise SpecError(f"{where}.columns[{i}].name: column {column!r} is declared twice")
    if sum(c.kind == "serial" for c in columns) > 1:
        raise SpecError(f"{where}.columns: at most one serial column (the primary key)")
    return Table(name=name, rows=rows, columns=columns)


def parse_spec(raw: Any) -> Spec:
    """Validate a schema (already parsed JSON); :class:`SpecError` names the first bad key."""
    if not isinstance(raw, dict):
        raise SpecError("the schema must be a JSON object with seed and tables")
    unknown = sorted(set(raw) - {"seed", "grantTo", "tables", "description"})
    if unknown:
        raise SpecError(f"{unknown[0]}: unknown key (allowed: seed, grantTo, tables, description)")
    seed = _int(_require(raw, "seed", ""), "seed", 0, 2**63 - 1)
    grant_to = raw.get("grantTo", [])
    if not isinstance(grant_to, list):
        raise SpecError("grantTo: must be a list of role names")
    roles = tuple(_identifier(r, f"grantTo[{i}]") for i, r in enumerate(grant_to))
    raw_tables = _require(raw, "tables", "")
    if not isinstance(raw_tables, list) or not raw_tables:
        raise SpecError("tables: must be a non-empty list")
    tables: dict[str, Table] = {}
    for i, raw_table in enumerate(raw_tables):
        table = _table(raw_table, f"tables[{i}]", tables)
        tables[table.name] = table
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return Spec(
        seed=seed,
        grant_to=roles,
        tables=tuple(tables.values()),
        sha256=hashlib.sha256(canonical.encode()).hexdigest(),
    )


def load_spec(path: Path) -> Spec:
    """Read and validate the schema file at ``path``."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: not JSON ({exc})") from None
    return parse_spec(raw)


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decimal2:
    """A fixed-point amount in cents, written as a numeric literal with two decimals."""

    cents: int


def _timestamp(rng: random.Random, options: Mapping[str, Any]) -> datetime:
    start = datetime.fromisoformat(options["from"])
    end = datetime.fromisoformat(options["to"]) + timedelta(days=1)
    return start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))


Generator = Callable[[Mapping[str, Any], int, random.Random, Mapping[str, int]], Any]
"""(options, row number from 1, the table's random generator, rows per table) -> a value."""


def _decimal(o: Mapping[str, Any], _row: int, rng: random.Random, _rows: Any) -> Decimal2:
    return Decimal2(rng.randint(round(o["min"] * 100), round(o["max"] * 100)))


def _text(o: Mapping[str, Any], _row: int, rng: random.Random, _rows: Any) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(int(o.get("words", 6))))


def _email(_o: Any, row: int, rng: random.Random, _rows: Any) -> str:
    # The row number keeps addresses unique, as a unique index on them would need.
    return f"{rng.choice(_FIRST_NAMES).lower()}.{row}@example.com"


GENERATORS: Final[Mapping[str, Generator]] = {
    "serial": lambda _o, row, _rng, _rows: row,
    "integer": lambda o, _row, rng, _rows: rng.randint(int(o["min"]), int(o["max"])),
    "decimal": _decimal,
    "boolean": lambda _o, _row, rng, _rows: rng.random() < 0.5,
    "date": lambda o, _row, rng, _rows: _timestamp(rng, o).date().isoformat(),
    "timestamp": lambda o, _row, rng, _rows: _timestamp(rng, o).isoformat(sep=" "),
    "choice": lambda o, _row, rng, _rows: rng.choice(o["values"]),
    "text": _text,
    "name": lambda _o, _row, rng, _rows: f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}",
    "email": _email,
    "phone": lambda _o, _row, rng, _rows: f"+44 7700 900{rng.randrange(1000):03d}",
    "ipv4": lambda _o, _row, rng, _rows: f"{rng.choice(_DOC_NETWORKS)}.{rng.randint(1, 254)}",
    "uuid": lambda _o, _row, rng, _rows: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "reference": lambda o, _row, rng, rows: rng.randint(1, rows[o["table"]]),
}
"""One generator per kind of :data:`KINDS`."""


def _value(column: Column, row: int, rng: random.Random, rows_of: Mapping[str, int]) -> Any:
    """The value of ``column`` in row ``row`` (1-based); None is NULL."""
    if column.kind != "serial" and column.null_fraction and rng.random() < column.null_fraction:
        return None
    return GENERATORS[column.kind](column.options, row, rng, rows_of)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal2):
        sign = "-" if value.cents < 0 else ""
        whole, cents = divmod(abs(value.cents), 100)
        return f"{sign}{whole}.{cents:02d}"
    return "'" + str(value).replace("'", "''") + "'"


def quote(identifier: str) -> str:
    """A quoted SQL identifier (validated names only reach here)."""
    return f'"{identifier}"'


def table_rows(spec: Spec, table: Table) -> Iterator[list[Any]]:
    """The rows of ``table``, each a list of values in column order."""
    rng = random.Random(hashlib.sha256(f"{spec.seed}:{table.name}".encode()).digest())
    rows_of = {t.name: t.rows for t in spec.tables}
    for row in range(1, table.rows + 1):
        yield [_value(column, row, rng, rows_of) for column in table.columns]


# --- SQL ---------------------------------------------------------------------------------------


def _create(table: Table) -> str:
    lines = []
    for column in table.columns:
        sql_type = KINDS[column.kind][0]
        line = f"  {quote(column.name)} {sql_type}"
        if column.kind == "reference":
            line += f" REFERENCES {quote(column.options['table'])}"
        lines.append(line)
    body = ",\n".join(lines)
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} (\n{body}\n);"


def _inserts(spec: Spec, table: Table) -> Iterator[str]:
    names = ", ".join(quote(c.name) for c in table.columns)
    batch: list[str] = []
    for values in table_rows(spec, table):
        batch.append("(" + ", ".join(_literal(v) for v in values) + ")")
        if len(batch) == BATCH:
            yield f"INSERT INTO {quote(table.name)} ({names}) VALUES\n" + ",\n".join(batch) + ";"
            batch = []
    if batch:
        yield f"INSERT INTO {quote(table.name)} ({names}) VALUES\n" + ",\n".join(batch) + ";"


def _grants(spec: Spec) -> Iterator[str]:
    """Grants to roles that exist: the roles come with Vault's bootstrap, maybe after the seed."""
    tables = ", ".join(quote(t.name) for t in spec.tables)
    for role in spec.grant_to:
        yield (
            "DO $grant$ BEGIN\n"
            f"  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN\n"
            f"    GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {quote(role)};\n"
            "  END IF;\n"
            "END $grant$;"
        )


def render_sql(spec: Spec, dialect: str = "postgres") -> str:
    """The whole seed script for ``dialect`` (one of :data:`DIALECTS`)."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect {dialect!r} is not one of {', '.join(DIALECTS)}")
    parts = [
        f"-- Synthetic data (scripts/synthetic_data.py), schema sha256 {spec.sha256}, "
        f"seed {spec.seed}.",
        *(_create(t) for t in spec.tables),
    ]
    for table in spec.tables:
        parts.extend(_inserts(spec, table))
    parts.append(
        f"CREATE TABLE {quote(MARKER)} (\n"
        '  "id" INTEGER NOT NULL PRIMARY KEY CHECK ("id" = 1),\n'
        '  "schema_sha256" TEXT NOT NULL,\n'
        '  "rows" INTEGER NOT NULL\n);'
    )
    total = sum(t.rows for t in spec.tables)
    parts.append(
        f'INSERT INTO {quote(MARKER)} ("id", "schema_sha256", "rows") '
        f"VALUES (1, '{spec.sha256}', {total});"
    )
    if dialect == "postgres":
        parts.extend(_grants(spec))
    return "\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``synthetic_data.py --schema FILE [--dialect D] [--out FILE]``; exit 2 on a bad schema."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--schema", type=Path, required=True, help="the JSON schema file")
    parser.add_argument("--dialect", choices=DIALECTS, default="postgres")
    parser.add_argument("--out", type=Path, help="write the SQL here (default: stdout)")
    parser.add_argument("--hash", action="store_true", help="print the schema's sha256 only")
    args = parser.parse_args(argv)
    try:
        spec = load_spec(args.schema)
    except SpecError as exc:
        print(f"synthetic_data: {args.schema}: {exc}", file=sys.stderr)
        return 2
    if args.hash:
        print(spec.sha256)
        return 0
    sql = render_sql(spec, args.dialect)
    if args.out is None:
        sys.stdout.write(sql)
    else:
        args.out.write_text(sql, encoding="utf-8")
        print(
            f"synthetic_data: {sum(t.rows for t in spec.tables)} rows in {len(spec.tables)} "
            f"tables, schema sha256 {spec.sha256}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
