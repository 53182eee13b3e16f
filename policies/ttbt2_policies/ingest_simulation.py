r"""Run an Elasticsearch ingest pipeline's ``gsub`` processors on a text, as Elasticsearch would.

The pack uses it to check what a rendered log pipeline does to a log line, not what its
processors are called. Only ``gsub`` processors on the given field change the text; any other
processor is skipped, and so is a ``gsub`` with an ``if`` condition (the check cannot evaluate
Painless, and a condition may skip the redaction). Both make the simulation redact less, never
more, so a pipeline that passes redacts at least what the check saw redacted.

gsub patterns are Java regular expressions, read here with Python's ``re``: the two agree on the
common syntax (classes, groups, bounded quantifiers, lookarounds, ``(?i)`` at the start). A
pattern Python cannot read is reported, never guessed at. Replacements follow Java's
``Matcher.replaceAll``: ``$n`` is group ``n`` (nothing when the group did not match), ``\x``
is a literal ``x``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any


class PipelineError(Exception):
    """The pipeline body cannot be simulated: not an object, or a pattern Python cannot read."""


def _expand(replacement: str, match: re.Match[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(replacement):
        char = replacement[i]
        if char == "\\" and i + 1 < len(replacement):
            out.append(replacement[i + 1])
            i += 2
        elif char == "$" and i + 1 < len(replacement) and replacement[i + 1].isdigit():
            j = i + 1
            while j < len(replacement) and replacement[j].isdigit():
                j += 1
            group = int(replacement[i + 1 : j])
            if group > (match.re.groups or 0):
                raise PipelineError(f"replacement {replacement!r} refers to a missing group")
            out.append(match.group(group) or "")
            i = j
        else:
            out.append(char)
            i += 1
    return "".join(out)


def gsub_processors(pipeline: Mapping[str, Any], field: str) -> list[tuple[str, str]]:
    """``(pattern, replacement)`` of every unconditional gsub on ``field``, in order."""
    processors = pipeline.get("processors")
    if not isinstance(processors, Sequence) or isinstance(processors, str):
        raise PipelineError("the pipeline has no processors list")
    found: list[tuple[str, str]] = []
    for processor in processors:
        if not isinstance(processor, Mapping):
            raise PipelineError("a processor is not an object")
        gsub = processor.get("gsub")
        if not isinstance(gsub, Mapping) or gsub.get("field") != field or "if" in gsub:
            continue
        pattern, replacement = gsub.get("pattern"), gsub.get("replacement")
        if not isinstance(pattern, str) or not isinstance(replacement, str):
            raise PipelineError("a gsub processor needs a string pattern and replacement")
        found.append((pattern, replacement))
    return found


def apply_gsubs(pipeline: Mapping[str, Any], field: str, text: str) -> str:
    """``text`` after every unconditional gsub of ``pipeline`` on ``field``."""
    for pattern, replacement in gsub_processors(pipeline, field):
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise PipelineError(f"gsub pattern {pattern!r} is not understood: {exc}") from None
        text = regex.sub(partial(_expand, replacement), text)
    return text
