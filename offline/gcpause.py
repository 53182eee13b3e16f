"""Pausing Python's cyclic garbage collector while a run builds its long-lived objects.

A run of the program and a policy evaluation allocate hundreds of thousands of objects that
live until the run ends (resources, outputs, the graph, the policies' views) and very little
cyclic garbage. The collector traverses young objects every few hundred allocations and the
whole heap (the provider SDKs included) as they age: a third of a large stack's render time,
and more the larger the stack, for nothing to free. Reference counting still frees everything
that is not part of a cycle; the few cycles left wait for the next automatic collection.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable automatic garbage collection inside the block; restore the previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
