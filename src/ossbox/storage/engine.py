"""The storage engine: metadata plus blob files behind the few calls the server makes.

Strategy: a write streams into a new blob (`new_blob()`), which the caller commits with
`commit_object()`: one metadata transaction swaps the object's blobs, and only after it are the old
blobs unlinked. `open_object()` returns a snapshot holding open files, so a reader keeps a consistent
old version even if the object is overwritten or deleted while it streams. Methods block (fsync,
SQLite); the server runs the slow ones in threads.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

from .blobs import BlobStore, BlobWriter
from .errors import BucketNotFound, ObjectNotFound
from .records import BlobInfo, BucketRecord, ClassUsage, Extent, Listing, ObjectRecord
from .sqlite import SqliteMetadata

__all__ = ["Storage", "ObjectSnapshot"]

# How often open_object() retries when a blob vanishes between reading metadata and opening it.
_OPEN_RETRIES = 5


@dataclass
class ObjectSnapshot:
    """An object's metadata and its blob files, opened together: a consistent version to read."""

    record: ObjectRecord
    files: list  # one open binary file per extent

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

    def list_buckets(self, prefix: str = "", marker: str = "", max_keys: int = 100) -> tuple[list[BucketRecord], bool]:
        rows = self.metadata.list_buckets(prefix, marker, max_keys + 1)
        return rows[:max_keys], len(rows) > max_keys

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

    # ---- reading objects ----

    def head_object(self, bucket: str, key: str) -> ObjectRecord:
        record = self.metadata.get_object(bucket, key)
        if record is None:
            self.get_bucket(bucket)
            raise ObjectNotFound(key)
        return record

    def open_object(self, bucket: str, key: str) -> ObjectSnapshot:
        for _ in range(_OPEN_RETRIES):
            record = self.head_object(bucket, key)
            files = []
            try:
                for extent in record.extents:
                    files.append(self.blobs.open(extent.blob_id))
            except FileNotFoundError:  # overwritten or deleted meanwhile: read the new version
                for file in files:
                    file.close()
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
        after = marker.encode("utf-8")
        objects: list[ObjectRecord] = []
        prefixes: list[str] = []
        last: str | None = None
        batch = min(max_keys, 1000) + 1
        while True:
            rows = self.metadata.scan_objects(bucket, after, prefix_bytes, batch)
            if not rows:
                return Listing(objects, prefixes, False, None)
            for row in rows:
                cut = row.key.find(delimiter, len(prefix)) if delimiter else -1
                common = row.key[: cut + len(delimiter)] if cut >= 0 else None
                listed = common is None or common.encode("utf-8") > marker.encode("utf-8")
                if listed and len(objects) + len(prefixes) == max_keys:
                    return Listing(objects, prefixes, True, last)
                if common is None:
                    objects.append(row)
                    last = row.key
                    after = row.key.encode("utf-8")
                    continue
                if listed:
                    prefixes.append(common)
                    last = common
                # Skip every key under this common prefix: no UTF-8 key contains the byte 0xFF.
                after = common.encode("utf-8") + b"\xff"
                break

