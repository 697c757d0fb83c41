"""Bucket and object ACLs: PutBucketAcl, GetBucketAcl, PutObjectAcl, GetObjectAcl."""

from __future__ import annotations

from dataclasses import dataclass

from .context import Context
from .values import BucketRef, ObjectRef

__all__ = ["BucketAcl", "ObjectAcl", "put_bucket_acl", "get_bucket_acl", "put_object_acl", "get_object_acl"]


@dataclass(frozen=True)
class BucketAcl:
    bucket: str
    acl: str


@dataclass(frozen=True)
class ObjectAcl:
    bucket: str
    key: str
    acl: str
    version_id: str | None = None


async def put_bucket_acl(context: Context, request: BucketAcl) -> None:
    await context.storage.update_bucket(request.bucket, acl=request.acl)


async def get_bucket_acl(context: Context, request: BucketRef) -> str:
    return (await context.storage.get_bucket(request.bucket)).acl


async def put_object_acl(context: Context, request: ObjectAcl) -> None:
    await context.storage.update_object(request.bucket, request.key, request.version_id, acl=request.acl)


async def get_object_acl(context: Context, request: ObjectRef) -> str:
    return (await context.storage.head_object(request.bucket, request.key, version_id=request.version_id)).acl
