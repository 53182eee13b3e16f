"""Observability: the metrics and logging stacks, rendered on the mock engine, checked offline.

Custom resources are checked against the vendored CRDs, core objects (and the pod templates the
trimmed ECK CRDs leave free-form) against the Kubernetes 1.33 schemas, and the Helm values
against the vendored values.yaml files (the grafana subchart's included).
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.aws.bucket import SecureBucket, SecureBucketArgs
from components.k8s.logs import (
    ECK_CHART_DIR,
    ECK_REPOSITORY,
    ECK_VALUES_FREE_FORM,
    ELASTIC_VERSION,
    ILM_POLICY,
    SETUP_SCRIPT,
    SNAPSHOT_REPOSITORY,
    LoggingSettings,
)
from components.k8s.metrics import (
    ALERTMANAGER_SECRETS_DIR,
    BREAK_GLASS_ANNOTATION,
    GRAFANA_ADMIN_DIR,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_CHART_DIR,
    PROMETHEUS_CHART_DIR,
    PROMETHEUS_REPOSITORY,
    PROMETHEUS_VALUES_COMMENTED,
    MetricsStackArgs,
    alertmanager_credential_problems,
)
from components.k8s.observability import CRD_DIRS, Observability, ObservabilityArgs
from components.k8s.observability_common import (
    ECK_NAMESPACE,
    SNAPSHOT_SERVICE_ACCOUNT,
    agents_namespace,
)
from components.monitoring import dashboards as dashboard_catalog
from offline.engine import run_program
from offline.graph import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, Resource, StackGraph
from tests.conftest import of_type, one
from tests.support.validate.crds import validate_custom_resource
from tests.support.validate.helm_values import load_chart_values, unknown_value_paths

K8S_VERSION = "1.33"
COMPONENT = "ttbt2:k8s:Observability"
RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE_PLACEHOLDER = "arn:aws:iam::123456789012:role/placeholder"
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"

RULE_GROUPS = [
    {
        "name": "ttbt2.availability",
        "rules": [
            {
                "alert": "ApiDown",
                "expr": 'up{job="api"} == 0',
                "for": "5m",
                "labels": {"severity": "critical"},
                "annotations": {"summary": "API down"},
            },
            {"record": "job:http_requests:rate5m", "expr": "sum by (job) (rate(x[5m]))"},
        ],
    }
]
ALERTMANAGER_CONFIG = {
    "route": {"receiver": "slack", "routes": [{"receiver": "pagerduty", "matchers": ["a=b"]}]},
    "receivers": [
        {
            "name": "slack",
            "slack_configs": [
                {"api_url_file": f"{ALERTMANAGER_SECRETS_DIR}/slack-api-url", "channel": "#ops"}
            ],
        },
        {
            "name": "pagerduty",
            "pagerduty_configs": [
                {"routing_key_file": f"{ALERTMANAGER_SECRETS_DIR}/pagerduty-routing-key"}
            ],
        },
    ],
}
SECRET_FILES = ("slack-api-url", "pagerduty-routing-key")
DASHBOARDS: dict[str, dict[str, Any]] = {
    "overview": {"title": "Overview", "panels": []},
    "api": {"title": "API"},
}

# Per environment: the metrics stack's arguments, then the logging stack's.
DEV: tuple[dict[str, Any], dict[str, Any]] = ({"environment": "dev"}, {})
PROD: tuple[dict[str, Any], dict[str, Any]] = (
    {
        "environment": "prod",
        "prometheus_replicas": 2,
        "retention_days": 30,
        "prometheus_storage_gb": 200,
        "alertmanager_replicas": 3,
        "storage_kms_key_arn": KMS_KEY,
        "grafana_break_glass_window": "2026-11-28",
    },
    {
        "elasticsearch_nodes": 3,
        "elasticsearch_storage_gb": 300,
        "kibana_replicas": 2,
        "log_retention_days": 30,
    },
)
ENVS = {"dev": DEV, "prod": PROD}


def make_args(
    env: tuple[dict[str, Any], dict[str, Any]], bucket: Any, role_arn: Any
) -> ObservabilityArgs:
    metrics, logging = env
    return ObservabilityArgs(
        metrics=MetricsStackArgs(
            rule_groups=copy.deepcopy(RULE_GROUPS),
            alertmanager_config=copy.deepcopy(ALERTMANAGER_CONFIG),
            alertmanager_secret_name="alertmanager-receivers",
            alertmanager_secret_files=SECRET_FILES,
            dashboards=copy.deepcopy(DASHBOARDS),
            **metrics,
        ),
        logging=LoggingSettings(snapshot_bucket=bucket, snapshot_role_arn=role_arn, **logging),
    )


_cache: dict[tuple[str, bool], tuple[StackGraph, Observability]] = {}


def render(env_name: str, *, preview: bool) -> tuple[StackGraph, Observability]:
    """Render the component with a real bucket and role, as the caller wires them."""
    key = (env_name, preview)
    if key not in _cache:
        built: dict[str, Observability] = {}

        def program() -> None:
            tags = {"environment": env_name}
            bucket = SecureBucket("snapshots", SecureBucketArgs(tags=tags, kms_key_arn=KMS_KEY))
            role = aws.iam.Role("es-snapshots", assume_role_policy="{}", tags=tags)
            provider = k8s.Provider("k8s", kubeconfig="{}")
            built["obs"] = Observability(
                "obs",
                make_args(ENVS[env_name], bucket.id, role.arn),
                opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
            )

        graph = run_program(program, project="ttbt2-platform", stack=env_name, preview=preview)
        _cache[key] = (graph, built["obs"])
    return _cache[key]


CASES = [
    pytest.param(env, preview, id=f"{env}-{'preview' if preview else 'up'}")
    for env in ENVS
    for preview in (True, False)
]


def unwrap(value: Any) -> Any:
    """Recorded props with secret envelopes replaced by their (masked-free) values."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return unwrap(value["value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def as_object(resource: Resource) -> dict[str, Any]:
    return unwrap(copy.deepcopy(resource.props))


def release(graph: StackGraph, chart: str) -> Resource:
    found = [r for r in of_type(graph, RELEASE) if r.props["chart"] == chart]
    assert len(found) == 1
    return found[0]


def custom(graph: StackGraph, kind: str) -> Resource:
    found = [r for r in graph.resources if r.type.endswith(f":{kind}") and r.custom]
    found = [r for r in found if r.type.startswith("kubernetes:")]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def chart_yaml(chart_dir: Any) -> dict[str, Any]:
    return dict(yaml.safe_load((chart_dir / "Chart.yaml").read_text()))


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


KSM_CHART_DIR = PROMETHEUS_CHART_DIR / "charts" / "kube-state-metrics"


def prometheus_unknown_paths(values: dict[str, Any]) -> list[str]:
    """Unknown paths of kube-prometheus-stack values; ``grafana.*`` against parent + subchart."""
    parent = load_chart_values(PROMETHEUS_CHART_DIR)
    subcharts = {"grafana": GRAFANA_CHART_DIR, "kube-state-metrics": KSM_CHART_DIR}
    own = {k: v for k, v in values.items() if k not in subcharts}
    problems = unknown_value_paths(own, parent, set())
    # A subchart's values are checked against its own values.yaml, as the parent sets it.
    for key, chart_dir in subcharts.items():
        if key in values:
            chart = deep_merge(load_chart_values(chart_dir), parent[key])
            problems += [f"{key}.{p}" for p in unknown_value_paths(values[key], chart, set())]
    return sorted(p for p in problems if p not in PROMETHEUS_VALUES_COMMENTED)


# ---- schemas -------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_every_custom_resource_matches_the_vendored_crds(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    resources = [
        r
        for r in graph.resources
        if r.type.startswith("kubernetes:")
        and (".k8s.elastic.co/" in r.type or "monitoring.coreos.com/" in r.type)
    ]
    assert sorted(r.props["kind"] for r in resources) == [
        "Beat",
        "Elasticsearch",
        "Kibana",
        "PrometheusRule",
    ]
    for resource in resources:
        obj = as_object(resource)
        assert validate_custom_resource(obj, CRD_DIRS, unknown_marker=UNKNOWN) == [], resource.name
        # The check is live: a misspelt spec field is caught.
        broken = copy.deepcopy(obj)
        first = sorted(broken["spec"])[0]
        broken["spec"][first + "x"] = broken["spec"].pop(first)
        assert validate_custom_resource(broken, CRD_DIRS, unknown_marker=UNKNOWN)


def _pod(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    for container in spec["containers"]:
        container.setdefault("image", "example")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_free_form_pod_templates_pass_the_pod_schema(env: str, preview: bool) -> None:
    """The trimmed ECK CRDs do not type podTemplate, so the Pod schema checks it instead."""
    graph, _ = render(env, preview=preview)
    es = as_object(custom(graph, "Elasticsearch"))["spec"]["nodeSets"][0]["podTemplate"]["spec"]
    beat = as_object(custom(graph, "Beat"))["spec"]["daemonSet"]["podTemplate"]["spec"]
    for name, template in (("es", es), ("beat", beat)):
        spec = json.loads(json.dumps(template).replace(UNKNOWN, ROLE_PLACEHOLDER))
        assert kubernetes_validate.validate(_pod(name, spec), K8S_VERSION, strict=True)
    broken = copy.deepcopy(es)
    broken["containers"][0]["volumeMount"] = broken["containers"][0].pop("volumeMounts")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(_pod("es", broken), K8S_VERSION, strict=True)


CORE_TYPES = [
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Secret",
    "kubernetes:storage.k8s.io/v1:StorageClass",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    "kubernetes:batch/v1:Job",
]


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_core_objects_pass_the_kubernetes_schema(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    core = [r for r in graph.resources if r.type in CORE_TYPES]
    assert len(core) == 3 + 2 + 3 + 1 + 1 + 1 + 1 + 1
    for resource in core:
        obj = as_object(resource)
        for key in ("stringData", "data"):
            if obj.get(key) == UNKNOWN:  # a whole map not known in a first preview
                del obj[key]
        if obj["kind"] == "Job":
            obj["metadata"]["name"] = "elasticsearch-setup"  # Pulumi auto-names it
        obj = json.loads(json.dumps(obj).replace(UNKNOWN, "unknown"))
        assert kubernetes_validate.validate(obj, K8S_VERSION, strict=True) == K8S_VERSION, (
            resource.name
        )


# ---- the split into a metrics and a logging stack ------------------------------------------

FORMER_ROLES = {
    "namespace",
    "agents-namespace",
    "eck-namespace",
    "storage-class",
    "grafana-admin",
    "prometheus-stack",
    "rules",
    "dashboard-api",
    "dashboard-overview",
    "eck-operator",
    "snapshot-sa",
    "elasticsearch",
    "kibana",
    "filebeat-sa",
    "filebeat-role",
    "filebeat-binding",
    "filebeat",
    "es-setup",
    "es-setup-job",
}
"""Roles of the children the component had before the split (``obs-<role>``), all kept."""


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_every_child_keeps_its_former_urn_as_an_alias(env: str, preview: bool) -> None:
    graph, obs = render(env, preview=preview)
    component = one(graph, COMPONENT)
    stacks = {r.type: r for r in graph.resources if r.parent == component.urn}
    assert sorted(stacks) == ["ttbt2:k8s:LoggingStack", "ttbt2:k8s:MetricsStack"]
    children = [
        r for r in graph.resources if r.custom and r.type.startswith(("kubernetes:", "random:"))
    ]
    roles = set()
    for child in children:
        # The provider adds aliases of its own for former API versions of some types.
        (alias,) = [a for a in child.options["aliases"] if a.split("::")[2].endswith(child.type)]
        former_parent, former_name = alias.split("::")[2:4]
        assert former_parent == f"{COMPONENT}${child.type}", alias
        assert alias != child.urn
        roles.add(former_name.removeprefix("obs-"))
    # Generated in every stack now; it carries the alias its dev-stack ancestor had.
    assert roles == FORMER_ROLES | {"grafana-admin-password"}
    assert len(roles) == len(children)
    assert obs.namespace_name == "monitoring"
    assert obs.agents_namespace_name == "monitoring-node-agents"
    assert obs.eck_namespace_name == ECK_NAMESPACE


# ---- namespaces, storage, secrets ----------------------------------------------------------


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_namespaces_keep_host_access_to_the_node_agents_namespace(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    levels = {
        r.props["metadata"]["name"]: r.props["metadata"]["labels"]
        for r in of_type(graph, "kubernetes:core/v1:Namespace")
    }
    enforce = {ns: labels["pod-security.kubernetes.io/enforce"] for ns, labels in levels.items()}
    assert enforce == {
        "monitoring": "baseline",
        "monitoring-node-agents": "privileged",
        ECK_NAMESPACE: "restricted",
    }
    assert levels["monitoring"]["pod-security.kubernetes.io/warn"] == "restricted"
    values = release(graph, "kube-prometheus-stack").props["values"]
    assert values["prometheus-node-exporter"]["namespaceOverride"] == "monitoring-node-agents"
    beat = custom(graph, "Beat").props
    assert beat["metadata"]["namespace"] == agents_namespace("monitoring")
    eck = release(graph, "eck-operator").props
    assert eck["values"]["managedNamespaces"] == ["monitoring", "monitoring-node-agents"]


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_storage_class_is_encrypted_ebs(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    sc = one(graph, "kubernetes:storage.k8s.io/v1:StorageClass").props
    assert sc["metadata"]["name"] == "gp3-encrypted"
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"]["encrypted"] == "true"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    if env == "prod":
        assert sc["parameters"]["kmsKeyId"] == KMS_KEY
        assert sc["reclaimPolicy"] == "Retain"
    else:
        assert "kmsKeyId" not in sc["parameters"]
        assert sc["reclaimPolicy"] == "Delete"


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_grafana_admin_password_is_recorded_as_a_secret(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    secret = one(graph, "kubernetes:core/v1:Secret").props
    assert secret["metadata"]["name"] == GRAFANA_ADMIN_SECRET
    envelope = secret["stringData"]
    assert envelope[SECRET_SIG_KEY] == SECRET_SIG
    # Generated in every stack, never read from Vault (seed 4.9.1).
    (password,) = of_type(graph, "random:index/randomPassword:RandomPassword")
    assert password.props["length"] >= 32
    if not preview:
        assert envelope["value"]["admin-password"].startswith("offline")
        assert envelope["value"]["admin-user"] == "admin"
    values = release(graph, "kube-prometheus-stack").props["values"]["grafana"]
    assert values["admin"] == {
        "existingSecret": GRAFANA_ADMIN_SECRET,
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    assert "adminPassword" not in values


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_break_glass_password_rotates_with_its_window(env: str) -> None:
    """A new window replaces the password (keeper) and restarts Grafana (pod annotation)."""
    graph, _ = render(env, preview=False)
    (password,) = of_type(graph, "random:index/randomPassword:RandomPassword")
    values = release(graph, "kube-prometheus-stack").props["values"]["grafana"]
    if env == "prod":
        assert password.props["keepers"] == {"rotationWindow": "2026-11-28"}
        assert values["podAnnotations"] == {BREAK_GLASS_ANNOTATION: "2026-11-28"}
    else:
        assert "keepers" not in password.props and "podAnnotations" not in values
    # Every start resets the admin's password (Grafana keeps it in its database) to the file.
    command = values["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    assert "admin reset-admin-password --password-from-stdin" in command[2]
    assert f"< {GRAFANA_ADMIN_DIR}/admin-password" in command[2]


# ---- kube-prometheus-stack -----------------------------------------------------------------


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_charts_are_the_vendored_versions(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    for chart_dir, repo, namespace in (
        (PROMETHEUS_CHART_DIR, PROMETHEUS_REPOSITORY, "monitoring"),
        (ECK_CHART_DIR, ECK_REPOSITORY, ECK_NAMESPACE),
    ):
        chart = chart_yaml(chart_dir)
        props = release(graph, chart["name"]).props
        assert props["version"] == chart["version"]
        assert props["repositoryOpts"] == {"repo": repo}
        assert props["namespace"] == namespace
        assert props["atomic"] is True and props.get("createNamespace") is False
        assert not props.get("skipCrds")
    assert chart_yaml(PROMETHEUS_CHART_DIR)["version"] == "88.5.3"
    assert chart_yaml(ECK_CHART_DIR)["version"] == "3.5.0"


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_every_helm_value_path_exists_in_the_vendored_values(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    values = release(graph, "kube-prometheus-stack").props["values"]
    assert prometheus_unknown_paths(values) == []
    eck_values = release(graph, "eck-operator").props["values"]
    assert (
        unknown_value_paths(eck_values, load_chart_values(ECK_CHART_DIR), set(ECK_VALUES_FREE_FORM))
        == []
    )
    # The checks are live, for the parent chart and for the grafana subchart.
    typo = copy.deepcopy(values)
    spec = typo["prometheus"]["prometheusSpec"]
    spec["replica"] = spec.pop("replicas")
    typo["grafana"]["persistance"] = typo["grafana"].pop("persistence")
    ksm = typo["kube-state-metrics"]
    ksm["customResourceStates"] = ksm.pop("customResourceState")
    assert prometheus_unknown_paths(typo) == [
        "grafana.persistance",
        "kube-state-metrics.customResourceStates",
        "prometheus.prometheusSpec.replica",
    ]


def test_the_commented_value_paths_are_documented_in_the_grafana_chart() -> None:
    text = (GRAFANA_CHART_DIR / "values.yaml").read_text()
    block = text[text.index("\npersistence:") :]
    block = block[: block.index("\n\n")]
    assert "# storageClassName:" in block
    assert "## Pod Annotations\n# podAnnotations: {}" in text
    assert sorted(PROMETHEUS_VALUES_COMMENTED) == [
        "grafana.persistence.storageClassName",
        "grafana.podAnnotations",
    ]


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_prometheus_and_alertmanager_are_sized_per_environment(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    values = release(graph, "kube-prometheus-stack").props["values"]
    spec = values["prometheus"]["prometheusSpec"]
    am = values["alertmanager"]["alertmanagerSpec"]
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3-encrypted"
    if env == "prod":
        assert (spec["replicas"], spec["retention"], am["replicas"]) == (2, "30d", 3)
        assert claim["resources"]["requests"]["storage"] == "200Gi"
        assert values["prometheus"]["podDisruptionBudget"]["enabled"] is True
        assert values["alertmanager"]["podDisruptionBudget"] == {"enabled": True, "minAvailable": 2}
    else:
        assert (spec["replicas"], spec["retention"], am["replicas"]) == (1, "7d", 1)
        assert claim["resources"]["requests"]["storage"] == "50Gi"
        assert values["prometheus"]["podDisruptionBudget"]["enabled"] is False
    assert am["storage"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "gp3-encrypted"
    grafana = values["grafana"]
    assert grafana["persistence"]["enabled"] is True
    assert grafana["persistence"]["storageClassName"] == "gp3-encrypted"


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_our_prometheus_rule_is_selected(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    spec = release(graph, "kube-prometheus-stack").props["values"]["prometheus"]["prometheusSpec"]
    for selector in ("rule", "serviceMonitor", "podMonitor", "probe"):
        assert spec[f"{selector}SelectorNilUsesHelmValues"] is False
        assert f"{selector}Selector" not in spec  # empty selector: every object
    rule = custom(graph, "PrometheusRule")
    assert rule.props["metadata"]["namespace"] == "monitoring"
    assert rule.props["spec"] == {"groups": RULE_GROUPS}
    assert release(graph, "kube-prometheus-stack").urn in rule.dependencies


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_alertmanager_config_mounts_the_secret_and_holds_no_credential(
    env: str, preview: bool
) -> None:
    graph, _ = render(env, preview=preview)
    am = release(graph, "kube-prometheus-stack").props["values"]["alertmanager"]
    assert am["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]
    config = am["config"]
    assert alertmanager_credential_problems(config, "alertmanager-receivers", SECRET_FILES) == []
    slack = config["receivers"][0]["slack_configs"][0]
    # The operator mounts each Secret in its own folder under /etc/alertmanager/secrets.
    assert slack["api_url_file"] == "/etc/alertmanager/secrets/alertmanager-receivers/slack-api-url"
    assert "api_url" not in slack
    text = json.dumps(config)
    assert "hooks.slack.com" not in text and SECRET_SIG_KEY not in text
    # What Helm renders: our config deep-merged over the chart's (lists replaced). Every
    # receiver a route names must exist, and no credential comes back from the defaults.
    chart_config = load_chart_values(PROMETHEUS_CHART_DIR)["alertmanager"]["config"]
    rendered = deep_merge(chart_config, config)
    receivers = {r["name"] for r in rendered["receivers"]}
    routes = [rendered["route"], *rendered["route"]["routes"]]
    assert {r["receiver"] for r in routes} <= receivers
    assert rendered["inhibit_rules"] == []
    assert alertmanager_credential_problems(rendered, "alertmanager-receivers", SECRET_FILES) == []


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"slack_configs": [{"api_url": "https://hooks.slack.com/services/T/B/X"}]}, "inline"),
        ({"pagerduty_configs": [{"routing_key": "abc"}]}, "inline"),
        ({"webhook_configs": [{"url": "https://example.com/hook?token=x"}]}, "inline"),
        ({"email_configs": [{"auth_password": "x", "to": "a@b.c"}]}, "inline"),
        ({"slack_configs": [{"api_url_file": "/tmp/slack"}]}, "mounted secret files"),
        ({"slack_configs": [{"api_url_file": f"{ALERTMANAGER_SECRETS_DIR}/nope"}]}, "mounted"),
    ],
)
def test_alertmanager_config_with_a_credential_is_refused(
    change: dict[str, Any], match: str
) -> None:
    config = {"route": {"receiver": "r"}, "receivers": [{"name": "r", **change}]}
    with pytest.raises(ValueError, match=match):
        replace(
            _base().metrics,
            alertmanager_config=config,
            alertmanager_secret_name="alertmanager-receivers",
            alertmanager_secret_files=SECRET_FILES,
        )


def test_credential_free_fields_that_share_a_name_are_accepted() -> None:
    config = {"receivers": [{"name": "j", "jira_configs": [{"api_url": "https://jira.example"}]}]}
    assert alertmanager_credential_problems(config, "s", ()) == []


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_dashboards_are_labelled_configmaps_the_sidecar_loads(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    sidecar = release(graph, "kube-prometheus-stack").props["values"]["grafana"]["sidecar"]
    dashboards = sidecar["dashboards"]
    assert dashboards["enabled"] is True
    label, value = dashboards["label"], dashboards["labelValue"]
    maps = {
        r.props["metadata"]["name"]: r
        for r in of_type(graph, "kubernetes:core/v1:ConfigMap")
        if r.props["metadata"]["labels"].get(label) == value
    }
    assert sorted(maps) == ["grafana-dashboard-api", "grafana-dashboard-overview"]
    for name, dashboard in DASHBOARDS.items():
        data = maps[f"grafana-dashboard-{name}"].props["data"]
        assert json.loads(data[f"{name}.json"]) == dashboard


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_dashboards_land_in_the_ttbt2_grafana_folder(env: str, preview: bool) -> None:
    """Dashboards land in the folder their ConfigMap annotation names.

    The sidecar files each ConfigMap under the folder its annotation names, and Grafana turns
    those directories into folders; the provider itself names no folder.
    """
    graph, _ = render(env, preview=preview)
    dashboards = release(graph, "kube-prometheus-stack").props["values"]["grafana"]["sidecar"][
        "dashboards"
    ]
    annotation = dashboards["folderAnnotation"]
    assert dashboards["provider"]["foldersFromFilesStructure"] is True
    chart = deep_merge(
        load_chart_values(GRAFANA_CHART_DIR),
        load_chart_values(PROMETHEUS_CHART_DIR)["grafana"],
    )
    provider = deep_merge(chart["sidecar"]["dashboards"]["provider"], dashboards["provider"])
    assert provider["folder"] == ""  # Grafana refuses a folder with foldersFromFilesStructure
    folders = {
        r.props["metadata"]["name"]: r.props["metadata"]["annotations"][annotation]
        for r in of_type(graph, "kubernetes:core/v1:ConfigMap")
        if r.props["metadata"]["labels"].get(dashboards["label"]) == dashboards["labelValue"]
    }
    assert folders == {f"grafana-dashboard-{name}": "TTBT2" for name in DASHBOARDS}


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_deployed_dashboards_are_the_catalog_config_maps(env: str, preview: bool) -> None:
    """One builder: what components.monitoring.dashboards.config_map returns is deployed."""
    graph, _ = render(env, preview=preview)
    deployed = {
        r.props["metadata"]["name"]: r.props
        for r in of_type(graph, "kubernetes:core/v1:ConfigMap")
        if r.props["metadata"]["name"].startswith("grafana-dashboard-")
    }
    for name, board in DASHBOARDS.items():
        built = dashboard_catalog.config_map(name, board, "monitoring", {"environment": env})
        props = deployed[built["metadata"]["name"]]
        assert props["metadata"] == built["metadata"]
        assert props["data"] == built["data"]


# ---- ECK -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_elasticsearch_is_sized_encrypted_and_keeps_tls(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    es = custom(graph, "Elasticsearch")
    spec = es.props["spec"]
    assert spec["version"] == ELASTIC_VERSION
    assert spec["http"]["tls"]["selfSignedCertificate"]["disabled"] is False
    (node_set,) = spec["nodeSets"]
    assert node_set["count"] == (3 if env == "prod" else 1)
    (claim,) = node_set["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "elasticsearch-data"
    assert claim["spec"]["storageClassName"] == "gp3-encrypted"
    size = "300Gi" if env == "prod" else "50Gi"
    assert claim["spec"]["resources"]["requests"]["storage"] == size
    assert release(graph, "eck-operator").urn in es.dependencies
    kibana = custom(graph, "Kibana").props["spec"]
    assert kibana["elasticsearchRef"] == {"name": es.props["metadata"]["name"]}
    assert kibana["count"] == (2 if env == "prod" else 1)
    assert kibana["version"] == ELASTIC_VERSION


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_elasticsearch_snapshots_use_the_irsa_service_account(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    accounts = {
        r.props["metadata"]["name"]: r.props
        for r in of_type(graph, "kubernetes:core/v1:ServiceAccount")
    }
    account = accounts[SNAPSHOT_SERVICE_ACCOUNT]
    assert account["metadata"]["namespace"] == "monitoring"
    role_arn = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    if preview:
        assert role_arn == UNKNOWN
    else:
        assert role_arn.startswith("arn:aws:iam::123456789012:role/")
    pod = custom(graph, "Elasticsearch").props["spec"]["nodeSets"][0]["podTemplate"]["spec"]
    assert pod["serviceAccountName"] == SNAPSHOT_SERVICE_ACCOUNT
    env_vars = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env_vars["AWS_ROLE_ARN"] == role_arn
    token = env_vars["AWS_WEB_IDENTITY_TOKEN_FILE"]
    assert token == "/usr/share/elasticsearch/config/repository-s3/aws-web-identity-token-file"
    (volume,) = pod["volumes"]
    source = volume["projected"]["sources"][0]["serviceAccountToken"]
    assert source["audience"] == "sts.amazonaws.com"
    assert source["path"] == token.rsplit("/", 1)[1]


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_setup_job_registers_ilm_repository_and_slm(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    (bodies,) = [
        r
        for r in of_type(graph, "kubernetes:core/v1:ConfigMap")
        if r.props["metadata"]["name"] == "elasticsearch-setup"
    ]
    if preview:
        # Only the repository waits for the bucket's name: the other bodies are known already.
        assert bodies.props["data"]["snapshot-repository.json"] == UNKNOWN
        assert "delete" in json.loads(bodies.props["data"]["ilm-policy.json"])["policy"]["phases"]
    else:
        data = bodies.props["data"]
        ilm = json.loads(data["ilm-policy.json"])["policy"]["phases"]
        assert ilm["delete"]["min_age"] == ("30d" if env == "prod" else "7d")
        repo = json.loads(data["snapshot-repository.json"])
        assert repo["type"] == "s3"
        assert repo["settings"]["base_path"] == f"elasticsearch/{env}"
        bucket = one(graph, "aws:s3/bucket:Bucket")
        # The bucket the caller created (its generated name), not a name written here.
        assert repo["settings"]["bucket"].startswith(bucket.props.get("bucketPrefix", bucket.name))
        assert bodies.property_dependencies.get("data") or bodies.dependencies
        assert "access_key" not in json.dumps(repo)
        slm = json.loads(data["slm-policy.json"])
        assert slm["repository"] == SNAPSHOT_REPOSITORY
    for path in (f"_ilm/policy/{ILM_POLICY}", f"_snapshot/{SNAPSHOT_REPOSITORY}", "_slm/policy/"):
        assert path in SETUP_SCRIPT
    job = one(graph, "kubernetes:batch/v1:Job")
    pod = job.props["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert "--cacert" in SETUP_SCRIPT and "--insecure" not in SETUP_SCRIPT
    assert "-k " not in SETUP_SCRIPT
    assert custom(graph, "Elasticsearch").urn in job.dependencies
    filebeat = custom(graph, "Beat").props["spec"]["config"]
    assert filebeat["setup.ilm.policy_name"] == ILM_POLICY


@pytest.mark.parametrize(("env", "preview"), CASES)
def test_filebeat_ships_container_logs_to_elasticsearch(env: str, preview: bool) -> None:
    graph, _ = render(env, preview=preview)
    beat = custom(graph, "Beat").props["spec"]
    assert beat["type"] == "filebeat"
    assert beat["version"] == ELASTIC_VERSION
    assert beat["elasticsearchRef"] == {"name": "logs", "namespace": "monitoring"}
    assert "deployment" not in beat
    (inp,) = beat["config"]["filebeat.inputs"]
    assert inp["paths"] == ["/var/log/containers/*.log"]
    pod = beat["daemonSet"]["podTemplate"]["spec"]
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert all(m["readOnly"] for m in mounts.values())
    binding = one(graph, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").props
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": pod["serviceAccountName"],
            "namespace": agents_namespace("monitoring"),
        }
    ]
    role = one(graph, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").props
    assert all(set(rule["verbs"]) <= {"get", "list", "watch"} for rule in role["rules"])


# ---- arguments -----------------------------------------------------------------------------


def _base() -> ObservabilityArgs:
    return ObservabilityArgs(
        metrics=MetricsStackArgs(environment="dev"),
        logging=LoggingSettings(snapshot_bucket="bucket", snapshot_role_arn=ROLE_PLACEHOLDER),
    )


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"environment": "Prod"}, "environment"),
        ({"namespace": "Monitoring"}, "namespace"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": "7d"}, "retention_days"),
        ({"prometheus_replicas": 0}, "prometheus_replicas"),
        ({"alertmanager_config": {"route": {"receiver": "x"}}}, "alertmanager_secret_name"),
        ({"alertmanager_secret_files": ("a",), "alertmanager_secret_values": {"b": "x"}}, "lacks"),
        ({"dashboards": {"Bad_Name": {}}}, "dashboard"),
    ],
)
def test_metrics_arguments_kubernetes_would_reject_are_refused(
    change: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        replace(_base().metrics, **change)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"elasticsearch_nodes": 0}, "elasticsearch_nodes"),
        ({"kibana_replicas": True}, "kibana_replicas"),
        ({"log_retention_days": -1}, "log_retention_days"),
    ],
)
def test_logging_arguments_kubernetes_would_reject_are_refused(
    change: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        replace(_base().logging, **change)


def test_retention_is_a_prometheus_duration_in_days() -> None:
    assert replace(_base().metrics, retention_days=45).retention == "45d"


def test_setup_job_is_replaced_when_a_body_changes() -> None:
    """The checksum annotation changes with the bodies, so the immutable Job is re-run."""
    checksums: list[str] = []
    for days in (7, 14):

        def program(days: int = days) -> None:
            provider = k8s.Provider("k8s", kubeconfig="{}")
            base = _base()
            Observability(
                "obs",
                replace(base, logging=replace(base.logging, log_retention_days=days)),
                opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
            )

        graph = run_program(program, project="ttbt2-platform", stack="dev", preview=True)
        job = one(graph, "kubernetes:batch/v1:Job").props
        checksums.append(job["spec"]["template"]["metadata"]["annotations"]["ttbt2/setup-checksum"])
    assert checksums[0] != checksums[1]
