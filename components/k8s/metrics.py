"""In-cluster metrics: Prometheus, Alertmanager and Grafana (kube-prometheus-stack).

Seed 4.4.1 (Prometheus, Grafana, Alertmanager). The chart is installed at the version vendored
under ``vendor/charts/kube-prometheus-stack``; every Helm value path we set is checked offline
against the vendored ``values.yaml`` (the grafana subchart's included) and the PrometheusRule
against the vendored CRDs.

The stack also creates what the logging stack (:mod:`components.k8s.logs`) shares with it (a
:class:`~components.k8s.observability_common.MonitoringPlacement`):

- ``<namespace>`` (``monitoring``) enforces **baseline** and audits/warns at **restricted**.
  Prometheus, Alertmanager, Grafana, kube-state-metrics, Elasticsearch and Kibana need no host
  access; ``restricted`` is not enforced because the charts and ECK do not all set
  ``seccompProfile``/``capabilities`` on every container (the warnings list them).
- ``<namespace>-node-agents`` enforces **privileged**. Only the two node agents run there:
  node-exporter (``hostNetwork``, ``hostPID``, host ``/`` mounted read-only; the chart's
  ``prometheus-node-exporter.namespaceOverride`` moves it out of the release namespace) and
  Filebeat (reads ``/var/log/{containers,pods}`` through ``hostPath`` as root). Keeping them
  apart means nothing else in the stack can gain host access by accident.
- The encrypted EBS StorageClass of every volume of both stacks.

Dashboards are ConfigMaps built by :func:`components.monitoring.dashboards.config_map`; the
Grafana sidecar loads them into the folder their annotation names (``TTBT2``). The Executive
dashboard is everyone's home dashboard. With single sign-on (:mod:`components.k8s.dashboard_sso`)
Grafana signs users in at the IdP, its client secret mounted from Secret ``grafana-oidc``, which
this stack creates from the value read in Vault.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.aliases import MovedFrom, moved_aliases
from components.k8s.charts import CHARTS_DIR
from components.k8s.dashboard_sso import (
    GRAFANA_OIDC_SECRET,
    GRAFANA_OIDC_SECRET_KEY,
    GrafanaSso,
    grafana_secret_mounts,
    grafana_sso_ini,
)
from components.k8s.observability_common import (
    DNS_LABEL,
    MONITORING_NAMESPACE,
    STORAGE_CLASS,
    MonitoringPlacement,
    agents_namespace,
    check_dns_labels,
    check_positive,
)
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs, labelled_namespace
from components.k8s.vpa_metrics import kube_state_metrics_values
from components.monitoring import dashboards as dashboard_catalog

PROMETHEUS_CHART = "kube-prometheus-stack"
PROMETHEUS_CHART_DIR = CHARTS_DIR / PROMETHEUS_CHART
PROMETHEUS_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
GRAFANA_CHART_DIR = PROMETHEUS_CHART_DIR / "charts" / "grafana"

GRAFANA_ADMIN_SECRET = "grafana-admin"
GRAFANA_ADMIN_USER = "admin"
GRAFANA_ADMIN_DIR = "/etc/secrets/grafana-admin"
"""Where Grafana reads its admin password from (Secret :data:`GRAFANA_ADMIN_SECRET`)."""
BREAK_GLASS_ANNOTATION = "ttbt2.io/break-glass-window"
"""Pod annotation carrying the password's rotation window: a new window restarts Grafana."""
RESET_ADMIN_PASSWORD = (
    # Grafana takes GF_SECURITY_ADMIN_PASSWORD only when it creates its database; afterwards the
    # admin's password lives there. So every start sets it from the mounted file, once the
    # server answers (its migrations done), and a failure only logs: Grafana serves SSO anyway.
    "for i in $(seq 60); do wget -q -O /dev/null http://localhost:3000/api/health && break; "
    "sleep 2; done; grafana cli --homepath /usr/share/grafana admin reset-admin-password "
    f"--password-from-stdin < {GRAFANA_ADMIN_DIR}/admin-password "
    "|| echo 'break-glass password not reset' >&2"
)
ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets"

SIDECAR_DASHBOARDS_DIR = "/tmp/dashboards"
"""Where the dashboards sidecar writes each dashboard, under its folder (set, not defaulted)."""
HOME_DASHBOARD = "executive"
"""The dashboard every user lands on: the stakeholders' Executive dashboard (seed 4.4.3)."""

GRAFANA_VALUES_FREE_FORM = frozenset({"grafana.ini"})
"""grafana subchart keys passed through whole: the chart renders every section below
``grafana.ini`` into Grafana's own configuration file, so Grafana's documentation, not the
chart's values.yaml, defines the keys there."""

PROMETHEUS_VALUES_COMMENTED = frozenset(
    {"grafana.persistence.storageClassName", "grafana.podAnnotations"}
)
"""kube-prometheus-stack paths accepted though values.yaml only documents them in a comment.

``grafana.persistence.storageClassName`` is the commented-out ``# storageClassName: default``
under ``persistence`` in the grafana subchart's values.yaml (the template reads it), and
``grafana.podAnnotations`` the commented-out ``# podAnnotations: {}`` under "Pod Annotations"
(the deployment template puts them on the pod).
"""

SECRET_KEYS = frozenset(
    {
        "api_key",  # opsgenie, victorops
        "api_secret",  # wechat
        "auth_password",  # email
        "auth_secret",  # email
        "bot_token",  # telegram
        "credentials",  # http_config.authorization
        "password",  # http_config.basic_auth
        "routing_key",  # pagerduty
        "service_key",  # pagerduty
        "token",  # pushover, rocketchat
        "user_key",  # pushover
        "webhook_url",  # discord, msteams, msteamsv2
        "secret_key",  # sns sigv4
        "client_secret",  # oauth2
        "bearer_token",
        "smtp_auth_password",
        "smtp_auth_secret",
        "slack_api_url",
        "opsgenie_api_key",
        "victorops_api_key",
        "wechat_api_secret",
        "telegram_bot_token",
    }
)
"""Alertmanager fields that hold a credential inline wherever they appear.

Each has a ``*_file`` twin that reads the credential from a mounted file instead.
"""
CONTEXT_SECRET_KEYS: dict[str, frozenset[str]] = {
    "slack_configs": frozenset({"api_url"}),  # the incoming-webhook URL is the credential
    "webhook_configs": frozenset({"url"}),  # webhook URLs often carry a token
}
"""Fields that are credentials only in some receivers (``api_url`` of Jira or Webex is not)."""


def alertmanager_credential_problems(
    config: Mapping[str, Any], secret_name: str, secret_files: tuple[str, ...]
) -> list[str]:
    """Why ``config`` is not credential-free: inline secrets or ``*_file`` paths not mounted.

    Every credential must be a ``*_file`` naming one of ``secret_files`` (the keys of Secret
    ``secret_name``) under :data:`ALERTMANAGER_SECRETS_DIR` or under its per-Secret folder
    ``/etc/alertmanager/secrets/<secret_name>``, where the operator actually mounts it.
    """
    problems: list[str] = []
    folders = {ALERTMANAGER_SECRETS_DIR, f"{ALERTMANAGER_SECRETS_DIR}/{secret_name}"}
    file_authenticated = _file_authenticated_webhooks(config)
    for path, key, value in _leaves(config, ()):
        where = ".".join([*path, key])
        parent = path[-2] if len(path) >= 2 and path[-1].isdigit() else ""
        inline = key in SECRET_KEYS or key in CONTEXT_SECRET_KEYS.get(parent, frozenset())
        if inline and path in file_authenticated and key == "url":
            # The webhook proves itself with a mounted credential file, so its URL carries no
            # token (Alertmanager 0.25 has no url_file for webhooks).
            inline = False
        if inline and value not in (None, ""):
            problems.append(f"{where}: inline credential; use {key}_file")
        elif key.endswith("_file") and key not in ("ca_file", "cert_file") and value:
            folder, _, file_name = str(value).rpartition("/")
            if folder not in folders or file_name not in secret_files:
                problems.append(
                    f"{where}: {value!r} is not one of the mounted secret files "
                    f"{ALERTMANAGER_SECRETS_DIR}/{{{', '.join(secret_files)}}}"
                )
    return problems


def _file_authenticated_webhooks(config: Mapping[str, Any]) -> set[tuple[str, ...]]:
    """Paths of webhook configs that authenticate with a credentials or password file."""
    paths: set[tuple[str, ...]] = set()
    for r, receiver in enumerate(config.get("receivers") or []):
        for w, hook in enumerate((receiver or {}).get("webhook_configs") or []):
            http = (hook or {}).get("http_config") or {}
            auth = http.get("authorization") or {}
            basic = http.get("basic_auth") or {}
            if auth.get("credentials_file") or basic.get("password_file"):
                paths.add(("receivers", str(r), "webhook_configs", str(w)))
    return paths


def _leaves(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(value, Mapping | list):
                yield from _leaves(value, (*path, str(key)))
            else:
                yield path, str(key), value
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _leaves(item, (*path, str(index)))


@dataclass(frozen=True)
class MetricsStackArgs:
    """Arguments of :class:`MetricsStack`.

    ``retention_days`` is how long Prometheus keeps samples. ``alertmanager_config`` is a
    rendered Alertmanager configuration whose credentials are all ``*_file`` paths under
    ``/etc/alertmanager/secrets``; ``alertmanager_secret_name`` names a Secret of ``namespace``
    holding ``alertmanager_secret_files``, created here from ``alertmanager_secret_values``
    when those are given (else provided by another component). ``dashboards`` are Grafana
    dashboard models by name. ``moved_from`` is where the children were before this stack
    existed (the observability composition): each then carries an alias to its former URN.
    """

    environment: str
    namespace: str = MONITORING_NAMESPACE
    prometheus_replicas: int = 1
    retention_days: int = 7
    prometheus_storage_gb: int = 50
    alertmanager_replicas: int = 1
    alertmanager_storage_gb: int = 5
    storage_class: str = STORAGE_CLASS
    storage_kms_key_arn: pulumi.Input[str] | None = None
    grafana_break_glass_window: str = ""
    """Rotation window of Grafana's generated break-glass admin password
    (:func:`components.rotation.rotation_window`): a new window replaces the password and
    restarts Grafana, which then resets the admin's password to it. Empty: never rotated."""
    grafana_storage_gb: int = 10
    rule_groups: list[dict[str, Any]] = field(default_factory=list)
    alertmanager_config: dict[str, Any] = field(default_factory=dict)
    alertmanager_secret_name: str = ""
    alertmanager_secret_files: tuple[str, ...] = ()
    alertmanager_secret_values: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Receiver credentials read from Vault at deploy time, by file name; when given, the
    stack creates ``alertmanager_secret_name`` with them (each value stays a secret)."""
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    grafana_sso: GrafanaSso | None = None
    """Single sign-on of Grafana; None keeps the local admin as the only way in."""
    grafana_oidc_client_secret: pulumi.Input[str] | None = None
    """Grafana's OIDC client secret, read from Vault; required with ``grafana_sso``."""
    moved_from: MovedFrom | None = None

    def __post_init__(self) -> None:
        """Refuse what Kubernetes, the chart or the operator would reject, before creating."""
        check_dns_labels(
            environment=self.environment, namespace=self.namespace, storage_class=self.storage_class
        )
        if len(agents_namespace(self.namespace)) > 63:
            raise ValueError(f"namespace {self.namespace!r} is too long for its agents namespace")
        check_positive(
            prometheus_replicas=self.prometheus_replicas,
            retention_days=self.retention_days,
            prometheus_storage_gb=self.prometheus_storage_gb,
            alertmanager_replicas=self.alertmanager_replicas,
            alertmanager_storage_gb=self.alertmanager_storage_gb,
            grafana_storage_gb=self.grafana_storage_gb,
        )
        if self.alertmanager_config and not self.alertmanager_secret_name:
            raise ValueError("alertmanager_config needs alertmanager_secret_name to mount")
        if self.alertmanager_secret_name and not DNS_LABEL.match(self.alertmanager_secret_name):
            raise ValueError(
                f"alertmanager_secret_name must be a Secret name, "
                f"got {self.alertmanager_secret_name!r}"
            )
        problems = alertmanager_credential_problems(
            self.alertmanager_config,
            self.alertmanager_secret_name,
            tuple(self.alertmanager_secret_files),
        )
        if problems:
            raise ValueError("alertmanager_config: " + "; ".join(problems))
        if self.alertmanager_secret_values:
            missing = set(self.alertmanager_secret_files) - set(self.alertmanager_secret_values)
            if missing:
                raise ValueError(f"alertmanager_secret_values lacks {sorted(missing)}")
        for name in self.dashboards:
            if not DNS_LABEL.match(name) or len(name) > 45:
                raise ValueError(f"dashboard name {name!r} must be a DNS label of <= 45 chars")
        if self.grafana_sso is not None and self.grafana_oidc_client_secret is None:
            raise ValueError("grafana_sso needs grafana_oidc_client_secret (from Vault)")

    @property
    def retention(self) -> str:
        """The retention as a Prometheus duration (``<days>d``)."""
        return f"{self.retention_days}d"


def prometheus_stack_values(args: MetricsStackArgs) -> dict[str, Any]:
    """kube-prometheus-stack values.

    - Prometheus: replicas, retention and a PVC per replica on the encrypted StorageClass; the
      ``*SelectorNilUsesHelmValues: false`` switches make it select every PrometheusRule,
      ServiceMonitor, PodMonitor and Probe (not only the release's), so ours are picked up.
    - Alertmanager: replicas (an HA cluster when > 1), the given configuration (``config``,
      stored by the chart in a Secret) and the credentials Secret in ``alertmanagerSpec.secrets``.
    - Grafana: admin credentials from our Secret, dashboard sidecar on (ConfigMaps labelled
      ``grafana_dashboard: "1"`` in our namespace, each in the Grafana folder its
      ``grafana_folder`` annotation names), persistent storage on the StorageClass, the
      Executive dashboard as home (:func:`grafana_ini`), and single sign-on when configured.
    - node-exporter: moved to the privileged node-agents namespace.
    - kube-state-metrics: the VPA's recommendations as custom resource state metrics.
    - PodDisruptionBudgets whenever there is more than one replica.

    The operator mounts each Secret of ``alertmanagerSpec.secrets`` at
    ``/etc/alertmanager/secrets/<secret name>/``; the configuration's ``*_file`` paths are
    written as ``/etc/alertmanager/secrets/<key>``, so they are rewritten to include the
    Secret's directory here (see :func:`mounted_alertmanager_config`).
    """
    volume = {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": args.storage_class,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{args.prometheus_storage_gb}Gi"}},
            }
        }
    }
    alertmanager_volume = {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": args.storage_class,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{args.alertmanager_storage_gb}Gi"}},
            }
        }
    }
    alertmanager: dict[str, Any] = {
        "alertmanagerSpec": {
            "replicas": args.alertmanager_replicas,
            "storage": alertmanager_volume,
            "secrets": [args.alertmanager_secret_name] if args.alertmanager_secret_name else [],
        },
        "podDisruptionBudget": {
            "enabled": args.alertmanager_replicas > 1,
            "minAvailable": max(1, args.alertmanager_replicas - 1),
        },
    }
    if args.alertmanager_config:
        config = mounted_alertmanager_config(
            args.alertmanager_config, args.alertmanager_secret_name
        )
        # Helm deep-merges maps with the chart's default config and replaces lists. Setting
        # the lists the default fills keeps its routes (to its "null" receiver, which our
        # receivers list removes) and inhibit rules out of ours.
        config.setdefault("inhibit_rules", [])
        if isinstance(config.get("route"), dict):
            config["route"].setdefault("routes", [])
        alertmanager["config"] = config
    return {
        "prometheus": {
            "prometheusSpec": {
                "replicas": args.prometheus_replicas,
                "retention": args.retention,
                "storageSpec": volume,
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "externalLabels": {"environment": args.environment},
            },
            "podDisruptionBudget": {
                "enabled": args.prometheus_replicas > 1,
                "minAvailable": max(1, args.prometheus_replicas - 1),
            },
        },
        "alertmanager": alertmanager,
        "grafana": {
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            # The admin password is a file Grafana reads (the chart then passes it to no
            # container as an environment variable, CKV_K8S_35); the user name is no secret.
            "env": {
                "GF_SECURITY_ADMIN_USER": GRAFANA_ADMIN_USER,
                "GF_SECURITY_ADMIN_PASSWORD__FILE": f"{GRAFANA_ADMIN_DIR}/admin-password",
            },
            # The generated break-glass password becomes the admin's at every start, and a new
            # rotation window (the annotation) is a new start.
            "lifecycleHooks": {
                "postStart": {"exec": {"command": ["/bin/sh", "-c", RESET_ADMIN_PASSWORD]}}
            },
            **(
                {"podAnnotations": {BREAK_GLASS_ANNOTATION: args.grafana_break_glass_window}}
                if args.grafana_break_glass_window
                else {}
            ),
            "sidecar": {
                # Without the admin password the sidecars do not call Grafana's reload API:
                # Grafana rereads the provisioned dashboard files on its own (every 30 s by
                # default) and the datasources, which never change, at start.
                "datasources": {"skipReload": True},
                "dashboards": {
                    "enabled": True,
                    "skipReload": True,
                    "label": dashboard_catalog.SIDECAR_LABEL,
                    "labelValue": dashboard_catalog.SIDECAR_LABEL_VALUE,
                    "searchNamespace": args.namespace,
                    # The sidecar writes each ConfigMap's files under a directory named by
                    # this annotation, and Grafana turns the directories into folders.
                    "folderAnnotation": dashboard_catalog.FOLDER_ANNOTATION,
                    "provider": {"foldersFromFilesStructure": True},
                    "folder": SIDECAR_DASHBOARDS_DIR,
                },
            },
            "persistence": {
                "enabled": True,
                "type": "pvc",
                "storageClassName": args.storage_class,
                "size": f"{args.grafana_storage_gb}Gi",
            },
            # fsGroup 472 already makes the volume writable; no root init container.
            "initChownData": {"enabled": False},
            **grafana_ini(args),
        },
        "prometheus-node-exporter": {"namespaceOverride": agents_namespace(args.namespace)},
        # The VPA's recommendations for the right-sizing view (components/k8s/vpa_metrics.py).
        "kube-state-metrics": kube_state_metrics_values(),
    }


def home_dashboard_path(name: str) -> str:
    """The file the sidecar writes dashboard ``name`` to: ``<dir>/<folder>/<name>.json``."""
    return f"{SIDECAR_DASHBOARDS_DIR}/{dashboard_catalog.FOLDER}/{name}.json"


def grafana_ini(args: MetricsStackArgs) -> dict[str, Any]:
    """The grafana subchart's ``grafana.ini`` and secret mounts this stack sets.

    Helm merges these sections over the chart's own. The home dashboard is the Executive
    dashboard when the stack deploys it; single sign-on adds ``auth.generic_oauth`` and mounts
    Secret ``grafana-oidc`` read-only, so the client secret is a file Grafana reads
    (``$__file{...}``), never an environment variable.
    """
    ini: dict[str, Any] = {}
    if HOME_DASHBOARD in args.dashboards:
        ini["dashboards"] = {"default_home_dashboard_path": home_dashboard_path(HOME_DASHBOARD)}
    mounts = [
        {
            "name": "admin-password",
            "secretName": GRAFANA_ADMIN_SECRET,
            "mountPath": GRAFANA_ADMIN_DIR,
            "readOnly": True,
            "optional": False,
        }
    ]
    if args.grafana_sso is not None:
        ini.update(grafana_sso_ini(args.grafana_sso))
        mounts += grafana_secret_mounts()
    values: dict[str, Any] = {"extraSecretMounts": mounts}
    if ini:
        values["grafana.ini"] = ini
    return values


def mounted_alertmanager_config(config: Mapping[str, Any], secret_name: str) -> dict[str, Any]:
    """``config`` with ``/etc/alertmanager/secrets/<key>`` paths pointing into the mounted Secret.

    The prometheus-operator mounts Secret ``<secret_name>`` at
    ``/etc/alertmanager/secrets/<secret_name>/``, so a ``*_file`` written as
    ``/etc/alertmanager/secrets/<key>`` becomes ``/etc/alertmanager/secrets/<secret_name>/<key>``.
    """

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if (
                    str(key).endswith("_file")
                    and isinstance(value, str)
                    and value.startswith(f"{ALERTMANAGER_SECRETS_DIR}/")
                ):
                    file_name = value.rsplit("/", 1)[1]
                    out[key] = f"{ALERTMANAGER_SECRETS_DIR}/{secret_name}/{file_name}"
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return dict(walk(config))


def dashboard_config_maps(
    dashboards: Mapping[str, Mapping[str, Any]], namespace: str, labels: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """The ConfigMap manifest of each dashboard, by dashboard name, as the stack deploys them."""
    return {
        name: dashboard_catalog.config_map(name, dict(dashboard), namespace, labels=labels)
        for name, dashboard in sorted(dashboards.items())
    }


class MetricsStack(pulumi.ComponentResource):
    """Prometheus, Alertmanager and Grafana (kube-prometheus-stack), with our rules and dashboards.

    Also creates the monitoring namespace, the node agents' namespace and the encrypted
    StorageClass, which the logging stack shares (:attr:`placement`). The Kubernetes and random
    providers come from ``opts`` (``providers={"kubernetes": ..., "random": ...}``).
    """

    grafana_admin_secret: k8s.core.v1.Secret

    def __init__(
        self,
        name: str,
        args: MetricsStackArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ttbt2:k8s:MetricsStack", name, None, opts)
        ns = args.namespace
        agents_ns = agents_namespace(ns)
        labels = {"environment": args.environment}

        self.namespace_name = ns
        self.agents_namespace_name = agents_ns
        self.agents_namespace = labelled_namespace(
            f"{name}-agents-namespace",
            agents_ns,
            labels=labels,
            enforce="privileged",
            audit="privileged",
            opts=self._child(args.moved_from, "agents-namespace"),
        )
        self.storage_class = self._storage_class(name, args, labels)
        self.prometheus = self._prometheus(name, args, labels, self._grafana_password(name, args))
        self.namespace = self.prometheus.namespace
        self.prometheus_release = self.prometheus.release
        self.placement = MonitoringPlacement(
            environment=args.environment,
            namespace_name=ns,
            namespace=self.namespace,
            agents_namespace_name=agents_ns,
            agents_namespace=self.agents_namespace,
            storage_class_name=args.storage_class,
            storage_class=self.storage_class,
        )
        self.prometheus_rule = self._rules(name, args, labels)
        self.dashboards = self._dashboards(name, args, labels)

        self.register_outputs(
            {
                "namespace": ns,
                "agentsNamespace": agents_ns,
                "storageClass": args.storage_class,
                "grafanaAdminSecret": GRAFANA_ADMIN_SECRET,
                "dashboards": sorted(self.dashboards),
            }
        )

    def _child(
        self,
        moved: MovedFrom | None,
        role: str,
        *,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> pulumi.ResourceOptions:
        """Options of child ``role``: parent, waits, and the alias to where it was before."""
        return pulumi.ResourceOptions(
            parent=self, depends_on=depends_on, aliases=moved_aliases(moved, role)
        )

    def _storage_class(
        self, name: str, args: MetricsStackArgs, labels: dict[str, str]
    ) -> k8s.storage.v1.StorageClass:
        """The encrypted gp3 StorageClass, under the given KMS key if any, kept in prod."""
        parameters: dict[str, pulumi.Input[str]] = {
            "type": "gp3",
            "encrypted": "true",
            "csi.storage.k8s.io/fstype": "ext4",
        }
        if args.storage_kms_key_arn is not None:
            parameters["kmsKeyId"] = args.storage_kms_key_arn
        return k8s.storage.v1.StorageClass(
            f"{name}-storage-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.storage_class, labels=labels),
            provisioner="ebs.csi.aws.com",
            parameters=parameters,
            reclaim_policy="Retain" if args.environment == "prod" else "Delete",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=self._child(args.moved_from, "storage-class"),
        )

    def _grafana_password(self, name: str, args: MetricsStackArgs) -> pulumi.Input[str]:
        """Grafana's break-glass admin password: generated, replaced in each rotation window."""
        keepers = (
            {"rotationWindow": args.grafana_break_glass_window}
            if args.grafana_break_glass_window
            else None
        )
        generated = random.RandomPassword(
            f"{name}-grafana-admin-password",
            length=32,
            special=False,
            keepers=keepers,
            opts=pulumi.ResourceOptions.merge(
                self._child(args.moved_from, "grafana-admin-password"),
                pulumi.ResourceOptions(additional_secret_outputs=["result"]),
            ),
        )
        return pulumi.Output.secret(generated.result)

    def _secrets(
        self,
        name: str,
        args: MetricsStackArgs,
        labels: dict[str, str],
        password: pulumi.Input[str],
        namespace: k8s.core.v1.Namespace,
    ) -> list[pulumi.Resource]:
        """The Secrets the chart's values name, created in the namespace before it."""
        ns, moved = args.namespace, args.moved_from
        self.grafana_admin_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=GRAFANA_ADMIN_SECRET, namespace=ns, labels=labels
            ),
            type="Opaque",
            string_data={"admin-user": GRAFANA_ADMIN_USER, "admin-password": password},
            opts=self._child(moved, "grafana-admin", depends_on=[namespace]),
        )
        created: list[pulumi.Resource] = [self.grafana_admin_secret]
        if args.grafana_sso is not None and args.grafana_oidc_client_secret is not None:
            # Mounted by the chart (extraSecretMounts): it must exist before the release. Newer
            # than the split of the observability stack, so it has no former URN to alias.
            created.append(
                k8s.core.v1.Secret(
                    f"{name}-grafana-oidc",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=GRAFANA_OIDC_SECRET, namespace=ns, labels=labels
                    ),
                    type="Opaque",
                    string_data={
                        GRAFANA_OIDC_SECRET_KEY: pulumi.Output.secret(
                            args.grafana_oidc_client_secret
                        )
                    },
                    opts=self._child(None, "grafana-oidc", depends_on=[namespace]),
                )
            )
        if args.alertmanager_secret_values:
            created.append(
                k8s.core.v1.Secret(
                    f"{name}-alertmanager-receivers",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=args.alertmanager_secret_name, namespace=ns, labels=labels
                    ),
                    type="Opaque",
                    string_data={
                        key: pulumi.Output.secret(value)
                        for key, value in args.alertmanager_secret_values.items()
                    },
                    opts=self._child(moved, "alertmanager-receivers", depends_on=[namespace]),
                )
            )
        return created

    def _prometheus(
        self,
        name: str,
        args: MetricsStackArgs,
        labels: dict[str, str],
        password: pulumi.Input[str],
    ) -> NamespacedRelease:
        """The monitoring namespace and the kube-prometheus-stack release, after its Secrets."""
        moved = args.moved_from

        def secrets(namespace: k8s.core.v1.Namespace) -> list[pulumi.Resource]:
            return self._secrets(name, args, labels, password, namespace)

        return NamespacedRelease(
            f"{name}-prometheus-stack",
            NamespacedReleaseArgs(
                namespace=args.namespace,
                labels=labels,
                enforce="baseline",
                audit="restricted",
                chart=PROMETHEUS_CHART,
                chart_directory=PROMETHEUS_CHART_DIR,
                repository=PROMETHEUS_REPOSITORY,
                values=prometheus_stack_values(args),
                timeout=900,
                before_release=secrets,
                release_depends_on=[self.agents_namespace, self.storage_class],
                namespace_aliases=moved_aliases(moved, "namespace"),
                release_aliases=moved_aliases(moved, "prometheus-stack"),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _rules(
        self, name: str, args: MetricsStackArgs, labels: dict[str, str]
    ) -> k8s.apiextensions.CustomResource | None:
        """The PrometheusRule with the platform's rule groups, if there are any."""
        if not args.rule_groups:
            return None
        return k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="ttbt2-rules", namespace=args.namespace, labels=labels
            ),
            spec={"groups": list(args.rule_groups)},
            opts=self._child(args.moved_from, "rules", depends_on=[self.prometheus_release]),
        )

    def _dashboards(
        self, name: str, args: MetricsStackArgs, labels: dict[str, str]
    ) -> dict[str, k8s.core.v1.ConfigMap]:
        """One ConfigMap per dashboard, which Grafana's sidecar loads, keyed by dashboard name."""
        dashboards: dict[str, k8s.core.v1.ConfigMap] = {}
        for dash_name, manifest in dashboard_config_maps(
            args.dashboards, args.namespace, labels
        ).items():
            dashboards[dash_name] = k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{dash_name}",
                metadata=manifest["metadata"],
                data=manifest["data"],
                opts=self._child(
                    args.moved_from, f"dashboard-{dash_name}", depends_on=[self.namespace]
                ),
            )
        return dashboards
