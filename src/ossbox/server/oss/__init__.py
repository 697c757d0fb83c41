"""The OSS codec: how each operation's request is read off an OSS request, and its result written back.

Strategy: `CODECS` gives every operation of `server/registry.py` a parser (`await parse(call)`, the typed
request) and a renderer (`render(call, request, result)`, the HTTP response). Everything OSS writes on
the wire (`x-oss-*` headers, query parameters, XML documents, error codes) lives in this package.
"""

from __future__ import annotations

from ..context import Codec
from . import buckets, configuration, cors, lifecycle, listing, multipart, objects, restore, versioning, website

__all__ = ["CODECS"]


CODECS: dict[str, Codec] = {
    "GetObject": Codec(objects.parse_get_object, objects.render_get_object),
    "HeadObject": Codec(objects.parse_head_object, objects.render_head_object),
    "GetObjectMeta": Codec(objects.parse_get_object_meta, objects.render_get_object_meta),
    "PutObject": Codec(objects.parse_put_object, objects.render_put_object),
    "CopyObject": Codec(objects.parse_copy_object, objects.render_copy_object),
    "DeleteObject": Codec(objects.parse_delete_object, objects.render_delete_object),
    "DeleteMultipleObjects": Codec(objects.parse_delete_multiple_objects, objects.render_delete_multiple_objects),
    "ListObjects": Codec(listing.parse_list_objects, listing.render_list_objects),
    "ListObjectsV2": Codec(listing.parse_list_objects_v2, listing.render_list_objects_v2),
    "ListBuckets": Codec(buckets.parse_list_buckets, buckets.render_list_buckets),
    "DescribeRegions": Codec(buckets.parse_describe_regions, buckets.render_describe_regions),
    "PutBucket": Codec(buckets.parse_put_bucket, buckets.render_put_bucket),
    "DeleteBucket": Codec(buckets.parse_delete_bucket, buckets.render_no_content),
    "GetBucketInfo": Codec(buckets.parse_bucket, buckets.render_get_bucket_info),
    "GetBucketLocation": Codec(buckets.parse_bucket, buckets.render_get_bucket_location),
    "GetBucketStat": Codec(buckets.parse_bucket, buckets.render_get_bucket_stat),
    "ListLiveChannel": Codec(buckets.parse_list_live_channel, buckets.render_list_live_channel),
    "InitiateMultipartUpload": Codec(multipart.parse_initiate_multipart_upload,
                                     multipart.render_initiate_multipart_upload),
    "UploadPart": Codec(multipart.parse_upload_part, multipart.render_upload_part),
    "UploadPartCopy": Codec(multipart.parse_upload_part_copy, multipart.render_upload_part_copy),
    "CompleteMultipartUpload": Codec(multipart.parse_complete_multipart_upload,
                                     multipart.render_complete_multipart_upload),
    "AbortMultipartUpload": Codec(multipart.parse_upload_ref, multipart.render_abort_multipart_upload),
    "ListParts": Codec(multipart.parse_list_parts, multipart.render_list_parts),
    "ListMultipartUploads": Codec(multipart.parse_list_multipart_uploads, multipart.render_list_multipart_uploads),
    "AppendObject": Codec(configuration.parse_append_object, configuration.render_append_object),
    "PutSymlink": Codec(configuration.parse_put_symlink, configuration.render_put_symlink),
    "GetSymlink": Codec(configuration.parse_object, configuration.render_get_symlink),
    "PutBucketAcl": Codec(configuration.parse_put_bucket_acl, configuration.render_ok),
    "GetBucketAcl": Codec(buckets.parse_bucket, configuration.render_acl),
    "PutObjectAcl": Codec(configuration.parse_put_object_acl, configuration.render_ok),
    "GetObjectAcl": Codec(configuration.parse_object, configuration.render_acl),
    "PutObjectTagging": Codec(configuration.parse_put_object_tagging, configuration.render_ok),
    "GetObjectTagging": Codec(configuration.parse_object, configuration.render_tagging),
    "DeleteObjectTagging": Codec(configuration.parse_object, configuration.render_no_content),
    "PutBucketTags": Codec(configuration.parse_put_bucket_tags, configuration.render_ok),
    "GetBucketTags": Codec(buckets.parse_bucket, configuration.render_tagging),
    "DeleteBucketTags": Codec(configuration.parse_delete_bucket_tags, configuration.render_no_content),
    "PutBucketVersioning": Codec(versioning.parse_put_bucket_versioning, configuration.render_ok),
    "GetBucketVersioning": Codec(buckets.parse_bucket, versioning.render_get_bucket_versioning),
    "ListObjectVersions": Codec(versioning.parse_list_object_versions, versioning.render_list_object_versions),
    "RestoreObject": Codec(restore.parse_restore_object, restore.render_restore_object),
    "CleanRestoredObject": Codec(configuration.parse_object, configuration.render_ok),
    "PutBucketWebsite": Codec(website.parse_put_bucket_website, configuration.render_ok),
    "GetBucketWebsite": Codec(buckets.parse_bucket, website.render_get_bucket_website),
    "DeleteBucketWebsite": Codec(buckets.parse_bucket, configuration.render_no_content),
    "PutBucketEncryption": Codec(buckets.parse_put_bucket_encryption, configuration.render_ok),
    "GetBucketEncryption": Codec(buckets.parse_bucket, buckets.render_get_bucket_encryption),
    "DeleteBucketEncryption": Codec(buckets.parse_bucket, configuration.render_no_content),
    "PutBucketPolicy": Codec(configuration.parse_put_bucket_policy, configuration.render_ok),
    "GetBucketPolicy": Codec(buckets.parse_bucket, configuration.render_get_bucket_policy),
    "DeleteBucketPolicy": Codec(buckets.parse_bucket, configuration.render_no_content),
    "PutBucketReferer": Codec(configuration.parse_put_bucket_referer, configuration.render_ok),
    "GetBucketReferer": Codec(buckets.parse_bucket, configuration.render_get_bucket_referer),
    "PutBucketCors": Codec(cors.parse_put_bucket_cors, configuration.render_ok),
    "GetBucketCors": Codec(buckets.parse_bucket, cors.render_get_bucket_cors),
    "DeleteBucketCors": Codec(buckets.parse_bucket, configuration.render_no_content),
    "Options": Codec(cors.parse_preflight, cors.render_preflight),
    "PutBucketLifecycle": Codec(lifecycle.parse_put_bucket_lifecycle, configuration.render_ok),
    "GetBucketLifecycle": Codec(buckets.parse_bucket, lifecycle.render_get_bucket_lifecycle),
    "DeleteBucketLifecycle": Codec(buckets.parse_bucket, configuration.render_no_content),
}
