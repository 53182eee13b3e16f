"""Aliases for resources that a refactor moved under another parent or renamed.

A resource's URN is its stack, its parents' types and its logical name. Moving it under a new
component or renaming it changes the URN, and ``pulumi up`` would then delete the old resource
and create a new one: for a Namespace that deletes everything in it, for a Helm release it
uninstalls the chart. An alias naming the former URN makes the engine update it in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class MovedFrom:
    """Where a component's children were created before they moved under it.

    ``parent`` is their former parent (``None``: the stack itself) and ``prefix`` the logical
    name their names began with there, so the child of role ``role`` was ``<prefix>-<role>``.
    """

    parent: pulumi.Resource | None
    prefix: str

    def alias(self, role: str) -> pulumi.Alias:
        """The alias of the former ``<prefix>-<role>`` under the former parent."""
        return pulumi.Alias(name=f"{self.prefix}-{role}", parent=self.parent)


def moved_aliases(moved_from: MovedFrom | None, role: str) -> list[pulumi.Alias]:
    """The aliases a child of role ``role`` needs: none unless its component moved it."""
    return [] if moved_from is None else [moved_from.alias(role)]
