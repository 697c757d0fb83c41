"""A bucket's lifecycle configuration: PutBucketLifecycle, GetBucketLifecycle and DeleteBucketLifecycle.
(What the rules mean and how a pass applies them is `ossbox.lifecycle`.)"""

from __future__ import annotations

from dataclasses import dataclass

from ...lifecycle.rules import LIFECYCLE_CONFIG, Rule, rules_from_json, rules_to_json, validate
from .context import Context
from .tags import LIFECYCLE_TAG_RULES, validate_tags
from .values import BucketRef, required_config

__all__ = ["BucketLifecycle", "put_bucket_lifecycle", "get_bucket_lifecycle", "delete_bucket_lifecycle"]


@dataclass(frozen=True)
class BucketLifecycle:
    bucket: str
    rules: list[Rule]
    allow_overlap: bool = False  # rules whose objects coincide may take the same kind of action


async def put_bucket_lifecycle(context: Context, request: BucketLifecycle) -> None:
    for rule in request.rules:
        validate_tags(list(rule.tags), LIFECYCLE_TAG_RULES)
        validate_tags([item.tag for item in rule.filter.nots if item.tag], LIFECYCLE_TAG_RULES)
    rules = await context.offload(validate, request.rules, request.allow_overlap)
    await context.storage.update_bucket(request.bucket, configs={LIFECYCLE_CONFIG: rules_to_json(rules)})


async def get_bucket_lifecycle(context: Context, request: BucketRef) -> list[Rule]:
    return await required_config(context, request.bucket, _stored_rules, "NoSuchLifecycle",
                                 "No Row found in Lifecycle Table.")


def _stored_rules(configs: dict) -> list[Rule] | None:
    stored = configs.get(LIFECYCLE_CONFIG)
    return rules_from_json(stored) if stored else None


async def delete_bucket_lifecycle(context: Context, request: BucketRef) -> None:
    await context.storage.update_bucket(request.bucket, configs={LIFECYCLE_CONFIG: None})
