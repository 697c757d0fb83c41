"""The storage engine: metadata plus blob files behind the few calls the server makes.

Strategy: a write streams into a new blob (`new_blob()`), which the caller commits with
`commit_object()`: one metadata transaction swaps the object's blobs, and only after it are the old
blobs unlinked. `open_object()` returns a snapshot: the record and the object's first blob, opened, which
proves the version was whole when it was read. Further blobs (the parts of a multipart object, the
pieces of an appended one) are opened only when a read reaches them and closed after it, so a reader
holds at most two descriptors however many parts the object has. So that a reader still finds them, a
replaced version's blobs after the first are released, not unlinked: `reap_released()` unlinks them
`reclaim_delay` seconds later (the server calls it periodically; start-up reaps them all).

Access decisions are made on the records a call acts on: reads and writes take a `permit(bucket_acl,
record)` predicate, which the engine applies to the very record it returns, or, for writes and deletes,
to the current record inside the transaction that replaces it. Methods block (fsync, SQLite); the server
runs them in threads.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ..protocol import checksums
from ..protocol.crc64 import crc64_combine
from .blobs import BlobStore, BlobWriter
from .cipher import BlobCipher
from .errors import (AccessRefused, BucketNotFound, ChecksumMismatch, InvalidPart, InvalidPartOrder, IsDeleteMarker,
                     NotArchived, NotRestored, ObjectChanged, ObjectFrozen, ObjectNotAppendable, ObjectNotFound,
                     PartTooSmall, PositionMismatch, RestoreInProgress, UploadNotFound, VersionNotFound)
from .listing import Page, grouped_scan
from .records import (ARCHIVE_CLASSES, NULL_VERSION, BlobInfo, BucketRecord, Checksum, ClassUsage, Deletion, Extent,
                      Gate, ListedObject, Listing, ObjectRecord, PartRecord, Permit, Restore, UploadRecord,
                      version_seq)
from .metadata import MetadataStore, MetadataUnavailable, default_metadata_url, open_metadata
from .readcache import ReadCache, Remembered

__all__ = ["Storage", "ObjectSnapshot", "Permit", "Checksums", "RECLAIM_DELAY", "RESTORE_DELAY", "ORPHAN_AGE",
           "MIN_PART_SIZE", "MAX_EXTENTS", "md5_etag", "multipart_etag"]

# How often open_object() retries when a blob vanishes between reading metadata and opening it.
_OPEN_RETRIES = 5
# Seconds a replaced or deleted version's blobs after the first stay on disk, for readers still on their
# way to them (the first blob they hold open from the start): the default of `--reclaim-delay`.
RECLAIM_DELAY = 600.0
# Seconds a restore of an archived object takes: the default of `--restore-delay` (the cloud takes minutes
# to hours, by storage class and tier; tests set less).
RESTORE_DELAY = 60.0
_DAY = 86400
_COPY_CHUNK = 4 << 20  # read at a time when bytes go through memory (decrypted, or copied into a new blob)
# Seconds an unreferenced file must have gone unmodified before a sweep may take it for an orphan while other
# nodes run: a write in flight anywhere (its blob written, its metadata not yet committed) is far younger.
ORPHAN_AGE = 3600.0


class ObjectSnapshot:
    """An object's metadata and its bytes, read extent by extent.

    Only the first extent's blob is opened up front (`ObjectSnapshot` raises FileNotFoundError if the
    version is already gone); the others are opened when a read reaches them, and stay on disk for the
    storage's reclaim delay after the version is replaced or deleted. Blobs are never modified, so whatever
    is read belongs to `record`."""

    def __init__(self, record: ObjectRecord, blobs: BlobStore, cipher: BlobCipher | None = None,
                 whole: bytes | None = None) -> None:
        self.record = record
        self.cipher = cipher  # the blobs' cipher when the version is encrypted: read with decrypt() or chunks()
        self._blobs = blobs
        self._first = blobs.open(record.extents[0].blob_id) if record.extents and whole is None else None
        self.whole = whole  # all its bytes in the clear, when opened with them (no file open then)

    def read(self, first: int, length: int) -> bytes:
        """Bytes first..first+length-1 in the clear, at once; FileNotFoundError if a later extent is gone."""
        data = b"".join(self.chunks(first, length))
        if len(data) != length:
            raise OSError("blob shorter than its recorded length")
        return data

    def spans(self, first: int, length: int) -> Iterator[tuple[int, int, int]]:
        """(extent index, offset, count) for each extent that bytes first..first+length-1 cover."""
        position, remaining = 0, length
        for index, extent in enumerate(self.record.extents):
            end = position + extent.length
            if remaining and first < end:
                offset = max(first - position, 0)
                count = min(extent.length - offset, remaining)
                yield index, offset, count
                remaining -= count
            position = end

    @property
    def first_file(self):
        """The first extent's open file, owned by the snapshot (None for an object with no extents)."""
        return self._first

    def open_extent(self, index: int):
        """A new file of extent `index`'s blob, for the caller to close; FileNotFoundError if it is gone."""
        return self._blobs.open(self.record.extents[index].blob_id)

    def pieces(self, first: int, length: int) -> Iterator[tuple[object, int, int]]:
        """(file, offset, count) for each extent the bytes cover; each file but the first extent's is
        opened when its turn comes and closed when the next is asked for."""
        for index, offset, count in self.spans(first, length):
            if index == 0:
                yield self._first, offset, count
                continue
            with self.open_extent(index) as file:
                yield file, offset, count

    def decrypt(self, index: int, offset: int, data: bytes) -> bytes:
        """`data`, read at `offset` in extent `index`'s blob, in the clear."""
        if self.cipher is None:
            return data
        return self.cipher.apply(self.record.extents[index].blob_id, offset, data)

    def chunks(self, first: int, length: int, size: int = _COPY_CHUNK) -> Iterator[bytes]:
        """Bytes first..first+length-1 in the clear, at most `size` at a time."""
        for index, offset, count in self.spans(first, length):
            file = self._first if index == 0 else self.open_extent(index)
            try:
                end = offset + count
                while offset < end:
                    chunk = os.pread(file.fileno(), min(size, end - offset), offset)
                    if not chunk:
                        raise OSError("blob shorter than its recorded length")
                    yield self.decrypt(index, offset, chunk)
                    offset += len(chunk)
            finally:
                if index != 0:
                    file.close()

    def close(self) -> None:
        if self._first is not None:
            self._first.close()
            self._first = None

    def __enter__(self) -> ObjectSnapshot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Storage:
    def __init__(self, data_dir: str, metadata: MetadataStore | None = None, location: str = "oss-cn-hangzhou",
                 reclaim_delay: float = RECLAIM_DELAY, restore_delay: float = RESTORE_DELAY) -> None:
        """Blobs under `data_dir`, metadata in `metadata` (by default SQLite in `data_dir`, opened to match
        `reclaim_delay`: seconds before a replaced version's later blobs are unlinked; with 0 they go at once,
        and a reader still on an earlier part of that version is cut short). An archived object's restore
        takes `restore_delay` seconds."""
        os.makedirs(data_dir, exist_ok=True)
        self.location = location
        self.reclaim_delay = reclaim_delay
        self.restore_delay = restore_delay
        self.blobs = BlobStore(data_dir)
        self.recent = ReadCache()
        self.metadata: MetadataStore = metadata or open_metadata(default_metadata_url(data_dir),
                                                                 defer_release=reclaim_delay > 0)

    def close(self) -> None:
        self.metadata.close()

    def sweep_orphans(self, before: float) -> int:
        """Remove the temporary files and blobs that no metadata refers to and that were last written before
        `before` (epoch seconds): what a crash left, or a write whose commit was lost with its database
        connection. Anything younger may belong to a write still in flight, on this node or another, and
        stays. Returns how many files were removed."""
        return self.blobs.sweep(self.metadata.referenced_blob_ids(), before)

    def reap_released(self, delay: float | None = None) -> int:
        """Unlink the blobs released more than `delay` (default: the reclaim delay) seconds ago; until then a
        reader may still be on its way to them (see ObjectSnapshot). Returns how many."""
        before = time.time() - (self.reclaim_delay if delay is None else delay)
        released = self.metadata.claim_released(before)
        self.blobs.delete(released)
        return len(released)

    # ---- buckets ----

    def create_bucket(self, name: str, acl: str = "private", storage_class: str = "Standard",
                      configs: dict[str, object] | None = None) -> BucketRecord:
        """A new bucket, with its first `configs` (see BucketRecord) in the same transaction."""
        record = BucketRecord(name, int(time.time()), self.location, acl, storage_class, configs=configs or {})
        self.metadata.create_bucket(record)
        return record

    def delete_bucket(self, name: str, discard_uploads: bool = False) -> None:
        """Delete an empty bucket; its unfinished uploads are discarded with it if `discard_uploads`, else
        they keep it (BucketNotEmpty)."""
        self.blobs.delete(self.metadata.delete_bucket(name, discard_uploads))

    def get_bucket(self, name: str) -> BucketRecord:
        record = self.metadata.get_bucket(name)
        if record is None:
            raise BucketNotFound(name)
        return record

    def list_buckets(self, prefix: str = "", marker: str = "", max_keys: int = 100, tag_key: str | None = None,
                     tag_value: str | None = None) -> tuple[list[BucketRecord], bool]:
        """Buckets after `marker` whose names start with `prefix` (and that carry the tag `tag_key`,
        with `tag_value` if given), and whether more follow."""
        def wanted(bucket: BucketRecord) -> bool:
            return tag_key is None or (tag_key in bucket.tags and tag_value in (None, bucket.tags[tag_key]))

        found: list[BucketRecord] = []
        while len(found) <= max_keys:
            batch = self.metadata.list_buckets(prefix, marker, max_keys + 1)
            if not batch:
                break
            found.extend(b for b in batch if wanted(b))
            marker = batch[-1].name
        return found[:max_keys], len(found) > max_keys

    def bucket_usage(self, name: str) -> dict[str, ClassUsage]:
        self.get_bucket(name)
        return self.metadata.bucket_usage(name)

    def upload_count(self, bucket: str) -> int:
        return self.metadata.upload_count(bucket)

    # ---- writing objects ----

    @functools.cached_property
    def cipher(self) -> BlobCipher:
        """The data directory's cipher; its key is made the first time a version is encrypted."""
        return BlobCipher(self.blobs.root)

    def new_blob(self, encrypted: bool = False) -> BlobWriter:
        """A writer of a new blob; `encrypted`: its bytes are encrypted at rest."""
        return self.blobs.create(self.cipher if encrypted else None)

    def commit_object(self, bucket: str, key: str, blob: BlobInfo, etag: str, overwrite: bool = True,
                      permit: Permit | None = None, **attributes) -> ObjectRecord:
        """Make `blob` the content of bucket/key; `attributes` are the other ObjectRecord fields.
        With `overwrite` false an existing key raises ObjectExists; a version `permit` refuses to replace
        raises AccessRefused (the blob is dropped either way)."""
        record = ObjectRecord(
            bucket=bucket, key=key, size=blob.size, etag=etag, crc64=blob.crc64, mtime=int(time.time()),
            extents=(Extent(blob.blob_id, blob.size),), **attributes,
        )
        return self._swap_in(record, overwrite, permit)

    def _drop_unless_committed(self, error: BaseException, blob_ids: list[str]) -> None:
        """Unlink the new blobs of a write that failed, unless the database became unreachable: its commit
        may have happened, and they may be referenced now. The orphan sweep removes them if not."""
        if not isinstance(error, MetadataUnavailable):
            self.blobs.delete(blob_ids)

    def discard_blob(self, blob: BlobInfo) -> None:
        self.blobs.delete([blob.blob_id])

    def _swap_in(self, record: ObjectRecord, overwrite: bool, permit: Permit | None) -> ObjectRecord:
        """`record` made the key's current version; as stored (with its version id)."""
        try:
            stored, released = self.metadata.put_object(record, overwrite, permit)
        except BaseException as error:
            self._drop_unless_committed(error, [e.blob_id for e in record.extents])
            raise
        self.blobs.delete(released)
        return stored

    def copy_object(self, source: ObjectSnapshot, bucket: str, key: str, overwrite: bool = True,
                    permit: Permit | None = None, **attributes) -> ObjectRecord:
        """A new object with the bytes, ETag and CRC64 of `source`: copied in the kernel, or decrypted
        and/or encrypted on the way when either side is encrypted (`attributes["encryption"]`, none if not
        given: the new blob's, never the source's)."""
        self.get_bucket(bucket)
        attributes = {"encryption": None, **attributes}
        if source.cipher is None and attributes.get("encryption") is None:
            blob_id, size = self.blobs.copy(
                (file.fileno(), count) for file, _, count in source.pieces(0, source.record.size)
            )
        else:
            blob = self.copy_range_to_blob(source, 0, source.record.size, attributes.get("encryption") is not None)
            blob_id, size = blob.blob_id, blob.size
        record = replace(
            source.record, bucket=bucket, key=key, mtime=int(time.time()), extents=(Extent(blob_id, size),),
            restore=None, **attributes,
        )
        return self._swap_in(record, overwrite, permit)

    def copy_range_to_blob(self, source: ObjectSnapshot, first: int, length: int, encrypted: bool = False,
                           checksum: checksums.Hasher | None = None) -> BlobInfo:
        """A new blob (`encrypted` or not) holding bytes first..first+length-1 of `source`, hashed as it is
        written (and fed to `checksum`, an S3 checksum, if given)."""
        writer = self.new_blob(encrypted)
        try:
            for chunk in source.chunks(first, length):
                writer.write(chunk)
                if checksum is not None:
                    checksum.update(chunk)
            return writer.commit()
        except BaseException:
            writer.abort()
            raise

    def append_object(self, bucket: str, key: str, position: int, blob: BlobInfo, permit: Permit | None = None,
                      encrypted: bool = False, **attributes) -> ObjectRecord:
        """Append `blob` (`encrypted` at rest or not) to an Appendable object at `position` (0 creates it,
        with `attributes`, whose encryption must then match).

        The append is a compare-and-swap on the object's version: if another append or a write got there
        first, this one fails with PositionMismatch and leaves nothing behind. A reader that opened the
        object earlier keeps seeing only the bytes it started with: blobs are never modified. `permit`
        judges the version the swap replaces."""
        merged: str | None = None
        try:
            current = self._lookup(bucket, key, permit)
            appended_to = None if current is None or current.delete_marker else current  # a marker: a new object
            _check_append(appended_to, key, position)
            object_encryption = appended_to.encryption if appended_to else attributes.get("encryption")
            if (object_encryption is not None) != encrypted:
                raise ObjectChanged(current)  # replaced since the blob was written for what it was
            now = int(time.time())
            if appended_to is None:
                record = ObjectRecord(
                    bucket=bucket, key=key, size=blob.size, etag=md5_etag(blob.md5), crc64=blob.crc64, mtime=now,
                    extents=(Extent(blob.blob_id, blob.size),), **{**attributes, "object_type": "Appendable"},
                )
            else:
                try:
                    extents, merged = self._compact(current.extents + (Extent(blob.blob_id, blob.size),), encrypted)
                except FileNotFoundError:
                    latest = self.metadata.get_object(bucket, key)
                    if latest == current:  # a blob really is missing
                        raise
                    raise ObjectChanged(latest) from None  # a concurrent append compacted these extents
                record = replace(
                    current, size=current.size + blob.size, etag=_appended_etag(current.etag, blob.md5),
                    crc64=crc64_combine(current.crc64, blob.crc64, blob.size), mtime=now, extents=extents,
                )
            record, released = self.metadata.replace_object_if(record, current)
        except BaseException as error:
            self._drop_unless_committed(error, [blob.blob_id] + ([merged] if merged else []))
            if isinstance(error, ObjectChanged):
                raise PositionMismatch(key, error.current.size if error.current else 0) from None
            raise
        if all(extent.blob_id != blob.blob_id for extent in record.extents):
            released.append(blob.blob_id)  # compaction copied the appended bytes into the merged blob
        self.blobs.delete(released)
        return record

    def _compact(self, extents: tuple[Extent, ...], encrypted: bool) -> tuple[tuple[Extent, ...], str | None]:
        """Keep an appended object's extents (one blob each, one open file per reader) few: past
        MAX_EXTENTS, the adjacent run of COMPACT_RUN extents with the fewest bytes is copied (in the
        kernel, or through the cipher when `encrypted`) into one new blob. Returns the extents and the new
        blob's id, if any."""
        if len(extents) <= MAX_EXTENTS:
            return extents, None
        sizes = [sum(e.length for e in extents[i:i + COMPACT_RUN]) for i in range(len(extents) - COMPACT_RUN + 1)]
        start = min(range(len(sizes)), key=lambda i: (sizes[i], -i))
        run = extents[start:start + COMPACT_RUN]
        if encrypted:
            run_record = ObjectRecord(bucket="", key="", size=sum(e.length for e in run), etag="", crc64=0, mtime=0,
                                      extents=run)
            with ObjectSnapshot(run_record, self.blobs, self.cipher) as source:
                blob = self.copy_range_to_blob(source, 0, run_record.size, encrypted=True)
            blob_id, size = blob.blob_id, blob.size
        else:
            files = [self.blobs.open(extent.blob_id) for extent in run]
            try:
                blob_id, size = self.blobs.copy((file.fileno(), extent.length) for file, extent in zip(files, run))
            finally:
                for file in files:
                    file.close()
        return extents[:start] + (Extent(blob_id, size),) + extents[start + COMPACT_RUN:], blob_id

    def put_symlink(self, bucket: str, key: str, target: str, overwrite: bool = True, permit: Permit | None = None,
                    **attributes) -> ObjectRecord:
        record = ObjectRecord(
            bucket=bucket, key=key, size=0, etag=md5_etag(hashlib.md5(target.encode("utf-8")).digest()), crc64=0,
            mtime=int(time.time()), extents=(), symlink_target=target, **{**attributes, "object_type": "Symlink"},
        )
        return self._swap_in(record, overwrite, permit)

    def update_bucket(self, name: str, **changes) -> None:
        """Change a bucket's `acl`, `tags`, `versioning` and/or named `configs` (see MetadataStore)."""
        self.metadata.update_bucket(name, **changes)

    def update_object(self, bucket: str, key: str, version_id: str | None = None, **changes) -> ObjectRecord:
        """Change an object version's `acl`, `tags` and/or `storage_class`, not its bytes; the version as it
        was."""
        return _readable(self.metadata.update_object(bucket, key, version_id, lambda _: changes), key, version_id)

    def restore_object(self, bucket: str, key: str, version_id: str | None, days: int, tier: str | None,
                       permit: Permit | None = None) -> tuple[ObjectRecord, bool]:
        """Restore an archived version for `days` once `restore_delay` seconds have passed; asked again once
        it is readable, the `days` count again from now. The version as it was, and whether a restore
        started (False: an extension). NotArchived, RestoreInProgress."""
        now = time.time()

        def restored(version: ObjectRecord) -> dict:
            if version.storage_class not in ARCHIVE_CLASSES:
                raise NotArchived(key)
            current = version.restore
            if current is not None and current.ongoing(now):
                raise RestoreInProgress(key)
            if current is not None and current.readable(now):
                return {"restore": replace(current, expires_at=now + days * _DAY)}
            ready = now + self.restore_delay
            return {"restore": Restore(ready, ready + days * _DAY, tier)}

        before = _readable(self.metadata.update_object(bucket, key, version_id, restored, permit), key, version_id)
        return before, not (before.restore is not None and before.restore.readable(now))

    def clean_restored_object(self, bucket: str, key: str, version_id: str | None,
                              permit: Permit | None = None) -> None:
        """Drop a restored version's readable copy: frozen again at once. NotArchived, RestoreInProgress,
        NotRestored."""
        now = time.time()

        def cleaned(version: ObjectRecord) -> dict:
            if version.storage_class not in ARCHIVE_CLASSES:
                raise NotArchived(key)
            if version.restore is not None and version.restore.ongoing(now):
                raise RestoreInProgress(key)
            if version.restore is None or not version.restore.readable(now):
                raise NotRestored(key)
            return {"restore": None}

        _readable(self.metadata.update_object(bucket, key, version_id, cleaned, permit), key, version_id)

    # ---- reading objects ----

    def bucket_and_object(self, bucket: str, key: str | None, version_id: str | None = None
                          ) -> tuple[BucketRecord | None, ObjectRecord | None]:
        """The bucket and the object's current version (or `version_id`), None for either that does not
        exist (or no key, or a delete marker)."""
        if key is None:
            return self.metadata.get_bucket(bucket), None
        bucket_record, record = self.metadata.get_bucket_and_object(bucket, key, version_id)
        return bucket_record, None if record is None or record.delete_marker else record

    def _lookup(self, bucket: str, key: str, permit: Permit | None, version_id: str | None = None,
                gate: Gate | None = None) -> ObjectRecord | None:
        """The key's current version or `version_id` (None if absent; a delete marker included), once the
        bucket's `gate` (read with it) and `permit` have accepted it. A missing bucket is reported as such to
        anyone, as OSS does."""
        return self._judged(bucket, key, *self.metadata.get_bucket_and_object(bucket, key, version_id), permit, gate)

    @staticmethod
    def _judged(bucket: str, key: str, bucket_record: BucketRecord | None, record: ObjectRecord | None,
                permit: Permit | None, gate: Gate | None) -> ObjectRecord | None:
        """_lookup's answer from the records it read of bucket/key."""
        if bucket_record is None:
            raise BucketNotFound(bucket)
        if gate is not None:
            permit = gate(bucket_record, key, permit)
        if permit is not None and not permit(bucket_record.acl,
                                             None if record is None or record.delete_marker else record):
            raise AccessRefused(key)
        if record is not None and bucket_record.versioning is not None and record.version_id == NULL_VERSION:
            record = replace(record, in_versioned_bucket=True)
        return record

    def head_object(self, bucket: str, key: str, permit: Permit | None = None,
                    version_id: str | None = None, gate: Gate | None = None) -> ObjectRecord:
        """The object's current version or `version_id`, read once; `gate` and `permit` are judged on that
        very read."""
        return _readable(self._lookup(bucket, key, permit, version_id, gate), key, version_id)

    def open_object(self, bucket: str, key: str, permit: Permit | None = None,
                    version_id: str | None = None, gate: Gate | None = None, read_up_to: int = 0) -> ObjectSnapshot:
        """The object's current version (or `version_id`), opened, and, when it holds at most `read_up_to`
        bytes, read whole (`snapshot.whole`: a small GET's body, in the same trip to a thread). A version whose
        blob vanished before it could be read (overwritten or deleted meanwhile) is read again, and `gate` and
        `permit` judge every read."""
        for _ in range(_OPEN_RETRIES):
            marker = self.metadata.change_marker()
            bucket_record, found = self.metadata.get_bucket_and_object(bucket, key, version_id)
            record = _readable(self._judged(bucket, key, bucket_record, found, permit, gate), key, version_id)
            if record.frozen(time.time()) and record.symlink_target is None:
                raise ObjectFrozen(key)
            try:
                snapshot = ObjectSnapshot(record, self.blobs, self.cipher if record.encryption is not None else None)
            except FileNotFoundError:
                continue
            if record.size > read_up_to or record.symlink_target is not None:
                return snapshot
            try:
                snapshot.whole = snapshot.read(0, record.size)
                snapshot.close()  # here, off the event loop: the bytes are all it will need
                if record.encryption is None:  # an encrypted object's clear bytes are not kept
                    self.recent.put(bucket, key, version_id, Remembered(marker, bucket_record, found, snapshot.whole))
                return snapshot
            except BaseException as error:
                snapshot.close()
                if isinstance(error, FileNotFoundError):
                    continue
                raise
        raise ObjectNotFound(key) if version_id is None else VersionNotFound(key, version_id)

    def open_remembered(self, bucket: str, key: str, permit: Permit | None = None, version_id: str | None = None,
                        gate: Gate | None = None, read_up_to: int = 0) -> ObjectSnapshot | None:
        """open_object's answer from memory (storage/readcache.py), when nothing has been committed anywhere
        since an earlier open_object read the object whole; None otherwise. No thread, query or file: the
        event loop may call it. `gate` and `permit` judge the remembered records as they would fresh ones."""
        entry = self.recent.get(bucket, key, version_id, self.metadata.change_marker())
        if entry is None or len(entry.whole) > read_up_to:
            return None
        record = _readable(self._judged(bucket, key, entry.bucket, entry.record, permit, gate), key, version_id)
        if record.frozen(time.time()):
            raise ObjectFrozen(key)
        return ObjectSnapshot(record, self.blobs, whole=entry.whole)

    def head_remembered(self, bucket: str, key: str, permit: Permit | None = None, version_id: str | None = None,
                        gate: Gate | None = None) -> ObjectRecord | None:
        """head_object's answer from memory, as open_remembered's; None when there is none."""
        entry = self.recent.get(bucket, key, version_id, self.metadata.change_marker())
        if entry is None:
            return None
        return _readable(self._judged(bucket, key, entry.bucket, entry.record, permit, gate), key, version_id)

    # ---- deleting ----

    def delete_objects(self, bucket: str, targets: list[tuple[str, str | None]], permit: Permit | None = None
                       ) -> list[Deletion]:
        """Delete each (key, version id or None for the current version) that `permit` accepts (see
        MetadataStore.delete_objects); what each did."""
        outcomes, released = self.metadata.delete_objects(bucket, targets, permit)
        self.blobs.delete(released)
        return outcomes

    # ---- listing ----

    def list_objects(self, bucket: str, prefix: str = "", delimiter: str = "", marker: str = "",
                     max_keys: int = 100, permit: Permit | None = None) -> Listing:
        """Objects and common prefixes after `marker`, in UTF-8 byte order, at most `max_keys` in all;
        `permit` judges the bucket's ACL.

        A common prefix is listed once, only if it sorts after `marker`; listing resumes after all its
        keys, so NextMarker may be a common prefix."""
        bucket_record = self.metadata.get_bucket(bucket)
        if bucket_record is None:
            raise BucketNotFound(bucket)
        if permit is not None and not permit(bucket_record.acl, None):
            raise AccessRefused(bucket)
        prefix_bytes, delimiter_bytes = prefix.encode("utf-8"), delimiter.encode("utf-8")
        if delimiter:  # the metadata skips past each common prefix itself: a page is one query
            def scan(after: bytes, limit: int) -> list[ListedObject]:
                return self.metadata.scan_grouped(bucket, after, prefix_bytes, delimiter_bytes, limit)
        else:
            def scan(after: bytes, limit: int) -> list[ListedObject]:
                return self.metadata.scan_objects(bucket, after, prefix_bytes, limit)
        page = grouped_scan(
            scan=scan,
            key_of=lambda record: record.key,
            cursor_after=lambda record: record.key.encode("utf-8"),
            cursor_past_prefix=_past_prefix,
            start=marker.encode("utf-8"),
            prefix=prefix, delimiter=delimiter, marker=marker, max_items=max_keys, skips_prefixes=bool(delimiter),
        )
        last = page.last.key if isinstance(page.last, ListedObject) else page.last
        return Listing(page.rows, page.common_prefixes, page.is_truncated, last if page.is_truncated else None)

    def list_versions(self, bucket: str, prefix: str = "", delimiter: str = "", key_marker: str = "",
                      version_marker: str = "", max_keys: int = 100, permit: Permit | None = None
                      ) -> Page[ObjectRecord]:
        """Every version and delete marker, by key then newest first, after (`key_marker`, `version_marker`):
        without a version marker, after every version of `key_marker`. The marker's version may be gone (a
        client deleting what it lists): its id still says where it was. `permit` judges the bucket's ACL."""
        bucket_record = self.metadata.get_bucket(bucket)
        if bucket_record is None:
            raise BucketNotFound(bucket)
        if permit is not None and not permit(bucket_record.acl, None):
            raise AccessRefused(bucket)
        below_seq = None
        if version_marker:
            below_seq = version_seq(version_marker)
            if below_seq is None:  # the null version, which moves: where it is now, or before every version
                null = self.metadata.get_object(bucket, key_marker, NULL_VERSION)
                below_seq = null.seq if null is not None else _AFTER_ANY_SEQ
        prefix_bytes = prefix.encode("utf-8")
        return grouped_scan(
            scan=lambda cursor, limit: self.metadata.list_versions(bucket, prefix_bytes, *cursor, limit),
            key_of=lambda record: record.key,
            cursor_after=lambda record: (record.key.encode("utf-8"), record.seq),
            cursor_past_prefix=lambda common: (_past_prefix(common), None),
            start=(key_marker.encode("utf-8"), below_seq),
            prefix=prefix, delimiter=delimiter, marker=key_marker, max_items=max_keys,
        )

    # ---- multipart uploads ----

    def create_upload(self, bucket: str, key: str, **attributes) -> UploadRecord:
        """Start a multipart upload; `attributes` are the ObjectRecord fields the object will get."""
        upload = UploadRecord(secrets.token_hex(16).upper(), bucket, key, int(time.time()), attributes)
        self.metadata.create_upload(upload)
        return upload

    def get_upload(self, bucket: str, key: str, upload_id: str) -> UploadRecord:
        upload = self.metadata.get_upload(upload_id)
        if upload is None or upload.bucket != bucket or upload.key != key:
            self.get_bucket(bucket)
            raise UploadNotFound(upload_id)
        return upload

    def commit_part(self, bucket: str, key: str, upload_id: str, part_number: int, blob: BlobInfo,
                    checksum: Checksum | None = None) -> PartRecord:
        part = PartRecord(part_number, blob.blob_id, blob.size, md5_etag(blob.md5), blob.crc64, int(time.time()),
                          checksum)
        try:
            self.get_upload(bucket, key, upload_id)
            released = self.metadata.put_part(upload_id, part)
        except BaseException as error:
            self._drop_unless_committed(error, [blob.blob_id])
            raise
        self.blobs.delete(released)
        return part

    def list_parts(self, bucket: str, key: str, upload_id: str, after: int, limit: int) -> list[PartRecord]:
        self.get_upload(bucket, key, upload_id)
        return self.metadata.list_parts(upload_id, after, limit)

    def complete_upload(self, bucket: str, key: str, upload_id: str, chosen: list[tuple[int, str]] | None,
                        overwrite: bool = True, permit: Permit | None = None,
                        claimed: Checksums | None = None) -> ObjectRecord:
        """Make the object from the parts `chosen` as (part number, ETag) in ascending order, or from
        every part when `chosen` is None. The parts' blobs become the object's extents: no byte is copied.
        `claimed`: the S3 checksums the client gives for parts and the object, which must be the ones stored
        and made (InvalidPart, ChecksumMismatch)."""
        self.get_upload(bucket, key, upload_id)

        def assemble(upload: UploadRecord, parts: list[PartRecord]) -> ObjectRecord:
            selected = _select_parts(parts, chosen)
            attributes = {"object_type": "Multipart", **upload.attributes}
            if "checksum" in attributes:
                attributes["checksum"] = _multipart_checksum(attributes["checksum"], selected)
            if claimed is not None:
                claimed.check(selected, attributes.get("checksum"), key)
            return ObjectRecord(
                bucket=bucket, key=key, size=sum(p.size for p in selected), etag=multipart_etag(selected),
                crc64=functools.reduce(lambda crc, p: crc64_combine(crc, p.crc64, p.size), selected, 0),
                mtime=int(time.time()), extents=tuple(Extent(p.blob_id, p.size) for p in selected), **attributes,
            )

        record, released = self.metadata.complete_upload(upload_id, assemble, overwrite, permit)
        self.blobs.delete(released)
        return record

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self.get_upload(bucket, key, upload_id)
        self.blobs.delete(self.metadata.delete_upload(upload_id))

    def list_uploads(self, bucket: str, prefix: str = "", delimiter: str = "", key_marker: str = "",
                     upload_id_marker: str = "", max_uploads: int = 1000) -> Page[UploadRecord]:
        """Uploads by key then upload id, after (key_marker, upload_id_marker); without an upload id
        marker, every upload of `key_marker` itself is skipped too."""
        self.get_bucket(bucket)
        prefix_bytes = prefix.encode("utf-8")
        return grouped_scan(
            scan=lambda cursor, limit: self.metadata.list_uploads(bucket, prefix_bytes, *cursor, limit),
            key_of=lambda upload: upload.key,
            cursor_after=lambda upload: (upload.key.encode("utf-8"), upload.upload_id),
            cursor_past_prefix=lambda common: (_past_prefix(common), _AFTER_ANY_UPLOAD_ID),
            start=(key_marker.encode("utf-8"), upload_id_marker or _AFTER_ANY_UPLOAD_ID),
            prefix=prefix, delimiter=delimiter, marker=key_marker, max_items=max_uploads,
        )

# Sorts after every upload id (they are hex), so a cursor at (key, this) has passed all of key's uploads.
_AFTER_ANY_UPLOAD_ID = "\U0010ffff"
# Above every version's seq, so a cursor at (key, this) is before all of key's versions.
_AFTER_ANY_SEQ = (1 << 63) - 1
MIN_PART_SIZE = 100 * 1024


def _past_prefix(common_prefix: str) -> bytes:
    """A key cursor past every key starting with `common_prefix`: no UTF-8 key contains the byte 0xFF."""
    return common_prefix.encode("utf-8") + b"\xff"


def md5_etag(md5: bytes) -> str:
    return f'"{md5.hex().upper()}"'


def multipart_etag(parts: list[PartRecord]) -> str:
    digests = b"".join(bytes.fromhex(part.etag.strip('"')) for part in parts)
    return f'"{hashlib.md5(digests).hexdigest().upper()}-{len(parts)}"'


MAX_EXTENTS = 32
COMPACT_RUN = 4


def _readable(record: ObjectRecord | None, key: str, version_id: str | None) -> ObjectRecord:
    """`record`, unless it has nothing to read: no such key or version, or a delete marker."""
    if record is None:
        raise ObjectNotFound(key) if version_id is None else VersionNotFound(key, version_id)
    if record.delete_marker:
        raise ObjectNotFound(key, record.version_id) if version_id is None else IsDeleteMarker(key, version_id)
    return record


def _check_append(current: ObjectRecord | None, key: str, position: int) -> None:
    if current is not None and current.object_type != "Appendable":
        raise ObjectNotAppendable(key)
    length = current.size if current is not None else 0
    if position != length:
        raise PositionMismatch(key, length)


def _appended_etag(etag: str, appended_md5: bytes) -> str:
    """A new strong validator after each append: the MD5 of the previous ETag's digest and the appended
    bytes' MD5 (the first append's ETag is the plain MD5 of its bytes)."""
    previous = bytes.fromhex(etag.strip('"').split("-")[0])
    return md5_etag(hashlib.md5(previous + appended_md5).digest())


def _normalized_etag(etag: str) -> str:
    return etag.strip().strip('"').upper()


@dataclass(frozen=True)
class Checksums:
    """What a completion claims: each part's checksum value by number, and the object's (None: not claimed)."""

    parts: dict[int, str]
    whole: str | None = None

    def check(self, parts: list[PartRecord], made: Checksum | None, key: str) -> None:
        """Each claim that can be judged must hold: a part copied from another object's bytes has no checksum,
        and neither has an object made of such a part."""
        for part in parts:
            given = self.parts.get(part.part_number)
            if given is not None and part.checksum is not None and part.checksum.value != given:
                raise InvalidPart(part.part_number)
        if self.whole is not None and made is not None and made.value != self.whole:
            raise ChecksumMismatch(key)


def _multipart_checksum(wanted: Checksum, parts: list[PartRecord]) -> Checksum | None:
    """The object's checksum of the kind its upload asked for, from its parts' (none if a part has none: one
    copied from another object's bytes): FULL_OBJECT, their CRCs combined; COMPOSITE, the checksum of their
    checksums."""
    values = [part.checksum.value for part in parts if part.checksum is not None]
    if len(values) != len(parts):
        return None
    if wanted.type == "FULL_OBJECT":
        return replace(wanted, value=checksums.combine(wanted.algorithm, [(v, p.size) for v, p in zip(values, parts)]))
    return replace(wanted, value=checksums.composite(wanted.algorithm, values))


def _select_parts(parts: list[PartRecord], chosen: list[tuple[int, str]] | None) -> list[PartRecord]:
    """The parts a completion names, checked: known part with a matching ETag, strictly ascending
    numbers, and every part but the last at least MIN_PART_SIZE bytes."""
    if chosen is None:
        selected = parts
    else:
        by_number = {part.part_number: part for part in parts}
        selected = []
        previous = 0
        for number, etag in chosen:
            if number <= previous:
                raise InvalidPartOrder(number)
            part = by_number.get(number)
            if part is None or _normalized_etag(etag) != _normalized_etag(part.etag):
                raise InvalidPart(number)
            selected.append(part)
            previous = number
    if not selected:
        raise InvalidPart(0)
    for part in selected[:-1]:
        if part.size < MIN_PART_SIZE:
            raise PartTooSmall(part.part_number)
    return selected
