"""The S3 codec of PutBucketLifecycleConfiguration and GetBucketLifecycleConfiguration: S3's
`<LifecycleConfiguration>`, read into the same rules the OSS dialect stores and the lifecycle pass applies.

S3 scopes a rule by a `Filter` (a prefix, a tag, a size bound, or several of them under `And`; or the legacy
rule-level `Prefix`), and names its storage classes and multipart clean-up its own way. Rules may overlap, as
S3 allows. What S3 has and the rules cannot hold is refused with 501: transitions on a date (S3 moves every
object on that day) and NewerNoncurrentVersions.
"""

from __future__ import annotations

from xml.etree import ElementTree

from aiohttp import web

from ...lifecycle.rules import AbortUploads, Expiration, Filter, NoncurrentTransition, Rule, Transition
from ...protocol.errors import OssError
from ..context import Call
from ..operations.lifecycle import BucketLifecycle
from ..operations.values import BucketRef
from ..oss.lifecycle import (child_count, child_date, child_flag, child_text, iso_date, one_child, required_count,
                             tag_pair)
from ..oss.requests import parse_xml_body
from .render import document
from .requests import read_signed_body, s3_storage_class, stored_class

__all__ = ["parse_put_bucket_lifecycle", "render_get_bucket_lifecycle"]

_MAX_ELEMENTS = 50_000  # 1000 rules of a few dozen elements each


def _not_implemented(what: str) -> OssError:
    return OssError("NotImplemented", f"ossbox's lifecycle rules do not hold {what}.")


def _storage_class(node: ElementTree.Element) -> str:
    stored = stored_class(child_text(node, "StorageClass") or "")
    assert stored is not None
    return stored


def _rule(node: ElementTree.Element) -> Rule:
    status = child_text(node, "Status")
    if status not in ("Enabled", "Disabled"):
        raise OssError("MalformedXML", "A rule's Status is Enabled or Disabled.")
    prefix, tags, greater, less = child_text(node, "Prefix") or "", (), None, None
    bounds = one_child(node, "Filter")
    if bounds is not None:
        scope = one_child(bounds, "And")
        scope = bounds if scope is None else scope
        prefix = child_text(scope, "Prefix") or prefix
        tags = tuple(tag_pair(item) for item in scope.findall("Tag"))
        greater, less = child_count(scope, "ObjectSizeGreaterThan", 0), child_count(scope, "ObjectSizeLessThan", 0)
    expiration = one_child(node, "Expiration")
    noncurrent = one_child(node, "NoncurrentVersionExpiration")
    abort = one_child(node, "AbortIncompleteMultipartUpload")
    transitions = node.findall("Transition")
    if any(child_text(item, "Date") is not None for item in transitions):
        raise _not_implemented("transitions on a date")
    if any(item.find("NewerNoncurrentVersions") is not None
           for item in (noncurrent, *node.findall("NoncurrentVersionTransition")) if item is not None):
        raise _not_implemented("NewerNoncurrentVersions")
    return Rule(
        id=child_text(node, "ID") or "",
        prefix=prefix,
        enabled=status == "Enabled",
        expiration=None if expiration is None else Expiration(
            days=child_count(expiration, "Days"), date=child_date(expiration, "Date"),
            expired_delete_marker=child_flag(expiration, "ExpiredObjectDeleteMarker")),
        transitions=tuple(Transition(_storage_class(item), days=required_count(item, "Days")) for item in transitions),
        abort_uploads=None if abort is None else AbortUploads(days=required_count(abort, "DaysAfterInitiation")),
        tags=tags,
        noncurrent_expiration_days=None if noncurrent is None else required_count(noncurrent, "NoncurrentDays"),
        noncurrent_transitions=tuple(
            NoncurrentTransition(_storage_class(item), required_count(item, "NoncurrentDays"))
            for item in node.findall("NoncurrentVersionTransition")),
        filter=Filter(size_greater_than=greater, size_less_than=less),
    )


def _rules(body: bytes) -> list[Rule]:
    return [_rule(node) for node in parse_xml_body(body, "LifecycleConfiguration", _MAX_ELEMENTS).iterfind("Rule")]


async def parse_put_bucket_lifecycle(call: Call) -> BucketLifecycle:
    body = await read_signed_body(call, call.signer)
    return BucketLifecycle(call.bucket, await call.offload(_rules, body), allow_overlap=True)


# ---- rendering ----

def _filter_children(rule: Rule) -> list[tuple[str, object]]:
    """A Filter's children: its one condition, or all of them under And."""
    conditions: list[tuple[str, object]] = [("Prefix", rule.prefix or None)]
    conditions.extend(("Tag", [("Key", key), ("Value", value)]) for key, value in rule.tags)
    conditions.extend([("ObjectSizeGreaterThan", rule.filter.size_greater_than),
                       ("ObjectSizeLessThan", rule.filter.size_less_than)])
    present = [(tag, value) for tag, value in conditions if value is not None]
    if len(present) > 1:
        return [("And", present)]
    return present or [("Prefix", "")]


def _rule_children(rule: Rule) -> list[tuple[str, object]]:
    expiration, abort = rule.expiration, rule.abort_uploads
    return [
        ("ID", rule.id or None),
        ("Filter", _filter_children(rule)),
        ("Status", "Enabled" if rule.enabled else "Disabled"),
        ("Expiration", expiration and [("Days", expiration.days), ("Date", iso_date(expiration.date)),
                                       ("ExpiredObjectDeleteMarker", expiration.expired_delete_marker)]),
        *(("Transition", [("Days", item.days), ("StorageClass", s3_storage_class(item.storage_class))])
          for item in rule.transitions),
        *(("NoncurrentVersionTransition", [("NoncurrentDays", item.noncurrent_days),
                                           ("StorageClass", s3_storage_class(item.storage_class))])
          for item in rule.noncurrent_transitions),
        ("NoncurrentVersionExpiration", rule.noncurrent_expiration_days and [
            ("NoncurrentDays", rule.noncurrent_expiration_days)]),
        ("AbortIncompleteMultipartUpload", abort and abort.days and [("DaysAfterInitiation", abort.days)]),
    ]


def render_get_bucket_lifecycle(call: Call, request: BucketRef, rules: list[Rule]) -> web.StreamResponse:
    return document("LifecycleConfiguration", [("Rule", _rule_children(rule)) for rule in rules])
