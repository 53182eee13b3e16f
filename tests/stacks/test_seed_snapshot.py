"""Staging's seed snapshot is looked up at deploy time and must carry the pipeline's tag.

Settings check the name before anything runs (tests/config); here the whole staging program
runs on the mock engine, once with the mocks' answer for an anonymisation output (tagged) and
once with a snapshot of the same name that is not tagged, which must stop the deploy.
"""

from __future__ import annotations

from typing import Any

import pytest

from offline import mocks
from offline.engine import run_stack
from offline.stackfile import load_stack
from policies.ttbt2_policies.data_seed import (
    ANONYMISED_TAG,
    NotAnonymisedError,
    require_anonymised_tags,
)
from tests.conftest import ROOT

INSTANCE = "aws:rds/instance:Instance"


def test_tagged_output_passes_and_names_the_snapshot() -> None:
    tags = {ANONYMISED_TAG: "true", "other": "x"}
    assert require_anonymised_tags("ttbt2-anonymised-2026-12-01", tags) == (
        "ttbt2-anonymised-2026-12-01"
    )


@pytest.mark.parametrize(
    "tags", [{ANONYMISED_TAG: "false"}, {"ttbt2:anonymized": "true"}, {}, None]
)
def test_untagged_or_missing_tags_stop_the_deploy(tags: dict[str, str] | None) -> None:
    with pytest.raises(NotAnonymisedError, match=f"has no tag {ANONYMISED_TAG}=true"):
        require_anonymised_tags("ttbt2-anonymised-2026-12-01", tags)


def test_staging_deploys_from_a_tagged_snapshot() -> None:
    graph = run_stack(ROOT, load_stack(ROOT, "staging"), preview=False)
    [db] = [r for r in graph.resources if r.type == INSTANCE and r.name.endswith("-db-instance")]
    assert db.props["snapshotIdentifier"] == "ttbt2-anonymised-2026-11"


def test_staging_refuses_an_untagged_snapshot_of_the_same_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = mocks._rds_snapshot

    def untagged(name: str) -> dict[str, Any]:
        return {**real(name), "tags": {}}

    monkeypatch.setattr(mocks, "_rds_snapshot", untagged)
    with pytest.raises(Exception, match=f"has no tag {ANONYMISED_TAG}=true") as err:
        run_stack(ROOT, load_stack(ROOT, "staging"), preview=False)
    assert "ttbt2-anonymised-2026-11" in str(err.value)
