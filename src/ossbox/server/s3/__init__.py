"""The S3 codec: how each operation's request is read off an Amazon S3 request, and its result written back.

Strategy: `CODECS` gives the operations of `server/registry.py` that S3 has a parser and a renderer, as
`server/oss/` does for OSS: the operations are the same, only the wire differs (SigV4, `aws-chunked`
bodies, `x-amz-*` headers, S3's XML namespace and error codes). An operation S3 has no name for (OSS's
symlinks, appends, bucket info) is not reachable from here. Parsers and renderers with no wire names of
their own (a bucket or object reference, an empty answer) are the OSS codec's.
"""

from __future__ import annotations

from ..context import Codec
from ..oss import cors as oss_cors
from ..oss import objects as oss_objects
from ..oss.buckets import parse_bucket
from ..oss.configuration import parse_object, render_no_content, render_ok
from . import buckets, lifecycle, listing, multipart, objects

__all__ = ["CODECS"]

CODECS: dict[str, Codec] = {
    "GetObject": Codec(objects.parse_get_object, objects.render_get_object),
    "HeadObject": Codec(objects.parse_head_object, objects.render_head_object),
    "PutObject": Codec(objects.parse_put_object, objects.render_put_object),
    "CopyObject": Codec(objects.parse_copy_object, objects.render_copy_object),
    "DeleteObject": Codec(oss_objects.parse_delete_object, objects.render_delete_object),
    "DeleteMultipleObjects": Codec(objects.parse_delete_multiple_objects, objects.render_delete_multiple_objects),
    "RestoreObject": Codec(objects.parse_restore_object, objects.render_restore_object),
    "ListObjects": Codec(listing.parse_list_objects, listing.render_list_objects),
    "ListObjectsV2": Codec(listing.parse_list_objects_v2, listing.render_list_objects_v2),
    "ListObjectVersions": Codec(listing.parse_list_object_versions, listing.render_list_object_versions),
    "ListBuckets": Codec(buckets.parse_list_buckets, buckets.render_list_buckets),
    "PutBucket": Codec(buckets.parse_put_bucket, buckets.render_put_bucket),
    "DeleteBucket": Codec(buckets.parse_delete_bucket, render_no_content),
    "HeadBucket": Codec(parse_bucket, buckets.render_head_bucket),
    "GetBucketLocation": Codec(parse_bucket, buckets.render_get_bucket_location),
    "PutBucketVersioning": Codec(buckets.parse_put_bucket_versioning, render_ok),
    "GetBucketVersioning": Codec(parse_bucket, buckets.render_get_bucket_versioning),
    "PutBucketAcl": Codec(buckets.parse_put_bucket_acl, render_ok),
    "GetBucketAcl": Codec(parse_bucket, buckets.render_acl),
    "PutObjectAcl": Codec(buckets.parse_put_object_acl, render_ok),
    "GetObjectAcl": Codec(parse_object, buckets.render_acl),
    "PutBucketLifecycle": Codec(lifecycle.parse_put_bucket_lifecycle, render_ok),
    "GetBucketLifecycle": Codec(parse_bucket, lifecycle.render_get_bucket_lifecycle),
    "DeleteBucketLifecycle": Codec(parse_bucket, render_no_content),
    "PutBucketEncryption": Codec(buckets.parse_put_bucket_encryption, render_ok),
    "GetBucketEncryption": Codec(parse_bucket, buckets.render_get_bucket_encryption),
    "DeleteBucketEncryption": Codec(parse_bucket, render_no_content),
    "PutBucketCors": Codec(buckets.parse_put_bucket_cors, render_ok),
    "GetBucketCors": Codec(parse_bucket, buckets.render_get_bucket_cors),
    "DeleteBucketCors": Codec(parse_bucket, render_no_content),
    "Options": Codec(oss_cors.parse_preflight, oss_cors.render_preflight),
    "PutObjectTagging": Codec(buckets.parse_put_object_tagging, render_ok),
    "GetObjectTagging": Codec(parse_object, buckets.render_object_tagging),
    "DeleteObjectTagging": Codec(parse_object, render_no_content),
    "PutBucketTags": Codec(buckets.parse_put_bucket_tags, render_no_content),
    "GetBucketTags": Codec(parse_bucket, buckets.render_bucket_tagging),
    "DeleteBucketTags": Codec(buckets.parse_delete_bucket_tags, render_no_content),
    "InitiateMultipartUpload": Codec(multipart.parse_initiate_multipart_upload,
                                     multipart.render_initiate_multipart_upload),
    "UploadPart": Codec(multipart.parse_upload_part, multipart.render_upload_part),
    "UploadPartCopy": Codec(multipart.parse_upload_part_copy, multipart.render_upload_part_copy),
    "CompleteMultipartUpload": Codec(multipart.parse_complete_multipart_upload,
                                     multipart.render_complete_multipart_upload),
    "AbortMultipartUpload": Codec(multipart.parse_upload_ref, multipart.render_abort_multipart_upload),
    "ListParts": Codec(multipart.parse_list_parts, multipart.render_list_parts),
    "ListMultipartUploads": Codec(multipart.parse_list_multipart_uploads, multipart.render_list_multipart_uploads),
}
