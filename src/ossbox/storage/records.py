"""The values storage deals in: buckets, objects and the blob extents an object's bytes live in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DEFAULT_CONTENT_TYPE", "NULL_VERSION", "BucketRecord", "Extent", "ObjectRecord", "BlobInfo", "Listing",
           "ClassUsage", "UploadRecord", "PartRecord", "Permit"]


DEFAULT_CONTENT_TYPE = "application/octet-stream"
NULL_VERSION = "null"  # the version id of the one version of a key in a bucket without versioning


@dataclass(frozen=True)
class BucketRecord:
    name: str
    created: int
    location: str
    acl: str = "private"
    storage_class: str = "Standard"
    tags: dict[str, str] = field(default_factory=dict)
    versioning: str | None = None  # None: never enabled; "Enabled" or "Suspended"


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
    latest: bool = True
    delete_marker: bool = False


@dataclass(frozen=True)
class Listing:
    objects: list[ObjectRecord]
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


# Whether a caller may act on an object, judged on its bucket's ACL (None: no such bucket) and the
# object's record (None: no such object). Storage applies it to the records it actually returns or replaces.
Permit = Callable[[str | None, ObjectRecord | None], bool]
