"""The price table of the monthly cost estimate: unit prices per region, each with its source.

The table is a data file (``offline/data/prices.yaml``) so that a price can be updated without
touching code; this module reads it and refuses a table it cannot trust. Like the restore-time
table of the RTO estimate (:mod:`offline.restore_times`), every figure says where it comes from:

- ``source``: the provider's page that publishes the price;
- ``evidence``: where the figure was checked without a live connection (the public pricing
  pages are rendered in the browser, so the check is against a quote of the Price List, a bill
  line or a dated review), with the evidence's own date when it has one;
- ``checked``: when the figure was checked against that evidence.

A price that cannot be cited is left out of the table; the estimate (:mod:`offline.cost`) then
lists the resources that need it as unpriced instead of counting them at zero.

Prices are per unit (an hour, a GB-month, a month, a million requests) and per region. ``fixed``
prices are billed for capacity whether or not it is used; ``usage`` prices need a monthly volume,
taken from the table's named ``usage_assumptions``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "prices.yaml"
KINDS = ("fixed", "usage")
ENTRY_FIELDS = ("item", "unit", "kind", "regions", "source", "evidence", "checked", "note")
REQUIRED_ENTRY_FIELDS = ("item", "unit", "kind", "regions", "source", "evidence", "checked")
ASSUMPTION_FIELDS = ("value", "unit", "basis")
_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_URL = re.compile(r"^https://\S+$")

Kind = Literal["fixed", "usage"]


class PriceTableError(ValueError):
    """A price table that cannot be used; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Price:
    """One unit price of one priced item in one region, with where it comes from."""

    item: str
    region: str
    usd: float
    unit: str
    kind: Kind
    source: str
    evidence: str
    checked: datetime.date
    note: str = ""


@dataclass(frozen=True)
class UsageAssumption:
    """A monthly volume assumed for a usage price (requests, GB processed, capacity units)."""

    name: str
    value: float
    unit: str
    basis: str


@dataclass(frozen=True)
class PriceTable:
    """Every price of the table by (item, region), the table's date and its usage assumptions."""

    as_of: datetime.date
    currency: str
    hours_per_month: float
    prices: Mapping[tuple[str, str], Price]
    assumptions: Mapping[str, UsageAssumption]
    path: Path | None = None

    def price(self, item: str, region: str | None) -> Price | None:
        """The price of ``item`` in ``region``, or None when the table has none."""
        if region is None:
            return None
        return self.prices.get((item, region))

    def assumption(self, name: str) -> UsageAssumption:
        """A usage assumption by name; a name the estimator needs must be in the table."""
        try:
            return self.assumptions[name]
        except KeyError:
            raise PriceTableError(
                f"{self.path or 'price table'}: usage_assumptions has no '{name}' "
                f"(has: {', '.join(sorted(self.assumptions)) or 'none'})"
            ) from None


def load_price_table(path: Path = DEFAULT_TABLE) -> PriceTable:
    """Read and validate a price table file. Raises :class:`PriceTableError` naming the problem."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise PriceTableError(f"{path}: cannot read the price table ({exc.strerror})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PriceTableError(f"{path}: not valid YAML ({exc})") from None
    return parse_price_table(doc, where=str(path), path=path)


def parse_price_table(
    doc: Any, *, where: str = "price table", path: Path | None = None
) -> PriceTable:
    """Validate a price table already read into Python data (see :func:`load_price_table`)."""
    if not isinstance(doc, dict):
        raise PriceTableError(f"{where}: the table must be a mapping with 'as_of' and 'prices'")
    unknown = set(doc) - {"as_of", "currency", "hours_per_month", "prices", "usage_assumptions"}
    if unknown:
        raise PriceTableError(f"{where}: unknown top-level key '{sorted(unknown)[0]}'")
    as_of = _date(doc.get("as_of"), f"{where}: as_of")
    currency = doc.get("currency")
    if currency != "USD":
        raise PriceTableError(f"{where}: currency must be USD, got {currency!r}")
    hours = doc.get("hours_per_month")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 672 <= hours <= 744:
        raise PriceTableError(
            f"{where}: hours_per_month must be a number of hours in a month (672-744), "
            f"got {hours!r}"
        )
    entries = doc.get("prices")
    if not isinstance(entries, list) or not entries:
        raise PriceTableError(f"{where}: prices must be a non-empty list of entries")
    prices: dict[tuple[str, str], Price] = {}
    for index, entry in enumerate(entries):
        for price in _entry(entry, f"{where}: prices[{index}]"):
            key = (price.item, price.region)
            if key in prices:
                raise PriceTableError(
                    f"{where}: prices[{index}]: {price.item} in {price.region} is priced twice"
                )
            prices[key] = price
    assumptions = _assumptions(doc.get("usage_assumptions") or {}, where)
    return PriceTable(as_of, currency, float(hours), prices, assumptions, path)


def _entry(entry: Any, at: str) -> list[Price]:
    if not isinstance(entry, dict):
        raise PriceTableError(f"{at}: each entry must be a mapping")
    unknown = set(entry) - set(ENTRY_FIELDS)
    if unknown:
        raise PriceTableError(
            f"{at}: unknown field '{sorted(unknown)[0]}' (allowed: {', '.join(ENTRY_FIELDS)})"
        )
    if isinstance(entry.get("item"), str):
        at = f"{at} ({entry['item']})"
    for key in REQUIRED_ENTRY_FIELDS:
        if entry.get(key) in (None, "", {}):
            raise PriceTableError(f"{at}: missing '{key}' (every price needs {key})")
    item = entry["item"]
    for key in ("item", "unit", "source", "evidence"):
        if not isinstance(entry[key], str):
            raise PriceTableError(f"{at}: '{key}' must be text")
    if entry["kind"] not in KINDS:
        raise PriceTableError(
            f"{at}: kind must be one of {', '.join(KINDS)}, got {entry['kind']!r}"
        )
    if not _URL.match(entry["source"]):
        raise PriceTableError(
            f"{at}: source must be the https URL of the provider's price page, "
            f"got {entry['source']!r}"
        )
    checked = _date(entry["checked"], f"{at}: checked")
    regions = entry["regions"]
    if not isinstance(regions, dict):
        raise PriceTableError(f"{at}: regions must map region names to prices")
    result = []
    for region, usd in regions.items():
        if not isinstance(region, str) or not _REGION.match(region):
            raise PriceTableError(f"{at}: '{region}' is not a region name like eu-west-1")
        if isinstance(usd, bool) or not isinstance(usd, int | float) or usd < 0:
            raise PriceTableError(
                f"{at}: the price in {region} must be a number of USD of at least 0, got {usd!r}"
            )
        result.append(
            Price(
                item=item,
                region=region,
                usd=float(usd),
                unit=entry["unit"],
                kind=entry["kind"],
                source=entry["source"],
                evidence=entry["evidence"],
                checked=checked,
                note=str(entry.get("note") or ""),
            )
        )
    return result


def _assumptions(doc: Any, where: str) -> dict[str, UsageAssumption]:
    if not isinstance(doc, dict):
        raise PriceTableError(f"{where}: usage_assumptions must map names to assumptions")
    result = {}
    for name, body in doc.items():
        at = f"{where}: usage_assumptions.{name}"
        if not isinstance(body, dict):
            raise PriceTableError(f"{at}: must be a mapping with {', '.join(ASSUMPTION_FIELDS)}")
        missing = [k for k in ASSUMPTION_FIELDS if body.get(k) in (None, "")]
        if missing:
            raise PriceTableError(f"{at}: missing '{missing[0]}'")
        value = body["value"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise PriceTableError(f"{at}: value must be a number of at least 0, got {value!r}")
        result[str(name)] = UsageAssumption(
            str(name), float(value), str(body["unit"]), str(body["basis"])
        )
    return result


def _date(value: Any, at: str) -> datetime.date:
    """A YYYY-MM-DD date, written quoted or not (YAML reads an unquoted one as a date)."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise PriceTableError(f"{at} must be a date written YYYY-MM-DD, got {value!r}")
