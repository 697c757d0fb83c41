"""Conditional request evaluation (RFC 9110 §13.2.2), as one pure decision.

Strategy: `evaluate()` returns PROCEED, NOT_MODIFIED (304) or PRECONDITION_FAILED (412) from the four
header values and the object's ETag and Last-Modified, before any Range is looked at. Dates compare at
whole seconds; an unparseable date is ignored. If-Match compares strongly (a weak tag never matches),
If-None-Match weakly; both accept quoted or bare tags, comma-separated lists and `*`.
"""

from __future__ import annotations

import enum

from .dates import parse_http_date

__all__ = ["Outcome", "evaluate", "etag_matches"]


class Outcome(enum.Enum):
    PROCEED = 200
    NOT_MODIFIED = 304
    PRECONDITION_FAILED = 412


def _opaque(tag: str) -> tuple[str, bool]:
    """(opaque value without quotes, is_weak) of one entity tag as a client wrote it."""
    tag = tag.strip()
    weak = tag[:2] in ("W/", "w/")
    if weak:
        tag = tag[2:]
    if len(tag) >= 2 and tag[0] == tag[-1] == '"':
        tag = tag[1:-1]
    return tag, weak


def etag_matches(header: str, etag: str, *, weak: bool) -> bool:
    """Whether the If-Match / If-None-Match list in `header` matches the object's `etag` (quoted or not)."""
    current, _ = _opaque(etag)
    for candidate in header.split(","):
        if candidate.strip() == "*":
            return True
        value, is_weak = _opaque(candidate)
        if value == current and (weak or not is_weak):
            return True
    return False


def evaluate(
    etag: str,
    last_modified: int,
    *,
    if_match: str | None = None,
    if_unmodified_since: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
) -> Outcome:
    if if_match is not None:
        if not etag_matches(if_match, etag, weak=False):
            return Outcome.PRECONDITION_FAILED
    else:
        since = parse_http_date(if_unmodified_since)
        if since is not None and last_modified > since:
            return Outcome.PRECONDITION_FAILED
    if if_none_match is not None:
        if etag_matches(if_none_match, etag, weak=True):
            return Outcome.NOT_MODIFIED
    else:
        since = parse_http_date(if_modified_since)
        if since is not None and last_modified <= since:
            return Outcome.NOT_MODIFIED
    return Outcome.PROCEED
