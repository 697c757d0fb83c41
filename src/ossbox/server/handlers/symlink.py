"""Symlinks: PutSymlink, GetSymlink, and reading an object through one."""

from __future__ import annotations

from urllib.parse import quote, unquote

from aiohttp import web

from ...protocol.dates import http_date
from ...protocol.errors import OssError
from ...protocol.names import check_object_key
from ..context import Call
from ..responses import empty_response
from .objects import USER_META_PREFIX, overwrite_allowed, stored_attributes


async def handle_put_symlink(call: Call) -> web.StreamResponse:
    check_object_key(call.key)
    target = unquote(call.headers.get("x-oss-symlink-target", ""))
    if not target:
        raise OssError("InvalidArgument", "PutSymlink needs x-oss-symlink-target.", ArgumentName="x-oss-symlink-target")
    check_object_key(target)
    bucket = await call.storage.get_bucket(call.bucket)
    attributes = stored_attributes(call, bucket.storage_class)
    record = await call.storage.put_symlink(call.bucket, call.key, target, overwrite_allowed(call), call.permit(),
                                            **attributes)
    return empty_response(headers={"ETag": record.etag})


async def handle_get_symlink(call: Call) -> web.StreamResponse:
    record = await call.storage.head_object(call.bucket, call.key, call.permit())
    if record.symlink_target is None:
        raise OssError("NotSymlink", "The specified object is not a symlink.", Key=call.key)
    headers = {
        "x-oss-symlink-target": quote(record.symlink_target, safe=""),
        "ETag": record.etag,
        "Last-Modified": http_date(record.mtime),
    }
    headers.update({USER_META_PREFIX + name: value for name, value in record.user_meta.items()})
    return empty_response(headers=headers)
