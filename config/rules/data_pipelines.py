"""Rules of the data pipelines: synthetic data never beside real data, masking described by prod."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.models.ci import CiRunnerSettings
from config.models.data_pipelines import DataPipelineSettings
from config.models.identity import IdentitySettings
from config.problems import Problem, bad


def check_synthetic_data(
    pipelines: DataPipelineSettings, identity: IdentitySettings
) -> Iterable[Problem]:
    """Synthetic rows go only into an empty database that holds no real data."""
    if not pipelines.synthetic_data_enabled:
        return
    if identity.data_classification == "real":
        yield bad(
            pipelines,
            "synthetic_data_enabled",
            "false in a stack holding real data (dataClassification: real)",
        )
    elif identity.data_source_snapshot:
        yield bad(
            pipelines,
            "synthetic_data_enabled",
            "false in a stack seeded from a snapshot (dataSourceSnapshot)",
        )


def check_anonymisation(
    pipelines: DataPipelineSettings, identity: IdentitySettings, ci: CiRunnerSettings
) -> Iterable[Problem]:
    """The pipeline reads production's data, so prod describes it and runs it."""
    if pipelines.pii_columns and not identity.is_prod:
        yield bad(
            pipelines,
            "pii_columns",
            "empty outside prod: it describes production's data, masked in the prod stack",
        )
    for index, account in enumerate(pipelines.anonymisation_share_account_ids):
        if not re.fullmatch(r"\d{12}", account):
            yield bad(pipelines, "anonymisation_share_account_ids", "12 digits", index=index)
        elif account == identity.production_account_id:
            yield bad(
                pipelines,
                "anonymisation_share_account_ids",
                "another account than production's (productionAccountId)",
                index=index,
            )
    if pipelines.anonymisation_share_account_ids and not identity.is_prod:
        yield bad(pipelines, "anonymisation_share_account_ids", "empty outside prod")
    seen: set[tuple[str, str]] = set()
    for index, pii in enumerate(pipelines.pii_columns):
        if (pii.table, pii.column) in seen:
            yield bad(
                pipelines,
                "pii_columns",
                "each table and column once",
                index=index,
                suffix=".column",
                value=pii.column,
            )
        seen.add((pii.table, pii.column))
    if not pipelines.anonymisation_enabled:
        return
    if not identity.is_prod:
        yield bad(pipelines, "anonymisation_enabled", "true only in prod, whose data it masks")
    if not pipelines.pii_columns:
        yield bad(
            pipelines,
            "anonymisation_enabled",
            "true only with piiColumns: the pipeline masks those columns",
        )
    if not ci.enabled:
        yield bad(
            pipelines,
            "anonymisation_enabled",
            "true only with ciRunnerEnabled: the pipeline runs on the stack's CI runner",
        )


RULES = (check_synthetic_data, check_anonymisation)
