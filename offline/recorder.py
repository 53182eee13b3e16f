"""A mock monitor that records every registration the way the engine hands it to policies."""

from __future__ import annotations

from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.sync_await import _sync_await

from offline.graph import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, Resource


class Recorder(MockMonitor):
    """Records type, name, parent, camelCase inputs, options, dependencies and provider."""

    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []
        self.stack_urn = ""
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Record the request, then let the base class answer it with the mocks."""
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
            return response
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        timeouts = request.customTimeouts
        self.recorded.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                props=_plain(inputs),
                options={
                    "protect": bool(request.protect),
                    "retainOnDelete": bool(request.retainOnDelete),
                    "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                    "ignoreChanges": list(request.ignoreChanges),
                    "aliases": [self._alias_urn(a, request) for a in request.aliases],
                    "additionalSecretOutputs": list(request.additionalSecretOutputs),
                    "customTimeouts": {
                        "create": timeouts.create,
                        "update": timeouts.update,
                        "delete": timeouts.delete,
                    },
                },
                dependencies=sorted(set(request.dependencies)),
                property_dependencies={
                    key: sorted(set(deps.urns))
                    for key, deps in request.propertyDependencies.items()
                    if deps.urns
                },
                provider=request.provider or None,
                custom=bool(request.custom),
            )
        )
        return response

    def _alias_urn(self, alias: Any, request: Any) -> str:
        """The former URN an alias names, built the way this monitor builds URNs.

        An alias arrives as a URN or as a spec whose empty fields mean "as now" (name, type,
        parent); ``noParent`` means a child of the stack itself.
        """
        if alias.urn:
            return str(alias.urn)
        spec = alias.spec
        parent = self.stack_urn if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name)


def _plain(value: Any) -> Any:  # noqa: PLR0911 - one return per wire type
    """Turn deserialized inputs into JSON data in the engine's wire encoding.

    Secrets become the signature envelope (so a policy can still tell them apart before the
    evaluator unwraps them, and the exporter can mask them); unknowns become the sentinel string.
    """
    if value is rpc.UNKNOWN or isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return {SECRET_SIG_KEY: SECRET_SIG, "value": _plain(value.get("value"))}
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        # The wire format has only doubles; policies compare ports and counts as integers.
        return int(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    # Resource references and assets: keep a readable form rather than fail the run.
    return _sync_await(_describe(value))


async def _describe(value: Any) -> str:
    urn = getattr(value, "urn", None)
    if urn is not None:
        return str(await urn.future())
    return repr(value)
