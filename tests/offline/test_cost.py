"""Monthly cost estimate: price table validation, the estimator on real stacks, diff, reports."""

from __future__ import annotations

import copy
import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import cli
from offline.cost import CostEstimate, LineItem, diff_costs, estimate_cost, size_gib
from offline.cost_report import budget_line, format_cost, format_cost_diff, usd
from offline.graph import Resource, StackGraph, load_graph, mask_secrets
from offline.prices import (
    DEFAULT_TABLE,
    PriceTable,
    PriceTableError,
    load_price_table,
    parse_price_table,
)
from tests.support.stacks import StackRenders, one

RDS = "aws:rds/instance:Instance"
NODES = "aws:eks/nodeGroup:NodeGroup"


@pytest.fixture(scope="module")
def table_doc() -> dict[str, Any]:
    """The repo's price table as data, to derive test tables from."""
    doc = yaml.safe_load(DEFAULT_TABLE.read_text())
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_price_table()


def _graph_copy(stacks: StackRenders, stack: str) -> StackGraph:
    """A private copy of a rendered stack (the session's graphs are shared and must not change)."""
    return copy.deepcopy(stacks.graph(stack))


def _lines(estimate: CostEstimate, name: str, item_prefix: str) -> list[LineItem]:
    return [i for i in estimate.items if i.name == name and i.item.startswith(item_prefix)]


# --- the price table -------------------------------------------------------------------------


def test_every_price_of_the_table_has_a_source_a_date_and_a_region(table: PriceTable) -> None:
    assert table.prices, "the table prices nothing"
    assert table.as_of <= datetime.date.today()
    for (item, region), price in table.prices.items():
        assert price.source.startswith("https://"), item
        assert len(price.evidence) > 20, f"{item}: evidence must say where the figure was checked"
        assert isinstance(price.checked, datetime.date) and price.checked <= table.as_of, item
        assert region == price.region and "-" in region, item
        assert price.kind in ("fixed", "usage")
    # The usage prices the estimator uses have a named volume to multiply.
    for name in ("nat-gb-per-gateway", "alb-lcu-per-load-balancer"):
        assert table.assumption(name).basis


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "item": "aws.kms.key-month",
        "unit": "key-month",
        "kind": "fixed",
        "regions": {"eu-west-1": 1.0},
        "source": "https://aws.amazon.com/kms/pricing/",
        "evidence": "a quote of the price page",
        "checked": "2026-12-04",
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def _doc(*entries: dict[str, Any], **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "as_of": "2026-12-04",
        "currency": "USD",
        "hours_per_month": 730,
        "prices": list(entries) or [_entry()],
    }
    doc.update(top)
    return doc


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        (_doc(_entry(source=None)), "prices[0] (aws.kms.key-month): missing 'source'"),
        (_doc(_entry(checked=None)), "missing 'checked'"),
        (_doc(_entry(regions=None)), "missing 'regions'"),
        (_doc(_entry(evidence="")), "missing 'evidence'"),
        (_doc(_entry(source="see the AWS site")), "source must be the https URL"),
        (_doc(_entry(checked="last week")), "checked must be a date written YYYY-MM-DD"),
        (_doc(_entry(regions={"Ireland": 1.0})), "'Ireland' is not a region name"),
        (_doc(_entry(regions={"eu-west-1": -1})), "in eu-west-1 must be a number of USD"),
        (_doc(_entry(regions={"eu-west-1": "1 USD"})), "in eu-west-1 must be a number of USD"),
        (_doc(_entry(kind="monthly")), "kind must be one of fixed, usage"),
        (_doc(_entry(price=1)), "unknown field 'price'"),
        (_doc(_entry(), _entry()), "aws.kms.key-month in eu-west-1 is priced twice"),
        (_doc(currency="EUR"), "currency must be USD"),
        (_doc(hours_per_month=24), "hours_per_month must be a number of hours in a month"),
        (_doc(as_of=None), "as_of must be a date"),
        (_doc(prices=[]), "prices must be a non-empty list"),
        (_doc(usage_assumptions={"x": {"value": 1, "unit": "GB"}}), "usage_assumptions.x"),
        (["not", "a", "mapping"], "must be a mapping"),
    ],
)
def test_a_bad_table_is_refused_naming_the_entry_and_field(doc: Any, words: str) -> None:
    with pytest.raises(PriceTableError) as caught:
        parse_price_table(doc, where="prices.yaml")
    assert words in str(caught.value)
    assert str(caught.value).startswith("prices.yaml")


def test_a_good_table_parses_with_its_dates_and_prices() -> None:
    parsed = parse_price_table(_doc(_entry(regions={"eu-west-1": 1, "us-east-1": 1.5})))
    assert parsed.as_of == datetime.date(2026, 12, 4)
    assert parsed.price("aws.kms.key-month", "us-east-1") is not None
    assert parsed.price("aws.kms.key-month", "eu-central-1") is None
    assert parsed.price("aws.kms.key-month", None) is None


def test_unreadable_or_invalid_table_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(PriceTableError, match="cannot read the price table"):
        load_price_table(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("prices: [unclosed\n")
    with pytest.raises(PriceTableError, match="not valid YAML"):
        load_price_table(bad)


# --- the estimator on the real stacks ---------------------------------------------------------


def test_prod_total_is_the_sum_of_its_items(stacks: StackRenders, table: PriceTable) -> None:
    estimate = estimate_cost(stacks.graph("prod"), table)
    assert estimate.items
    for line in estimate.items:
        assert line.monthly_usd == round(line.quantity * line.unit_usd, 2), line
        assert line.source == table.prices[line.item, line.region].source
    assert estimate.total_usd == round(sum(i.monthly_usd for i in estimate.items), 2)
    assert estimate.total_usd == round(estimate.fixed_usd + estimate.usage_usd, 2)
    assert estimate.usage_usd > 0 and all(
        i.kind == "usage" for i in estimate.items if i.item.endswith(("-gb", "lcu-hour"))
    )


def test_node_groups_are_priced_at_their_desired_size(
    stacks: StackRenders, table: PriceTable
) -> None:
    graph = stacks.graph("prod")
    estimate = estimate_cost(graph, table)
    workloads = one(graph, NODES, "workloads")
    scaling = workloads.props["scalingConfig"]
    first = workloads.props["instanceTypes"][0]
    [line] = _lines(estimate, workloads.name, "aws.ec2.instance-hour")
    price = table.prices[f"aws.ec2.instance-hour:{first}", "eu-west-1"]
    assert line.quantity == scaling["desiredSize"] * table.hours_per_month
    assert line.monthly_usd == round(scaling["desiredSize"] * 730 * price.usd, 2)
    # Each node's root volume, from the node group's launch template.
    [volumes] = _lines(estimate, workloads.name, "aws.ebs.gp3-gb-month")
    assert volumes.quantity == scaling["desiredSize"] * 100


def test_resources_are_priced_in_their_providers_region(
    stacks: StackRenders, table: PriceTable
) -> None:
    estimate = estimate_cost(stacks.graph("prod"), table)
    regions = {(i.name, i.item): i.region for i in estimate.items}
    assert regions["ttbt2-prod-edge-waf", "aws.waf.web-acl-month"] == "us-east-1"
    assert regions["ttbt2-prod-cluster", "aws.eks.cluster-hour"] == "eu-west-1"
    # Kubernetes volumes are where the cluster their provider reaches is.
    assert any(i.type.startswith("kubernetes:") and i.region == "eu-west-1" for i in estimate.items)
    # The table has no NAT gateway price in the DR region: listed, not counted at zero.
    dr_nat = [u for u in estimate.unpriced if u.name == "ttbt2-prod-dr-network-nat-eu-central-1a"]
    assert {(u.item, u.region) for u in dr_nat} >= {("aws.vpc.nat-gateway-hour", "eu-central-1")}
    assert not _lines(estimate, "ttbt2-prod-dr-network-nat-eu-central-1a", "aws.vpc")


def test_ingresses_of_one_group_share_one_load_balancer(
    stacks: StackRenders, table: PriceTable
) -> None:
    graph = stacks.graph("prod")
    estimate = estimate_cost(graph, table)
    groups = set()
    for res in graph.resources:
        if res.type == "kubernetes:networking.k8s.io/v1:Ingress":
            annotations = res.props["metadata"].get("annotations") or {}
            groups.add(annotations.get("alb.ingress.kubernetes.io/group.name", res.urn))
    albs = [i for i in estimate.items if i.item == "aws.elb.alb-hour"]
    assert len(groups) < 5 and len(albs) == len(groups)


def test_free_resources_are_neither_priced_nor_flagged(
    stacks: StackRenders, table: PriceTable
) -> None:
    estimate = estimate_cost(stacks.graph("prod"), table)
    named = {i.type for i in estimate.items} | {u.type for u in estimate.unpriced}
    for free in ("aws:iam/role:Role", "aws:ec2/securityGroup:SecurityGroup", "ttbt2:"):
        assert not any(t.startswith(free) for t in named), free
    assert "kubernetes:core/v1:ConfigMap" not in named
    assert not [u for u in estimate.unpriced if u.kind == "unknown"]


def test_karpenter_capacity_is_listed_as_not_estimated(
    stacks: StackRenders, table: PriceTable
) -> None:
    estimate = estimate_cost(stacks.graph("prod"), table)
    [pool] = estimate.not_estimated
    assert pool.type == "kubernetes:karpenter.sh/v1:NodePool"
    assert "Karpenter" in pool.reason


def _rds_table(table_doc: dict[str, Any], **hourly: float) -> PriceTable:
    """The repo's table plus test prices for RDS classes (Multi-AZ, PostgreSQL, eu-west-1)."""
    doc = copy.deepcopy(table_doc)
    for instance_class, usd_hour in hourly.items():
        doc["prices"].append(
            _entry(
                item=f"aws.rds.instance-hour:postgres:{instance_class}:multi-az",
                unit="instance-hour",
                regions={"eu-west-1": usd_hour},
                source="https://aws.amazon.com/rds/postgresql/pricing/",
                evidence="a figure made up for this test",
            )
        )
    return parse_price_table(doc)


def test_changing_the_db_instance_class_changes_the_estimate_by_the_tables_delta(
    stacks: StackRenders, table_doc: dict[str, Any]
) -> None:
    prices = {"db.r7g.xlarge": 1.0, "db.r7g.2xlarge": 2.5}
    test_table = _rds_table(table_doc, **prices)
    graph = _graph_copy(stacks, "prod")
    db = one(graph, RDS)
    assert db.props["instanceClass"] == "db.r7g.xlarge" and db.props["multiAz"] is True
    before = estimate_cost(graph, test_table)
    db.props["instanceClass"] = "db.r7g.2xlarge"
    after = estimate_cost(graph, test_table)
    expected = round((prices["db.r7g.2xlarge"] - prices["db.r7g.xlarge"]) * 730, 2)
    assert round(after.total_usd - before.total_usd, 2) == expected
    diff = diff_costs(before, after)
    [change] = diff.changes
    assert change.op == "change" and change.delta_usd == expected
    assert change.old is not None and change.old.item.endswith(":db.r7g.xlarge:multi-az")
    assert "(was aws.rds.instance-hour:postgres:db.r7g.xlarge:multi-az)" in "\n".join(
        format_cost_diff(diff)
    )
    assert diff.delta_usd == expected


def test_a_resize_between_unpriced_classes_still_shows_in_the_diff(
    stacks: StackRenders, table: PriceTable
) -> None:
    graph = _graph_copy(stacks, "prod")
    before = estimate_cost(graph, table)
    one(graph, RDS).props["instanceClass"] = "db.r7g.2xlarge"
    diff = diff_costs(before, estimate_cost(graph, table))
    assert not diff.changes and diff.delta_usd == 0
    [(old, new)] = diff.unpriced_changed
    assert old.item.endswith("db.r7g.xlarge:multi-az")
    assert new.item.endswith("db.r7g.2xlarge:multi-az")
    text = "\n".join(format_cost_diff(diff))
    assert f"{old.item} -> {new.item} (eu-west-1): ttbt2-prod-db-instance" in text
    assert "no change" not in text


def test_an_unknown_instance_class_is_flagged_not_priced_at_zero(
    stacks: StackRenders, table: PriceTable
) -> None:
    graph = _graph_copy(stacks, "prod")
    before = estimate_cost(graph, table)
    nodes = one(graph, NODES, "system")
    [old_line] = _lines(before, nodes.name, "aws.ec2.instance-hour")
    nodes.props["instanceTypes"] = ["x9z.mega"]
    after = estimate_cost(graph, table)
    assert not _lines(after, nodes.name, "aws.ec2.instance-hour")
    [flag] = [u for u in after.unpriced if u.name == nodes.name and u.item.startswith("aws.ec2")]
    assert flag.item == "aws.ec2.instance-hour:x9z.mega" and flag.kind == "fixed"
    assert "no price for aws.ec2.instance-hour:x9z.mega in eu-west-1" in flag.reason
    assert round(before.total_usd - after.total_usd, 2) == old_line.monthly_usd
    text = "\n".join(format_cost(after))
    assert "[fixed] aws.ec2.instance-hour:x9z.mega (eu-west-1) x1" in text


def test_a_type_outside_the_cost_model_is_flagged(stacks: StackRenders, table: PriceTable) -> None:
    graph = _graph_copy(stacks, "dev")
    graph.resources.append(
        Resource(
            urn="urn:pulumi:dev::p::aws:opensearch/domain:Domain::search",
            type=("aws:opensearch/domain:Domain"),
            name="search",
        )
    )
    [flag] = [u for u in estimate_cost(graph, table).unpriced if u.name == "search"]
    assert flag.kind == "unknown" and "not in the cost model" in flag.reason


def test_usage_is_priced_at_the_tables_assumed_volumes(
    stacks: StackRenders, table_doc: dict[str, Any]
) -> None:
    graph = stacks.graph("prod")
    base = estimate_cost(graph, parse_price_table(table_doc))
    doubled = copy.deepcopy(table_doc)
    doubled["usage_assumptions"]["nat-gb-per-gateway"]["value"] *= 2
    more = estimate_cost(graph, parse_price_table(doubled))
    nat = [i for i in base.items if i.item == "aws.vpc.nat-gateway-gb"]
    assert nat and all(i.kind == "usage" for i in nat)
    assert more.fixed_usd == base.fixed_usd
    assert round(more.usage_usd - base.usage_usd, 2) == round(sum(i.monthly_usd for i in nat), 2)
    assert "nat-gb-per-gateway: 100 GB/month" in "\n".join(format_cost(base))


def test_spot_node_groups_say_they_are_an_upper_bound(
    stacks: StackRenders, table: PriceTable
) -> None:
    graph = stacks.graph("dev")
    spot = [r for r in graph.resources if r.type == NODES and r.props["capacityType"] == "SPOT"]
    assert spot
    estimate = estimate_cost(graph, table)
    [line] = _lines(estimate, spot[0].name, "aws.ec2.instance-hour")
    assert "upper bound" in line.note


def test_volume_sizes_are_read_as_gib() -> None:
    assert size_gib("200Gi") == 200
    assert size_gib("1Ti") == 1024
    assert size_gib("512Mi") == 0.5
    assert size_gib("10") is None and size_gib(None) is None


# --- reports ----------------------------------------------------------------------------------


def test_cost_section_shows_total_largest_items_and_unpriced(
    stacks: StackRenders, table: PriceTable
) -> None:
    estimate = estimate_cost(stacks.graph("prod"), table)
    text = "\n".join(format_cost(estimate))
    assert text.startswith(f"Monthly cost estimate: {usd(estimate.total_usd)} (price table of ")
    top = estimate.top(1)[0]
    assert f"{usd(top.monthly_usd)}  {top.item} ({top.region})" in text
    assert "aws.rds.instance-hour:postgres:db.r7g.xlarge:multi-az (eu-west-1) x1" in text
    assert "not estimated" in text and "prices.yaml" in text


def _write(graph: StackGraph, path: Path) -> Path:
    doc = graph.to_json()
    for res in doc["resources"]:
        res["props"] = mask_secrets(res["props"])
    path.write_text(json.dumps(doc))
    return path


def test_offline_diff_prints_the_change_in_the_monthly_estimate(
    stacks: StackRenders, tmp_path: Path
) -> None:
    base = _graph_copy(stacks, "prod")
    head = copy.deepcopy(base)
    nodes = one(head, NODES, "workloads")
    nodes.props["scalingConfig"]["desiredSize"] += 2
    out = io.StringIO()
    json_out = tmp_path / "diff.json"
    base_file = _write(base, tmp_path / "base.json")
    head_file = _write(head, tmp_path / "head.json")
    code = cli.main(["diff", str(base_file), str(head_file), "--json", str(json_out)], out=out)
    assert code == cli.EXIT_OK
    table = load_price_table()
    # The files hold secrets masked, as preview writes them: estimated from what they hold.
    expected = diff_costs(
        estimate_cost(load_graph(base_file), table), estimate_cost(load_graph(head_file), table)
    )
    hourly = table.prices["aws.ec2.instance-hour:m7g.xlarge", "eu-west-1"].usd
    gp3 = table.prices["aws.ebs.gp3-gb-month", "eu-west-1"].usd
    # Each line is rounded to the cent, as a bill's lines are.
    desired = nodes.props["scalingConfig"]["desiredSize"]
    compute = round(desired * 730 * hourly, 2) - round((desired - 2) * 730 * hourly, 2)
    volumes = round(desired * 100 * gp3, 2) - round((desired - 2) * 100 * gp3, 2)
    assert expected.delta_usd == round(compute + volumes, 2)
    text = out.getvalue()
    assert f"({usd(expected.delta_usd, signed=True)}/month" in text
    assert "~" in text and "aws.ec2.instance-hour:m7g.xlarge (eu-west-1)" in text
    assert "\n".join(format_cost_diff(expected)) in text
    written = json.loads(json_out.read_text())
    assert written["cost"]["deltaMonthlyUsd"] == expected.delta_usd


def test_diff_with_a_bad_price_table_is_a_usage_error(
    stacks: StackRenders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "prices.yaml"
    bad.write_text(yaml.safe_dump(_doc(_entry(source=None))))
    monkeypatch.setattr(cli, "load_price_table", lambda: load_price_table(bad))
    graph = _write(stacks.graph("dev"), tmp_path / "dev.json")
    out = io.StringIO()
    code = cli.main(["diff", str(graph), str(graph)], out=out)
    assert code == cli.EXIT_USAGE
    assert "missing 'source'" in out.getvalue() and "Traceback" not in out.getvalue()


@pytest.mark.usefixtures("session_engine")
def test_prod_preview_states_a_monthly_cost_estimate(stacks: StackRenders) -> None:
    out = io.StringIO()
    code = cli.main(["preview", "--stack", "prod", "--jobs", "1"], out=out)
    text = out.getvalue()
    assert code == cli.EXIT_OK, text
    estimate = estimate_cost(stacks.graph("prod"))
    assert f"Monthly cost estimate: {usd(estimate.total_usd)} (price table of" in text
    # Measured against prod's own monthlyBudgetUsd, read from its stack file.
    prod = yaml.safe_load((Path(__file__).resolve().parents[2] / "Pulumi.prod.yaml").read_text())
    budget = prod["config"]["ttbt2:monthlyBudgetUsd"]
    share = f"{100 * estimate.total_usd / float(budget):.0f} %"
    assert f"is {share} of monthlyBudgetUsd {usd(float(budget))}" in text


def test_the_estimate_is_measured_against_the_budget(
    stacks: StackRenders, table: PriceTable
) -> None:
    estimate = estimate_cost(stacks.graph("prod"), table)
    total = estimate.total_usd
    roomy = budget_line(estimate, total * 4)
    assert "is 25 % of monthlyBudgetUsd" in roomy and "warning" not in roomy
    assert f"before {len(estimate.unpriced)} unpriced items" in roomy
    tight = budget_line(estimate, total / 2)
    assert tight.strip().startswith("warning:") and "is 200 % of monthlyBudgetUsd" in tight
