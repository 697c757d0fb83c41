"""Object and bucket tagging: PutObjectTagging, GetObjectTagging, DeleteObjectTagging, PutBucketTags,
GetBucketTags, DeleteBucketTags, and the rules every set of tags is checked against.

Strategy: OSS's rules are stricter for objects (10 tags; keys up to 128 and values up to 256 characters of
letters, digits, spaces and `+ - = . _ : /`) than for buckets (20 tags; keys up to 64, values up to 128,
any characters). Tags arrive as (key, value) pairs, from a document or a header, and are checked here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...protocol.errors import OssError
from .context import Context
from .values import BucketRef, ObjectRef

__all__ = ["TagRules", "OBJECT_TAG_RULES", "BUCKET_TAG_RULES", "LIFECYCLE_TAG_RULES", "validate_tags", "ObjectTagging", "BucketTagging",
           "BucketTagsDeletion", "put_object_tagging", "get_object_tagging", "delete_object_tagging",
           "put_bucket_tags", "get_bucket_tags", "delete_bucket_tags"]


@dataclass(frozen=True)
class TagRules:
    max_tags: int
    max_key: int
    max_value: int
    allowed: re.Pattern | None  # characters allowed in keys and values; None: any


OBJECT_TAG_RULES = TagRules(10, 128, 256, re.compile(r"^[\w +\-=._:/]*$"))
BUCKET_TAG_RULES = TagRules(20, 64, 128, None)
# A lifecycle rule's tags take object tags' characters; longer ones than an object can carry are accepted
# (as the cloud accepts them), and match nothing.
LIFECYCLE_TAG_RULES = TagRules(64, 1024, 1024, OBJECT_TAG_RULES.allowed)


def _invalid(message: str) -> OssError:
    return OssError("InvalidArgument", message, ArgumentName="Tagging")


def validate_tags(pairs: list[tuple[str, str]], rules: TagRules) -> dict[str, str]:
    if len(pairs) > rules.max_tags:
        raise _invalid(f"At most {rules.max_tags} tags are allowed.")
    tags: dict[str, str] = {}
    for key, value in pairs:
        if not 1 <= len(key) <= rules.max_key:
            raise _invalid(f"A tag key must be 1 to {rules.max_key} characters.")
        if len(value) > rules.max_value:
            raise _invalid(f"A tag value must be at most {rules.max_value} characters.")
        if rules.allowed is not None and not (rules.allowed.match(key) and rules.allowed.match(value)):
            raise _invalid("Tags may contain letters, digits, spaces and + - = . _ : / only.")
        if key in tags:
            raise _invalid(f"The tag key {key!r} is given more than once.")
        tags[key] = value
    return tags


@dataclass(frozen=True)
class ObjectTagging:
    bucket: str
    key: str
    tags: list[tuple[str, str]]
    version_id: str | None = None


@dataclass(frozen=True)
class BucketTagging:
    bucket: str
    tags: list[tuple[str, str]]


@dataclass(frozen=True)
class BucketTagsDeletion:
    bucket: str
    keys: list[str] | None  # None: every tag


async def put_object_tagging(context: Context, request: ObjectTagging) -> None:
    tags = validate_tags(request.tags, OBJECT_TAG_RULES)
    await context.storage.update_object(request.bucket, request.key, request.version_id, tags=tags)


async def get_object_tagging(context: Context, request: ObjectRef) -> dict[str, str]:
    return (await context.storage.head_object(request.bucket, request.key, version_id=request.version_id)).tags


async def delete_object_tagging(context: Context, request: ObjectRef) -> None:
    await context.storage.update_object(request.bucket, request.key, request.version_id, tags={})


async def put_bucket_tags(context: Context, request: BucketTagging) -> None:
    await context.storage.update_bucket(request.bucket, tags=validate_tags(request.tags, BUCKET_TAG_RULES))


async def get_bucket_tags(context: Context, request: BucketRef) -> dict[str, str]:
    return (await context.storage.get_bucket(request.bucket)).tags


async def delete_bucket_tags(context: Context, request: BucketTagsDeletion) -> None:
    tags = {}
    if request.keys is not None:
        current = (await context.storage.get_bucket(request.bucket)).tags
        tags = {key: value for key, value in current.items() if key not in request.keys}
    await context.storage.update_bucket(request.bucket, tags=tags)
