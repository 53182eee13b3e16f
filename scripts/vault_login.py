"""Log in to a stack's Vault, preflight its secret paths, and hand the token to the next step.

The Pulumi Vault provider takes no token from the program (a token in its inputs would be
stored in the stack's state and be long expired by the next ``pulumi refresh``); it reads
``VAULT_TOKEN`` from the environment of each run instead. CI runs this script right before
each ``pulumi`` step: it logs in with the stack's own auth method (``jwt`` with the GitHub
Actions id-token in CI, see :mod:`components.vault.client`), runs the preflight of every path
the stack declares (every problem reported at once, before Pulumi touches anything), then
exports the fresh token:

    python scripts/vault_login.py prod --github-env "$GITHUB_ENV"

masks the token in the job log (``::add-mask::`` on stdout) and appends ``VAULT_TOKEN=...`` to
the ``$GITHUB_ENV`` file for the following steps. Without ``--github-env`` it prints
``VAULT_TOKEN=...`` on stdout, for a local shell. Preflight results go to stderr. Exit 0 on
success, 2 on a bad stack file, a refused login or a failed preflight, with the cause named.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.vault.source import VaultRunError, checked, declared_refs, login  # noqa: E402
from config import SettingsError, from_config_values  # noqa: E402
from offline.stackfile import StackFileError, load_stack  # noqa: E402


def vault_token(stack: str, env: Mapping[str, str], project_dir: Path = ROOT) -> str:
    """Log in to ``stack``'s Vault with credentials from ``env``, preflight, return the token.

    Raises :class:`~components.vault.source.VaultRunError` (refused login, failed preflight),
    :class:`~config.SettingsError` or
    :class:`~offline.stackfile.StackFileError`, each naming the cause.
    """
    cfg = from_config_values(stack, load_stack(project_dir, stack).values)
    client = login(cfg, env)
    try:
        report = checked(client, declared_refs(cfg))
        print(report.render(), file=sys.stderr)
        return client.session_token()
    finally:
        client.close()


def main(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    project_dir: Path = ROOT,
) -> int:
    """Entry point; see the module docstring."""
    parser = argparse.ArgumentParser(prog="vault_login.py", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name (dev, staging, prod)")
    parser.add_argument(
        "--github-env",
        type=Path,
        metavar="FILE",
        help="append VAULT_TOKEN=... to this file ($GITHUB_ENV) and mask the token",
    )
    args = parser.parse_args(argv)
    out = out or sys.stdout
    if args.github_env is not None and not args.github_env.parent.is_dir():
        print(f"--github-env: no directory {args.github_env.parent}", file=sys.stderr)
        return 2
    try:
        token = vault_token(args.stack, os.environ if env is None else env, project_dir)
    except (StackFileError, SettingsError) as exc:
        print(exc, file=sys.stderr)
        return 2
    except VaultRunError as exc:
        print(f"Vault login for stack {args.stack} failed: {exc}", file=sys.stderr)
        return 2
    if args.github_env is None:
        print(f"VAULT_TOKEN={token}", file=out)
        return 0
    # Masked before it is written anywhere a later step could echo it.
    print(f"::add-mask::{token}", file=out)
    with args.github_env.open("a", encoding="utf-8") as github_env:
        github_env.write(f"VAULT_TOKEN={token}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
