"""Kubernetes workloads: pod security, resources, probes, images, namespaces, network policies.

Every rule applies to each workload kind the platform renders and reads its pod template:

- ``kubernetes:core/v1:Pod``: the pod itself (``metadata``, ``spec``);
- ``Deployment``, ``StatefulSet``, ``DaemonSet`` (``apps/v1``), ``Job`` (``batch/v1``) and the
  Argo Rollouts ``Rollout`` (a CustomResource whose props carry ``apiVersion``, ``kind``,
  ``metadata`` and ``spec``): ``spec.template``;
- ``CronJob`` (``batch/v1``): ``spec.jobTemplate.spec.template``.

A Rollout that points at a Deployment (``spec.workloadRef``) instead of carrying a template
has no pod of its own here: the Deployment it names is checked as a Deployment.

Container rules run on ``containers`` and ``initContainers`` alike, except the probes, which
only make sense for containers that keep running. Every message names the checkov ID, the
container (or the pod spec for pod-level fields) and the field, as
``CKV_K8S_20: container 'api' (spec.template.spec.containers[0]): ...``.

Effective values. The pod's ``securityContext`` provides defaults for ``runAsNonRoot``,
``runAsUser`` and ``seccompProfile`` that a container's own ``securityContext`` overrides; the
rules on those fields judge the value the container actually runs with. The other container
fields (``allowPrivilegeEscalation``, ``readOnlyRootFilesystem``, ``privileged``,
``capabilities``) exist only on the container.

Missing properties. The rules require explicit settings: a missing ``securityContext``,
``resources`` or probe is a violation. The Kubernetes defaults relied on are:

- ``privileged``, ``hostPID``, ``hostIPC``, ``hostNetwork`` not set: false, compliant;
- ``allowPrivilegeEscalation`` not set: true for a process that runs without
  ``no_new_privs``, so a violation;
- ``readOnlyRootFilesystem`` not set: false, a violation;
- ``runAsNonRoot`` not set at container or pod level: the image's user, possibly root, a
  violation; an effective ``runAsUser`` of 0 is a violation even with ``runAsNonRoot``;
- ``runAsUser`` not set: the image's user applies and ``runAsNonRoot`` guards against root, so
  the high-UID rule (CKV_K8S_40) only judges a UID that is set;
- ``seccompProfile`` not set at container or pod level: ``Unconfined`` unless the kubelet was
  started with ``--seccomp-default``, which the pack cannot see, so a violation;
- ``capabilities.drop`` not set: the runtime's default set (which includes ``NET_RAW``) is
  kept, a violation of CKV_K8S_28 and CKV_K8S_37;
- ``automountServiceAccountToken`` not set on the pod: true (unless the service account says
  otherwise, which a pod spec cannot show), a violation; a pod that talks to the Kubernetes
  API opts in with the pod annotation ``ttbt2.io/needs-kubernetes-api: "true"``;
- ``metadata.namespace`` not set: the Kubernetes provider's ``namespace`` when the provider
  sets one, else ``default``.

Jobs and CronJobs may omit probes (checkov skips them too): their pods run to completion, a
liveness probe would only restart a batch step, and readiness gates Service traffic that a
batch pod does not receive.

Namespaces (CKV2_K8S_6). Every ``Namespace`` the stack creates needs a ``NetworkPolicy`` of
the stack in it. A policy is in a namespace when its ``metadata.namespace`` equals the
namespace's ``metadata.name``; when either value cannot be read (unknown during preview, or a
namespace name Pulumi generates), a policy whose ``metadata`` refers to the namespace resource
(a dependency, see :func:`common.referenced`) counts. A namespace that neither join settles is
reported as unknown (an advisory "can't run during preview" note) after every settled namespace
has been reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyProviderResource,
    PolicyResource,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError

from .common import (
    ADVISORY,
    MANDATORY,
    InvalidPropError,
    bool_prop,
    is_mapping,
    is_number,
    list_prop,
    lookup,
    mapping_prop,
    number_prop,
    referenced,
    resource_policy,
    stack_policy,
    str_list,
    str_prop,
    wrong_type,
)

POD = "kubernetes:core/v1:Pod"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
REPLICATION_CONTROLLER = "kubernetes:core/v1:ReplicationController"
ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

POD_TEMPLATE_PATHS: Mapping[str, str] = {
    POD: "",
    DEPLOYMENT: "spec.template",
    STATEFUL_SET: "spec.template",
    DAEMON_SET: "spec.template",
    JOB: "spec.template",
    CRON_JOB: "spec.jobTemplate.spec.template",
    ROLLOUT: "spec.template",
    # Rarely written by hand, but a bare ReplicaSet or ReplicationController runs pods all the
    # same: a rule that skipped them could be bypassed by choosing the kind.
    REPLICA_SET: "spec.template",
    REPLICATION_CONTROLLER: "spec.template",
}
"""Where each workload kind keeps its pod (``metadata`` and ``spec``); "" for the pod itself."""

WORKLOAD_TYPES = frozenset(POD_TEMPLATE_PATHS)
RUN_TO_COMPLETION_TYPES = frozenset({JOB, CRON_JOB})
"""Workloads whose pods run to completion and may omit probes."""
LONG_RUNNING_TYPES = WORKLOAD_TYPES - RUN_TO_COMPLETION_TYPES

USED_TYPES = WORKLOAD_TYPES | {NAMESPACE, NETWORK_POLICY}
"""Every type token this module names (checked against the installed SDK by the tests, except
the Rollout, a custom resource that no SDK defines)."""

KUBE_API_ANNOTATION = "ttbt2.io/needs-kubernetes-api"
"""Pod annotation that opts a pod into a mounted service-account token (value ``"true"``)."""

DEFAULT_NAMESPACE = "default"
MIN_UID = 10000
"""Lowest UID CKV_K8S_40 accepts: above the UIDs of host users, so no clash on the node."""
ALLOWED_SECCOMP = frozenset({"RuntimeDefault", "Localhost"})
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$")


# --- pods and containers --------------------------------------------------------------------------


def _located(
    prefix: str, read: Callable[[Mapping[str, Any], str], Any], props: Any, path: str
) -> Any:
    """``read(props, path)``; a wrongly typed prop's path gets ``prefix`` (when not empty)."""
    try:
        return read(props, path)
    except InvalidPropError as exc:
        if not prefix:
            raise
        raise InvalidPropError(f"{prefix}.{exc.message}") from None


@dataclass(frozen=True)
class Pod:
    """The pod (template) of a workload: its metadata, spec, and the path of both in props."""

    where: str
    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]

    @property
    def metadata_path(self) -> str:
        """The props path of the pod's metadata: ``spec.template.metadata``, or ``metadata``."""
        return f"{self.where}.metadata" if self.where else "metadata"

    @property
    def spec_path(self) -> str:
        """The props path of the pod spec: ``spec.template.spec``, or ``spec`` for a Pod."""
        return f"{self.where}.spec" if self.where else "spec"

    def path(self, field: str) -> str:
        """The props path of ``field`` of the pod spec, for messages."""
        return f"{self.spec_path}.{field}"

    def read(self, read: Callable[[Mapping[str, Any], str], Any], field: str) -> Any:
        """``read(spec, field)`` (``bool_prop``, ``lookup``...), errors naming the full path."""
        return _located(self.spec_path, read, self.spec, field)


@dataclass(frozen=True)
class Container:
    """One container or init container of a pod."""

    name: str
    where: str
    init: bool
    props: Mapping[str, Any]

    @property
    def label(self) -> str:
        """``container 'api' (spec.template.spec.containers[0])``, for messages."""
        kind = "init container" if self.init else "container"
        return f"{kind} {self.name!r} ({self.where})"

    def read(self, read: Callable[[Mapping[str, Any], str], Any], field: str) -> Any:
        """``read(container, field)``, errors naming the container's full path."""
        return _located(self.where, read, self.props, field)


def _pod(args: ResourceValidationArgs) -> Pod | None:
    """The pod of a workload; None for a Rollout that references a Deployment instead.

    Raises :class:`InvalidPropError` (reported as a violation) when the pod spec is missing:
    no rule can be shown to hold for a pod it cannot read.
    """
    where = POD_TEMPLATE_PATHS[args.resource_type]
    template = mapping_prop(args.props, where) if where else args.props
    if template is None:
        if args.resource_type == ROLLOUT and lookup(args.props, "spec.workloadRef") is not None:
            return None
        raise InvalidPropError(f"{where} is not set: the pod template cannot be checked")
    spec = _located(where, mapping_prop, template, "spec")
    metadata = _located(where, mapping_prop, template, "metadata") or {}
    pod = Pod(where=where, metadata=metadata, spec=spec or {})
    if spec is None:
        raise InvalidPropError(f"{pod.spec_path} is not set: the pod cannot be checked")
    return pod


def _containers(pod: Pod, *, init: bool = True) -> Iterator[Container]:
    """The pod's containers, then its init containers (when ``init``)."""
    keys = ("containers", "initContainers") if init else ("containers",)
    for key in keys:
        for i, item in enumerate(pod.read(list_prop, key) or []):
            where = pod.path(f"{key}[{i}]")
            if not is_mapping(item):
                raise wrong_type(where, "an object", item)
            name = item.get("name")
            yield Container(
                name=name if isinstance(name, str) and name else f"#{i}",
                where=where,
                init=key == "initContainers",
                props=item,
            )


PodCheck = Callable[[Pod], Iterable[str]]


def _per_pod(check: PodCheck) -> Callable[[ResourceValidationArgs], Iterator[str]]:
    """A resource check that runs ``check`` on the workload's pod, when it has one."""

    def run(args: ResourceValidationArgs) -> Iterator[str]:
        pod = _pod(args)
        if pod is not None:
            yield from check(pod)

    return run


def _effective(
    container: Container, pod: Pod, field: str, read: Callable[[Mapping[str, Any], str], Any]
) -> tuple[Any, str]:
    """The ``securityContext.<field>`` the container runs with, and the path it comes from.

    The container's own value wins; the pod's is the default. The path is the container's
    field when neither level sets it.
    """
    key = f"securityContext.{field}"
    own = container.read(read, key)
    if own is not None:
        return own, f"{container.where}.{key}"
    inherited = pod.read(read, key)
    if inherited is not None:
        return inherited, pod.path(key)
    return None, f"{container.where}.{key}"


def _message(ckv: str, container: Container, detail: str) -> str:
    return f"{ckv}: {container.label}: {detail}"


# --- probes (CKV_K8S_8, CKV_K8S_9) ----------------------------------------------------------------

PROBES = (("CKV_K8S_8", "livenessProbe"), ("CKV_K8S_9", "readinessProbe"))


def _probes(pod: Pod) -> Iterator[str]:
    for container in _containers(pod, init=False):
        for ckv, field in PROBES:
            if not container.read(mapping_prop, field):
                yield _message(ckv, container, f"{field} is not set")


# --- resources (CKV_K8S_10..13) -------------------------------------------------------------------

RESOURCE_FIELDS = (
    ("CKV_K8S_10", "requests.cpu"),
    ("CKV_K8S_11", "limits.cpu"),
    ("CKV_K8S_12", "requests.memory"),
    ("CKV_K8S_13", "limits.memory"),
)


def _quantity(props: Mapping[str, Any], path: str) -> Any:
    """A resource quantity: a string (``500m``, ``1Gi``) or a number."""
    value = lookup(props, path)
    if value is not None and not (isinstance(value, str) or is_number(value)):
        raise wrong_type(path, "a quantity (a string or a number)", value)
    return value


def _resources(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        for ckv, field in RESOURCE_FIELDS:
            if container.read(_quantity, f"resources.{field}") in (None, ""):
                yield _message(ckv, container, f"resources.{field} is not set")


# --- images (CKV_K8S_14 with the platform's no-latest rule, CKV_K8S_43) ---------------------------


def image_parts(image: str) -> tuple[str | None, str | None]:
    """The (tag, digest) of an image reference, None for each part that is absent.

    A ``:`` before the last ``/`` belongs to the registry's port, not to a tag
    (``registry:5000/app`` has no tag).
    """
    name, _, digest = image.partition("@")
    _, _, tag = name.rsplit("/", 1)[-1].partition(":")
    return tag or None, digest or None


def _image(container: Container) -> str | None:
    return container.read(str_prop, "image") or None


def _image_tag(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        image = _image(container)
        if image is None:
            yield _message("CKV_K8S_14", container, "image is not set")
            continue
        tag, digest = image_parts(image)
        if tag is not None and tag.lower() == "latest":
            yield _message(
                "CKV_K8S_14",
                container,
                f"image {image!r} uses the tag 'latest'; name the version it runs",
            )
        elif tag is None and not (digest and DIGEST.match(digest)):
            yield _message(
                "CKV_K8S_14",
                container,
                f"image {image!r} has no tag or digest, so it runs whatever 'latest' is when "
                "the node pulls it",
            )


def _image_digest(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        image = _image(container)
        if image is None:
            yield _message("CKV_K8S_43", container, "image is not set")
            continue
        _, digest = image_parts(image)
        if digest is None:
            yield _message("CKV_K8S_43", container, f"image {image!r} is not pinned by digest")
        elif not DIGEST.match(digest):
            yield _message(
                "CKV_K8S_43",
                container,
                f"image {image!r} has a malformed digest (expected sha256:<64 hex digits>)",
            )


# --- privileges (CKV_K8S_16, CKV_K8S_20, CKV_K8S_22) ----------------------------------------------


def _not_privileged(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        if container.read(bool_prop, "securityContext.privileged"):
            yield _message("CKV_K8S_16", container, "securityContext.privileged is true")


def _no_privilege_escalation(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        allowed = container.read(bool_prop, "securityContext.allowPrivilegeEscalation")
        if allowed is not False:
            why = "is true" if allowed else "is not set (Kubernetes default: true)"
            yield _message(
                "CKV_K8S_20",
                container,
                f"securityContext.allowPrivilegeEscalation {why}; set it to false",
            )


def _read_only_root(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        read_only = container.read(bool_prop, "securityContext.readOnlyRootFilesystem")
        if read_only is not True:
            why = "is false" if read_only is False else "is not set (Kubernetes default: false)"
            yield _message(
                "CKV_K8S_22",
                container,
                f"securityContext.readOnlyRootFilesystem {why}; set it to true",
            )


# --- users (CKV_K8S_23, CKV_K8S_40) ---------------------------------------------------------------


def _run_as_non_root(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        non_root, where = _effective(container, pod, "runAsNonRoot", bool_prop)
        if non_root is not True:
            why = "is false" if non_root is False else "is not set at container or pod level"
            yield _message("CKV_K8S_23", container, f"{where} {why}; set runAsNonRoot to true")
        uid, uid_where = _effective(container, pod, "runAsUser", number_prop)
        if uid == 0:
            yield _message("CKV_K8S_23", container, f"{uid_where} is 0: the container runs as root")


def _high_uid(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        uid, where = _effective(container, pod, "runAsUser", number_prop)
        if uid is not None and uid < MIN_UID:
            yield _message(
                "CKV_K8S_40",
                container,
                f"{where} is {uid:g}; use a UID of at least {MIN_UID} so that it cannot clash "
                "with a user of the node",
            )


# --- seccomp (CKV_K8S_31) -------------------------------------------------------------------------


def _seccomp_problem(profile: Mapping[str, Any] | None, where: str) -> str | None:
    """Why a seccomp profile (None: set at neither level) is not acceptable, or None."""
    if profile is None:
        return f"{where} is not set at container or pod level (Kubernetes default: Unconfined)"
    kind = _located(where, str_prop, profile, "type")
    if kind is None:
        return f"{where}.type is not set"
    if kind not in ALLOWED_SECCOMP:
        return f"{where}.type is {kind!r}"
    if kind == "Localhost" and not _located(where, str_prop, profile, "localhostProfile"):
        return f"{where}.type is 'Localhost' but {where}.localhostProfile is not set"
    return None


def _seccomp(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        profile, where = _effective(container, pod, "seccompProfile", mapping_prop)
        problem = _seccomp_problem(profile, where)
        if problem:
            yield _message(
                "CKV_K8S_31", container, f"{problem}; use the 'RuntimeDefault' seccomp profile"
            )


# --- capabilities (CKV_K8S_28, CKV_K8S_37) --------------------------------------------------------


def _capability_set(container: Container, key: str) -> set[str]:
    """``capabilities.<key>`` in upper case without the ``CAP_`` prefix (empty when unset)."""
    path = f"securityContext.capabilities.{key}"
    value = container.read(lookup, path)
    if value is None:
        return set()
    names = str_list(value, f"{container.where}.{path}")
    return {n.strip().upper().removeprefix("CAP_") for n in names}


def _capabilities(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        drop = _capability_set(container, "drop")
        add = _capability_set(container, "add")
        if "ALL" not in drop:
            yield _message(
                "CKV_K8S_37", container, "securityContext.capabilities.drop does not include ALL"
            )
        if "ALL" in add:
            yield _message(
                "CKV_K8S_37", container, "securityContext.capabilities.add grants ALL back"
            )
        if not drop & {"ALL", "NET_RAW"}:
            yield _message(
                "CKV_K8S_28",
                container,
                "securityContext.capabilities.drop includes neither NET_RAW nor ALL",
            )
        elif add & {"ALL", "NET_RAW"}:
            yield _message(
                "CKV_K8S_28", container, "securityContext.capabilities.add grants NET_RAW back"
            )


ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
"""Capabilities a container may add back after dropping ALL: the reviewed allow-list.

``NET_BIND_SERVICE`` only binds ports below 1024. Everything else widens what a compromised
container can do to the node (``SYS_ADMIN``, ``NET_ADMIN``, ``SYS_PTRACE``, ``SYS_MODULE``,
``BPF``, ...). Adding a name here is a security review, not a convenience.
"""
_OWN_RULE = frozenset({"ALL", "NET_RAW"})
"""Added back capabilities that ``k8s-drop-capabilities`` already reports (CKV_K8S_37/28)."""


def _added_capabilities(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        refused = _capability_set(container, "add") - ALLOWED_ADDED_CAPABILITIES - _OWN_RULE
        for name in sorted(refused):
            # Checkov names SYS_ADMIN on its own (CKV_K8S_39) and any added capability as
            # CKV_K8S_25; the pack refuses the whole set outside the allow-list.
            ckv = "CKV_K8S_39" if name == "SYS_ADMIN" else "CKV_K8S_25"
            yield _message(
                ckv,
                container,
                f"securityContext.capabilities.add grants {name}; only "
                f"{', '.join(sorted(ALLOWED_ADDED_CAPABILITIES))} may be added back",
            )


# --- secrets as files (CKV_K8S_35) ---------------------------------------------------------------


def _secret_env(container: Container) -> Iterator[str]:
    """Each ``env`` entry and ``envFrom`` source of ``container`` that reads a Secret."""
    for i, item in enumerate(container.read(list_prop, "env") or []):
        if not is_mapping(item):
            raise wrong_type(f"{container.where}.env[{i}]", "an object", item)
        ref = _located(f"{container.where}.env[{i}]", mapping_prop, item, "valueFrom.secretKeyRef")
        if ref is not None:
            yield (
                f"env[{i}] {item.get('name')!r} reads key {ref.get('key')!r} of Secret "
                f"{ref.get('name')!r}"
            )
    for i, item in enumerate(container.read(list_prop, "envFrom") or []):
        if not is_mapping(item):
            raise wrong_type(f"{container.where}.envFrom[{i}]", "an object", item)
        ref = _located(f"{container.where}.envFrom[{i}]", mapping_prop, item, "secretRef")
        if ref is not None:
            yield f"envFrom[{i}] loads every key of Secret {ref.get('name')!r}"


def _secrets_as_files(pod: Pod) -> Iterator[str]:
    for container in _containers(pod):
        for found in _secret_env(container):
            yield _message(
                "CKV_K8S_35",
                container,
                f"{found} into the environment; mount the Secret as a read-only file instead",
            )


# --- host namespaces (CKV_K8S_17, CKV_K8S_18, CKV_K8S_19) -----------------------------------------

HOST_NAMESPACES = (
    ("CKV_K8S_17", "hostPID"),
    ("CKV_K8S_18", "hostIPC"),
    ("CKV_K8S_19", "hostNetwork"),
)


def _host_namespaces(pod: Pod) -> Iterator[str]:
    for ckv, field in HOST_NAMESPACES:
        if pod.read(bool_prop, field):
            yield f"{ckv}: pod {pod.path(field)} is true: the pod shares the node's namespace"


# --- service-account token (CKV_K8S_38) -----------------------------------------------------------


def _opted_in(pod: Pod) -> bool:
    """True when the pod carries the annotation ``ttbt2.io/needs-kubernetes-api: "true"``."""
    annotations = _located(pod.metadata_path, mapping_prop, pod.metadata, "annotations") or {}
    value = annotations.get(KUBE_API_ANNOTATION)
    return isinstance(value, str) and value.strip().lower() == "true"


def _service_account_token(pod: Pod) -> Iterator[str]:
    if _opted_in(pod):
        return
    mounted = pod.read(bool_prop, "automountServiceAccountToken")
    if mounted is not False:
        why = "is true" if mounted else "is not set (Kubernetes default: true)"
        yield (
            f"CKV_K8S_38: pod {pod.path('automountServiceAccountToken')} {why}; set it to "
            f"false, or annotate the pod ({pod.metadata_path}.annotations) with "
            f'{KUBE_API_ANNOTATION}: "true" when it calls the Kubernetes API'
        )


# --- namespaces (CKV_K8S_21, CKV2_K8S_6) ----------------------------------------------------------


def _provider_namespace(provider: PolicyProviderResource | None) -> str:
    """The namespace a Kubernetes provider puts objects without one in: its own, or default."""
    if provider is None:
        return DEFAULT_NAMESPACE
    value = provider.props.get("namespace")
    if value is not None and not isinstance(value, str):
        raise wrong_type("the Kubernetes provider's namespace", "a string", value)
    return value or DEFAULT_NAMESPACE


def _namespace_of(props: Mapping[str, Any], provider: PolicyProviderResource | None) -> str:
    """The namespace a namespaced object lands in."""
    return str_prop(props, "metadata.namespace") or _provider_namespace(provider)


def _not_default_namespace(args: ResourceValidationArgs) -> Iterator[str]:
    if str_prop(args.props, "metadata.namespace"):
        why = "metadata.namespace is 'default'"
    else:
        why = (
            "metadata.namespace is not set and the Kubernetes provider sets no namespace, so "
            "the workload lands in 'default'"
        )
    if _namespace_of(args.props, args.provider) == DEFAULT_NAMESPACE:
        yield f"CKV_K8S_21: {why}; deploy it to a namespace of its own"


@dataclass(frozen=True)
class _Named:
    """A resource with the namespace name read from it: None when unknown or generated."""

    resource: PolicyResource
    name: str | None
    unknown: UnknownValueError | None = None


def _read_name(res: PolicyResource, read: Callable[[PolicyResource], str | None]) -> _Named:
    """``read(res)``, keeping the error instead when the value is unknown during preview."""
    try:
        return _Named(res, read(res) or None)
    except UnknownValueError as exc:
        return _Named(res, None, exc)


def _namespace_name(res: PolicyResource) -> str | None:
    return str_prop(res.props, "metadata.name")


def _policy_namespace(res: PolicyResource) -> str | None:
    return _namespace_of(res.props, res.provider)


def _covered(
    namespace: _Named, policies: Sequence[_Named]
) -> tuple[bool, UnknownValueError | None]:
    """(whether a policy is in the namespace, the unknown that keeps it undecided if not)."""
    undecided = namespace.unknown
    for policy in policies:
        if namespace.name is not None and policy.name is not None:
            if namespace.name == policy.name:
                return True, None
            continue
        if namespace.resource.urn in {
            dep.urn for dep in referenced(policy.resource, "metadata", {NAMESPACE})
        }:
            return True, None
        undecided = undecided or policy.unknown
    return False, undecided


def _namespace_network_policies(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    policies: list[_Named] = []
    for res in args.resources:
        if res.resource_type == NETWORK_POLICY:
            try:
                policies.append(_read_name(res, _policy_namespace))
            except InvalidPropError as exc:
                yield f"NetworkPolicy {res.name}: {exc.message}", res.urn
    pending: UnknownValueError | None = None
    for res in args.resources:
        if res.resource_type != NAMESPACE:
            continue
        try:
            namespace = _read_name(res, _namespace_name)
        except InvalidPropError as exc:
            yield f"Namespace {res.name}: {exc.message}", res.urn
            continue
        covered, undecided = _covered(namespace, policies)
        if covered:
            continue
        if undecided is not None:
            pending = pending or undecided
            continue
        label = repr(namespace.name) if namespace.name else f"{res.name} (generated name)"
        yield (
            f"CKV2_K8S_6: namespace {label} has no NetworkPolicy: no NetworkPolicy of the "
            "stack names it in metadata.namespace",
            res.urn,
        )
    if pending is not None:
        # Settled namespaces are reported above; the rest waits for values known after apply,
        # which the engine reports as a "can't run during preview" note.
        raise pending


# --- policies -------------------------------------------------------------------------------------

probes = resource_policy(
    name="k8s-probes",
    description=(
        "Long-running workload containers define a liveness probe (CKV_K8S_8) and a readiness "
        "probe (CKV_K8S_9); Jobs and CronJobs, whose pods run to completion, may omit them."
    ),
    enforcement=MANDATORY,
    applies_to=LONG_RUNNING_TYPES,
    check=_per_pod(_probes),
)

resource_requests_limits = resource_policy(
    name="k8s-resource-requests-limits",
    description=(
        "Every container and init container sets CPU and memory requests and limits "
        "(CKV_K8S_10, CKV_K8S_11, CKV_K8S_12, CKV_K8S_13)."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_resources),
)

image_tag_pinned = resource_policy(
    name="k8s-image-tag-pinned",
    description=(
        "Container images name an explicit tag other than 'latest', or a digest (CKV_K8S_14); "
        "this is also the platform's no-latest-images rule: 'latest' is refused even next to "
        "a digest."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_image_tag),
)

image_digest = resource_policy(
    name="k8s-image-digest",
    description=(
        "Container images are pinned by digest (CKV_K8S_43). Advisory: the digests of upstream "
        "images cannot be resolved offline, so reviewed version tags (k8s-image-tag-pinned) "
        "are what the pack enforces."
    ),
    enforcement=ADVISORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_image_digest),
)

not_privileged = resource_policy(
    name="k8s-not-privileged",
    description="No container runs privileged (CKV_K8S_16).",
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_not_privileged),
)

no_host_namespaces = resource_policy(
    name="k8s-no-host-namespaces",
    description=(
        "Pods share neither the node's process, IPC nor network namespace: hostPID, hostIPC "
        "and hostNetwork are not true (CKV_K8S_17, CKV_K8S_18, CKV_K8S_19)."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_host_namespaces),
)

no_privilege_escalation = resource_policy(
    name="k8s-no-privilege-escalation",
    description=(
        "Every container sets securityContext.allowPrivilegeEscalation to false (CKV_K8S_20)."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_no_privilege_escalation),
)

not_default_namespace = resource_policy(
    name="k8s-not-default-namespace",
    description=(
        "Workloads are not deployed to the 'default' namespace, explicitly or through an unset "
        "metadata.namespace (CKV_K8S_21)."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_not_default_namespace,
)

read_only_root_filesystem = resource_policy(
    name="k8s-read-only-root-filesystem",
    description=(
        "Every container sets securityContext.readOnlyRootFilesystem to true (CKV_K8S_22)."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_read_only_root),
)

run_as_non_root = resource_policy(
    name="k8s-run-as-non-root",
    description=(
        "Every container runs with runAsNonRoot true (its own or the pod's) and not as UID 0 "
        "(CKV_K8S_23)."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_run_as_non_root),
)

high_uid = resource_policy(
    name="k8s-high-uid",
    description=(
        f"A runAsUser that is set (on the container or the pod) is at least {MIN_UID} (CKV_K8S_40)."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_high_uid),
)

seccomp_profile = resource_policy(
    name="k8s-seccomp-profile",
    description=(
        "Every container runs with the RuntimeDefault (or a Localhost) seccomp profile, its "
        "own or the pod's (CKV_K8S_31)."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_seccomp),
)

drop_capabilities = resource_policy(
    name="k8s-drop-capabilities",
    description=(
        "Every container drops ALL capabilities (CKV_K8S_37), which drops NET_RAW "
        "(CKV_K8S_28), and adds neither back."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_capabilities),
)

added_capabilities = resource_policy(
    name="k8s-added-capabilities",
    description=(
        "Containers add back no capability outside the reviewed allow-list "
        f"({', '.join(sorted(ALLOWED_ADDED_CAPABILITIES))}): no SYS_ADMIN (CKV_K8S_39), "
        "NET_ADMIN, SYS_PTRACE, SYS_MODULE, BPF or any other (CKV_K8S_25)."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_added_capabilities),
)

secrets_as_files = resource_policy(
    name="k8s-secrets-as-files",
    description=(
        "Containers read Secrets from mounted files, never from environment variables "
        "(env valueFrom.secretKeyRef or envFrom secretRef): the environment shows in "
        "`kubectl describe`, crash dumps and every child process (CKV_K8S_35)."
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_secrets_as_files),
)

service_account_token = resource_policy(
    name="k8s-service-account-token",
    description=(
        "Pods set automountServiceAccountToken to false unless annotated "
        f'{KUBE_API_ANNOTATION}: "true" because they call the Kubernetes API (CKV_K8S_38).'
    ),
    enforcement=MANDATORY,
    applies_to=WORKLOAD_TYPES,
    check=_per_pod(_service_account_token),
)

namespace_network_policy = stack_policy(
    name="k8s-namespace-network-policy",
    description=(
        "Every Namespace the stack creates has a NetworkPolicy of the stack in it (CKV2_K8S_6)."
    ),
    enforcement=MANDATORY,
    check=_namespace_network_policies,
)

POLICIES: list[Policy] = [
    probes,
    resource_requests_limits,
    image_tag_pinned,
    image_digest,
    not_privileged,
    no_host_namespaces,
    no_privilege_escalation,
    not_default_namespace,
    read_only_root_filesystem,
    run_as_non_root,
    high_uid,
    seccomp_profile,
    drop_capabilities,
    added_capabilities,
    secrets_as_files,
    service_account_token,
    namespace_network_policy,
]
