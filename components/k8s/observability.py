"""In-cluster observability: Prometheus, Alertmanager, Grafana, and ELK with S3 snapshots.

Seeds 4.4.1 (Prometheus, Grafana, ELK, Alertmanager) and 4.7.1 (backups). Both charts are
installed at the versions vendored under ``vendor/charts`` (``kube-prometheus-stack`` and
``eck-operator``); every Helm value path we set is checked offline against the vendored
``values.yaml`` files, and every custom resource against the vendored CRDs.

Namespaces and Pod Security (decision):

- ``<namespace>`` (``monitoring``) enforces **baseline** and audits/warns at **restricted**.
  Prometheus, Alertmanager, Grafana, kube-state-metrics, Elasticsearch and Kibana need no host
  access; ``restricted`` is not enforced because the charts and ECK do not all set
  ``seccompProfile``/``capabilities`` on every container (the warnings list them).
- ``<namespace>-node-agents`` enforces **privileged**. Only the two node agents run there:
  node-exporter (``hostNetwork``, ``hostPID``, host ``/`` mounted read-only; the chart's
  ``prometheus-node-exporter.namespaceOverride`` moves it out of the release namespace) and
  Filebeat (reads ``/var/log/{containers,pods}`` through ``hostPath`` as root). Keeping them
  apart means nothing else in the stack can gain host access by accident.
- The ECK operator runs in ``elastic-system`` under **restricted**, and manages only the two
  namespaces above.

Elasticsearch (ECK): version :data:`ELASTIC_VERSION`, HTTP TLS on with the operator's
self-signed CA, data on the encrypted StorageClass, ``node.store.allow_mmap: false`` (no
privileged sysctl init container). Its pods run as service account
:data:`SNAPSHOT_SERVICE_ACCOUNT`, annotated with the caller's IRSA role; the web identity token is
projected where the ``s3`` repository reads it (``config/repository-s3``).

ILM, snapshot repository and snapshot schedule (decision): ECK cannot declare them (the
``StackConfigPolicy`` resource needs an Enterprise licence), so their JSON bodies live in a
ConfigMap and a Job PUTs them over the cluster's TLS endpoint as the ``elastic`` user (CA and
password from the Secrets ECK creates). The Job's pod template carries a hash of the bodies, so
any change replaces the Job and the bodies are PUT again. It registers:

- ILM policy :data:`ILM_POLICY` (rollover at 1 day/50 GB, delete after ``log_retention_days``);
  Filebeat is configured to use it (``setup.ilm.policy_name``). Filebeat never overwrites an
  existing policy, and the Job's PUT replaces one Filebeat created first.
- S3 repository :data:`SNAPSHOT_REPOSITORY` (``bucket``, ``base_path elasticsearch/<env>``,
  server-side encryption); registering it makes Elasticsearch verify write access.
- SLM policy :data:`SLM_POLICY`: nightly snapshots, kept ``snapshot_retention_days``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.k8s.charts import CHARTS_DIR, vendored_release
from components.k8s.pod_security import psa_labels

PROMETHEUS_CHART = "kube-prometheus-stack"
PROMETHEUS_CHART_DIR = CHARTS_DIR / PROMETHEUS_CHART
PROMETHEUS_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
GRAFANA_CHART_DIR = PROMETHEUS_CHART_DIR / "charts" / "grafana"
ECK_CHART = "eck-operator"
ECK_CHART_DIR = CHARTS_DIR / ECK_CHART
ECK_REPOSITORY = "https://helm.elastic.co"
ECK_NAMESPACE = "elastic-system"

ELASTIC_VERSION = "9.1.0"
"""Elasticsearch, Kibana and Filebeat version; ECK 3.5 manages 8.x and 9.x stacks."""
ELASTICSEARCH_NAME = "logs"
KIBANA_NAME = "logs"
FILEBEAT_NAME = "filebeat"
SNAPSHOT_SERVICE_ACCOUNT = "elasticsearch-snapshots"
"""Service account of the Elasticsearch pods; the caller's IRSA role must trust exactly it."""
SNAPSHOT_REPOSITORY = "s3-snapshots"
SLM_POLICY = "nightly-snapshots"
ILM_POLICY = "ttbt2-logs"
GRAFANA_ADMIN_SECRET = "grafana-admin"
GRAFANA_ADMIN_USER = "admin"
ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets"
SETUP_IMAGE = "curlimages/curl:8.11.1"
"""Image of the Job that registers ILM, the snapshot repository and SLM (uid 100, has sh)."""

PROMETHEUS_VALUES_COMMENTED = frozenset({"grafana.persistence.storageClassName"})
"""kube-prometheus-stack paths accepted though values.yaml only documents them in a comment.

``grafana.persistence.storageClassName`` is the commented-out ``# storageClassName: default``
under ``persistence`` in the grafana subchart's values.yaml (the template reads it).
"""
ECK_VALUES_FREE_FORM = frozenset({"podSecurityContext", "securityContext"})
"""Chart values passed through whole to the pod spec: Kubernetes types them, not values.yaml."""

CRD_DIRS = [PROMETHEUS_CHART_DIR / "crds", ECK_CHART_DIR / "crds"]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_PROM_DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?"
    r"(([0-9]+)s)?(([0-9]+)ms)?)$"
)

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


def agents_namespace(namespace: str) -> str:
    """The privileged namespace of the node agents (node-exporter, Filebeat)."""
    return f"{namespace}-node-agents"


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
class ObservabilityArgs:
    """Arguments of :class:`Observability`.

    ``alertmanager_config`` is a rendered Alertmanager configuration whose credentials are all
    ``*_file`` paths under ``/etc/alertmanager/secrets``; ``alertmanager_secret_name`` names a
    Secret of ``namespace`` provided by another component (synced from Vault), holding
    ``alertmanager_secret_files``. ``snapshot_role_arn`` is an IRSA role the caller creates for
    service account :data:`SNAPSHOT_SERVICE_ACCOUNT` of ``namespace``, limited to
    ``snapshot_bucket`` prefix ``elasticsearch/<environment>/``.
    """

    environment: str
    snapshot_bucket: pulumi.Input[str]
    snapshot_role_arn: pulumi.Input[str]
    namespace: str = "monitoring"
    prometheus_replicas: int = 1
    prometheus_retention: str = "7d"
    prometheus_storage_gb: int = 50
    alertmanager_replicas: int = 1
    alertmanager_storage_gb: int = 5
    storage_class: str = "gp3-encrypted"
    storage_kms_key_arn: pulumi.Input[str] | None = None
    grafana_admin_password: pulumi.Input[str] | None = None
    grafana_storage_gb: int = 10
    rule_groups: list[dict[str, Any]] = field(default_factory=list)
    alertmanager_config: dict[str, Any] = field(default_factory=dict)
    alertmanager_secret_name: str = ""
    alertmanager_secret_files: tuple[str, ...] = ()
    alertmanager_secret_values: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Receiver credentials read from Vault at deploy time, by file name; when given, the
    component creates ``alertmanager_secret_name`` with them (each value stays a secret)."""
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    elasticsearch_nodes: int = 1
    elasticsearch_storage_gb: int = 50
    kibana_replicas: int = 1
    log_retention_days: int = 7
    snapshot_retention_days: int = 30

    def __post_init__(self) -> None:
        """Refuse what Kubernetes, the charts or the operators would reject, before creating."""
        for what in ("environment", "namespace", "storage_class"):
            value = getattr(self, what)
            if not _DNS_LABEL.match(value):
                raise ValueError(f"{what} must be a DNS label, got {value!r}")
        if len(agents_namespace(self.namespace)) > 63:
            raise ValueError(f"namespace {self.namespace!r} is too long for its agents namespace")
        if not _PROM_DURATION.match(self.prometheus_retention) or self.prometheus_retention == "0":
            raise ValueError(
                f"prometheus_retention must be a duration like 7d or 30d, "
                f"got {self.prometheus_retention!r}"
            )
        for what in (
            "prometheus_replicas",
            "prometheus_storage_gb",
            "alertmanager_replicas",
            "alertmanager_storage_gb",
            "grafana_storage_gb",
            "elasticsearch_nodes",
            "elasticsearch_storage_gb",
            "kibana_replicas",
            "log_retention_days",
            "snapshot_retention_days",
        ):
            value = getattr(self, what)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{what} must be a positive integer, got {value!r}")
        if self.elasticsearch_nodes == 2:
            raise ValueError("elasticsearch_nodes must be 1 or at least 3 (master quorum)")
        if self.alertmanager_config and not self.alertmanager_secret_name:
            raise ValueError("alertmanager_config needs alertmanager_secret_name to mount")
        if self.alertmanager_secret_name and not _DNS_LABEL.match(self.alertmanager_secret_name):
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
        for name in self.dashboards:
            if not _DNS_LABEL.match(name) or len(name) > 45:
                raise ValueError(f"dashboard name {name!r} must be a DNS label of <= 45 chars")


def prometheus_stack_values(args: ObservabilityArgs) -> dict[str, Any]:
    """kube-prometheus-stack values.

    - Prometheus: replicas, retention and a PVC per replica on the encrypted StorageClass; the
      ``*SelectorNilUsesHelmValues: false`` switches make it select every PrometheusRule,
      ServiceMonitor, PodMonitor and Probe (not only the release's), so ours are picked up.
    - Alertmanager: replicas (an HA cluster when > 1), the given configuration (``config``,
      stored by the chart in a Secret) and the credentials Secret in ``alertmanagerSpec.secrets``.
    - Grafana: admin credentials from our Secret, dashboard sidecar on (ConfigMaps labelled
      ``grafana_dashboard: "1"`` in our namespace), persistent storage on the StorageClass.
    - node-exporter: moved to the privileged node-agents namespace.
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
                "retention": args.prometheus_retention,
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
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": "grafana_dashboard",
                    "labelValue": "1",
                    "searchNamespace": args.namespace,
                }
            },
            "persistence": {
                "enabled": True,
                "type": "pvc",
                "storageClassName": args.storage_class,
                "size": f"{args.grafana_storage_gb}Gi",
            },
            # fsGroup 472 already makes the volume writable; no root init container.
            "initChownData": {"enabled": False},
        },
        "prometheus-node-exporter": {"namespaceOverride": agents_namespace(args.namespace)},
    }


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


def eck_operator_values(managed_namespaces: list[str]) -> dict[str, Any]:
    """eck-operator values: manages only our namespaces, restricted pod, no telemetry."""
    return {
        "managedNamespaces": managed_namespaces,
        "installCRDs": True,
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "telemetry": {"disabled": True},
        "config": {"validateStorageClass": True},
    }


def ilm_policy(retention_days: int) -> dict[str, Any]:
    """Logs roll over daily (or at 50 GB per primary shard) and are deleted after retention."""
    return {
        "policy": {
            "phases": {
                "hot": {
                    "actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"}}
                },
                "delete": {"min_age": f"{retention_days}d", "actions": {"delete": {}}},
            }
        }
    }


def snapshot_repository(bucket: str, environment: str) -> dict[str, Any]:
    """The ``s3`` repository body: credentials come from IRSA (no keystore settings)."""
    return {
        "type": "s3",
        "settings": {
            "bucket": bucket,
            "base_path": f"elasticsearch/{environment}",
            "server_side_encryption": True,
        },
    }


def slm_policy(retention_days: int) -> dict[str, Any]:
    """Nightly snapshots of everything, kept ``retention_days`` (at least 5, at most 100)."""
    return {
        "schedule": "0 30 1 * * ?",
        "name": "<nightly-{now/d}>",
        "repository": SNAPSHOT_REPOSITORY,
        "config": {"indices": ["*"], "include_global_state": True},
        "retention": {"expire_after": f"{retention_days}d", "min_count": 5, "max_count": 100},
    }


SETUP_SCRIPT = f"""set -eu
put() {{
  curl --fail-with-body --silent --show-error \\
    --retry 60 --retry-delay 10 --retry-all-errors \\
    --cacert /etc/es-ca/ca.crt -u "elastic:$ELASTIC_PASSWORD" \\
    -X PUT -H 'Content-Type: application/json' --data @"/etc/es-setup/$1" "$ES_URL/$2"
  echo
}}
put ilm-policy.json _ilm/policy/{ILM_POLICY}
put snapshot-repository.json _snapshot/{SNAPSHOT_REPOSITORY}
put slm-policy.json _slm/policy/{SLM_POLICY}
"""
"""The Job's shell script: PUT each body, retrying while Elasticsearch starts."""


def elasticsearch_spec(args: ObservabilityArgs) -> dict[str, Any]:
    """The Elasticsearch spec: TLS on, one node set on the StorageClass, IRSA for snapshots."""
    token_dir = "/usr/share/elasticsearch/config/repository-s3"
    memory = "4Gi" if args.environment == "prod" else "2Gi"
    return {
        "version": ELASTIC_VERSION,
        "http": {"tls": {"selfSignedCertificate": {"disabled": False}}},
        "nodeSets": [
            {
                "name": "default",
                "count": args.elasticsearch_nodes,
                "config": {"node.store.allow_mmap": False},
                "podTemplate": {
                    "spec": {
                        "serviceAccountName": SNAPSHOT_SERVICE_ACCOUNT,
                        "automountServiceAccountToken": True,
                        "containers": [
                            {
                                "name": "elasticsearch",
                                "env": [
                                    {"name": "AWS_ROLE_ARN", "value": args.snapshot_role_arn},
                                    {
                                        "name": "AWS_WEB_IDENTITY_TOKEN_FILE",
                                        "value": f"{token_dir}/aws-web-identity-token-file",
                                    },
                                ],
                                "volumeMounts": [{"name": "aws-iam-token", "mountPath": token_dir}],
                                "resources": {
                                    "requests": {"cpu": "500m", "memory": memory},
                                    "limits": {"memory": memory},
                                },
                            }
                        ],
                        "volumes": [
                            {
                                "name": "aws-iam-token",
                                "projected": {
                                    "sources": [
                                        {
                                            "serviceAccountToken": {
                                                "audience": "sts.amazonaws.com",
                                                "expirationSeconds": 86400,
                                                "path": "aws-web-identity-token-file",
                                            }
                                        }
                                    ]
                                },
                            }
                        ],
                    }
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "elasticsearch-data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": args.storage_class,
                            "resources": {
                                "requests": {"storage": f"{args.elasticsearch_storage_gb}Gi"}
                            },
                        },
                    }
                ],
            }
        ],
    }


def filebeat_spec(args: ObservabilityArgs) -> dict[str, Any]:
    """Filebeat DaemonSet: container logs of every node, Kubernetes metadata, our ILM policy."""
    return {
        "type": "filebeat",
        "version": ELASTIC_VERSION,
        "elasticsearchRef": {"name": ELASTICSEARCH_NAME, "namespace": args.namespace},
        "config": {
            "filebeat.inputs": [
                {
                    "type": "filestream",
                    "id": "kubernetes-container-logs",
                    "paths": ["/var/log/containers/*.log"],
                    "prospector.scanner.symlinks": True,
                    "parsers": [{"container": {}}],
                    "processors": [
                        {
                            "add_kubernetes_metadata": {
                                "host": "${NODE_NAME}",
                                "matchers": [{"logs_path": {"logs_path": "/var/log/containers/"}}],
                            }
                        }
                    ],
                }
            ],
            "setup.ilm.policy_name": ILM_POLICY,
            "setup.ilm.overwrite": False,
        },
        "daemonSet": {
            "podTemplate": {
                "spec": {
                    "serviceAccountName": FILEBEAT_NAME,
                    "automountServiceAccountToken": True,
                    "securityContext": {"runAsUser": 0},
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        {
                            "name": "filebeat",
                            "env": [
                                {
                                    "name": "NODE_NAME",
                                    "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
                                }
                            ],
                            "volumeMounts": [
                                {
                                    "name": "varlogcontainers",
                                    "mountPath": "/var/log/containers",
                                    "readOnly": True,
                                },
                                {
                                    "name": "varlogpods",
                                    "mountPath": "/var/log/pods",
                                    "readOnly": True,
                                },
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "varlogcontainers", "hostPath": {"path": "/var/log/containers"}},
                        {"name": "varlogpods", "hostPath": {"path": "/var/log/pods"}},
                    ],
                }
            }
        },
    }


class Observability(pulumi.ComponentResource):
    """Prometheus, Alertmanager and Grafana (kube-prometheus-stack); Elasticsearch, Kibana and
    Filebeat (ECK); encrypted storage; Elasticsearch ILM and nightly S3 snapshots.

    The Kubernetes provider comes from ``opts`` (``providers={"kubernetes": ...}``).
    """

    def __init__(
        self,
        name: str,
        args: ObservabilityArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ttbt2:k8s:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        agents_ns = agents_namespace(ns)
        labels = {"environment": args.environment}

        def namespace(
            logical: str, ns_name: str, enforce: str, audit: str
        ) -> k8s.core.v1.Namespace:
            return k8s.core.v1.Namespace(
                f"{name}-{logical}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=ns_name, labels={**labels, **psa_labels(enforce, audit)}
                ),
                opts=child,
            )

        self.namespace = namespace("namespace", ns, "baseline", "restricted")
        self.agents_namespace = namespace("agents-namespace", agents_ns, "privileged", "privileged")
        self.eck_namespace = namespace("eck-namespace", ECK_NAMESPACE, "restricted", "restricted")
        self.namespace_name: str = ns
        """The monitoring namespace: Prometheus scrapes from it, other namespaces admit it."""
        self.namespace_names: tuple[str, ...] = (ns, agents_ns, ECK_NAMESPACE)
        """Every namespace this component creates."""
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        parameters: dict[str, pulumi.Input[str]] = {
            "type": "gp3",
            "encrypted": "true",
            "csi.storage.k8s.io/fstype": "ext4",
        }
        if args.storage_kms_key_arn is not None:
            parameters["kmsKeyId"] = args.storage_kms_key_arn
        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-storage-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.storage_class, labels=labels),
            provisioner="ebs.csi.aws.com",
            parameters=parameters,
            reclaim_policy="Retain" if args.environment == "prod" else "Delete",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=child,
        )

        if args.grafana_admin_password is not None:
            password: pulumi.Input[str] = pulumi.Output.secret(args.grafana_admin_password)
        else:
            generated = random.RandomPassword(
                f"{name}-grafana-admin-password",
                length=32,
                special=False,
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"]),
            )
            password = pulumi.Output.secret(generated.result)
        self.grafana_admin_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=GRAFANA_ADMIN_SECRET, namespace=ns, labels=labels
            ),
            type="Opaque",
            string_data={"admin-user": GRAFANA_ADMIN_USER, "admin-password": password},
            opts=in_ns,
        )

        stack_deps: list[pulumi.Resource] = [
            self.namespace,
            self.agents_namespace,
            self.storage_class,
            self.grafana_admin_secret,
        ]
        if args.alertmanager_secret_values:
            missing = set(args.alertmanager_secret_files) - set(args.alertmanager_secret_values)
            if missing:
                raise ValueError(f"alertmanager_secret_values lacks {sorted(missing)}")
            stack_deps.append(
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
                    opts=in_ns,
                )
            )
        self.prometheus_release = vendored_release(
            f"{name}-prometheus-stack",
            PROMETHEUS_CHART,
            PROMETHEUS_CHART_DIR,
            repository=PROMETHEUS_REPOSITORY,
            namespace=ns,
            values=prometheus_stack_values(args),
            timeout=900,
            opts=pulumi.ResourceOptions(parent=self, depends_on=stack_deps),
        )
        after_stack = pulumi.ResourceOptions(parent=self, depends_on=[self.prometheus_release])

        self.prometheus_rule: k8s.apiextensions.CustomResource | None = None
        if args.rule_groups:
            self.prometheus_rule = k8s.apiextensions.CustomResource(
                f"{name}-rules",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name="ttbt2-rules", namespace=ns, labels=labels
                ),
                spec={"groups": list(args.rule_groups)},
                opts=after_stack,
            )

        self.dashboards: dict[str, k8s.core.v1.ConfigMap] = {}
        for dash_name, dashboard in sorted(args.dashboards.items()):
            self.dashboards[dash_name] = k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{dash_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"grafana-dashboard-{dash_name}",
                    namespace=ns,
                    labels={**labels, "grafana_dashboard": "1"},
                ),
                data={f"{dash_name}.json": json.dumps(dashboard, sort_keys=True)},
                opts=in_ns,
            )

        # ---- ECK ------------------------------------------------------------------------
        self.eck_release = vendored_release(
            f"{name}-eck-operator",
            ECK_CHART,
            ECK_CHART_DIR,
            repository=ECK_REPOSITORY,
            namespace=ECK_NAMESPACE,
            values=eck_operator_values([ns, agents_ns]),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.eck_namespace, self.namespace, self.agents_namespace],
            ),
        )

        self.snapshot_service_account = k8s.core.v1.ServiceAccount(
            f"{name}-snapshot-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SNAPSHOT_SERVICE_ACCOUNT,
                namespace=ns,
                labels=labels,
                annotations={"eks.amazonaws.com/role-arn": args.snapshot_role_arn},
            ),
            automount_service_account_token=False,
            opts=in_ns,
        )
        self.elasticsearch = k8s.apiextensions.CustomResource(
            f"{name}-elasticsearch",
            api_version="elasticsearch.k8s.elastic.co/v1",
            kind="Elasticsearch",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=ELASTICSEARCH_NAME, namespace=ns, labels=labels
            ),
            spec=elasticsearch_spec(args),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.eck_release, self.snapshot_service_account, self.storage_class],
            ),
        )
        after_es = pulumi.ResourceOptions(
            parent=self, depends_on=[self.eck_release, self.elasticsearch]
        )
        self.kibana = k8s.apiextensions.CustomResource(
            f"{name}-kibana",
            api_version="kibana.k8s.elastic.co/v1",
            kind="Kibana",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=KIBANA_NAME, namespace=ns, labels=labels),
            spec={
                "version": ELASTIC_VERSION,
                "count": args.kibana_replicas,
                "elasticsearchRef": {"name": ELASTICSEARCH_NAME},
                "http": {"tls": {"selfSignedCertificate": {"disabled": False}}},
            },
            opts=after_es,
        )

        agent_labels = {**labels, "app.kubernetes.io/name": FILEBEAT_NAME}
        self.filebeat_service_account = k8s.core.v1.ServiceAccount(
            f"{name}-filebeat-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=FILEBEAT_NAME, namespace=agents_ns, labels=agent_labels
            ),
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.agents_namespace]),
        )
        self.filebeat_role = k8s.rbac.v1.ClusterRole(
            f"{name}-filebeat-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{agents_ns}-filebeat", labels=agent_labels),
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=[""],
                    resources=["pods", "namespaces", "nodes"],
                    verbs=["get", "list", "watch"],
                )
            ],
            opts=child,
        )
        self.filebeat_binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-filebeat-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{agents_ns}-filebeat", labels=agent_labels),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io",
                kind="ClusterRole",
                name=f"{agents_ns}-filebeat",
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="ServiceAccount", name=FILEBEAT_NAME, namespace=agents_ns
                )
            ],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.filebeat_role, self.filebeat_service_account]
            ),
        )
        self.filebeat = k8s.apiextensions.CustomResource(
            f"{name}-filebeat",
            api_version="beat.k8s.elastic.co/v1beta1",
            kind="Beat",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=FILEBEAT_NAME, namespace=agents_ns, labels=agent_labels
            ),
            spec=filebeat_spec(args),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.eck_release, self.elasticsearch, self.filebeat_binding],
            ),
        )

        # ---- ILM, snapshot repository, SLM: registered by a Job -----------------------------
        bodies = pulumi.Output.from_input(args.snapshot_bucket).apply(
            lambda bucket: {
                "ilm-policy.json": json.dumps(ilm_policy(args.log_retention_days), indent=2),
                "snapshot-repository.json": json.dumps(
                    snapshot_repository(bucket, args.environment), indent=2
                ),
                "slm-policy.json": json.dumps(slm_policy(args.snapshot_retention_days), indent=2),
            }
        )
        setup_name = "elasticsearch-setup"
        self.setup_config = k8s.core.v1.ConfigMap(
            f"{name}-es-setup",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=setup_name, namespace=ns, labels=labels),
            data=bodies,
            opts=in_ns,
        )
        checksum = bodies.apply(
            lambda data: hashlib.sha256(
                (SETUP_SCRIPT + json.dumps(data, sort_keys=True)).encode()
            ).hexdigest()
        )
        self.setup_job = k8s.batch.v1.Job(
            f"{name}-es-setup-job",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=ns, labels=labels),
            spec=setup_job_spec(args, setup_name, checksum),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.elasticsearch, self.setup_config],
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m"),
            ),
        )

        self.register_outputs(
            {
                "namespace": ns,
                "agentsNamespace": agents_ns,
                "storageClass": args.storage_class,
                "grafanaAdminSecret": GRAFANA_ADMIN_SECRET,
                "elasticsearch": ELASTICSEARCH_NAME,
                "kibana": KIBANA_NAME,
                "snapshotServiceAccount": SNAPSHOT_SERVICE_ACCOUNT,
            }
        )


def setup_job_spec(
    args: ObservabilityArgs, config_map: str, checksum: pulumi.Input[str]
) -> k8s.batch.v1.JobSpecArgs:
    """The Job that PUTs the ILM, repository and SLM bodies; restricted-profile pod."""
    es_url = f"https://{ELASTICSEARCH_NAME}-es-http.{args.namespace}.svc:9200"
    return k8s.batch.v1.JobSpecArgs(
        backoff_limit=3,
        template=k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                labels={"app.kubernetes.io/name": "elasticsearch-setup"},
                annotations={"ttbt2/setup-checksum": checksum},
            ),
            spec=k8s.core.v1.PodSpecArgs(
                restart_policy="OnFailure",
                automount_service_account_token=False,
                security_context=k8s.core.v1.PodSecurityContextArgs(
                    run_as_non_root=True,
                    # A high UID (CKV_K8S_40): no clash with a host user; curl needs no home.
                    run_as_user=10001,
                    run_as_group=10001,
                    seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                ),
                containers=[
                    k8s.core.v1.ContainerArgs(
                        name="setup",
                        image=SETUP_IMAGE,
                        command=["/bin/sh", "-c", SETUP_SCRIPT],
                        env=[
                            k8s.core.v1.EnvVarArgs(name="ES_URL", value=es_url),
                            k8s.core.v1.EnvVarArgs(
                                name="ELASTIC_PASSWORD",
                                value_from=k8s.core.v1.EnvVarSourceArgs(
                                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(
                                        name=f"{ELASTICSEARCH_NAME}-es-elastic-user",
                                        key="elastic",
                                    )
                                ),
                            ),
                        ],
                        security_context=k8s.core.v1.SecurityContextArgs(
                            allow_privilege_escalation=False,
                            read_only_root_filesystem=True,
                            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                        ),
                        resources=k8s.core.v1.ResourceRequirementsArgs(
                            requests={"cpu": "10m", "memory": "32Mi"},
                            limits={"cpu": "100m", "memory": "64Mi"},
                        ),
                        volume_mounts=[
                            k8s.core.v1.VolumeMountArgs(
                                name="bodies", mount_path="/etc/es-setup", read_only=True
                            ),
                            k8s.core.v1.VolumeMountArgs(
                                name="es-ca", mount_path="/etc/es-ca", read_only=True
                            ),
                        ],
                    )
                ],
                volumes=[
                    k8s.core.v1.VolumeArgs(
                        name="bodies",
                        config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=config_map),
                    ),
                    k8s.core.v1.VolumeArgs(
                        name="es-ca",
                        secret=k8s.core.v1.SecretVolumeSourceArgs(
                            secret_name=f"{ELASTICSEARCH_NAME}-es-http-certs-public",
                            items=[k8s.core.v1.KeyToPathArgs(key="ca.crt", path="ca.crt")],
                        ),
                    ),
                ],
            ),
        ),
    )
