"""Versioning: PutBucketVersioning, GetBucketVersioning and ListObjectVersions. (Reading, copying,
tagging or deleting one version is the object operations', with a version id.)"""

from __future__ import annotations

from dataclasses import dataclass

from ...storage.listing import Page
from ...storage.records import ObjectRecord
from .context import Context
from .values import BucketRef

__all__ = ["BucketVersioning", "ListVersionsRequest", "put_bucket_versioning", "get_bucket_versioning",
           "list_object_versions"]


@dataclass(frozen=True)
class BucketVersioning:
    bucket: str
    status: str  # records.ENABLED or records.SUSPENDED


@dataclass(frozen=True)
class ListVersionsRequest:
    bucket: str
    prefix: str = ""
    delimiter: str = ""
    key_marker: str = ""
    version_marker: str = ""
    max_keys: int = 100


async def put_bucket_versioning(context: Context, request: BucketVersioning) -> None:
    await context.storage.update_bucket(request.bucket, versioning=request.status)


async def get_bucket_versioning(context: Context, request: BucketRef) -> str | None:
    """The bucket's versioning status; None if it was never set."""
    return (await context.storage.get_bucket(request.bucket)).versioning


async def list_object_versions(context: Context, request: ListVersionsRequest) -> Page[ObjectRecord]:
    return await context.storage.list_versions(request.bucket, request.prefix, request.delimiter,
                                               request.key_marker, request.version_marker, request.max_keys,
                                               context.permit())
