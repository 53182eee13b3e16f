"""Vault Secrets Operator: Vault secrets synced into Kubernetes Secrets beside their consumers.

Seeds 4.7.1 and 4.9.1. The operator runs in its own restricted namespace from the vendored chart
version (``vendor/charts/vault-secrets-operator``); everything it syncs is declared explicitly
in the consuming service's namespace, with no default connection or auth method that an
unrelated object could fall back to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.delivery.spec import service_namespace
from components.dependencies import inherited_depends_on
from components.k8s.charts import chart_dir
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs

CHART_NAME = "vault-secrets-operator"
CHART_REPOSITORY = "https://helm.releases.hashicorp.com"
CHART_DIR = chart_dir(CHART_NAME)
"""The vendored chart files: Chart.yaml (the version we install), values.yaml and the CRDs."""
OPERATOR_NAMESPACE = "vault-secrets-operator-system"
API_VERSION = "secrets.hashicorp.com/v1beta1"
CONNECTION_NAME = "vault"
TOKEN_AUDIENCE = "vault"
"""Audience of the service-account tokens VSO requests; the Vault role must bind it."""
DEPLOYMENT_KIND = "Deployment"
ROLLOUT_KIND = "argo.Rollout"
"""``rolloutRestartTargets`` kinds: a Deployment of the app namespace, or an Argo Rollout of a
delivered service (VSO sets its ``spec.restartAt``, which restarts the pods without a canary)."""
TOKEN_REVIEW_CLUSTER_ROLE = "system:auth-delegator"
"""Vault calls TokenReview with each client's own token (it keeps no reviewer token of this
cluster), so every account that logs in needs this built-in role."""
RENEWAL_PERCENT = 67
"""Renew database leases at 67 % of their TTL (VSO's default), leaving a third for retries."""
VALUES_FREE_FORM = frozenset({"controller.podSecurityContext", "controller.securityContext"})
"""Chart values passed through whole to the pod spec: Kubernetes types them, not values.yaml."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DURATION = re.compile(r"^[0-9]+(\.[0-9]+)?(s|m|h)$")  # the CRDs' refreshAfter pattern
_MOUNT = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def config_secret_name(service: str) -> str:
    """The Secret the service's KV configuration is synced into."""
    return f"{service}-config"


def database_secret_name(service: str) -> str:
    """The Secret the service's dynamic database credentials are synced into."""
    return f"{service}-db"


def helm_values(environment: str) -> dict[str, Any]:
    """The chart values: explicit objects only, hardened pods, sized controller.

    - No default VaultConnection or VaultAuth, and no implicit "default" VaultAuthGlobal: every
      synced secret names the connection and auth it uses.
    - Two replicas outside dev (leader election keeps one active, the other takes over within
      seconds), spread across zones, with a PodDisruptionBudget allowing one down at a time.
    - Pod and container security contexts meet the ``restricted`` Pod Security profile (the chart
      uses them for its hook Jobs too). ``readOnlyRootFilesystem`` is not set: the same container
      context runs the chart's CRD-upgrade hook, whose writes we cannot check offline.
    - ``excludeRaw``: destination Secrets get the secret's keys, not the raw Vault response.
    - The ServiceMonitor stays off until the observability stack provides its CRD.
    - The CRD-upgrade hook stays on: Helm never upgrades CRDs itself.
    - Tolerates the system nodes' ``CriticalAddonsOnly`` taint, so it may run there.
    """
    high_availability = environment != "dev"
    controller: dict[str, Any] = {
        "replicas": 2 if high_availability else 1,
        "podDisruptionBudget": {
            "enabled": high_availability,
            "maxUnavailable": "1",
            "minAvailable": "",
        },
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}
        ],
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "kubeRbacProxy": {
            "resources": {
                "requests": {"cpu": "5m", "memory": "64Mi"},
                "limits": {"cpu": "100m", "memory": "128Mi"},
            }
        },
        "manager": {
            "resources": {
                "requests": {"cpu": "50m", "memory": "128Mi"},
                "limits": {"cpu": "500m", "memory": "256Mi"},
            },
            "globalTransformationOptions": {"excludeRaw": True},
            "globalVaultAuthOptions": {"allowDefaultGlobals": False},
        },
    }
    if high_availability:
        controller["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
            }
        ]
    return {
        "controller": controller,
        "defaultVaultConnection": {"enabled": False},
        "defaultAuthMethod": {"enabled": False},
        "telemetry": {"serviceMonitor": {"enabled": False}},
        "hooks": {"upgradeCRDs": {"enabled": True}},
    }


@dataclass(frozen=True)
class VaultSecretsOperatorArgs:
    """Arguments of :class:`VaultSecretsOperator`.

    ``vault_namespace`` is the Vault (Enterprise) namespace, ``""`` for none.
    ``kubernetes_auth_mount`` is the Kubernetes auth mount the Vault configuration creates for
    this cluster; its role ``<service>`` must bind service account ``<service>`` of the
    service's namespace (:meth:`namespace_of`) and the audience ``vault``.

    ``rollout_services`` are the services delivered as Argo Rollouts
    (:mod:`components.k8s.service_delivery`): each lives in its own namespace ``<service>``,
    which also holds its ServiceAccount (with its IRSA role), so this component syncs there and
    restarts the Rollout. The other services run as Deployment ``<service>`` of
    ``app_namespace``, whose ServiceAccount this component creates.

    ``ca_cert_secret`` names a Secret of the operator's namespace holding Vault's CA as
    ``ca.crt`` (``""`` trusts the system roots). ``refresh_after`` is how often the KV secrets
    are re-read (``30s``, ``15m``, ``1h``).
    """

    environment: str
    vault_address: str
    vault_namespace: str
    kubernetes_auth_mount: str
    kv_mount: str
    database_mount: str
    services: list[str]
    app_namespace: str
    rollout_services: tuple[str, ...] = ()
    ca_cert_secret: str = ""
    refresh_after: str = "1h"

    def namespace_of(self, service: str) -> str:
        """Namespace of ``service``'s workload, ServiceAccount and synced Secrets."""
        return service_namespace(service, self.rollout_services, self.app_namespace)

    def restart_kind(self, service: str) -> str:
        """Kind of the workload ``<service>`` restarted when its secrets change."""
        return ROLLOUT_KIND if service in self.rollout_services else DEPLOYMENT_KIND

    def __post_init__(self) -> None:
        """Refuse what the operator or the API server would reject, before anything is created."""
        if not self.environment or not _DNS_LABEL.match(self.environment):
            raise ValueError(f"environment must be a DNS label, got {self.environment!r}")
        if not re.match(r"^https://[^/\s]+", self.vault_address):
            raise ValueError(
                f"vault_address must be an https:// address, got {self.vault_address!r}"
            )
        for what in ("kubernetes_auth_mount", "kv_mount", "database_mount"):
            value = getattr(self, what)
            if not _MOUNT.match(value):
                raise ValueError(f"{what} must be a Vault mount path, got {value!r}")
        if not self.services:
            raise ValueError("services must name at least one service")
        if len(set(self.services)) != len(self.services):
            raise ValueError(f"services must be unique, got {self.services}")
        for service in self.services:
            # <service>-config must stay a DNS label too (it names a Secret).
            if not _DNS_LABEL.match(service) or len(service) > 56:
                raise ValueError(f"service {service!r} must be a DNS label of at most 56 chars")
        strays = sorted(set(self.rollout_services) - set(self.services))
        if strays:
            raise ValueError(f"rollout_services {strays} are not in services {self.services}")
        if not _DNS_LABEL.match(self.app_namespace):
            raise ValueError(f"app_namespace must be a DNS label, got {self.app_namespace!r}")
        if self.ca_cert_secret and not _DNS_LABEL.match(self.ca_cert_secret):
            raise ValueError(f"ca_cert_secret must be a Secret name, got {self.ca_cert_secret!r}")
        if not _DURATION.match(self.refresh_after):
            raise ValueError(
                f"refresh_after must be a duration like 30s, 15m or 1h, got {self.refresh_after!r}"
            )


class VaultSecretsOperator(pulumi.ComponentResource):
    """The operator, one VaultConnection, and per service its auth and two synced Secrets.

    The VaultConnection ``vault`` lives in the operator's namespace and every VaultAuth names it
    with that namespace. Per service ``<service>``, in its namespace ``<ns>``
    (:meth:`VaultSecretsOperatorArgs.namespace_of`):

    - ServiceAccount ``<service>`` (created here for Deployment services; a delivered service's
      own comes with its Rollout): VSO asks the TokenRequest API for a token of it (audience
      ``vault``) to log in to Vault as role ``<service>``. Its token is not automounted.
    - VaultAuth ``<service>``: Kubernetes auth at ``kubernetes_auth_mount``.
    - VaultStaticSecret ``<service>-config``: KV v2 ``ttbt2/<environment>/<service>/config`` of
      ``kv_mount`` into Secret ``<service>-config``.
    - VaultDynamicSecret ``<service>-db``: ``creds/<service>`` of ``database_mount`` into Secret
      ``<service>-db``; the lease is revoked when the object is deleted.

    Both restart the workload ``<service>`` (Deployment or Rollout) when the data changes, so
    rotated values reach the pods. One ClusterRoleBinding gives every one of those accounts
    ``system:auth-delegator``, which Vault's login needs (it reviews each token with itself).
    The custom resources depend on the Helm release, which installs their CRDs.

    The Kubernetes provider comes from ``opts`` (``providers={"kubernetes": ...}``); the caller
    makes this component depend on the namespaces it writes into.
    """

    def __init__(
        self,
        name: str,
        args: VaultSecretsOperatorArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ttbt2:k8s:VaultSecretsOperator", name, None, opts)
        env_labels = {"environment": args.environment}

        self.operator = self._operator(name, args, env_labels)
        self.namespace = self.operator.namespace
        self.release = self.operator.release
        self.connection_name = CONNECTION_NAME
        self.connection = self._connection(name, args, env_labels)

        self.service_accounts: dict[str, k8s.core.v1.ServiceAccount] = {}
        self.namespaces: dict[str, str] = {}
        self.auths: dict[str, k8s.apiextensions.CustomResource] = {}
        self.static_secrets: dict[str, k8s.apiextensions.CustomResource] = {}
        self.dynamic_secrets: dict[str, k8s.apiextensions.CustomResource] = {}
        self.auth_names: dict[str, str] = {}
        self.config_secret_names: dict[str, str] = {}
        self.database_secret_names: dict[str, str] = {}
        # The caller's depends_on creates the namespaces the per-service objects go into.
        waits = inherited_depends_on(opts)
        for service in args.services:
            self._service(name, args, service, waits=waits, env_labels=env_labels)

        self.token_review = self._token_review(name, args, env_labels)

        self.register_outputs(
            {
                "operatorNamespace": OPERATOR_NAMESPACE,
                "namespaces": self.namespaces,
                "connectionName": self.connection_name,
                "authNames": self.auth_names,
                "configSecretNames": self.config_secret_names,
                "databaseSecretNames": self.database_secret_names,
            }
        )

    def _operator(
        self, name: str, args: VaultSecretsOperatorArgs, env_labels: dict[str, str]
    ) -> NamespacedRelease:
        """The operator's namespace and Helm release, which installs the CRDs."""
        child = pulumi.ResourceOptions(parent=self)
        return NamespacedRelease(
            f"{name}-operator",
            NamespacedReleaseArgs(
                namespace=OPERATOR_NAMESPACE,
                labels=env_labels,
                chart=CHART_NAME,
                chart_directory=CHART_DIR,
                repository=CHART_REPOSITORY,
                values=helm_values(args.environment),
                # Created directly under this component before NamespacedRelease existed.
                namespace_aliases=[pulumi.Alias(name=f"{name}-namespace", parent=self)],
                release_aliases=[pulumi.Alias(name=f"{name}-release", parent=self)],
            ),
            opts=child,
        )

    def _connection(
        self, name: str, args: VaultSecretsOperatorArgs, env_labels: dict[str, str]
    ) -> k8s.apiextensions.CustomResource:
        """The VaultConnection every VaultAuth names, in the operator's namespace."""
        connection_spec: dict[str, Any] = {"address": args.vault_address, "skipTLSVerify": False}
        if args.ca_cert_secret:
            connection_spec["caCertSecretRef"] = args.ca_cert_secret
        return _custom(
            f"{name}-connection",
            "VaultConnection",
            CONNECTION_NAME,
            connection_spec,
            namespace=OPERATOR_NAMESPACE,
            labels=env_labels,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
        )

    def _service(
        self,
        name: str,
        args: VaultSecretsOperatorArgs,
        service: str,
        *,
        waits: list[pulumi.Resource],
        env_labels: dict[str, str],
    ) -> None:
        """One service's ServiceAccount (if a Deployment's), VaultAuth and two synced Secrets."""
        vault_ns = {"namespace": args.vault_namespace} if args.vault_namespace else {}
        connection_ref = f"{OPERATOR_NAMESPACE}/{CONNECTION_NAME}"
        labels = {**env_labels, "app.kubernetes.io/name": service}
        namespace = args.namespace_of(service)
        restart = [{"kind": args.restart_kind(service), "name": service}]
        auth_deps: list[pulumi.Resource] = [*waits, self.release, self.connection]
        if service not in args.rollout_services:
            account = k8s.core.v1.ServiceAccount(
                f"{name}-{service}-sa",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=service, namespace=namespace, labels=labels
                ),
                automount_service_account_token=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
            )
            self.service_accounts[service] = account
            auth_deps.append(account)
        auth = _custom(
            f"{name}-{service}-auth",
            "VaultAuth",
            service,
            {
                "method": "kubernetes",
                "mount": args.kubernetes_auth_mount,
                **vault_ns,
                "kubernetes": {
                    "role": service,
                    "serviceAccount": service,
                    "audiences": [TOKEN_AUDIENCE],
                },
                "vaultConnectionRef": connection_ref,
            },
            namespace=namespace,
            labels=labels,
            opts=pulumi.ResourceOptions(parent=self, depends_on=auth_deps),
        )
        after_auth = pulumi.ResourceOptions(parent=self, depends_on=[*waits, self.release, auth])
        config_secret = config_secret_name(service)
        static = _custom(
            f"{name}-{service}-config",
            "VaultStaticSecret",
            config_secret,
            {
                "vaultAuthRef": service,
                **vault_ns,
                "type": "kv-v2",
                "mount": args.kv_mount,
                "path": f"ttbt2/{args.environment}/{service}/config",
                "refreshAfter": args.refresh_after,
                "destination": {"name": config_secret, "create": True, "labels": labels},
                "rolloutRestartTargets": restart,
            },
            namespace=namespace,
            labels=labels,
            opts=after_auth,
        )
        db_secret = database_secret_name(service)
        dynamic = _custom(
            f"{name}-{service}-db",
            "VaultDynamicSecret",
            db_secret,
            {
                "vaultAuthRef": service,
                **vault_ns,
                "mount": args.database_mount,
                "path": f"creds/{service}",
                "renewalPercent": RENEWAL_PERCENT,
                "revoke": True,
                "destination": {"name": db_secret, "create": True, "labels": labels},
                "rolloutRestartTargets": restart,
            },
            namespace=namespace,
            labels=labels,
            opts=after_auth,
        )
        self.namespaces[service] = namespace
        self.auths[service] = auth
        self.static_secrets[service] = static
        self.dynamic_secrets[service] = dynamic
        self.auth_names[service] = service
        self.config_secret_names[service] = config_secret
        self.database_secret_names[service] = db_secret

    def _token_review(
        self, name: str, args: VaultSecretsOperatorArgs, env_labels: dict[str, str]
    ) -> k8s.rbac.v1.ClusterRoleBinding:
        """``system:auth-delegator`` for every service's account, which Vault's login needs."""
        child = pulumi.ResourceOptions(parent=self)
        return k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-token-review",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"ttbt2-{args.environment}-vault-token-review", labels=env_labels
            ),
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io",
                kind="ClusterRole",
                name=TOKEN_REVIEW_CLUSTER_ROLE,
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="ServiceAccount", name=service, namespace=args.namespace_of(service)
                )
                for service in args.services
            ],
            opts=child,
        )


def _custom(
    logical: str,
    kind: str,
    obj_name: str,
    spec: dict[str, Any],
    *,
    namespace: str,
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A VSO custom resource ``kind``/``obj_name`` in ``namespace``."""
    return k8s.apiextensions.CustomResource(
        logical,
        api_version=API_VERSION,
        kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=obj_name, namespace=namespace, labels=labels),
        spec=spec,
        opts=opts,
    )
