"""Service and bucket operations: ListBuckets, PutBucket, DeleteBucket, GetBucketInfo, GetBucketLocation,
GetBucketStat, and the empty live-channel listing the SDKs' test teardowns call."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ...protocol.errors import OssError
from ...protocol.names import check_bucket_name
from ...storage.errors import BucketExists
from ...storage.records import STORAGE_CLASSES, BucketRecord, ClassUsage, Encryption
from .context import Context
from .encryption import ENCRYPTION_CONFIG
from .values import BucketRef

__all__ = ["ListBucketsRequest", "BucketList", "PutBucketRequest", "BucketStat", "list_buckets",
           "put_bucket", "DeleteBucketRequest", "delete_bucket", "get_bucket_info", "get_bucket_location",
           "get_bucket_stat", "list_live_channel"]



@dataclass(frozen=True)
class ListBucketsRequest:
    prefix: str
    marker: str
    max_keys: int
    tag_key: str | None = None
    tag_value: str | None = None


@dataclass(frozen=True)
class BucketList:
    buckets: list[BucketRecord]
    truncated: bool


@dataclass(frozen=True)
class PutBucketRequest:
    bucket: str
    acl: str
    storage_class: str
    encryption: Encryption | None = None  # the bucket's default server-side encryption


@dataclass(frozen=True)
class BucketStat:
    usage: dict[str, ClassUsage]  # by storage class
    uploads: int


async def list_buckets(context: Context, request: ListBucketsRequest) -> BucketList:
    buckets, truncated = await context.storage.list_buckets(request.prefix, request.marker, request.max_keys,
                                                            request.tag_key, request.tag_value)
    return BucketList(buckets, truncated)


async def put_bucket(context: Context, request: PutBucketRequest) -> None:
    check_bucket_name(request.bucket)
    if request.storage_class not in STORAGE_CLASSES:
        raise OssError("InvalidArgument", "Unsupported storage class.", ArgumentName="StorageClass",
                       ArgumentValue=request.storage_class)
    try:
        configs = {ENCRYPTION_CONFIG: asdict(request.encryption)} if request.encryption else {}
        await context.storage.create_bucket(request.bucket, request.acl, request.storage_class, configs)
    except BucketExists:
        # OSS answers its owner's repeated PutBucket with 200 and leaves the bucket as it is; with a single
        # access key, every bucket here is the caller's own.
        pass


@dataclass(frozen=True)
class DeleteBucketRequest:
    bucket: str
    discard_uploads: bool = False  # S3's rule: unfinished multipart uploads go with the bucket (OSS's: refused)


async def delete_bucket(context: Context, request: DeleteBucketRequest) -> None:
    await context.storage.delete_bucket(request.bucket, request.discard_uploads)


async def get_bucket_info(context: Context, request: BucketRef) -> BucketRecord:
    return await context.storage.get_bucket(request.bucket)


get_bucket_location = get_bucket_info


async def get_bucket_stat(context: Context, request: BucketRef) -> BucketStat:
    usage = await context.storage.bucket_usage(request.bucket)
    return BucketStat(usage, await context.storage.upload_count(request.bucket))


async def list_live_channel(context: Context, request: BucketRef) -> None:
    await context.storage.get_bucket(request.bucket)  # NoSuchBucket for a bucket that does not exist
