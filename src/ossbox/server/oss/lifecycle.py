"""The OSS codec of PutBucketLifecycle and GetBucketLifecycle: `<LifecycleConfiguration>` documents.

Dates are written as OSS writes them, `2016-12-25T00:00:00.000Z`, and must be midnight UTC.
"""

from __future__ import annotations

import datetime
from xml.etree import ElementTree

from aiohttp import web

from ...lifecycle.rules import AbortUploads, Expiration, Filter, Not, NoncurrentTransition, Rule, Transition
from ...protocol.errors import OssError
from ...protocol.numbers import parse_decimal
from ...protocol.xmlutil import xml_document
from ..context import Call
from ..operations.lifecycle import BucketLifecycle
from ..operations.values import BucketRef
from ..responses import xml_response
from .requests import parse_xml_body, read_body

__all__ = ["parse_put_bucket_lifecycle", "render_get_bucket_lifecycle", "one_child", "child_text", "child_count",
           "child_flag", "child_date", "required_count", "tag_pair", "iso_date"]

# 1000 rules of up to a few dozen elements each
_MAX_ELEMENTS = 50_000
_MIDNIGHT_SUFFIXES = ("", "T00:00:00.000Z", "T00:00:00Z")


def _malformed(message: str) -> OssError:
    return OssError("MalformedXML", message)


def one_child(node: ElementTree.Element, tag: str) -> ElementTree.Element | None:
    found = node.findall(tag)
    if len(found) > 1:
        raise _malformed(f"{node.tag} holds more than one {tag}.")
    return found[0] if found else None


def child_text(node: ElementTree.Element, tag: str) -> str | None:
    child = one_child(node, tag)
    return None if child is None else (child.text or "").strip()


def child_count(node: ElementTree.Element, tag: str, low: int = 1) -> int | None:
    text = child_text(node, tag)
    if text is None:
        return None
    value = parse_decimal(text, low)
    if value is None:
        raise OssError("InvalidArgument", f"{tag} must be a whole number of at least {low}.", ArgumentName=tag,
                       ArgumentValue=text)
    return value


def child_flag(node: ElementTree.Element, tag: str) -> bool | None:
    text = child_text(node, tag)
    if text is None:
        return None
    if text.lower() not in ("true", "false"):
        raise _malformed(f"{tag} must be true or false.")
    return text.lower() == "true"


def child_date(node: ElementTree.Element, tag: str) -> datetime.date | None:
    text = child_text(node, tag)
    if text is None:
        return None
    try:
        date = datetime.date.fromisoformat(text[:10])
    except ValueError:
        date = None
    if date is None or text[10:] not in _MIDNIGHT_SUFFIXES:
        raise OssError("InvalidArgument", f"{tag} must be an ISO 8601 date at midnight UTC, such as "
                       "2025-01-01T00:00:00.000Z.", ArgumentName=tag, ArgumentValue=text)
    return date


def tag_pair(node: ElementTree.Element) -> tuple[str, str]:
    key, value = child_text(node, "Key"), child_text(node, "Value")
    if not key:
        raise _malformed("A Tag needs a Key.")
    return key, value or ""


def _rule(node: ElementTree.Element) -> Rule:
    status = child_text(node, "Status")
    if status not in ("Enabled", "Disabled"):
        raise _malformed("A rule's Status is Enabled or Disabled.")
    prefix = child_text(node, "Prefix") or ""
    expiration = one_child(node, "Expiration")
    abort = one_child(node, "AbortMultipartUpload")
    noncurrent = one_child(node, "NoncurrentVersionExpiration")
    bounds = one_child(node, "Filter")
    return Rule(
        id=child_text(node, "ID") or "",
        prefix=prefix,
        enabled=status == "Enabled",
        expiration=None if expiration is None else Expiration(
            days=child_count(expiration, "Days"), created_before=child_date(expiration, "CreatedBeforeDate"),
            date=child_date(expiration, "Date"),
            expired_delete_marker=child_flag(expiration, "ExpiredObjectDeleteMarker")),
        transitions=tuple(Transition(
            storage_class=child_text(item, "StorageClass") or "", days=child_count(item, "Days"),
            created_before=child_date(item, "CreatedBeforeDate"), is_access_time=child_flag(item, "IsAccessTime"),
            return_to_std_when_visit=child_flag(item, "ReturnToStdWhenVisit"),
            allow_small_file=child_flag(item, "AllowSmallFile")) for item in node.findall("Transition")),
        abort_uploads=None if abort is None else _abort(abort),
        tags=tuple(tag_pair(item) for item in node.findall("Tag")),
        noncurrent_expiration_days=None if noncurrent is None else required_count(noncurrent, "NoncurrentDays"),
        noncurrent_transitions=tuple(NoncurrentTransition(
            storage_class=child_text(item, "StorageClass") or "",
            noncurrent_days=required_count(item, "NoncurrentDays"), is_access_time=child_flag(item, "IsAccessTime"),
            return_to_std_when_visit=child_flag(item, "ReturnToStdWhenVisit"),
            allow_small_file=child_flag(item, "AllowSmallFile"))
            for item in node.findall("NoncurrentVersionTransition")),
        filter=Filter() if bounds is None else Filter(
            size_greater_than=child_count(bounds, "ObjectSizeGreaterThan", 0),
            size_less_than=child_count(bounds, "ObjectSizeLessThan", 0),
            nots=tuple(_not(item, prefix) for item in bounds.findall("Not"))),
    )


def required_count(node: ElementTree.Element, tag: str) -> int:
    value = child_count(node, tag)
    if value is None:
        raise _malformed(f"{node.tag} needs {tag}.")
    return value


def _abort(node: ElementTree.Element) -> AbortUploads:
    abort = AbortUploads(days=child_count(node, "Days"), created_before=child_date(node, "CreatedBeforeDate"))
    if (abort.days is None) == (abort.created_before is None):
        raise _malformed("AbortMultipartUpload needs exactly one of Days or CreatedBeforeDate.")
    return abort


def _not(node: ElementTree.Element, rule_prefix: str) -> Not:
    tag = one_child(node, "Tag")
    prefix = child_text(node, "Prefix")
    return Not(rule_prefix if prefix is None else prefix, None if tag is None else tag_pair(tag))


def lifecycle_rules(body: bytes) -> list[Rule]:
    root = parse_xml_body(body, "LifecycleConfiguration", _MAX_ELEMENTS)
    return [_rule(node) for node in root.iterfind("Rule")]


async def parse_put_bucket_lifecycle(call: Call) -> BucketLifecycle:
    rules = await call.offload(lifecycle_rules, await read_body(call))
    allow_overlap = call.headers.get("x-oss-allow-same-action-overlap", "").lower() == "true"
    return BucketLifecycle(call.bucket, rules, allow_overlap)


# ---- rendering ----

def iso_date(date: datetime.date | None) -> str | None:
    return None if date is None else f"{date.isoformat()}T00:00:00.000Z"


def _transition_children(transition: Transition | NoncurrentTransition) -> list[tuple[str, object]]:
    return [("StorageClass", transition.storage_class), ("IsAccessTime", transition.is_access_time),
            ("ReturnToStdWhenVisit", transition.return_to_std_when_visit),
            ("AllowSmallFile", transition.allow_small_file)]


def _tag_children(tag: tuple[str, str]) -> list[tuple[str, object]]:
    return [("Key", tag[0]), ("Value", tag[1])]


def _filter_children(bounds: Filter) -> list[tuple[str, object]] | None:
    children = [("ObjectSizeGreaterThan", bounds.size_greater_than), ("ObjectSizeLessThan", bounds.size_less_than),
                *(("Not", [("Prefix", item.prefix), ("Tag", item.tag and _tag_children(item.tag))])
                  for item in bounds.nots)]
    return children if any(value is not None for _, value in children) else None


def _rule_children(rule: Rule) -> list[tuple[str, object]]:
    expiration, abort = rule.expiration, rule.abort_uploads
    return [
        ("ID", rule.id), ("Prefix", rule.prefix), ("Status", "Enabled" if rule.enabled else "Disabled"),
        ("Filter", _filter_children(rule.filter)),
        ("Expiration", expiration and [
            ("Days", expiration.days), ("CreatedBeforeDate", iso_date(expiration.created_before)),
            ("Date", iso_date(expiration.date)), ("ExpiredObjectDeleteMarker", expiration.expired_delete_marker)]),
        *(("Transition", [*_transition_children(item), ("Days", item.days),
                          ("CreatedBeforeDate", iso_date(item.created_before))]) for item in rule.transitions),
        ("AbortMultipartUpload", abort and [("Days", abort.days),
                                            ("CreatedBeforeDate", iso_date(abort.created_before))]),
        *(("Tag", _tag_children(tag)) for tag in rule.tags),
        ("NoncurrentVersionExpiration", rule.noncurrent_expiration_days and [
            ("NoncurrentDays", rule.noncurrent_expiration_days)]),
        *(("NoncurrentVersionTransition", [("NoncurrentDays", item.noncurrent_days), *_transition_children(item)])
          for item in rule.noncurrent_transitions),
    ]


def render_get_bucket_lifecycle(call: Call, request: BucketRef, rules: list[Rule]) -> web.StreamResponse:
    return xml_response(xml_document("LifecycleConfiguration", [("Rule", _rule_children(rule)) for rule in rules]))
