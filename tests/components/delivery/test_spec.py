"""The ``ttbt2:services`` model, its cross-service rules and the rollback bound (seed 4.10.1)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from components.delivery.rollback import (
    ABORT_SCALE_DOWN_DELAY_SECONDS,
    DEREGISTRATION_DELAY_SECONDS,
    QUERY_TIMEOUT_SECONDS,
    ROLLBACK_LIMIT_SECONDS,
    SCRAPE_INTERVAL_SECONDS,
    TRAFFIC_SHIFT_SECONDS,
    rollback_breakdown,
)
from components.delivery.spec import (
    CanaryStep,
    ServicesError,
    ServiceSpec,
    check_services,
    min_replicas_floor,
    parse_quantity,
    parse_services,
)
from components.k8s.pod_security import (
    container_security_context,
    http_probe,
    pod_security_context,
    restricted_pod_fields,
)

DIGEST = "sha256:" + "ab" * 32
BASE: dict[str, Any] = {"name": "api", "image": "ttbt2/api:1.4.2", "publicPaths": ["/api"]}


def entry(**overrides: Any) -> dict[str, Any]:
    """A valid raw entry (camelCase, as in the stack file) with ``overrides``."""
    return {**copy.deepcopy(BASE), **overrides}


def problems(environment: str, *entries: dict[str, Any]) -> list[tuple[str, object, str]]:
    with pytest.raises(ServicesError) as info:
        parse_services(environment, list(entries))
    return info.value.problems


def keys(environment: str, *entries: dict[str, Any]) -> list[str]:
    return [key for key, _, _ in problems(environment, *entries)]


def spec(**overrides: Any) -> ServiceSpec:
    return ServiceSpec.model_validate(entry(**overrides))


# ---- parsing ---------------------------------------------------------------------------------


def test_a_minimal_entry_gets_the_documented_defaults() -> None:
    [svc] = parse_services("prod", [entry()])
    assert (svc.port, svc.health_path, svc.metrics_path) == (8080, "/healthz", "/metrics")
    assert (svc.min_replicas, svc.max_replicas, svc.target_cpu_utilization) == (2, 6, 70)
    assert svc.canary.analysis.starting_step == 1
    assert svc.slo.success_rate == 0.99 and svc.slo.p95_latency_ms == 1000
    assert svc.aws_permissions == []
    assert svc.resources.requests.cpu == "250m" and svc.resources.limits.memory == "512Mi"


def test_camel_case_keys_set_the_fields_and_unknown_keys_are_refused() -> None:
    [svc] = parse_services(
        "prod",
        [entry(healthPath="/ready", minReplicas=3, canary={"analysis": {"failureLimit": 1}})],
    )
    assert svc.health_path == "/ready" and svc.min_replicas == 3
    assert svc.canary.analysis.failure_limit == 1
    assert keys("prod", entry(replicas=3)) == ["services[0].replicas"]


@pytest.mark.parametrize(
    "image",
    [
        "ttbt2/api:1.4.2",
        f"ttbt2/api@{DIGEST}",
        f"ttbt2/api:1.4.2@{DIGEST}",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ttbt2/api:2026.11.28-abc123",
        "registry.local:5000/ttbt2/api:v3",
    ],
)
def test_pinned_images_are_accepted(image: str) -> None:
    assert spec(image=image).image == image


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("ttbt2/api:latest", "moving tag 'latest'"),
        ("ttbt2/api", "no tag or digest"),
        ("registry.local:5000/ttbt2/api", "no tag or digest"),
        ("ttbt2/api:", "no tag or digest"),
        ("ttbt2/api@sha256:abc", "digest must be sha256:<64 hex>"),
        ("TTBT2/API:1.0", "is not a repository"),
        ("ttbt2/api:-bad", "is not a tag"),
    ],
)
def test_unpinned_images_are_errors_naming_the_key_and_what_is_allowed(
    image: str, reason: str
) -> None:
    [(key, value, allowed)] = problems("dev", entry(), entry(name="web", image=image))
    assert key == "services[1].image"
    assert value == image
    assert reason in allowed
    assert "<repository>@sha256:<64 hex digits> or <repository>:<tag>" in allowed


@pytest.mark.parametrize(
    ("permission", "key", "reason"),
    [
        ({"actions": ["*"], "resources": ["*"]}, "actions", "grants a whole service"),
        ({"actions": ["s3:*"], "resources": ["arn:aws:s3:::b/*"]}, "actions", "whole service"),
        ({"actions": ["iam:*"], "resources": ["arn:aws:iam::1:role/x"]}, "actions", "whole"),
        (
            {"actions": ["iam:PassRole"], "resources": ["arn:aws:iam::123456789012:role/x"]},
            "actions",
            "may not use IAM actions",
        ),
        ({"actions": ["s3 GetObject"], "resources": ["arn:aws:s3:::b/*"]}, "actions", "IAM action"),
        (
            {"actions": ["s3:GetObject"], "resources": ["*"]},
            "",
            "name the ARNs for s3:GetObject",
        ),
        ({"actions": ["s3:GetObject"], "resources": ["my-bucket"]}, "", "must be an ARN"),
        ({"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::*"]}, "", "must be an ARN"),
    ],
)
def test_broad_or_unscoped_aws_permissions_are_errors_naming_the_key(
    permission: dict[str, Any], key: str, reason: str
) -> None:
    [(got_key, _, allowed)] = problems("dev", entry(awsPermissions=[permission]))
    assert got_key == "services[0].awsPermissions[0]" + (f".{key}" if key else "")
    assert reason in allowed


def test_scoped_permissions_and_unscopable_actions_on_star_make_the_role_policy() -> None:
    svc = spec(
        awsPermissions=[
            {"actions": ["s3:GetObject", "s3:PutObject"], "resources": ["arn:aws:s3:::b/u/*"]},
            {"actions": ["cloudwatch:PutMetricData"], "resources": ["*"]},
        ]
    )
    assert svc.iam_policy_document() == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": ["arn:aws:s3:::b/u/*"],
            },
            {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": ["*"]},
        ],
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Decimal("0.25")),
        ("1.5", Decimal("1.5")),
        ("512Mi", Decimal(512 * 2**20)),
        ("1Gi", Decimal(2**30)),
        ("1e3", Decimal(1000)),
        ("2k", Decimal(2000)),
    ],
)
def test_quantities_parse_as_kubernetes_does(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


def test_limits_below_requests_and_bad_quantities_are_errors() -> None:
    low = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
    [(key, _, allowed)] = problems("dev", entry(resources=low))
    assert key == "services[0].resources"
    assert "limits.memory (512Mi) must be at least requests.memory (1Gi)" in allowed
    bad = {"requests": {"cpu": "lots", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}
    [(key, _, allowed)] = problems("dev", entry(resources=bad))
    assert key == "services[0].resources.requests.cpu" and "not a Kubernetes quantity" in allowed


def test_a_step_is_exactly_one_action() -> None:
    [(key, _, allowed)] = problems(
        "dev", entry(canary={"steps": [{"setWeight": 10, "pauseSeconds": 30}]})
    )
    assert key == "services[0].canary.steps[0]" and "exactly one of" in allowed
    assert keys("dev", entry(canary={"steps": [{"setWeight": 0}]})) == [
        "services[0].canary.steps[0].setWeight"
    ]
    assert CanaryStep(set_weight=20).to_argo() == {"setWeight": 20}
    assert CanaryStep(pause_seconds=30).to_argo() == {"pause": {"duration": 30}}
    assert CanaryStep(pause_until_promoted=True).to_argo() == {"pause": {}}


def test_metric_families_default_to_the_http_contract_and_ride_on_an_annotation() -> None:
    assert [(m.name, m.type) for m in spec().metrics] == [
        ("http_server_requests_seconds", "histogram")
    ]
    declared = spec(metrics=[{"name": "ttbt2_orders_total", "type": "counter"}])
    assert declared.metric_families_annotation() == {
        "ttbt2.io/metric-families": '[{"name":"ttbt2_orders_total","type":"counter"}]'
    }


@pytest.mark.parametrize(
    ("family", "key", "words"),
    [
        ({"name": "orders", "type": "counter"}, "services[0].metrics[0]", "must end in _total"),
        ({"name": "a-b", "type": "gauge"}, "services[0].metrics[0]", "is not a metric name"),
        ({"name": "x_bucket", "type": "histogram"}, "services[0].metrics[0]", "without _bucket"),
        ({"name": "x", "type": "timer"}, "services[0].metrics[0].type", "'counter', 'gauge'"),
        ({"name": "x"}, "services[0].metrics[0].type", "Field required"),
    ],
)
def test_bad_metric_families_are_errors_naming_the_key(
    family: dict[str, Any], key: str, words: str
) -> None:
    [(found, _, allowed)] = problems("dev", entry(metrics=[family]))
    assert found == key and words in allowed


def test_metric_families_are_unique_and_not_empty() -> None:
    twice = [{"name": "g", "type": "gauge"}, {"name": "g", "type": "gauge"}]
    [(key, _, allowed)] = problems("dev", entry(metrics=twice))
    assert key == "services[0].metrics" and "repeated: g" in allowed
    assert keys("dev", entry(metrics=[])) == ["services[0].metrics"]


@pytest.mark.parametrize("port", [80, 0, 70000])
def test_privileged_or_invalid_ports_are_refused(port: int) -> None:
    assert keys("dev", entry(port=port)) == ["services[0].port"]


# ---- cross-service rules ---------------------------------------------------------------------


def test_duplicate_names_are_reported_on_the_second() -> None:
    [(key, value, allowed)] = problems(
        "dev", entry(), entry(publicPaths=["/other"], healthPath="/other-health")
    )
    assert (key, value) == ("services[1].name", "api")
    assert "services[0] has it" in allowed


@pytest.mark.parametrize(("environment", "floor"), [("dev", 1), ("staging", 2), ("prod", 2)])
def test_min_replicas_floor_depends_on_the_environment(environment: str, floor: int) -> None:
    assert min_replicas_floor(environment) == floor
    parse_services(environment, [entry(minReplicas=floor)])
    if floor > 1:
        [(key, value, allowed)] = problems(environment, entry(minReplicas=floor - 1))
        assert (key, value) == ("services[0].minReplicas", floor - 1)
        assert f"at least {floor} in {environment}" in allowed


def test_max_replicas_below_min_replicas_is_an_error() -> None:
    [(key, value, allowed)] = problems("prod", entry(minReplicas=4, maxReplicas=3))
    assert (key, value) == ("services[0].maxReplicas", 3)
    assert "at least minReplicas (4)" in allowed


def test_starting_step_must_name_a_step() -> None:
    steps = [{"setWeight": 10}, {"pauseSeconds": 60}]
    raw = entry(canary={"steps": steps, "analysis": {"startingStep": 2}})
    [(key, value, allowed)] = problems("dev", raw)
    assert (key, value) == ("services[0].canary.analysis.startingStep", 2)
    assert "(0-1)" in allowed


def test_paths_shared_or_nested_across_services_are_errors() -> None:
    web = entry(name="web", publicPaths=["/api/v2"], healthPath="/web/healthz")
    [(key, value, allowed)] = problems("dev", entry(), web)
    assert (key, value) == ("services[1].publicPaths[0]", "/api/v2")
    assert "api (services[0]) serves /api" in allowed
    # The same health path on two services collides on the shared ALB too.
    other = entry(name="web", publicPaths=["/web"])
    assert keys("dev", entry(), other) == ["services[1].healthPath"]
    # Sibling prefixes are fine: /api and /apiary do not nest.
    parse_services("dev", [entry(), entry(name="web", publicPaths=["/apiary"], healthPath="/w")])


# ---- rollback bound --------------------------------------------------------------------------

FIXED = (
    SCRAPE_INTERVAL_SECONDS
    + QUERY_TIMEOUT_SECONDS
    + TRAFFIC_SHIFT_SECONDS
    + ABORT_SCALE_DOWN_DELAY_SECONDS
    + DEREGISTRATION_DELAY_SECONDS
)


def test_the_fixed_terms_are_the_configured_figures() -> None:
    # 15 s scrape + 10 s query + 60 s traffic shift + 30 s abort delay + 30 s deregistration.
    assert FIXED == 145


def test_default_canary_rolls_back_in_385_seconds() -> None:
    # Analysis from step 1 (after setWeight 10): no pause counts. 60 s initial delay,
    # 15 s lag, (2 + 1) x 60 s detection, then the fixed 10 + 60 + 30 + 30.
    breakdown = rollback_breakdown(spec())
    assert breakdown.pauses_before_analysis == 0
    assert breakdown.detection == 180
    assert breakdown.total_seconds == 385
    assert breakdown.within_limit
    assert breakdown.describe().endswith("= 385 s")
    assert breakdown.as_dict()["total_seconds"] == 385


def test_pauses_before_the_starting_step_count_and_later_ones_do_not() -> None:
    steps = [
        {"setWeight": 10},
        {"pauseSeconds": 120},
        {"setWeight": 50},
        {"pauseSeconds": 3600},  # after the analysis has started: it can abort any time
    ]
    analysis = {
        "startingStep": 2,
        "intervalSeconds": 30,
        "failureLimit": 3,
        "initialDelaySeconds": 45,
    }
    breakdown = rollback_breakdown(spec(canary={"steps": steps, "analysis": analysis}))
    # 120 pause + 45 delay + 15 lag + 4 x 30 detection + 10 + 60 + 30 + 30 = 430.
    assert breakdown.pauses_before_analysis == 120
    assert breakdown.detection == 120
    assert breakdown.total_seconds == 430


def test_a_manual_pause_before_the_analysis_makes_rollback_unbounded() -> None:
    steps = [{"setWeight": 10}, {"pauseUntilPromoted": True}, {"setWeight": 50}]
    raw = entry(canary={"steps": steps, "analysis": {"startingStep": 2}})
    breakdown = rollback_breakdown(ServiceSpec.model_validate(raw))
    assert breakdown.total_seconds is None and not breakdown.within_limit
    assert "step 1 waits for a manual promotion" in breakdown.unbounded_by
    [(key, value, allowed)] = problems("prod", raw)
    assert (key, value) == ("services[0].canary", None)
    assert "service api: rollback time is unbounded" in allowed
    # The same manual gate after the analysis starts is fine: the analysis can still abort.
    parse_services("prod", [entry(canary={"steps": steps, "analysis": {"startingStep": 1}})])


@pytest.mark.parametrize(("pause", "total"), [(214, 599), (215, 600), (400, 785)])
def test_rollback_must_complete_in_under_600_seconds(pause: int, total: int) -> None:
    # pause + 60 delay + 180 detection + 145 fixed (lag, query, shift, abort, drain) = +385.
    raw = entry(canary={"steps": [{"pauseSeconds": pause}, {"setWeight": 10}], "analysis": {}})
    assert rollback_breakdown(ServiceSpec.model_validate(raw)).total_seconds == total
    if total < ROLLBACK_LIMIT_SECONDS:
        parse_services("prod", [raw])
        return
    [(key, value, allowed)] = problems("prod", raw)
    assert (key, value) == ("services[0].canary", total)
    assert f"service api: worst-case rollback takes {total} s" in allowed
    assert "under 600 s" in allowed


def test_check_services_reports_every_problem_at_once() -> None:
    services = [
        spec(minReplicas=1),
        spec(
            name="api",
            publicPaths=["/api/x"],
            canary={"steps": [{"pauseSeconds": 900}, {"setWeight": 5}]},
        ),
    ]
    assert [key for key, _, _ in check_services("prod", services)] == [
        "services[0].minReplicas",
        "services[1].name",
        "services[1].canary",
        "services[1].publicPaths[0]",
        "services[1].healthPath",
    ]


# ---- pod security --------------------------------------------------------------------------


def test_security_contexts_are_restricted_with_a_high_uid() -> None:
    pod = pod_security_context()
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] >= 10000
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    container = container_security_context()
    assert container["allowPrivilegeEscalation"] is False
    assert container["readOnlyRootFilesystem"] is True
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["privileged"] is False
    fields = restricted_pod_fields()
    assert fields["automountServiceAccountToken"] is False
    assert not any(fields[k] for k in ("hostNetwork", "hostPID", "hostIPC"))
    with pytest.raises(ValueError, match="must be at least 10000"):
        pod_security_context(uid=1000)
    with pytest.raises(ValueError, match="must be at least 10000"):
        container_security_context(uid=0)


def test_http_probe() -> None:
    probe = http_probe("/healthz", "http", failure_threshold=6)
    assert probe["httpGet"] == {"path": "/healthz", "port": "http", "scheme": "HTTP"}
    assert probe["failureThreshold"] == 6
    with pytest.raises(ValueError, match="must start with /"):
        http_probe("healthz", 8080)
