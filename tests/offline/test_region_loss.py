"""Region-loss RTO: the critical path of the update that sets ``ttbt2:drActive``."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from offline.cli import EXIT_OK, EXIT_VIOLATION
from offline.graph import Resource, StackGraph
from offline.region_loss import dr_layer, estimate_region_loss, format_region_loss
from offline.restore_times import duration_for
from tests.offline.test_cli import TIGHT_RTO_OBJECTIVE, run

pytestmark = pytest.mark.usefixtures("session_engine")

KEY = "aws:kms/key:Key"
SUBNET = "aws:ec2/subnet:Subnet"
EKS = "aws:eks/cluster:Cluster"
NODES = "aws:eks/nodeGroup:NodeGroup"
RDS = "aws:rds/instance:Instance"
CDN = "aws:cloudfront/distribution:Distribution"


def _res(name: str, type_: str, *deps: Resource, **props: object) -> Resource:
    return Resource(
        urn=f"urn:pulumi:prod::p::{type_}::{name}",
        type=type_,
        name=name,
        props=dict(props),
        dependencies=[d.urn for d in deps],
    )


def _graph(*resources: Resource) -> StackGraph:
    return StackGraph(project="p", stack="prod", resources=list(resources))


def _minutes(type_: str, *, restore: bool = False) -> float:
    return duration_for(type_, restore=restore)[0].minutes


def _pair() -> tuple[StackGraph, StackGraph]:
    """(active, standby): the primary cluster stands; the DR cluster, nodes and database are new."""
    subnet = _res("dr-subnet", SUBNET)
    primary = _res("primary-cluster", EKS, subnet)
    cdn = _res("edge", CDN, origins=["api"])
    standby = _graph(subnet, primary, cdn)
    cluster = _res("dr-cluster", EKS, subnet)
    nodes = _res("dr-nodes", NODES, cluster)
    key = _res("dr-key", KEY)
    db = _res("dr-db", RDS, subnet, key)
    active = _graph(
        copy.deepcopy(subnet),
        copy.deepcopy(primary),
        _res("edge", CDN, origins=["api", "api-dr"]),
        cluster,
        nodes,
        key,
        db,
    )
    return active, standby


def test_the_layer_is_what_the_update_creates_or_changes() -> None:
    active, standby = _pair()
    names = {u.rsplit("::", 1)[1] for u in dr_layer(active, standby)}
    assert names == {"edge", "dr-cluster", "dr-nodes", "dr-key", "dr-db"}


def test_the_path_times_the_layer_only_and_restores_the_database() -> None:
    active, standby = _pair()
    result = estimate_region_loss(active, standby, objective=120, dr_active=False)
    est = result.estimate
    restore = _minutes(RDS, restore=True)
    # The subnet (and the primary cluster) are up: only the key and the restore count.
    assert est.total_minutes == pytest.approx(_minutes(KEY) + restore)
    assert [s.name for s in est.path if s.minutes > 0] == ["dr-key", "dr-db"]
    assert next(s for s in est.path if s.name == "dr-db").action == "restore"
    assert result.layer_size == 5
    assert result.within_objective and result.failure() is None


def test_a_running_slow_resource_before_the_layer_takes_no_time() -> None:
    primary = _res("primary-cluster", EKS)
    standby = _graph(primary)
    active = _graph(copy.deepcopy(primary), _res("dr-nodes", NODES, primary))
    est = estimate_region_loss(active, standby, objective=120, dr_active=False).estimate
    # The cluster is up before the failover: only the new nodes are on the path.
    assert est.total_minutes == pytest.approx(_minutes(NODES))
    assert [(s.name, s.action) for s in est.path] == [
        ("primary-cluster", "running"),
        ("dr-nodes", "create"),
    ]


def test_above_the_objective_the_failure_names_the_setting() -> None:
    active, standby = _pair()
    result = estimate_region_loss(active, standby, objective=30, dr_active=False)
    assert not result.within_objective
    failure = result.failure()
    assert failure is not None
    assert "ttbt2:rtoObjectiveMinutes (30 min)" in failure and "dr-db" in failure
    lines = format_region_loss(result)
    assert lines[0].startswith("Region-loss RTO: ❌")
    assert lines[-1].strip() == failure


@pytest.mark.parametrize(
    ("dr_active", "words"),
    [(False, "set it and run `pulumi up`"), (True, "CloudFront fails over to it")],
)
def test_the_line_says_what_the_figure_means(dr_active: bool, words: str) -> None:
    active, standby = _pair()
    lines = format_region_loss(
        estimate_region_loss(active, standby, objective=120, dr_active=dr_active)
    )
    assert lines[0].startswith("Region-loss RTO: ✅")
    assert f"ttbt2:drActive is {str(dr_active).lower()}" in lines[1] and words in lines[1]


def _section(text: str) -> str:
    return text.split("Region-loss RTO:", 1)[1].split("\n\n", 1)[0]


def test_prod_preview_shows_the_region_loss_rto_within_the_objective() -> None:
    code, text = run("preview", "--stack", "prod")
    assert code == EXIT_OK, text
    section = _section(text)
    head = section.splitlines()[0]
    minutes = float(head.split("✅ ", 1)[1].split(" min", 1)[0])
    assert 0 < minutes <= 120
    assert "ttbt2:drActive is false" in section
    assert "restore aws:rds/instance:Instance: ttbt2-prod-dr-db-instance" in section
    code, text = run("preview", "--stack", "dev")
    assert "Region-loss RTO" not in text


def test_prod_with_dr_active_reports_the_same_figure(stack_file: Callable[..., Path]) -> None:
    _, standby = run("preview", "--stack", "prod")
    code, text = run(
        "preview", "--config-file", str(stack_file("prod", base="prod", drActive=True))
    )
    assert code == EXIT_OK, text
    assert "ttbt2:drActive is true" in _section(text)
    assert _section(text).splitlines()[0] == _section(standby).splitlines()[0]


def test_an_objective_below_the_region_loss_rto_fails_the_preview(
    stack_file: Callable[..., Path],
) -> None:
    path = stack_file("prod", base="prod", rtoObjectiveMinutes=TIGHT_RTO_OBJECTIVE)
    code, text = run("preview", "--config-file", str(path))
    assert code == EXIT_VIOLATION, text
    assert "Region-loss RTO: ❌" in text
    assert "error: region-loss RTO of stack 'prod'" in text
    assert f"above ttbt2:rtoObjectiveMinutes ({TIGHT_RTO_OBJECTIVE} min)" in text


def test_a_stack_that_cannot_activate_its_dr_region_fails_the_preview(
    stack_file: Callable[..., Path],
) -> None:
    path = stack_file("prod", base="prod", drApiOriginHost=None)
    code, text = run("preview", "--config-file", str(path))
    assert code == EXIT_VIOLATION, text
    assert "error: region-loss RTO: with ttbt2:drActive: true:" in text
    assert "drApiOriginHost" in text
