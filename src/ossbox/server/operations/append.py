"""AppendObject: objects written in pieces (logs), each append a compare-and-swap on the object's length."""

from __future__ import annotations

from dataclasses import dataclass

from ...protocol.names import check_object_key
from ...storage.records import ObjectRecord
from .context import Context
from .values import MAX_OBJECT_SIZE, Attributes, Upload, receive_blob

__all__ = ["AppendRequest", "append_object"]


@dataclass
class AppendRequest:
    bucket: str
    key: str
    position: int
    attributes: Attributes | None  # only the first append (position 0) sets them
    upload: Upload


async def append_object(context: Context, request: AppendRequest) -> ObjectRecord:
    check_object_key(request.key)
    bucket = await context.storage.get_bucket(request.bucket)
    fields = request.attributes.record_fields(bucket.storage_class) if request.attributes else {}
    blob = await receive_blob(context, request.upload, limit=MAX_OBJECT_SIZE - request.position)
    # PositionMismatch (with the length to append at) and ObjectNotAppendable are the codec's to render
    return await context.storage.append_object(request.bucket, request.key, request.position, blob,
                                               context.permit(), **fields)
