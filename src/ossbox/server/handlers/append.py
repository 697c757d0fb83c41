"""AppendObject: `POST /b/k?append&position=N`, for objects written in pieces (logs)."""

from __future__ import annotations

from aiohttp import web

from ...protocol.errors import OssError
from ...protocol.names import check_object_key
from ...storage.errors import ObjectNotAppendable, PositionMismatch
from ..context import Call
from ..responses import empty_response
from .common import int_param
from .objects import MAX_OBJECT_SIZE, receive_blob, stored_attributes, write_response_headers


async def handle_append_object(call: Call) -> web.StreamResponse:
    check_object_key(call.key)
    position = int_param(call.param("position"), "position", -1, 0, MAX_OBJECT_SIZE)
    if position < 0:
        raise OssError("InvalidArgument", "AppendObject needs a position.", ArgumentName="position")
    bucket = await call.storage.get_bucket(call.bucket)
    # Metadata, ACL and tags count on the first append only; later appends ignore them, even invalid ones.
    attributes = stored_attributes(call, bucket.storage_class) if position == 0 else {}
    blob = await receive_blob(call, limit=MAX_OBJECT_SIZE - position)  # a chunked body too
    try:
        record = await call.storage.append_object(call.bucket, call.key, position, blob, call.permit(),
                                                  **attributes)
    except PositionMismatch as mismatch:
        raise OssError("PositionNotEqualToLength", "Position is not equal to file length.",
                       headers={"x-oss-next-append-position": str(mismatch.next_position)}) from None
    except ObjectNotAppendable:
        raise OssError("ObjectNotAppendable", "The object is not appendable.") from None
    headers = write_response_headers(record)
    headers["x-oss-next-append-position"] = str(record.size)
    return empty_response(headers=headers)
