"""In-cluster logging: Elasticsearch, Kibana and Filebeat (ECK), with ILM and S3 snapshots.

Seeds 4.4.1 (ELK) and 4.7.1 (backups). The ECK operator is installed at the version vendored
under ``vendor/charts/eck-operator``; its Helm values are checked offline against the vendored
``values.yaml`` and every custom resource against the vendored CRDs.

Placement: the operator runs in :data:`ECK_NAMESPACE` under **restricted** and manages only the
monitoring namespace (Elasticsearch, Kibana) and the node agents' namespace (Filebeat), both
created by the metrics stack (:class:`~components.k8s.observability_common.MonitoringPlacement`).

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
- SLM policy :data:`SLM_POLICY`: nightly snapshots, kept ``snapshot_retention_days``;
- with ``redact_logs``, ingest pipeline :data:`REDACTION_PIPELINE`
  (:mod:`components.k8s.log_redaction`), first, before Filebeat ships a line: Filebeat's index
  template makes it the **final** pipeline of the log indices (``index.final_pipeline``), which
  no client can skip, and Filebeat is created only after the Job has installed it. Filebeat
  rewrites its template at each start (``setup.template.overwrite``), so a template created
  before the pipeline existed gets it too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.aliases import MovedFrom, moved_aliases
from components.k8s.charts import CHARTS_DIR
from components.k8s.log_redaction import redaction_pipeline
from components.k8s.observability_common import (
    ECK_NAMESPACE,
    SNAPSHOT_SERVICE_ACCOUNT,
    MonitoringPlacement,
    check_positive,
)
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs
from policies.ttbt2_policies.classification import PIPELINE_CONFIG_KEY, REDACTION_PIPELINE

ECK_CHART = "eck-operator"
ECK_CHART_DIR = CHARTS_DIR / ECK_CHART
ECK_REPOSITORY = "https://helm.elastic.co"

ELASTIC_VERSION = "9.1.0"
"""Elasticsearch, Kibana and Filebeat version; ECK 3.5 manages 8.x and 9.x stacks."""
ELASTICSEARCH_NAME = "logs"
KIBANA_NAME = "logs"
FILEBEAT_NAME = "filebeat"
SNAPSHOT_REPOSITORY = "s3-snapshots"
SLM_POLICY = "nightly-snapshots"
ILM_POLICY = "ttbt2-logs"
SETUP_IMAGE = "curlimages/curl:8.11.1"
"""Image of the Job that registers ILM, the snapshot repository and SLM (uid 100, has sh)."""

ECK_VALUES_FREE_FORM = frozenset({"podSecurityContext", "securityContext"})
"""Chart values passed through whole to the pod spec: Kubernetes types them, not values.yaml."""


@dataclass(frozen=True)
class LoggingSettings:
    """What the logging stack stores, where to, and for how long.

    ``snapshot_role_arn`` is an IRSA role the caller creates for service account
    :data:`SNAPSHOT_SERVICE_ACCOUNT` of the monitoring namespace, limited to ``snapshot_bucket``
    prefix ``elasticsearch/<environment>/``. ``elasticsearch_nodes`` is 1, or 3 or more for a
    master quorum (the stack settings refuse 2). ``kibana_public_url`` is the URL users open
    Kibana at (behind the load balancer's sign-in, :mod:`components.k8s.dashboard_access`);
    empty when Kibana is not published. ``redact_logs`` masks tokens and e-mail addresses in
    every log line before it is stored, ``redact_ips`` client IP addresses too (needs
    ``redact_logs``).
    """

    snapshot_bucket: pulumi.Input[str]
    snapshot_role_arn: pulumi.Input[str]
    elasticsearch_nodes: int = 1
    elasticsearch_storage_gb: int = 50
    kibana_replicas: int = 1
    log_retention_days: int = 7
    snapshot_retention_days: int = 30
    kibana_public_url: str = ""
    redact_logs: bool = True
    redact_ips: bool = False

    def __post_init__(self) -> None:
        """Refuse sizes and retentions ECK or Elasticsearch would reject."""
        if self.kibana_public_url and not self.kibana_public_url.startswith("https://"):
            raise ValueError(f"kibana_public_url must be https://, got {self.kibana_public_url!r}")
        if self.redact_ips and not self.redact_logs:
            raise ValueError("redact_ips needs redact_logs: IPs are masked by the same pipeline")
        check_positive(
            elasticsearch_nodes=self.elasticsearch_nodes,
            elasticsearch_storage_gb=self.elasticsearch_storage_gb,
            kibana_replicas=self.kibana_replicas,
            log_retention_days=self.log_retention_days,
            snapshot_retention_days=self.snapshot_retention_days,
        )


@dataclass(frozen=True)
class LoggingStackArgs:
    """Arguments of :class:`LoggingStack`.

    ``placement`` comes from the metrics stack (:attr:`MetricsStack.placement
    <components.k8s.metrics.MetricsStack.placement>`). ``moved_from`` is where the children were
    before this stack existed (the observability composition): each then carries an alias to
    its former URN.
    """

    placement: MonitoringPlacement
    settings: LoggingSettings
    moved_from: MovedFrom | None = None


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


CREDENTIALS_DIR = "/etc/es-credentials"
"""Where the setup Job finds the ``elastic`` user's password, mounted from ECK's Secret as a file
(CKV_K8S_35): an environment variable would show in ``kubectl describe``, crash dumps and every
child process."""

SETUP_SCRIPT = f"""set -eu
put() {{
  # The credentials reach curl on its standard input (-K -), written by the shell's printf
  # builtin: never in an argument list, where any process of the pod could read them. A
  # backslash or double quote in the password is escaped for curl's quoted config syntax.
  printf 'user = "elastic:%s"\\n' "$(sed 's/[\\\\"]/\\\\&/g' {CREDENTIALS_DIR}/elastic)" |
  curl -K - --fail-with-body --silent --show-error \\
    --retry 60 --retry-delay 10 --retry-all-errors \\
    --cacert /etc/es-ca/ca.crt \\
    -X PUT -H 'Content-Type: application/json' --data @"/etc/es-setup/$1" "$ES_URL/$2"
  echo
}}
if [ -f "/etc/es-setup/{PIPELINE_CONFIG_KEY}" ]; then
  put {PIPELINE_CONFIG_KEY} _ingest/pipeline/{REDACTION_PIPELINE}
fi
put ilm-policy.json _ilm/policy/{ILM_POLICY}
put snapshot-repository.json _snapshot/{SNAPSHOT_REPOSITORY}
put slm-policy.json _slm/policy/{SLM_POLICY}
"""
"""The Job's shell script: PUT each body, retrying while Elasticsearch starts."""


def elasticsearch_spec(args: LoggingStackArgs) -> dict[str, Any]:
    """The Elasticsearch spec: TLS on, one node set on the StorageClass, IRSA for snapshots."""
    token_dir = "/usr/share/elasticsearch/config/repository-s3"
    settings = args.settings
    memory = "4Gi" if args.placement.environment == "prod" else "2Gi"
    return {
        "version": ELASTIC_VERSION,
        "http": {"tls": {"selfSignedCertificate": {"disabled": False}}},
        "nodeSets": [
            {
                "name": "default",
                "count": settings.elasticsearch_nodes,
                "config": {"node.store.allow_mmap": False},
                "podTemplate": {
                    "spec": {
                        "serviceAccountName": SNAPSHOT_SERVICE_ACCOUNT,
                        "automountServiceAccountToken": True,
                        "containers": [
                            {
                                "name": "elasticsearch",
                                "env": [
                                    {"name": "AWS_ROLE_ARN", "value": settings.snapshot_role_arn},
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
                            "storageClassName": args.placement.storage_class_name,
                            "resources": {
                                "requests": {"storage": f"{settings.elasticsearch_storage_gb}Gi"}
                            },
                        },
                    }
                ],
            }
        ],
    }


def kibana_spec(settings: LoggingSettings) -> dict[str, Any]:
    """Kibana in front of Elasticsearch, over the operator's self-signed TLS.

    When Kibana is published, ``server.publicBaseUrl`` makes the links it writes (shared
    searches, alerts) point at the URL users open rather than at the pod.
    """
    spec: dict[str, Any] = {
        "version": ELASTIC_VERSION,
        "count": settings.kibana_replicas,
        "elasticsearchRef": {"name": ELASTICSEARCH_NAME},
        "http": {"tls": {"selfSignedCertificate": {"disabled": False}}},
    }
    if settings.kibana_public_url:
        spec["config"] = {"server.publicBaseUrl": settings.kibana_public_url}
    return spec


def filebeat_spec(elasticsearch_namespace: str, *, redact: bool = False) -> dict[str, Any]:
    """Filebeat DaemonSet: container logs of every node, Kubernetes metadata, our ILM policy.

    It ships to Elasticsearch :data:`ELASTICSEARCH_NAME` of ``elasticsearch_namespace``. With
    ``redact``, its index template runs :data:`REDACTION_PIPELINE` as the final pipeline.
    """
    template: dict[str, Any] = (
        {
            "setup.template.settings": {"index.final_pipeline": REDACTION_PIPELINE},
            "setup.template.overwrite": True,
        }
        if redact
        else {}
    )
    return {
        "type": "filebeat",
        "version": ELASTIC_VERSION,
        "elasticsearchRef": {"name": ELASTICSEARCH_NAME, "namespace": elasticsearch_namespace},
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
            **template,
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


class LoggingStack(pulumi.ComponentResource):
    """Elasticsearch, Kibana and Filebeat (ECK) with ILM and nightly S3 snapshots.

    Creates the ECK operator's namespace and release, and everything else in the monitoring
    and node agents' namespaces of ``args.placement``. The Kubernetes provider comes from
    ``opts`` (``providers={"kubernetes": ...}``).
    """

    def __init__(
        self,
        name: str,
        args: LoggingStackArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ttbt2:k8s:LoggingStack", name, None, opts)
        self._operator(name, args)
        self._elasticsearch(name, args)
        # The setup Job first: Filebeat waits for the redaction pipeline it installs.
        self._setup(name, args)
        self._filebeat(name, args)

        self.register_outputs(
            {
                "eckNamespace": ECK_NAMESPACE,
                "elasticsearch": ELASTICSEARCH_NAME,
                "kibana": KIBANA_NAME,
                "snapshotServiceAccount": SNAPSHOT_SERVICE_ACCOUNT,
            }
        )

    def _child(
        self,
        moved: MovedFrom | None,
        role: str,
        *,
        depends_on: list[pulumi.Resource] | None = None,
        custom_timeouts: pulumi.CustomTimeouts | None = None,
    ) -> pulumi.ResourceOptions:
        """Options of child ``role``: parent, waits, and the alias to where it was before."""
        return pulumi.ResourceOptions(
            parent=self,
            depends_on=depends_on,
            custom_timeouts=custom_timeouts,
            aliases=moved_aliases(moved, role),
        )

    def _operator(self, name: str, args: LoggingStackArgs) -> None:
        """The ECK operator's namespace and release, managing both monitoring namespaces."""
        placement, moved = args.placement, args.moved_from
        ns = placement.namespace_name
        agents_ns = placement.agents_namespace_name
        labels = placement.labels
        self.eck = NamespacedRelease(
            f"{name}-eck-operator",
            NamespacedReleaseArgs(
                namespace=ECK_NAMESPACE,
                labels=labels,
                chart=ECK_CHART,
                chart_directory=ECK_CHART_DIR,
                repository=ECK_REPOSITORY,
                values=eck_operator_values([ns, agents_ns]),
                release_depends_on=[placement.namespace, placement.agents_namespace],
                namespace_aliases=moved_aliases(moved, "eck-namespace"),
                release_aliases=moved_aliases(moved, "eck-operator"),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.eck_namespace_name = ECK_NAMESPACE
        self.eck_release = self.eck.release

    def _elasticsearch(self, name: str, args: LoggingStackArgs) -> None:
        """Elasticsearch with its snapshot service account, and Kibana in front of it."""
        placement, settings, moved = args.placement, args.settings, args.moved_from
        ns = placement.namespace_name
        labels = placement.labels
        self.snapshot_service_account = k8s.core.v1.ServiceAccount(
            f"{name}-snapshot-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SNAPSHOT_SERVICE_ACCOUNT,
                namespace=ns,
                labels=labels,
                annotations={"eks.amazonaws.com/role-arn": settings.snapshot_role_arn},
            ),
            automount_service_account_token=False,
            opts=self._child(moved, "snapshot-sa", depends_on=[placement.namespace]),
        )
        self.elasticsearch = k8s.apiextensions.CustomResource(
            f"{name}-elasticsearch",
            api_version="elasticsearch.k8s.elastic.co/v1",
            kind="Elasticsearch",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=ELASTICSEARCH_NAME, namespace=ns, labels=labels
            ),
            spec=elasticsearch_spec(args),
            opts=self._child(
                moved,
                "elasticsearch",
                depends_on=[
                    self.eck_release,
                    self.snapshot_service_account,
                    placement.storage_class,
                ],
            ),
        )
        self.kibana = k8s.apiextensions.CustomResource(
            f"{name}-kibana",
            api_version="kibana.k8s.elastic.co/v1",
            kind="Kibana",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=KIBANA_NAME, namespace=ns, labels=labels),
            spec=kibana_spec(settings),
            opts=self._child(moved, "kibana", depends_on=[self.eck_release, self.elasticsearch]),
        )

    def _filebeat(self, name: str, args: LoggingStackArgs) -> None:
        """Filebeat in the agents' namespace: its account, read-only cluster role and Beat."""
        placement, moved = args.placement, args.moved_from
        ns = placement.namespace_name
        agents_ns = placement.agents_namespace_name
        labels = placement.labels
        agent_labels = {**labels, "app.kubernetes.io/name": FILEBEAT_NAME}
        self.filebeat_service_account = k8s.core.v1.ServiceAccount(
            f"{name}-filebeat-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=FILEBEAT_NAME, namespace=agents_ns, labels=agent_labels
            ),
            automount_service_account_token=False,
            opts=self._child(moved, "filebeat-sa", depends_on=[placement.agents_namespace]),
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
            opts=self._child(moved, "filebeat-role"),
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
            opts=self._child(
                moved,
                "filebeat-binding",
                depends_on=[self.filebeat_role, self.filebeat_service_account],
            ),
        )
        self.filebeat = k8s.apiextensions.CustomResource(
            f"{name}-filebeat",
            api_version="beat.k8s.elastic.co/v1beta1",
            kind="Beat",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=FILEBEAT_NAME, namespace=agents_ns, labels=agent_labels
            ),
            spec=filebeat_spec(ns, redact=args.settings.redact_logs),
            opts=self._child(
                moved,
                "filebeat",
                depends_on=[
                    self.eck_release,
                    self.elasticsearch,
                    self.filebeat_binding,
                    # A line shipped before the pipeline exists would be refused, not stored
                    # unredacted; waiting for the Job loses none.
                    *([self.setup_job] if args.settings.redact_logs else []),
                ],
            ),
        )

    def _setup(self, name: str, args: LoggingStackArgs) -> None:
        """The bodies (ILM, repository, SLM, redaction pipeline) and the Job that PUTs them."""
        placement, settings, moved = args.placement, args.settings, args.moved_from
        ns = placement.namespace_name
        labels = placement.labels
        # Per key, so a bucket name unknown during a first preview leaves the other bodies
        # (the redaction pipeline the policy pack checks) known.
        bodies: dict[str, pulumi.Input[str]] = {
            "ilm-policy.json": json.dumps(ilm_policy(settings.log_retention_days), indent=2),
            "snapshot-repository.json": pulumi.Output.from_input(settings.snapshot_bucket).apply(
                lambda bucket: json.dumps(
                    snapshot_repository(bucket, placement.environment), indent=2
                )
            ),
            "slm-policy.json": json.dumps(slm_policy(settings.snapshot_retention_days), indent=2),
        }
        if settings.redact_logs:
            bodies[PIPELINE_CONFIG_KEY] = json.dumps(
                redaction_pipeline(redact_ips=settings.redact_ips), indent=2
            )
        setup_name = "elasticsearch-setup"
        self.setup_config = k8s.core.v1.ConfigMap(
            f"{name}-es-setup",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=setup_name, namespace=ns, labels=labels),
            data=bodies,
            opts=self._child(moved, "es-setup", depends_on=[placement.namespace]),
        )
        checksum = pulumi.Output.all(**bodies).apply(
            lambda data: hashlib.sha256(
                (SETUP_SCRIPT + json.dumps(data, sort_keys=True)).encode()
            ).hexdigest()
        )
        self.setup_job = k8s.batch.v1.Job(
            f"{name}-es-setup-job",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=ns, labels=labels),
            spec=setup_job_spec(ns, setup_name, checksum),
            opts=self._child(
                moved,
                "es-setup-job",
                depends_on=[self.elasticsearch, self.setup_config],
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m"),
            ),
        )


def setup_job_spec(
    namespace: str, config_map: str, checksum: pulumi.Input[str]
) -> k8s.batch.v1.JobSpecArgs:
    """The Job that PUTs the ILM, repository and SLM bodies; restricted-profile pod."""
    es_url = f"https://{ELASTICSEARCH_NAME}-es-http.{namespace}.svc:9200"
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
                    # Owns the mounted password file's group, so mode 0440 lets the Job read it.
                    fs_group=10001,
                    seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                ),
                containers=[
                    k8s.core.v1.ContainerArgs(
                        name="setup",
                        image=SETUP_IMAGE,
                        command=["/bin/sh", "-c", SETUP_SCRIPT],
                        env=[k8s.core.v1.EnvVarArgs(name="ES_URL", value=es_url)],
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
                            k8s.core.v1.VolumeMountArgs(
                                name="es-credentials", mount_path=CREDENTIALS_DIR, read_only=True
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
                    k8s.core.v1.VolumeArgs(
                        name="es-credentials",
                        secret=k8s.core.v1.SecretVolumeSourceArgs(
                            secret_name=f"{ELASTICSEARCH_NAME}-es-elastic-user",
                            items=[k8s.core.v1.KeyToPathArgs(key="elastic", path="elastic")],
                            # Readable by the pod's group only (fsGroup below), not by others.
                            default_mode=0o440,
                        ),
                    ),
                ],
            ),
        ),
    )
