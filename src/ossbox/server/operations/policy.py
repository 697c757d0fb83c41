"""Bucket policies: PutBucketPolicy, GetBucketPolicy and DeleteBucketPolicy. (What a policy decides for a
request is `server/policy.py`; the dispatcher asks it.)"""

from __future__ import annotations

from dataclasses import dataclass

from ...protocol.errors import OssError
from ..policy import MAX_POLICY_BYTES, parse_policy
from .context import Context
from .values import BucketRef, required_config

__all__ = ["BucketPolicy", "POLICY_CONFIG", "stored_policy_text", "put_bucket_policy", "get_bucket_policy",
           "delete_bucket_policy"]

POLICY_CONFIG = "policy"  # the configuration's name among a bucket's (BucketRecord.configs)


@dataclass(frozen=True)
class BucketPolicy:
    bucket: str
    text: str  # the JSON document, kept as given


def stored_policy_text(configs: dict) -> str | None:
    stored = configs.get(POLICY_CONFIG)
    return None if stored is None else stored["text"]


async def put_bucket_policy(context: Context, request: BucketPolicy) -> None:
    if len(request.text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise OssError("InvalidPolicyDocument", f"A policy is at most {MAX_POLICY_BYTES} bytes.")
    await context.offload(parse_policy, request.text, request.bucket)  # refused here if it is not one
    await context.storage.update_bucket(request.bucket, configs={POLICY_CONFIG: {"text": request.text}})


async def get_bucket_policy(context: Context, request: BucketRef) -> str:
    return await required_config(context, request.bucket, stored_policy_text, "NoSuchBucketPolicy",
                                 "The bucket policy does not exist.")


async def delete_bucket_policy(context: Context, request: BucketRef) -> None:
    await context.storage.update_bucket(request.bucket, configs={POLICY_CONFIG: None})
