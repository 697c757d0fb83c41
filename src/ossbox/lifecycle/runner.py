"""One lifecycle pass: every enabled rule of every bucket applied as at a given time.

Strategy: a rule's keys are read in pages, each key with all its versions (newest first), and judged on
what was read; every change is then made on the condition that the version is still the one judged (the
same `seq`, current or not as it was), so a write or a delete racing the pass never has another version
expired or moved in its place. A pass is idempotent:
run again at the same time, it finds nothing more to do. The server runs one every `--lifecycle-interval`
seconds (one node at a time); `ossbox lifecycle run --now DATE` runs one as if at DATE.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

from ..storage.engine import Storage
from ..storage.errors import BucketNotFound, UploadNotFound
from ..storage.metadata import default_metadata_url, open_metadata
from ..storage.records import ObjectRecord, Permit
from .rules import DAY, LIFECYCLE_CONFIG, Rule, coldness, rules_from_json

__all__ = ["LifecycleReport", "run_lifecycle", "run_lifecycle_on"]

_PAGE = 1000


@dataclass
class LifecycleReport:
    expired: int = 0  # current versions deleted, or hidden under a delete marker
    delete_markers_removed: int = 0
    noncurrent_expired: int = 0
    transitioned: int = 0  # versions, current and noncurrent, moved to a colder storage class
    uploads_aborted: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{field.name.replace('_', ' ')}: {getattr(self, field.name)}" for field in fields(self))


class _Changed(Exception):
    """The version judged was replaced before the change: leave it."""


def run_lifecycle(storage: Storage, now: float) -> LifecycleReport:
    report = LifecycleReport()
    marker = ""
    while batch := storage.metadata.list_buckets("", marker, _PAGE):
        for bucket in batch:
            stored = bucket.configs.get(LIFECYCLE_CONFIG)
            for rule in rules_from_json(stored) if stored else ():
                if rule.enabled:
                    try:
                        _apply(storage, bucket.name, rule, now, report)
                    except BucketNotFound:
                        break  # deleted during the pass
        marker = batch[-1].name
    return report


def run_lifecycle_on(data_dir: str, metadata_url: str | None, now: float) -> LifecycleReport:
    """One pass over the data directory `data_dir` (a server may be running on it) and its metadata
    (default: its SQLite). The blobs of what it deletes are released as a server releases them: after its
    reclaim delay, by the server."""
    storage = Storage(data_dir, open_metadata(metadata_url or default_metadata_url(data_dir)))
    try:
        return run_lifecycle(storage, now)
    finally:
        storage.close()


def _apply(storage: Storage, bucket: str, rule: Rule, now: float, report: LifecycleReport) -> None:
    if (rule.expiration or rule.transitions or rule.noncurrent_expiration_days is not None
            or rule.noncurrent_transitions):
        for versions in _versions_by_key(storage, bucket, rule.prefix):
            _apply_current(storage, rule, versions, now, report)
            _apply_noncurrent(storage, rule, versions, now, report)
    if rule.abort_uploads is not None:
        _abort_uploads(storage, bucket, rule, now, report)


def _versions_by_key(storage: Storage, bucket: str, prefix: str) -> Iterator[list[ObjectRecord]]:
    """Each key under `prefix` with all its versions and delete markers, newest first; a key is given only
    once all its versions were read."""
    cursor: tuple[bytes, int | None] = (b"", None)
    versions: list[ObjectRecord] = []
    while True:
        rows = storage.metadata.list_versions(bucket, prefix.encode("utf-8"), *cursor, _PAGE)
        for row in rows:
            if versions and row.key != versions[0].key:
                yield versions
                versions = []
            versions.append(row)
        if len(rows) < _PAGE:
            break
        cursor = (rows[-1].key.encode("utf-8"), rows[-1].seq)
    if versions:
        yield versions


def _still(found: ObjectRecord | None, judged: ObjectRecord) -> bool:
    """Whether `found` is the version judged, in the place it was judged in (current or not: a noncurrent
    version becomes current again when the versions above it are deleted)."""
    return found is not None and (found.seq, found.latest) == (judged.seq, judged.latest)


def _same_version(judged: ObjectRecord) -> Permit:
    return lambda _acl, found: _still(found, judged)


def _apply_current(storage: Storage, rule: Rule, versions: list[ObjectRecord], now: float,
                   report: LifecycleReport) -> None:
    current = versions[0]
    expiration = rule.expiration
    if current.delete_marker:
        if expiration is not None and expiration.expired_delete_marker and len(versions) == 1 \
                and rule.selects_key(current.key):
            # a delete marker has no visible version: the permit sees None as long as it is still a marker
            (outcome,) = storage.delete_objects(current.bucket, [(current.key, current.version_id)],
                                                lambda _acl, found: found is None)
            report.delete_markers_removed += outcome.delete_marker
        return
    if not rule.selects(current):
        return
    if expiration is not None and expiration.due(current.mtime, now):
        (outcome,) = storage.delete_objects(current.bucket, [(current.key, None)], _same_version(current))
        report.expired += not outcome.refused
        return
    due = [t.storage_class for t in rule.transitions if t.due(current.mtime, now)]
    report.transitioned += _move(storage, current, due)


def _apply_noncurrent(storage: Storage, rule: Rule, versions: list[ObjectRecord], now: float,
                      report: LifecycleReport) -> None:
    for newer, version in zip(versions, versions[1:]):
        if version.delete_marker or not rule.selects(version):
            continue
        noncurrent_for = now - newer.mtime  # it stopped being current when `newer` was written
        days = rule.noncurrent_expiration_days
        if days is not None and noncurrent_for >= days * DAY:
            (outcome,) = storage.delete_objects(version.bucket, [(version.key, version.version_id)],
                                                _same_version(version))
            report.noncurrent_expired += not outcome.refused
            continue
        due = [t.storage_class for t in rule.noncurrent_transitions if noncurrent_for >= t.noncurrent_days * DAY]
        report.transitioned += _move(storage, version, due)


def _move(storage: Storage, version: ObjectRecord, due: list[str]) -> bool:
    """Move `version` to the coldest of the storage classes `due`, if that is colder than its own (a symlink
    has no bytes to move); whether it moved."""
    if not due or version.symlink_target is not None:
        return False
    target = max(due, key=coldness)
    if coldness(target) <= coldness(version.storage_class):
        return False

    def moved(found: ObjectRecord) -> dict:
        if not _still(found, version):
            raise _Changed()
        return {"storage_class": target, "restore": None}

    try:
        found = storage.metadata.update_object(version.bucket, version.key, version.version_id, moved)
        return found is not None and not found.delete_marker
    except _Changed:
        return False


def _abort_uploads(storage: Storage, bucket: str, rule: Rule, now: float, report: LifecycleReport) -> None:
    key_marker, upload_marker = "", ""
    while True:
        page = storage.list_uploads(bucket, rule.prefix, "", key_marker, upload_marker, _PAGE)
        for upload in page.rows:
            if rule.selects_key(upload.key) and rule.abort_uploads.due(upload.initiated, now):
                try:
                    storage.abort_upload(bucket, upload.key, upload.upload_id)
                    report.uploads_aborted += 1
                except UploadNotFound:
                    pass  # completed or aborted meanwhile
        if not page.is_truncated:
            return
        key_marker, upload_marker = page.rows[-1].key, page.rows[-1].upload_id
