"""The line `cp` and `sync` end with, on stderr: what was uploaded, downloaded, copied, deleted and skipped.

Strategy: a pure function of the plan (its direction, what it skipped) and the report (what was done), so both
commands word the same outcome the same way and the unit tests cover the wording without a server. The verb is
the plan's direction, never guessed from what happened to be done: a run that transfers nothing says
"nothing uploaded" (or downloaded, or copied), then why.
"""

from __future__ import annotations

from .copying import TRANSFERS, Item, Plan, Report
from .values import human_size, plural

__all__ = ["summary_line"]

_VERBS = {"download": "downloaded", "upload": "uploaded", "copy": "copied"}


def _transfers(verb: str, done: list[Item], planned: int, size: int, elapsed: float) -> str:
    if not done:
        return f"nothing {verb}"
    rate = f", {human_size(size / elapsed)}/s" if elapsed > 0 and size else ""
    what = f"{done[0].source} -> {done[0].destination}" if len(done) == 1 and planned == 1 else \
        plural(len(done), "object")
    return f"{verb} {what} ({human_size(size)}) in {elapsed:.1f}s{rate}"


def _deletions(done: list[Item]) -> str:
    files = sum(1 for item in done if item.path)
    counts = [plural(files, "file")] if files else []
    if len(done) > files:
        counts.append(plural(len(done) - files, "object"))
    return f"deleted {' and '.join(counts)}"


def summary_line(plan: Plan, report: Report, elapsed: float, held_back: int = 0) -> str:
    """`uploaded 3 objects (1.2MiB) in 0.4s, 3.0MiB/s; deleted 1 object; skipped 5 (the destination is up to
    date)`; `held_back` deletions were not run because something else failed."""
    transfers = [item for item in report.done if item.kind in TRANSFERS]
    planned = sum(1 for item in plan.items if item.kind in TRANSFERS)
    parts = [_transfers(_VERBS[plan.direction], transfers, planned, report.bytes, elapsed)]
    deleted = [item for item in report.done if item.kind == "delete"]
    if deleted:
        parts.append(_deletions(deleted))
    if plan.skipped:
        reasons = sorted({why for _, why in plan.skipped})
        parts.append(f"skipped {len(plan.skipped)} ({', '.join(reasons)})")
    if report.unmet:
        parts.append(f"{len(report.unmet)} not copied: condition not met")
    failed = len(report.failed) + len(plan.invalid)
    if failed:
        parts.append(f"{failed} failed")
    if held_back:
        parts.append(f"{plural(held_back, 'deletion')} not done because of the failures")
    return "; ".join(parts)
