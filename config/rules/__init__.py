"""Cross-field rules, one module per domain.

A rule is a function whose parameters are the settings domains it reads, by type
(``def check(identity: IdentitySettings, database: DatabaseSettings)``). It runs when each of
those domains parsed, so a type error in one domain leaves the rules of the others running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from inspect import signature
from typing import Any, get_type_hints

from config.fields import Domain
from config.problems import Problem
from config.rules import (
    access,
    autoscaling,
    ci,
    clouds,
    cluster,
    cost,
    data,
    data_pipelines,
    delivery,
    edge,
    identity,
    network,
    observability,
    recovery,
    sso,
    vault,
)

Rule = Callable[..., Iterable[Problem]]

RULES: tuple[Rule, ...] = (
    *identity.RULES,
    *network.RULES,
    *cluster.RULES,
    *access.RULES,
    *data.RULES,
    *edge.RULES,
    *vault.RULES,
    *observability.RULES,
    *clouds.RULES,
    *recovery.RULES,
    *autoscaling.RULES,
    *delivery.RULES,
    *ci.RULES,
    *sso.RULES,
    *cost.RULES,
    *data_pipelines.RULES,
)
"""Every rule, in the order their problems are reported."""


def domains_of(rule: Rule) -> list[type[Domain]]:
    """The settings domains a rule reads, from its parameters' types."""
    hints = get_type_hints(rule)
    return [hints[name] for name in signature(rule).parameters]


def run_rules(parsed: Mapping[type[Domain], Domain]) -> list[Problem]:
    """Every problem the rules find among the domains that parsed."""
    problems: list[Problem] = []
    for rule in RULES:
        needed = domains_of(rule)
        if all(model in parsed for model in needed):
            args: list[Any] = [parsed[model] for model in needed]
            problems += rule(*args)
    return problems
