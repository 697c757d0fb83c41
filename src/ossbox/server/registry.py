"""The operations ossbox serves: each one's handler and access class, in one table.

Strategy: the router names an operation as OSS names it; this table says who may call it (see
`authorize.Access`) and which `handle_<operation>` serves it. An operation missing here answers 501
NotImplemented.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from .authorize import Access
from .context import Call
from .handlers import acl, append, buckets, listing, multipart, objects, symlink, tags

__all__ = ["Operation", "OPERATIONS"]


@dataclass(frozen=True)
class Operation:
    name: str
    handler: Callable[[Call], Awaitable[web.StreamResponse]]
    access: Access


def _table(access: Access, handlers: dict[str, Callable]) -> dict[str, Operation]:
    return {name: Operation(name, handler, access) for name, handler in handlers.items()}


OPERATIONS: dict[str, Operation] = {
    **_table(Access.READ, {
        "GetObject": objects.handle_get_object,
        "HeadObject": objects.handle_head_object,
        "GetObjectMeta": objects.handle_get_object_meta,
        "GetSymlink": symlink.handle_get_symlink,
        "ListObjects": listing.handle_list_objects,
        "ListObjectsV2": listing.handle_list_objects_v2,
    }),
    **_table(Access.WRITE, {
        "PutObject": objects.handle_put_object,
        "CopyObject": objects.handle_copy_object,
        "AppendObject": append.handle_append_object,
        "PutSymlink": symlink.handle_put_symlink,
        "DeleteObject": objects.handle_delete_object,
        "DeleteMultipleObjects": objects.handle_delete_multiple_objects,
        "InitiateMultipartUpload": multipart.handle_initiate_multipart_upload,
        "UploadPart": multipart.handle_upload_part,
        "UploadPartCopy": multipart.handle_upload_part_copy,
        "CompleteMultipartUpload": multipart.handle_complete_multipart_upload,
        "AbortMultipartUpload": multipart.handle_abort_multipart_upload,
        "ListParts": multipart.handle_list_parts,
    }),
    **_table(Access.OWNER, {
        "ListBuckets": buckets.handle_list_buckets,
        "PutBucket": buckets.handle_put_bucket,
        "DeleteBucket": buckets.handle_delete_bucket,
        "GetBucketInfo": buckets.handle_get_bucket_info,
        "GetBucketLocation": buckets.handle_get_bucket_location,
        "GetBucketStat": buckets.handle_get_bucket_stat,
        "ListLiveChannel": buckets.handle_list_live_channel,
        "ListMultipartUploads": multipart.handle_list_multipart_uploads,
        "PutBucketAcl": acl.handle_put_bucket_acl,
        "GetBucketAcl": acl.handle_get_bucket_acl,
        "PutObjectAcl": acl.handle_put_object_acl,
        "GetObjectAcl": acl.handle_get_object_acl,
        "PutObjectTagging": tags.handle_put_object_tagging,
        "GetObjectTagging": tags.handle_get_object_tagging,
        "DeleteObjectTagging": tags.handle_delete_object_tagging,
        "PutBucketTags": tags.handle_put_bucket_tags,
        "GetBucketTags": tags.handle_get_bucket_tags,
        "DeleteBucketTags": tags.handle_delete_bucket_tags,
    }),
}
