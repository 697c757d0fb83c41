"""AppendObject: objects written in pieces (logs), each append a compare-and-swap on the object's length."""

from __future__ import annotations

from dataclasses import dataclass

from ...protocol.names import check_object_key
from ...storage.errors import IsDeleteMarker, ObjectNotFound
from ...storage.records import ObjectRecord
from .context import Context
from .encryption import write_encryption
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
    current = await _current(context, request)
    if current is None and request.attributes is not None:  # the first append: its encryption is the object's
        encryption = write_encryption(context, request.attributes.encryption, bucket)
        fields = request.attributes.record_fields(bucket.storage_class, encryption)
    else:  # the others (at 0 too, to an empty object) take the object's; storage checks it still is, under
        fields = {}  # the compare-and-swap, and a PositionNotEqualToLength sends the client to look again
        encryption = current.encryption if current is not None else None
    blob = await receive_blob(context, request.upload, limit=MAX_OBJECT_SIZE - request.position,
                              encrypted=encryption is not None)
    # PositionMismatch (with the length to append at) and ObjectNotAppendable are the codec's to render
    return await context.storage.append_object(request.bucket, request.key, request.position, blob,
                                               context.permit(), encryption is not None, **fields)


async def _current(context: Context, request: AppendRequest) -> ObjectRecord | None:
    try:
        return await context.storage.head_object(request.bucket, request.key)
    except (ObjectNotFound, IsDeleteMarker):
        return None
