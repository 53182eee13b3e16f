"""The whole of one stack's settings: one sub-model per domain, and the views derived from them.

Pulumi's project configuration schema can type only strings, integers, booleans and arrays, so
every key stays flat (``ttbt2:workloadNodeMinSize``); each domain's fields carry their flat key
as alias, and :func:`flat_keys` is derived from them, never written twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

from config.fields import Domain
from config.models.access import AccessSettings
from config.models.autoscaling import AutoscalingSettings
from config.models.ci import CiRunnerSettings
from config.models.clouds import AzureSettings, GcpSettings
from config.models.cluster import ClusterSettings, NodeGroupSettings
from config.models.cost import CostSettings
from config.models.data import CacheSettings, DatabaseSettings
from config.models.data_pipelines import DataPipelineSettings
from config.models.delivery import DeliverySettings, GitOpsSettings
from config.models.edge import EdgeSettings
from config.models.identity import IdentitySettings
from config.models.network import NetworkSettings
from config.models.observability import AlertingSettings, ObservabilitySettings
from config.models.recovery import RecoverySettings
from config.models.sso import SsoSettings
from config.models.vault import VaultSettings
from policies.ttbt2_policies.classification import REDACTING_CLASSIFICATIONS
from policies.ttbt2_policies.classification import TAG as DATA_CLASSIFICATION_TAG


class Settings(BaseModel):
    """Every setting of one stack, by domain (``cfg.database.backup_retention_days``).

    Build it with :func:`config.parse_raw` (or ``from_config_values`` / ``from_pulumi_config``),
    which validates every domain and the rules between them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    nodes: NodeGroupSettings = Field(default_factory=NodeGroupSettings)
    autoscaling: AutoscalingSettings = Field(default_factory=AutoscalingSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    edge: EdgeSettings = Field(default_factory=EdgeSettings)
    vault: VaultSettings = Field(default_factory=VaultSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    gitops: GitOpsSettings = Field(default_factory=GitOpsSettings)
    recovery: RecoverySettings = Field(default_factory=RecoverySettings)
    gcp: GcpSettings = Field(default_factory=GcpSettings)
    azure: AzureSettings = Field(default_factory=AzureSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    ci_runner: CiRunnerSettings = Field(default_factory=CiRunnerSettings)
    sso: SsoSettings = Field(default_factory=SsoSettings)
    cost: CostSettings = Field(default_factory=CostSettings)
    data_pipelines: DataPipelineSettings = Field(default_factory=DataPipelineSettings)

    # --- derived views ------------------------------------------------------------------------
    @property
    def is_prod(self) -> bool:
        """True for the production environment."""
        return self.identity.is_prod

    @property
    def tags(self) -> dict[str, str]:
        """Tags every taggable resource carries."""
        return {
            "environment": self.identity.environment,
            "owner": self.identity.owner,
            "cost-center": self.identity.cost_center,
            "managed-by": "pulumi",
            "project": "ttbt2",
        }

    @property
    def data_tags(self) -> dict[str, str]:
        """Tags of a data store: :attr:`tags` plus the class of data it holds (seed 4.2)."""
        return {**self.tags, DATA_CLASSIFICATION_TAG: self.identity.data_classification}

    @property
    def labels(self) -> dict[str, str]:
        """GCP labels of every resource: :attr:`tags` with ``_`` for ``-`` in the keys."""
        return {key.replace("-", "_"): value for key, value in self.tags.items()}

    @property
    def data_labels(self) -> dict[str, str]:
        """GCP labels of a data store: :attr:`labels` plus the classification.

        The classification keeps its hyphen (GCP label keys allow it): one key to search for
        on every cloud.
        """
        return {**self.labels, DATA_CLASSIFICATION_TAG: self.identity.data_classification}

    @property
    def redact_log_ips(self) -> bool:
        """Whether the log pipeline masks client IPs: ``logRedactIps``, or on for real data."""
        explicit = self.observability.log_redact_ips
        if explicit is not None:
            return explicit
        return self.observability.log_redaction and (
            self.identity.data_classification in REDACTING_CLASSIFICATIONS
        )

    @property
    def spot_enabled(self) -> bool:
        """Whether Karpenter may launch spot capacity: ``spotAllowed``, or off only in prod."""
        allowed = self.autoscaling.spot_allowed
        return allowed if allowed is not None else not self.is_prod

    @property
    def compute_zones(self) -> list[str]:
        """Availability zones that hold nodes and NAT gateways."""
        zones = self.network.availability_zones
        return zones[:1] if self.cluster.single_az_compute else zones

    @property
    def nat_zones(self) -> list[str]:
        """Zones with a NAT gateway: every zone (perAz) or the first compute zone (single)."""
        if self.network.nat_gateway_mode == "perAz":
            return self.network.availability_zones
        return self.compute_zones[:1]

    @property
    def application_namespaces(self) -> list[str]:
        """Where the application runs: the shared namespace, then each delivered service's own.

        Access to the application (``components/aws/access.py``) covers every one of them.
        """
        services = [service.name for service in self.delivery.services]
        return list(dict.fromkeys([self.cluster.app_namespace, *services]))

    def access_roles(self) -> dict[str, str]:
        """Group name -> IAM role ARN, for the groups this stack names."""
        return self.access.roles()


DOMAINS: dict[str, type[Domain]] = {
    name: info.annotation  # type: ignore[misc]
    for name, info in Settings.model_fields.items()
}
"""Domain attribute of :class:`Settings` -> its model, in declaration order."""


@dataclass(frozen=True)
class FlatKey:
    """Where one flat ``ttbt2:`` key lives: ``Settings.<domain>.<field>``."""

    key: str
    domain: str
    model: type[Domain]
    field: str
    info: FieldInfo

    @property
    def path(self) -> str:
        """The attribute path from a :class:`Settings` (``database.backup_retention_days``)."""
        return f"{self.domain}.{self.field}"


def flat_keys() -> dict[str, FlatKey]:
    """Every flat config key (camelCase), in declaration order, with where it lives."""
    keys: dict[str, FlatKey] = {}
    for domain, model in DOMAINS.items():
        for field, info in model.model_fields.items():
            key = info.alias or field
            if key in keys:
                raise RuntimeError(f"config key {key} is declared twice")
            keys[key] = FlatKey(key, domain, model, field, info)
    return keys


def config_keys() -> dict[str, FieldInfo]:
    """Every config key (camelCase) with its pydantic field, in declaration order."""
    return {key: flat.info for key, flat in flat_keys().items()}
