"""Application namespaces with the restricted Pod Security Standard enforced."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class AppNamespacesArgs:
    """Arguments of :class:`AppNamespaces`."""

    names: list[str]
    labels: dict[str, str]


class AppNamespaces(pulumi.ComponentResource):
    """Namespaces where the admission controller enforces the ``restricted`` pod profile.

    Enforcing at the namespace means a workload that asks for root, host access or extra
    capabilities is refused by the API server, whatever chart or manifest it came from.
    """

    def __init__(
        self, name: str, args: AppNamespacesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:AppNamespaces", name, None, opts)
        psa = {
            f"pod-security.kubernetes.io/{mode}": "restricted"
            for mode in ("enforce", "audit", "warn")
        }
        self.namespaces = {
            ns: k8s.core.v1.Namespace(
                f"{name}-{ns}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=ns, labels={**args.labels, **psa}),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for ns in args.names
        }
        self.register_outputs({"namespaces": list(self.namespaces)})
