"""Kubernetes workloads: pod security, resources, probes, images, namespaces, network policies."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from pulumi.type_token import get_type_token
from pulumi_policy import Policy

from offline.evaluate import Finding
from offline.graph import Resource
from policies.ttbt2_policies import kubernetes as k8s
from policies.ttbt2_policies.kubernetes import (
    CRON_JOB,
    DAEMON_SET,
    DEPLOYMENT,
    JOB,
    NAMESPACE,
    NETWORK_POLICY,
    POD,
    REPLICA_SET,
    REPLICATION_CONTROLLER,
    ROLLOUT,
    STATEFUL_SET,
    WORKLOAD_TYPES,
    added_capabilities,
    drop_capabilities,
    high_uid,
    image_digest,
    image_parts,
    image_tag_pinned,
    namespace_network_policy,
    no_host_namespaces,
    no_privilege_escalation,
    not_default_namespace,
    not_privileged,
    probes,
    read_only_root_filesystem,
    resource_requests_limits,
    run_as_non_root,
    seccomp_profile,
    secrets_as_files,
    service_account_token,
)
from tests.support.policies import (
    UNKNOWN,
    assert_compliant,
    assert_missing,
    assert_unknown_is_a_note,
    assert_violation,
    assert_wrong_type,
    case_ids,
    findings_for,
    resource,
)

DIGEST = "sha256:" + "a" * 64
IMAGE = f"registry.example.com/ttbt2/api:1.4.2@{DIGEST}"
CONTAINER: dict[str, Any] = {
    "name": "api",
    "image": IMAGE,
    "resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    },
    "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
    "securityContext": {
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    },
}
INIT_CONTAINER: dict[str, Any] = {
    # A copy of its own, so that an edit of the container never reaches the init container.
    **copy.deepcopy({k: v for k, v in CONTAINER.items() if not k.endswith("Probe")}),
    "name": "migrate",
}
POD_SPEC: dict[str, Any] = {
    "automountServiceAccountToken": False,
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "containers": [CONTAINER],
    "initContainers": [INIT_CONTAINER],
}
WORKLOAD_POLICIES = [
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
]
PREFIX = {
    POD: "spec",
    DEPLOYMENT: "spec.template.spec",
    STATEFUL_SET: "spec.template.spec",
    DAEMON_SET: "spec.template.spec",
    JOB: "spec.template.spec",
    ROLLOUT: "spec.template.spec",
    CRON_JOB: "spec.jobTemplate.spec.template.spec",
    REPLICA_SET: "spec.template.spec",
    REPLICATION_CONTROLLER: "spec.template.spec",
}
DELETE = object()


def edit(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``obj`` with ``path`` (dots; digits index lists) set, or removed."""
    result = copy.deepcopy(obj)
    *steps, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target: Any = result
    for step in steps:
        if isinstance(step, str) and step not in target:
            target[step] = {}
        target = target[step]
    if value is DELETE:
        target.pop(last, None)
    else:
        target[last] = value
    return result


def workload(
    type_: str = DEPLOYMENT,
    spec: dict[str, Any] | None = None,
    *,
    annotations: dict[str, str] | None = None,
    namespace: str | None = "ttbt2",
    provider: Resource | None = None,
) -> Resource:
    """A workload of ``type_`` whose pod has ``spec`` (default: the compliant pod spec)."""
    pod: dict[str, Any] = {"metadata": {"labels": {"app": "api"}}, "spec": spec or POD_SPEC}
    if annotations is not None:
        pod["metadata"]["annotations"] = annotations
    metadata: dict[str, Any] = {"name": "api"}
    if namespace is not None:
        metadata["namespace"] = namespace
    if type_ == POD:
        props: dict[str, Any] = {**pod, "metadata": {**metadata, **pod["metadata"]}}
    elif type_ == CRON_JOB:
        job = {"template": pod}
        props = {
            "metadata": metadata,
            "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": job}},
        }
    else:
        props = {"metadata": metadata, "spec": {"template": pod}}
    if type_ == ROLLOUT:
        props = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", **props}
    return resource(type_, props, provider=provider)


def pod_with(path: str, value: Any) -> dict[str, Any]:
    """The compliant pod spec with one change."""
    return edit(POD_SPEC, path, value)


def run(policy: Policy, *resources: Resource) -> list[Finding]:
    return findings_for(policy, resources)


def messages(policy: Policy, *resources: Resource) -> list[str]:
    found = run(policy, *resources)
    assert all(f.kind == "violation" for f in found), found
    return [f.message for f in found]


# --- the compliant baseline ----------------------------------------------------------------------


@pytest.mark.parametrize("type_", sorted(WORKLOAD_TYPES))
@pytest.mark.parametrize("policy", WORKLOAD_POLICIES, ids=lambda p: p.name)
def test_baseline_is_compliant_for_every_kind(policy: Policy, type_: str) -> None:
    assert_compliant(run(policy, workload(type_)))


@pytest.mark.parametrize("type_", sorted(WORKLOAD_TYPES))
def test_every_kind_is_read_at_its_pod_template(type_: str) -> None:
    spec = pod_with("containers.0.securityContext.privileged", True)
    [message] = messages(not_privileged, workload(type_, spec))
    assert f"({PREFIX[type_]}.containers[0])" in message


@pytest.mark.parametrize("policy", WORKLOAD_POLICIES, ids=lambda p: p.name)
def test_other_resource_types_are_ignored(policy: Policy) -> None:
    other = resource("kubernetes:core/v1:ConfigMap", {"metadata": {"namespace": "default"}})
    assert run(policy, other) == []


# --- one changed property ------------------------------------------------------------------------

C0 = "containers.0"
I0 = "initContainers.0"
VIOLATIONS: list[tuple[Policy, str, Any, str]] = [
    (probes, f"{C0}.livenessProbe", None, "CKV_K8S_8: container 'api'"),
    (probes, f"{C0}.readinessProbe", {}, "CKV_K8S_9: container 'api'"),
    (resource_requests_limits, f"{C0}.resources.requests.cpu", "", "CKV_K8S_10"),
    (resource_requests_limits, f"{I0}.resources.limits.cpu", None, "CKV_K8S_11: init container"),
    (resource_requests_limits, f"{C0}.resources.requests.memory", None, "CKV_K8S_12"),
    (resource_requests_limits, f"{I0}.resources.limits.memory", None, "CKV_K8S_13"),
    (image_tag_pinned, f"{C0}.image", "nginx:latest", "CKV_K8S_14: container 'api'"),
    (image_tag_pinned, f"{I0}.image", "nginx", "has no tag or digest"),
    (image_tag_pinned, f"{C0}.image", f"nginx:latest@{DIGEST}", "uses the tag 'latest'"),
    (image_digest, f"{C0}.image", "nginx:1.27.3", "CKV_K8S_43: container 'api'"),
    (image_digest, f"{C0}.image", "nginx:1.27.3@sha256:abc", "malformed digest"),
    (not_privileged, f"{I0}.securityContext.privileged", True, "CKV_K8S_16: init container"),
    (no_host_namespaces, "hostPID", True, "CKV_K8S_17: pod spec.template.spec.hostPID"),
    (no_host_namespaces, "hostIPC", True, "CKV_K8S_18"),
    (no_host_namespaces, "hostNetwork", True, "CKV_K8S_19"),
    (no_privilege_escalation, f"{C0}.securityContext.allowPrivilegeEscalation", True, "is true"),
    (read_only_root_filesystem, f"{I0}.securityContext.readOnlyRootFilesystem", False, "false"),
    (run_as_non_root, "securityContext.runAsNonRoot", False, "CKV_K8S_23"),
    (run_as_non_root, f"{C0}.securityContext.runAsNonRoot", False, "runAsNonRoot is false"),
    (run_as_non_root, f"{C0}.securityContext.runAsUser", 0, "runAsUser is 0"),
    (high_uid, "securityContext.runAsUser", 1000, "CKV_K8S_40"),
    (high_uid, f"{I0}.securityContext.runAsUser", 9999, "runAsUser is 9999"),
    (seccomp_profile, "securityContext.seccompProfile", {"type": "Unconfined"}, "'Unconfined'"),
    (seccomp_profile, f"{C0}.securityContext.seccompProfile.type", "Unconfined", "CKV_K8S_31"),
    (seccomp_profile, "securityContext.seccompProfile.type", "Localhost", "localhostProfile"),
    (drop_capabilities, f"{C0}.securityContext.capabilities.add", ["ALL"], "grants ALL back"),
    (drop_capabilities, f"{C0}.securityContext.capabilities.drop", [], "CKV_K8S_37"),
    (added_capabilities, f"{C0}.securityContext.capabilities.add", ["SYS_ADMIN"], "CKV_K8S_39"),
    (added_capabilities, f"{I0}.securityContext.capabilities.add", ["BPF"], "CKV_K8S_25"),
    (
        secrets_as_files,
        f"{C0}.env",
        [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
        "CKV_K8S_35: container 'api'",
    ),
    (secrets_as_files, f"{I0}.envFrom", [{"secretRef": {"name": "db"}}], "Secret 'db'"),
    (service_account_token, "automountServiceAccountToken", True, "CKV_K8S_38"),
]


@pytest.mark.parametrize(
    ("policy", "path", "value", "expected"),
    VIOLATIONS,
    ids=case_ids(VIOLATIONS),
)
def test_one_changed_property_is_a_violation(
    policy: Policy, path: str, value: Any, expected: str
) -> None:
    found = run(policy, workload(DEPLOYMENT, pod_with(path, value)))
    assert_violation(found, policy, expected, only=False)
    assert all("CKV" in f.message for f in found)


@pytest.mark.parametrize("policy", WORKLOAD_POLICIES, ids=lambda p: p.name)
def test_enforcement_levels(policy: Policy) -> None:
    expected = "advisory" if policy is image_digest else "mandatory"
    assert policy.enforcement_level is not None
    assert policy.enforcement_level.value == expected
    assert "CKV" in policy.description


# --- missing properties --------------------------------------------------------------------------

MISSING: list[tuple[Policy, str, str | None]] = [
    (probes, f"{C0}.livenessProbe", "livenessProbe is not set"),
    (probes, f"{C0}.readinessProbe", "readinessProbe is not set"),
    (resource_requests_limits, f"{C0}.resources", "resources.requests.cpu is not set"),
    (resource_requests_limits, f"{I0}.resources.limits", "resources.limits.memory is not set"),
    (image_tag_pinned, f"{C0}.image", "CKV_K8S_14: container 'api' (spec.template.spec"),
    (image_digest, f"{I0}.image", "CKV_K8S_43: init container 'migrate'"),
    # Kubernetes defaults privileged and the host namespaces to false.
    (not_privileged, f"{C0}.securityContext.privileged", None),
    (not_privileged, f"{C0}.securityContext", None),
    (no_host_namespaces, "hostNetwork", None),
    (no_privilege_escalation, f"{C0}.securityContext", "(Kubernetes default: true)"),
    (read_only_root_filesystem, f"{I0}.securityContext", "(Kubernetes default: false)"),
    (run_as_non_root, "securityContext.runAsNonRoot", "not set at container or pod level"),
    (run_as_non_root, "securityContext", "CKV_K8S_23"),
    # An unset UID leaves the image's user; runAsNonRoot guards against root.
    (high_uid, "securityContext.runAsUser", None),
    (seccomp_profile, "securityContext.seccompProfile", "default: Unconfined"),
    (seccomp_profile, "securityContext.seccompProfile.type", "seccompProfile.type is not set"),
    (drop_capabilities, f"{C0}.securityContext.capabilities", "CKV_K8S_37"),
    (drop_capabilities, f"{C0}.securityContext.capabilities.drop", "neither NET_RAW nor ALL"),
    # Nothing added is nothing to refuse.
    (added_capabilities, f"{C0}.securityContext.capabilities.add", None),
    (added_capabilities, f"{C0}.securityContext", None),
    # No environment at all reads no Secret.
    (secrets_as_files, f"{C0}.env", None),
    (secrets_as_files, f"{I0}.envFrom", None),
    (service_account_token, "automountServiceAccountToken", "(Kubernetes default: true)"),
]


@pytest.mark.parametrize(
    ("policy", "path", "expected"),
    MISSING,
    ids=[f"{p.name}-{path}" for p, path, _e in MISSING],
)
def test_missing_property(policy: Policy, path: str, expected: str | None) -> None:
    found = run(policy, workload(DEPLOYMENT, pod_with(path, DELETE)))
    assert_missing(found, policy, expected, only=False)


@pytest.mark.parametrize("policy", WORKLOAD_POLICIES, ids=lambda p: p.name)
def test_missing_pod_template_is_a_violation(policy: Policy) -> None:
    if policy is not_default_namespace:
        # Reads the workload's own metadata only, which is present and compliant.
        assert run(policy, resource(DEPLOYMENT, {"metadata": {"namespace": "ttbt2"}})) == []
        return
    bare = resource(DEPLOYMENT, {"metadata": {"namespace": "ttbt2"}, "spec": {"replicas": 2}})
    [message] = messages(policy, bare)
    assert message == "spec.template is not set: the pod template cannot be checked"
    no_spec = resource(DEPLOYMENT, {"metadata": {"namespace": "x"}, "spec": {"template": {}}})
    assert messages(policy, no_spec) == ["spec.template.spec is not set: the pod cannot be checked"]


# --- probes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", [JOB, CRON_JOB])
def test_run_to_completion_pods_may_omit_probes(type_: str) -> None:
    spec = pod_with(f"{C0}.livenessProbe", DELETE)
    spec = edit(spec, f"{C0}.readinessProbe", DELETE)
    assert run(probes, workload(type_, spec)) == []
    assert len(messages(probes, workload(DEPLOYMENT, spec))) == 2


def test_init_containers_need_no_probes_but_everything_else() -> None:
    assert "livenessProbe" not in INIT_CONTAINER
    assert run(probes, workload()) == []
    spec = pod_with(f"{I0}.securityContext", DELETE)
    assert len(messages(no_privilege_escalation, workload(DEPLOYMENT, spec))) == 1


# --- effective security context ----------------------------------------------------------------------


def test_container_settings_alone_are_enough() -> None:
    spec = pod_with("securityContext", DELETE)
    spec = edit(
        spec,
        f"{C0}.securityContext",
        {
            **CONTAINER["securityContext"],
            "runAsNonRoot": True,
            "runAsUser": 20000,
            "seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/api.json"},
        },
    )
    spec = edit(spec, "initContainers", [])
    for policy in (run_as_non_root, high_uid, seccomp_profile):
        assert run(policy, workload(DEPLOYMENT, spec)) == []


def test_container_overrides_the_pod_both_ways() -> None:
    low_pod = pod_with("securityContext.runAsUser", 100)
    assert len(messages(high_uid, workload(DEPLOYMENT, low_pod))) == 2
    fixed = edit(low_pod, f"{C0}.securityContext.runAsUser", 10500)
    [message] = messages(high_uid, workload(DEPLOYMENT, fixed))
    assert "init container 'migrate'" in message
    assert "spec.template.spec.securityContext.runAsUser is 100" in message
    unconfined = pod_with(f"{C0}.securityContext.seccompProfile", {"type": "Unconfined"})
    [message] = messages(seccomp_profile, workload(DEPLOYMENT, unconfined))
    assert "containers[0].securityContext.seccompProfile.type is 'Unconfined'" in message


@pytest.mark.parametrize(("uid", "ok"), [(10000, True), (9999, False)])
def test_uid_boundary(uid: int, ok: bool) -> None:
    res = workload(DEPLOYMENT, pod_with("securityContext.runAsUser", uid))
    assert (run(high_uid, res) == []) is ok


def test_root_uid_is_refused_even_with_run_as_non_root() -> None:
    found = messages(
        run_as_non_root, workload(DEPLOYMENT, pod_with("securityContext.runAsUser", 0))
    )
    assert len(found) == 2  # the container and the init container both inherit the pod's UID
    assert all("spec.template.spec.securityContext.runAsUser is 0" in m for m in found)


# --- capabilities ------------------------------------------------------------------------------------


def test_dropping_net_raw_only_satisfies_ckv_k8s_28_not_37() -> None:
    spec = pod_with(f"{C0}.securityContext.capabilities.drop", ["net_raw"])
    found = messages(drop_capabilities, workload(DEPLOYMENT, spec))
    assert [m.split(":")[0] for m in found] == ["CKV_K8S_37"]


@pytest.mark.parametrize("added", [["NET_RAW"], ["CAP_NET_RAW"]])
def test_adding_net_raw_back_violates_ckv_k8s_28(added: list[str]) -> None:
    spec = pod_with(f"{C0}.securityContext.capabilities.add", added)
    [message] = messages(drop_capabilities, workload(DEPLOYMENT, spec))
    assert message.startswith("CKV_K8S_28: container 'api'") and "grants NET_RAW back" in message


def test_adding_all_back_violates_both_rules() -> None:
    spec = pod_with(f"{C0}.securityContext.capabilities.add", ["ALL"])
    found = messages(drop_capabilities, workload(DEPLOYMENT, spec))
    assert sorted(m.split(":")[0] for m in found) == ["CKV_K8S_28", "CKV_K8S_37"]


def test_adding_a_harmless_capability_is_compliant() -> None:
    spec = pod_with(f"{C0}.securityContext.capabilities.add", ["NET_BIND_SERVICE"])
    assert run(drop_capabilities, workload(DEPLOYMENT, spec)) == []
    assert run(added_capabilities, workload(DEPLOYMENT, spec)) == []


DANGEROUS = ["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "BPF", "DAC_OVERRIDE"]


@pytest.mark.parametrize("kind", sorted(WORKLOAD_TYPES))
@pytest.mark.parametrize("added", DANGEROUS)
def test_adding_back_a_dangerous_capability_is_refused_on_every_kind(kind: str, added: str) -> None:
    # Spelled as manifests often do: lower case, with the kernel's CAP_ prefix.
    spec = pod_with(f"{C0}.securityContext.capabilities.add", [f"cap_{added.lower()}"])
    [message] = messages(added_capabilities, workload(kind, spec))
    assert f"grants {added}; only NET_BIND_SERVICE may be added back" in message
    assert message.startswith("CKV_K8S_39" if added == "SYS_ADMIN" else "CKV_K8S_25")
    assert added_capabilities.enforcement_level is not None
    assert added_capabilities.enforcement_level.value == "mandatory"


def test_each_refused_capability_is_named_once_and_all_or_net_raw_are_left_to_their_rule() -> None:
    added = ["NET_BIND_SERVICE", "SYS_PTRACE", "ALL", "NET_RAW", "NET_ADMIN"]
    spec = pod_with(f"{C0}.securityContext.capabilities.add", added)
    found = messages(added_capabilities, workload(DEPLOYMENT, spec))
    assert [m.split("grants ")[1].split(";")[0] for m in found] == ["NET_ADMIN", "SYS_PTRACE"]


# --- secrets as files --------------------------------------------------------------------------------


def test_plain_values_config_maps_and_field_refs_in_the_environment_are_compliant() -> None:
    env = [
        {"name": "ES_URL", "value": "https://elasticsearch:9200"},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "mode"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    spec = pod_with(f"{C0}.env", env)
    spec = edit(spec, f"{C0}.envFrom", [{"configMapRef": {"name": "app"}}])
    assert run(secrets_as_files, workload(DEPLOYMENT, spec)) == []


@pytest.mark.parametrize("kind", sorted(WORKLOAD_TYPES))
def test_a_secret_in_the_environment_is_refused_on_every_kind(kind: str) -> None:
    env = [
        {"name": "ES_URL", "value": "https://elasticsearch:9200"},
        {
            "name": "ELASTIC_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "es-elastic-user", "key": "elastic"}},
        },
    ]
    [message] = messages(secrets_as_files, workload(kind, pod_with(f"{C0}.env", env)))
    assert message == (
        f"CKV_K8S_35: container 'api' ({PREFIX[kind]}.containers[0]): env[1] "
        "'ELASTIC_PASSWORD' reads key 'elastic' of Secret 'es-elastic-user' into the "
        "environment; mount the Secret as a read-only file instead"
    )


# --- images ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "tag", "digest"),
    [
        ("nginx", None, None),
        ("nginx:1.27", "1.27", None),
        ("registry:5000/team/app", None, None),
        ("registry:5000/team/app:2.0", "2.0", None),
        (f"app@{DIGEST}", None, DIGEST),
        (f"ghcr.io/x/app:v1@{DIGEST}", "v1", DIGEST),
    ],
)
def test_image_parts(image: str, tag: str | None, digest: str | None) -> None:
    assert image_parts(image) == (tag, digest)


@pytest.mark.parametrize(
    ("image", "tag_ok", "digest_ok"),
    [
        ("curlimages/curl:8.11.1", True, False),
        ("registry:5000/app", False, False),
        ("nginx:LATEST", False, False),
        (f"nginx@{DIGEST}", True, True),
        ("nginx@sha256:xyz", False, False),
    ],
)
def test_image_rules(image: str, tag_ok: bool, digest_ok: bool) -> None:
    res = workload(DEPLOYMENT, pod_with(f"{C0}.image", image))
    assert (run(image_tag_pinned, res) == []) is tag_ok
    assert (run(image_digest, res) == []) is digest_ok


# --- service-account token ---------------------------------------------------------------------------


@pytest.mark.parametrize("mounted", [True, None])
def test_annotated_pods_may_mount_the_token(mounted: bool | None) -> None:
    spec = pod_with("automountServiceAccountToken", DELETE if mounted is None else mounted)
    opted = workload(DEPLOYMENT, spec, annotations={k8s.KUBE_API_ANNOTATION: "true"})
    assert run(service_account_token, opted) == []
    other = workload(DEPLOYMENT, spec, annotations={k8s.KUBE_API_ANNOTATION: "yes"})
    [message] = messages(service_account_token, other)
    assert "spec.template.metadata.annotations" in message


def test_annotation_on_the_workload_itself_is_not_an_opt_in() -> None:
    res = workload(DEPLOYMENT, pod_with("automountServiceAccountToken", True))
    res.props["metadata"]["annotations"] = {k8s.KUBE_API_ANNOTATION: "true"}
    assert len(messages(service_account_token, res)) == 1


# --- namespace of a workload (CKV_K8S_21) ------------------------------------------------------------

K8S_PROVIDER = "pulumi:providers:kubernetes"


def test_default_namespace_is_a_violation() -> None:
    [message] = messages(not_default_namespace, workload(namespace="default"))
    assert message.startswith("CKV_K8S_21: metadata.namespace is 'default'")


def test_missing_namespace_is_a_violation_without_a_provider_namespace() -> None:
    provider = resource(K8S_PROVIDER, {"enableServerSideApply": "true"}, name="k8s")
    [message] = messages(
        not_default_namespace, provider, workload(namespace=None, provider=provider)
    )
    assert "metadata.namespace is not set" in message


def test_missing_namespace_takes_the_provider_namespace() -> None:
    provider = resource(K8S_PROVIDER, {"namespace": "ttbt2"}, name="k8s")
    assert run(not_default_namespace, provider, workload(namespace=None, provider=provider)) == []
    default = resource(K8S_PROVIDER, {"namespace": "default"}, name="k8s-default")
    assert (
        len(messages(not_default_namespace, default, workload(namespace=None, provider=default)))
        == 1
    )


def test_wrongly_typed_provider_namespace_is_a_violation() -> None:
    provider = resource(K8S_PROVIDER, {"namespace": ["ttbt2"]}, name="k8s")
    [message] = messages(
        not_default_namespace, provider, workload(namespace=None, provider=provider)
    )
    assert message == "the Kubernetes provider's namespace must be a string, got array"


# --- Rollouts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", WORKLOAD_POLICIES, ids=lambda p: p.name)
def test_rollout_with_a_workload_ref_has_no_pod_of_its_own(policy: Policy) -> None:
    props = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"namespace": "ttbt2"},
        "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}},
    }
    assert run(policy, resource(ROLLOUT, props)) == []


# --- wrong types and unknowns ------------------------------------------------------------------------

WRONG_TYPES: list[tuple[Policy, str, Any, str]] = [
    (probes, "containers", "api", "spec.template.spec.containers must be an array"),
    (probes, C0, "api", "spec.template.spec.containers[0] must be an object"),
    (
        resource_requests_limits,
        f"{C0}.resources.limits.cpu",
        ["1"],
        "limits.cpu must be a quantity",
    ),
    (image_tag_pinned, f"{C0}.image", 3, "spec.template.spec.containers[0].image must be a string"),
    (not_privileged, f"{C0}.securityContext", "yes", "containers[0].securityContext must be"),
    (no_host_namespaces, "hostPID", "true", "spec.template.spec.hostPID must be true or false"),
    (no_privilege_escalation, f"{C0}.securityContext.allowPrivilegeEscalation", 0, "got number 0"),
    (read_only_root_filesystem, f"{I0}.securityContext.readOnlyRootFilesystem", "true", "must be"),
    (run_as_non_root, "securityContext.runAsNonRoot", "true", "securityContext.runAsNonRoot must"),
    (high_uid, f"{C0}.securityContext.runAsUser", "10001", "runAsUser must be a number"),
    (seccomp_profile, "securityContext.seccompProfile", "RuntimeDefault", "must be an object"),
    (seccomp_profile, "securityContext.seccompProfile.type", 1, "seccompProfile.type must be"),
    (drop_capabilities, f"{C0}.securityContext.capabilities.drop", "ALL", "an array of strings"),
    (added_capabilities, f"{C0}.securityContext.capabilities.add", "BPF", "an array of strings"),
    (secrets_as_files, f"{C0}.env", {"name": "X"}, "containers[0].env must be an array"),
    (secrets_as_files, f"{C0}.env", ["X"], "containers[0].env[0] must be an object"),
    (service_account_token, "automountServiceAccountToken", "false", "must be true or false"),
]


@pytest.mark.parametrize(
    ("policy", "path", "value", "expected"),
    WRONG_TYPES,
    ids=case_ids(WRONG_TYPES),
)
def test_wrongly_typed_prop_is_a_violation(
    policy: Policy, path: str, value: Any, expected: str
) -> None:
    assert_wrong_type(run(policy, workload(DEPLOYMENT, pod_with(path, value))), expected)


def test_wrongly_typed_pod_props_name_their_full_path() -> None:
    [message] = messages(probes, workload(POD, pod_with("containers", "api")))
    assert message == "spec.containers must be an array, got string 'api'"
    [message] = messages(probes, resource(POD, {"spec": "x"}))
    assert message == "spec must be an object, got string 'x'"
    annotated = workload(DEPLOYMENT)
    annotated.props["spec"]["template"]["metadata"]["annotations"] = "x"
    [message] = messages(service_account_token, annotated)
    assert message == "spec.template.metadata.annotations must be an object, got string 'x'"
    bad_job = resource(CRON_JOB, {"spec": {"jobTemplate": {"spec": 1}}})
    [message] = messages(not_privileged, bad_job)
    assert message == "spec.jobTemplate.spec must be an object, got number 1"


UNKNOWNS: list[tuple[Policy, str]] = [
    (probes, f"{C0}.livenessProbe"),
    (resource_requests_limits, f"{C0}.resources.limits.cpu"),
    (image_tag_pinned, f"{C0}.image"),
    (image_digest, f"{C0}.image"),
    (not_privileged, f"{C0}.securityContext.privileged"),
    (no_host_namespaces, "hostNetwork"),
    (no_privilege_escalation, f"{C0}.securityContext.allowPrivilegeEscalation"),
    (read_only_root_filesystem, f"{C0}.securityContext.readOnlyRootFilesystem"),
    (run_as_non_root, "securityContext.runAsNonRoot"),
    (high_uid, "securityContext.runAsUser"),
    (seccomp_profile, "securityContext.seccompProfile.type"),
    (drop_capabilities, f"{C0}.securityContext.capabilities.drop"),
    (added_capabilities, f"{C0}.securityContext.capabilities.add"),
    (secrets_as_files, f"{C0}.env"),
    (service_account_token, "automountServiceAccountToken"),
]


@pytest.mark.parametrize(("policy", "path"), UNKNOWNS, ids=[p.name for p, _p in UNKNOWNS])
def test_unknown_value_is_a_note(policy: Policy, path: str) -> None:
    assert_unknown_is_a_note(run(policy, workload(DEPLOYMENT, pod_with(path, UNKNOWN))), policy)


def test_unknown_namespace_is_a_note() -> None:
    [finding] = run(not_default_namespace, workload(namespace=UNKNOWN))
    assert finding.kind == "note"


# --- CKV2_K8S_6: a NetworkPolicy in every namespace the stack creates --------------------------------


def namespace(name: str | None, resource_name: str | None = None) -> Resource:
    metadata = {} if name is None else {"name": name}
    return resource(NAMESPACE, {"metadata": metadata}, name=resource_name or f"ns-{name}")


def network_policy(
    in_namespace: str | None, *, name: str = "deny-all", depends_on: list[Resource] | None = None
) -> Resource:
    metadata: dict[str, Any] = {"name": name}
    if in_namespace is not None:
        metadata["namespace"] = in_namespace
    props = {"metadata": metadata, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    return resource(NETWORK_POLICY, props, name=name, dependencies=depends_on or [])


def stack_messages(*resources: Resource) -> list[tuple[str, str]]:
    found = findings_for(namespace_network_policy, resources)
    assert all(f.kind == "violation" for f in found), found
    return [(f.message, f.urn) for f in found]


def test_namespace_with_a_network_policy_is_compliant() -> None:
    assert stack_messages(namespace("ttbt2"), network_policy("ttbt2")) == []


def test_namespace_without_a_network_policy_is_a_violation() -> None:
    ns = namespace("ttbt2")
    other = network_policy("monitoring")
    [(message, urn)] = stack_messages(ns, namespace("monitoring"), other)
    assert urn == ns.urn
    assert message.startswith("CKV2_K8S_6: namespace 'ttbt2' has no NetworkPolicy")


def test_network_policy_without_a_namespace_lands_in_the_provider_namespace() -> None:
    ns = namespace("ttbt2")
    [(message, _urn)] = stack_messages(ns, network_policy(None))
    assert "'ttbt2'" in message
    provider = resource(K8S_PROVIDER, {"namespace": "ttbt2"}, name="k8s")
    np = dataclasses.replace(network_policy(None), provider=f"{provider.urn}::provider-id")
    assert stack_messages(provider, ns, np) == []


def test_namespaces_the_stack_does_not_create_are_out_of_scope() -> None:
    assert stack_messages(network_policy("kube-system")) == []
    assert stack_messages() == []


def test_generated_namespace_name_joins_through_dependencies() -> None:
    ns = namespace(None, "ns-generated")
    [(message, _urn)] = stack_messages(ns, network_policy("ns-generated-1a2b3c"))
    assert "ns-generated (generated name)" in message
    assert stack_messages(ns, network_policy(UNKNOWN, depends_on=[ns])) == []


def test_per_property_dependencies_are_preferred() -> None:
    ns = namespace(None, "ns-generated")
    np = dataclasses.replace(
        network_policy("elsewhere", depends_on=[ns]), property_dependencies={"spec": [ns.urn]}
    )
    assert len(stack_messages(ns, np)) == 1
    np = dataclasses.replace(np, property_dependencies={"metadata": [ns.urn]})
    assert stack_messages(ns, np) == []


def test_known_names_settle_the_join_before_dependencies() -> None:
    ns = namespace("ttbt2")
    assert len(stack_messages(ns, network_policy("monitoring", depends_on=[ns]))) == 1


def test_unknown_names_are_a_note_after_the_settled_violations() -> None:
    settled = namespace("monitoring")
    waiting = namespace(UNKNOWN, "ns-waiting")
    found = findings_for(namespace_network_policy, [settled, waiting, network_policy("ttbt2")])
    assert [(f.kind, f.urn) for f in found] == [("violation", settled.urn), ("note", "")]
    policy_unknown = network_policy(UNKNOWN)
    found = findings_for(namespace_network_policy, [namespace("ttbt2"), policy_unknown])
    assert [f.kind for f in found] == ["note"]


def test_unknown_name_joined_by_dependency_is_compliant() -> None:
    ns = namespace(UNKNOWN, "ns-waiting")
    assert stack_messages(ns, network_policy(UNKNOWN, depends_on=[ns])) == []


def test_wrongly_typed_names_are_reported_on_their_resource() -> None:
    bad_ns = resource(NAMESPACE, {"metadata": {"name": 7}}, name="bad")
    bad_np = resource(NETWORK_POLICY, {"metadata": "x"}, name="bad-np")
    found = stack_messages(bad_ns, bad_np, namespace("ttbt2"), network_policy("ttbt2"))
    assert found == [
        ("NetworkPolicy bad-np: metadata must be an object, got string 'x'", bad_np.urn),
        ("Namespace bad: metadata.name must be a string, got number 7", bad_ns.urn),
    ]


# --- the module --------------------------------------------------------------------------------------


def test_policies_list_and_names() -> None:
    assert [*WORKLOAD_POLICIES, namespace_network_policy] == k8s.POLICIES
    names = [p.name for p in k8s.POLICIES]
    assert len(set(names)) == len(names)
    assert all(name.startswith("k8s-") for name in names)


@pytest.mark.parametrize("type_", sorted(k8s.USED_TYPES - {ROLLOUT}))
def test_every_type_token_exists_in_the_installed_sdk(type_: str) -> None:
    """A misspelt token would silently make a rule apply to nothing."""
    import pulumi_kubernetes

    group_version, kind = type_.removeprefix("kubernetes:").split(":")
    group, version = group_version.rsplit("/", 1)
    module = getattr(pulumi_kubernetes, group.split(".")[0])
    cls = getattr(getattr(module, version), kind)
    assert get_type_token(cls) == type_
