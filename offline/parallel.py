"""Run independent jobs in forked child processes, a few at a time, and collect their results.

The offline preview renders each stack twice (preview and update mode); the runs share nothing
but the imported modules. Forking after the parent has imported the provider SDKs gives every
child those modules for free (copy-on-write), so the renders run side by side on the machine's
cores instead of one after the other. Each child sends its result back pickled through a pipe.

A child that fails does not stop the others: its outcome carries its exit status (a job that
exits 2 or 3 reports exactly that; one killed by a signal, the negative signal number), and the
parent never waits on a pipe without also noticing the child's exit.
"""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import selectors
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHILD_CRASHED = 3
"""Exit status of a child whose job raised instead of returning (the program-error status)."""


@dataclass
class Outcome(Generic[R]):
    """What one job gave back: its value, or the exit status its child ended with."""

    value: R | None
    status: int = 0
    """0 when ``value`` came back; else the child's exit status (negative: killed by signal)."""

    @property
    def ok(self) -> bool:
        """True when the job returned a value."""
        return self.status == 0


def can_fork() -> bool:
    """True where ``os.fork`` exists (POSIX)."""
    return hasattr(os, "fork")


def default_workers() -> int:
    """The number of cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def fork_map(func: Callable[[T], R], items: Sequence[T], *, workers: int) -> list[Outcome[R]]:
    """``func`` applied to every item, each in a forked child, at most ``workers`` at once.

    Outcomes come in the order of ``items``. ``func``'s result must be picklable. Call this
    after importing what the jobs need: the children inherit it.
    """
    outcomes: list[Outcome[R] | None] = [None] * len(items)
    pending = list(range(len(items)))
    running: dict[int, tuple[int, int, bytearray]] = {}  # read fd -> (pid, item index, data)
    selector = selectors.DefaultSelector()
    # The collector's bookkeeping would write to every inherited object's page in each child,
    # copying it; frozen objects are left alone.
    gc.freeze()
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                index = pending.pop(0)
                fd, pid = _start(func, items[index])
                running[fd] = (pid, index, bytearray())
                selector.register(fd, selectors.EVENT_READ)
            for key, _ in selector.select():
                fd = int(key.fd)
                pid, index, data = running[fd]
                chunk = os.read(fd, 1 << 20)
                if chunk:
                    data += chunk
                    continue
                # End of file: the child has exited (or is exiting); collect its status.
                selector.unregister(fd)
                os.close(fd)
                del running[fd]
                outcomes[index] = _finish(pid, bytes(data))
    finally:
        # Only when interrupted: the children still running are ours to stop.
        for fd, (pid, _, _) in running.items():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
        selector.close()
        gc.unfreeze()
    return [o if o is not None else Outcome(None, CHILD_CRASHED) for o in outcomes]


def _start(func: Callable[[T], R], item: T) -> tuple[int, int]:
    """Fork a child running ``func(item)``; return the read end of its pipe and its pid."""
    read_fd, write_fd = os.pipe()
    # Buffered text not yet written would be written twice, by the parent and by the child.
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which never returns here
        os.close(read_fd)
        _child(func, item, write_fd)
    os.close(write_fd)
    return read_fd, pid


def _child(func: Callable[[T], R], item: T, write_fd: int) -> None:  # pragma: no cover - child
    """Run the job, write its pickled result, and leave without running the parent's cleanup."""
    status = 0
    try:
        # The child lives for one job: collecting garbage would only cost time.
        gc.disable()
        # The inherited event loop shares its epoll instance with the parent's; leave it alone.
        asyncio.set_event_loop(asyncio.new_event_loop())
        payload = pickle.dumps(func(item), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
    except SystemExit as exc:
        # sys.exit(n) in a job is its exit status; sys.exit("message") prints it, as Python does.
        if exc.code is None or isinstance(exc.code, int):
            status = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            status = CHILD_CRASHED
    except BaseException:  # noqa: BLE001 - any failure becomes the child's exit status
        traceback.print_exc()
        status = CHILD_CRASHED
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _finish(pid: int, data: bytes) -> Outcome[R]:
    _, wait_status = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(wait_status)
    if status != 0:
        return Outcome(None, status)
    try:
        return Outcome(pickle.loads(data))
    except Exception:  # noqa: BLE001 - a child that exited 0 without a whole result
        return Outcome(None, CHILD_CRASHED)
