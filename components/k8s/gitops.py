"""GitOps with Argo CD: application manifests pulled from the configuration repository.

Ownership split (decision, see docs/gitops.md): this Pulumi program owns the cluster and its
add-ons (Argo CD itself included); Argo CD owns the services' manifests, which reach the cluster
only from reviewed pull requests on the application configuration repository.

What is installed, from the vendored chart version (``vendor/charts/argo-cd``):

- Namespace ``argocd`` under the ``restricted`` Pod Security profile.
- Argo CD hardened: the local ``admin`` user is disabled; people log in through OIDC single
  sign-on when it is configured (RBAC: the configured group is admin, everyone else sees
  nothing), otherwise only with ``argocd --core`` / ``kubectl`` through their cluster access.
  The API server is a ClusterIP Service only (reached with ``kubectl port-forward``); Dex,
  notifications and the exec terminal are off. HA in prod: Redis HA (Sentinel + HAProxy), two
  API servers, two repo servers, two ApplicationSet controllers, disruption budgets.
- AppProject ``ttbt2-<env>``: source is the configuration repository only; destinations are the
  environment's service namespaces on the in-cluster API server only; no cluster-scoped kind at
  all; namespaced kinds limited to what the services use (:data:`NAMESPACED_KINDS`; not
  ``Secret``: secrets come from Vault through the Vault Secrets Operator). Resources in those
  namespaces that Argo CD does not manage are reported (orphaned resources warning).
- One Application per service namespace, path ``envs/<env>/<namespace>``, at
  :func:`default_target_revision` unless the stack names another revision. Outside prod,
  automated sync with prune and self-heal; in prod, manual sync (see :func:`sync_policy`).
  The Applications carry no deletion finalizer: deleting one (or this component) leaves the
  running workloads in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.k8s.charts import chart_dir
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs

CHART_NAME = "argo-cd"
CHART_REPOSITORY = "https://argoproj.github.io/argo-helm"
CHART_DIR = chart_dir(CHART_NAME)
NAMESPACE = "argocd"
API_VERSION = "argoproj.io/v1alpha1"
IN_CLUSTER = "https://kubernetes.default.svc"
"""Argo CD's name for the cluster it runs in; the only destination server allowed."""
PROD_TARGET_REVISION = "release/prod"
"""Protected branch prod tracks; promotion to prod is a reviewed pull request into it."""
NON_PROD_TARGET_REVISION = "main"

NAMESPACED_KINDS: tuple[tuple[str, str], ...] = (
    ("argoproj.io", "Rollout"),
    ("argoproj.io", "AnalysisTemplate"),
    ("", "Service"),
    ("networking.k8s.io", "Ingress"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("autoscaling.k8s.io", "VerticalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("monitoring.coreos.com", "ServiceMonitor"),
    ("", "ConfigMap"),
    ("", "ServiceAccount"),
)
"""(API group, kind) the services' manifests may contain; anything else is refused at sync."""

VALUES_FREE_FORM = frozenset({"containerSecurityContext"})
"""Chart values passed through whole to the pod spec: Kubernetes types them, not values.yaml."""
VALUES_COMMENTED = frozenset({'configs.cm["oidc.config"]'})
"""Paths accepted though values.yaml only documents them in a comment (argocd-cm keys)."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_HTTPS_GIT = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~-]+)+$")
_GIT_REF = re.compile(r"^(?!.*\.\.)(?!/)(?!.*//)[A-Za-z0-9._/-]+(?<![/.])$")
_HOSTNAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")
_SECRET_REF = re.compile(r"^\$[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[A-Za-z0-9._-]+$")


def default_target_revision(environment: str) -> str:
    """``main`` for dev and staging, the protected ``release/prod`` branch for prod."""
    return PROD_TARGET_REVISION if environment == "prod" else NON_PROD_TARGET_REVISION


def sync_policy(environment: str) -> dict[str, Any]:
    """Automated sync with prune and self-heal outside prod; manual sync in prod.

    Outside prod, the merged pull request is the deployment: Argo CD applies it, deletes what
    it removed (``prune``) and reverts hand edits (``selfHeal``). In prod, a merge into the
    release branch makes the Application OutOfSync, and an SRE syncs it at a chosen time
    (seed 4.2: no one but SRE acts in prod). Hand edits then show as OutOfSync instead of
    being reverted silently, so drift is seen and explained. Both retry failed syncs with
    backoff, and both prune last so new objects exist before old ones go.
    """
    policy: dict[str, Any] = {
        "syncOptions": ["PruneLast=true", "FailOnSharedResource=true"],
        "retry": {
            "limit": 5,
            "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"},
        },
    }
    if environment != "prod":
        policy["automated"] = {"prune": True, "selfHeal": True, "allowEmpty": False}
    return policy


@dataclass(frozen=True)
class GitOpsArgs:
    """Arguments of :class:`GitOps`.

    ``config_repo`` is the application configuration repository (an https Git URL).
    ``service_namespaces`` are the environment's service namespaces (created elsewhere, with
    their Pod Security labels); each gets an Application on ``envs/<env>/<namespace>``.
    ``target_revision`` overrides :func:`default_target_revision` (``""`` keeps it).

    Single sign-on (all four set, or none): ``oidc_issuer`` (https URL), ``oidc_client_id``,
    ``oidc_client_secret_ref`` (``$<secret>:<key>``, a Secret of namespace ``argocd`` labelled
    ``app.kubernetes.io/part-of: argocd``; never the secret itself), ``oidc_admin_group`` (the
    group claim whose members administer Argo CD). ``hostname`` is the name users reach the UI
    under (the OIDC redirect URL is built from it).
    """

    environment: str
    config_repo: str
    service_namespaces: list[str]
    target_revision: str = ""
    hostname: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret_ref: str = ""
    oidc_admin_group: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse what Argo CD or the API server would reject, before anything is created."""
        if not self.environment or not _DNS_LABEL.match(self.environment):
            raise ValueError(f"environment must be a DNS label, got {self.environment!r}")
        if not _HTTPS_GIT.match(self.config_repo):
            raise ValueError(
                "config_repo (ttbt2:appConfigRepo) must be an https Git URL such as "
                f"https://github.com/org/repo.git, got {self.config_repo!r}"
            )
        if not self.service_namespaces:
            raise ValueError("service_namespaces must name at least one namespace")
        if len(set(self.service_namespaces)) != len(self.service_namespaces):
            raise ValueError(f"service_namespaces must be unique, got {self.service_namespaces}")
        for ns in self.service_namespaces:
            if not _DNS_LABEL.match(ns) or ns in {NAMESPACE, "kube-system", "default"}:
                raise ValueError(
                    f"service namespace {ns!r} must be a DNS label other than argocd, "
                    "kube-system and default"
                )
        if self.target_revision and not _GIT_REF.match(self.target_revision):
            raise ValueError(
                "target_revision (ttbt2:gitopsTargetRevision) must be a Git branch, tag or "
                f"commit, got {self.target_revision!r}"
            )
        if self.hostname and not _HOSTNAME.match(self.hostname):
            raise ValueError(f"hostname must be a DNS name, got {self.hostname!r}")
        oidc = {
            "oidc_issuer": self.oidc_issuer,
            "oidc_client_id": self.oidc_client_id,
            "oidc_client_secret_ref": self.oidc_client_secret_ref,
            "oidc_admin_group": self.oidc_admin_group,
        }
        given = [k for k, v in oidc.items() if v]
        if given and len(given) != len(oidc):
            missing = sorted(set(oidc) - set(given))
            raise ValueError(f"single sign-on needs all of {sorted(oidc)}; missing {missing}")
        if given:
            if not self.hostname:
                raise ValueError("single sign-on needs hostname (the OIDC redirect URL host)")
            if not re.match(r"^https://[^/\s]+", self.oidc_issuer):
                raise ValueError(f"oidc_issuer must be an https:// URL, got {self.oidc_issuer!r}")
            if not _SECRET_REF.match(self.oidc_client_secret_ref):
                raise ValueError(
                    "oidc_client_secret_ref must reference a Secret key as $<secret>:<key>, "
                    f"got {self.oidc_client_secret_ref!r}"
                )
            if "," in self.oidc_admin_group or "\n" in self.oidc_admin_group:
                raise ValueError("oidc_admin_group must not contain ',' or a line break")

    @property
    def sso(self) -> bool:
        """Whether single sign-on is configured."""
        return bool(self.oidc_issuer)

    @property
    def project(self) -> str:
        """Name of the environment's AppProject."""
        return f"ttbt2-{self.environment}"

    @property
    def revision(self) -> str:
        """The Git revision every Application of the environment tracks."""
        return self.target_revision or default_target_revision(self.environment)


def _component(replicas: int, high_availability: bool, cpu: str, memory: str) -> dict[str, Any]:
    """Replicas, budget, metrics and sizing of one Argo CD component."""
    return {
        "replicas": replicas,
        "pdb": {"enabled": high_availability, "maxUnavailable": 1},
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
        "resources": {
            "requests": {"cpu": cpu, "memory": memory},
            "limits": {"memory": memory},
        },
        "containerSecurityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "seccompProfile": {"type": "RuntimeDefault"},
            "capabilities": {"drop": ["ALL"]},
        },
    }


def helm_values(args: GitOpsArgs) -> dict[str, Any]:
    """The chart values: hardened, private, HA in prod (see the module docstring)."""
    prod = args.environment == "prod"
    two = 2 if prod else 1
    cm: dict[str, Any] = {
        "admin.enabled": False,
        "exec.enabled": False,
        "statusbadge.enabled": False,
    }
    rbac: dict[str, Any] = {"policy.default": "", "policy.csv": ""}
    if args.sso:
        cm["oidc.config"] = yaml.safe_dump(
            {
                "name": "SSO",
                "issuer": args.oidc_issuer,
                "clientID": args.oidc_client_id,
                "clientSecret": args.oidc_client_secret_ref,
                "requestedScopes": ["openid", "profile", "email", "groups"],
            },
            sort_keys=False,
        )
        rbac["policy.csv"] = f"g, {args.oidc_admin_group}, role:admin\n"
    global_values: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "networkPolicy": {"create": True},
    }
    if args.hostname:
        global_values["domain"] = args.hostname
    server = _component(two, prod, "50m", "256Mi")
    server["service"] = {"type": "ClusterIP"}
    server["ingress"] = {"enabled": False}
    return {
        "global": global_values,
        "crds": {"install": True, "keep": True},
        "configs": {"cm": cm, "rbac": rbac},
        "dex": {"enabled": False},
        "notifications": {"enabled": False},
        # One cluster per environment: sharding the application controller buys nothing.
        "controller": _component(1, False, "250m", "1Gi"),
        "server": server,
        "repoServer": _component(two, prod, "100m", "512Mi"),
        "applicationSet": _component(two, prod, "50m", "128Mi"),
        "redis-ha": {"enabled": prod},
    }


def app_project_spec(args: GitOpsArgs) -> dict[str, Any]:
    """The environment's AppProject: one repository, its namespaces, no cluster-scoped kinds."""
    return {
        "description": f"TTBT2 services of the {args.environment} environment",
        "sourceRepos": [args.config_repo],
        "destinations": [{"server": IN_CLUSTER, "namespace": ns} for ns in args.service_namespaces],
        "clusterResourceWhitelist": [],
        "namespaceResourceWhitelist": [
            {"group": group, "kind": kind} for group, kind in NAMESPACED_KINDS
        ],
        "orphanedResources": {"warn": True},
    }


def application_spec(args: GitOpsArgs, namespace: str) -> dict[str, Any]:
    """The Application of one service namespace."""
    return {
        "project": args.project,
        "source": {
            "repoURL": args.config_repo,
            "targetRevision": args.revision,
            "path": f"envs/{args.environment}/{namespace}",
        },
        "destination": {"server": IN_CLUSTER, "namespace": namespace},
        "syncPolicy": sync_policy(args.environment),
        "revisionHistoryLimit": 10,
    }


class GitOps(pulumi.ComponentResource):
    """Argo CD, the environment's AppProject and one Application per service namespace.

    The Kubernetes provider comes from ``opts`` (``providers={"kubernetes": ...}``). The
    chart's ServiceMonitors need the Prometheus Operator CRDs, and the Applications' Rollouts
    need the Argo Rollouts CRDs: the caller makes this component depend on both.
    """

    def __init__(
        self, name: str, args: GitOpsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ttbt2:k8s:GitOps", name, None, opts)
        labels = {**args.labels, "environment": args.environment}
        self.argocd = NamespacedRelease(
            f"{name}-argocd",
            NamespacedReleaseArgs(
                namespace=NAMESPACE,
                labels=labels,
                chart=CHART_NAME,
                chart_directory=CHART_DIR,
                repository=CHART_REPOSITORY,
                values=helm_values(args),
                timeout=900,
                # Created directly under this component before NamespacedRelease existed.
                namespace_aliases=[pulumi.Alias(name=f"{name}-namespace", parent=self)],
                release_aliases=[pulumi.Alias(name=f"{name}-release", parent=self)],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespace = self.argocd.namespace
        self.release = self.argocd.release
        after_release = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        self.project_name = args.project
        self.project = k8s.apiextensions.CustomResource(
            f"{name}-project",
            api_version=API_VERSION,
            kind="AppProject",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.project, namespace=NAMESPACE, labels=labels
            ),
            spec=app_project_spec(args),
            opts=after_release,
        )
        self.applications: dict[str, k8s.apiextensions.CustomResource] = {}
        for ns in args.service_namespaces:
            self.applications[ns] = k8s.apiextensions.CustomResource(
                f"{name}-{ns}-app",
                api_version=API_VERSION,
                kind="Application",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=ns, namespace=NAMESPACE, labels=labels),
                spec=application_spec(args, ns),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release, self.project]),
            )
        self.register_outputs(
            {
                "namespace": NAMESPACE,
                "project": args.project,
                "applications": list(self.applications),
                "targetRevision": args.revision,
            }
        )
