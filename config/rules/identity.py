"""Rules of the stack's identity: the data it holds and where that data may come from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from config.models.identity import IdentitySettings
from config.problems import Problem, bad
from policies.ttbt2_policies.data_seed import ANONYMISED_PREFIX, is_anonymised_snapshot

EXPECTED_DATA: Mapping[str, str] = {"dev": "synthetic", "staging": "anonymised", "prod": "real"}
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def check_identity(identity: IdentitySettings) -> Iterable[Problem]:
    """Data classification per environment (seed 4.2) and the seed snapshot's origin."""
    env = identity.environment
    expected = EXPECTED_DATA[env]
    if identity.data_classification != expected:
        yield bad(identity, "data_classification", f"{env} holds {expected} data (seed 4.2)")
    if identity.production_account_id and not _ACCOUNT_ID.match(identity.production_account_id):
        yield bad(identity, "production_account_id", "must be 12 digits")
    if not identity.data_source_snapshot:
        return
    if env == "dev":
        yield bad(
            identity,
            "data_source_snapshot",
            "dev starts empty and loads synthetic data; leave it empty",
        )
    elif not identity.is_prod and is_production_reference(identity):
        yield bad(
            identity,
            "data_source_snapshot",
            f"a {env} stack may not read production data; use an anonymised snapshot",
        )
    elif not identity.is_prod and not is_anonymised_snapshot(identity.data_source_snapshot):
        yield bad(
            identity,
            "data_source_snapshot",
            f"an anonymisation pipeline output, {ANONYMISED_PREFIX}<YYYY-MM-DD> "
            "(docs/data/README.md)",
        )
    elif identity.is_prod and not is_production_reference(identity):
        yield bad(
            identity,
            "data_source_snapshot",
            "prod restores only production snapshots (its account, or a prod-named snapshot)",
        )


def is_production_reference(identity: IdentitySettings) -> bool:
    """Whether the seed snapshot is production's: in its account, or named prod."""
    ref = identity.data_source_snapshot.lower()
    if identity.production_account_id and identity.production_account_id in ref:
        return True
    name = ref.rsplit(":", 1)[-1]
    return bool(re.search(r"(^|[-_/])(prod|production)([-_/]|$)", name))


RULES = (check_identity,)
