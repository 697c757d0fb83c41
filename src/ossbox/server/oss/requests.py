"""Reading OSS requests: what the codec's parsers share (query numbers, headers into attributes and
conditions, request bodies, XML documents).

Strategy: everything here knows OSS's wire names (`x-oss-*`, `response-*`, query parameters) and turns them
into the operations' typed values, refusing what no value can hold with a 4xx OssError: a header that is not
UTF-8, a number in another script's digits, user metadata past OSS's 8 KiB.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import xml.etree.ElementTree as ElementTree
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from ...protocol.errors import OssError
from ...protocol.names import check_bucket_name
from ...protocol.numbers import parse_decimal
from ...protocol.xmlparse import parse_xml
from ...storage.records import STORAGE_CLASSES, is_version_id
from ..context import Call
from ..operations.encryption import requested_encryption
from ..operations.tags import OBJECT_TAG_RULES, validate_tags
from ..operations.values import Attributes, Conditions, Upload
from ..responses import continue_if_expected

__all__ = ["USER_META_PREFIX", "STORED_HEADERS", "MAX_USER_META_SIZE", "int_param", "utf8", "attributes",
           "conditions", "user_metadata", "upload", "overwrite_allowed", "copy_source", "version_id", "expected_md5",
           "read_body", "parse_xml_body", "stall_limited", "tags_from_header", "checked_acl", "BUCKET_ACLS",
           "OBJECT_ACLS"]

USER_META_PREFIX = "x-oss-meta-"
MAX_USER_META_SIZE = 8 << 10  # OSS's limit on all x-oss-meta-* header names and values together
# Headers stored with an object and returned on GET/HEAD, by their canonical spelling.
STORED_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires")
BUCKET_ACLS = ("private", "public-read", "public-read-write")
OBJECT_ACLS = ("default", *BUCKET_ACLS)


def int_param(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    number = parse_decimal(value, low, high)
    if number is None:
        raise OssError("InvalidArgument", f"{name} must be an integer from {low} to {high}.",
                       ArgumentName=name, ArgumentValue=value)
    return number


def utf8(name: str, value: str | None) -> str | None:
    """A header value that is stored or looked up. aiohttp hands bytes that are not UTF-8 over as lone
    surrogates, which no database can take: they are refused here rather than failing there."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise OssError("InvalidArgument", f"The value of {name} is not valid UTF-8.", ArgumentName=name) from None
    return value


def checked_acl(value: str | None, allowed: tuple[str, ...], header: str) -> str:
    if value not in allowed:
        raise OssError("InvalidArgument", "no such bucket access control exists" if header == "x-oss-acl"
                       else "no such object access control exists", ArgumentName=header, ArgumentValue=value or "")
    return value


def tags_from_header(value: str | None) -> dict[str, str]:
    """The tags of an `x-oss-tagging: k1=v1&k2=v2` header (object rules); {} when absent."""
    if value is None:
        return {}
    try:
        pairs = parse_qsl(value, keep_blank_values=True, strict_parsing=bool(value))
    except ValueError:
        raise OssError("InvalidArgument", "x-oss-tagging must be a URL query string such as k1=v1&k2=v2.",
                       ArgumentName="Tagging") from None
    return validate_tags(pairs, OBJECT_TAG_RULES)


def user_metadata(call: Call, prefix: str) -> dict[str, str]:
    """The user metadata of the headers named `prefix` + name (`x-oss-meta-`, `x-amz-meta-`), by lowercased
    name."""
    return {name.lower()[len(prefix):]: utf8(name, value) for name, value in call.headers.items()
            if name.lower().startswith(prefix)}


def attributes(call: Call) -> Attributes:
    """Content-Type, standard headers, user metadata, storage class, ACL and tags from a write request."""
    headers = call.headers
    user_meta = user_metadata(call, USER_META_PREFIX)
    meta_size = sum(len(USER_META_PREFIX) + len(name) + len(value.encode("utf-8")) for name, value in user_meta.items())
    if meta_size > MAX_USER_META_SIZE:
        raise OssError("InvalidArgument", f"The user metadata (x-oss-meta-* names and values) exceeds "
                       f"{MAX_USER_META_SIZE} bytes in total.", ec="0011-00000002", ArgumentName="x-oss-meta-*")
    return Attributes(
        content_type=utf8("Content-Type", headers.get("Content-Type")) or None,
        headers={name: utf8(name, headers[name]) for name in STORED_HEADERS if name in headers},
        user_meta=user_meta,
        storage_class=_storage_class(headers.get("x-oss-storage-class")),
        acl=checked_acl(headers.get("x-oss-object-acl", "default"), OBJECT_ACLS, "x-oss-object-acl"),
        tags=tags_from_header(utf8("x-oss-tagging", headers.get("x-oss-tagging"))),
        encryption=requested_encryption(headers.get("x-oss-server-side-encryption"),
                                        headers.get("x-oss-server-side-encryption-key-id"),
                                        headers.get("x-oss-server-side-data-encryption")),
    )


def refuse_encryption_headers(call: Call) -> None:
    """An upload's parts and its completion take the upload's encryption: naming one is refused, as OSS
    refuses it."""
    for name in ("x-oss-server-side-encryption", "x-oss-server-side-data-encryption",
                 "x-oss-server-side-encryption-key-id"):
        if name in call.headers:
            raise OssError("InvalidArgument", f"{name} is given when the multipart upload starts, not here.",
                           ArgumentName=name, ArgumentValue=call.headers[name])


def _storage_class(value: str | None) -> str | None:
    if value is not None and value not in STORAGE_CLASSES:
        raise OssError("InvalidArgument", "Unsupported storage class.", ArgumentName="x-oss-storage-class",
                       ArgumentValue=value)
    return value


def conditions(call: Call, prefix: str = "") -> Conditions:
    """The conditional headers named `prefix` + `If-Match` and so on (`x-oss-copy-source-` for a copy's)."""
    headers = call.headers
    return Conditions(headers.get(prefix + "If-Match"), headers.get(prefix + "If-Unmodified-Since"),
                      headers.get(prefix + "If-None-Match"), headers.get(prefix + "If-Modified-Since"))


def expected_md5(call: Call) -> bytes | None:
    value = call.headers.get("Content-MD5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise OssError("InvalidDigest", "The Content-MD5 you specified is not valid.")
    return digest


async def stall_limited(request: web.Request, timeout: float):
    """The body's chunks as they arrive (asking for them with `100 Continue` if the client waits for it); a
    body that sends nothing for `timeout` seconds is given up, so a stalled or abandoned upload cannot hold its
    connection, file and temporary blob forever."""
    await continue_if_expected(request)
    while True:
        try:
            chunk = await asyncio.wait_for(request.content.readany(), timeout)
        except asyncio.TimeoutError:
            raise OssError("RequestTimeout", f"The request body sent nothing for {timeout:g} seconds.") from None
        if not chunk:
            return
        yield chunk


def upload(call: Call) -> Upload:
    """The request's body, to be streamed into a blob: declared by Content-Length or sent chunked."""
    request = call.request
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if request.content_length is None and not chunked:
        raise OssError("MissingContentLength", "You must provide the Content-Length HTTP header.")
    return Upload(stall_limited(request, call.config.body_timeout), request.content_length, expected_md5(call))


async def read_body(call: Call) -> bytes:
    """A whole request body held in memory (an XML document): at most the app's `client_max_size`
    (EntityTooLarge), and given up like an upload's if it stalls for `body_timeout` (RequestTimeout)."""
    limit = call.request.client_max_size
    if (call.request.content_length or 0) > limit:
        raise OssError("EntityTooLarge", "The request body is too large.")
    body = bytearray()
    async for chunk in stall_limited(call.request, call.config.body_timeout):
        body += chunk
        if len(body) > limit:
            raise OssError("EntityTooLarge", "The request body is too large.")
    return bytes(body)


def parse_xml_body(body: bytes, root_tag: str, max_elements: int = 1000) -> ElementTree.Element:
    """The root element of a request's XML body, which must be `root_tag`; 400 MalformedXML otherwise."""
    return parse_xml(body, root_tag, max_elements)


def overwrite_allowed(call: Call) -> bool:
    return call.headers.get("x-oss-forbid-overwrite", "").lower() != "true"


def version_id(call: Call) -> str | None:
    """The `versionId` a request names (None: the current version); one that cannot be a version is refused."""
    return _checked_version_id(call.param("versionId"), "versionId")


def _checked_version_id(value: str | None, name: str) -> str | None:
    if value is not None and not is_version_id(value):
        raise OssError("InvalidArgument", f"{name} is not a valid version id.", ArgumentName=name,
                       ArgumentValue=value)
    return value


def copy_source(call: Call) -> tuple[str, str, str | None]:
    """(bucket, key, version id or None) of `x-oss-copy-source: /bucket/<percent-encoded key>[?versionId=...]`:
    the key's own `?` arrive encoded, so the literal one ends it."""
    path, _, query = utf8("x-oss-copy-source", call.headers["x-oss-copy-source"]).partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise OssError("InvalidArgument", "x-oss-copy-source must be /bucket/key.", ArgumentName="x-oss-copy-source")
    check_bucket_name(bucket)
    version = dict(parse_qsl(query, keep_blank_values=True)).get("versionId") if query else None
    return bucket, key, _checked_version_id(version, "x-oss-copy-source versionId")
