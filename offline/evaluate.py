"""Evaluate the policy pack's own policy objects on a recorded resource graph.

This mirrors what the engine's analyzer does for ``pulumi preview --policy-pack``: props are
handed over with secrets unwrapped and wrapped in ``pulumi_policy``'s unknown-checking proxy;
a policy that reads an unknown value yields an advisory note rather than a crash; a policy that
raises any other exception is reported as an error of that policy, never a crash of the run.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from offline.graph import Resource, StackGraph, unwrap_secrets


@dataclass(frozen=True)
class Finding:
    """One outcome of a policy on a resource (or on the stack when ``urn`` is empty).

    ``kind`` is ``violation`` (with the policy's enforcement level), ``note`` (the policy could
    not run during preview because a value is unknown) or ``error`` (the policy raised).
    """

    policy: str
    description: str
    enforcement: str
    message: str
    urn: str = ""
    kind: str = "violation"

    @property
    def blocking(self) -> bool:
        """True when this finding fails the run, as a mandatory violation or a policy crash."""
        return (
            self.kind == "violation" and self.enforcement == "mandatory"
        ) or self.kind == "error"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def duration_seconds(value: Any) -> float:
    """Seconds of a custom timeout: a number, or a Go duration such as ``30m`` or ``1h30m``.

    The SDK records timeouts as Go duration strings; the engine hands policies seconds.
    Anything else counts as no timeout (0), as the engine's default.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        return 0.0
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return 0.0
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def _options(resource: Resource) -> PolicyResourceOptions:
    timeouts = resource.option("customTimeouts") or {}
    return PolicyResourceOptions(
        protect=bool(resource.option("protect")),
        ignore_changes=list(resource.option("ignoreChanges") or []),
        delete_before_replace=resource.option("deleteBeforeReplace"),
        aliases=list(resource.option("aliases") or []),
        custom_timeouts=PolicyCustomTimeouts(
            duration_seconds(timeouts.get("create")),
            duration_seconds(timeouts.get("update")),
            duration_seconds(timeouts.get("delete")),
        ),
        additional_secret_outputs=list(resource.option("additionalSecretOutputs") or []),
        parent=resource.parent,
    )


def _provider(resource: Resource, by_urn: Mapping[str, Resource]) -> PolicyProviderResource | None:
    if not resource.provider:
        return None
    urn = resource.provider.rsplit("::", 1)[0]
    prov = by_urn.get(urn)
    if prov is None:
        return None
    return PolicyProviderResource(prov.type, _policy_props(prov), prov.urn, prov.name)


def _policy_props(resource: Resource) -> Any:
    """Props as the analyzer hands them over: secrets unwrapped, unknowns raising on access."""
    return unknown_checking_proxy(unwrap_secrets(resource.props))


def _level(policy: Policy, overrides: Mapping[str, str] | None) -> str:
    if overrides and policy.name in overrides:
        return overrides[policy.name]
    level = policy.enforcement_level or EnforcementLevel.ADVISORY
    return str(level.value)


def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        asyncio.run(_await(result))


async def _await(result: Any) -> None:
    await result


def evaluate(
    graph: StackGraph,
    policies: Iterable[Policy],
    *,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    enforcement: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Run every resource policy on every custom resource, then every stack policy once.

    ``config`` is the per-policy configuration (as in ``--policy-pack-config``); ``enforcement``
    overrides enforcement levels by policy name (``disabled`` skips the policy).
    """
    findings: list[Finding] = []
    by_urn = graph.by_urn()
    custom = [r for r in graph.resources if r.custom]
    stack_tags: dict[str, str] = {}
    for policy in policies:
        level = _level(policy, enforcement)
        if level == "disabled":
            continue
        policy_config = dict((config or {}).get(policy.name, {}))

        def report(
            message: str,
            urn: str | None = None,
            *,
            _p: Policy = policy,
            _l: str = level,
            _u: str = "",
        ) -> None:
            findings.append(Finding(_p.name, _p.description, _l, message, urn or _u))

        def guarded(call: Any, urn: str, *, _p: Policy = policy, _l: str = level) -> None:
            try:
                _run(call())
            except UnknownValueError as exc:
                findings.append(
                    Finding(
                        _p.name,
                        _p.description,
                        "advisory",
                        f"can't run during preview: {exc.message}",
                        urn,
                        "note",
                    )
                )
            except _NotApplicableError:
                pass
            except Exception as exc:  # noqa: BLE001 - a policy bug is reported, not fatal
                findings.append(
                    Finding(
                        _p.name,
                        _p.description,
                        _l,
                        f"policy raised {type(exc).__name__}: {exc}",
                        urn,
                        "error",
                    )
                )

        if isinstance(policy, ResourceValidationPolicy):
            for res in custom:
                args = ResourceValidationArgs(
                    res.type,
                    _policy_props(res),
                    res.urn,
                    res.name,
                    _options(res),
                    _provider(res, by_urn),
                    policy_config,
                    stack_tags,
                )

                def rv(
                    a: ResourceValidationArgs = args, u: str = res.urn, p: Policy = policy
                ) -> Any:
                    return p.validate(a, lambda m, _urn=None: report(m, _u=u))  # type: ignore[attr-defined]

                guarded(rv, res.urn)
        elif isinstance(policy, StackValidationPolicy):
            resources = _policy_resources(custom, by_urn)
            sargs = StackValidationArgs(resources, policy_config, stack_tags)

            def sv(a: StackValidationArgs = sargs, p: Policy = policy) -> Any:
                return p.validate(a, report)  # type: ignore[attr-defined]

            guarded(sv, "")
    return findings


def _policy_resources(
    resources: list[Resource], by_urn: Mapping[str, Resource]
) -> list[PolicyResource]:
    built: dict[str, PolicyResource] = {}
    for res in resources:
        built[res.urn] = PolicyResource(
            res.type,
            _policy_props(res),
            res.urn,
            res.name,
            _options(res),
            _provider(res, by_urn),
            None,
            [],
            {},
        )
    for res in resources:
        node = built[res.urn]
        if res.parent in built:
            node.parent = built[res.parent]
        node.dependencies = [built[d] for d in res.dependencies if d in built]
        node.property_dependencies = {
            key: [built[d] for d in urns if d in built]
            for key, urns in res.property_dependencies.items()
        }
    return list(built.values())
