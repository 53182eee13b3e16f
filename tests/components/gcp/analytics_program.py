"""The Analytics component rendered alone on the offline engine, shared by its test modules."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.gcp.analytics import Analytics, AnalyticsArgs
from offline.engine import run_program
from offline.graph import StackGraph

PROJECT = "ttbt2-analytics-dev"
WRITER_ARN = "arn:aws:iam::123456789012:role/irsa/ttbt2-dev-analytics-writer"
LABELS = {"project": "ttbt2", "environment": "dev"}


def render_analytics(preview: bool, **overrides: Any) -> StackGraph:
    """A dev-like Analytics in :data:`PROJECT`, its arguments replaced by ``overrides``."""

    def program() -> None:
        provider = gcp.Provider("gcp", project=PROJECT, region="europe-west1")
        args: dict[str, Any] = {
            "project": PROJECT,
            "region": "europe-west1",
            "environment": "dev",
            "labels": LABELS,
            "aws_account_id": "123456789012",
            "aws_writer_role_arn": WRITER_ARN,
            **overrides,
        }
        Analytics(
            "analytics",
            AnalyticsArgs(**args),
            opts=pulumi.ResourceOptions(providers={"gcp": provider}),
        )

    return run_program(program, project="ttbt2-platform", stack="dev", preview=preview)


_cache: dict[bool, StackGraph] = {}


def analytics_graph(preview: bool) -> StackGraph:
    """:func:`render_analytics` with no overrides, rendered once per mode and worker."""
    if preview not in _cache:
        _cache[preview] = render_analytics(preview)
    return _cache[preview]
