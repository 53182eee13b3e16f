"""vendor/charts: every vendored file is listed in SOURCES.md with the sha256 it still has.

The offline validators trust these files as the upstream schemas; an edited or unlisted file
would validate against something no chart ships.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "vendor" / "charts"
_ROW = re.compile(r"^\| (?P<file>[\w./-]+\.ya?ml|[\w./-]+\.lock) \|.*\| (?P<sha>[0-9a-f]{64}) \|")


def listed() -> dict[str, str]:
    """File (relative to vendor/charts) -> sha256, from every table row of SOURCES.md."""
    rows: dict[str, str] = {}
    for line in (VENDOR / "SOURCES.md").read_text().splitlines():
        if match := _ROW.match(line):
            rows[match["file"]] = match["sha"]
    return rows


def test_every_vendored_file_is_listed_with_its_checksum() -> None:
    rows = listed()
    files = {
        str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file() and p.suffix != ".md"
    }
    assert files, "no vendored chart files"
    assert sorted(files - set(rows)) == [], "vendored but not listed in SOURCES.md"
    assert sorted(set(rows) - files) == [], "listed in SOURCES.md but missing"
    changed = [
        name
        for name, sha in rows.items()
        if hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() != sha
    ]
    assert changed == [], "content differs from the upstream file named in SOURCES.md"
