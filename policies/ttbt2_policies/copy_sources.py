"""Copy sources (seed 4.7.1, mandatory): every copy job copies something the stack writes.

A copy job (the copy of the backup exports to Azure) that reads a prefix nobody writes runs
green for ever and copies nothing. This rule ties each copy job to a writer in the same stack:

* a copy job is a resource annotated ``ttbt2.io/copies-from: <prefix>`` (the key prefix it
  copies, ``exports/prod``); its source bucket is the S3 bucket it depends on (the graph's
  dependencies, never names or ids, which a preview does not know yet);
* a writer is a resource annotated ``ttbt2.io/writes-to: <prefix>`` that depends on the same
  bucket and writes that prefix or below it (``exports/prod`` or ``exports/prod/db``).

Violations name the copy job and the prefix: a copy job without a writer, a copy job whose
annotation is empty or not a string, and a copy job that depends on no S3 bucket (its source
cannot be told). Applies to every stack: a copy of nothing is wrong everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pulumi_policy import Policy, PolicyResource, StackValidationArgs

from .common import MANDATORY, is_mapping, mapping_prop, report_on, stack_policy, wrong_type

COPIES_FROM = "ttbt2.io/copies-from"
"""Annotation of a copy job: the key prefix it copies (components/k8s/backup_job.py)."""
WRITES_TO = "ttbt2.io/writes-to"
"""Annotation of a writer: the key prefix it writes (components/k8s/backup_job.py)."""
S3_BUCKETS = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})


def _annotation(resource: PolicyResource, key: str) -> Any:
    """The raw value of annotation ``key`` (None when absent)."""
    annotations = mapping_prop(resource.props, "metadata.annotations")
    return annotations.get(key) if annotations is not None else None


def _prefix(resource: PolicyResource, key: str) -> str:
    """The annotated prefix, without slashes at either end; an error if not a non-empty string."""
    value = _annotation(resource, key)
    if not isinstance(value, str) or not value.strip("/ "):
        raise wrong_type(f"metadata.annotations[{key!r}]", "a key prefix like exports/prod", value)
    return value.strip("/ ")


def _buckets(resource: PolicyResource) -> list[PolicyResource]:
    return [d for d in resource.dependencies if d.resource_type in S3_BUCKETS]


def _within(written: str, copied: str) -> bool:
    """True when objects written below ``written`` are below ``copied`` too."""
    return written == copied or written.startswith(copied + "/")


def _writes(writer: PolicyResource, buckets: set[str], prefix: str) -> bool:
    value = _annotation(writer, WRITES_TO)
    if not isinstance(value, str) or not value.strip("/ "):
        return False
    return _within(value.strip("/ "), prefix) and any(b.urn in buckets for b in _buckets(writer))


def _annotated(resource: PolicyResource, key: str) -> bool:
    metadata: Any = resource.props.get("metadata")
    annotations: Any = metadata.get("annotations") if is_mapping(metadata) else None
    return is_mapping(annotations) and key in annotations


def copy_problems(job: PolicyResource, resources: Sequence[PolicyResource]) -> Iterator[str]:
    """Why copy job ``job`` has no writer of its source in ``resources``."""
    prefix = _prefix(job, COPIES_FROM)
    buckets = _buckets(job)
    if not buckets:
        yield (
            f"copy job {job.name} copies {prefix}/ but depends on no S3 bucket, so its source "
            "cannot be told; make the job take the bucket name from the bucket resource"
        )
        return
    urns = {b.urn for b in buckets}
    writers = [r for r in resources if r.urn != job.urn and _writes(r, urns, prefix)]
    if writers:
        return
    others = sorted(
        f"{r.name} ({_annotation(r, WRITES_TO)})"
        for r in resources
        if r.urn != job.urn and _annotated(r, WRITES_TO)
    )
    names = ", ".join(b.name for b in buckets)
    yield (
        f"copy job {job.name} copies {prefix}/ of {names}, but nothing in the stack writes "
        f"there (writers found: {'; '.join(others) or 'none'}); add the writer of {prefix}/ "
        f"(annotated {WRITES_TO}: {prefix}, depending on the bucket) or remove the copy job"
    )


def _check(args: StackValidationArgs) -> Iterator[tuple[str, str | None]]:
    resources: Sequence[PolicyResource] = args.resources
    for job in resources:
        if _annotated(job, COPIES_FROM):
            yield from report_on(job.urn, copy_problems(job, resources))


copy_source_has_writer = stack_policy(
    name="ttbt2-copy-source-has-writer",
    description=(
        "Every copy job (annotation ttbt2.io/copies-from) has a writer of its source prefix in "
        "the same stack (annotation ttbt2.io/writes-to, same S3 bucket): a copy of nothing "
        "protects nothing (seed 4.7.1). Platform rule."
    ),
    enforcement=MANDATORY,
    check=_check,
)

POLICIES: list[Policy] = [copy_source_has_writer]

__all__ = ["COPIES_FROM", "POLICIES", "WRITES_TO", "copy_problems", "copy_source_has_writer"]
