"""The other clouds (seed 4.1.2): GCP for analytics and AI, Azure for redundancy."""

from __future__ import annotations

from config.fields import Domain, setting


class GcpSettings(Domain):
    """The GCP analytics project."""

    enabled: bool = setting(
        False, "Deploy the GCP analytics and AI services (staging, prod).", key="gcpEnabled"
    )
    project: str = setting("", "GCP project id of the analytics services.", key="gcpProject")
    region: str = setting("europe-west1", "GCP region of the analytics services.", key="gcpRegion")
    landing_location: str = setting(
        "EUR4",
        "GCS dual-region of the analytics landing bucket (turbo replication, RPO 15 min).",
        key="gcpLandingLocation",
    )


class AzureSettings(Domain):
    """The Azure redundancy copy."""

    enabled: bool = setting(
        False, "Deploy the Azure redundancy copy (staging, prod).", key="azureEnabled"
    )
    location: str = setting(
        "westeurope", "Azure region of the redundancy copy.", key="azureLocation"
    )
    subscription_id: str = setting(
        "", "Azure subscription of the redundancy copy.", key="azureSubscriptionId"
    )
    tenant_id: str = setting(
        "", "Microsoft Entra tenant of that subscription.", key="azureTenantId"
    )
