"""Copy sources (seed 4.7.1): every copy job has a writer of its source prefix in the stack."""

from __future__ import annotations

from typing import Any

from components.k8s import backup_job
from offline.graph import Resource
from policies.ttbt2_policies.copy_sources import COPIES_FROM, WRITES_TO, copy_source_has_writer
from tests.support.policies import findings_for, resource, violations

BUCKET = "aws:s3/bucket:Bucket"
CRON_JOB = "kubernetes:batch/v1:CronJob"
STORE = resource(BUCKET, {}, name="snapshots", stack="prod")
OTHER_STORE = resource(BUCKET, {}, name="elsewhere", stack="prod")


def _job(
    name: str, annotations: Any, *, deps: tuple[Resource, ...] = (STORE,), meta: bool = True
) -> Resource:
    metadata: dict[str, Any] = {"name": name}
    if annotations is not None:
        metadata["annotations"] = annotations
    return resource(
        CRON_JOB,
        {"metadata": metadata} if meta else {},
        name=name,
        stack="prod",
        dependencies=deps,
    )


def _copy(prefix: Any = "exports/prod", **kw: Any) -> Resource:
    return _job("backup-copy", {COPIES_FROM: prefix}, **kw)


def _writer(prefix: Any = "exports/prod", name: str = "database-export", **kw: Any) -> Resource:
    return _job(name, {WRITES_TO: prefix}, **kw)


def _run(*resources: Resource) -> list[Any]:
    return violations(
        findings_for(copy_source_has_writer, [STORE, OTHER_STORE, *resources], stack="prod")
    )


def test_the_annotations_are_the_ones_the_components_write() -> None:
    assert (COPIES_FROM, WRITES_TO) == (backup_job.COPIES_FROM, backup_job.WRITES_TO)


def test_copy_job_with_a_writer_of_its_prefix_is_compliant() -> None:
    assert _run(_copy(), _writer()) == []


def test_writer_below_the_copied_prefix_counts() -> None:
    assert _run(_copy(), _writer("exports/prod/db/")) == []


def test_copy_job_without_any_writer_is_a_violation_naming_job_and_prefix() -> None:
    [finding] = _run(_copy())
    assert "copy job backup-copy copies exports/prod/" in finding.message
    assert "writers found: none" in finding.message
    assert finding.urn.endswith("::backup-copy")


def test_writer_of_another_prefix_does_not_count() -> None:
    [finding] = _run(_copy(), _writer("vault/prod", name="vault-snapshot"))
    assert "vault-snapshot (vault/prod)" in finding.message


def test_writer_of_a_prefix_that_merely_starts_alike_does_not_count() -> None:
    [finding] = _run(_copy(), _writer("exports/production"))
    assert "exports/prod/" in finding.message


def test_writer_of_another_bucket_does_not_count() -> None:
    [finding] = _run(_copy(), _writer(deps=(OTHER_STORE,)))
    assert "of snapshots" in finding.message


def test_copy_job_depending_on_no_bucket_is_a_violation() -> None:
    [finding] = _run(_copy(deps=()), _writer())
    assert "depends on no S3 bucket" in finding.message


def test_copy_job_with_an_empty_prefix_is_a_violation() -> None:
    [finding] = _run(_copy(""), _writer())
    assert "ttbt2.io/copies-from" in finding.message and "key prefix" in finding.message


def test_copy_job_with_a_prefix_of_the_wrong_type_is_a_violation() -> None:
    [finding] = _run(_copy(["exports/prod"]), _writer())
    assert "ttbt2.io/copies-from" in finding.message


def test_writer_whose_prefix_is_missing_does_not_count() -> None:
    [finding] = _run(_copy(), _writer(None))
    assert "copy job backup-copy" in finding.message


def test_resources_without_metadata_or_annotations_are_no_copy_jobs() -> None:
    assert _run(_job("plain", None), _job("bare", None, meta=False)) == []
