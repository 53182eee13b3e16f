"""The ``restricted`` Pod Security Standard, checked on a pod spec offline.

Pod Security admission refuses a pod in a namespace enforcing ``restricted`` for any of the
problems listed by :func:`restricted_problems` (Kubernetes 1.33 rules of the ``restricted``
level, which include ``baseline``'s host-access rules). Charts that build pods from values are
checked by assembling the pod those values describe.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

ALLOWED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
"""Volume sources the restricted level allows (every other source, hostPath first, is refused)."""


def restricted_problems(spec: Mapping[str, Any]) -> list[str]:
    """Why the pod spec ``spec`` would be refused under ``restricted``; ``[]`` when admitted."""
    return list(_problems(spec))


def _problems(spec: Mapping[str, Any]) -> Iterator[str]:
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            yield f"{host} is set"
    pod_ctx = spec.get("securityContext") or {}
    for volume in spec.get("volumes") or []:
        source = set(volume) - {"name"}
        if not source <= ALLOWED_VOLUME_TYPES:
            yield f"volume {volume.get('name')}: {sorted(source)} is not an allowed volume type"
    containers = [*spec.get("initContainers", []), *spec.get("containers", [])]
    if not containers:
        yield "no containers"
    for container in containers:
        name = container.get("name", "<unnamed>")
        ctx = container.get("securityContext") or {}
        if ctx.get("privileged"):
            yield f"{name}: privileged"
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"{name}: allowPrivilegeEscalation is not false"
        caps = ctx.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield f"{name}: capabilities do not drop ALL"
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            yield f"{name}: adds capabilities {caps.get('add')}"
        if not ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")):
            yield f"{name}: runAsNonRoot is not true"
        if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
            yield f"{name}: runs as UID 0"
        seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            yield f"{name}: seccompProfile is {seccomp!r}, not RuntimeDefault or Localhost"
