"""Where a non-production database's data may come from: an anonymisation pipeline's output.

Seed 4.2: staging holds a subset of real data, anonymised. The anonymisation pipeline
(``.github/workflows/anonymise.yml``, ``scripts/anonymise.py``) restores a production snapshot
into an isolated instance, masks the configured PII columns and snapshots the result under a
name of :data:`ANONYMISED_PATTERN`, tagged :data:`ANONYMISED_TAG` ``=true``. Nothing else writes
snapshots of that name, so outside production an RDS instance or cluster restored from a
snapshot (``snapshotIdentifier``) must restore one of those.

The naming lives here, the one module the program, the stack settings, the pipeline's script
and the pack (loaded on its own from ``policies/``) can all import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from pulumi_policy import Policy, ResourceValidationArgs

from .common import (
    MANDATORY,
    production_config_schema,
    production_stacks,
    resource_policy,
    stack_of,
    str_prop,
)

ANONYMISED_PREFIX = "ttbt2-anonymised-"
"""Every anonymisation output's snapshot identifier starts with this."""
ANONYMISED_PATTERN = re.compile(
    r"^ttbt2-anonymised-\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$"
)
"""``ttbt2-anonymised-<YYYY-MM-DD>`` as the pipeline names its runs' outputs; the monthly form
``ttbt2-anonymised-<YYYY-MM>`` is the one staging was first seeded from."""
ANONYMISED_TAG = "ttbt2:anonymised"
"""Tag of an anonymisation output (value ``true``)."""
SOURCE_TAG = "ttbt2:source-snapshot"
"""Tag of an anonymisation output: the production snapshot it was made from."""
MASKING_TAG = "ttbt2:masking-sha256"
"""Tag of an anonymisation output: the hash of the masking specification applied."""

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"


def snapshot_name(reference: str) -> str:
    """The identifier of a snapshot given by identifier or by ARN (``...:snapshot:<name>``)."""
    return reference.rsplit(":", 1)[-1]


def is_anonymised_snapshot(reference: str) -> bool:
    """Whether ``reference`` (identifier or ARN) names an anonymisation pipeline's output."""
    return bool(ANONYMISED_PATTERN.match(snapshot_name(reference)))


def anonymised_snapshot_name(day: str) -> str:
    """The output name of a run on ``day`` (``YYYY-MM-DD``)."""
    name = f"{ANONYMISED_PREFIX}{day}"
    if not ANONYMISED_PATTERN.match(name):
        raise ValueError(f"{day!r} is not a date YYYY-MM-DD")
    return name


class NotAnonymisedError(ValueError):
    """A seed snapshot that does not carry the anonymisation pipeline's tag."""


def require_anonymised_tags(reference: str, tags: Mapping[str, str] | None) -> str:
    """``reference`` when the snapshot's ``tags`` say the pipeline made it; raises otherwise.

    The deploy-time half of the rule: the name is checked before any resource exists, the tag
    once the snapshot is looked up in the account (``aws.rds.get_snapshot``).
    """
    if (tags or {}).get(ANONYMISED_TAG) != "true":
        raise NotAnonymisedError(
            f"snapshot {reference!r} has no tag {ANONYMISED_TAG}=true: only the anonymisation "
            "pipeline's outputs may seed a non-production database (docs/data/README.md)"
        )
    return reference


def _seeded_from_anonymised(args: ResourceValidationArgs) -> Iterator[str]:
    stack = stack_of(args.urn)
    if stack in production_stacks(args.get_config()):
        args.not_applicable(f"stack {stack!r} is a production stack: it restores its own data")
    reference = str_prop(args.props, "snapshotIdentifier")
    if not reference:
        return
    if not is_anonymised_snapshot(reference):
        yield (
            f"snapshotIdentifier {reference!r} is not an anonymisation pipeline output: a "
            f"non-production stack ({stack!r}) restores only snapshots named "
            f"{ANONYMISED_PREFIX}<YYYY-MM-DD> (docs/data/README.md)"
        )


seed_from_anonymised = resource_policy(
    name="ttbt2-nonprod-seed-anonymised",
    description=(
        "Platform rule (seed 4.2): outside production stacks (config productionStacks), an RDS "
        "instance or cluster restored from a snapshot restores an anonymisation pipeline output "
        f"({ANONYMISED_PREFIX}<YYYY-MM-DD>), never production's data."
    ),
    enforcement=MANDATORY,
    applies_to={INSTANCE, CLUSTER},
    check=_seeded_from_anonymised,
    config_schema=production_config_schema(),
)

POLICIES: list[Policy] = [seed_from_anonymised]
