"""The values storage deals in: buckets, objects and the blob extents an object's bytes live in."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["ListedObject", "DEFAULT_CONTENT_TYPE", "NULL_VERSION", "ENABLED", "SUSPENDED", "new_version_id", "version_seq",
           "is_version_id", "STORAGE_CLASSES", "ARCHIVE_CLASSES", "Restore", "Encryption", "Checksum",
           "BucketRecord", "Extent", "ObjectRecord", "BlobInfo", "Listing", "ClassUsage", "UploadRecord", "PartRecord",
           "Deletion", "Permit", "Gate"]


DEFAULT_CONTENT_TYPE = "application/octet-stream"
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
# Classes whose objects are frozen: their bytes can be read only once restored (RestoreObject).
ARCHIVE_CLASSES = frozenset({"Archive", "ColdArchive", "DeepColdArchive"})
# A bucket's versioning: None until it is first set, then one of these (it never goes back to None).
ENABLED, SUSPENDED = "Enabled", "Suspended"
# The version id of a key's one version in a bucket whose versioning was never enabled, and of the version a
# write makes while it is suspended.
NULL_VERSION = "null"
# What OSS's version ids start with. The rest is ours: 30 bytes in URL-safe base64, the version's place among
# its key's versions (`seq`, 8 bytes) then 22 random ones. A listing's version-id marker so names a place
# even once that version is deleted (as a client emptying a bucket page by page does).
_VERSION_PREFIX = "CAEQ"
_VERSION_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_version_id(seq: int) -> str:
    return _VERSION_PREFIX + base64.urlsafe_b64encode(seq.to_bytes(8, "big") + secrets.token_bytes(22)).decode()


def version_seq(version_id: str) -> int | None:
    """The place among its key's versions that a version id made by new_version_id() names; None for "null"
    or anything else."""
    if not is_version_id(version_id) or version_id == NULL_VERSION:
        return None
    try:
        return int.from_bytes(base64.urlsafe_b64decode(version_id[len(_VERSION_PREFIX):])[:8], "big")
    except (binascii.Error, ValueError):
        return None


def is_version_id(text: str) -> bool:
    """Whether `text` could name a version: "null", or an id as new_version_id() makes them."""
    return text == NULL_VERSION or (len(text) == 44 and text.startswith(_VERSION_PREFIX)
                                    and _VERSION_ALPHABET.issuperset(text))


@dataclass(frozen=True)
class BucketRecord:
    name: str
    created: int
    location: str
    acl: str = "private"
    storage_class: str = "Standard"
    tags: dict[str, str] = field(default_factory=dict)
    versioning: str | None = None  # None: never set; else ENABLED or SUSPENDED
    # Configurations (lifecycle, CORS, ...) by name, each a JSON value that its operation module reads
    configs: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Extent:
    """`length` bytes from the start of blob `blob_id`. An object is its extents, concatenated."""

    blob_id: str
    length: int


@dataclass(frozen=True)
class BlobInfo:
    """A finished, durable blob not yet referenced by any object."""

    blob_id: str
    size: int
    md5: bytes
    crc64: int


@dataclass(frozen=True)
class Encryption:
    """Server-side encryption of a version's bytes at rest. Whatever the algorithm named (AES256, KMS or
    SM4, as the client asked), ossbox encrypts with AES-256 under the data directory's key; the names are
    kept and answered as the cloud answers them."""

    algorithm: str
    kms_key_id: str | None = None  # KMS only
    data_algorithm: str | None = None  # KMS only: x-oss-server-side-data-encryption (SM4)


@dataclass(frozen=True)
class Restore:
    """A restore of a frozen object: under way until `ready_at`, then readable until `expires_at` (epoch
    seconds), after which the object is frozen again. `tier` is the priority asked for, if any."""

    ready_at: float
    expires_at: float
    tier: str | None = None

    def ongoing(self, now: float) -> bool:
        return now < self.ready_at

    def readable(self, now: float) -> bool:
        return self.ready_at <= now < self.expires_at


@dataclass(frozen=True)
class Checksum:
    """An S3 additional checksum of a version's (or a part's) bytes, as S3 writes it (base64); a multipart
    object's is FULL_OBJECT (of all its bytes) or COMPOSITE (of its parts' checksums, `-N` appended). An
    upload in progress holds the one its object will get with no value yet."""

    algorithm: str  # CRC32, CRC32C, CRC64NVME, SHA1 or SHA256
    value: str
    type: str = "FULL_OBJECT"


@dataclass(frozen=True)
class ObjectRecord:
    bucket: str
    key: str
    size: int
    etag: str  # quoted, uppercase hex, as sent on the wire
    crc64: int
    mtime: int  # epoch seconds
    extents: tuple[Extent, ...]
    content_type: str = DEFAULT_CONTENT_TYPE
    object_type: str = "Normal"
    storage_class: str = "Standard"
    acl: str = "default"
    headers: dict[str, str] = field(default_factory=dict)  # Cache-Control, Content-Disposition, ...
    user_meta: dict[str, str] = field(default_factory=dict)  # x-oss-meta-* name (lowercase) -> value
    tags: dict[str, str] = field(default_factory=dict)
    symlink_target: str | None = None  # the key a Symlink object points to
    version_id: str = NULL_VERSION
    latest: bool = True  # the key's current version (which a delete marker may be)
    delete_marker: bool = False
    seq: int = 0  # the version's place among its key's versions: the higher, the newer
    restore: Restore | None = None  # of a frozen (archived) version
    encryption: Encryption | None = None  # None: the blobs hold the bytes in the clear
    checksum: Checksum | None = None  # as an S3 client asked it to be checked and kept
    # As read or written, not stored: whether the bucket's versioning had been set, when OSS answers a null
    # version's id as `null` rather than not at all.
    in_versioned_bucket: bool = field(default=False, compare=False)

    def frozen(self, now: float) -> bool:
        """Whether the bytes cannot be read now: an archived version not (or no longer) restored."""
        return self.storage_class in ARCHIVE_CLASSES and not (self.restore and self.restore.readable(now))


@dataclass(frozen=True, slots=True)
class ListedObject:
    """What a listing shows of an object's current version: read without the rest of its record (its blobs,
    headers, metadata), which a page of a thousand would parse for nothing."""

    key: str
    size: int
    etag: str
    mtime: int
    object_type: str
    storage_class: str
    restore: Restore | None


@dataclass(frozen=True)
class Listing:
    objects: list[ListedObject]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str | None


@dataclass(frozen=True)
class ClassUsage:
    """What one storage class holds in a bucket."""

    count: int
    size: int
    last_modified: int


@dataclass(frozen=True)
class UploadRecord:
    """A multipart upload in progress; `attributes` are the ObjectRecord fields the object will get."""

    upload_id: str
    bucket: str
    key: str
    initiated: int
    attributes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PartRecord:
    part_number: int
    blob_id: str
    size: int
    etag: str  # quoted uppercase MD5 of the part
    crc64: int
    mtime: int
    checksum: Checksum | None = None  # the upload's S3 checksum algorithm, of this part's bytes


@dataclass(frozen=True)
class Deletion:
    """What deleting `key` (its current version, or `version_id`) did: `delete_marker` says a delete marker
    was made (`marker_version_id` is its id) or removed (then it is `version_id`); `refused` that the
    caller's permit refused it, and nothing changed."""

    key: str
    version_id: str | None = None
    delete_marker: bool = False
    marker_version_id: str | None = None
    refused: bool = False


# Whether a caller may act on an object, judged on its bucket's ACL (None: no such bucket) and the
# object's record (None: no such object). Storage applies it to the records it actually returns or replaces.
Permit = Callable[[str | None, ObjectRecord | None], bool]
# What a read's caller makes of the bucket read with the object (its referer rules and policy, say): given
# the bucket and the key, the permit to judge the record with (None: granted), or an error raised.
Gate = Callable[[BucketRecord, str, Permit | None], Permit | None]
