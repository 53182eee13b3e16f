"""Rotation windows: a credential the stack generates is replaced once per period.

A generated secret (``pulumi_random.RandomPassword``) changes only when one of its ``keepers``
does. Keying it on the *window* the deployment falls in (the window's first day, counted in
whole periods since 1970-01-01) makes the first deployment of each new window replace it, and
every other deployment keep it. The price of reading the clock: a preview run in a new window
shows the replacement before anyone changed a line, and a stack nobody deploys keeps the old
value past its period (the window-start date in the keeper shows its age). Windows are aligned
on the epoch, not on the last rotation, so every stack with the same period rotates together.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

EPOCH = date(1970, 1, 1)


def rotation_window(period_days: int, today: date | None = None) -> str:
    """The ISO date of the first day of the ``period_days``-day window ``today`` falls in."""
    if period_days < 1:
        raise ValueError(f"a rotation period is at least 1 day, got {period_days}")
    day = today if today is not None else datetime.now(UTC).date()
    elapsed = (day - EPOCH).days
    return (EPOCH + timedelta(days=elapsed - elapsed % period_days)).isoformat()
