"""NamespacedRelease: a labelled namespace and a vendored Helm release in it, on the mock engine.

The alias tests render the layout a component had before (namespace and release as its own
children) and the layout after (under a NamespacedRelease with aliases), and check that every
former URN is named by an alias of the new graph, so ``pulumi up`` updates rather than replaces.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.k8s.charts import chart_dir, vendored_release
from components.k8s.pod_security import restricted_labels
from components.k8s.release import NamespacedRelease, NamespacedReleaseArgs
from offline.engine import run_program
from offline.graph import StackGraph
from tests.conftest import of_type, one

NAMESPACE = "kubernetes:core/v1:Namespace"
RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
CHART = "argo-rollouts"


def args(**changes: Any) -> NamespacedReleaseArgs:
    base = NamespacedReleaseArgs(
        namespace="tools",
        chart=CHART,
        chart_directory=chart_dir(CHART),
        repository="https://argoproj.github.io/argo-helm",
        values={"controller": {"replicas": 2}},
        labels={"environment": "dev"},
    )
    return replace(base, **changes)


class Holder(pulumi.ComponentResource):
    """A component of the old or the new layout: what a caller such as Velero looks like."""

    def __init__(self, name: str, *, layout: str, release_args: NamespacedReleaseArgs) -> None:
        super().__init__("ttbt2:test:Holder", name, None, None)
        if layout == "old":
            # The pattern as the components spelled it before NamespacedRelease.
            namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=release_args.namespace,
                    labels={**release_args.labels, **restricted_labels()},
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            vendored_release(
                f"{name}-release",
                release_args.chart,
                release_args.chart_directory,
                repository=release_args.repository,
                namespace=release_args.namespace,
                values=release_args.values,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
        else:
            NamespacedRelease(
                f"{name}-installation",
                replace(
                    release_args,
                    namespace_aliases=[pulumi.Alias(name=f"{name}-namespace", parent=self)],
                    release_aliases=[pulumi.Alias(name=f"{name}-release", parent=self)],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})


def render(release_args: NamespacedReleaseArgs, *, preview: bool = False) -> StackGraph:
    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        NamespacedRelease(
            "tools",
            release_args,
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )

    return run_program(program, project="ttbt2-platform", stack="dev", preview=preview)


def render_layout(layout: str) -> StackGraph:
    def program() -> None:
        Holder("holder", layout=layout, release_args=args())

    return run_program(program, project="ttbt2-platform", stack="dev", preview=False)


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_namespace_carries_the_pod_security_labels_and_the_callers(preview: bool) -> None:
    graph = render(args(enforce="baseline", audit="restricted"), preview=preview)
    namespace = one(graph, NAMESPACE)
    assert namespace.name == "tools-namespace"
    assert namespace.props["metadata"]["name"] == "tools"
    assert namespace.props["metadata"]["labels"] == {
        "environment": "dev",
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_release_installs_the_vendored_chart_into_the_namespace_after_it(preview: bool) -> None:
    graph = render(args(), preview=preview)
    namespace, release = one(graph, NAMESPACE), one(graph, RELEASE)
    assert release.name == "tools-release"
    props = release.props
    assert props["namespace"] == "tools"
    assert release.property_dependencies["namespace"] == [namespace.urn]
    assert props["createNamespace"] is False
    assert (props["chart"], props["name"]) == (CHART, CHART)
    assert props["values"] == {"controller": {"replicas": 2}}
    assert namespace.urn in release.dependencies
    component = one(graph, "ttbt2:k8s:NamespacedRelease")
    assert namespace.parent == component.urn and release.parent == component.urn
    assert namespace.options["aliases"] == [] and release.options["aliases"] == []


def test_release_waits_for_what_before_release_creates_in_the_namespace() -> None:
    created: list[str] = []

    def secrets(namespace: k8s.core.v1.Namespace) -> list[pulumi.Resource]:
        secret = k8s.core.v1.Secret(
            "tools-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="admin", namespace="tools"),
            string_data={"password": "not-real"},
            opts=pulumi.ResourceOptions(depends_on=[namespace]),
        )
        created.append("admin")
        return [secret]

    graph = render(args(before_release=secrets))
    assert created == ["admin"]
    secret, namespace, release = one(graph, SECRET), one(graph, NAMESPACE), one(graph, RELEASE)
    assert namespace.urn in secret.dependencies
    assert {secret.urn, namespace.urn} <= set(release.dependencies)


def test_moving_the_pattern_under_a_namespaced_release_keeps_every_urn() -> None:
    before, after = render_layout("old"), render_layout("new")
    former = {r.urn for r in before.resources if r.type in (NAMESPACE, RELEASE)}
    assert len(former) == 2
    moved = [r for r in after.resources if r.type in (NAMESPACE, RELEASE)]
    assert {r.urn for r in moved}.isdisjoint(former), "the URNs did change"
    aliases = {alias for r in moved for alias in r.options["aliases"]}
    assert aliases == former
    # Same objects, same settings: only the parent and the logical names changed.
    old_props = {r.type: r.props for r in before.resources if r.urn in former}
    assert {r.type: r.props for r in moved} == old_props


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"namespace": "Tools"}, "namespace must be a DNS label"),
        ({"enforce": "strict"}, "enforce must be one of privileged, baseline, restricted"),
        ({"audit": ""}, "audit must be one of"),
        ({"enforce": "restricted", "audit": "baseline"}, "more permissive than enforce"),
        ({"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}, "set from enforce"),
        ({"chart_directory": Path("/nonexistent")}, "has no Chart.yaml"),
        ({"timeout": 0}, "timeout must be a positive"),
    ],
)
def test_bad_arguments_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        args(**changes)


def test_the_component_uses_the_callers_provider() -> None:
    graph = render(args())
    (provider,) = of_type(graph, "pulumi:providers:kubernetes")
    for child in (one(graph, NAMESPACE), one(graph, RELEASE)):
        assert child.provider is not None and child.provider.startswith(provider.urn + "::")
