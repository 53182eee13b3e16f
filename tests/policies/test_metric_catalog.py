"""The metric catalog: well-formed sources, versions that match the charts, derived names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.k8s import pushgateway
from policies.ttbt2_policies.metric_catalog import (
    ARGO_ROLLOUTS_2_41_0,
    CHARTS,
    CLOUDWATCH_DEFAULT_CONFIG,
    IMAGES,
    KUBE_PROMETHEUS_STACK_88_5_3,
    PIPELINE_FAMILIES,
    PIPELINE_SOURCE,
    CloudWatchConfigError,
    Family,
    Part,
    Producer,
    Toggle,
    chart_name,
    cloudwatch_entries,
    cloudwatch_families,
    cloudwatch_name,
    cloudwatch_origin,
    family_problem,
    image_key,
    newest,
    origins,
)
from scripts import deploy_event

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "vendor" / "charts"
PRODUCERS = [*CHARTS.values(), *IMAGES.values()]
GITHUB = re.compile(
    r"^https://github\.com/[\w.-]+/[\w.-]+/(blob|releases/tag)/(?P<ref>[^/]+)(/.+)?$"
)


PARTS = [(p, part) for p in PRODUCERS for part in p.parts]
PART_IDS = [f"{p.name}-{p.version}-{part.name}" for p, part in PARTS]


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _lookup(values: Any, path: str) -> Any:
    for key in path.split("."):
        values = values[key]
    return values


# --- sources -----------------------------------------------------------------------------------


@pytest.mark.parametrize("producer", PRODUCERS, ids=lambda p: f"{p.name}-{p.version}")
def test_producer_source_is_a_github_file_at_the_version_tag(producer: Producer) -> None:
    match = GITHUB.match(producer.source)
    assert match, producer.source
    assert producer.version.lstrip("v") in match["ref"] or producer.app_version in match["ref"]


@pytest.mark.parametrize("part", [part for _, part in PARTS], ids=PART_IDS)
def test_part_sources_are_files_at_the_part_version(part: Part) -> None:
    assert part.sources, "a part names where its families come from"
    for source in part.sources:
        match = GITHUB.match(source.url)
        if match is None:
            assert (ROOT / source.url).is_file(), f"{source.url} is neither upstream nor here"
            continue
        assert match.group(1) == "blob" and match.group(3), source.url
        assert match["ref"].lstrip("v") == part.version, (source.url, part.version)


@pytest.mark.parametrize("part", [part for _, part in PARTS], ids=PART_IDS)
def test_families_are_valid_names_listed_once(part: Part) -> None:
    names = [f.name for f in part.families()]
    assert len(names) == len(set(names)), names
    for family in part.families():
        # Prometheus' own ALERTS series is upper case but still a metric name.
        assert family_problem(family.name, family.kind) is None, family


def test_kube_prometheus_stack_entry_matches_the_vendored_chart() -> None:
    chart = _yaml(VENDOR / "kube-prometheus-stack" / "Chart.yaml")
    values = _yaml(VENDOR / "kube-prometheus-stack" / "values.yaml")
    subcharts = VENDOR / "kube-prometheus-stack" / "charts"
    entry = KUBE_PROMETHEUS_STACK_88_5_3
    assert (entry.version, entry.app_version) == (chart["version"], chart["appVersion"])
    parts = {p.name: p for p in entry.parts}
    for name, subchart in (
        ("kube-state-metrics", "kube-state-metrics"),
        ("node-exporter", "prometheus-node-exporter"),
    ):
        assert parts[name].version == _yaml(subcharts / subchart / "Chart.yaml")["appVersion"]
    prometheus = values["prometheus"]["prometheusSpec"]["image"]["tag"]
    alertmanager = values["alertmanager"]["alertmanagerSpec"]["image"]["tag"]
    assert prometheus.removeprefix("v").startswith(
        parts["Prometheus (scrape and rule series)"].version
    )
    assert alertmanager == "v" + parts["Alertmanager"].version


def test_argo_rollouts_entry_matches_the_vendored_chart() -> None:
    chart = _yaml(VENDOR / "argo-rollouts" / "Chart.yaml")
    entry = ARGO_ROLLOUTS_2_41_0
    assert (entry.version, entry.app_version) == (chart["version"], chart["appVersion"])


TOGGLES = [
    (name, toggle)
    for name, producer in (
        ("kube-prometheus-stack", KUBE_PROMETHEUS_STACK_88_5_3),
        ("argo-rollouts", ARGO_ROLLOUTS_2_41_0),
    )
    for part in producer.parts
    for toggle in part.toggles
]


@pytest.mark.parametrize(("chart", "toggle"), TOGGLES, ids=[f"{c}-{t.path}" for c, t in TOGGLES])
def test_toggles_are_chart_values_with_their_default(chart: str, toggle: Toggle) -> None:
    values = _yaml(VENDOR / chart / "values.yaml")
    subchart, _, rest = toggle.path.partition(".")
    subchart_values = VENDOR / chart / "charts" / subchart / "values.yaml"
    if subchart_values.is_file() and not _has(values, toggle.path):
        # A subchart's own default, which the parent chart leaves as it is.
        values, path = _yaml(subchart_values), rest
    else:
        path = toggle.path
    assert _lookup(values, path) is toggle.default


def _has(values: Any, path: str) -> bool:
    for key in path.split("."):
        if not isinstance(values, dict) or key not in values:
            return False
        values = values[key]
    return True


# --- the pipeline's families --------------------------------------------------------------------


def test_pipeline_families_are_what_deploy_event_pushes() -> None:
    state = deploy_event.apply(
        deploy_event.State(),
        deploy_event.Event("failure", True, 60.0, 30.0, rollback_seconds=45.0),
    )
    pushed = dict(
        re.findall(r"^# TYPE (\S+) (\S+)$", deploy_event.render(state), flags=re.MULTILINE)
    )
    assert pushed == {f.name: f.kind for f in PIPELINE_FAMILIES}
    assert PIPELINE_SOURCE == "scripts/deploy_event.py"


def test_the_pushgateway_image_is_catalogued() -> None:
    key = image_key(pushgateway.IMAGE)
    assert key is not None and key in IMAGES
    (pipeline,) = [p for p in IMAGES[key].parts if p.name == "delivery pipeline pushes"]
    assert pipeline.families() == PIPELINE_FAMILIES


# --- names and lookups --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "samples"),
    [
        (Family("h", "histogram"), ("h_bucket", "h_count", "h_sum")),
        (Family("s", "summary"), ("s", "s_count", "s_sum")),
        (Family("c_total", "counter"), ("c_total",)),
        (Family("g", "gauge"), ("g",)),
    ],
)
def test_family_samples(family: Family, samples: tuple[str, ...]) -> None:
    assert family.samples() == samples


@pytest.mark.parametrize(
    ("name", "kind", "problem"),
    [
        ("http_server_requests_seconds", "histogram", None),
        ("ttbt2_orders_total", "counter", None),
        ("ttbt2_orders", "counter", "must end in _total"),
        ("latency_seconds_bucket", "histogram", "named without _bucket"),
        ("rule:recorded:rate5m", "gauge", "is not a metric name"),
        ("9lives", "gauge", "is not a metric name"),
        ("x", "timer", "is not one of counter, gauge, histogram, summary"),
    ],
)
def test_family_problem(name: str, kind: str, problem: str | None) -> None:
    found = family_problem(name, kind)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    ("chart", "name"),
    [
        ("kube-prometheus-stack", "kube-prometheus-stack"),
        ("oci://public.ecr.aws/karpenter/karpenter", "karpenter"),
    ],
)
def test_chart_name(chart: str, name: str) -> None:
    assert chart_name(chart) == name


@pytest.mark.parametrize(
    ("image", "key"),
    [
        ("prom/pushgateway:v1.11.1", ("prom/pushgateway", "v1.11.1")),
        ("quay.io/prometheus/pushgateway:v1.11.1", ("prom/pushgateway", "v1.11.1")),
        ("docker.io/prom/pushgateway:v1.12.0@sha256:" + "a" * 64, ("prom/pushgateway", "v1.12.0")),
        ("registry:5000/team/app", None),
    ],
)
def test_image_key(image: str, key: tuple[str, str] | None) -> None:
    assert image_key(image) == key


def test_newest_picks_the_highest_version() -> None:
    table = {
        ("c", "1.9.0"): Producer("c", "1.9.0", "1", "u", ()),
        ("c", "1.10.0"): Producer("c", "1.10.0", "1", "u", ()),
    }
    found = newest(table, "c")
    assert found is not None and found.version == "1.10.0"
    assert newest(table, "other") is None


def test_origins_index_every_sample_of_every_family() -> None:
    index = origins()
    # The services' families come from their declarations, not from the catalog.
    assert "http_server_requests_seconds_bucket" not in index
    assert [o.producer for o in index["kube_pod_container_resource_limits"]] == [
        "kube-prometheus-stack"
    ]
    assert index["ttbt2_deployment_lead_time_seconds_bucket"][0].producer == "prom/pushgateway"
    assert index["probe_success"][0].probe_targets


# --- the CloudWatch exporter --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "metric", "statistic", "name"),
    [
        ("AWS/RDS", "ReadLatency", "Average", "aws_rds_read_latency_average"),
        ("AWS/WAFV2", "BlockedRequests", "Sum", "aws_wafv2_blocked_requests_sum"),
        ("AWS/ELB", "HealthyHostCount", "SampleCount", "aws_elb_healthy_host_count_sample_count"),
        # The exporter lowercases the namespace without snake-casing it.
        (
            "AWS/ApplicationELB",
            "TargetResponseTime",
            "p99",
            "aws_applicationelb_target_response_time_p99",
        ),
        (
            "AWS/ApplicationELB",
            "TargetResponseTime",
            "p99.9",
            "aws_applicationelb_target_response_time_p99_9",
        ),
        # No lower-case letter before the capitals: CPU stays one word.
        ("AWS/EC2", "CPUUtilization", "Maximum", "aws_ec2_cpuutilization_maximum"),
    ],
)
def test_cloudwatch_name(namespace: str, metric: str, statistic: str, name: str) -> None:
    assert cloudwatch_name(namespace, metric, statistic) == name


def test_cloudwatch_statistics_default_to_the_five_standard_ones() -> None:
    config = {"metrics": [{"aws_namespace": "AWS/RDS", "aws_metric_name": "ReadLatency"}]}
    assert [s for _, _, s in cloudwatch_entries(config)] == [
        "Sum",
        "SampleCount",
        "Minimum",
        "Maximum",
        "Average",
    ]


def test_cloudwatch_extended_statistics_alone_replace_the_default() -> None:
    rule = {
        "aws_namespace": "AWS/ELB",
        "aws_metric_name": "Latency",
        "aws_extended_statistics": ["p95"],
    }
    assert [f.name for f in cloudwatch_families({"metrics": [rule]})] == ["aws_elb_latency_p95"]


def test_cloudwatch_tag_select_adds_the_resource_info_series() -> None:
    rule = {
        "aws_namespace": "AWS/RDS",
        "aws_metric_name": "ReadLatency",
        "aws_statistics": ["Average"],
        "aws_tag_select": {"resource_type_selection": "rds:db", "resource_id_dimension": "X"},
    }
    names = [f.name for f in cloudwatch_families({"metrics": [rule]})]
    assert names == ["aws_rds_read_latency_average", "aws_resource_info"]


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"region": "eu-west-1"}, "must have a metrics list"),
        ([1], "must be a mapping"),
        ({"metrics": [{"aws_namespace": "AWS/RDS"}]}, "metrics[0] needs aws_namespace"),
        (
            {
                "metrics": [
                    {"aws_namespace": "AWS/RDS", "aws_metric_name": "X", "aws_statistics": ["Avg"]}
                ]
            },
            "'Avg' is not one of Sum",
        ),
        (
            {"metrics": [{"aws_namespace": "A", "aws_metric_name": "X", "aws_statistics": "Sum"}]},
            "aws_statistics must be a list",
        ),
    ],
)
def test_cloudwatch_configs_the_exporter_refuses(config: Any, problem: str) -> None:
    with pytest.raises(CloudWatchConfigError, match=re.escape(problem)):
        cloudwatch_entries(config)


def test_cloudwatch_default_config_is_the_charts() -> None:
    names = [f.name for f in cloudwatch_families(yaml.safe_load(CLOUDWATCH_DEFAULT_CONFIG))]
    assert names == [
        "aws_elb_healthy_host_count_average",
        "aws_elb_un_healthy_host_count_average",
        "aws_elb_request_count_sum",
        "aws_elb_latency_average",
        "aws_elb_surge_queue_length_maximum",
        "aws_elb_surge_queue_length_sum",
    ]


@pytest.mark.parametrize(
    ("name", "origin"),
    [
        ("aws_rds_read_latency_average", "AWS/RDS ReadLatency Average"),
        ("aws_wafv2_blocked_requests_sum", "AWS/WAFV2 BlockedRequests Sum"),
        (
            "aws_applicationelb_request_count_sample_count",
            "AWS/ApplicationELB RequestCount SampleCount",
        ),
        ("aws_unknown_thing_sum", None),
        ("kube_pod_info", None),
    ],
)
def test_cloudwatch_origin_reads_names_back(name: str, origin: str | None) -> None:
    assert cloudwatch_origin(name) == origin
    if origin is not None:
        namespace, metric, statistic = origin.split()
        assert cloudwatch_name(namespace, metric, statistic) == name
