"""The restricted security contexts and probes every workload the project renders uses.

Pure functions returning plain dicts (the camelCase Kubernetes form), so a component can put
them in any pod template, typed or not. The contexts meet the ``restricted`` Pod Security
Standard, which the application namespaces enforce, and go further: a fixed high UID (no clash
with a host user, seed 4.9), a read-only root filesystem and no service-account token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MIN_UID = 10000
"""UIDs below this may belong to users of the node image; a container never runs as one."""
DEFAULT_UID = 10001


def _check_uid(uid: int) -> None:
    if uid < MIN_UID:
        raise ValueError(f"uid/gid {uid} must be at least {MIN_UID} (no clash with host users)")


def pod_security_context(uid: int = DEFAULT_UID, gid: int | None = None) -> dict[str, Any]:
    """Pod-level context: non-root ``uid``/``gid``, volumes owned by ``gid``, RuntimeDefault."""
    group = uid if gid is None else gid
    _check_uid(uid)
    _check_uid(group)
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": group,
        "fsGroup": group,
        # Only relabel volumes whose root is not already ours: fast starts with big volumes.
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(uid: int = DEFAULT_UID) -> dict[str, Any]:
    """Container-level context: no escalation, no capabilities, read-only root filesystem.

    Repeats the pod's user and seccomp settings so the container stays restricted even if it
    is copied into a pod template that lacks them.
    """
    _check_uid(uid)
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_pod_fields() -> dict[str, Any]:
    """Pod spec fields that keep a pod off the host and away from the Kubernetes API.

    ``automountServiceAccountToken: false``: an application that does not call the API must
    not hold a token for it; IRSA projects its own AWS-audience token regardless.
    """
    return {
        "automountServiceAccountToken": False,
        "hostNetwork": False,
        "hostPID": False,
        "hostIPC": False,
        "enableServiceLinks": False,  # no env vars leaking every Service of the namespace
    }


def script_container(
    name: str,
    image: str,
    *,
    script: str,
    env: Iterable[Mapping[str, Any]],
    scratch: str,
    mounts: Mapping[str, str],
    resources: Mapping[str, Any],
) -> dict[str, Any]:
    """A Job step that runs ``script`` with ``/bin/sh`` in a hardened container.

    It writes only to the ``scratch`` volume at ``scratch`` (the root filesystem is read-only);
    ``mounts`` maps further volumes to their read-only paths.
    """
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", script],
        "env": list(env),
        "resources": resources,
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "scratch", "mountPath": scratch},
            *(
                {"name": volume, "mountPath": path, "readOnly": True}
                for volume, path in mounts.items()
            ),
        ],
    }


def http_probe(
    path: str,
    port: int | str,
    *,
    period_seconds: int = 10,
    failure_threshold: int = 3,
    timeout_seconds: int = 2,
    initial_delay_seconds: int = 0,
) -> dict[str, Any]:
    """An HTTP GET probe on ``path``/``port``."""
    if not path.startswith("/"):
        raise ValueError(f"probe path {path!r} must start with /")
    return {
        "httpGet": {"path": path, "port": port, "scheme": "HTTP"},
        "periodSeconds": period_seconds,
        "failureThreshold": failure_threshold,
        "timeoutSeconds": timeout_seconds,
        "initialDelaySeconds": initial_delay_seconds,
        "successThreshold": 1,
    }


def psa_labels(enforce: str, audit: str) -> dict[str, str]:
    """Namespace labels of Pod Security admission: ``enforce`` level, ``audit`` and ``warn``."""
    return {
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/audit": audit,
        "pod-security.kubernetes.io/warn": audit,
    }


def restricted_labels() -> dict[str, str]:
    """Pod Security labels enforcing (and auditing, warning about) the ``restricted`` profile."""
    return psa_labels("restricted", "restricted")
