"""How a settings field is declared: one ``Field`` holds its key, default, description, range.

The description Pulumi.yaml shows and the error a bad value gets are both derived from the
constraints given here, so a range is written once.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo


class Domain(BaseModel):
    """Base of every settings domain: frozen, no unknown keys, fields set by their flat key."""

    model_config = ConfigDict(
        populate_by_name=True, extra="forbid", frozen=True, str_strip_whitespace=True
    )


def setting(
    default: Any,
    description: str,
    *,
    key: str,
    ge: int | None = None,
    le: int | None = None,
) -> Any:
    """A settings field whose flat config key is ``ttbt2:<key>``.

    ``ge``/``le`` bound an integer; the description then ends with the range, as the
    validation error states it (:func:`range_text`).
    """
    if ge is not None or le is not None:
        description = f"{description} Allowed: {range_text(ge, le)}."
    return Field(default=default, description=description, alias=key, ge=ge, le=le)


def bounds(info: FieldInfo) -> tuple[int | None, int | None]:
    """The ``ge``/``le`` constraints of a field, or ``None`` for an open side."""
    low: int | None = None
    high: int | None = None
    for meta in info.metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
    return low, high


def range_text(low: int | None, high: int | None) -> str:
    """``between 1 and 90``, ``at least 1`` or ``at most 35``."""
    if low is not None and high is not None:
        return f"between {low} and {high}"
    if low is not None:
        return f"at least {low}"
    return f"at most {high}"
