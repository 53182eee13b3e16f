"""The per-environment floors, as the settings read them.

The table itself lives in the policy pack (``policies/ttbt2_policies/floors.py``), the one place
both the program and the pack (loaded on its own from ``policies/``) can import; the components
import it from there too.
"""

from __future__ import annotations

from collections.abc import Callable

from policies.ttbt2_policies.floors import FLOORS, UNLISTED_STACK, Floors, floors_for, per_stack

__all__ = ["FLOORS", "UNLISTED_STACK", "Floors", "floors_for", "per_environment", "per_stack"]


def per_environment(pick: Callable[[Floors], int | bool]) -> str:
    """One floor in words for a field description: ``dev 7, staging 14, prod 35``."""
    return ", ".join(f"{env} {pick(floors)}" for env, floors in FLOORS.items())
