"""ListObjects and ListObjectsV2: one listing, read with the bucket's ACL judged for the caller."""

from __future__ import annotations

from dataclasses import dataclass

from ...storage.records import Listing
from .context import Context

__all__ = ["ListObjectsRequest", "list_objects", "MAX_KEYS"]

MAX_KEYS = 1000


@dataclass(frozen=True)
class ListObjectsRequest:
    bucket: str
    prefix: str = ""
    delimiter: str = ""
    marker: str = ""  # list after this key (v1's marker, v2's start-after or continuation token)
    max_keys: int = 100


async def list_objects(context: Context, request: ListObjectsRequest) -> Listing:
    return await context.storage.list_objects(request.bucket, request.prefix, request.delimiter, request.marker,
                                              request.max_keys, context.permit())
