"""Object and bucket tagging: `?tagging` get/put/delete, and `x-oss-tagging` on writes.

Strategy: tags arrive either as a `<Tagging>` document or as a URL-encoded query string in the
`x-oss-tagging` header; both are parsed and validated here against OSS's rules, which are stricter
for objects (10 tags; keys up to 128 and values up to 256 characters of letters, digits, spaces and
`+ - = . _ : /`) than for buckets (20 tags; keys up to 64, values up to 128, any characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web

from ...protocol.errors import OssError
from ...protocol.xmlutil import xml_document
from ..context import Call
from ..responses import empty_response, xml_response
from .common import parse_xml_body, read_body


@dataclass(frozen=True)
class TagRules:
    max_tags: int
    max_key: int
    max_value: int
    allowed: re.Pattern | None  # characters allowed in keys and values; None: any


OBJECT_TAG_RULES = TagRules(10, 128, 256, re.compile(r"^[\w +\-=._:/]*$"))
BUCKET_TAG_RULES = TagRules(20, 64, 128, None)


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


def tags_from_header(value: str | None) -> dict[str, str]:
    """The tags of an `x-oss-tagging: k1=v1&k2=v2` header (object rules); {} when absent."""
    if value is None:
        return {}
    try:
        pairs = parse_qsl(value, keep_blank_values=True, strict_parsing=bool(value))
    except ValueError:
        raise _invalid("x-oss-tagging must be a URL query string such as k1=v1&k2=v2.") from None
    return validate_tags(pairs, OBJECT_TAG_RULES)


def parse_tagging_document(body: bytes, rules: TagRules) -> dict[str, str]:
    root = parse_xml_body(body, "Tagging")
    pairs = [(tag.findtext("Key") or "", tag.findtext("Value") or "") for tag in root.iterfind("TagSet/Tag")]
    return validate_tags(pairs, rules)


def tagging_document(tags: dict[str, str]) -> bytes:
    tag_set = [("Tag", [("Key", key), ("Value", value)]) for key, value in tags.items()]
    return xml_document("Tagging", [("TagSet", tag_set)])


async def handle_put_object_tagging(call: Call) -> web.StreamResponse:
    tags = await call.offload(parse_tagging_document, await read_body(call), OBJECT_TAG_RULES)
    await call.storage.update_object(call.bucket, call.key, tags=tags)
    return empty_response()


async def handle_get_object_tagging(call: Call) -> web.StreamResponse:
    return xml_response(tagging_document((await call.storage.head_object(call.bucket, call.key)).tags))


async def handle_delete_object_tagging(call: Call) -> web.StreamResponse:
    await call.storage.update_object(call.bucket, call.key, tags={})
    return empty_response(204)


async def handle_put_bucket_tags(call: Call) -> web.StreamResponse:
    tags = await call.offload(parse_tagging_document, await read_body(call), BUCKET_TAG_RULES)
    await call.storage.update_bucket(call.bucket, tags=tags)
    return empty_response()


async def handle_get_bucket_tags(call: Call) -> web.StreamResponse:
    return xml_response(tagging_document((await call.storage.get_bucket(call.bucket)).tags))


async def handle_delete_bucket_tags(call: Call) -> web.StreamResponse:
    keys = call.param("tagging") or ""
    tags = {} if not keys else {
        k: v for k, v in (await call.storage.get_bucket(call.bucket)).tags.items() if k not in keys.split(",")
    }
    await call.storage.update_bucket(call.bucket, tags=tags)
    return empty_response(204)
