"""The data pipelines (seed 4.2): dev's synthetic data and the anonymisation of production's."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from config.fields import Domain, setting

MaskingStrategy = Literal["email", "hash", "null", "redact"]
_IDENTIFIER = r"[a-z_][a-z0-9_]{0,62}"


class PiiColumn(BaseModel):
    """One column of production's database that holds personal data, and how it is masked."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    table: str = Field(
        description="Table, optionally schema-qualified (schema.table), lower-case.",
        pattern=rf"^({_IDENTIFIER}\.)?{_IDENTIFIER}$",
    )
    column: str = Field(description="Column name, lower-case.", pattern=rf"^{_IDENTIFIER}$")
    strategy: MaskingStrategy = Field(
        description="email (a unique address under example.invalid), hash (salted SHA-256 "
        "hex, joins kept), null, or redact (the text '[redacted]')."
    )


class DataPipelineSettings(Domain):
    """Where an environment's data comes from besides its own users (docs/data/README.md)."""

    synthetic_data_enabled: bool = setting(
        False,
        "Run the synthetic-data Job that seeds the empty database once (dev; never with real "
        "data).",
        key="syntheticDataEnabled",
    )
    anonymisation_enabled: bool = setting(
        False,
        "Prod: the anonymisation pipeline's isolated network and least-privilege role "
        "(.github/workflows/anonymise.yml); needs piiColumns and the CI runner.",
        key="anonymisationEnabled",
    )
    anonymisation_share_account_ids: list[str] = setting(
        [],
        "Prod: AWS accounts (12 digits) the anonymised snapshots are shared with (staging's), "
        "each copying them into its own account.",
        key="anonymisationShareAccountIds",
    )
    pii_columns: list[PiiColumn] = setting(
        [],
        "Prod: the columns holding personal data and how the anonymisation pipeline masks "
        "each ({table, column, strategy}).",
        key="piiColumns",
    )
