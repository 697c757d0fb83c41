"""AppendObject: objects written in pieces (logs), each append a compare-and-swap on the object's length."""

from __future__ import annotations

from dataclasses import dataclass

from ...protocol.names import check_object_key
from ...storage.errors import IsDeleteMarker, ObjectNotFound
from ...storage.records import Encryption, ObjectRecord
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
    if request.attributes is not None:  # the first append: its encryption is the object's
        encryption = write_encryption(context, request.attributes.encryption, bucket)
        fields = request.attributes.record_fields(bucket.storage_class, encryption)
    else:  # a later one takes the object's (storage checks it is still that, under the compare-and-swap)
        fields = {}
        encryption = await _current_encryption(context, request)
    blob = await receive_blob(context, request.upload, limit=MAX_OBJECT_SIZE - request.position,
                              encrypted=encryption is not None)
    # PositionMismatch (with the length to append at) and ObjectNotAppendable are the codec's to render
    return await context.storage.append_object(request.bucket, request.key, request.position, blob,
                                               context.permit(), encryption is not None, **fields)


async def _current_encryption(context: Context, request: AppendRequest) -> Encryption | None:
    try:
        return (await context.storage.head_object(request.bucket, request.key)).encryption
    except (ObjectNotFound, IsDeleteMarker):
        return None  # storage refuses the append at a position past 0 anyway
