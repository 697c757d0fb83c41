"""The metadata store: the one interface the engine, `ossbox check` and `ossbox metadata copy` use, whatever
the database behind it (SQLite in the data directory by default, PostgreSQL for several nodes).

The contract every backend keeps, and tests/contract checks against each:

Atomicity and isolation. Every method is one transaction. A mutation reads the rows it decides on under a
lock that lasts until it commits (SQLite: the database's single writer; PostgreSQL: `SELECT ... FOR
UPDATE` on the object or upload row and `FOR SHARE` on its bucket's), so each behaves as if mutations ran
one after the other: of two writes of one key, exactly one replaces the other's version, and a bucket
cannot be deleted while a write into it commits. Reads see committed data only; a read of one record is
consistent, a listing page is not a snapshot of the whole bucket. A transaction that meets a conflict or a
lost connection is retried whole, a bounded number of times (PostgreSQL), so the callbacks a method takes
(`permit`, `assemble`) must be pure. A transaction whose COMMIT got no answer is not retried blindly: the
backend asks whether it committed (PostgreSQL's `txid_status`), and reports its result if so, so that no
mutation is applied twice.

Compare-and-swap. `replace_object_if(record, expected)` replaces the object only if its current version
is still exactly `expected` (None: absent), else raises ObjectChanged with what it found: appends are
built on it. `put_object(record, overwrite=False)` is the swap "only if absent" (ObjectExists otherwise),
which is `x-oss-forbid-overwrite`. `permit(bucket_acl, current)` is judged inside the same transaction, on
the version being replaced or deleted.

Releasing blobs exactly once. The transaction that stops the last reference to a blob (an object version
replaced or deleted, a part replaced, left out of a completion or aborted) also releases it, once: either
by returning its id for the caller to unlink after the commit, or by recording it as released (the
`released_blobs` of a replaced version after its first blob, which a reader may still be on its way to),
for `claim_released()` to hand out once, to one caller, later. No blob id is released by two transactions.

Key order and cursors. Keys are compared as UTF-8 bytes. `scan_objects(bucket, after, prefix, limit)`
returns the latest version of each key that is greater than `after` (bytes, exclusive) and starts with
`prefix`, in that order: a listing resumes from the last key it returned, or skips a whole common prefix
by passing the prefix followed by 0xFF, which no UTF-8 key contains. `list_uploads` orders by key, then
upload id.

Versions. Every object row is a version: `version_id`, `latest` (a key has at most one current version,
which may be a delete marker), `delete_marker` and `seq` (its place among the key's versions, the higher
the newer). A write or a delete marker becomes the key's current version as its bucket's versioning
says: with none ever set it replaces the key's one version, "null"; Enabled, it gets a new version id and
the previous current version stays; Suspended, it is the "null" version, replacing any earlier one, and
the others stay. Deleting a given version removes it for good, and if it was current the newest left
takes its place. Listings see the current versions that are not delete markers; `list_versions` all of
them. Rows carry a record format number, and each backend applies its schema migrations, in order, when
it opens the store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from .records import BucketRecord, ClassUsage, Deletion, ListedObject, ObjectRecord, PartRecord, Permit, UploadRecord

__all__ = ["MetadataStore", "open_metadata", "default_metadata_url", "copy_metadata", "MetadataUnavailable",
           "SchemaMismatch"]

Assemble = Callable[[UploadRecord, list[PartRecord]], ObjectRecord]


class MetadataUnavailable(Exception):
    """The database cannot be reached or opened (or did not answer in time): the request may be retried
    later, once whatever stands in the way is fixed."""


class SchemaMismatch(Exception):
    """The database's schema is not the one this ossbox reads (newer, or older and opened read-only)."""


class MetadataStore(Protocol):
    # ---- lifecycle ----
    def close(self) -> None: ...

    def change_marker(self) -> object | None:
        """A value that stays the same while nothing is committed to the store, by any process, and differs
        once anything is: comparable with this store object's earlier markers only. Cheap enough for the event
        loop (no waiting, no disk). None when the backend cannot tell at once (PostgreSQL: other nodes' commits
        reach a node late); then nothing read may be remembered across requests."""

    # ---- buckets ----
    def create_bucket(self, record: BucketRecord) -> None:
        """BucketExists if the name is taken."""

    def delete_bucket(self, name: str, discard_uploads: bool = False) -> list[str]:
        """BucketNotFound, or BucketNotEmpty while it holds objects, or uploads unless `discard_uploads` (then
        they go with it, in the same transaction). The blob ids of the discarded parts, to unlink now."""

    def get_bucket(self, name: str) -> BucketRecord | None: ...

    def list_buckets(self, prefix: str, marker: str, limit: int) -> list[BucketRecord]:
        """Buckets named after `marker` and starting with `prefix`, by name."""

    def update_bucket(self, name: str, *, acl: str | None = None, tags: dict[str, str] | None = None,
                      versioning: str | None = None, configs: dict[str, object] | None = None) -> None:
        """Change what is given; `configs` sets each named configuration to its value (None: removes it)
        and leaves the others as they are."""

    def bucket_usage(self, name: str) -> dict[str, ClassUsage]:
        """Object count, bytes and newest mtime per storage class (latest versions)."""

    def upload_count(self, bucket: str) -> int: ...

    # ---- objects: a key's current version, or the one `version_id` names ----
    def get_object(self, bucket: str, key: str, version_id: str | None = None) -> ObjectRecord | None:
        """The version (a delete marker included); None if there is none."""

    def get_bucket_and_object(self, bucket: str, key: str, version_id: str | None = None
                              ) -> tuple[BucketRecord | None, ObjectRecord | None]:
        """The bucket and the version, as get_bucket and get_object, in one read; None for either that does
        not exist."""

    def put_object(self, record: ObjectRecord, overwrite: bool = True, permit: Permit | None = None
                   ) -> tuple[ObjectRecord, list[str]]:
        """Make `record` the key's current version (its version id, latest and seq are the store's to set);
        the version as stored, and the blob ids to unlink now. BucketNotFound, AccessRefused, ObjectExists
        (`overwrite` has no effect under versioning, as in OSS)."""

    def replace_object_if(self, record: ObjectRecord, expected: ObjectRecord | None
                          ) -> tuple[ObjectRecord, list[str]]:
        """The compare-and-swap of appends: the current version, if still exactly `expected`, changed in place
        (None: a new version); as put_object returns. ObjectChanged if the key's current version is not
        `expected`."""

    def update_object(self, bucket: str, key: str, version_id: str | None,
                      change: Callable[[ObjectRecord], dict], permit: Permit | None = None) -> ObjectRecord | None:
        """Change a version's `acl`, `tags`, `restore` and/or `storage_class` (never its bytes) to what `change(version)` gives,
        judged on the version as read under the transaction's lock (`change` may raise, to refuse; it must
        be pure), once `permit` has accepted it (AccessRefused). The version as it was; None if there is
        none; a delete marker is returned unchanged."""

    def delete_objects(self, bucket: str, targets: list[tuple[str, str | None]], permit: Permit | None = None
                       ) -> tuple[list[Deletion], list[str]]:
        """Delete each (key, version id or None for the current version) that `permit` accepts: under
        versioning, without a version id, by a delete marker. What each did, and the blob ids to unlink now."""

    def scan_objects(self, bucket: str, after: bytes, prefix: bytes, limit: int) -> list[ListedObject]:
        """Current versions, not delete markers, of keys after `after` and starting with `prefix`."""

    def scan_grouped(self, bucket: str, after: bytes, prefix: bytes, delimiter: bytes, limit: int
                     ) -> list[ListedObject]:
        """scan_objects' rows, but of each common prefix (a key's bytes after `prefix` up to and including
        `delimiter`) only its first key."""

    def list_versions(self, bucket: str, prefix: bytes, after_key: bytes, below_seq: int | None,
                      limit: int) -> list[ObjectRecord]:
        """Every version and delete marker of keys starting with `prefix`, by key then newest first: those
        of `after_key` older than `below_seq` (None: none of them), then those of the keys after it."""

    # ---- multipart uploads ----
    def create_upload(self, upload: UploadRecord) -> None: ...

    def get_upload(self, upload_id: str) -> UploadRecord | None: ...

    def put_part(self, upload_id: str, part: PartRecord) -> list[str]:
        """Record a part, replacing one with its number; the replaced part's blob id. UploadNotFound."""

    def list_parts(self, upload_id: str, after: int = 0, limit: int = 10000) -> list[PartRecord]: ...

    def complete_upload(self, upload_id: str, assemble: Assemble, overwrite: bool = True,
                        permit: Permit | None = None) -> tuple[ObjectRecord, list[str]]:
        """Turn the upload into the object `assemble(upload, parts)` builds, in one transaction; the blob
        ids to unlink now (the replaced version's first, the parts left out). UploadNotFound."""

    def delete_upload(self, upload_id: str) -> list[str]:
        """Abort; its parts' blob ids. UploadNotFound."""

    def list_uploads(self, bucket: str, prefix: bytes, key_marker: bytes, upload_id_marker: str,
                     limit: int) -> list[UploadRecord]: ...

    # ---- blobs ----
    def claim_released(self, before: float) -> list[str]:
        """Forget the blobs released before `before` (epoch seconds) and return them, to be unlinked."""

    def referenced_blob_ids(self) -> set[str]:
        """Every blob id an object version, a part or a pending release refers to."""

    # ---- coordination between nodes ----
    def claim_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Whether `holder` now holds the lease `name` for `seconds`: taken if nobody holds it or it
        expired, renewed if `holder` held it; False while another holder's lease runs. Background work that
        one node at a time must do (the orphan sweep) runs under one."""

    # ---- the whole store, for `ossbox check` and `ossbox metadata copy` ----
    def iter_buckets(self) -> Iterator[BucketRecord]: ...

    def iter_objects(self) -> Iterator[ObjectRecord]:
        """Every object version, by bucket and key."""

    def iter_uploads(self) -> Iterator[UploadRecord]: ...

    def iter_parts(self) -> Iterator[tuple[str, PartRecord]]:
        """(upload id, part) for every part, by upload and number."""

    def iter_released(self) -> Iterator[tuple[str, float]]: ...

    def load(self, buckets: Iterable[BucketRecord], objects: Iterable[ObjectRecord], uploads: Iterable[UploadRecord],
             parts: Iterable[tuple[str, PartRecord]], released: Iterable[tuple[str, float]]) -> None:
        """Insert everything given, as is, into an empty store (`ossbox metadata copy`)."""

    def is_empty(self) -> bool: ...


def default_metadata_url(data_dir: str) -> str:
    """The embedded default: SQLite, `metadata.sqlite3` in the data directory."""
    return "sqlite://" + os.path.abspath(os.path.join(data_dir, "metadata.sqlite3"))


def open_metadata(url: str, *, defer_release: bool = True, read_only: bool = False,
                  migrate: bool = True) -> MetadataStore:
    """The store at `url`: `sqlite:///abs/path` or `postgresql://user@host:port/db`. Migrates its schema to
    this version's (not with `read_only`, which refuses a store that would need it). Without `migrate` the
    schema is taken to be current already, and a PostgreSQL store opens even while the server is unreachable
    (a server's workers: their requests answer 503 until it is back)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        from .sqlite import SqliteMetadata

        path = "/" + url[len("sqlite://"):].lstrip("/")  # sqlite:///abs/path, or SQLAlchemy's sqlite:////abs/path
        try:
            return SqliteMetadata(path, defer_release=defer_release, read_only=read_only)
        except sqlite3.Error as error:  # not a database, a corrupt one, a full disk...
            raise MetadataUnavailable(f"{path}: {error}") from error
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresMetadata

        return PostgresMetadata(url, defer_release=defer_release, read_only=read_only, migrate=migrate)
    raise ValueError(f"unsupported metadata URL {url!r}: use sqlite:///ABSOLUTE/PATH or postgresql://USER@HOST/DB")


def copy_metadata(source: MetadataStore, target: MetadataStore) -> dict[str, int]:
    """Copy everything from `source` into the empty `target`; returns what was copied, by kind."""
    if not target.is_empty():
        raise ValueError("the target metadata store is not empty")
    counts = {"buckets": 0, "objects": 0, "uploads": 0, "parts": 0, "released": 0}

    def counted(kind: str, items: Iterable):
        for item in items:
            counts[kind] += 1
            yield item

    target.load(counted("buckets", source.iter_buckets()), counted("objects", source.iter_objects()),
                counted("uploads", source.iter_uploads()), counted("parts", source.iter_parts()),
                counted("released", source.iter_released()))
    return counts
