"""A throw-away PostgreSQL server for tests that must run SQL on the real engine.

The repository writes SQL for PostgreSQL (dev's synthetic data, the anonymisation pipeline's
masking); SQLite accepts much that PostgreSQL refuses (types, functions, what may run inside a
transaction), so those scripts are also run here, on a server of the machine's PostgreSQL
binaries: ``initdb`` into a temporary directory, reachable only through a Unix socket in that
directory (no TCP port, so parallel test workers never collide), ``fsync`` off, started with
``pg_ctl -w`` and stopped at the end of the session. Tests talk to it with ``psql``, the client
the Job and the workflow use, so what they run is what production runs.

``initdb`` refuses to run as root: as root the server runs as the ``postgres`` system user
(``runuser``), which owns the directory; as anyone else it runs as that user.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

SUPERUSER: Final = "postgres"
"""The bootstrap superuser's name, whoever runs the server."""
PORT: Final = 5432
"""Only names the socket file: the server listens on no TCP address."""
_KNOWN_BINDIRS: Final = "/usr/lib/postgresql/*/bin"
_PROGRAMS: Final = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailableError(RuntimeError):
    """No usable PostgreSQL server binaries, or no user to run them as; the message says which."""


def _version_key(path: Path) -> tuple[int, ...]:
    digits = "".join(c if c.isdigit() else " " for c in path.parent.name).split()
    return tuple(int(d) for d in digits)


def find_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, newest version first."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    candidates.extend(sorted(Path("/").glob(_KNOWN_BINDIRS.lstrip("/")), key=_version_key)[::-1])
    for directory in candidates:
        if all(os.access(directory / p, os.X_OK) for p in _PROGRAMS):
            return directory
    return None


def _run_as() -> list[str]:
    """The command prefix that runs the server's programs as a user ``initdb`` accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailableError(
            "running as root and there is no 'postgres' system user to run the server as"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailableError("running as root and runuser is missing (util-linux)")
    return [runuser, "-u", "postgres", "--"]


@dataclass
class PostgresServer:
    """A running server: its socket directory, and ``psql`` against one of its databases."""

    bindir: Path
    root: Path
    _prefix: list[str]
    _names: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def socket_dir(self) -> Path:
        """Where the server's Unix socket is (``psql -h``)."""
        return self.root

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    def _psql_binary(self) -> str:
        local = self.bindir / "psql"
        return str(local) if local.exists() else (shutil.which("psql") or "psql")

    def connection_env(self, database: str) -> dict[str, str]:
        """The libpq variables that point ``psql`` at ``database`` as the superuser."""
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("PG")},
            "PGHOST": str(self.socket_dir),
            "PGPORT": str(PORT),
            "PGUSER": SUPERUSER,
            "PGDATABASE": database,
        }

    def psql(
        self,
        database: str,
        *args: str,
        sql: str | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """``psql -X -v ON_ERROR_STOP=1 ARGS`` on ``database``, ``sql`` (if any) on stdin."""
        command = [self._psql_binary(), "-X", "-v", "ON_ERROR_STOP=1", *args]
        if sql is not None:
            command += ["-f", "-"]
        result = subprocess.run(
            command,
            input=sql,
            capture_output=True,
            text=True,
            env=self.connection_env(database),
            check=False,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"psql {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    def query(self, database: str, sql: str) -> list[list[str]]:
        r"""The rows of ``sql`` (unaligned, ``|``-separated, NULL as ``\N``)."""
        out = self.psql(database, "-At", "-F", "|", "-P", "null=\\N", sql=sql).stdout
        return [line.split("|") for line in out.splitlines()]

    def scalar(self, database: str, sql: str) -> str:
        """The one value ``sql`` returns."""
        rows = self.query(database, sql)
        assert len(rows) == 1 and len(rows[0]) == 1, rows
        return rows[0][0]

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database, its name unique within the session."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self.psql("postgres", "-q", "-c", f'CREATE DATABASE "{name}"')
        return name

    def has_library(self, name: str) -> bool:
        """Whether the server has the loadable module ``name`` (a contrib extension)."""
        libdir = self.bindir.parent / "lib"
        return (libdir / f"{name}.so").exists()

    def stop(self) -> None:
        """Stop the server now (fast shutdown) and remove its files."""
        subprocess.run(
            [
                *self._prefix,
                *(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast"),
                *("-w", "stop"),
            ],
            capture_output=True,
            check=False,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _server_options(socket_dir: Path, preload: Sequence[str]) -> str:
    # Durability is worthless for a server deleted at the end of the run and costs seconds.
    options = [
        "-c listen_addresses=''",
        f"-c unix_socket_directories='{socket_dir}'",
        f"-c port={PORT}",
        "-c fsync=off",
        "-c synchronous_commit=off",
        "-c full_page_writes=off",
        "-c max_connections=20",
        "-c shared_buffers=16MB",
    ]
    if preload:
        options.append(f"-c shared_preload_libraries='{','.join(preload)}'")
    return " ".join(options)


def start_server(bindir: Path, *, preload_statements: bool = True) -> PostgresServer:
    """Create and start a server; :class:`PostgresUnavailableError` when that cannot be done here.

    ``preload_statements`` preloads ``pg_stat_statements`` when the server has it (as RDS does);
    without it, the extension can be created but its functions fail.
    """
    prefix = _run_as()
    # A short path under the system's temp directory: a socket path has at most 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="ttbt2-pg-", dir="/tmp" if Path("/tmp").is_dir() else None))
    if prefix:
        postgres = pwd.getpwnam("postgres")
        os.chown(root, postgres.pw_uid, postgres.pw_gid)
    server = PostgresServer(bindir=bindir, root=root, _prefix=prefix)
    initdb = subprocess.run(
        [
            *prefix,
            *(str(bindir / "initdb"), "-D", str(server.data_dir), "-U", SUPERUSER),
            *("--auth=trust", "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if initdb.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed:\n{initdb.stderr}")
    statements = preload_statements and server.has_library("pg_stat_statements")
    preload = ["pg_stat_statements"] if statements else []
    started = subprocess.run(
        [
            *prefix,
            *(str(bindir / "pg_ctl"), "-D", str(server.data_dir), "-w", "-t", "60"),
            *("-l", str(root / "server.log"), "-o", _server_options(root, preload), "start"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if started.returncode != 0:
        log = (
            (root / "server.log").read_text(errors="replace")
            if (root / "server.log").exists()
            else ""
        )
        server.stop()
        raise RuntimeError(f"pg_ctl start failed:\n{started.stderr}\n{log}")
    return server
