"""The Pushgateway for deployment events, rendered on the mock engine."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.k8s.pushgateway import (
    IMAGE,
    PORT,
    ROUTE_PREFIX,
    Pushgateway,
    PushgatewayArgs,
    ingress_spec,
)
from offline.engine import run_program
from offline.evaluate import evaluate
from offline.graph import StackGraph
from policies.ttbt2_policies import ingress as ingress_policies
from policies.ttbt2_policies import kubernetes as k8s_policies
from tests.conftest import ROOT, one
from tests.support.validate.crds import validate_custom_resource

CRDS = [ROOT / "vendor" / "charts" / "kube-prometheus-stack" / "crds"]
ARGS = PushgatewayArgs(
    environment="staging",
    pusher_security_group_id="sg-0runners0000000001",
    certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/x",
    vpc_cidr="10.20.0.0/16",
    alb_group="ttbt2-staging-pushgateway",
    log_bucket="ttbt2-staging-logs-1",
    deletion_protection=True,
)


def render() -> StackGraph:
    def program() -> None:
        cluster = k8s.Provider("k8s", kubeconfig="{}")
        Pushgateway("gw", ARGS, opts=pulumi.ResourceOptions(providers={"kubernetes": cluster}))

    return run_program(program, project="t", stack="unit", preview=False)


GRAPH = render()


def core(token: str, api_version: str) -> dict[str, Any]:
    res = one(GRAPH, token)
    return {"apiVersion": api_version, "kind": token.rsplit(":", 1)[1], **res.props}


@pytest.mark.parametrize(
    ("token", "api_version"),
    [
        ("kubernetes:apps/v1:Deployment", "apps/v1"),
        ("kubernetes:core/v1:Service", "v1"),
        ("kubernetes:core/v1:PersistentVolumeClaim", "v1"),
        ("kubernetes:networking.k8s.io/v1:Ingress", "networking.k8s.io/v1"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "networking.k8s.io/v1"),
    ],
)
def test_core_objects_pass_the_kubernetes_schema(token: str, api_version: str) -> None:
    kubernetes_validate.validate(core(token, api_version), "1.33", strict=True)


def test_service_monitor_matches_the_crd_and_honours_the_pipeline_labels() -> None:
    monitor = one(GRAPH, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor").props
    assert validate_custom_resource(monitor, CRDS) == []
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["honorLabels"] is True
    assert endpoint["path"] == f"{ROUTE_PREFIX}/metrics"
    # Prometheus scrapes without a credential: the NetworkPolicy names it instead.
    assert "basicAuth" not in endpoint


def test_gateway_holds_no_static_credential() -> None:
    """No password file, no Secret: admission is by network identity (seed 4.9.1)."""
    spec = one(GRAPH, "kubernetes:apps/v1:Deployment").props["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["image"] == IMAGE
    assert not any(a.startswith("--web.config.file") for a in container["args"])
    assert f"--web.route-prefix={ROUTE_PREFIX}" in container["args"]
    assert [v["name"] for v in spec["volumes"]] == ["data"]
    assert not [r for r in GRAPH.resources if r.type == "kubernetes:core/v1:Secret"]


def test_its_own_policy_admits_the_load_balancer_and_prometheus() -> None:
    policy = one(GRAPH, "kubernetes:networking.k8s.io/v1:NetworkPolicy").props["spec"]
    (rule,) = policy["ingress"]
    assert rule["from"] == [
        {"ipBlock": {"cidr": "10.20.0.0/16"}},
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}},
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": PORT}]


def test_published_over_https_under_its_prefix_only() -> None:
    ingress = one(GRAPH, "kubernetes:networking.k8s.io/v1:Ingress").props
    notes = ingress["metadata"]["annotations"]
    assert notes["alb.ingress.kubernetes.io/listen-ports"] == '[{"HTTPS": 443}]'
    assert notes["alb.ingress.kubernetes.io/group.name"] == "ttbt2-staging-pushgateway"
    (rule,) = ingress["spec"]["rules"]
    assert "host" not in rule  # its load balancer serves nothing else
    (path,) = rule["http"]["paths"]
    assert path["path"] == ROUTE_PREFIX and path["backend"]["service"]["port"]["number"] == PORT
    policy = one(GRAPH, "kubernetes:networking.k8s.io/v1:NetworkPolicy").props["spec"]
    assert policy["ingress"][0]["from"][0] == {"ipBlock": {"cidr": "10.20.0.0/16"}}


def test_its_load_balancer_is_internal_logged_and_protected() -> None:
    """The pipeline pushes from runners inside the VPC: only their security group gets in."""
    notes = one(GRAPH, "kubernetes:networking.k8s.io/v1:Ingress").props["metadata"]["annotations"]
    assert notes["alb.ingress.kubernetes.io/scheme"] == "internal"
    assert notes["alb.ingress.kubernetes.io/security-groups"] == "sg-0runners0000000001"
    assert notes["alb.ingress.kubernetes.io/manage-backend-security-group-rules"] == "true"
    # With its own group the controller manages no CIDR-based frontend rule.
    assert "alb.ingress.kubernetes.io/inbound-cidrs" not in notes
    assert notes["alb.ingress.kubernetes.io/load-balancer-attributes"] == (
        "access_logs.s3.enabled=true,access_logs.s3.bucket=ttbt2-staging-logs-1,"
        "access_logs.s3.prefix=alb/ttbt2-staging-pushgateway,deletion_protection.enabled=true"
    )
    assert "alb.ingress.kubernetes.io/security-group-prefix-lists" not in notes
    findings = evaluate(GRAPH, ingress_policies.POLICIES)
    assert [f for f in findings if f.kind == "violation"] == []


def test_a_host_keeps_its_rule() -> None:
    spec = ingress_spec(PushgatewayArgs(**{**ARGS.__dict__, "host": "pushgateway.internal"}))
    assert spec["rules"][0]["host"] == "pushgateway.internal"


def test_pod_passes_the_pod_security_guardrails() -> None:
    findings = evaluate(GRAPH, k8s_policies.POLICIES)
    mandatory = [f for f in findings if f.kind == "violation" and f.enforcement == "mandatory"]
    assert mandatory == []


def test_storage_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="storage_gb"):
        PushgatewayArgs(**{**ARGS.__dict__, "storage_gb": 0})
