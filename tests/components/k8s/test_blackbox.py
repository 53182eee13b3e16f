"""Blackbox exporter: rendered on the mock engine, checked against the vendored chart and CRDs.

The chart values are checked against the vendored values.yaml, the Probes against the
kube-prometheus-stack Probe CRD, the pod against the Kubernetes schema and the restricted Pod
Security profile, the Probes' jobs against the alerts that read them, and the NetworkPolicies
(the exporter's and the one each service's namespace gets) against what the probes need.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import promql_parser
import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pytest
import yaml

from components.delivery.spec import ServiceSpec, parse_services
from components.k8s.blackbox import (
    CHART,
    CHART_DIR,
    CHART_REPOSITORY,
    DEPENDENCIES_JOB,
    EXPORTER_LABELS,
    IN_CLUSTER_MODULE,
    NAMESPACE,
    PORT,
    PUBLIC_MODULE,
    SERVICE,
    UPTIME_JOB,
    VALUES_FREE_FORM,
    BlackboxExporter,
    BlackboxExporterArgs,
    helm_values,
    modules,
)
from components.k8s.metrics import PROMETHEUS_CHART_DIR, MetricsStackArgs, prometheus_stack_values
from components.k8s.service_delivery import ServiceDeliveryArgs, network_policies, pod_template
from components.monitoring.alerts import ALERTS
from components.monitoring.dashboards import dashboards
from offline.engine import run_program
from offline.graph import Resource, StackGraph
from tests.components.monitoring.test_dashboards import substitute
from tests.conftest import of_type, one, stack_values
from tests.support.pod_security import restricted_problems
from tests.support.stacks import StackRenders
from tests.support.validate.crds import validate_custom_resource
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

RELEASE = "kubernetes:helm.sh/v3:Release"
PROBE = "kubernetes:monitoring.coreos.com/v1:Probe"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CRD_DIRS = [PROMETHEUS_CHART_DIR / "crds"]
K8S_VERSION = "1.33"
HOST = "www.ttbt2.test"
ENVS = ("dev", "staging", "prod")
CASES = [
    pytest.param(env, preview, id=f"{env}-{'preview' if preview else 'up'}")
    for env in ENVS
    for preview in (True, False)
]


def spec(name: str, port: int, health: str) -> ServiceSpec:
    """A delivered service as the stack config declares it."""
    return ServiceSpec.model_validate(
        {
            "name": name,
            "image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/ttbt2/{name}:1.0.0",
            "port": port,
            "healthPath": health,
        }
    )


SERVICES = (spec("api", 8080, "/api/healthz"), spec("billing", 9090, "/billing/ready"))

_cache: dict[tuple[str, bool, int], StackGraph] = {}


def render(env: str, *, preview: bool, services: tuple[ServiceSpec, ...] = SERVICES) -> StackGraph:
    """The component alone, with the caller's provider (nothing contacted)."""
    key = (env, preview, len(services))
    if key not in _cache:

        def program() -> None:
            provider = k8s.Provider("k8s", kubeconfig="{}")
            BlackboxExporter(
                "blackbox",
                BlackboxExporterArgs(environment=env, services=services, public_host=HOST),
                opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
            )

        _cache[key] = run_program(program, project="ttbt2-platform", stack=env, preview=preview)
    return _cache[key]


def as_object(res: Resource) -> dict[str, Any]:
    kind = res.type.rsplit(":", 1)[-1]
    api = res.type.split(":")[1]
    return {"apiVersion": api, "kind": kind, **copy.deepcopy(res.props)}


def probes(graph: StackGraph) -> dict[str, dict[str, Any]]:
    """Each Probe's spec, by job name."""
    return {r.props["spec"]["jobName"]: r.props["spec"] for r in of_type(graph, PROBE)}


def probe_success_jobs() -> dict[str, set[str]]:
    """The ``job`` each alert's ``probe_success`` selectors match, by alert name."""
    jobs: dict[str, set[str]] = {}
    for alert in ALERTS:
        for selector in _selectors(promql_parser.parse(alert.expr)):
            if selector.name == "probe_success":
                jobs.setdefault(alert.name, set()).update(
                    m.value for m in selector.matchers.matchers if m.name == "job"
                )
    return jobs


def _selectors(node: Any) -> Iterator[Any]:
    if isinstance(node, promql_parser.VectorSelector):
        yield node
        return
    for attr in ("lhs", "rhs", "expr", "vector_selector"):
        child = getattr(node, attr, None)
        if child is not None:
            yield from _selectors(child)
    for arg in getattr(node, "args", None) or []:
        yield from _selectors(arg)


# ---- what the alerts read ------------------------------------------------------------------


def test_probe_jobs_are_the_jobs_the_alerts_select() -> None:
    jobs = probe_success_jobs()
    assert jobs["ServiceEndpointDown"] == {UPTIME_JOB}
    assert jobs["DependencyDown"] == {DEPENDENCIES_JOB}
    # Every job an alert reads is one a Probe of ours produces.
    assert set().union(*jobs.values()) <= set(probes(render("prod", preview=False)))


def test_the_uptime_panel_reads_the_public_probes_only() -> None:
    queries = [
        target["expr"]
        for board in dashboards().values()
        for panel in board.get("panels", [])
        for target in panel.get("targets") or []
        if "probe_success" in target.get("expr", "")
    ]
    assert queries, "a dashboard reads probe_success"
    for query in queries:
        parsed = promql_parser.parse(substitute(query))
        selectors = [s for s in _selectors(parsed) if s.name == "probe_success"]
        jobs = {m.value for s in selectors for m in s.matchers.matchers if m.name == "job"}
        # Without the matcher the in-cluster probes would count as uptime.
        assert jobs == {UPTIME_JOB}, query


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_one_probe_per_job_through_the_exporter_service(env: str, preview: bool) -> None:
    found = probes(render(env, preview=preview))
    assert sorted(found) == sorted([UPTIME_JOB, DEPENDENCIES_JOB])
    for job, probe in found.items():
        assert probe["prober"] == {
            "url": f"{SERVICE}.{NAMESPACE}.svc:{PORT}",
            "scheme": "http",
            "path": "/probe",
        }, job
    assert found[UPTIME_JOB]["module"] == PUBLIC_MODULE
    assert found[DEPENDENCIES_JOB]["module"] == IN_CLUSTER_MODULE
    assert set(modules()) == {PUBLIC_MODULE, IN_CLUSTER_MODULE}


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_probes_target_each_health_path_in_the_cluster_and_through_the_public_host(
    env: str, preview: bool
) -> None:
    found = probes(render(env, preview=preview))
    assert found[DEPENDENCIES_JOB]["targets"]["staticConfig"]["static"] == [
        "http://api.api.svc:8080/api/healthz",
        "http://billing.billing.svc:9090/billing/ready",
    ]
    assert found[UPTIME_JOB]["targets"]["staticConfig"]["static"] == [
        f"https://{HOST}/api/healthz",
        f"https://{HOST}/billing/ready",
    ]


def test_the_public_host_may_be_known_only_after_deployment() -> None:
    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        suffix = random.RandomId("distribution", byte_length=4)
        BlackboxExporter(
            "blackbox",
            BlackboxExporterArgs(
                environment="dev",
                services=SERVICES[:1],
                public_host=suffix.hex.apply(lambda h: f"d{h}.cloudfront.net"),
            ),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )

    graph = run_program(program, project="ttbt2-platform", stack="dev", preview=False)
    (target,) = probes(graph)[UPTIME_JOB]["targets"]["staticConfig"]["static"]
    assert target.startswith("https://d") and target.endswith(".cloudfront.net/api/healthz")


@pytest.mark.parametrize("preview", [True, False])
def test_no_services_means_no_probes(preview: bool) -> None:
    graph = render("dev", preview=preview, services=())
    assert of_type(graph, PROBE) == []
    assert one(graph, RELEASE).props["chart"] == CHART


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_probes_match_the_vendored_probe_crd(env: str, preview: bool) -> None:
    resources = of_type(render(env, preview=preview), PROBE)
    assert len(resources) == 2
    for res in resources:
        assert validate_custom_resource(as_object(res), CRD_DIRS) == [], res.name
    typo = as_object(resources[0])
    typo["spec"]["targets"]["staticConfig"]["statics"] = typo["spec"]["targets"][
        "staticConfig"
    ].pop("static")
    assert any("statics" in e for e in validate_custom_resource(typo, CRD_DIRS))


def selects(spec: dict[str, Any], kind: str, labels: dict[str, str]) -> bool:
    """Whether a Prometheus of ``prometheusSpec`` values ``spec`` selects a ``kind`` so labelled.

    kube-prometheus-stack's rule: an explicit ``<kind>Selector`` wins; else, with
    ``<kind>SelectorNilUsesHelmValues`` false, every object; else only the release's (labelled
    ``release: kube-prometheus-stack``). The namespace selector must take every namespace.
    """
    key = kind[0].lower() + kind[1:]
    chart = load_chart_values(PROMETHEUS_CHART_DIR)["prometheus"]["prometheusSpec"]
    if spec.get(f"{key}NamespaceSelector", chart[f"{key}NamespaceSelector"]) != {}:
        return False
    if f"{key}Selector" in spec:
        wanted = spec[f"{key}Selector"].get("matchLabels", {})
    elif spec.get(f"{key}SelectorNilUsesHelmValues", True) is False:
        wanted = {}
    else:
        wanted = {"release": "kube-prometheus-stack"}
    return all(labels.get(k) == v for k, v in wanted.items())


def prometheus_spec(env: str) -> dict[str, Any]:
    spec: dict[str, Any] = prometheus_stack_values(MetricsStackArgs(environment=env))["prometheus"][
        "prometheusSpec"
    ]
    return spec


@pytest.mark.parametrize("env", ENVS)
def test_prometheus_selects_the_probes_and_the_exporters_service_monitor(env: str) -> None:
    spec = prometheus_spec(env)
    found = of_type(render(env, preview=False), PROBE)
    assert found
    for res in found:
        assert selects(spec, "Probe", res.props["metadata"].get("labels", {})), res.name
    self_monitor = helm_values(env)["serviceMonitor"]["selfMonitor"]
    assert self_monitor["enabled"] is True
    assert selects(spec, "ServiceMonitor", self_monitor["labels"])
    # The check bites: with the chart's default selector, unlabelled Probes are not selected.
    default = {k: v for k, v in spec.items() if k != "probeSelectorNilUsesHelmValues"}
    assert not selects(default, "Probe", found[0].props["metadata"].get("labels", {}))


# ---- the chart ------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_release_installs_the_vendored_chart_in_its_restricted_namespace(
    env: str, preview: bool
) -> None:
    graph = render(env, preview=preview)
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    release = one(graph, RELEASE)
    assert release.props["chart"] == chart["name"] == CHART
    assert release.props["version"] == chart["version"]
    assert release.props["repositoryOpts"] == {"repo": CHART_REPOSITORY}
    assert release.props["namespace"] == NAMESPACE
    namespace = one(graph, "kubernetes:core/v1:Namespace")
    assert namespace.urn in release.dependencies
    labels = namespace.props["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_every_helm_value_path_exists_in_the_vendored_values(env: str, preview: bool) -> None:
    values = one(render(env, preview=preview), RELEASE).props["values"]
    assert values == helm_values(env)
    chart_values = load_chart_values(CHART_DIR)
    assert unknown_value_paths(values, chart_values, set(VALUES_FREE_FORM)) == []
    typo = copy.deepcopy(values)
    typo["serviceMonitor"]["selfMonitr"] = typo["serviceMonitor"].pop("selfMonitor")
    assert unknown_value_paths(typo, chart_values, set(VALUES_FREE_FORM)) == [
        "serviceMonitor.selfMonitr"
    ]


def exporter_pod(values: dict[str, Any]) -> dict[str, Any]:
    """The pod the chart's Deployment template builds from ``values``."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "blackbox-exporter", "labels": dict(EXPORTER_LABELS)},
        "spec": {
            "automountServiceAccountToken": values["automountServiceAccountToken"],
            "hostNetwork": False,
            "securityContext": values["podSecurityContext"],
            "containers": [
                {
                    "name": "blackbox-exporter",
                    "image": "quay.io/prometheus/blackbox-exporter:v0.28.0",
                    "securityContext": values["securityContext"],
                    "resources": values["resources"],
                    "ports": [{"containerPort": PORT, "name": "http"}],
                    "volumeMounts": [{"mountPath": "/config", "name": "config"}],
                }
            ],
            "volumes": [{"name": "config", "configMap": {"name": SERVICE}}],
            "topologySpreadConstraints": values.get("topologySpreadConstraints", []),
        },
    }


@pytest.mark.parametrize("env", ENVS)
def test_exporter_pod_is_hardened(env: str) -> None:
    values = helm_values(env)
    pod = exporter_pod(values)
    assert kubernetes_validate.validate(pod, K8S_VERSION, strict=True) == K8S_VERSION
    assert restricted_problems(pod["spec"]) == []
    assert values["securityContext"]["readOnlyRootFilesystem"] is True
    assert values["securityContext"]["runAsUser"] >= 10000
    assert values["automountServiceAccountToken"] is False
    for kind in ("requests", "limits"):
        assert set(values["resources"][kind]) == {"cpu", "memory"}
    # The profile check bites: the chart's default pod context (empty) is refused.
    pod["spec"]["securityContext"] = {}
    del pod["spec"]["containers"][0]["securityContext"]["seccompProfile"]
    assert restricted_problems(pod["spec"]) != []


@pytest.mark.parametrize("env", ENVS)
def test_exporter_is_highly_available_outside_dev(env: str) -> None:
    values = helm_values(env)
    if env == "dev":
        assert values["replicas"] == 1 and values["podDisruptionBudget"] == {}
    else:
        assert values["replicas"] == 2
        assert values["podDisruptionBudget"] == {"maxUnavailable": 1}
        (spread,) = values["topologySpreadConstraints"]
        assert spread["labelSelector"]["matchLabels"] == EXPORTER_LABELS


def test_public_probes_require_verified_https() -> None:
    public = modules()[PUBLIC_MODULE]["http"]
    assert public["fail_if_not_ssl"] is True
    assert public["tls_config"]["insecure_skip_verify"] is False
    in_cluster = modules()[IN_CLUSTER_MODULE]
    assert in_cluster["prober"] == "http"
    assert in_cluster["http"]["follow_redirects"] is False


# ---- network policies -----------------------------------------------------------------------


def policies(graph: StackGraph) -> dict[str, dict[str, Any]]:
    return {r.props["metadata"]["name"]: r.props["spec"] for r in of_type(graph, NETWORK_POLICY)}


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_only_prometheus_reaches_the_exporter_port(env: str, preview: bool) -> None:
    ingress = policies(render(env, preview=preview))[f"{SERVICE}-ingress"]
    assert ingress["podSelector"] == {"matchLabels": EXPORTER_LABELS}
    assert ingress["policyTypes"] == ["Ingress"]
    assert ingress["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ],
            "ports": [{"protocol": "TCP", "port": PORT}],
        }
    ]


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_exporter_reaches_dns_each_service_port_and_https_only(env: str, preview: bool) -> None:
    egress = policies(render(env, preview=preview))[f"{SERVICE}-egress"]
    assert egress["podSelector"] == {"matchLabels": EXPORTER_LABELS}
    assert egress["policyTypes"] == ["Egress"]
    dns, *to_services, https = egress["egress"]
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert sorted(p["port"] for p in dns["ports"]) == [53, 53]
    assert len(to_services) == len(SERVICES)
    for rule, svc in zip(to_services, SERVICES, strict=True):
        (peer,) = rule["to"]
        assert peer["namespaceSelector"] == {
            "matchLabels": {"kubernetes.io/metadata.name": svc.name}
        }
        # The exact labels the service's pods carry, on the exact port the probe targets.
        pod_labels = pod_template(svc, {"app.kubernetes.io/name": svc.name})["metadata"]["labels"]
        assert all(pod_labels.get(k) == v for k, v in peer["podSelector"]["matchLabels"].items())
        assert rule["ports"] == [{"protocol": "TCP", "port": svc.port}]
    assert https == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    }


def delivery_args(svc: ServiceSpec, prober_namespace: str) -> ServiceDeliveryArgs:
    return ServiceDeliveryArgs(
        service=svc,
        environment="prod",
        role_arn="arn:aws:iam::123456789012:role/svc",
        certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/x",
        vpc_cidr="10.0.0.0/16",
        prometheus_url="http://prometheus:9090",
        prober_namespace=prober_namespace,
    )


@pytest.mark.parametrize("svc", SERVICES, ids=lambda s: s.name)
def test_each_service_namespace_admits_the_exporter_on_the_service_port(svc: ServiceSpec) -> None:
    found = {p["metadata"]["name"]: p for p in network_policies(delivery_args(svc, NAMESPACE), {})}
    allow = found[f"{svc.name}-allow-probes"]
    assert allow["metadata"]["namespace"] == svc.name
    assert allow["spec"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": svc.name}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}
                        },
                        "podSelector": {"matchLabels": EXPORTER_LABELS},
                    }
                ],
                "ports": [{"protocol": "TCP", "port": svc.port}],
            }
        ],
    }
    # The exporter's pods carry the labels the policy admits.
    pod_labels = exporter_pod(helm_values("prod"))["metadata"]["labels"]
    assert all(pod_labels.get(k) == v for k, v in EXPORTER_LABELS.items())
    # Without a prober, no such policy.
    assert not [
        p for p in network_policies(delivery_args(svc, ""), {}) if "probes" in p["metadata"]["name"]
    ]


# ---- the real stacks ------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_probes_its_services(stack: str, stacks: StackRenders) -> None:
    graph = stacks.graph(stack)
    values = stack_values(stack)
    services = parse_services(stack, values["ttbt2:services"])
    assert services, "the stack files deliver services"
    found = probes(graph)
    assert found[DEPENDENCIES_JOB]["targets"]["staticConfig"]["static"] == [
        f"http://{s.name}.{s.name}.svc:{s.port}{s.health_path}" for s in services
    ]
    uptime = found[UPTIME_JOB]["targets"]["staticConfig"]["static"]
    for url, svc in zip(uptime, services, strict=True):
        assert url.startswith("https://") and url.endswith(svc.health_path)
        host = url.removeprefix("https://").removesuffix(svc.health_path)
        if "ttbt2:cdnDomain" in values:
            assert host == values["ttbt2:cdnDomain"]
        else:  # CloudFront's own name
            assert host.endswith(".cloudfront.net")
    for svc in services:
        allow = [
            r
            for r in of_type(graph, NETWORK_POLICY)
            if r.props["metadata"]["name"] == f"{svc.name}-allow-probes"
        ]
        assert len(allow) == 1
        assert allow[0].props["metadata"]["namespace"] == svc.name
