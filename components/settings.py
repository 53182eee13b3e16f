"""Typed, validated stack settings.

This module is pure: it registers no resources and talks to no cloud. It turns the raw
``ttbt2:*`` configuration of one stack into a frozen :class:`Settings` object, or raises
:class:`SettingsError` with one message that names every bad key, the value given and what is
allowed.

Pulumi's project configuration schema can type only strings, integers, booleans and arrays, so
every key is flat (``ttbt2:workloadNodeMinSize`` rather than a nested object). That keeps each
key declarable, with its type and description, in ``Pulumi.yaml``; ``tests/test_project_file.py``
keeps that file and this model in step.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from components.aws.access import access_plan
from components.delivery.spec import ServiceSpec, check_services

NAMESPACE = "ttbt2"
"""Config namespace of every project key (``ttbt2:<key>``)."""

Environment = Literal["dev", "staging", "prod"]
DataClassification = Literal["synthetic", "anonymised", "real"]
NatGatewayMode = Literal["single", "perAz"]
CacheEngine = Literal["valkey", "redis"]
PriceClass = Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"]
PredictiveMode = Literal["", "ForecastAndScale", "ForecastOnly"]
EvictionPolicy = Literal[
    "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "volatile-ttl"
]
CapacityType = Literal["ON_DEMAND", "SPOT"]

# Instance families a node group may use. Burstable families (t*) are cheap enough for dev and
# staging but their CPU credits make production latency unpredictable, so prod refuses them.
GENERAL_FAMILIES = frozenset(
    {"m6i", "m6a", "m6g", "m7i", "m7a", "m7g", "c6i", "c6a", "c6g", "c7i", "c7a", "c7g"}
    | {"r6i", "r6a", "r6g", "r7i", "r7a", "r7g"}
)
BURSTABLE_FAMILIES = frozenset({"t3", "t3a", "t4g"})
ALLOWED_INSTANCE_FAMILIES = GENERAL_FAMILIES | BURSTABLE_FAMILIES

# The stack config only names the IAM role that stands for a group; which groups may reach an
# environment (seed 4.2) is a rule of the platform, in components.aws.access, not a setting.
ROLE_KEYS: Mapping[str, str] = {
    "developers": "developersRoleArn",
    "qa": "qaRoleArn",
    "stakeholders": "stakeholdersRoleArn",
    "sre": "sreRoleArn",
}
# Receiver credentials of Alertmanager (seed 4.5.2), each read from Vault and mounted as a file.
ALERTMANAGER_CONSUMERS = (
    "alertmanager-slack-webhook-url",
    "alertmanager-smtp-password",
    "alertmanager-sms-gateway-token",
)
EXPECTED_DATA: Mapping[str, str] = {"dev": "synthetic", "staging": "anonymised", "prod": "real"}

_ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z]+\d+[a-z]*)\.(?P<size>\w+)$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class SettingsError(pulumi.RunError):
    """A stack configuration that cannot be deployed.

    Subclasses ``pulumi.RunError`` so that ``pulumi up`` prints the message alone, without a
    Python traceback. :attr:`problems` holds each problem for callers that format their own.
    """

    def __init__(self, stack: str, problems: list[Problem]) -> None:
        self.stack = stack
        self.problems = problems
        super().__init__(format_problems(stack, problems))


@dataclass(frozen=True)
class Problem:
    """One bad configuration value: which key, what was given, what is allowed."""

    key: str
    value: Any
    allowed: str

    def render(self) -> str:
        """Render as one line: ``ttbt2:key = value: allowed``."""
        shown = "(not set)" if self.value is _UNSET else json.dumps(self.value, default=str)
        return f"{NAMESPACE}:{self.key} = {shown}: {self.allowed}"


_UNSET: Any = object()


def format_problems(stack: str, problems: list[Problem]) -> str:
    """Format every problem of a stack config into one message."""
    lines = [f"stack '{stack}': invalid configuration ({len(problems)} problem(s)):"]
    lines += [f"  - {p.render()}" for p in problems]
    lines.append(
        f"Fix these keys in Pulumi.{stack}.yaml (or with `pulumi config set`); "
        "Pulumi.yaml describes every key."
    )
    return "\n".join(lines)


_CONSUMER = r"^[a-z][a-z0-9-]{0,40}$"


class VaultSecretRef(BaseModel):
    """One secret the stack reads from Vault at deploy time: a key of a KV v2 secret."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    consumer: str = Field(
        description="What uses the value: redis (the cache AUTH token), grafana, alertmanager, "
        "or an application service name.",
        pattern=_CONSUMER,
    )
    path: str = Field(
        description="Secret path inside the mount, under ttbt2/<environment>/.",
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
    )
    key: str = Field(description="Key inside the secret.", pattern=r"^[A-Za-z0-9_.-]+$")
    mount: str = Field(default="", description="KV v2 mount; empty = ttbt2:vaultKvMount.")


def _field(default: Any, description: str) -> Any:
    return Field(default=default, description=description)


class Settings(BaseModel):
    """Every setting of one stack, typed, with a default and a description for each field.

    Field names are snake_case in Python and camelCase in the stack config
    (``workload_node_min_size`` is ``ttbt2:workloadNodeMinSize``).
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )

    # --- identity and ownership -------------------------------------------------------------
    environment: Environment = _field(
        "dev", "Environment this stack deploys (seed 4.2): dev, staging or prod."
    )
    owner: str = _field(
        "platform-team", "Team that owns the stack; tagged on every resource as 'owner'."
    )
    cost_center: str = _field(
        "ttbt2-engineering", "Cost center tagged on every resource as 'cost-center'."
    )
    data_classification: DataClassification = _field(
        "synthetic",
        "Data the environment holds (seed 4.2): synthetic (dev), anonymised (staging), "
        "real (prod).",
    )
    production_account_id: str = _field(
        "",
        "AWS account id of production; non-prod stacks may not reference data in it.",
    )
    data_source_snapshot: str = _field(
        "",
        "Snapshot (identifier or ARN) the environment's data is seeded from; empty = none.",
    )

    # --- regions ------------------------------------------------------------------------------
    aws_region: str = _field("eu-west-1", "Primary AWS region.")
    dr_region: str = _field("", "Disaster-recovery AWS region; required in prod.")

    # --- network ------------------------------------------------------------------------------
    vpc_cidr: str = _field("10.10.0.0/16", "Private IPv4 CIDR of the VPC (/16 to /22).")
    dr_vpc_cidr: str = _field(
        "", "Private IPv4 CIDR of the DR-region VPC; must not overlap the VPC."
    )
    reserved_cidrs: list[str] = _field(
        [], "Other private networks (peered VPCs, VPN, offices) the VPC must not overlap."
    )
    availability_zones: list[str] = _field(
        ["eu-west-1a", "eu-west-1b"],
        "Availability zones of the VPC (2 or 3, in the primary region). EKS needs two.",
    )
    dr_availability_zones: list[str] = _field(
        [],
        "Availability zones of the DR-region VPC (2 or 3, in drRegion); required with drRegion.",
    )
    nat_gateway_mode: NatGatewayMode = _field(
        "single", "One NAT gateway for the VPC (single) or one per availability zone (perAz)."
    )
    flow_log_retention_days: int = _field(30, "Days VPC flow logs are kept in CloudWatch Logs.")

    # --- Kubernetes cluster -------------------------------------------------------------------
    kubernetes_version: str = _field("1.33", "EKS Kubernetes version (major.minor).")
    service_cidr: str = _field(
        "172.20.0.0/16", "CIDR for Kubernetes service IPs; must not overlap any network."
    )
    cluster_endpoint_public: bool = _field(
        False, "Expose the Kubernetes API endpoint publicly (only to the listed CIDRs)."
    )
    cluster_public_access_cidrs: list[str] = _field(
        [], "CIDRs allowed to reach a public API endpoint; 0.0.0.0/0 is refused."
    )
    control_plane_log_retention_days: int = _field(
        90, "Days EKS control-plane logs are kept in CloudWatch Logs."
    )
    single_az_compute: bool = _field(
        False, "Place every node in the first availability zone (dev only, saves NAT cost)."
    )
    app_namespace: str = _field("ttbt2", "Kubernetes namespace of the TTBT2 application.")
    system_node_instance_types: list[str] = _field(
        ["t3.medium"], "Instance types of the system node group (cluster add-ons)."
    )
    system_node_min_size: int = _field(1, "Minimum nodes in the system node group.")
    system_node_desired_size: int = _field(1, "Initial nodes in the system node group.")
    system_node_max_size: int = _field(2, "Maximum nodes in the system node group.")
    workload_node_instance_types: list[str] = _field(
        ["t3.large"], "Instance types of the workloads node group (application pods)."
    )
    workload_node_min_size: int = _field(1, "Minimum nodes in the workloads node group.")
    workload_node_desired_size: int = _field(1, "Initial nodes in the workloads node group.")
    workload_node_max_size: int = _field(3, "Maximum nodes in the workloads node group.")
    workload_capacity_type: CapacityType = _field(
        "ON_DEMAND", "Capacity of the workloads node group: ON_DEMAND or SPOT (not in prod)."
    )
    node_disk_size_gb: int = _field(50, "Root volume size of every node, in GiB (20-500).")

    # --- autoscaling (seed 4.8.1) -------------------------------------------------------------
    spot_allowed: bool | None = _field(
        None,
        "Karpenter may launch spot capacity for burst load; unset = true in dev and staging, "
        "false in prod (where true adds a separate tainted spot pool).",
    )
    karpenter_cpu_limit: int = _field(32, "CPU cores Karpenter may launch per node pool (1-1000).")
    karpenter_memory_limit_gib: int = _field(
        128, "Memory Karpenter may launch per node pool, in GiB (1-4000)."
    )
    karpenter_expire_after: str = _field(
        "720h", "Age after which Karpenter replaces a node, such as 720h (patched AMIs)."
    )
    predictive_scaling_mode: PredictiveMode = _field(
        "",
        "Predictive scaling of the steady node group: ForecastAndScale or ForecastOnly; "
        "empty = ForecastOnly in dev, ForecastAndScale elsewhere.",
    )
    predictive_scaling_cpu_target: int = _field(
        50, "CPU utilisation the steady node group's predictive scaling aims at (10-90 %)."
    )
    predictive_scaling_buffer_seconds: int = _field(
        300, "Seconds before the forecast load that capacity is launched (0-3600)."
    )

    # --- PostgreSQL (seed 4.7.1: daily snapshots and transaction logs) -------------------------
    db_instance_class: str = _field(
        "db.t4g.medium", "RDS instance class (no burstable db.t* in prod)."
    )
    db_engine_version: str = _field("17", "PostgreSQL major version (16 or 17).")
    db_allocated_storage_gb: int = _field(20, "Initial storage of the database, in GiB.")
    db_max_allocated_storage_gb: int = _field(
        100, "Ceiling for storage autoscaling, in GiB (>= the initial storage)."
    )
    db_backup_retention_days: int = _field(
        7, "Days of automated backups and point-in-time recovery: dev 7, staging 14, prod 35."
    )
    db_multi_az: bool = _field(False, "Standby in a second zone (required in staging and prod).")
    db_performance_insights_retention_days: int = _field(
        7, "Performance Insights retention: 7, or a multiple of 31 up to 731 days."
    )
    db_monitoring_interval_seconds: int = _field(
        60, "Enhanced monitoring interval: 1, 5, 10, 15, 30 or 60 seconds."
    )
    db_name: str = _field("ttbt2", "Name of the application database.")
    db_master_username: str = _field(
        "ttbt2_admin", "Master user; its password is generated and rotated by RDS."
    )

    # --- cache (seed 4.8.2) -----------------------------------------------------------------
    cache_engine: CacheEngine = _field("valkey", "ElastiCache engine: valkey or redis.")
    cache_engine_version: str = _field("8.0", "Engine version (valkey 7.2/8.0/8.1, redis 7.0/7.1).")
    cache_node_type: str = _field("cache.t4g.small", "Node type (no burstable cache.t* in prod).")
    cache_nodes: int = _field(1, "Nodes (primary plus replicas), 1-6; staging and prod >= 2.")
    cache_snapshot_retention_days: int = _field(
        1, "Days of daily cache snapshots, 0-35; prod >= 7."
    )
    cache_eviction_policy: EvictionPolicy = _field(
        "allkeys-lru", "maxmemory-policy: how the cache evicts keys when full."
    )

    # --- edge: CDN, API cache, WAF (seed 4.8.2, 4.4.2) ----------------------------------------
    api_origin_host: str = _field(
        "api-origin.ttbt2.example", "Host name of the cluster's public load balancer (API origin)."
    )
    cdn_domain: str = _field("", "Custom domain of the CDN; empty = CloudFront's own domain.")
    cdn_hosted_zone_id: str = _field(
        "", "Route 53 zone of cdnDomain, for certificate validation and the alias record."
    )
    cdn_price_class: PriceClass = _field(
        "PriceClass_100", "CloudFront price class; prod serves every edge (PriceClass_All)."
    )
    api_public_paths: list[str] = _field(
        ["/api/public/*"], "Path patterns of public GET endpoints whose responses are cached."
    )
    static_paths: list[str] = _field(
        ["/static/*", "/assets/*"], "Path patterns of static assets served from S3."
    )
    api_cache_ttl_seconds: int = _field(
        60, "Default seconds public API responses stay cached (0-300)."
    )
    waf_rate_limit: int = _field(
        2000, "Requests per 5 minutes from one IP before the WAF blocks it (10-2000000000)."
    )
    access_log_retention_days: int = _field(
        90, "Days S3 and CloudFront access logs are kept; prod >= 365."
    )

    # --- Vault (seed 4.7.1, 4.9.1) --------------------------------------------------------------
    vault_address: str = _field(
        "https://vault.ttbt2.example:8200", "Vault address (https) for deploy-time reads."
    )
    vault_namespace: str = _field("", "Vault Enterprise namespace; empty = none.")
    vault_auth_method: Literal["token", "jwt", "kubernetes", "approle"] = _field(
        "jwt", "How the deploy logs in: jwt (CI's OIDC id-token), kubernetes, approle or token."
    )
    vault_auth_mount: str = _field("", "Mount path of the auth method; empty = its name.")
    vault_auth_role: str = _field(
        "ttbt2-deployer", "Vault role of the deploy identity (jwt, kubernetes, approle)."
    )
    vault_ca_bundle: str = _field("", "CA bundle file for Vault's TLS; empty = system trust.")
    vault_kv_mount: str = _field("kv", "KV v2 mount holding the platform's secrets.")
    vault_secrets: list[VaultSecretRef] = _field(
        [], "Secrets read at deploy time, per consumer (objects: consumer, path, key, mount)."
    )
    vault_services: list[str] = _field(
        [],
        "Application services that get a Vault policy, a Kubernetes auth role and synced "
        "secrets (service account = service name; namespace = the service's own when it is "
        "in services, where its pods mount the secrets, else appNamespace).",
    )
    vault_database_admin_username: str = _field(
        "vault_admin", "PostgreSQL role Vault's database engine connects as (created once)."
    )
    vault_credential_ttl_seconds: int = _field(
        3600, "Lifetime of dynamic database credentials (seed 4.9.1 rotation), 300-86400."
    )
    vault_static_rotation_seconds: int = _field(
        86400, "Rotation period of static database roles, 3600-2592000 seconds."
    )

    # --- observability (seed 4.4, 4.5) ---------------------------------------------------------
    prometheus_replicas: int = _field(1, "Prometheus replicas; prod runs 2.")
    prometheus_retention_days: int = _field(7, "Days Prometheus keeps metrics (1-90).")
    prometheus_storage_gb: int = _field(50, "Encrypted volume per Prometheus replica, in GiB.")
    alertmanager_replicas: int = _field(1, "Alertmanager replicas; prod runs 3 (HA cluster).")
    elasticsearch_nodes: int = _field(1, "Elasticsearch nodes; prod runs 3 or more.")
    elasticsearch_storage_gb: int = _field(50, "Encrypted volume per Elasticsearch node, in GiB.")
    log_retention_days: int = _field(7, "Days container logs stay in Elasticsearch (ILM delete).")
    alert_slack_channel: str = _field("#alerts", "Slack channel of technical alerts (seed 4.5.2).")
    alert_email_to: str = _field(
        "platform-team@ttbt2.example", "Team address that receives critical and warning alerts."
    )
    alert_email_from: str = _field("alertmanager@ttbt2.example", "Sender of alert emails.")
    alert_smarthost: str = _field("smtp.ttbt2.example:587", "SMTP relay (host:port).")
    alert_sms_webhook_url: str = _field(
        "https://sms-gateway.ttbt2.example/alertmanager",
        "HTTPS gateway that sends critical alerts by SMS to the on-call engineers.",
    )

    # --- services (seed 4.1.3, 4.8.1, 4.10.1; components/delivery/spec.py) -------------------
    services: list[ServiceSpec] = _field(
        [],
        "The TTBT2 services: name, image (digest or immutable tag), port, paths, resources, "
        "replica bounds, scaling target, canary plan and SLO; one entry per service.",
    )
    alb_certificate_arn: str = _field(
        "",
        "ACM certificate (primary region) of apiOriginHost for the services' HTTPS load "
        "balancer; required with services.",
    )

    # --- GitOps (Argo CD, docs/gitops.md) ------------------------------------------------------
    app_config_repo: str = _field(
        "",
        "Application configuration repository Argo CD pulls (https Git URL); required outside "
        "dev, empty = no GitOps.",
    )
    gitops_target_revision: str = _field(
        "", "Branch, tag or commit the Applications track; empty = main, release/prod in prod."
    )
    argocd_hostname: str = _field(
        "", "Host name of the Argo CD UI (OIDC redirect URL); needed with single sign-on."
    )
    argocd_oidc_issuer: str = _field(
        "", "OIDC issuer (https URL) for Argo CD single sign-on; empty = no SSO."
    )
    argocd_oidc_client_id: str = _field("", "OIDC client id of Argo CD.")
    argocd_oidc_client_secret_ref: str = _field(
        "",
        "Argo CD OIDC client secret as $<secret>:<key> (a Secret in namespace argocd); never "
        "the value.",
    )
    argocd_admin_group: str = _field("", "OIDC group whose members administer Argo CD.")

    # --- recovery drill (seed 4.7, .github/workflows/recovery-drill.yml) ------------------------
    drill: bool = _field(
        False,
        "Recovery-drill stack: only the landing zone a restore needs (stacks/drill.py); set by "
        "the drill workflow on a throw-away copy of prod's configuration, never by hand.",
    )

    # --- backups and recovery (seed 4.7) -------------------------------------------------------
    rto_objective_minutes: int = _field(
        120,
        "Recovery time objective in minutes (at most 120); the offline preview fails a stack "
        "with a DR region whose estimated restore there takes longer.",
    )
    backup_copy_schedule: str = _field(
        "*/30 * * * *",
        "Cron schedule of the copy of backup exports to Azure; under 60 minutes between runs "
        "(RPO < 1 h).",
    )
    backup_break_glass_role_arn: str = _field(
        "",
        "IAM role that alone may delete recovery points or change backup vault policies; "
        "empty = nobody.",
    )

    # --- other clouds (seed 4.1.2) -------------------------------------------------------------
    gcp_enabled: bool = _field(False, "Deploy the GCP analytics and AI services (staging, prod).")
    gcp_project: str = _field("", "GCP project id of the analytics services.")
    gcp_region: str = _field("europe-west1", "GCP region of the analytics services.")
    gcp_landing_location: str = _field(
        "EUR4", "GCS dual-region of the analytics landing bucket (turbo replication, RPO 15 min)."
    )
    azure_enabled: bool = _field(False, "Deploy the Azure redundancy copy (staging, prod).")
    azure_location: str = _field("westeurope", "Azure region of the redundancy copy.")
    azure_subscription_id: str = _field("", "Azure subscription of the redundancy copy.")
    azure_tenant_id: str = _field("", "Microsoft Entra tenant of that subscription.")

    # --- people (seed 4.2) --------------------------------------------------------------------
    developers_role_arn: str = _field(
        "", "IAM role of the developers group (dev only); empty = no access entry."
    )
    qa_role_arn: str = _field(
        "", "IAM role of the QA team (staging only); empty = no access entry."
    )
    stakeholders_role_arn: str = _field(
        "", "IAM role of selected stakeholders, read-only (staging only); empty = none."
    )
    sre_role_arn: str = _field(
        "", "IAM role of the SRE on-call group (every environment); empty = none."
    )

    # --- derived views ------------------------------------------------------------------------
    @property
    def is_prod(self) -> bool:
        """True for the production environment."""
        return self.environment == "prod"

    @property
    def tags(self) -> dict[str, str]:
        """Tags every taggable resource carries."""
        return {
            "environment": self.environment,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "pulumi",
            "project": "ttbt2",
        }

    @property
    def spot_enabled(self) -> bool:
        """Whether Karpenter may launch spot capacity: ``spotAllowed``, or off only in prod."""
        return self.spot_allowed if self.spot_allowed is not None else not self.is_prod

    @property
    def compute_zones(self) -> list[str]:
        """Availability zones that hold nodes and NAT gateways."""
        return self.availability_zones[:1] if self.single_az_compute else self.availability_zones

    @property
    def nat_zones(self) -> list[str]:
        """Zones with a NAT gateway: every zone (perAz) or the first compute zone (single)."""
        return (
            self.availability_zones if self.nat_gateway_mode == "perAz" else self.compute_zones[:1]
        )

    def access_roles(self) -> dict[str, str]:
        """Group name -> IAM role ARN, for the groups this stack names."""
        roles = {group: getattr(self, _snake(key)) for group, key in ROLE_KEYS.items()}
        return {group: arn for group, arn in roles.items() if arn}


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def config_keys() -> dict[str, Any]:
    """Every config key (camelCase) with its pydantic field, in declaration order."""
    return {field.alias or name: field for name, field in Settings.model_fields.items()}


def _is_list_field(key: str) -> bool:
    annotation = config_keys()[key].annotation
    return get_origin(annotation) is list or annotation is list


def parse_raw(stack: str, raw: Mapping[str, Any]) -> Settings:
    """Build :class:`Settings` from raw ``ttbt2:*`` values (the namespace already stripped).

    Values may be typed (from a YAML file) or strings (as the Pulumi engine passes config to a
    program: arrays arrive as JSON text). Raises :class:`SettingsError` naming every problem.
    """
    keys = config_keys()
    problems: list[Problem] = []
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in keys:
            problems.append(Problem(key, value, f"unknown key; known keys: {', '.join(keys)}"))
            continue
        if _is_list_field(key) and isinstance(value, str):
            # The engine passes list values to the program as JSON text.
            try:
                data[key] = json.loads(value)
            except json.JSONDecodeError:
                problems.append(Problem(key, value, 'must be a list, e.g. ["a", "b"]'))
            continue
        data[key] = value
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else "?"
            path = key + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"][1:]
            )
            problems.append(Problem(path, data.get(key, _UNSET), _describe(error, keys.get(key))))
        raise SettingsError(stack, problems) from None
    if problems:
        raise SettingsError(stack, problems)
    problems = list(check_rules(settings))
    if problems:
        raise SettingsError(stack, problems)
    return settings


def _describe(error: Mapping[str, Any], field: Any) -> str:
    """Say what is allowed for a field that failed type validation."""
    annotation = getattr(field, "annotation", None)
    if get_origin(annotation) is Literal:
        return "allowed values: " + ", ".join(str(a) for a in get_args(annotation))
    kinds: dict[Any, str] = {int: "an integer", bool: "true or false", str: "a string"}
    if annotation in kinds:
        return f"must be {kinds[annotation]}"
    return str(error["msg"])


def _private_network(key: str, cidr: str) -> tuple[ipaddress.IPv4Network | None, list[Problem]]:
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return None, [Problem(key, cidr, "must be an IPv4 network in CIDR form, e.g. 10.10.0.0/16")]
    if not isinstance(net, ipaddress.IPv4Network) or not net.is_private:
        return None, [Problem(key, cidr, "must be a private (RFC 1918) IPv4 network")]
    return net, []


def check_rules(s: Settings) -> Iterable[Problem]:
    """Cross-field rules. Yields every problem rather than stopping at the first."""
    yield from _check_environment(s)
    yield from _check_networks(s)
    yield from _check_zones(s)
    yield from _check_cluster(s)
    yield from _check_node_groups(s)
    yield from _check_access(s)
    yield from _check_database(s)
    yield from _check_cache(s)
    yield from _check_edge(s)
    yield from _check_vault(s)
    yield from _check_observability(s)
    yield from _check_clouds(s)
    yield from _check_recovery(s)
    yield from _check_autoscaling(s)
    yield from _check_gitops(s)
    yield from _check_services(s)
    if s.backup_break_glass_role_arn and not re.fullmatch(
        r"arn:aws[a-z-]*:iam::\d{12}:role/.+", s.backup_break_glass_role_arn
    ):
        yield Problem(
            "backupBreakGlassRoleArn", s.backup_break_glass_role_arn, "an IAM role ARN or empty"
        )


def _check_environment(s: Settings) -> Iterable[Problem]:
    if not _REGION.match(s.aws_region):
        yield Problem("awsRegion", s.aws_region, "must be an AWS region name such as eu-west-1")
    if s.is_prod and not s.dr_region:
        yield Problem("drRegion", s.dr_region, "prod needs a disaster-recovery region")
    if s.dr_region and (not _REGION.match(s.dr_region) or s.dr_region == s.aws_region):
        yield Problem("drRegion", s.dr_region, f"must be an AWS region other than {s.aws_region}")
    expected = EXPECTED_DATA[s.environment]
    if s.data_classification != expected:
        yield Problem(
            "dataClassification",
            s.data_classification,
            f"{s.environment} holds {expected} data (seed 4.2)",
        )
    if s.production_account_id and not _ACCOUNT_ID.match(s.production_account_id):
        yield Problem("productionAccountId", s.production_account_id, "must be 12 digits")
    if s.data_source_snapshot:
        if s.environment == "dev":
            yield Problem(
                "dataSourceSnapshot",
                s.data_source_snapshot,
                "dev starts empty and loads synthetic data; leave it empty",
            )
        elif not s.is_prod and _is_production_reference(s):
            yield Problem(
                "dataSourceSnapshot",
                s.data_source_snapshot,
                f"a {s.environment} stack may not read production data; use an anonymised snapshot",
            )
        elif s.is_prod and not _is_production_reference(s):
            yield Problem(
                "dataSourceSnapshot",
                s.data_source_snapshot,
                "prod restores only production snapshots (its account, or a prod-named snapshot)",
            )
    for key, days in (
        ("flowLogRetentionDays", s.flow_log_retention_days),
        ("controlPlaneLogRetentionDays", s.control_plane_log_retention_days),
    ):
        if days not in CLOUDWATCH_RETENTION_DAYS:
            yield Problem(
                key, days, "CloudWatch accepts " + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS))
            )
        elif s.is_prod and days < 365:
            yield Problem(key, days, "prod keeps logs at least 365 days")


# The retention periods CloudWatch Logs accepts (PutRetentionPolicy).
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


def _is_production_reference(s: Settings) -> bool:
    ref = s.data_source_snapshot.lower()
    if s.production_account_id and s.production_account_id in ref:
        return True
    name = ref.rsplit(":", 1)[-1]
    return bool(re.search(r"(^|[-_/])(prod|production)([-_/]|$)", name))


def _check_networks(s: Settings) -> Iterable[Problem]:
    named: list[tuple[str, ipaddress.IPv4Network]] = []
    vpc, problems = _private_network("vpcCidr", s.vpc_cidr)
    yield from problems
    if vpc is not None:
        if not 16 <= vpc.prefixlen <= 22:
            yield Problem("vpcCidr", s.vpc_cidr, "prefix must be between /16 and /22")
        named.append(("vpcCidr", vpc))
    if s.dr_vpc_cidr:
        dr, problems = _private_network("drVpcCidr", s.dr_vpc_cidr)
        yield from problems
        if dr is not None:
            named.append(("drVpcCidr", dr))
    elif s.is_prod:
        yield Problem("drVpcCidr", s.dr_vpc_cidr, "prod needs a network for its DR region")
    for i, cidr in enumerate(s.reserved_cidrs):
        net, problems = _private_network(f"reservedCidrs[{i}]", cidr)
        yield from problems
        if net is not None:
            named.append((f"reservedCidrs[{i}]", net))
    svc, problems = _private_network("serviceCidr", s.service_cidr)
    yield from problems
    if svc is not None:
        named.append(("serviceCidr", svc))
    for i, (key_a, net_a) in enumerate(named):
        for key_b, net_b in named[i + 1 :]:
            if net_a.overlaps(net_b):
                yield Problem(key_b, str(net_b), f"overlaps {NAMESPACE}:{key_a} ({net_a})")


def _check_zones(s: Settings) -> Iterable[Problem]:
    zones = s.availability_zones
    if not 2 <= len(zones) <= 3:
        yield Problem(
            "availabilityZones",
            zones,
            "2 or 3 zones (EKS needs subnets in two; the subnet plan has room for three)",
        )
    if len(set(zones)) != len(zones):
        yield Problem("availabilityZones", zones, "zones must be distinct")
    for i, zone in enumerate(zones):
        if not re.fullmatch(re.escape(s.aws_region) + r"[a-z]", zone):
            yield Problem(f"availabilityZones[{i}]", zone, f"must be a zone of {s.aws_region}")
    dr_zones = s.dr_availability_zones
    if s.dr_region and not 2 <= len(dr_zones) <= 3:
        yield Problem("drAvailabilityZones", dr_zones, f"2 or 3 zones of {s.dr_region}")
    if dr_zones and not s.dr_region:
        yield Problem("drAvailabilityZones", dr_zones, "only with drRegion set")
    if len(set(dr_zones)) != len(dr_zones):
        yield Problem("drAvailabilityZones", dr_zones, "zones must be distinct")
    for i, zone in enumerate(dr_zones):
        if s.dr_region and not re.fullmatch(re.escape(s.dr_region) + r"[a-z]", zone):
            yield Problem(f"drAvailabilityZones[{i}]", zone, f"must be a zone of {s.dr_region}")
    if s.environment != "dev":
        if s.single_az_compute:
            yield Problem("singleAzCompute", True, f"{s.environment} must spread nodes over zones")
        if s.is_prod and s.nat_gateway_mode != "perAz":
            yield Problem("natGatewayMode", s.nat_gateway_mode, "prod needs perAz (zone failure)")
        if s.is_prod and len(zones) < 3:
            yield Problem("availabilityZones", zones, "prod spans three availability zones")


def _check_cluster(s: Settings) -> Iterable[Problem]:
    if not re.fullmatch(r"1\.(2[89]|3\d)", s.kubernetes_version):
        yield Problem(
            "kubernetesVersion", s.kubernetes_version, "a supported EKS version, 1.28-1.39"
        )
    if not _K8S_NAME.match(s.app_namespace):
        yield Problem("appNamespace", s.app_namespace, "a Kubernetes namespace name (RFC 1123)")
    if s.cluster_endpoint_public and not s.cluster_public_access_cidrs:
        yield Problem(
            "clusterPublicAccessCidrs", [], "a public endpoint needs the CIDRs allowed to reach it"
        )
    for i, cidr in enumerate(s.cluster_public_access_cidrs):
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            yield Problem(f"clusterPublicAccessCidrs[{i}]", cidr, "must be an IPv4 CIDR")
            continue
        if net.prefixlen == 0:
            yield Problem(
                f"clusterPublicAccessCidrs[{i}]", cidr, "0.0.0.0/0 opens the API to the world"
            )
    if not 20 <= s.node_disk_size_gb <= 500:
        yield Problem("nodeDiskSizeGb", s.node_disk_size_gb, "between 20 and 500")


def _check_node_groups(s: Settings) -> Iterable[Problem]:
    for group in ("system", "workload"):
        sizes = [getattr(s, f"{group}_node_{k}_size") for k in ("min", "desired", "max")]
        low, desired, high = sizes
        key = f"{group}Node"
        if low < 0 or high < 1:
            yield Problem(f"{key}MaxSize", high, "min >= 0 and max >= 1")
        if not low <= desired <= high:
            yield Problem(
                f"{key}DesiredSize",
                desired,
                f"must satisfy {key}MinSize ({low}) <= {key}DesiredSize <= {key}MaxSize ({high})",
            )
        if s.environment != "dev" and low < 2:
            yield Problem(f"{key}MinSize", low, f"{s.environment} keeps at least 2 nodes (HA)")
        types = getattr(s, f"{group}_node_instance_types")
        yield from _check_instance_types(s, f"{key}InstanceTypes", types)
    if s.is_prod and s.workload_capacity_type == "SPOT":
        yield Problem("workloadCapacityType", "SPOT", "prod runs ON_DEMAND capacity")


def _check_instance_types(s: Settings, key: str, types: list[str]) -> Iterable[Problem]:
    if not types:
        yield Problem(key, types, "at least one instance type")
    architectures = set()
    for i, itype in enumerate(types):
        match = _INSTANCE_TYPE.match(itype)
        family = match.group("family") if match else ""
        allowed = GENERAL_FAMILIES if s.is_prod else ALLOWED_INSTANCE_FAMILIES
        if family not in allowed:
            yield Problem(
                f"{key}[{i}]", itype, "instance family must be one of " + ", ".join(sorted(allowed))
            )
            continue
        architectures.add(instance_architecture(itype))
    if len(architectures) > 1:
        yield Problem(key, types, "one node group cannot mix arm64 (Graviton) and x86_64 types")


def instance_architecture(instance_type: str) -> str:
    """``arm64`` for Graviton families (a 'g' after the generation digit), else ``x86_64``."""
    family = instance_type.split(".", 1)[0]
    return "arm64" if re.fullmatch(r"[a-z]+\d+g[a-z]*", family) else "x86_64"


def _check_access(s: Settings) -> Iterable[Problem]:
    allowed = set(access_plan(s.environment, s.app_namespace))
    for group, key in ROLE_KEYS.items():
        arn = getattr(s, _snake(key))
        if not arn:
            continue
        if group not in allowed:
            yield Problem(
                key,
                arn,
                f"{group} have no access to {s.environment}; groups allowed there: "
                + ", ".join(sorted(allowed)),
            )
        elif not _ROLE_ARN.match(arn):
            yield Problem(key, arn, "an IAM role ARN, arn:aws:iam::<12 digits>:role/<name>")
    if s.is_prod and s.production_account_id:
        for group, arn in s.access_roles().items():
            if f"::{s.production_account_id}:" not in arn:
                yield Problem(ROLE_KEYS[group], arn, "prod roles live in the production account")


def from_config_values(stack: str, values: Mapping[str, Any]) -> Settings:
    """Build :class:`Settings` from full config keys (``ttbt2:vpcCidr``); other namespaces
    (``aws:region``...) are not ours and are left out."""
    prefix = f"{NAMESPACE}:"
    raw = {key[len(prefix) :]: value for key, value in values.items() if key.startswith(prefix)}
    return parse_raw(stack, raw)


def from_pulumi_config() -> Settings:
    """Read the current stack's ``ttbt2:*`` config through the Pulumi runtime."""
    all_config = dict(pulumi.runtime.config.get_config_env())
    all_config.update(pulumi.runtime.config.CONFIG.get())
    return from_config_values(pulumi.get_stack(), all_config)


_DB_CLASS = re.compile(r"^db\.(?P<family>[a-z0-9]+)\.\w+$")
_CACHE_NODE = re.compile(r"^cache\.(?P<family>[a-z0-9]+)\.\w+$")
CACHE_VERSIONS: Mapping[str, tuple[str, ...]] = {
    "valkey": ("7.2", "8.0", "8.1"),
    "redis": ("7.0", "7.1"),
}
_PATH_PATTERN = re.compile(r"^/[A-Za-z0-9_./*-]*$")


def _check_database(s: Settings) -> Iterable[Problem]:
    match = _DB_CLASS.match(s.db_instance_class)
    if not match:
        yield Problem("dbInstanceClass", s.db_instance_class, "an RDS class such as db.m7g.large")
    elif s.is_prod and match.group("family").startswith("t"):
        yield Problem("dbInstanceClass", s.db_instance_class, "prod runs no burstable db.t* class")
    if s.db_engine_version not in ("16", "17"):
        yield Problem("dbEngineVersion", s.db_engine_version, "PostgreSQL major version 16 or 17")
    if not 20 <= s.db_allocated_storage_gb <= 65536:
        yield Problem("dbAllocatedStorageGb", s.db_allocated_storage_gb, "between 20 and 65536")
    if s.db_max_allocated_storage_gb < s.db_allocated_storage_gb:
        yield Problem(
            "dbMaxAllocatedStorageGb",
            s.db_max_allocated_storage_gb,
            f"at least dbAllocatedStorageGb ({s.db_allocated_storage_gb})",
        )
    minimum = {"dev": 7, "staging": 14, "prod": 35}[s.environment]
    if not minimum <= s.db_backup_retention_days <= 35:
        yield Problem(
            "dbBackupRetentionDays",
            s.db_backup_retention_days,
            f"{s.environment} keeps {minimum} to 35 days of backups",
        )
    if s.environment != "dev" and not s.db_multi_az:
        yield Problem("dbMultiAz", False, f"{s.environment} runs a Multi-AZ database")
    pi_days = s.db_performance_insights_retention_days
    if pi_days != 7 and not (pi_days % 31 == 0 and 31 <= pi_days <= 731):
        yield Problem(
            "dbPerformanceInsightsRetentionDays", pi_days, "7, or a multiple of 31 up to 731"
        )
    if s.db_monitoring_interval_seconds not in (1, 5, 10, 15, 30, 60):
        yield Problem(
            "dbMonitoringIntervalSeconds",
            s.db_monitoring_interval_seconds,
            "1, 5, 10, 15, 30 or 60 (enhanced monitoring stays on)",
        )
    for key, value in (("dbName", s.db_name), ("dbMasterUsername", s.db_master_username)):
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", value) or value in ("postgres", "admin"):
            yield Problem(key, value, "lowercase letters, digits, _; not a reserved name")


def _check_cache(s: Settings) -> Iterable[Problem]:
    if s.cache_engine_version not in CACHE_VERSIONS[s.cache_engine]:
        yield Problem(
            "cacheEngineVersion",
            s.cache_engine_version,
            f"{s.cache_engine} versions: " + ", ".join(CACHE_VERSIONS[s.cache_engine]),
        )
    match = _CACHE_NODE.match(s.cache_node_type)
    if not match:
        yield Problem("cacheNodeType", s.cache_node_type, "a node type such as cache.m7g.large")
    elif s.is_prod and match.group("family").startswith("t"):
        yield Problem("cacheNodeType", s.cache_node_type, "prod runs no burstable cache.t* node")
    if not 1 <= s.cache_nodes <= 6:
        yield Problem("cacheNodes", s.cache_nodes, "between 1 and 6")
    elif s.environment != "dev" and s.cache_nodes < 2:
        yield Problem("cacheNodes", s.cache_nodes, f"{s.environment} needs 2+ nodes to fail over")
    if not 0 <= s.cache_snapshot_retention_days <= 35:
        yield Problem("cacheSnapshotRetentionDays", s.cache_snapshot_retention_days, "0 to 35")
    elif s.is_prod and s.cache_snapshot_retention_days < 7:
        yield Problem(
            "cacheSnapshotRetentionDays", s.cache_snapshot_retention_days, "prod keeps 7 or more"
        )


def _check_edge(s: Settings) -> Iterable[Problem]:
    hostname = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
    if not hostname.match(s.api_origin_host):
        yield Problem("apiOriginHost", s.api_origin_host, "a DNS host name, e.g. api.example.com")
    if s.cdn_domain and not hostname.match(s.cdn_domain):
        yield Problem("cdnDomain", s.cdn_domain, "a DNS host name, e.g. www.example.com")
    if s.cdn_domain and not re.fullmatch(r"Z[A-Z0-9]{1,31}", s.cdn_hosted_zone_id):
        yield Problem(
            "cdnHostedZoneId", s.cdn_hosted_zone_id, "the Route 53 zone id of cdnDomain (Z...)"
        )
    if s.is_prod and s.cdn_price_class != "PriceClass_All":
        yield Problem("cdnPriceClass", s.cdn_price_class, "prod serves every edge: PriceClass_All")
    for key, paths in (("apiPublicPaths", s.api_public_paths), ("staticPaths", s.static_paths)):
        for i, path in enumerate(paths):
            if not _PATH_PATTERN.match(path):
                yield Problem(
                    f"{key}[{i}]", path, "a CloudFront path pattern such as /api/public/*"
                )
    overlap = set(s.api_public_paths) & set(s.static_paths)
    if overlap:
        yield Problem("staticPaths", sorted(overlap), "a path is either static or API, not both")
    # Public API responses are cached for at most 5 minutes (the API cache policy's maximum).
    if not 0 <= s.api_cache_ttl_seconds <= 300:
        yield Problem("apiCacheTtlSeconds", s.api_cache_ttl_seconds, "0 to 300 seconds")
    if not 10 <= s.waf_rate_limit <= 2_000_000_000:
        yield Problem("wafRateLimit", s.waf_rate_limit, "10 to 2000000000 requests per 5 minutes")
    if s.access_log_retention_days < 1:
        yield Problem("accessLogRetentionDays", s.access_log_retention_days, "at least 1 day")
    elif s.is_prod and s.access_log_retention_days < 365:
        yield Problem("accessLogRetentionDays", s.access_log_retention_days, "prod keeps 365+")


def _check_vault(s: Settings) -> Iterable[Problem]:
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d{1,5})?/?", s.vault_address):
        yield Problem(
            "vaultAddress", s.vault_address, "an https:// address, e.g. https://vault:8200"
        )
    if s.vault_auth_method != "token" and not s.vault_auth_role:
        yield Problem("vaultAuthRole", "", f"the {s.vault_auth_method} login needs a role")
    if s.is_prod and s.vault_auth_method == "token":
        yield Problem(
            "vaultAuthMethod", "token", "prod logs in with jwt, kubernetes or approle, not a token"
        )
    own = f"ttbt2/{s.environment}/"
    seen: set[tuple[str, str, str]] = set()
    for i, ref in enumerate(s.vault_secrets):
        # A stack reads only its own environment's secrets: staging never sees prod's.
        if not ref.path.startswith(own):
            yield Problem(f"vaultSecrets[{i}].path", ref.path, f"must be under {own}")
        ident = (ref.mount or s.vault_kv_mount, ref.path, ref.key)
        if ident in seen:
            yield Problem(f"vaultSecrets[{i}]", ref.model_dump(), "declared twice")
        seen.add(ident)
    consumers = [ref.consumer for ref in s.vault_secrets]
    if consumers.count("redis") > 1:
        yield Problem("vaultSecrets", consumers, "the cache takes exactly one AUTH token")
    if s.vault_services and "database-admin" not in consumers:
        yield Problem(
            "vaultSecrets",
            consumers,
            "services get database credentials from Vault: declare the database-admin "
            "secret its database engine connects with",
        )
    missing = [c for c in ALERTMANAGER_CONSUMERS if c not in consumers]
    if missing:
        yield Problem(
            "vaultSecrets",
            consumers,
            "Alertmanager's receiver credentials come from Vault: declare " + ", ".join(missing),
        )
    for i, service in enumerate(s.vault_services):
        if not _K8S_NAME.match(service):
            yield Problem(f"vaultServices[{i}]", service, "a Kubernetes name (RFC 1123)")
    if not 300 <= s.vault_credential_ttl_seconds <= 86400:
        yield Problem(
            "vaultCredentialTtlSeconds", s.vault_credential_ttl_seconds, "300 to 86400 seconds"
        )
    if not 3600 <= s.vault_static_rotation_seconds <= 2_592_000:
        yield Problem(
            "vaultStaticRotationSeconds", s.vault_static_rotation_seconds, "3600 to 2592000"
        )


def _check_observability(s: Settings) -> Iterable[Problem]:
    if s.is_prod and s.prometheus_replicas < 2:
        yield Problem(
            "prometheusReplicas", s.prometheus_replicas, "prod runs 2 Prometheus replicas"
        )
    if not 1 <= s.prometheus_replicas <= 3:
        yield Problem("prometheusReplicas", s.prometheus_replicas, "1 to 3")
    if s.is_prod and s.alertmanager_replicas < 3:
        yield Problem(
            "alertmanagerReplicas", s.alertmanager_replicas, "prod runs 3 (an HA cluster)"
        )
    if not 1 <= s.alertmanager_replicas <= 5:
        yield Problem("alertmanagerReplicas", s.alertmanager_replicas, "1 to 5")
    if not 1 <= s.prometheus_retention_days <= 90:
        yield Problem("prometheusRetentionDays", s.prometheus_retention_days, "1 to 90 days")
    if s.is_prod and s.elasticsearch_nodes < 3:
        yield Problem("elasticsearchNodes", s.elasticsearch_nodes, "prod runs 3 or more nodes")
    if not 1 <= s.elasticsearch_nodes <= 15:
        yield Problem("elasticsearchNodes", s.elasticsearch_nodes, "1 to 15")
    elif s.elasticsearch_nodes == 2:
        # Two master-eligible nodes cannot outvote each other: losing one stops the cluster.
        yield Problem("elasticsearchNodes", 2, "1, or 3 or more (a master quorum needs 3)")
    for key, size in (
        ("prometheusStorageGb", s.prometheus_storage_gb),
        ("elasticsearchStorageGb", s.elasticsearch_storage_gb),
    ):
        if not 10 <= size <= 16384:
            yield Problem(key, size, "10 to 16384 GiB")
    if not 1 <= s.log_retention_days <= 3650:
        yield Problem("logRetentionDays", s.log_retention_days, "1 to 3650 days")
    if not re.fullmatch(r"#[a-z0-9_-]{1,79}", s.alert_slack_channel):
        yield Problem("alertSlackChannel", s.alert_slack_channel, "a channel such as #alerts")
    for key, value in (("alertEmailTo", s.alert_email_to), ("alertEmailFrom", s.alert_email_from)):
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", value):
            yield Problem(key, value, "an email address")
    if not re.fullmatch(r"[A-Za-z0-9.-]+:\d{1,5}", s.alert_smarthost):
        yield Problem("alertSmarthost", s.alert_smarthost, "host:port of an SMTP relay")
    if not s.alert_sms_webhook_url.startswith("https://"):
        yield Problem("alertSmsWebhookUrl", s.alert_sms_webhook_url, "an https:// URL")


def _check_services(s: Settings) -> Iterable[Problem]:
    for key, value, allowed in check_services(s.environment, s.services):
        yield Problem(key, value, allowed)
    if s.services and not re.fullmatch(
        rf"arn:aws[a-z-]*:acm:{re.escape(s.aws_region)}:\d{{12}}:certificate/[0-9a-f-]{{36}}",
        s.alb_certificate_arn,
    ):
        yield Problem(
            "albCertificateArn",
            s.alb_certificate_arn,
            f"the ARN of an ACM certificate in {s.aws_region} (services are served over HTTPS)",
        )


def _check_gitops(s: Settings) -> Iterable[Problem]:
    # Seed 4.1.3: application changes reach shared environments only through the reviewed
    # configuration repository.
    if s.environment != "dev" and not s.app_config_repo:
        yield Problem(
            "appConfigRepo",
            "",
            "staging and prod deploy services through Argo CD: an https Git URL",
        )
    if s.app_config_repo and not re.fullmatch(
        r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~-]+)+", s.app_config_repo
    ):
        yield Problem(
            "appConfigRepo",
            s.app_config_repo,
            "an https Git URL, e.g. https://github.com/org/app-config.git",
        )
    sso = {
        "argocdOidcIssuer": s.argocd_oidc_issuer,
        "argocdOidcClientId": s.argocd_oidc_client_id,
        "argocdOidcClientSecretRef": s.argocd_oidc_client_secret_ref,
        "argocdAdminGroup": s.argocd_admin_group,
        "argocdHostname": s.argocd_hostname,
    }
    if any(sso.values()):
        for key, value in sso.items():
            if not value:
                yield Problem(key, "", "single sign-on needs all of " + ", ".join(sso))


def _check_autoscaling(s: Settings) -> Iterable[Problem]:
    bounds = (
        ("karpenterCpuLimit", s.karpenter_cpu_limit, 1, 1000),
        ("karpenterMemoryLimitGib", s.karpenter_memory_limit_gib, 1, 4000),
        ("predictiveScalingCpuTarget", s.predictive_scaling_cpu_target, 10, 90),
        ("predictiveScalingBufferSeconds", s.predictive_scaling_buffer_seconds, 0, 3600),
    )
    for key, value, low, high in bounds:
        if not low <= value <= high:
            yield Problem(key, value, f"between {low} and {high}")
    if not re.fullmatch(r"([0-9]+(s|m|h))+", s.karpenter_expire_after):
        yield Problem("karpenterExpireAfter", s.karpenter_expire_after, "a duration such as 720h")


RTO_LIMIT_MINUTES = 120
"""Seed 4.7: the platform is restored within two hours."""
RPO_LIMIT_MINUTES = 60
"""Seed 4.7: at most one hour of data may be lost."""


def _check_recovery(s: Settings) -> Iterable[Problem]:
    # Imported here: the CronJob module imports the Kubernetes SDK, which settings need not load
    # unless the schedule has to be understood.
    from components.k8s.backup_copy import max_interval_minutes

    if not 1 <= s.rto_objective_minutes <= RTO_LIMIT_MINUTES:
        yield Problem(
            "rtoObjectiveMinutes",
            s.rto_objective_minutes,
            f"1 to {RTO_LIMIT_MINUTES} minutes (seed 4.7: RTO under 2 h)",
        )
    try:
        gap = max_interval_minutes(s.backup_copy_schedule)
    except ValueError as exc:
        yield Problem("backupCopySchedule", s.backup_copy_schedule, f"a cron schedule: {exc}")
        return
    if gap >= RPO_LIMIT_MINUTES:
        yield Problem(
            "backupCopySchedule",
            s.backup_copy_schedule,
            f"runs at most every {RPO_LIMIT_MINUTES - 1} minutes: it leaves {gap} min between "
            f"copies, and the RPO is under {RPO_LIMIT_MINUTES} min",
        )


GCS_DUAL_REGIONS = frozenset({"ASIA1", "EUR4", "EUR5", "EUR7", "EUR8", "NAM4"})
"""GCS predefined dual-regions (also Cloud KMS locations, for the bucket's key)."""

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _check_clouds(s: Settings) -> Iterable[Problem]:
    # Seed 4.1.2: analytics on GCP and redundancy on Azure belong to every shared environment;
    # only dev may run on AWS alone.
    if s.environment != "dev":
        if not s.gcp_enabled:
            yield Problem("gcpEnabled", False, f"{s.environment} runs the GCP analytics services")
        if not s.azure_enabled:
            yield Problem("azureEnabled", False, f"{s.environment} keeps a copy in Azure")
    if s.gcp_enabled:
        if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", s.gcp_project):
            yield Problem("gcpProject", s.gcp_project, "a GCP project id (6-30 lowercase chars)")
        if not re.fullmatch(r"[a-z]+-[a-z]+\d", s.gcp_region):
            yield Problem("gcpRegion", s.gcp_region, "a GCP region such as europe-west1")
        if s.gcp_landing_location not in GCS_DUAL_REGIONS:
            allowed = ", ".join(sorted(GCS_DUAL_REGIONS))
            yield Problem("gcpLandingLocation", s.gcp_landing_location, f"one of {allowed}")
    if s.azure_enabled:
        if not re.fullmatch(r"[a-z]+[a-z0-9]*", s.azure_location):
            yield Problem("azureLocation", s.azure_location, "an Azure region such as westeurope")
        for key, value in (
            ("azureSubscriptionId", s.azure_subscription_id),
            ("azureTenantId", s.azure_tenant_id),
        ):
            if not _UUID.match(value):
                yield Problem(key, value, "a GUID such as 00000000-0000-0000-0000-000000000000")
