"""A component's depends_on, handed down to its children (components/dependencies.py)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.dependencies import inherited_depends_on
from offline.engine import run_program


def test_no_options_or_no_depends_on_gives_nothing_to_wait_for() -> None:
    assert inherited_depends_on(None) == []
    assert inherited_depends_on(pulumi.ResourceOptions()) == []


def test_a_resource_or_a_list_of_them_comes_back_as_a_list() -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        first = k8s.core.v1.Namespace("first", opts=pulumi.ResourceOptions(provider=provider))
        second = k8s.core.v1.Namespace("second", opts=pulumi.ResourceOptions(provider=provider))
        seen["one"] = (inherited_depends_on(pulumi.ResourceOptions(depends_on=first)), [first])
        both: list[pulumi.Resource] = [first, second]
        listed = inherited_depends_on(pulumi.ResourceOptions(depends_on=both))
        both.append(provider)  # the result is a copy: later changes to the caller's list stay there
        seen["list"] = (listed, [first, second])

    run_program(program, project="t", stack="unit", preview=False)
    for got, expected in seen.values():
        assert got == expected


def test_an_output_is_refused_with_the_type_named() -> None:
    opts = pulumi.ResourceOptions()
    opts.depends_on = pulumi.Output.from_input([])
    with pytest.raises(TypeError, match="depends_on must be a resource or a list of resources"):
        inherited_depends_on(opts)
