"""A namespace with its Pod Security labels and the vendored Helm release installed into it.

Most charts of the platform arrive the same way: the component creates the namespace (Helm's
``create_namespace`` would create it without labels, so Pod Security admission would not
apply), labels it with the Pod Security level its pods meet, and installs the vendored chart
into it once it exists. :class:`NamespacedRelease` is that pattern, once.

Components that created the namespace and the release themselves before this one existed pass
their former URNs (``namespace_aliases``, ``release_aliases``): the two children then keep their
state when they move under a :class:`NamespacedRelease`, where a replaced Namespace would delete
everything in it and a replaced release would uninstall the chart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.charts import RELEASE_TIMEOUT_SECONDS, vendored_release
from components.k8s.pod_security import psa_labels

POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
"""Pod Security Standard levels, from the most permissive to the strictest."""
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_PSA_PREFIX = "pod-security.kubernetes.io/"


def labelled_namespace(
    logical: str,
    namespace: str,
    *,
    labels: Mapping[str, str],
    enforce: str,
    audit: str,
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Namespace:
    """Namespace ``namespace`` with ``labels`` and the Pod Security labels ``enforce``/``audit``."""
    return k8s.core.v1.Namespace(
        logical,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=namespace, labels={**labels, **psa_labels(enforce, audit)}
        ),
        opts=opts,
    )


@dataclass(frozen=True)
class NamespacedReleaseArgs:
    """Arguments of :class:`NamespacedRelease`.

    ``enforce`` is the Pod Security level the namespace enforces; ``audit`` the level it audits
    and warns about, at least as strict (so the warnings name what a stricter level would
    refuse). ``labels`` go on the namespace besides the Pod Security ones. The release is chart
    ``chart`` at the version vendored in ``chart_directory``, from ``repository`` (see
    :func:`~components.k8s.charts.vendored_release`), and waits for the namespace and for
    ``release_depends_on``. ``before_release``, when given, is called with the namespace once it
    is declared and creates what the release needs inside it (the Secrets its values name); the
    release waits for what it returns as well. ``namespace_aliases`` and ``release_aliases``
    name the children's former URNs (``pulumi.Alias`` or URN strings).
    """

    namespace: str
    chart: str
    chart_directory: Path
    repository: str
    values: Mapping[str, Any] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    enforce: str = "restricted"
    audit: str = "restricted"
    timeout: int = RELEASE_TIMEOUT_SECONDS
    skip_crds: bool = False
    release_depends_on: Sequence[pulumi.Resource] = ()
    before_release: Callable[[k8s.core.v1.Namespace], Sequence[pulumi.Resource]] | None = None
    namespace_aliases: Sequence[pulumi.Input[str] | pulumi.Alias] = ()
    release_aliases: Sequence[pulumi.Input[str] | pulumi.Alias] = ()

    def __post_init__(self) -> None:
        """Refuse a namespace Kubernetes would reject and Pod Security levels that do not exist."""
        if not _DNS_LABEL.match(self.namespace):
            raise ValueError(f"namespace must be a DNS label, got {self.namespace!r}")
        for what in ("enforce", "audit"):
            level = getattr(self, what)
            if level not in POD_SECURITY_LEVELS:
                raise ValueError(
                    f"{what} must be one of {', '.join(POD_SECURITY_LEVELS)}, got {level!r}"
                )
        if POD_SECURITY_LEVELS.index(self.audit) < POD_SECURITY_LEVELS.index(self.enforce):
            raise ValueError(
                f"audit level {self.audit!r} is more permissive than enforce {self.enforce!r}: "
                "it would never warn"
            )
        overridden = sorted(key for key in self.labels if key.startswith(_PSA_PREFIX))
        if overridden:
            raise ValueError(
                f"labels {overridden} are set from enforce and audit; pass the levels instead"
            )
        if not (self.chart_directory / "Chart.yaml").is_file():
            raise ValueError(f"chart_directory {self.chart_directory} has no Chart.yaml")
        if self.timeout < 1:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout}")


class NamespacedRelease(pulumi.ComponentResource):
    """Namespace ``args.namespace`` with Pod Security labels, and a vendored Helm release in it.

    Children: ``<name>-namespace`` and ``<name>-release``. Attributes: ``namespace_name`` (the
    plain name), ``namespace`` (the Namespace resource) and ``release``. The Kubernetes provider
    comes from ``opts`` (``providers={"kubernetes": ...}``).
    """

    def __init__(
        self,
        name: str,
        args: NamespacedReleaseArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ttbt2:k8s:NamespacedRelease", name, None, opts)
        self.namespace_name = args.namespace
        self.namespace = labelled_namespace(
            f"{name}-namespace",
            args.namespace,
            labels=args.labels,
            enforce=args.enforce,
            audit=args.audit,
            opts=pulumi.ResourceOptions(parent=self, aliases=list(args.namespace_aliases)),
        )
        prerequisites = args.before_release(self.namespace) if args.before_release else ()
        self.release = vendored_release(
            f"{name}-release",
            args.chart,
            args.chart_directory,
            repository=args.repository,
            namespace=self.namespace.metadata.name,
            values=args.values,
            timeout=args.timeout,
            skip_crds=args.skip_crds,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.namespace, *prerequisites, *args.release_depends_on],
                aliases=list(args.release_aliases),
            ),
        )
        self.register_outputs(
            {"namespace": args.namespace, "chart": args.chart, "status": self.release.status}
        )
