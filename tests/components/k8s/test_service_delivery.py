"""ServiceDelivery rendered on the mock engine: Argo Rollouts canary, ALB, scaling, isolation.

Custom resources are checked against the vendored CRDs (Argo Rollouts, VPA, prometheus-operator),
core objects against the Kubernetes 1.33 schemas, the analysis PromQL with ``promtool``. Each
test reads a first preview (the IRSA role and certificate ARNs unknown) and an update.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.delivery.rollback import (
    ABORT_SCALE_DOWN_DELAY_SECONDS,
    DEREGISTRATION_DELAY_SECONDS,
    QUERY_TIMEOUT_SECONDS,
    SCRAPE_INTERVAL_SECONDS,
)
from components.delivery.spec import ServiceSpec, parse_services
from components.k8s.alb import AlbGroup
from components.k8s.pod_security import container_security_context, pod_security_context
from components.k8s.service_delivery import (
    SECRET_MOUNT_ROOT,
    ServiceDelivery,
    ServiceDeliveryArgs,
    analysis_queries,
    build_manifests,
    prometheus_url,
)
from components.monitoring.alerts import RECORDING_RULES
from offline.engine import run_program
from offline.evaluate import evaluate
from offline.graph import UNKNOWN, Resource, StackGraph
from policies.ttbt2_policies import ingress as ingress_policies
from policies.ttbt2_policies.metric_catalog import METRIC_FAMILIES_ANNOTATION
from tests.conftest import ROOT
from tests.support.validate.crds import validate_custom_resource

K8S_VERSION = "1.33"
CHARTS = ROOT / "vendor" / "charts"
CRD_DIRS = [CHARTS / c / "crds" for c in ("argo-rollouts", "vertical-pod-autoscaler")] + [
    CHARTS / "kube-prometheus-stack" / "crds"
]
VPC_CIDR = "10.10.0.0/16"
PROMETHEUS = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
PROMTOOL = shutil.which("promtool")
MODES = pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
CUSTOM_KINDS = {"Rollout", "AnalysisTemplate", "VerticalPodAutoscaler", "ServiceMonitor"}

RAW: list[dict[str, Any]] = [
    {
        "name": "api",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ttbt2/api@sha256:" + "a" * 64,
        "port": 8080,
        "healthPath": "/api/healthz",
        "publicPaths": ["/api", "/v2/api"],
        "minReplicas": 3,
        "maxReplicas": 12,
        "targetCpuUtilization": 65,
        "resources": {
            "requests": {"cpu": "500m", "memory": "512Mi"},
            "limits": {"cpu": "2", "memory": "1Gi"},
        },
        "canary": {
            "steps": [
                {"setWeight": 5},
                {"pauseSeconds": 30},
                {"setWeight": 25},
                {"pauseUntilPromoted": True},
                {"setWeight": 50},
            ],
            "analysis": {
                "intervalSeconds": 30,
                "failureLimit": 1,
                "initialDelaySeconds": 20,
                "startingStep": 1,
            },
        },
        "slo": {"successRate": 0.995, "p95LatencyMs": 750},
    },
    {"name": "worker", "image": "ttbt2/worker:3.1.0", "port": 9000, "publicPaths": []},
]
API, WORKER = parse_services("staging", RAW)
ENVIRONMENTS = {"api": "prod", "worker": "dev"}
SECRETS = {"api": ("api-config", "api-db"), "worker": ()}
"""api reads two Vault-synced Secrets; worker none."""
PREFIX_LIST = "pl-4fa04526"
ORIGIN_ACL = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/ttbt2-prod-edge-origin/1"
"""api is public behind CloudFront (as in prod); worker gets no ALB description: internal."""


def render(preview: bool) -> StackGraph:
    """Both services (api as in prod, worker as in dev) with the caller's role and certificate."""

    def program() -> None:
        cloud = aws.Provider("aws", region="eu-west-1")
        cluster = k8s.Provider("k8s", kubeconfig="{}")
        on_aws = pulumi.ResourceOptions(provider=cloud)
        certificate = aws.acm.Certificate(
            "edge-cert", domain_name="api.ttbt2.example", validation_method="DNS", opts=on_aws
        )
        crds = k8s.core.v1.ConfigMap(
            "crds-installed", opts=pulumi.ResourceOptions(provider=cluster)
        )
        logs = aws.s3.Bucket("logs", bucket="ttbt2-prod-logs-1", opts=on_aws)
        public = AlbGroup(
            name="ttbt2-prod",
            log_bucket=logs.bucket,
            deletion_protection=True,
            prefix_list_id=PREFIX_LIST,
            web_acl_arn=ORIGIN_ACL,
        )
        for svc in (API, WORKER):
            role = aws.iam.Role(
                f"{svc.name}-irsa", assume_role_policy=json.dumps({"Statement": []}), opts=on_aws
            )
            delivery = ServiceDelivery(
                svc.name,
                ServiceDeliveryArgs(
                    service=svc,
                    environment=ENVIRONMENTS[svc.name],
                    role_arn=role.arn,
                    certificate_arn=certificate.arn,
                    vpc_cidr=VPC_CIDR,
                    prometheus_url=prometheus_url(),
                    crd_dependencies=[crds],
                    secrets=SECRETS[svc.name],
                    alb=public if svc is API else None,
                ),
                opts=pulumi.ResourceOptions(providers={"kubernetes": cluster}),
            )
            pulumi.export(f"{svc.name}Namespace", delivery.namespace)
            pulumi.export(f"{svc.name}Rollout", delivery.rollout_name)
            pulumi.export(f"{svc.name}RoleArn", role.arn)
        pulumi.export("certificateArn", certificate.arn)

    return run_program(program, project="t", stack="unit", preview=preview)


_graphs: dict[bool, StackGraph] = {}


def graph(preview: bool) -> StackGraph:
    if preview not in _graphs:
        _graphs[preview] = render(preview)
    return _graphs[preview]


def kube(g: StackGraph, service: str = "") -> list[Resource]:
    """Kubernetes objects registered by the ServiceDelivery components (of one service)."""
    components = {r.urn for r in g.resources if r.type == "ttbt2:k8s:ServiceDelivery"}
    found = [r for r in g.resources if r.parent in components]
    if service:
        found = [r for r in found if as_object(r)["metadata"].get("namespace", service) == service]
        found = [r for r in found if r.name.startswith(f"{service}-")]
    return found


def as_object(res: Resource) -> dict[str, Any]:
    """The object as the API server would receive it."""
    props = copy.deepcopy(res.props)
    if "apiVersion" not in props:  # typed core resources: type token -> apiVersion/kind
        group_version, kind = res.type.removeprefix("kubernetes:").split(":")
        group, version = group_version.split("/")
        props = {"apiVersion": version if group == "core" else group_version, "kind": kind, **props}
    return props


def obj(g: StackGraph, service: str, kind: str, name: str = "") -> dict[str, Any]:
    found = [
        as_object(r)
        for r in kube(g, service)
        if as_object(r)["kind"] == kind and as_object(r)["metadata"]["name"] == (name or service)
    ]
    assert len(found) == 1, f"expected one {kind} {name or service}, got {len(found)}"
    return found[0]


def pod_spec(g: StackGraph, service: str) -> dict[str, Any]:
    spec: dict[str, Any] = obj(g, service, "Rollout")["spec"]["template"]["spec"]
    return spec


# ---- structure -------------------------------------------------------------------------------


@MODES
def test_each_service_registers_its_objects_under_the_component_with_the_passed_provider(
    preview: bool,
) -> None:
    g = graph(preview)
    for service in ("api", "worker"):
        kinds = sorted(as_object(r)["kind"] for r in kube(g, service))
        assert kinds == sorted(
            [
                "AnalysisTemplate",
                "HorizontalPodAutoscaler",
                "Ingress",
                "Namespace",
                *["NetworkPolicy"] * 3,
                "PodDisruptionBudget",
                "Rollout",
                "ServiceAccount",
                *["Service"] * 3,
                "ServiceMonitor",
                "VerticalPodAutoscaler",
            ]
        )
        for res in kube(g, service):
            assert res.provider and "pulumi:providers:kubernetes::k8s::" in res.provider
            kind = as_object(res)["kind"]
            if kind in CUSTOM_KINDS:
                assert res.type == f"kubernetes:{as_object(res)['apiVersion']}:{kind}"
            if kind != "Namespace":
                assert as_object(res)["metadata"]["namespace"] == service


@MODES
def test_outputs_name_the_namespace_and_rollout(preview: bool) -> None:
    out = {k: v["value"] for k, v in graph(preview).outputs.items()}
    assert (out["apiNamespace"], out["apiRollout"]) == ("api", "api")
    assert (out["workerNamespace"], out["workerRollout"]) == ("worker", "worker")


@MODES
def test_objects_wait_for_the_namespace_and_custom_resources_for_their_crds(
    preview: bool,
) -> None:
    g = graph(preview)
    crds = next(r for r in g.resources if r.name == "crds-installed").urn
    for service in ("api", "worker"):
        resources = kube(g, service)
        namespace = next(r for r in resources if as_object(r)["kind"] == "Namespace").urn
        by_kind: dict[str, list[str]] = {}
        for res in resources:
            by_kind.setdefault(as_object(res)["kind"], []).append(res.urn)
        for res in resources:
            kind = as_object(res)["kind"]
            if kind != "Namespace":
                assert namespace in res.dependencies, res.name
            assert (crds in res.dependencies) == (kind in CUSTOM_KINDS), res.name
        rollout = next(r for r in resources if as_object(r)["kind"] == "Rollout")
        for kind in ("Service", "Ingress", "AnalysisTemplate"):
            assert set(by_kind[kind]) <= set(rollout.dependencies), kind


# ---- schemas ---------------------------------------------------------------------------------


@MODES
def test_custom_resources_match_the_vendored_crds_and_broken_copies_do_not(preview: bool) -> None:
    customs = [r for r in kube(graph(preview)) if as_object(r)["kind"] in CUSTOM_KINDS]
    assert len(customs) == 8
    for res in customs:
        manifest = as_object(res)
        assert validate_custom_resource(manifest, CRD_DIRS) == [], res.name
        typo = copy.deepcopy(manifest)
        first = sorted(typo["spec"])[0]
        typo["spec"][first + "x"] = typo["spec"].pop(first)
        assert any("unknown field" in e for e in validate_custom_resource(typo, CRD_DIRS))


def test_a_wrong_pod_template_field_fails_the_rollout_crd() -> None:
    rollout = obj(graph(False), "api", "Rollout")
    rollout["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsUser"] = "root"
    errors = validate_custom_resource(rollout, CRD_DIRS)
    assert errors and "runAsUser" in errors[0]


@MODES
def test_core_objects_pass_the_kubernetes_schema(preview: bool) -> None:
    core = [r for r in kube(graph(preview)) if as_object(r)["kind"] not in CUSTOM_KINDS]
    assert len(core) == 2 * 11
    for res in core:
        manifest = as_object(res)
        assert kubernetes_validate.validate(manifest, K8S_VERSION, strict=True) == K8S_VERSION
        broken = copy.deepcopy(manifest)
        broken["metadata"]["lables"] = broken["metadata"].pop("labels")
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_the_pod_template_passes_the_kubernetes_pod_schema() -> None:
    template = obj(graph(False), "api", "Rollout")["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod", **template}
    assert kubernetes_validate.validate(pod, K8S_VERSION, strict=True) == K8S_VERSION


def test_plain_manifests_equal_what_is_registered() -> None:
    args = ServiceDeliveryArgs(
        service=WORKER,
        environment="dev",
        role_arn="arn:aws:iam::123456789012:role/worker",
        certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/c",
        vpc_cidr=VPC_CIDR,
        prometheus_url=PROMETHEUS,
    )
    manifests = build_manifests(args)
    g = graph(False)
    registered = {
        (as_object(r)["kind"], as_object(r)["metadata"]["name"]): as_object(r)
        for r in kube(g, "worker")
    }
    assert len(manifests) == len(registered)
    for manifest in manifests:
        got = registered[(manifest["kind"], manifest["metadata"]["name"])]
        if manifest["kind"] in ("ServiceAccount", "Ingress"):
            continue  # they hold the mocked role and certificate ARNs
        assert got == manifest, manifest["kind"]


# ---- Rollout and analysis --------------------------------------------------------------------


@MODES
def test_rollout_runs_the_configured_canary_through_the_alb(preview: bool) -> None:
    rollout = obj(graph(preview), "api", "Rollout")["spec"]
    assert "replicas" not in rollout  # the HPA owns the count
    assert rollout["progressDeadlineAbort"] is True
    canary = rollout["strategy"]["canary"]
    assert canary["stableService"] == "api-stable" and canary["canaryService"] == "api-canary"
    assert canary["abortScaleDownDelaySeconds"] == ABORT_SCALE_DOWN_DELAY_SECONDS
    assert canary["trafficRouting"] == {
        "alb": {"ingress": "api", "rootService": "api", "servicePort": 8080}
    }
    assert canary["steps"] == [
        {"setWeight": 5},
        {"pause": {"duration": 30}},
        {"setWeight": 25},
        {"pause": {}},
        {"setWeight": 50},
    ]
    assert canary["analysis"] == {
        "templates": [{"templateName": "api-slo"}],
        "startingStep": 1,
        "args": [{"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}],
    }
    g = graph(preview)
    for name in ("api", "api-stable", "api-canary"):
        service = obj(g, "api", "Service", name)
        assert service["spec"]["ports"][0]["port"] == 8080
        assert service["spec"]["selector"] == rollout["selector"]["matchLabels"]
    obj(g, "api", "AnalysisTemplate", "api-slo")


@MODES
def test_analysis_template_checks_the_slo_at_the_configured_pace(preview: bool) -> None:
    template = obj(graph(preview), "api", "AnalysisTemplate", "api-slo")["spec"]
    assert template["args"] == [{"name": "canary-hash"}]
    metrics = {m["name"]: m for m in template["metrics"]}
    assert set(metrics) == {"success-rate", "p95-latency"}
    for metric in metrics.values():
        assert metric["interval"] == "30s" and metric["initialDelay"] == "20s"
        assert metric["failureLimit"] == 1 and metric["consecutiveErrorLimit"] == 1
        assert "failureCondition" not in metric  # a miss is Failed (abort), not Inconclusive
        prometheus = metric["provider"]["prometheus"]
        assert prometheus["address"] == PROMETHEUS
        assert prometheus["timeout"] == QUERY_TIMEOUT_SECONDS
        assert 'rollouts_pod_template_hash="{{args.canary-hash}}"' in prometheus["query"]
        assert 'service="api"' in prometheus["query"]
    assert metrics["success-rate"]["successCondition"].endswith("result[0] >= 0.995")
    assert metrics["p95-latency"]["successCondition"].endswith("result[0] <= 0.75")
    assert 'status!~"5.."' in metrics["success-rate"]["provider"]["prometheus"]["query"]


def test_analysis_uses_the_http_metrics_the_platform_records() -> None:
    recorded = " ".join(rule.expr for rule in RECORDING_RULES)
    for query in analysis_queries(API).values():
        for metric in re.findall(r"http_server_requests_seconds_\w+", query):
            assert metric in recorded


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not on PATH")
def test_analysis_queries_are_valid_promql(tmp_path: Path) -> None:
    def check(queries: dict[str, str]) -> subprocess.CompletedProcess[str]:
        rules = [{"record": f"canary:{n.replace('-', '_')}", "expr": q} for n, q in queries.items()]
        path = tmp_path / "rules.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "canary", "rules": rules}]}))
        assert PROMTOOL is not None
        return subprocess.run(
            [PROMTOOL, "check", "rules", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    for svc in (API, WORKER):
        result = check(analysis_queries(svc))
        assert result.returncode == 0, result.stdout + result.stderr
    # The check is real: a broken query fails.
    broken = {"x": analysis_queries(API)["success-rate"].replace("sum(", "sum((", 1)}
    assert check(broken).returncode != 0


# ---- traffic ---------------------------------------------------------------------------------


@MODES
def test_ingress_is_https_only_on_ip_targets_with_the_certificate(preview: bool) -> None:
    g = graph(preview)
    ingress = obj(g, "api", "Ingress")
    notes = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert notes["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert json.loads(notes["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTPS": 443}]
    assert notes["alb.ingress.kubernetes.io/ssl-policy"].startswith("ELBSecurityPolicy-TLS13")
    assert notes["alb.ingress.kubernetes.io/healthcheck-path"] == "/api/healthz"
    assert notes["alb.ingress.kubernetes.io/group.name"] == "ttbt2-prod"
    assert notes["alb.ingress.kubernetes.io/target-group-attributes"] == (
        f"deregistration_delay.timeout_seconds={DEREGISTRATION_DELAY_SECONDS}"
    )
    certificate = g.outputs["certificateArn"]["value"]
    assert notes["alb.ingress.kubernetes.io/certificate-arn"] == (
        UNKNOWN if preview else certificate
    )
    [rule] = ingress["spec"]["rules"]
    paths = rule["http"]["paths"]
    assert [p["path"] for p in paths] == ["/api", "/v2/api", "/api/healthz"]
    for path in paths:
        assert path["pathType"] == "Prefix"
        assert path["backend"] == {"service": {"name": "api", "port": {"name": "use-annotation"}}}
    assert "tls" not in ingress["spec"]  # TLS ends on the ALB listener, with the ACM cert


@MODES
def test_a_public_ingress_admits_cloudfront_only_behind_the_origin_web_acl(
    preview: bool,
) -> None:
    g = graph(preview)
    notes = obj(g, "api", "Ingress")["metadata"]["annotations"]
    a = "alb.ingress.kubernetes.io/"
    assert notes[f"{a}scheme"] == "internet-facing"
    assert notes[f"{a}security-group-prefix-lists"] == PREFIX_LIST
    assert notes[f"{a}wafv2-acl-arn"] == ORIGIN_ACL
    # Without inbound-cidrs the controller admits the prefix list alone, not 0.0.0.0/0.
    assert f"{a}inbound-cidrs" not in notes
    # The bucket's name is an input, known at preview already.
    assert notes[f"{a}load-balancer-attributes"] == (
        "access_logs.s3.enabled=true,access_logs.s3.bucket=ttbt2-prod-logs-1,"
        "access_logs.s3.prefix=alb/ttbt2-prod,deletion_protection.enabled=true"
    )
    if not preview:
        # The test stack counts as production, so deletion protection is asked too.
        production = {p.name: {"productionStacks": ["unit"]} for p in ingress_policies.POLICIES}
        found = evaluate(g, ingress_policies.POLICIES, config=production)
        assert [f.message for f in found if f.kind == "violation"] == []
        assert {f.policy for f in found} == set(), found


@MODES
def test_without_an_alb_the_ingress_is_internal_to_the_vpc(preview: bool) -> None:
    """A service is never published without a restriction: no description, no internet."""
    notes = obj(graph(preview), "worker", "Ingress")["metadata"]["annotations"]
    a = "alb.ingress.kubernetes.io/"
    assert notes[f"{a}scheme"] == "internal"
    assert notes[f"{a}inbound-cidrs"] == VPC_CIDR
    assert notes[f"{a}group.name"] == "ttbt2-dev"
    assert not {f"{a}security-group-prefix-lists", f"{a}wafv2-acl-arn"} & set(notes)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prefix_list_id": "pl-1"}, "needs both"),
        ({"web_acl_arn": ORIGIN_ACL}, "needs both"),
        (
            {"prefix_list_id": "pl-1", "web_acl_arn": ORIGIN_ACL, "inbound_cidrs": ("1.0.0.0/8",)},
            "CloudFront only",
        ),
        ({}, "needs inbound_cidrs"),
    ],
)
def test_an_alb_group_is_either_public_or_internal(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AlbGroup(name="g", **fields)


def test_the_group_name_comes_from_the_alb_description() -> None:
    public = AlbGroup(name="edge", prefix_list_id="pl-1", web_acl_arn=ORIGIN_ACL)
    with pytest.raises(ValueError, match="differs"):
        ServiceDeliveryArgs(
            service=API,
            environment="prod",
            role_arn="r",
            certificate_arn="c",
            vpc_cidr=VPC_CIDR,
            prometheus_url=PROMETHEUS,
            alb_group="other",
            alb=public,
        )


# ---- pods ------------------------------------------------------------------------------------


@MODES
def test_pods_are_restricted_and_use_the_irsa_service_account(preview: bool) -> None:
    g = graph(preview)
    namespace = obj(g, "api", "Namespace")
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    account = obj(g, "api", "ServiceAccount")
    role = g.outputs["apiRoleArn"]["value"]
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": UNKNOWN if preview else role
    }
    assert account["automountServiceAccountToken"] is False
    pod = pod_spec(g, "api")
    assert pod["serviceAccountName"] == "api"
    assert pod["automountServiceAccountToken"] is False
    assert not any(pod[k] for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert pod["securityContext"] == pod_security_context()
    [container] = pod["containers"]
    assert container["securityContext"] == container_security_context()
    assert container["image"] == API.image
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/healthz"
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


@MODES
def test_secrets_are_read_only_files_and_only_those_declared(preview: bool) -> None:
    """Each declared Secret is a read-only volume at its own path; none leaks into the env."""
    g = graph(preview)
    for service, secrets in SECRETS.items():
        pod = pod_spec(g, service)
        [container] = pod["containers"]
        secret_volumes = {v["name"]: v["secret"] for v in pod["volumes"] if "secret" in v}
        assert secret_volumes == {
            name: {"secretName": name, "defaultMode": 0o440} for name in secrets
        }
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts.pop("tmp")["mountPath"] == "/tmp"
        assert mounts == {
            name: {"name": name, "mountPath": f"{SECRET_MOUNT_ROOT}/{name}", "readOnly": True}
            for name in secrets
        }
        assert "env" not in container and "envFrom" not in container


# ---- scaling ---------------------------------------------------------------------------------


@MODES
def test_hpa_and_vpa_target_the_rollout(preview: bool) -> None:
    g = graph(preview)
    target = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout"}
    hpa = obj(g, "api", "HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"] == {**target, "name": "api"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    assert hpa["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 65,
    }
    # prod: recommendations only.
    vpa = obj(g, "api", "VerticalPodAutoscaler")["spec"]
    assert vpa["targetRef"] == {**target, "name": "api"}
    assert vpa["updatePolicy"]["updateMode"] == "Off"
    # elsewhere: memory only, so it never moves the CPU request the HPA divides by.
    vpa = obj(g, "worker", "VerticalPodAutoscaler")["spec"]
    assert vpa["updatePolicy"]["updateMode"] == "Recreate"
    [policy] = vpa["resourcePolicy"]["containerPolicies"]
    assert policy["controlledResources"] == ["memory"]
    pdb = obj(g, "api", "PodDisruptionBudget")["spec"]
    assert pdb["maxUnavailable"] == 1
    assert pdb["selector"]["matchLabels"] == {"app.kubernetes.io/name": "api"}


# ---- network ---------------------------------------------------------------------------------


@MODES
def test_network_is_default_deny_with_only_the_needed_allows(preview: bool) -> None:
    g = graph(preview)
    deny = obj(g, "worker", "NetworkPolicy", "worker-default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    ingress = obj(g, "worker", "NetworkPolicy", "worker-allow-ingress")["spec"]["ingress"]
    assert ingress == [
        {"from": [{"ipBlock": {"cidr": VPC_CIDR}}], "ports": [{"protocol": "TCP", "port": 9000}]},
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ],
            "ports": [{"protocol": "TCP", "port": 9000}],
        },
    ]
    dns, database, https = obj(g, "worker", "NetworkPolicy", "worker-allow-egress")["spec"][
        "egress"
    ]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }
    assert {p["port"] for p in dns["ports"]} == {53}
    assert database == {
        "to": [{"ipBlock": {"cidr": VPC_CIDR}}],
        "ports": [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 6379}],
    }
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    assert "169.254.169.254/32" in https["to"][0]["ipBlock"]["except"]


# ---- monitoring ------------------------------------------------------------------------------


@MODES
def test_service_monitor_scrapes_each_pod_once_through_the_root_service(preview: bool) -> None:
    g = graph(preview)
    monitor = obj(g, "api", "ServiceMonitor")["spec"]
    selected = [
        s["metadata"]["name"]
        for s in (as_object(r) for r in kube(g, "api"))
        if s["kind"] == "Service"
        and monitor["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
    ]
    assert selected == ["api"]  # root only: stable and canary would scrape pods twice
    assert monitor["podTargetLabels"] == ["rollouts-pod-template-hash"]
    [endpoint] = monitor["endpoints"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    assert endpoint["interval"] == f"{SCRAPE_INTERVAL_SECONDS}s"


@MODES
def test_service_monitor_carries_the_declared_metric_families(preview: bool) -> None:
    """The metric-provenance policy reads what the service exposes from this annotation."""
    annotations = obj(graph(preview), "api", "ServiceMonitor")["metadata"]["annotations"]
    declared = json.loads(annotations[METRIC_FAMILIES_ANNOTATION])
    assert declared == [{"name": m.name, "type": m.type} for m in API.metrics]
    assert {"name": "http_server_requests_seconds", "type": "histogram"} in declared


def test_prometheus_url_is_the_kube_prometheus_stack_service() -> None:
    assert prometheus_url() == PROMETHEUS
    assert ServiceSpec.model_fields["metrics_path"].default == "/metrics"


@MODES
def test_with_gitops_the_rollout_is_left_to_argo_cd(preview: bool) -> None:
    """Argo CD applies the Rollout from the config repository; the rest stays with Pulumi."""

    def program() -> None:
        cluster = k8s.Provider("k8s", kubeconfig="{}")
        delivery = ServiceDelivery(
            API.name,
            ServiceDeliveryArgs(
                service=API,
                environment="prod",
                role_arn="arn:aws:iam::123456789012:role/api",
                certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/x",
                vpc_cidr=VPC_CIDR,
                prometheus_url=prometheus_url(),
                rollout_by_gitops=True,
            ),
            opts=pulumi.ResourceOptions(providers={"kubernetes": cluster}),
        )
        assert any(m["kind"] == "Rollout" for m in delivery.manifests)
        pulumi.export("rollout", delivery.rollout_name)

    g = run_program(program, project="t", stack="unit", preview=preview)
    kinds = [as_object(r)["kind"] for r in kube(g, API.name)]
    assert "Rollout" not in kinds
    assert {"AnalysisTemplate", "HorizontalPodAutoscaler", "Ingress", "Namespace"} <= set(kinds)
    assert g.outputs["rollout"]["value"] == API.name
