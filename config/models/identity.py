"""Who the stack is: environment, ownership, the data it holds."""

from __future__ import annotations

from typing import Literal

from config.fields import Domain, setting

Environment = Literal["dev", "staging", "prod"]
DataClassification = Literal["synthetic", "anonymised", "real"]


class IdentitySettings(Domain):
    """The environment a stack deploys and what it is tagged and trusted with."""

    environment: Environment = setting(
        "dev", "Environment this stack deploys (seed 4.2): dev, staging or prod.", key="environment"
    )
    owner: str = setting(
        "platform-team",
        "Team that owns the stack; tagged on every resource as 'owner'.",
        key="owner",
    )
    cost_center: str = setting(
        "ttbt2-engineering",
        "Cost center tagged on every resource as 'cost-center'.",
        key="costCenter",
    )
    data_classification: DataClassification = setting(
        "synthetic",
        "Data the environment holds (seed 4.2): synthetic (dev), anonymised (staging), "
        "real (prod).",
        key="dataClassification",
    )
    production_account_id: str = setting(
        "",
        "AWS account id of production; non-prod stacks may not reference data in it.",
        key="productionAccountId",
    )
    data_source_snapshot: str = setting(
        "",
        "Snapshot (identifier or ARN) the environment's data is seeded from; empty = none.",
        key="dataSourceSnapshot",
    )
    drill: bool = setting(
        False,
        "Recovery-drill stack: only the landing zone a restore needs (stacks/drill.py); set by "
        "the drill workflow on a throw-away copy of prod's configuration, never by hand.",
        key="drill",
    )

    @property
    def is_prod(self) -> bool:
        """True for the production environment."""
        return self.environment == "prod"
