"""``ttbt2:drActive``: the platform brought up in the DR region, only where there is one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config import Problem, SettingsError, parse_raw
from offline.graph import StackGraph, unwrap_secrets
from offline.stackfile import load_stack
from tests.conftest import ROOT, of_type, one, raw_settings, render
from tests.support.stacks import StackRenders

pytestmark = pytest.mark.usefixtures("session_engine")

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
RDS = "aws:rds/instance:Instance"
REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
HELM = "kubernetes:helm.sh/v3:Release"
APPLICATION = "kubernetes:argoproj.io/v1alpha1:Application"


def _problems(stack: str, **changes: Any) -> list[Problem]:
    raw = {**raw_settings(stack), **changes}
    with pytest.raises(SettingsError) as info:
        parse_raw(stack, raw)
    return info.value.problems


def _keys(problems: list[Problem]) -> dict[str, str]:
    return {p.key: p.allowed for p in problems}


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_dr_active_is_refused_without_a_dr_region(stack: str) -> None:
    allowed = _keys(_problems(stack, drActive=True))
    assert "drActive" in allowed
    assert "DR region" in allowed["drActive"] and "drRegion" in allowed["drActive"]


def test_prod_may_set_dr_active() -> None:
    settings = parse_raw("prod", {**raw_settings("prod"), "drActive": True})
    assert settings.recovery.dr_active
    assert not parse_raw("prod", raw_settings("prod")).recovery.dr_active


def test_dr_active_needs_the_dr_origin_and_a_certificate_of_the_dr_region() -> None:
    primary_certificate = raw_settings("prod")["albCertificateArn"]
    allowed = _keys(
        _problems(
            "prod",
            drActive=True,
            drApiOriginHost="",
            drAlbCertificateArn=primary_certificate,
        )
    )
    assert "host name of the DR load balancer" in allowed["drApiOriginHost"]
    assert "eu-central-1" in allowed["drAlbCertificateArn"]


@pytest.fixture
def active(stack_file: Callable[..., Path], stacks: StackRenders) -> StackGraph:
    """The prod stack rendered with ``ttbt2:drActive: true``."""
    path = stack_file("prod", base="prod", drActive=True)
    return stacks.run_stack(ROOT, load_stack(ROOT, "prod", path), preview=False)


def _region(graph: StackGraph, provider_urn: str | None) -> str:
    assert provider_urn is not None
    urn = provider_urn.rsplit("::", 1)[0]
    provider = next(r for r in graph.resources if r.urn == urn)
    return str(provider.props["region"])


def test_the_dr_cluster_exists_only_when_dr_active(active: StackGraph) -> None:
    assert [c.name for c in of_type(render("prod"), CLUSTER)] == ["ttbt2-prod-cluster"]
    dr = one(active, CLUSTER, "ttbt2-prod-dr")
    assert dr.props["name"] == "ttbt2-prod-dr"
    assert _region(active, dr.provider) == "eu-central-1"
    assert dr.props["vpcConfig"]["endpointPublicAccess"] is False
    # In the pilot light's private subnets, its secrets under a key of the DR region.
    assert dr.property_dependencies["vpcConfig"]
    subnets = dr.property_dependencies["vpcConfig"]
    assert all(u.rsplit("::", 1)[1].startswith("ttbt2-prod-dr-network-private") for u in subnets)
    key_arn = dr.props["encryptionConfig"]["provider"]["keyArn"]
    assert ":eu-central-1:" in key_arn
    groups = [g for g in of_type(active, NODE_GROUP) if g.name.startswith("ttbt2-prod-dr-")]
    assert sorted(g.name for g in groups) == ["ttbt2-prod-dr-system", "ttbt2-prod-dr-workloads"]


def test_dr_active_serves_with_the_controller_the_services_and_argo_cd_at_the_same_revision(
    active: StackGraph,
) -> None:
    dr_k8s = next(r for r in active.resources if r.name == "k8s-dr")
    releases = {r.name for r in of_type(active, HELM) if r.provider and "k8s-dr" in r.provider}
    assert any("ttbt2-prod-dr-lbc" in name for name in releases), releases
    assert any("ttbt2-prod-dr-gitops" in name for name in releases), releases
    lbc = next(r for r in of_type(active, HELM) if r.name.startswith("ttbt2-prod-dr-lbc"))
    assert "eu-central-1" in str(lbc.props["values"])
    apps = {
        a.name: a
        for a in of_type(active, APPLICATION)
        if a.provider and a.provider.startswith(dr_k8s.urn)
    }
    primary = {
        a.name.replace("ttbt2-prod-", "", 1): a
        for a in of_type(active, APPLICATION)
        if not (a.provider and a.provider.startswith(dr_k8s.urn))
    }
    assert apps and len(apps) == len(primary)
    for name, app in apps.items():
        twin = primary[name.replace("ttbt2-prod-dr-", "", 1)]
        assert app.props["spec"]["source"] == twin.props["spec"]["source"]


def test_the_dr_database_is_restored_from_the_replicated_backups(active: StackGraph) -> None:
    assert not [r for r in of_type(render("prod"), RDS) if "-dr-" in r.name]
    restored = one(active, RDS, "ttbt2-prod-dr-db")
    assert _region(active, restored.provider) == "eu-central-1"
    pitr = restored.props["restoreToPointInTime"]
    assert pitr["useLatestRestorableTime"] is True
    # The ARN comes from the pilot light's replication of the primary database's backups.
    (source,) = restored.property_dependencies["restoreToPointInTime"]
    replication = next(r for r in active.resources if r.urn == source)
    assert replication.type == REPLICATION and "PilotLight" in replication.urn
    assert ":eu-central-1:" in restored.props["kmsKeyId"]
    subnets = _subnet_sources(active, restored)
    assert subnets
    assert all(u.rsplit("::", 1)[1].startswith("ttbt2-prod-dr-network-isolated") for u in subnets)
    assert "snapshotIdentifier" not in restored.props and "username" not in restored.props


def _subnet_sources(graph: StackGraph, instance: Any) -> list[str]:
    (group_urn,) = instance.property_dependencies["dbSubnetGroupName"]
    group = next(r for r in graph.resources if r.urn == group_urn)
    return list(group.property_dependencies["subnetIds"])


def test_the_primary_stays_the_same_and_the_dr_layer_is_all_new(active: StackGraph) -> None:
    standby = {r.urn: r for r in render("prod").resources}
    changed = [
        r.urn for r in active.resources if r.urn in standby and r.props != standby[r.urn].props
    ]
    assert [u.rsplit("::", 1)[1] for u in changed] == ["ttbt2-prod-edge-distribution"]
    assert set(standby) <= {r.urn for r in active.resources}


def test_cloudfront_fails_the_public_api_over_to_the_dr_origin(active: StackGraph) -> None:
    assert "originGroups" not in one(render("prod"), DISTRIBUTION).props
    dist = one(active, DISTRIBUTION).props
    # The origins carry the secret origin header, so the whole list is a secret.
    origins = {o["originId"]: o["domainName"] for o in unwrap_secrets(dist["origins"])}
    assert origins["api-dr"] == raw_settings("prod")["drApiOriginHost"]
    (group,) = dist["originGroups"]
    assert [m["originId"] for m in group["members"]] == ["api", "api-dr"]
    assert group["failoverCriteria"]["statusCodes"] == [500, 502, 503, 504]
    public = [b for b in dist["orderedCacheBehaviors"] if b["pathPattern"].startswith("/api/")]
    assert public and all(b["targetOriginId"] == group["originId"] for b in public)
    # CloudFront refuses an origin group on a behaviour that allows writes.
    assert dist["defaultCacheBehavior"]["targetOriginId"] == "api"
