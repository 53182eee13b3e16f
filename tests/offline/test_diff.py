"""``offline diff``: what ``pulumi preview --diff`` would say between two resource graphs."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pulumi.runtime.proto import alias_pb2

from offline.cli import EXIT_OK, EXIT_USAGE, _write_graph, main
from offline.diff import ResourceChange, StackDiff, diff_graphs, engine_urns
from offline.diff_report import render_diff, value_text
from offline.graph import SECRET_SIG, SECRET_SIG_KEY, GraphFileError, Resource, StackGraph
from offline.mocks import PlatformMocks
from offline.recorder import Recorder
from offline.replacements import REPLACE_ON_CHANGES, rule_for
from tests.conftest import render

PREFIX = "urn:pulumi:dev::ttbt2-platform::"
STACK_URN = PREFIX + "pulumi:pulumi:Stack::ttbt2-platform-dev"
KEY = "aws:kms/key:Key"
RDS = "aws:rds/instance:Instance"
COMPONENT = "ttbt2:aws:Database"


def urn(type_: str, name: str, parent: str = STACK_URN) -> str:
    """A URN as the mock engine makes it: the parent's last type, then this type."""
    parent_type = parent.split("::")[2].rsplit("$", 1)[-1]
    return f"{PREFIX}{parent_type}${type_}::{name}"


def res(
    type_: str, name: str, props: dict[str, Any] | None = None, parent: str = STACK_URN, **opts: Any
) -> Resource:
    """A recorded resource; options default as the engine's."""
    return Resource(
        urn=urn(type_, name, parent),
        type=type_,
        name=name,
        parent=parent,
        props=props or {},
        options=opts,
        custom=not type_.startswith("ttbt2:"),
    )


def graph(*resources: Resource) -> StackGraph:
    return StackGraph("ttbt2-platform", "dev", list(resources))


def secret(value: Any) -> dict[str, Any]:
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def only(diff: StackDiff) -> ResourceChange:
    assert len(diff.changes) == 1, diff.changes
    return diff.changes[0]


def text(diff: StackDiff) -> str:
    return "\n".join(render_diff(diff))


# --- create, delete, update, replace --------------------------------------------------------


def test_identical_graphs_have_no_changes() -> None:
    base = graph(res(KEY, "k", {"description": "d"}), res(RDS, "db", {"engine": "postgres"}))
    diff = diff_graphs(base, copy.deepcopy(base))
    assert diff.empty
    assert diff.counts() == {"create": 0, "update": 0, "replace": 0, "delete": 0, "same": 2}
    assert text(diff).endswith("Resources: no changes (2 unchanged)")


def test_added_and_deleted_resources() -> None:
    kept = res(KEY, "kept")
    diff = diff_graphs(graph(kept, res(KEY, "old")), graph(kept, res(KEY, "new")))
    assert [(c.op, c.name) for c in diff.changes] == [("create", "new"), ("delete", "old")]
    assert diff.changes[1].urn == urn(KEY, "old")
    assert diff.counts()["same"] == 1
    assert "Resources: + 1 to create, - 1 to delete, 1 unchanged" in text(diff)


def test_updated_inputs_are_listed_with_paths_and_values() -> None:
    base = graph(res(KEY, "k", {"description": "a", "tags": {"owner": "x", "team": "t"}}))
    head = graph(res(KEY, "k", {"description": "b", "tags": {"owner": "y", "cost": "c"}}))
    change = only(diff_graphs(base, head))
    assert change.op == "update"
    assert [(p.path, p.kind, p.old, p.new) for p in change.properties] == [
        ("description", "update", "a", "b"),
        ("tags.owner", "update", "x", "y"),
        ("tags.team", "delete", "t", None),
        ("tags.cost", "add", None, "c"),
    ]
    lines = text(diff_graphs(base, head))
    assert '~ description: "a" -> "b"' in lines
    assert '- tags.team: "t"' in lines and '+ tags.cost: "c"' in lines


def test_lists_numbers_and_nulls_compare_as_json() -> None:
    base = graph(res(KEY, "k", {"ports": [80, 443], "count": 1, "enabled": True, "gone": None}))
    same = graph(res(KEY, "k", {"ports": [80, 443], "count": 1.0, "enabled": True}))
    assert diff_graphs(base, same).empty
    head = graph(res(KEY, "k", {"ports": [80, 8443, 9000], "count": 1, "enabled": 1}))
    paths = [(p.path, p.kind) for p in only(diff_graphs(base, head)).properties]
    assert paths == [("ports[1]", "update"), ("ports[2]", "add"), ("enabled", "update")]


def test_change_to_a_replace_on_change_input_is_a_replacement() -> None:
    base = graph(res(RDS, "db", {"engine": "postgres", "instanceClass": "db.t4g.small"}))
    head = graph(res(RDS, "db", {"engine": "mysql", "instanceClass": "db.t4g.large"}))
    change = only(diff_graphs(base, head))
    assert change.op == "replace"
    assert change.replace_reasons == ("engine",)
    assert {p.path: p.replaces for p in change.properties} == {
        "engine": True,
        "instanceClass": False,
    }
    assert '~ engine: "postgres" -> "mysql"  (forces replacement)' in text(diff_graphs(base, head))


def test_unlisted_inputs_update_in_place() -> None:
    """RDS renames and subnet-group moves are in-place updates in the current provider."""
    base = graph(res(RDS, "db", {"identifier": "a", "dbSubnetGroupName": "s1"}))
    head = graph(res(RDS, "db", {"identifier": "b", "dbSubnetGroupName": "s2"}))
    assert only(diff_graphs(base, head)).op == "update"


def test_nested_block_input_replaces_when_the_block_is_added() -> None:
    eks = "aws:eks/cluster:Cluster"
    base = graph(res(eks, "c", {"name": "c", "vpcConfig": {"subnetIds": ["a"]}}))
    head = graph(
        res(
            eks,
            "c",
            {
                "name": "c",
                "vpcConfig": {"subnetIds": ["a", "b"]},
                "kubernetesNetworkConfig": {"serviceIpv4Cidr": "10.100.0.0/16"},
            },
        )
    )
    change = only(diff_graphs(base, head))
    assert change.op == "replace"
    assert change.replace_reasons == ("kubernetesNetworkConfig.serviceIpv4Cidr",)
    assert {p.path: p.replaces for p in change.properties} == {
        "vpcConfig.subnetIds[1]": False,
        "kubernetesNetworkConfig": True,
    }


def test_removal_only_input_replaces_only_when_removed() -> None:
    eks = "aws:eks/cluster:Cluster"
    encryption = {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "k"}}}
    without = graph(res(eks, "c", {"name": "c"}))
    with_it = graph(res(eks, "c", {"name": "c", **encryption}))
    assert only(diff_graphs(without, with_it)).op == "update"
    assert only(diff_graphs(with_it, without)).op == "replace"


def test_kubernetes_identity_and_kind_inputs_replace() -> None:
    ns = "kubernetes:core/v1:Namespace"
    pvc = "kubernetes:core/v1:PersistentVolumeClaim"
    renamed = diff_graphs(
        graph(res(ns, "apps", {"metadata": {"name": "apps", "labels": {"a": "1"}}})),
        graph(res(ns, "apps", {"metadata": {"name": "apps2", "labels": {"a": "2"}}})),
    )
    assert only(renamed).replace_reasons == ("metadata.name",)
    relabelled = diff_graphs(
        graph(res(ns, "apps", {"metadata": {"name": "apps", "labels": {"a": "1"}}})),
        graph(res(ns, "apps", {"metadata": {"name": "apps", "labels": {"a": "2"}}})),
    )
    assert only(relabelled).op == "update"
    resized = diff_graphs(
        graph(res(pvc, "data", {"spec": {"storageClassName": "gp3", "resources": {"x": 1}}})),
        graph(res(pvc, "data", {"spec": {"storageClassName": "io2", "resources": {"x": 2}}})),
    )
    assert only(resized).replace_reasons == ("spec.storageClassName",)


def test_ignore_changes_hides_the_input() -> None:
    group = "aws:eks/nodeGroup:NodeGroup"
    ignored = ["scalingConfig.desiredSize"]
    base = graph(res(group, "g", {"scalingConfig": {"desiredSize": 2}}, ignoreChanges=ignored))
    head = graph(res(group, "g", {"scalingConfig": {"desiredSize": 5}}, ignoreChanges=ignored))
    assert diff_graphs(base, head).empty


def test_option_changes_are_not_cloud_operations() -> None:
    diff = diff_graphs(graph(res(KEY, "k")), graph(res(KEY, "k", protect=True)))
    assert diff.changes == [] and diff.counts()["same"] == 1
    assert [(o.option, o.old, o.new) for o in diff.option_changes] == [("protect", False, True)]
    assert "Option changes (no cloud operation):" in text(diff)


# --- secrets --------------------------------------------------------------------------------


def test_secret_values_are_compared_but_never_shown() -> None:
    base = graph(res(RDS, "db", {"password": secret("hunter2"), "conf": {"a": 1}}))
    head = graph(
        res(RDS, "db", {"password": secret("correct-horse"), "conf": {"a": 1, "t": secret("s3")}})
    )
    diff = diff_graphs(base, head)
    assert [(p.path, p.old, p.new) for p in only(diff).properties] == [
        ("password", "[secret]", "[secret]"),
        ("conf.t", None, "[secret]"),
    ]
    shown = text(diff) + json.dumps(diff.to_json())
    for value in ("hunter2", "correct-horse", "s3", SECRET_SIG):
        assert value not in shown


def test_a_value_becoming_secret_is_a_change_and_a_masked_file_is_stable() -> None:
    plain = graph(res(RDS, "db", {"password": "p"}))
    wrapped = graph(res(RDS, "db", {"password": secret("p")}))
    assert [(p.old, p.new) for p in only(diff_graphs(plain, wrapped)).properties] == [
        ("p", "[secret]")
    ]
    masked = graph(res(RDS, "db", {"password": secret("[secret]")}))
    assert diff_graphs(masked, copy.deepcopy(masked)).empty


def test_long_values_are_cut() -> None:
    assert value_text("x" * 200) == '"' + "x" * 56 + "..."
    assert len(value_text({"k": "v" * 100})) == 60
    assert value_text("short") == '"short"'


# --- aliases --------------------------------------------------------------------------------


def test_renamed_resource_with_a_name_alias_is_the_same_resource() -> None:
    base = graph(res(KEY, "old-key", {"description": "d"}))
    head = graph(res(KEY, "new-key", {"description": "d"}, aliases=[{"name": "old-key"}]))
    diff = diff_graphs(base, head)
    assert diff.changes == [] and diff.counts()["same"] == 1


def test_renamed_resource_without_alias_is_deleted_and_created() -> None:
    base = graph(res(KEY, "old-key", {"description": "d"}))
    head = graph(res(KEY, "new-key", {"description": "d"}))
    assert [c.op for c in diff_graphs(base, head).changes] == ["create", "delete"]


def test_aliased_resource_with_changed_inputs_is_an_update_naming_the_old_urn() -> None:
    base = graph(res(KEY, "old-key", {"description": "a"}))
    head = graph(res(KEY, "new-key", {"description": "b"}, aliases=[urn(KEY, "old-key")]))
    change = only(diff_graphs(base, head))
    assert (change.op, change.aliased_from) == ("update", urn(KEY, "old-key"))
    assert f"(same resource through an alias of {urn(KEY, 'old-key')})" in text(
        diff_graphs(base, head)
    )


def test_reparented_resource_with_root_parent_alias_is_the_same_resource() -> None:
    """Moved from the stack into a component: ``Alias(parent=ROOT_STACK_RESOURCE)``."""
    component = res(COMPONENT, "db")
    base = graph(component, res(RDS, "db-instance", {"engine": "postgres"}))
    moved = res(RDS, "db-instance", {"engine": "postgres"}, parent=component.urn)
    for alias in ({"parentUrn": STACK_URN}, {"noParent": True}):
        moved.options = {"aliases": [alias]}
        assert diff_graphs(base, graph(component, moved)).empty, alias
    moved.options = {}
    assert [c.op for c in diff_graphs(base, graph(component, moved)).changes] == [
        "create",
        "delete",
    ]


def test_reparented_resource_with_old_parent_urn_alias() -> None:
    old_parent, new_parent = res(COMPONENT, "db"), res("ttbt2:aws:Storage", "store")
    child = res(RDS, "instance", {"engine": "postgres"}, parent=old_parent.urn)
    moved = res(
        RDS,
        "instance",
        {"engine": "postgres"},
        parent=new_parent.urn,
        aliases=[{"parentUrn": old_parent.urn}],
    )
    diff = diff_graphs(graph(old_parent, child), graph(old_parent, new_parent, moved))
    assert [(c.op, c.name) for c in diff.changes] == [("create", "store")]


def test_children_inherit_their_renamed_parents_alias() -> None:
    """A component renamed with an alias takes its ``{name}-x`` children along, as the engine."""
    old_parent = res(COMPONENT, "db")
    child = res(RDS, "db-instance", {"engine": "postgres"}, parent=old_parent.urn)
    new_parent = res(COMPONENT, "database", aliases=[{"name": "db"}])
    renamed_child = res(RDS, "database-instance", {"engine": "postgres"}, parent=new_parent.urn)
    diff = diff_graphs(graph(old_parent, child), graph(new_parent, renamed_child))
    assert diff.changes == [] and diff.counts()["same"] == 2
    unaliased = res(COMPONENT, "database")
    diff = diff_graphs(graph(old_parent, child), graph(unaliased, renamed_child))
    assert sorted(c.op for c in diff.changes) == ["create", "create", "delete", "delete"]


def test_alias_parent_that_was_itself_aliased_means_its_old_urn() -> None:
    """Moved out of a renamed component: the alias's parent stands for that parent's old URN."""
    old_parent = res(COMPONENT, "db")
    child = res(RDS, "instance", parent=old_parent.urn)
    # URNs carry the parent's type, not its name: the parent changes type too.
    renamed_parent = res("ttbt2:aws:Db", "database", aliases=[{"name": "db", "type": COMPONENT}])
    other = res("ttbt2:aws:Storage", "store")
    moved = res(RDS, "instance", parent=other.urn, aliases=[{"parentUrn": renamed_parent.urn}])
    diff = diff_graphs(graph(old_parent, child), graph(renamed_parent, other, moved))
    assert [(c.op, c.name) for c in diff.changes] == [("create", "store")]


def test_root_stack_parent_in_an_alias_means_no_parent() -> None:
    """Against a state recorded with engine URNs (no stack segment), as a real stack has."""
    component = res(COMPONENT, "db")
    state = Resource(urn=PREFIX + RDS + "::db-instance", type=RDS, name="db-instance")
    moved = res(RDS, "db-instance", parent=component.urn, aliases=[{"parentUrn": STACK_URN}])
    diff = diff_graphs(graph(state), graph(component, moved))
    assert [(c.op, c.name) for c in diff.changes] == [("create", "db")]


def test_engine_urns_drop_the_stack_and_keep_the_whole_parent_chain() -> None:
    outer = res(COMPONENT, "db")
    inner = res("ttbt2:aws:Inner", "in", parent=outer.urn)
    leaf = res(RDS, "leaf", parent=inner.urn)
    engine = engine_urns(graph(outer, inner, leaf))
    assert engine[outer.urn] == PREFIX + "ttbt2:aws:Database::db"
    assert engine[leaf.urn] == PREFIX + "ttbt2:aws:Database$ttbt2:aws:Inner$" + RDS + "::leaf"
    # An old URN written the engine's way finds the recorded resource too.
    head = graph(res(RDS, "renamed", aliases=[PREFIX + RDS + "::old"]))
    assert diff_graphs(graph(res(RDS, "old")), head).empty


def _recorder() -> Recorder:
    recorder = Recorder(PlatformMocks(region="eu-west-1", preview=False))
    recorder.stack_urn = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev"
    return recorder


_REQUEST = SimpleNamespace(
    parent="urn:pulumi:dev::p::ttbt2:aws:Database::db",
    type="aws:rds/instance:Instance",
    name="db-instance",
)


def test_recorder_keeps_an_alias_urn_as_given() -> None:
    assert _recorder()._alias_urn(alias_pb2.Alias(urn="urn:old"), _REQUEST) == "urn:old"


@pytest.mark.parametrize(
    ("alias", "recorded"),
    [
        # A spec's empty fields mean "as now": the resource's own parent, type and name.
        (
            alias_pb2.Alias(spec=alias_pb2.Alias.Spec(name="n")),
            "ttbt2:aws:Database$aws:rds/instance:Instance::n",
        ),
        (
            alias_pb2.Alias(spec=alias_pb2.Alias.Spec(type="t", noParent=True)),
            "pulumi:pulumi:Stack$t::db-instance",
        ),
        (
            alias_pb2.Alias(
                spec=alias_pb2.Alias.Spec(name="n", parentUrn="urn:pulumi:dev::p::x:y:Z::old")
            ),
            "x:y:Z$aws:rds/instance:Instance::n",
        ),
    ],
)
def test_recorder_resolves_alias_specs_to_old_urns(alias: Any, recorded: str) -> None:
    # The mock engine's URNs carry the stack and project of the current run; what the alias
    # decides is the part after them: the parent's type, the type and the name.
    resolved = _recorder()._alias_urn(alias, _REQUEST)
    assert resolved.startswith("urn:pulumi:")
    assert resolved.split("::", 2)[2] == recorded


def test_recorded_sdk_type_aliases_name_the_old_type() -> None:
    """The SDK's own type alias of a bucket is recorded as the URN of the old type."""
    buckets = [r for r in render("dev").resources if r.type == "aws:s3/bucket:Bucket"]
    assert buckets
    for bucket in buckets:
        old = bucket.urn.replace("aws:s3/bucket:Bucket::", "aws:s3/bucketV2:BucketV2::")
        assert old in bucket.option("aliases")


# --- data at risk ---------------------------------------------------------------------------


def test_protected_and_data_holding_deletions_come_first_and_stand_out() -> None:
    role = res("aws:iam/role:Role", "role")
    protected_key = res(KEY, "key", protect=True)
    bucket = res("aws:s3/bucket:Bucket", "bucket", {"bucket": "b"})
    db = res(RDS, "db", {"engine": "postgres"})
    base = graph(role, protected_key, bucket, db)
    head = graph(
        res("aws:iam/role:Role", "role2"),
        res(RDS, "db", {"engine": "mysql"}),
    )
    diff = diff_graphs(base, head)
    assert {c.name for c in diff.at_risk} == {"key", "bucket", "db"}
    lines = render_diff(diff)
    risk = lines.index(next(line for line in lines if line.startswith("!! DATA AT RISK")))
    changes = lines.index("Changes:")
    assert risk < changes
    section = "\n".join(lines[risk:changes])
    assert "-  aws:kms/key:Key  key  (delete) [protect] [holds data]" in section
    assert "+- aws:rds/instance:Instance  db  (replace) [holds data]" in section
    assert "protected: `pulumi up` refuses to delete it until unprotected" in section
    assert "role" not in section
    assert "aws:iam/role:Role  role  (delete)" in "\n".join(lines[changes:])
    assert diff.to_json()["atRisk"] == [c.urn for c in diff.at_risk]


def test_a_retained_data_holding_resource_is_not_at_risk_unless_protected() -> None:
    """``retainOnDelete``: the engine drops it from the state and leaves it in the cloud."""
    bucket = "aws:s3/bucket:Bucket"
    retained = res(bucket, "kept", retainOnDelete=True)
    protected = res(bucket, "guarded", retainOnDelete=True, protect=True)
    diff = diff_graphs(graph(retained, protected), graph())
    assert [c.name for c in diff.at_risk] == ["guarded"]
    assert "-  aws:s3/bucket:Bucket  kept  (delete) [holds data] [retained in the cloud]" in text(
        diff
    )


def test_a_plain_update_of_a_data_holding_resource_is_not_at_risk() -> None:
    base = graph(res(RDS, "db", {"instanceClass": "a"}, protect=True))
    head = graph(res(RDS, "db", {"instanceClass": "b"}, protect=True))
    diff = diff_graphs(base, head)
    assert diff.at_risk == [] and "DATA AT RISK" not in text(diff)


def test_every_rule_names_its_source() -> None:
    for type_, rule in REPLACE_ON_CHANGES.items():
        assert rule.source.startswith("https://github.com/"), type_
        assert rule.paths or rule.removal_only, type_
    assert rule_for("aws:ec2/vpc:Vpc") is None
    assert rule_for("kubernetes:helm.sh/v3:Release") is not None


# --- command line ---------------------------------------------------------------------------


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def write(path: Path, diff_graph: StackGraph) -> Path:
    _write_graph(copy.deepcopy(diff_graph), path)
    return path


def test_cli_prints_the_diff_writes_json_and_exits_0(tmp_path: Path) -> None:
    base = write(tmp_path / "base.json", graph(res(KEY, "k", {"description": "a"})))
    head = write(tmp_path / "head.json", graph(res(KEY, "k", {"description": "b"})))
    out = tmp_path / "diff.json"
    code, printed = run("diff", str(base), str(head), "--json", str(out))
    assert code == EXIT_OK
    assert f"Diff of stack 'dev' (ttbt2-platform): {base} -> {head}" in printed
    assert "Resources: ~ 1 to update, 0 unchanged" in printed
    doc = json.loads(out.read_text())
    assert doc["summary"]["update"] == 1
    assert doc["changes"][0]["properties"] == [
        {"path": "description", "kind": "update", "old": "a", "new": "b", "replaces": False}
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot read file"),
        ("{not json", "not valid JSON (line 1"),
        ('{"stack": "dev"}', "missing required field 'resources'"),
        ('{"stack": "dev", "resources": [{"type": "aws:kms/key:Key"}]}', "resources[0]: missing"),
        (
            '{"stack": "dev", "resources": [{"urn": "urn:pulumi:dev::p::t::n", "options": {"aliases": [3]}}]}',
            "options.aliases[0] must be a URN string or an alias object",
        ),
    ],
)
def test_cli_unreadable_input_is_exit_2_with_one_line(
    tmp_path: Path, content: str | None, words: str
) -> None:
    good = write(tmp_path / "good.json", graph(res(KEY, "k")))
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    for argv in (("diff", str(good), str(bad)), ("diff", str(bad), str(good))):
        code, printed = run(*argv)
        assert code == EXIT_USAGE
        assert printed.count("\n") == 1 and printed.startswith(f"error: {bad}")
        assert words in printed and "Traceback" not in printed


def test_cli_unwritable_json_output_is_exit_2(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", graph(res(KEY, "k")))
    code, printed = run("diff", str(good), str(good), "--json", str(tmp_path / "no" / "d.json"))
    assert code == EXIT_USAGE and "cannot write the JSON diff" in printed


def test_alias_objects_with_unknown_fields_are_refused(tmp_path: Path) -> None:
    from offline.graph import load_graph

    doc = {
        "stack": "dev",
        "resources": [{"urn": urn(KEY, "k"), "options": {"aliases": [{"nmae": "x"}]}}],
    }
    path = tmp_path / "g.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(GraphFileError, match=r"unknown field 'nmae' \(allowed: name, type"):
        load_graph(path)


def test_real_stack_graph_against_itself_is_empty(tmp_path: Path) -> None:
    dev = render("dev")
    base = write(tmp_path / "base.json", dev)
    head = write(tmp_path / "head.json", dev)
    code, printed = run("diff", str(base), str(head))
    assert code == EXIT_OK
    assert printed.rstrip().endswith(f"Resources: no changes ({len(dev.resources)} unchanged)")
