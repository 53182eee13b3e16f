"""Preflight: check that Vault can serve every secret a deploy needs before reading any.

A deploy that fails on its seventh secret, after creating resources for the first six, is worse
than one that refuses to start; and a user who fixes one missing grant per run needs as many
runs as there are grants. So preflight checks reachability, seal, token and, for every
declared :class:`~components.vault.refs.SecretRef`, the mount's KV version and the ``read``
capability, then raises one :class:`~components.vault.errors.VaultPreflightError` listing every
problem. It reads no secret value. For the third-party credentials (``expiring`` consumers) it
also reads the secret's KV v2 custom metadata, where their expiry date must be
(:mod:`components.vault.expiry`): a missing or unreadable date is a problem naming the path and
key, a date already past a warning.

Least privilege (seed 4.9.1): the deploy identity needs ``read`` on the secrets it consumes
(``list`` is tolerated); anything more is returned as a warning in the report.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from components.vault.client import VaultClient
from components.vault.errors import (
    PreflightProblem,
    VaultError,
    VaultPreflightError,
    VaultSealedError,
    VaultServerError,
    VaultUnreachableError,
)
from components.vault.expiry import ExpiryError, metadata_path, parse_expiry
from components.vault.refs import SecretRef

# Capabilities a read-only deploy identity may hold without a warning.
NEEDED_CAPABILITIES = frozenset({"read", "list"})
# Shown first and in this order in warnings, the most dangerous last; any other one follows.
_EXCESS_ORDER = ("create", "update", "patch", "delete", "sudo", "root")
# A token that expires sooner than this may die in the middle of a deploy.
MIN_TOKEN_TTL_SECONDS = 300

# Errors after which no further check can tell anything: stop and report this one.
_FATAL = (VaultUnreachableError, VaultSealedError, VaultServerError)


@dataclass(frozen=True)
class PreflightReport:
    """What preflight checked (all passed) and the least-privilege warnings it found."""

    address: str
    namespace: str
    checks: tuple[str, ...]
    warnings: tuple[str, ...]
    refs: tuple[SecretRef, ...]
    expiries: Mapping[str, int] = field(default_factory=dict)
    """Expiry (seconds since the epoch) of each ``expiring`` consumer's credential."""

    def render(self) -> str:
        """Multi-line text for a log: checks, then warnings."""
        lines = [f"Vault preflight against {self.address}: {len(self.checks)} check(s) passed"]
        lines += [f"  ok: {c}" for c in self.checks]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _excess(caps: frozenset[str]) -> list[str]:
    extra = caps - NEEDED_CAPABILITIES - {"deny"}
    return [c for c in _EXCESS_ORDER if c in extra] + sorted(extra - set(_EXCESS_ORDER))


def _consumers(refs: Iterable[SecretRef]) -> str:
    return ", ".join(f"{r.consumer} (key {r.key})" if r.consumer else f"key {r.key}" for r in refs)


def _expiries(
    client: VaultClient,
    refs: Iterable[SecretRef],
    problems: list[PreflightProblem],
    warnings: list[str],
    now: float,
) -> dict[str, int]:
    """Expiry of each ref from its secret's custom metadata; problems and warnings collected."""
    found: dict[str, int] = {}
    metadata: dict[str, dict[str, str] | None] = {}
    for ref in refs:
        path = metadata_path(ref)
        if path not in metadata:
            try:
                metadata[path] = client.kv2_custom_metadata(ref.mount, ref.path)
            except _FATAL:
                raise
            except VaultError as exc:
                metadata[path] = None
                problems.append(
                    PreflightProblem(
                        path, f"{exc}; the expiry of {_consumers([ref])} is read there"
                    )
                )
        if metadata[path] is None:
            continue
        try:
            found[ref.consumer] = parse_expiry(metadata[path], ref)
        except ExpiryError as exc:
            problems.append(PreflightProblem(path, str(exc)))
            continue
        if found[ref.consumer] <= now:
            warnings.append(
                f"{path}: the credential of {ref.consumer} (key {ref.key}) has expired; "
                "replace it and its expiry date"
            )
    return found


def preflight(
    client: VaultClient,
    refs: Iterable[SecretRef],
    *,
    expiring: Collection[str] = (),
    now: float | None = None,
) -> PreflightReport:
    """Check Vault and the token's grants on ``refs``; raise one error listing all problems.

    Checks, in order: Vault reachable (``sys/seal-status``), unsealed, token valid
    (``auth/token/lookup-self``), each mount a KV v2 engine, and ``read`` on each
    ``<mount>/data/<path>`` (``sys/capabilities-self``). An unreachable or sealed Vault, or a
    rejected token, stops at once (nothing after it can be checked); mount and capability
    problems are collected across every ref. Then the expiry date of each ref whose consumer is
    in ``expiring`` (``now``: the time it is compared with, default the clock).
    """
    refs = tuple(refs)
    address = client.address
    checks: list[str] = []
    warnings: list[str] = []
    problems: list[PreflightProblem] = []

    def stop(path: str, detail: str) -> VaultPreflightError:
        return VaultPreflightError(
            address=address,
            problems=[*problems, PreflightProblem(path, detail)],
            checks=checks,
            warnings=warnings,
        )

    try:
        seal = client.seal_status()
    except VaultError as exc:
        raise stop("sys/seal-status", str(exc)) from exc
    checks.append(f"reachable: {address} answered sys/seal-status (Vault {seal.version})")
    if seal.sealed:
        raise stop(
            "sys/seal-status",
            f"Vault is sealed (unseal progress {seal.progress}/{seal.threshold}); an operator "
            "must unseal it",
        )
    checks.append("unsealed")

    try:
        token = client.token_lookup()
    except VaultError as exc:
        raise stop("auth/token/lookup-self", str(exc)) from exc
    ttl = f"ttl {token.ttl}s" if token.ttl else "no expiry"
    checks.append(
        f"token valid: {token.display_name or '(no name)'}, policies "
        f"{', '.join(token.policies) or '(none)'}, {ttl}"
    )
    if "root" in token.policies:
        warnings.append(
            "least privilege: the deploy identity uses a root token; give it a policy with "
            "read on the secrets it consumes only"
        )
    if 0 < token.ttl < MIN_TOKEN_TTL_SECONDS:
        warnings.append(f"the token expires in {token.ttl}s; a long deploy may outlive it")

    for mount in dict.fromkeys(r.mount for r in refs):
        try:
            info = client.mount_info(mount)
        except _FATAL as exc:
            raise stop(f"sys/internal/ui/mounts/{mount}", str(exc)) from exc
        except VaultError as exc:
            problems.append(PreflightProblem(mount, str(exc)))
            continue
        if info.is_kv2:
            checks.append(f"mount {mount}: KV v2")
        elif info.type in {"kv", "generic"}:
            problems.append(
                PreflightProblem(mount, f"mount {mount} is KV v{info.version or '1'}, expected v2")
            )
        else:
            problems.append(
                PreflightProblem(mount, f"mount {mount} is a {info.type} engine, expected KV v2")
            )

    by_path: dict[str, list[SecretRef]] = {}
    for ref in refs:
        by_path.setdefault(ref.api_path, []).append(ref)
    for path, users in by_path.items():
        try:
            caps = client.capabilities(path)
        except _FATAL as exc:
            raise stop(path, str(exc)) from exc
        except VaultError as exc:
            problems.append(PreflightProblem(path, f"{exc}; needed by {_consumers(users)}"))
            continue
        held = ", ".join(sorted(caps)) or "none"
        if not caps & {"read", "root"}:  # "deny" comes alone, so it lands here
            problems.append(
                PreflightProblem(
                    path,
                    f"missing read capability (holds: {held}); needed by {_consumers(users)}",
                )
            )
            continue
        checks.append(f"read: {path}")
        excess = _excess(caps)
        if excess:
            warnings.append(
                f"least privilege: {path} grants {', '.join(excess)}; the deploy identity "
                "needs only read"
            )

    try:
        expiries = _expiries(
            client,
            [r for r in refs if r.consumer in expiring],
            problems,
            warnings,
            time.time() if now is None else now,
        )
    except _FATAL as exc:
        raise stop("metadata", str(exc)) from exc
    if expiries:
        checks.append(f"expiry dates: {', '.join(sorted(expiries))}")

    if problems:
        raise VaultPreflightError(
            address=address, problems=problems, checks=checks, warnings=warnings
        )
    return PreflightReport(
        address=address,
        namespace=client.settings.namespace,
        checks=tuple(checks),
        warnings=tuple(warnings),
        refs=refs,
        expiries=expiries,
    )
