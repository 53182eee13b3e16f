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
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

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


def applies_to(policy: Policy) -> Callable[[str], bool] | None:
    """The predicate on type tokens a resource policy declares as ``applies_to``, if any.

    The pack's builder (``policies/ttbt2_policies/common.py``) records on each policy the types
    it checks: a collection of type tokens or a predicate on the token. A policy that declares
    nothing (None here) sees every resource.
    """
    declared = getattr(policy, "applies_to", None)
    if declared is None:
        return None
    if callable(declared):
        return cast(Callable[[str], bool], declared)
    if isinstance(declared, Collection) and not isinstance(declared, str):
        return frozenset(declared).__contains__
    return None


class _Views:
    """What the analyzer hands policies about each resource, built once per graph.

    Unwrapping secrets and wrapping props in the unknown-checking proxy walks every value of a
    resource; doing it once per resource instead of once per resource and policy is most of
    the evaluation's cost. Policies only read these views, so every policy shares them.
    """

    def __init__(self, graph: StackGraph) -> None:
        self.by_urn = graph.by_urn()
        self.custom = [r for r in graph.resources if r.custom]
        self._props: dict[str, Any] = {}
        self._options: dict[str, PolicyResourceOptions] = {}
        self._providers: dict[str, PolicyProviderResource | None] = {}
        self._stack: list[PolicyResource] | None = None
        self._by_type: dict[str, list[int]] = {}
        for i, res in enumerate(self.custom):
            self._by_type.setdefault(res.type, []).append(i)

    def props(self, res: Resource) -> Any:
        """Props as the analyzer hands them over: secrets unwrapped, unknowns raising on access."""
        if res.urn not in self._props:
            self._props[res.urn] = unknown_checking_proxy(unwrap_secrets(res.props))
        return self._props[res.urn]

    def options(self, res: Resource) -> PolicyResourceOptions:
        """The resource's options as a policy sees them."""
        if res.urn not in self._options:
            self._options[res.urn] = _options(res)
        return self._options[res.urn]

    def provider(self, res: Resource) -> PolicyProviderResource | None:
        """The resource's provider as a policy sees it, None without one in the graph."""
        if not res.provider:
            return None
        urn = res.provider.rsplit("::", 1)[0]
        if urn not in self._providers:
            prov = self.by_urn.get(urn)
            self._providers[urn] = (
                None
                if prov is None
                else PolicyProviderResource(prov.type, self.props(prov), prov.urn, prov.name)
            )
        return self._providers[urn]

    def resources_for(self, policy: Policy, *, dispatch: bool) -> list[Resource]:
        """The custom resources ``policy`` is run on, in registration order.

        Dispatched by the types the policy declares; one whose declaration cannot be asked
        (it raises) sees every resource, so the error is reported per resource as before.
        """
        accepts = applies_to(policy) if dispatch else None
        if accepts is None:
            return self.custom
        try:
            chosen = [i for typ, idx in self._by_type.items() if accepts(typ) for i in idx]
        except Exception:  # noqa: BLE001 - the policy's own run reports the error
            return self.custom
        return [self.custom[i] for i in sorted(chosen)]

    def stack_resources(self) -> list[PolicyResource]:
        """Every custom resource with parent, dependencies and property dependencies linked."""
        if self._stack is None:
            built: dict[str, PolicyResource] = {}
            for res in self.custom:
                built[res.urn] = PolicyResource(
                    res.type,
                    self.props(res),
                    res.urn,
                    res.name,
                    self.options(res),
                    self.provider(res),
                    None,
                    [],
                    {},
                )
            for res in self.custom:
                node = built[res.urn]
                if res.parent in built:
                    node.parent = built[res.parent]
                node.dependencies = [built[d] for d in res.dependencies if d in built]
                node.property_dependencies = {
                    key: [built[d] for d in urns if d in built]
                    for key, urns in res.property_dependencies.items()
                }
            self._stack = list(built.values())
        return self._stack


def evaluate(
    graph: StackGraph,
    policies: Iterable[Policy],
    *,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    enforcement: Mapping[str, str] | None = None,
    dispatch: bool = True,
) -> list[Finding]:
    """Run every resource policy on the custom resources it applies to, then every stack policy.

    Findings come policy by policy in the pack's order, resources in registration order.
    ``config`` is the per-policy configuration (as in ``--policy-pack-config``); ``enforcement``
    overrides enforcement levels by policy name (``disabled`` skips the policy).
    ``dispatch=False`` hands every resource to every resource policy, whatever types it
    declares (see :func:`applies_to`); the findings are the same, only slower.
    """
    findings: list[Finding] = []
    views = _Views(graph)
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
            for res in views.resources_for(policy, dispatch=dispatch):
                args = ResourceValidationArgs(
                    res.type,
                    views.props(res),
                    res.urn,
                    res.name,
                    views.options(res),
                    views.provider(res),
                    policy_config,
                    stack_tags,
                )

                def rv(
                    a: ResourceValidationArgs = args, u: str = res.urn, p: Policy = policy
                ) -> Any:
                    return p.validate(a, lambda m, _urn=None: report(m, _u=u))  # type: ignore[attr-defined]

                guarded(rv, res.urn)
        elif isinstance(policy, StackValidationPolicy):
            sargs = StackValidationArgs(views.stack_resources(), policy_config, stack_tags)

            def sv(a: StackValidationArgs = sargs, p: Policy = policy) -> Any:
                return p.validate(a, report)  # type: ignore[attr-defined]

            guarded(sv, "")
    return findings
