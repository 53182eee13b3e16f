"""Whole stacks on the mock engine: they render in both modes and differ as designed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from config import SettingsError
from offline.engine import run_stack
from offline.graph import SECRET_SIG, SECRET_SIG_KEY, Resource, StackGraph
from offline.stackfile import load_stack
from policies.ttbt2_policies import ALL_POLICIES
from tests.conftest import ROOT, STACKS, of_type, one, render
from tests.support.stacks import StackRenders

STATEFUL = {"aws:kms/key:Key", "aws:eks/cluster:Cluster"}
NAMESPACE = "kubernetes:core/v1:Namespace"
RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("preview", [True, False], ids=["preview", "update"])
def test_stack_renders_and_every_urn_is_its_own(stack: str, preview: bool) -> None:
    graph = render(stack, preview=preview)
    assert len(graph.resources) > 50
    for res in graph.resources:
        assert res.urn.startswith(f"urn:pulumi:{stack}::ttbt2-platform::"), res.urn


@pytest.mark.parametrize("stack", STACKS)
def test_stack_has_no_mandatory_violation(stack: str, stacks: StackRenders) -> None:
    # The session's evaluation: the CLI's previews of the same stack reuse it.
    findings = stacks.evaluate(render(stack), ALL_POLICIES)
    blocking = [f for f in findings if f.blocking]
    assert not blocking, "\n".join(f"{f.policy}: {f.message} ({f.urn})" for f in blocking)


@pytest.mark.parametrize("stack", STACKS)
def test_every_cloud_resource_has_an_explicit_provider(stack: str) -> None:
    graph = render(stack)
    for res in graph.resources:
        if res.custom and not res.type.startswith("pulumi:providers:"):
            assert res.provider and "pulumi:providers:" in res.provider, res.urn


def test_preview_mode_leaves_computed_outputs_unknown() -> None:
    graph = render("dev", preview=True)
    assert graph.outputs["clusterEndpoint"]["known"] is False
    assert graph.outputs["environment"] == {"value": "dev", "secret": False, "known": True}


def test_kubeconfig_is_exported_as_a_secret() -> None:
    out = render("dev").outputs["kubeconfig"]
    assert out["secret"] is True and out["value"] == "[secret]"


def test_nat_gateways_one_in_dev_one_per_zone_in_prod() -> None:
    assert len(of_type(render("dev"), "aws:ec2/natGateway:NatGateway")) == 1
    assert len(of_type(render("staging"), "aws:ec2/natGateway:NatGateway")) == 1
    prod = of_type(render("prod"), "aws:ec2/natGateway:NatGateway")
    assert len([n for n in prod if "aws-dr" not in (n.provider or "")]) == 3
    # The idle DR network has one.
    assert len([n for n in prod if "aws-dr" in (n.provider or "")]) == 1


def primary_region(resources: list[Resource]) -> list[Resource]:
    """Resources of the primary region (not the DR region's pilot light)."""
    return [r for r in resources if "aws-dr" not in (r.provider or "")]


def test_subnets_span_the_configured_zones() -> None:
    for stack, zones in (("dev", 2), ("staging", 2), ("prod", 3)):
        subnets = primary_region(of_type(render(stack), "aws:ec2/subnet:Subnet"))
        assert len(subnets) == 3 * zones
        assert {s.props["tags"]["tier"] for s in subnets} == {"public", "private", "isolated"}


def test_dev_nodes_live_in_one_zone_prod_nodes_in_all() -> None:
    dev = one(render("dev"), "aws:eks/nodeGroup:NodeGroup", "workloads")
    prod = one(render("prod"), "aws:eks/nodeGroup:NodeGroup", "workloads")
    assert len(dev.props["subnetIds"]) == 1
    assert len(prod.props["subnetIds"]) == 3


def test_capacity_and_size_follow_the_environment() -> None:
    dev = one(render("dev"), "aws:eks/nodeGroup:NodeGroup", "workloads")
    prod = one(render("prod"), "aws:eks/nodeGroup:NodeGroup", "workloads")
    assert dev.props["capacityType"] == "SPOT"
    assert prod.props["capacityType"] == "ON_DEMAND"
    assert prod.props["scalingConfig"]["minSize"] >= 3
    assert prod.props["amiType"] == "AL2023_ARM_64_STANDARD"
    assert dev.props["amiType"] == "AL2023_x86_64_STANDARD"


def test_stateful_resources_are_protected_in_prod_only() -> None:
    for stack, expected in (("dev", False), ("staging", False), ("prod", True)):
        stateful = [r for r in render(stack).resources if r.type in STATEFUL]
        assert stateful
        assert all(bool(r.option("protect")) is expected for r in stateful), stack
    cluster = one(render("prod"), "aws:eks/cluster:Cluster")
    assert cluster.props["deletionProtection"] is True


def test_access_entries_follow_seed_4_2() -> None:
    def groups(stack: str) -> set[str]:
        return {
            r.props["tags"]["group"]
            for r in of_type(render(stack), "aws:eks/accessEntry:AccessEntry")
        }

    assert groups("dev") == {"developers", "sre"}
    assert groups("staging") == {"qa", "stakeholders", "sre"}
    assert groups("prod") == {"sre"}
    stakeholders = [
        r
        for r in of_type(
            render("staging"), "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
        )
        if "stakeholders" in r.name
    ]
    assert [r.props["policyArn"].rsplit("/", 1)[1] for r in stakeholders] == ["AmazonEKSViewPolicy"]
    # The shared namespace and each service's own, as the stack file declares the services.
    config = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())["config"]
    services = [s["name"] for s in config["ttbt2:services"]]
    assert services, "staging declares services"
    expected = {"type": "namespace", "namespaces": ["ttbt2", *services]}
    for grant in of_type(
        render("staging"), "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
    ):
        if "stakeholders" in grant.name or "qa" in grant.name:
            assert grant.props["accessScope"] == expected, grant.name


def test_tags_on_every_taggable_resource() -> None:
    required = {"environment", "owner", "cost-center", "managed-by"}
    for stack in STACKS:
        for res in render(stack).resources:
            if res.cloud == "aws" and "tags" in res.props:
                assert required <= set(res.props["tags"]), res.urn
                assert res.props["tags"]["environment"] == stack


def test_app_namespace_enforces_restricted_pod_security() -> None:
    ns = one(render("prod"), "kubernetes:core/v1:Namespace", "namespaces-ttbt2")
    labels = ns.props["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns.props["metadata"]["name"] == "ttbt2"


def test_bad_settings_stop_before_any_resource(stack_file: Callable[..., Path]) -> None:
    path = stack_file("broken", base="prod", natGatewayMode="single")
    config = load_stack(ROOT, "broken", path)
    from offline import engine

    recorded: list[object] = []
    original = engine.Recorder

    class Spy(original):  # type: ignore[misc, valid-type]
        def __init__(self, mocks: object) -> None:
            super().__init__(mocks)
            recorded.append(self)

    engine.Recorder = Spy  # type: ignore[misc]
    try:
        with pytest.raises(SettingsError) as info:
            run_stack(ROOT, config, preview=True)
    finally:
        engine.Recorder = original  # type: ignore[misc]
    assert "ttbt2:natGatewayMode" in str(info.value)
    assert recorded and recorded[0].recorded == []  # type: ignore[attr-defined]


def test_json_export_round_trips(tmp_path: Path) -> None:
    from offline.graph import load_graph

    graph = render("staging")
    path = tmp_path / "staging.json"
    graph.write(path)
    loaded = load_graph(path)
    assert loaded.stack == "staging"
    assert [r.urn for r in loaded.resources] == [r.urn for r in graph.resources]
    assert json.loads(path.read_text())["resources"][0]["options"]["protect"] in (True, False)


def test_preview_mode_records_unknowns_as_the_engine_sentinel() -> None:
    from offline.graph import UNKNOWN

    graph = render("dev", preview=True)
    policy = one(graph, "aws:iam/rolePolicy:RolePolicy", "flow-logs")
    assert policy.props["policy"] == UNKNOWN
    assert "pulumi.output" not in json.dumps([r.props for r in graph.resources])


@pytest.mark.parametrize("stack", STACKS)
def test_preview_mode_unknowns_are_notes_not_violations(stack: str, stacks: StackRenders) -> None:
    findings = stacks.evaluate(render(stack, preview=True), ALL_POLICIES)
    assert not [f for f in findings if f.blocking]
    assert any(f.kind == "note" for f in findings)


def test_edge_differs_by_environment() -> None:
    dev = one(render("dev"), "aws:cloudfront/distribution:Distribution").props
    prod_graph = render("prod")
    prod = one(prod_graph, "aws:cloudfront/distribution:Distribution").props
    assert dev["priceClass"] == "PriceClass_100"
    assert dev["viewerCertificate"]["cloudfrontDefaultCertificate"] is True
    assert "aliases" not in dev
    assert prod["priceClass"] == "PriceClass_All"
    assert prod["aliases"] == ["www.ttbt2.example"]
    assert prod["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    cert = one(prod_graph, "aws:acm/certificate:Certificate")
    edge = one(prod_graph, "pulumi:providers:aws", "aws-edge")
    assert edge.props["region"] == "us-east-1"
    assert cert.provider is not None and cert.provider.startswith(edge.urn)
    acl = one(prod_graph, "aws:wafv2/webAcl:WebAcl", "edge-waf")
    limits = [
        r["statement"]["rateBasedStatement"]["limit"]
        for r in acl.props["rules"]
        if "rateBasedStatement" in r["statement"]
    ]
    assert limits == [1000]


def test_api_origin_and_cache_paths_come_from_config() -> None:
    dist = one(render("staging"), "aws:cloudfront/distribution:Distribution").props
    # A secret as a whole: the API origin carries the origin header's value.
    assert SECRET_SIG_KEY in dist["origins"]
    api = [o for o in dist["origins"]["value"] if "customOriginConfig" in o]
    assert [o["domainName"] for o in api] == ["api-origin.staging.ttbt2.example"]
    patterns = sorted(b["pathPattern"] for b in dist["orderedCacheBehaviors"])
    assert patterns == ["/api/public/*", "/assets/*", "/static/*"]


def test_property_dependencies_name_the_input_each_urn_feeds() -> None:
    graph = render("dev")
    vpc = one(graph, "aws:ec2/vpc:Vpc")
    flow = one(graph, "aws:ec2/flowLog:FlowLog")
    assert flow.property_dependencies["vpcId"] == [vpc.urn]
    db = one(graph, "aws:rds/instance:Instance")
    params = one(graph, "aws:rds/parameterGroup:ParameterGroup")
    assert db.property_dependencies["parameterGroupName"] == [params.urn]


def test_vault_is_configured_per_service_and_synced_into_the_cluster() -> None:
    graph = render("staging")
    roles = of_type(graph, "vault:kubernetes/authBackendRole:AuthBackendRole")
    assert [r.props["boundServiceAccountNames"] for r in roles] == [["api"]]
    # api is a delivered service: its account is in its own namespace, not the shared one.
    assert [r.props["boundServiceAccountNamespaces"] for r in roles] == [["api"]]
    connection = one(graph, "vault:database/secretBackendConnection:SecretBackendConnection")
    assert "verify-full" in connection.props["postgresql"]["value"]["connectionUrl"]
    synced = [r for r in graph.resources if r.type.startswith("kubernetes:secrets.hashicorp.com")]
    kinds = sorted(r.props["kind"] for r in synced)
    assert kinds == ["VaultAuth", "VaultConnection", "VaultDynamicSecret", "VaultStaticSecret"]
    api_namespace = one(graph, "kubernetes:core/v1:Namespace", "svc-api-namespace-api")
    for res in synced:
        if res.props["kind"] == "VaultConnection":
            continue
        assert res.props["metadata"]["namespace"] == "api", res.name
        assert res.props["spec"][
            "rolloutRestartTargets" if "Secret" in res.props["kind"] else "method"
        ] in (
            [{"kind": "argo.Rollout", "name": "api"}],
            "kubernetes",
        )
        assert api_namespace.urn in waits_for(graph, res), res.name
    release = one(graph, "kubernetes:helm.sh/v3:Release", "vault-secrets")
    assert release.props["version"] == "1.4.1"
    for res in graph.resources:
        if res.type.startswith("vault:"):
            assert res.provider and "pulumi:providers:vault" in res.provider, res.urn


def waits_for(graph: StackGraph, resource: Resource) -> set[str]:
    """URNs ``resource`` waits for, directly or through what it waits for."""
    by_urn = graph.by_urn()
    seen: set[str] = set()
    todo = [resource.urn]
    while todo:
        current = by_urn.get(todo.pop())
        if current is None:
            continue
        direct = set(current.dependencies)
        for urns in current.property_dependencies.values():
            direct.update(urns)
        todo.extend(direct - seen)
        seen |= direct
    return seen


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespaced_object_waits_for_the_namespace_the_program_creates(stack: str) -> None:
    """A first ``pulumi up`` creates no object before its namespace.

    A component's own depends_on does not hold back its children, so each must carry it.
    """
    graph = render(stack)
    creators: dict[str, Resource] = {}
    for res in graph.resources:
        if res.type == "kubernetes:core/v1:Namespace":
            creators[res.props["metadata"]["name"]] = res
    assert {"ttbt2", "monitoring", "api"} <= set(creators)
    checked = 0
    late: list[str] = []
    for res in graph.resources:
        if not res.custom or not res.type.startswith("kubernetes:") or res.type == NAMESPACE:
            continue
        metadata = res.props.get("metadata")
        namespace = res.props.get("namespace") if res.type == RELEASE else None
        if namespace is None and isinstance(metadata, dict):
            namespace = metadata.get("namespace")
        if not isinstance(namespace, str) or namespace not in creators:
            continue
        checked += 1
        if creators[namespace].urn not in waits_for(graph, res):
            late.append(f"{res.name} (namespace {namespace})")
    assert checked > 50
    assert not late, "created without waiting for their namespace:\n" + "\n".join(late)


@pytest.mark.parametrize(
    ("stack", "prometheus", "alertmanager", "es_nodes", "retention"),
    [("dev", 1, 1, 1, "3d"), ("staging", 1, 1, 3, "15d"), ("prod", 2, 3, 3, "30d")],
)
def test_observability_sized_per_environment(
    stack: str, prometheus: int, alertmanager: int, es_nodes: int, retention: str
) -> None:
    graph = render(stack)
    values = one(graph, "kubernetes:helm.sh/v3:Release", "prometheus-stack").props["values"]
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["replicas"] == prometheus and spec["retention"] == retention
    assert values["alertmanager"]["alertmanagerSpec"]["replicas"] == alertmanager
    es = one(graph, "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch")
    assert sum(n["count"] for n in es.props["spec"]["nodeSets"]) == es_nodes


def test_alert_receiver_credentials_come_from_vault_as_a_mounted_secret() -> None:
    graph = render("prod")
    secret = next(
        r for r in of_type(graph, "kubernetes:core/v1:Secret") if "alertmanager-receivers" in r.name
    )
    data = secret.props["stringData"]
    assert data[SECRET_SIG_KEY] == SECRET_SIG
    assert set(data["value"]) == {"slack-webhook-url", "smtp-password", "sms-gateway-token"}


def test_elasticsearch_snapshots_role_is_limited_to_its_prefix() -> None:
    graph = render("prod")
    policy = json.loads(
        one(graph, "aws:iam/rolePolicy:RolePolicy", "snapshots-elasticsearch").props["policy"]
    )
    objects = next(s for s in policy["Statement"] if s["Sid"] == "ReadWriteOwnPrefix")
    assert objects["Resource"].endswith("/elasticsearch/prod/*")
    listing = next(s for s in policy["Statement"] if s["Sid"] == "ListOwnPrefix")
    assert listing["Condition"]["StringLike"]["s3:prefix"] == [
        "elasticsearch/prod/*",
        "elasticsearch/prod",
    ]
    role = one(graph, "aws:iam/role:Role", "snapshots-elasticsearch")
    trust = json.loads(role.props["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:monitoring:elasticsearch-snapshots" in trust.values()


def test_dev_runs_on_aws_alone_shared_environments_use_three_clouds() -> None:
    assert not [r for r in render("dev").resources if r.cloud in ("gcp", "azure-native")]
    for stack in ("staging", "prod"):
        clouds = {r.cloud for r in render(stack).resources}
        assert {"aws", "gcp", "azure-native"} <= clouds
    graph = render("prod")
    assert not of_type(graph, "gcp:serviceaccount/key:Key")
    credential = one(
        graph, "azure-native:managedidentity:FederatedIdentityCredential", "redundancy"
    ).props
    assert credential["subject"] == "system:serviceaccount:ttbt2:backup-copy"
    assert credential["issuer"].startswith("https://oidc.eks.")
    cronjob = one(graph, "kubernetes:batch/v1:CronJob", "backup-copy").props
    assert cronjob["spec"]["schedule"] == "*/30 * * * *"


def test_report_counts_resources_per_cloud_apart_from_components() -> None:
    from offline.report import counts

    (line,) = [x for x in counts(render("prod")) if "per cloud:" in x]
    per_cloud = dict(item.split() for item in line.split(": ", 1)[1].split("; ")[0].split(", "))
    assert {"aws", "gcp", "azure-native", "kubernetes"} <= set(per_cloud)
    assert "ttbt2" not in per_cloud
    custom = [r for r in render("prod").resources if r.custom and r.cloud == "gcp"]
    assert int(per_cloud["gcp"]) == len(custom)
    assert "components" in line


def test_prod_keeps_a_pilot_light_in_its_dr_region() -> None:
    graph = render("prod")
    replication = one(
        graph,
        "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
    )
    assert "aws-dr" in (replication.provider or "")
    assert replication.props["retentionPeriod"] == 35
    configs = of_type(graph, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    sources = {urn for c in configs for urn in c.property_dependencies["bucket"]}
    # User data, and the backup store (Elasticsearch snapshots, Velero, exports).
    assert any("user-data" in urn for urn in sources)
    assert any("snapshots" in urn for urn in sources)
    assert len(configs) == 2
    assert not of_type(render("dev"), "ttbt2:aws:PilotLight")
