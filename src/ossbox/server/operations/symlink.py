"""Symlinks: PutSymlink and GetSymlink (reading an object through one is GetObject's)."""

from __future__ import annotations

from dataclasses import dataclass

from ...protocol.errors import OssError
from ...protocol.names import check_object_key
from ...storage.records import ObjectRecord
from .context import Context
from .values import Attributes, ObjectRef

__all__ = ["PutSymlinkRequest", "put_symlink", "get_symlink"]


@dataclass(frozen=True)
class PutSymlinkRequest:
    bucket: str
    key: str
    target: str
    attributes: Attributes
    overwrite: bool = True


async def put_symlink(context: Context, request: PutSymlinkRequest) -> ObjectRecord:
    check_object_key(request.key)
    check_object_key(request.target)
    bucket = await context.storage.get_bucket(request.bucket)
    return await context.storage.put_symlink(request.bucket, request.key, request.target, request.overwrite,
                                             context.permit(), **request.attributes.record_fields(bucket.storage_class))


async def get_symlink(context: Context, request: ObjectRef) -> ObjectRecord:
    record = await context.storage.head_object(request.bucket, request.key, context.permit(), request.version_id)
    if record.symlink_target is None:
        raise OssError("NotSymlink", "The specified object is not a symlink.", Key=request.key)
    return record
