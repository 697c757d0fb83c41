"""Which bucket names and object keys OSS accepts."""

from __future__ import annotations

import re

from .errors import OssError

__all__ = ["is_valid_bucket_name", "check_bucket_name", "check_object_key", "MAX_KEY_BYTES"]

MAX_KEY_BYTES = 1023
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def is_valid_bucket_name(name: str) -> bool:
    """3-63 of [a-z0-9-], starting and ending with a letter or digit."""
    return bool(_BUCKET_NAME.match(name))


def check_bucket_name(name: str) -> None:
    if not is_valid_bucket_name(name):
        raise OssError("InvalidBucketName", "The specified bucket is not valid.", BucketName=name)


def check_object_key(key: str) -> None:
    """Keys are 1-1023 bytes of UTF-8 and do not start with `/` or `\\`. `..` is an ordinary key."""
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise OssError("InvalidObjectName", "The object key is not valid UTF-8.", Key=key) from None
    if size == 0 or size > MAX_KEY_BYTES:
        raise OssError("InvalidObjectName", "The length of the object key must be 1 to 1023 bytes.", Key=key)
    if key[0] in "/\\":
        raise OssError("InvalidObjectName", "The object key must not start with '/' or '\\'.", Key=key)
