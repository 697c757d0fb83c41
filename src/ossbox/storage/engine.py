"""The storage engine: metadata plus blob files behind the few calls the server makes.

Strategy: a write streams into a new blob (`new_blob()`), which the caller commits with
`commit_object()`: one metadata transaction swaps the object's blobs, and only after it are the old
blobs unlinked. `open_object()` returns a snapshot holding open files, so a reader keeps a consistent
old version even if the object is overwritten or deleted while it streams. Methods block (fsync,
SQLite); the server runs the slow ones in threads.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import time
from dataclasses import dataclass, replace

from ..protocol.crc64 import crc64_combine
from .blobs import BlobStore, BlobWriter
from .errors import (BucketNotFound, InvalidPart, InvalidPartOrder, ObjectChanged, ObjectNotAppendable,
                     ObjectNotFound, PartTooSmall, PositionMismatch, UploadNotFound)
from .listing import Page, grouped_scan
from .records import BlobInfo, BucketRecord, ClassUsage, Extent, Listing, ObjectRecord, PartRecord, UploadRecord
from .sqlite import SqliteMetadata

__all__ = ["Storage", "ObjectSnapshot", "MIN_PART_SIZE", "MAX_EXTENTS", "md5_etag", "multipart_etag"]

# How often open_object() retries when a blob vanishes between reading metadata and opening it.
_OPEN_RETRIES = 5


@dataclass
class ObjectSnapshot:
    """An object's metadata and its blob files, opened together: a consistent version to read."""

    record: ObjectRecord
    files: list  # one open binary file per extent

    def pieces(self, first: int, length: int):
        """(file, offset, count) for each extent that bytes first..first+length-1 cover."""
        position, remaining = 0, length
        for file, extent in zip(self.files, self.record.extents):
            end = position + extent.length
            if remaining and first < end:
                offset = max(first - position, 0)
                count = min(extent.length - offset, remaining)
                yield file, offset, count
                remaining -= count
            position = end

    def close(self) -> None:
        for file in self.files:
            file.close()

    def __enter__(self) -> ObjectSnapshot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Storage:
    def __init__(self, data_dir: str, location: str = "oss-cn-hangzhou") -> None:
        os.makedirs(data_dir, exist_ok=True)
        self.location = location
        self.blobs = BlobStore(data_dir)
        self.metadata = SqliteMetadata(os.path.join(data_dir, "metadata.sqlite3"))

    def close(self) -> None:
        self.metadata.close()

    def sweep_orphans(self) -> int:
        """Remove blobs no object refers to (left by a crash); call only while nothing is writing."""
        return self.blobs.sweep(self.metadata.referenced_blob_ids())

    # ---- buckets ----

    def create_bucket(self, name: str, acl: str = "private", storage_class: str = "Standard") -> BucketRecord:
        record = BucketRecord(name, int(time.time()), self.location, acl, storage_class)
        self.metadata.create_bucket(record)
        return record

    def delete_bucket(self, name: str) -> None:
        self.metadata.delete_bucket(name)

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

    # ---- writing objects ----

    def new_blob(self) -> BlobWriter:
        return self.blobs.create()

    def commit_object(self, bucket: str, key: str, blob: BlobInfo, etag: str, overwrite: bool = True,
                      **attributes) -> ObjectRecord:
        """Make `blob` the content of bucket/key; `attributes` are the other ObjectRecord fields.
        With `overwrite` false an existing key raises ObjectExists (and the blob is dropped)."""
        record = ObjectRecord(
            bucket=bucket, key=key, size=blob.size, etag=etag, crc64=blob.crc64, mtime=int(time.time()),
            extents=(Extent(blob.blob_id, blob.size),), **attributes,
        )
        return self._swap_in(record, overwrite)

    def discard_blob(self, blob: BlobInfo) -> None:
        self.blobs.delete([blob.blob_id])

    def _swap_in(self, record: ObjectRecord, overwrite: bool) -> ObjectRecord:
        try:
            released = self.metadata.put_object(record, overwrite)
        except BaseException:
            self.blobs.delete(e.blob_id for e in record.extents)
            raise
        self.blobs.delete(released)
        return record

    def copy_object(self, source: ObjectSnapshot, bucket: str, key: str, overwrite: bool = True,
                    **attributes) -> ObjectRecord:
        """A new object with the bytes, ETag and CRC64 of `source`, copied in the kernel."""
        self.get_bucket(bucket)
        blob_id, size = self.blobs.copy(
            (file.fileno(), extent.length) for file, extent in zip(source.files, source.record.extents)
        )
        record = replace(
            source.record, bucket=bucket, key=key, mtime=int(time.time()), extents=(Extent(blob_id, size),),
            **attributes,
        )
        return self._swap_in(record, overwrite)

    def copy_range_to_blob(self, source: ObjectSnapshot, first: int, length: int) -> BlobInfo:
        """A new blob holding bytes first..first+length-1 of `source`, hashed as it is written."""
        writer = self.blobs.create()
        try:
            for file, offset, count in source.pieces(first, length):
                end = offset + count
                while offset < end:
                    chunk = os.pread(file.fileno(), min(_COPY_CHUNK, end - offset), offset)
                    if not chunk:
                        raise OSError("blob shorter than its recorded length")
                    writer.write(chunk)
                    offset += len(chunk)
            return writer.commit()
        except BaseException:
            writer.abort()
            raise

    def append_object(self, bucket: str, key: str, position: int, blob: BlobInfo, **attributes) -> ObjectRecord:
        """Append `blob` to an Appendable object at `position` (0 creates it, with `attributes`).

        The append is a compare-and-swap on the object's version: if another append or a write got there
        first, this one fails with PositionMismatch and leaves nothing behind. A reader that opened the
        object earlier keeps seeing only the bytes it started with: blobs are never modified."""
        merged: str | None = None
        try:
            current = self.metadata.get_object(bucket, key)
            if current is None:
                self.get_bucket(bucket)
            _check_append(current, key, position)
            now = int(time.time())
            if current is None:
                record = ObjectRecord(
                    bucket=bucket, key=key, size=blob.size, etag=md5_etag(blob.md5), crc64=blob.crc64, mtime=now,
                    extents=(Extent(blob.blob_id, blob.size),), **{**attributes, "object_type": "Appendable"},
                )
            else:
                try:
                    extents, merged = self._compact(current.extents + (Extent(blob.blob_id, blob.size),))
                except FileNotFoundError:
                    latest = self.metadata.get_object(bucket, key)
                    if latest == current:  # a blob really is missing
                        raise
                    raise ObjectChanged(latest) from None  # a concurrent append compacted these extents
                record = replace(
                    current, size=current.size + blob.size, etag=_appended_etag(current.etag, blob.md5),
                    crc64=crc64_combine(current.crc64, blob.crc64, blob.size), mtime=now, extents=extents,
                )
            released = self.metadata.replace_object_if(record, current)
        except BaseException as error:
            self.blobs.delete([blob.blob_id] + ([merged] if merged else []))
            if isinstance(error, ObjectChanged):
                raise PositionMismatch(key, error.current.size if error.current else 0) from None
            raise
        if all(extent.blob_id != blob.blob_id for extent in record.extents):
            released.append(blob.blob_id)  # compaction copied the appended bytes into the merged blob
        self.blobs.delete(released)
        return record

    def _compact(self, extents: tuple[Extent, ...]) -> tuple[tuple[Extent, ...], str | None]:
        """Keep an appended object's extents (one blob each, one open file per reader) few: past
        MAX_EXTENTS, the adjacent run of COMPACT_RUN extents with the fewest bytes is copied (in the
        kernel) into one new blob. Returns the extents and the new blob's id, if any."""
        if len(extents) <= MAX_EXTENTS:
            return extents, None
        sizes = [sum(e.length for e in extents[i:i + COMPACT_RUN]) for i in range(len(extents) - COMPACT_RUN + 1)]
        start = min(range(len(sizes)), key=lambda i: (sizes[i], -i))
        run = extents[start:start + COMPACT_RUN]
        files = [self.blobs.open(extent.blob_id) for extent in run]
        try:
            blob_id, size = self.blobs.copy((file.fileno(), extent.length) for file, extent in zip(files, run))
        finally:
            for file in files:
                file.close()
        return extents[:start] + (Extent(blob_id, size),) + extents[start + COMPACT_RUN:], blob_id

    def put_symlink(self, bucket: str, key: str, target: str, overwrite: bool = True, **attributes) -> ObjectRecord:
        record = ObjectRecord(
            bucket=bucket, key=key, size=0, etag=md5_etag(hashlib.md5(target.encode("utf-8")).digest()), crc64=0,
            mtime=int(time.time()), extents=(), symlink_target=target, **{**attributes, "object_type": "Symlink"},
        )
        return self._swap_in(record, overwrite)

    def update_bucket(self, name: str, **changes) -> None:
        """Change a bucket's `acl` and/or `tags`."""
        self.metadata.update_bucket(name, **changes)

    def update_object(self, bucket: str, key: str, **changes) -> None:
        """Change an object's `acl` and/or `tags`, not its bytes."""
        if not self.metadata.update_object(bucket, key, **changes):
            raise ObjectNotFound(key)

    # ---- reading objects ----

    def head_object(self, bucket: str, key: str) -> ObjectRecord:
        record = self.metadata.get_object(bucket, key)
        if record is None:
            self.get_bucket(bucket)
            raise ObjectNotFound(key)
        return record

    def open_object(self, bucket: str, key: str, record: ObjectRecord | None = None) -> ObjectSnapshot:
        """The object's current version, opened; `record`, if given, is its metadata just read."""
        for _ in range(_OPEN_RETRIES):
            record = record or self.head_object(bucket, key)
            files = []
            try:
                for extent in record.extents:
                    files.append(self.blobs.open(extent.blob_id))
            except FileNotFoundError:  # overwritten or deleted meanwhile: read the new version
                for file in files:
                    file.close()
                record = None
                continue
            return ObjectSnapshot(record, files)
        raise ObjectNotFound(key)

    # ---- deleting ----

    def delete_objects(self, bucket: str, keys: list[str]) -> None:
        self.blobs.delete(self.metadata.delete_objects(bucket, keys))

    # ---- listing ----

    def list_objects(self, bucket: str, prefix: str = "", delimiter: str = "", marker: str = "",
                     max_keys: int = 100) -> Listing:
        """Objects and common prefixes after `marker`, in UTF-8 byte order, at most `max_keys` in all.

        A common prefix is listed once, only if it sorts after `marker`; listing resumes after all its
        keys, so NextMarker may be a common prefix."""
        self.get_bucket(bucket)
        prefix_bytes = prefix.encode("utf-8")
        page = grouped_scan(
            scan=lambda after, limit: self.metadata.scan_objects(bucket, after, prefix_bytes, limit),
            key_of=lambda record: record.key,
            cursor_after=lambda record: record.key.encode("utf-8"),
            cursor_past_prefix=_past_prefix,
            start=marker.encode("utf-8"),
            prefix=prefix, delimiter=delimiter, marker=marker, max_items=max_keys,
        )
        last = page.last.key if isinstance(page.last, ObjectRecord) else page.last
        return Listing(page.rows, page.common_prefixes, page.is_truncated, last if page.is_truncated else None)

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

    def commit_part(self, bucket: str, key: str, upload_id: str, part_number: int, blob: BlobInfo) -> PartRecord:
        part = PartRecord(part_number, blob.blob_id, blob.size, md5_etag(blob.md5), blob.crc64, int(time.time()))
        try:
            self.get_upload(bucket, key, upload_id)
            released = self.metadata.put_part(upload_id, part)
        except BaseException:
            self.blobs.delete([blob.blob_id])
            raise
        self.blobs.delete(released)
        return part

    def list_parts(self, bucket: str, key: str, upload_id: str, after: int, limit: int) -> list[PartRecord]:
        self.get_upload(bucket, key, upload_id)
        return self.metadata.list_parts(upload_id, after, limit)

    def complete_upload(self, bucket: str, key: str, upload_id: str, chosen: list[tuple[int, str]] | None,
                        overwrite: bool = True) -> ObjectRecord:
        """Make the object from the parts `chosen` as (part number, ETag) in ascending order, or from
        every part when `chosen` is None. The parts' blobs become the object's extents: no byte is copied."""
        self.get_upload(bucket, key, upload_id)

        def assemble(upload: UploadRecord, parts: list[PartRecord]) -> ObjectRecord:
            selected = _select_parts(parts, chosen)
            return ObjectRecord(
                bucket=bucket, key=key, size=sum(p.size for p in selected), etag=multipart_etag(selected),
                crc64=functools.reduce(lambda crc, p: crc64_combine(crc, p.crc64, p.size), selected, 0),
                mtime=int(time.time()), extents=tuple(Extent(p.blob_id, p.size) for p in selected),
                **{"object_type": "Multipart", **upload.attributes},
            )

        record, released = self.metadata.complete_upload(upload_id, assemble, overwrite)
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


_COPY_CHUNK = 4 << 20
# Sorts after every upload id (they are hex), so a cursor at (key, this) has passed all of key's uploads.
_AFTER_ANY_UPLOAD_ID = "\U0010ffff"
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
