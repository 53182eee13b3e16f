"""Fixtures of the scripts' tests: a real PostgreSQL server for the SQL they generate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import (
    PostgresServer,
    PostgresUnavailableError,
    find_bindir,
    start_server,
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One server per session (per xdist worker), stopped and deleted at its end.

    Skipped only when the machine has no PostgreSQL server binaries (Debian package
    ``postgresql``, which ``scripts/install-tools.sh`` installs) or, as root, no ``postgres``
    user to run them as; any other failure to start is an error, not a skip.
    """
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres): apt-get install postgresql"
        )
    try:
        server = start_server(bindir)
    except PostgresUnavailableError as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()
