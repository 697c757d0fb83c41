"""The operations ossbox serves, in one table: each one's function, its access class, and whether it reads
through symlinks.

Strategy: the router names an operation as OSS names it; this table says who may call it (see
`authorize.Access`) and which function of `server/operations/` carries it out. A codec (`server/oss/`)
gives each its parser and renderer. An operation missing here answers 501 NotImplemented.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .authorize import Access
from .operations import (acl, append, buckets, cors, encryption, lifecycle, listing, multipart, objects, policy, referer, regions,
                         restore, symlink, tags, versioning, website)
from .operations.context import Context

__all__ = ["Operation", "OPERATIONS"]


@dataclass(frozen=True)
class Operation:
    name: str
    run: Callable[[Context, object], Awaitable[object]]
    access: Access
    follows_symlinks: bool = False


def _table(access: Access, operations: dict[str, Callable], following: frozenset[str] = frozenset()
           ) -> dict[str, Operation]:
    return {name: Operation(name, run, access, name in following) for name, run in operations.items()}


OPERATIONS: dict[str, Operation] = {
    **_table(Access.ANYONE, {"Options": cors.preflight}),
    **_table(Access.READ, {
        "GetObject": objects.get_object,
        "HeadObject": objects.head_object,
        "GetObjectMeta": objects.get_object_meta,
        "GetSymlink": symlink.get_symlink,
        "ListObjects": listing.list_objects,
        "ListObjectsV2": listing.list_objects,
        "ListObjectVersions": versioning.list_object_versions,
    }, following=frozenset({"GetObject", "HeadObject"})),
    **_table(Access.WRITE, {
        "PutObject": objects.put_object,
        "CopyObject": objects.copy_object,
        "AppendObject": append.append_object,
        "PutSymlink": symlink.put_symlink,
        "DeleteObject": objects.delete_object,
        "DeleteMultipleObjects": objects.delete_multiple_objects,
        "InitiateMultipartUpload": multipart.initiate_multipart_upload,
        "UploadPart": multipart.upload_part,
        "UploadPartCopy": multipart.upload_part_copy,
        "CompleteMultipartUpload": multipart.complete_multipart_upload,
        "AbortMultipartUpload": multipart.abort_multipart_upload,
        "ListParts": multipart.list_parts,
        "RestoreObject": restore.restore_object,
        "CleanRestoredObject": restore.clean_restored_object,
    }),
    **_table(Access.OWNER, {
        "ListBuckets": buckets.list_buckets,
        "DescribeRegions": regions.describe_regions,
        "PutBucket": buckets.put_bucket,
        "DeleteBucket": buckets.delete_bucket,
        "GetBucketInfo": buckets.get_bucket_info,
        "HeadBucket": buckets.get_bucket_info,
        "GetBucketLocation": buckets.get_bucket_location,
        "GetBucketStat": buckets.get_bucket_stat,
        "PutBucketWebsite": website.put_bucket_website,
        "GetBucketWebsite": website.get_bucket_website,
        "DeleteBucketWebsite": website.delete_bucket_website,
        "PutBucketEncryption": encryption.put_bucket_encryption,
        "GetBucketEncryption": encryption.get_bucket_encryption,
        "DeleteBucketEncryption": encryption.delete_bucket_encryption,
        "PutBucketPolicy": policy.put_bucket_policy,
        "GetBucketPolicy": policy.get_bucket_policy,
        "DeleteBucketPolicy": policy.delete_bucket_policy,
        "PutBucketReferer": referer.put_bucket_referer,
        "GetBucketReferer": referer.get_bucket_referer,
        "PutBucketCors": cors.put_bucket_cors,
        "GetBucketCors": cors.get_bucket_cors,
        "DeleteBucketCors": cors.delete_bucket_cors,
        "PutBucketLifecycle": lifecycle.put_bucket_lifecycle,
        "GetBucketLifecycle": lifecycle.get_bucket_lifecycle,
        "DeleteBucketLifecycle": lifecycle.delete_bucket_lifecycle,
        "ListLiveChannel": buckets.list_live_channel,
        "ListMultipartUploads": multipart.list_multipart_uploads,
        "PutBucketAcl": acl.put_bucket_acl,
        "GetBucketAcl": acl.get_bucket_acl,
        "PutObjectAcl": acl.put_object_acl,
        "GetObjectAcl": acl.get_object_acl,
        "PutObjectTagging": tags.put_object_tagging,
        "GetObjectTagging": tags.get_object_tagging,
        "DeleteObjectTagging": tags.delete_object_tagging,
        "PutBucketTags": tags.put_bucket_tags,
        "GetBucketTags": tags.get_bucket_tags,
        "DeleteBucketTags": tags.delete_bucket_tags,
        "PutBucketVersioning": versioning.put_bucket_versioning,
        "GetBucketVersioning": versioning.get_bucket_versioning,
    }),
}
