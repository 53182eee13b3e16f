"""trivy-operator: rendered on the mock engine, checked against the vendored chart.

The chart values are checked against the vendored values.yaml, the operator's and the scan
jobs' pods against the Kubernetes schema and the restricted profile their namespace enforces,
the NetworkPolicies against what the operator and its scans need, and the ECR pull role
against the policy pack's least-privilege rules and the images the stacks run.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.aws.ecr_pull import PULL_ACTIONS, ecr_pull_policy, ecr_repository_arn
from components.delivery.spec import parse_services
from components.k8s.metrics import MetricsStackArgs, prometheus_stack_values
from components.k8s.trivy_operator import (
    CHART,
    CHART_DIR,
    CHART_REPOSITORY,
    CRD_DIR,
    METRICS_PORT,
    NAMESPACE,
    OPERATOR_LABELS,
    SERVICE_ACCOUNT,
    VALUES_FREE_FORM,
    TrivyOperator,
    TrivyOperatorArgs,
    helm_values,
    scan_concurrency,
)
from components.monitoring.alerts import ALERTS
from offline.engine import run_program
from offline.graph import Resource, StackGraph
from policies.ttbt2_policies.iam import no_wildcard_actions, no_wildcard_resources
from tests.conftest import of_type, one, stack_values
from tests.support.pod_security import restricted_problems
from tests.support.policies import findings_for, resource
from tests.support.stacks import StackRenders
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

RELEASE = "kubernetes:helm.sh/v3:Release"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE_ARN = "arn:aws:iam::123456789012:role/ttbt2-prod-trivy-ecr"
K8S_VERSION = "1.33"
ENVS = ("dev", "staging", "prod")
CASES = [
    pytest.param(env, preview, id=f"{env}-{'preview' if preview else 'up'}")
    for env in ENVS
    for preview in (True, False)
]
_cache: dict[tuple[str, bool, bool], StackGraph] = {}


def render(env: str, *, preview: bool, with_role: bool = True) -> StackGraph:
    """The component alone, with the caller's provider (nothing contacted)."""
    key = (env, preview, with_role)
    if key not in _cache:

        def program() -> None:
            provider = k8s.Provider("k8s", kubeconfig="{}")
            TrivyOperator(
                "trivy",
                TrivyOperatorArgs(environment=env, ecr_role_arn=ROLE_ARN if with_role else None),
                opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
            )

        _cache[key] = run_program(program, project="ttbt2-platform", stack=env, preview=preview)
    return _cache[key]


def values_of(graph: StackGraph) -> dict[str, Any]:
    values: dict[str, Any] = one(graph, RELEASE).props["values"]
    return values


# ---- the chart ------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_release_installs_the_vendored_chart_and_its_crds(env: str, preview: bool) -> None:
    graph = render(env, preview=preview)
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    release = one(graph, RELEASE)
    assert release.props["chart"] == chart["name"] == CHART
    assert release.props["version"] == chart["version"]
    assert release.props["repositoryOpts"] == {"repo": CHART_REPOSITORY}
    assert release.props["namespace"] == NAMESPACE
    # Helm installs the chart's crds/ (the reports the operator writes).
    assert not release.props.get("skipCrds")
    assert sorted(p.stem for p in CRD_DIR.glob("*.yaml")) == [
        "ConfigAuditReport",
        "VulnerabilityReport",
    ]
    assert one(graph, "kubernetes:core/v1:Namespace").urn in release.dependencies


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_every_helm_value_path_exists_in_the_vendored_values(env: str, preview: bool) -> None:
    values = values_of(render(env, preview=preview))
    assert values == helm_values(env, ROLE_ARN)
    chart_values = load_chart_values(CHART_DIR)
    assert unknown_value_paths(values, chart_values, set(VALUES_FREE_FORM)) == []
    typo = copy.deepcopy(values)
    typo["operator"]["scanJobsConcurentLimit"] = typo["operator"].pop("scanJobsConcurrentLimit")
    assert unknown_value_paths(typo, chart_values, set(VALUES_FREE_FORM)) == [
        "operator.scanJobsConcurentLimit"
    ]


def test_the_metric_the_alerts_read_is_produced() -> None:
    readers = [a.name for a in ALERTS if "trivy_image_vulnerabilities" in a.expr]
    assert readers == ["CriticalVulnerabilityDetected"]
    operator = helm_values("prod")["operator"]
    # trivy_image_vulnerabilities comes from the vulnerability reports' findings.
    assert operator["vulnerabilityScannerEnabled"] is True
    assert operator["metricsFindingsEnabled"] is True


# ---- pods and Pod Security ------------------------------------------------------------------


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_namespace_enforces_the_restricted_profile(env: str, preview: bool) -> None:
    labels = one(render(env, preview=preview), "kubernetes:core/v1:Namespace").props["metadata"][
        "labels"
    ]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def operator_pod(values: dict[str, Any]) -> dict[str, Any]:
    """The operator's pod as the chart's Deployment template builds it from ``values``."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "trivy-operator", "labels": dict(OPERATOR_LABELS)},
        "spec": {
            "serviceAccountName": values["serviceAccount"]["name"],
            "automountServiceAccountToken": values["automountServiceAccountToken"],
            "securityContext": values["podSecurityContext"],
            "containers": [
                {
                    "name": "trivy-operator",
                    "image": "mirror.gcr.io/aquasec/trivy-operator:0.32.0",
                    "securityContext": values["securityContext"],
                    "resources": values["resources"],
                    "ports": [{"containerPort": METRICS_PORT, "name": "metrics"}],
                    "volumeMounts": values.get("volumeMounts", [])
                    or load_chart_values(CHART_DIR)["volumeMounts"],
                }
            ],
            "volumes": load_chart_values(CHART_DIR)["volumes"],
        },
    }


def scan_job_pod(values: dict[str, Any]) -> dict[str, Any]:
    """A vulnerability scan job's pod in ``image`` mode, with the contexts ``values`` set.

    The operator builds it: an init container downloading the database and one scanner
    container per image, all with the container context, emptyDir scratch space.
    """
    job = values["trivyOperator"]
    container = {
        "image": "mirror.gcr.io/aquasec/trivy:0.72.0",
        "securityContext": job["scanJobPodTemplateContainerSecurityContext"],
        "resources": values["trivy"]["resources"],
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "scan-vulnerabilityreport-abc"},
        "spec": {
            "serviceAccountName": SERVICE_ACCOUNT,
            "automountServiceAccountToken": job["scanJobAutomountServiceAccountToken"],
            "securityContext": job["scanJobPodTemplatePodSecurityContext"],
            "restartPolicy": "Never",
            "initContainers": [{"name": "download-db", **container}],
            "containers": [{"name": "api", **container}],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("build", [operator_pod, scan_job_pod], ids=["operator", "scan-job"])
def test_pods_pass_the_pod_schema_and_the_restricted_profile(build: Any, env: str) -> None:
    values = helm_values(env, ROLE_ARN)
    pod = build(values)
    assert kubernetes_validate.validate(pod, K8S_VERSION, strict=True) == K8S_VERSION
    assert restricted_problems(pod["spec"]) == []
    for container in pod["spec"]["containers"]:
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["runAsUser"] >= 10000
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}


def test_the_chart_defaults_would_not_pass_the_restricted_profile() -> None:
    # Why the component sets the contexts: the chart's own scan job contexts lack a non-root
    # user and a seccomp profile, so restricted admission would refuse every scan.
    chart = load_chart_values(CHART_DIR)
    assert restricted_problems(scan_job_pod(chart)["spec"]) != []


def test_no_job_needs_host_access() -> None:
    operator = helm_values("prod")["operator"]
    # The node-collector (hostPath, host PID) runs only for infra assessment; compliance
    # reports read its results.
    assert operator["infraAssessmentScannerEnabled"] is False
    assert operator["clusterComplianceEnabled"] is False
    trivy = helm_values("prod")["trivy"]
    assert trivy["command"] == "image"  # filesystem/rootfs scans need root
    assert helm_values("prod")["trivyOperator"]["scanJobsInSameNamespace"] is False


@pytest.mark.parametrize("env", ENVS)
def test_scanning_is_bounded(env: str) -> None:
    values = helm_values(env)
    assert values["operator"]["scanJobsConcurrentLimit"] == scan_concurrency(env) <= 3
    assert values["operator"]["scanJobTimeout"] == "10m"
    limits, requests = (
        values["trivy"]["resources"]["limits"],
        values["trivy"]["resources"]["requests"],
    )
    assert set(limits) == set(requests) == {"cpu", "memory"}
    assert values["operator"]["sbomGenerationEnabled"] is False
    assert values["operator"]["metricsVulnIdEnabled"] is False


# ---- metrics --------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_service_monitor_is_on_and_selected_by_prometheus(env: str) -> None:
    monitor = helm_values(env)["serviceMonitor"]
    assert monitor["enabled"] is True
    assert monitor["labels"] == {"environment": env}
    spec = prometheus_stack_values(MetricsStackArgs(environment=env))["prometheus"][
        "prometheusSpec"
    ]
    # Prometheus selects every ServiceMonitor of every namespace, whatever its labels.
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert "serviceMonitorSelector" not in spec
    assert "serviceMonitorNamespaceSelector" not in spec


# ---- network policies -----------------------------------------------------------------------


def policies(graph: StackGraph) -> dict[str, dict[str, Any]]:
    return {r.props["metadata"]["name"]: r.props["spec"] for r in of_type(graph, NETWORK_POLICY)}


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_network_policies_allow_exactly_what_the_operator_needs(env: str, preview: bool) -> None:
    found = policies(render(env, preview=preview))
    assert sorted(found) == [f"{CHART}-egress", f"{CHART}-metrics-ingress"]
    ingress = found[f"{CHART}-metrics-ingress"]
    assert ingress == {
        "podSelector": {"matchLabels": OPERATOR_LABELS},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                        }
                    }
                ],
                "ports": [{"protocol": "TCP", "port": METRICS_PORT}],
            }
        ],
    }
    egress = found[f"{CHART}-egress"]
    assert egress["podSelector"] == {}  # the operator and every scan job
    assert egress["policyTypes"] == ["Egress"]
    dns, https = egress["egress"]
    assert dns["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert dns["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert https == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    }


# ---- ECR pulls ------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_service_account_carries_the_ecr_role_only_when_given(env: str, preview: bool) -> None:
    with_role = values_of(render(env, preview=preview))["serviceAccount"]
    assert with_role == {
        "create": True,
        "name": SERVICE_ACCOUNT,
        "annotations": {"eks.amazonaws.com/role-arn": ROLE_ARN},
    }
    without = values_of(render(env, preview=preview, with_role=False))["serviceAccount"]
    assert "annotations" not in without


@pytest.mark.parametrize(
    ("image", "arn"),
    [
        (
            "210987654321.dkr.ecr.eu-west-1.amazonaws.com/ttbt2/api@sha256:" + "a" * 64,
            "arn:aws:ecr:eu-west-1:210987654321:repository/ttbt2/api",
        ),
        (
            "210987654321.dkr.ecr.eu-west-1.amazonaws.com/ttbt2/web:2026.11.3",
            "arn:aws:ecr:eu-west-1:210987654321:repository/ttbt2/web",
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1",
            "arn:aws-cn:ecr:cn-north-1:123456789012:repository/app",
        ),
        ("quay.io/prometheus/blackbox-exporter:v0.28.0", None),
        ("public.ecr.aws/nginx/nginx:1.27", None),
    ],
)
def test_ecr_repository_of_an_image(image: str, arn: str | None) -> None:
    assert ecr_repository_arn(image) == arn


def policy_resource(document: dict[str, Any]) -> Resource:
    return resource(
        "aws:iam/rolePolicy:RolePolicy", {"policy": json.dumps(document), "role": "trivy"}
    )


def test_ecr_pull_policy_is_least_privilege() -> None:
    images = [
        "210987654321.dkr.ecr.eu-west-1.amazonaws.com/ttbt2/api:1",
        "210987654321.dkr.ecr.eu-west-1.amazonaws.com/ttbt2/api:2",
        "quay.io/prometheus/blackbox-exporter:v0.28.0",
    ]
    document = ecr_pull_policy(images)
    assert document is not None
    token, pull = document["Statement"]
    assert token["Action"] == ["ecr:GetAuthorizationToken"] and token["Resource"] == "*"
    assert pull["Action"] == list(PULL_ACTIONS)
    assert pull["Resource"] == ["arn:aws:ecr:eu-west-1:210987654321:repository/ttbt2/api"]
    for rule in (no_wildcard_resources, no_wildcard_actions):
        assert findings_for(rule, [policy_resource(document)]) == [], rule.name
    # The rule bites: the pull actions on every repository would be refused.
    broad = copy.deepcopy(document)
    broad["Statement"][1]["Resource"] = "*"
    assert findings_for(no_wildcard_resources, [policy_resource(broad)]) != []
    assert ecr_pull_policy(["quay.io/a/b:1"]) is None


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_scans_with_a_role_reading_its_services_repositories(
    stack: str, stacks: StackRenders
) -> None:
    graph = stacks.graph(stack)
    services = parse_services(stack, stack_values(stack)["ttbt2:services"])
    role = one(graph, "aws:iam/role:Role", f"ttbt2-{stack}-trivy-ecr")
    policy = json.loads(one(graph, "aws:iam/rolePolicy:RolePolicy", "trivy-ecr").props["policy"])
    assert policy == ecr_pull_policy(s.image for s in services)
    trust = json.loads(role.props["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    subjects = [
        v for cond in statement["Condition"].values() for k, v in cond.items() if "sub" in k
    ]
    assert subjects == [f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"]
    release = one(graph, RELEASE, f"ttbt2-{stack}-trivy-operator-release")
    annotation = release.props["values"]["serviceAccount"]["annotations"]
    # The service account carries this role (the engine's ARN ends with the role's name).
    assert annotation["eks.amazonaws.com/role-arn"].endswith(f":role/{role.name}")
    assert release.props["namespace"] == NAMESPACE
    assert release.props["values"]["serviceAccount"]["name"] == SERVICE_ACCOUNT
