"""Recovery point (seed 4.7, mandatory): in production, no data store can lose more than an hour.

In production stacks (config ``productionStacks``, default ``prod`` and ``prod-dr``, as every
production rule of the pack), every data store has

1. a recovery point in its own region no older than 60 minutes: point-in-time recovery (RDS
   ``backupRetentionPeriod`` > 0; RDS ships transaction logs every 5 minutes, see
   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html), S3 versioning (every
   write kept), an AWS Backup rule with ``enableContinuousBackup``, or a backup schedule at least
   hourly; and
2. a copy outside its region whose recovery point is no older than 60 minutes: RDS automated
   backups replication to another region, an AWS Backup copy action to a vault of another region
   after an at-least-hourly backup, S3 replication to a bucket of another region with
   Replication Time Control (S3 RTC replicates 99.99 % of objects within 15 minutes; plain
   replication has no bound), a scheduled copy job (Kubernetes CronJob) run at least hourly that
   depends on the store and on a store of another cloud or region, Azure geo-redundant storage
   (GRS/GZRS, asynchronous replication to the paired region) or a Google Cloud Storage
   dual-/multi-region bucket with turbo replication (``rpo: ASYNC_TURBO``).

Data stores: RDS instances; S3 buckets except those whose ``purpose`` tag is in config
``reproducibleBucketPurposes`` (default ``access-logs``: S3 writes them again from the source
of the requests, and ``static-assets``: the build pipeline publishes them again); a bucket without
a ``purpose`` tag counts as a data store, a replication destination is its source's copy, not a
store; Azure storage accounts; Google Cloud Storage buckets.
ElastiCache replication groups are not data stores here: the platform's Redis is a cache of the
database (components/aws/cache.py), refilled after a restore. BigQuery datasets are out of scope:
their cross-region replica is set outside the resource's inputs, so the graph cannot show it.

Regions come from each resource's provider (``region``). A copy counts only when both regions are
known and differ; the message says which one is unknown otherwise.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import Policy, PolicyResource, StackValidationArgs

from .common import (
    MANDATORY,
    InvalidPropError,
    bool_prop,
    is_mapping,
    list_prop,
    mapping_prop,
    number_prop,
    production_config_schema,
    production_stacks,
    referenced,
    report_on,
    stack_names_config,
    stack_names_schema,
    stack_of,
    stack_policy,
    str_prop,
    wrong_type,
)

RPO_MINUTES = 60.0

RDS_INSTANCE = "aws:rds/instance:Instance"
S3_BUCKETS = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
AZURE_ACCOUNT = "azure-native:storage:StorageAccount"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
DATA_STORE_TYPES = frozenset({RDS_INSTANCE, AZURE_ACCOUNT, GCS_BUCKET}) | S3_BUCKETS

RDS_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
S3_VERSIONING = frozenset(
    {"aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"}
)
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"
CRON_JOB = "kubernetes:batch/v1:CronJob"

DEFAULT_REPRODUCIBLE_PURPOSES = ("access-logs", "static-assets")
AZURE_GEO_SKUS = frozenset({"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"})
RDS_LOG_SHIPPING_MINUTES = 5.0
S3_RTC_MINUTES = 15.0
GCS_TURBO_MINUTES = 15.0


@dataclass(frozen=True)
class Point:
    """A recovery point: how old it can be, how it is kept and where (region, if known)."""

    minutes: float
    how: str
    region: str | None = None

    def describe(self) -> str:
        """``how`` with its age: ``versioning (at most 0 min old)``."""
        if self.minutes == float("inf"):
            return f"{self.how} (no bound on its age)"
        return f"{self.how} (at most {self.minutes:g} min old)"


# --- small readers -------------------------------------------------------------------------------


def region_of(res: PolicyResource) -> str | None:
    """The region of the resource's provider, None when no provider or no region is known."""
    provider = res.provider
    if provider is None:
        return None
    for key in ("region", "location"):
        value = provider.props.get(key) if is_mapping(provider.props) else None
        if isinstance(value, str) and value:
            return value
    return None


def arn_region(arn: Any) -> str | None:
    """The region field of an ARN (``arn:aws:backup:eu-central-1:...``), None when it has none."""
    if not isinstance(arn, str):
        return None
    parts = arn.split(":")
    return parts[3] or None if len(parts) > 4 and parts[0] == "arn" else None


_STEP = re.compile(r"^(\*|\d+)/(\d+)$")


def _field_gap(field: str, size: int) -> int | None:
    """Largest gap, in units of the field, between runs for a cron field; None if unknown."""
    if field in ("*", "?"):
        return 1
    step = _STEP.match(field)
    if step:
        return int(step.group(2))
    values = field.split(",")
    if all(v.isdigit() for v in values):
        points = sorted({int(v) for v in values})
        gaps = [b - a for a, b in itertools.pairwise(points)]
        return max([*gaps, size - points[-1] + points[0]])
    return None


def schedule_minutes(expr: Any) -> float | None:
    """Longest time between runs of a schedule, None when it cannot be told.

    Reads Kubernetes cron (``*/30 * * * *``), AWS ``cron(0 * ? * * *)`` and ``rate(1 hour)``.
    Only the minute and hour fields are read; a schedule restricted by day runs less often, so
    such a schedule is reported as unknown rather than guessed.
    """
    if not isinstance(expr, str):
        return None
    text = expr.strip()
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", text)
    if rate:
        unit = {"m": 1, "h": 60, "d": 1440}[rate.group(2)[0]]
        return float(int(rate.group(1)) * unit)
    if text.startswith("cron(") and text.endswith(")"):
        text = text[5:-1]
    fields = text.split()
    if len(fields) < 5 or any(f not in ("*", "?") for f in fields[2:5]):
        return None
    minute, hour = fields[0], fields[1]
    if hour in ("*", "?", "*/1", "0/1"):
        gap = _field_gap(minute, 60)
        return None if gap is None else float(gap)
    hours = _field_gap(hour, 24)
    if hours is None or not minute.isdigit():
        return None
    return float(hours * 60)


def _tags(store: PolicyResource) -> Mapping[str, Any]:
    return mapping_prop(store.props, "tags") or {}


def is_replica(store: PolicyResource, resources: Iterable[PolicyResource]) -> bool:
    """True for a bucket that is the destination of another bucket's replication: the copy."""
    for res in resources:
        if res.resource_type != S3_REPLICATION or _refers(res, "bucket", store):
            continue
        if any(t.urn == store.urn for t in referenced(res, "rules", S3_BUCKETS)):
            return True
    return False


def is_data_store(
    store: PolicyResource, reproducible: Sequence[str], resources: Iterable[PolicyResource] = ()
) -> bool:
    """True for the stores this rule covers (see the module documentation).

    A replication destination is the copy of a store, not a store of its own.
    """
    if store.resource_type not in DATA_STORE_TYPES:
        return False
    if store.resource_type in S3_BUCKETS:
        purpose = _tags(store).get("purpose")
        return purpose not in reproducible and not is_replica(store, resources)
    return True


def _refers(res: PolicyResource, prop: str, store: PolicyResource) -> bool:
    """True when ``res``'s input ``prop`` refers to ``store`` (joined through dependencies)."""
    return any(r.urn == store.urn for r in referenced(res, prop, {store.resource_type}))


def _depends_on(res: PolicyResource, store: PolicyResource) -> bool:
    deps = list(res.dependencies)
    deps += [d for ds in (getattr(res, "property_dependencies", None) or {}).values() for d in ds]
    return any(d.urn == store.urn for d in deps)


# --- recovery points in the store's region -------------------------------------------------------


def _rds_pitr(store: PolicyResource) -> Iterator[Point]:
    days = number_prop(store.props, "backupRetentionPeriod")
    if days is not None and days > 0:
        yield Point(
            RDS_LOG_SHIPPING_MINUTES, f"point-in-time recovery ({days:g} days)", region_of(store)
        )


def _s3_versioning(store: PolicyResource, resources: Iterable[PolicyResource]) -> Iterator[Point]:
    inline = mapping_prop(store.props, "versioning")
    if inline is not None and bool_prop(inline, "enabled"):
        yield Point(0, "versioning", region_of(store))
    for res in resources:
        if res.resource_type in S3_VERSIONING and _refers(res, "bucket", store):
            status = str_prop(res.props, "versioningConfiguration.status")
            if status == "Enabled":
                yield Point(0, f"versioning ({res.name})", region_of(store))


def _selects(selection: PolicyResource, store: PolicyResource) -> bool:
    if _refers(selection, "resources", store):
        return True
    tags = _tags(store)
    for i, item in enumerate(list_prop(selection.props, "selectionTags") or []):
        if not is_mapping(item):
            raise wrong_type(f"selectionTags[{i}]", "an object with key and value", item)
        key = str_prop(item, "key")
        if key is not None and key in tags and tags[key] == item.get("value"):
            return True
    return False


def _plan_rules(
    store: PolicyResource, resources: Sequence[PolicyResource]
) -> Iterator[tuple[PolicyResource, Mapping[str, Any]]]:
    """Every rule of every backup plan whose selection picks ``store``."""
    for selection in resources:
        if selection.resource_type != BACKUP_SELECTION or not _selects(selection, store):
            continue
        for plan in referenced(selection, "planId", {BACKUP_PLAN}):
            for i, rule in enumerate(list_prop(plan.props, "rules") or []):
                if not is_mapping(rule):
                    raise wrong_type(f"backup plan {plan.name}: rules[{i}]", "an object", rule)
                yield plan, rule


def _backup_points(store: PolicyResource, resources: Sequence[PolicyResource]) -> Iterator[Point]:
    for plan, rule in _plan_rules(store, resources):
        if bool_prop(rule, "enableContinuousBackup"):
            yield Point(0, f"continuous backup (plan {plan.name})", region_of(plan))
        every = schedule_minutes(rule.get("schedule"))
        if every is not None:
            yield Point(every, f"backup every {every:g} min (plan {plan.name})", region_of(plan))


def local_points(store: PolicyResource, resources: Sequence[PolicyResource]) -> list[Point]:
    """Recovery points the store has in its own region."""
    points: list[Point] = []
    if store.resource_type == RDS_INSTANCE:
        points += _rds_pitr(store)
    if store.resource_type in S3_BUCKETS:
        points += _s3_versioning(store, resources)
    if store.resource_type in (AZURE_ACCOUNT, GCS_BUCKET):
        # The account or bucket is itself the live, zone-redundant copy: its recovery point in
        # its own region is now. Deletions are the protection policy's business.
        points.append(Point(0, "live zone-redundant storage", region_of(store)))
    points += _backup_points(store, resources)
    return points


# --- copies outside the store's region -----------------------------------------------------------


def _rds_replicas(store: PolicyResource, resources: Sequence[PolicyResource]) -> Iterator[Point]:
    for res in resources:
        if res.resource_type == RDS_REPLICATION and _refers(res, "sourceDbInstanceArn", store):
            yield Point(
                RDS_LOG_SHIPPING_MINUTES,
                f"automated backups replication {res.name}",
                region_of(res),
            )


def _s3_replicas(store: PolicyResource, resources: Sequence[PolicyResource]) -> Iterator[Point]:
    for res in resources:
        if res.resource_type != S3_REPLICATION or not _refers(res, "bucket", store):
            continue
        targets = [t for t in referenced(res, "rules", S3_BUCKETS) if t.urn != store.urn]
        for i, rule in enumerate(list_prop(res.props, "rules") or []):
            if not is_mapping(rule) or str_prop(rule, "status") != "Enabled":
                continue
            rtc = str_prop(rule, "destination.replicationTime.status") == "Enabled"
            minutes = S3_RTC_MINUTES if rtc else float("inf")
            how = f"S3 replication {res.name} rule {i}" + ("" if rtc else " without RTC")
            if not targets:
                yield Point(minutes, how, None)
            for target in targets:
                yield Point(minutes, how, region_of(target))


def _backup_copies(store: PolicyResource, resources: Sequence[PolicyResource]) -> Iterator[Point]:
    for plan, rule in _plan_rules(store, resources):
        every = schedule_minutes(rule.get("schedule"))
        for action in list_prop(rule, "copyActions") or []:
            if not is_mapping(action):
                raise wrong_type(f"backup plan {plan.name}: copyActions", "objects", action)
            region = arn_region(action.get("destinationVaultArn"))
            minutes = float("inf") if every is None else every
            yield Point(minutes, f"AWS Backup copy (plan {plan.name})", region)


def _copy_jobs(store: PolicyResource, resources: Sequence[PolicyResource]) -> Iterator[Point]:
    for job in resources:
        if job.resource_type != CRON_JOB or not _depends_on(job, store):
            continue
        every = schedule_minutes(str_prop(job.props, "spec.schedule"))
        others = [
            d
            for d in job.dependencies
            if d.resource_type in DATA_STORE_TYPES and d.urn != store.urn
        ]
        for target in others:
            where = region_of(target) or target.resource_type.split(":", 1)[0]
            minutes = float("inf") if every is None else every
            yield Point(minutes, f"copy job {job.name} to {target.name}", where)


def _geo_replication(store: PolicyResource) -> Iterator[Point]:
    if store.resource_type == AZURE_ACCOUNT:
        sku = str_prop(store.props, "sku.name")
        if sku in AZURE_GEO_SKUS:
            # Asynchronous to the paired region; Azure documents no bound in an SLA, and offers
            # no bounded alternative, so the documented typical lag (under 15 min) is taken.
            yield Point(15, f"geo-redundant storage ({sku})", PSEUDO_REGIONS[0])
    if store.resource_type == GCS_BUCKET:
        location = str_prop(store.props, "location") or ""
        single = bool(re.fullmatch(r"[A-Za-z]+-[A-Za-z]+\d+", location))
        if location and not single:
            turbo = str_prop(store.props, "rpo") == "ASYNC_TURBO"
            minutes = GCS_TURBO_MINUTES if turbo else float("inf")
            label = "turbo replication" if turbo else "default replication (no 1 h bound)"
            yield Point(minutes, f"{location} {label}", PSEUDO_REGIONS[1] + location)


def copies(store: PolicyResource, resources: Sequence[PolicyResource]) -> list[Point]:
    """Copies of the store that are meant to be outside its region (regions checked later)."""
    found: list[Point] = []
    if store.resource_type == RDS_INSTANCE:
        found += _rds_replicas(store, resources)
    if store.resource_type in S3_BUCKETS:
        found += _s3_replicas(store, resources)
    found += _backup_copies(store, resources)
    found += _copy_jobs(store, resources)
    found += _geo_replication(store)
    return found


# --- the rule ------------------------------------------------------------------------------------


PSEUDO_REGIONS = ("paired region", "second region of ")
"""Regions a geo-replicated store names without a provider region: outside by construction."""


def _outside(copy: Point, home: str | None) -> bool:
    """True when the copy is known to be in another region (or another cloud) than ``home``."""
    if copy.region is None:
        return False
    if copy.region.startswith(PSEUDO_REGIONS):
        return True
    return home is not None and copy.region != home


def _best(points: Iterable[Point]) -> Point | None:
    return min(points, key=lambda p: p.minutes, default=None)


def store_problems(store: PolicyResource, resources: Sequence[PolicyResource]) -> Iterator[str]:
    """Why ``store`` misses the 60-minute recovery point, here or outside its region."""
    what = f"{store.resource_type.rsplit(':', 1)[-1]} {store.name}"
    home = region_of(store)
    local = _best(local_points(store, resources))
    if local is None or local.minutes > RPO_MINUTES:
        found = local.describe() if local else "none"
        yield (
            f"{what}: recovery point in its region older than {RPO_MINUTES:g} min (found: "
            f"{found}); set point-in-time recovery (RDS backupRetentionPeriod > 0), S3 "
            "versioning, AWS Backup continuous backup or an at-least-hourly schedule"
        )
    candidates = copies(store, resources)
    outside = [c for c in candidates if _outside(c, home)]
    best = _best(outside)
    if best is not None and best.minutes <= RPO_MINUTES:
        return
    if best is not None:
        found = f"{best.describe()}, more than {RPO_MINUTES:g} min"
    elif candidates:
        found = "; ".join(
            f"{c.how} in {c.region or 'an unknown region'} (store in {home or 'an unknown region'})"
            for c in candidates
        )
    else:
        found = "none"
    yield (
        f"{what}: no copy outside its region ({home or 'region unknown'}) with a recovery point "
        f"within {RPO_MINUTES:g} min (found: {found}); add RDS automated backups replication "
        "to the DR region, an AWS Backup copy action to a vault in another region after an "
        "hourly or continuous backup, S3 replication with Replication Time Control to a bucket "
        "in another region, geo-redundant storage (Azure) or turbo replication (GCS)"
    )


def _check(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    config = args.get_config()
    production = production_stacks(config)
    reproducible = stack_names_config(
        config, "reproducibleBucketPurposes", DEFAULT_REPRODUCIBLE_PURPOSES
    )
    resources = list(args.resources)
    for store in resources:
        if stack_of(store.urn) not in production:
            continue
        try:
            if not is_data_store(store, reproducible, resources):
                continue
        except InvalidPropError as exc:
            yield exc.message, store.urn
            continue
        yield from report_on(store.urn, store_problems(store, resources))


CONFIG_SCHEMA = production_config_schema(
    reproducibleBucketPurposes=stack_names_schema(
        DEFAULT_REPRODUCIBLE_PURPOSES,
        "S3 bucket purpose tags whose content is written again from its source, not restored.",
    )
)

recovery_point_objective = stack_policy(
    name="ttbt2-recovery-point-objective",
    description=(
        "Seed 4.7 (platform rule): in production stacks (config productionStacks), every data "
        "store has a "
        "recovery point no older than 60 minutes in its region and a copy outside its region "
        "no older than 60 minutes."
    ),
    enforcement=MANDATORY,
    check=_check,
)

# stack_policy() takes no schema; the engine needs the config declared to accept it.
recovery_point_objective.config_schema = CONFIG_SCHEMA

POLICIES: list[Policy] = [recovery_point_objective]

__all__ = [
    "POLICIES",
    "Point",
    "copies",
    "is_data_store",
    "local_points",
    "recovery_point_objective",
    "schedule_minutes",
    "store_problems",
]
