"""Rotation windows: the keeper of a generated credential changes once per period."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from components.rotation import rotation_window


def test_the_window_starts_on_a_multiple_of_the_period_since_the_epoch() -> None:
    start = rotation_window(30, date(2026, 12, 5))
    assert (date.fromisoformat(start) - date(1970, 1, 1)).days % 30 == 0
    assert (
        date.fromisoformat(start) <= date(2026, 12, 5) < date.fromisoformat(start) + timedelta(30)
    )


def test_every_day_of_a_window_gives_the_same_keeper_and_the_next_day_a_new_one() -> None:
    start = date.fromisoformat(rotation_window(7, date(2026, 12, 5)))
    days = [start + timedelta(days=i) for i in range(7)]
    assert {rotation_window(7, d) for d in days} == {start.isoformat()}
    assert rotation_window(7, start + timedelta(days=7)) == (start + timedelta(7)).isoformat()


def test_a_period_of_one_day_rotates_daily() -> None:
    assert rotation_window(1, date(2026, 12, 5)) == "2026-12-05"


def test_a_period_below_one_day_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 day"):
        rotation_window(0, date(2026, 12, 5))
