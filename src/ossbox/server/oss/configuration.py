"""The OSS codec of ACLs, tags, symlinks, appends and referers: PutBucketAcl, GetBucketAcl, PutObjectAcl,
GetObjectAcl, the six tagging operations, PutSymlink, GetSymlink, AppendObject, PutBucketReferer,
GetBucketReferer, PutBucketPolicy and GetBucketPolicy (a JSON document, not XML)."""

from __future__ import annotations

from urllib.parse import quote, unquote

from aiohttp import web

from ...protocol.dates import http_date
from ...protocol.errors import OssError
from ...protocol.xmlutil import xml_document
from ...storage.records import ObjectRecord
from ..context import Call
from ..operations import acl, append, policy, referer, symlink, tags
from ..operations.referer import RefererConfiguration
from ..operations.values import MAX_OBJECT_SIZE, ObjectRef
from ..responses import empty_response, xml_response
from .render import owner_xml, version_header, write_headers
from .requests import (BUCKET_ACLS, OBJECT_ACLS, USER_META_PREFIX, attributes, checked_acl, int_param,
                       overwrite_allowed, parse_xml_body, read_body, upload, version_id)

__all__ = ["parse_object", "render_ok", "render_no_content", "parse_put_bucket_acl", "parse_put_object_acl",
           "render_acl", "tag_pairs", "parse_put_object_tagging", "parse_put_bucket_tags", "parse_delete_bucket_tags",
           "render_tagging", "parse_put_symlink", "render_put_symlink", "render_get_symlink", "parse_append_object",
           "render_append_object", "parse_put_bucket_referer", "render_get_bucket_referer", "parse_put_bucket_policy",
           "render_get_bucket_policy"]


async def parse_object(call: Call) -> ObjectRef:
    return ObjectRef(call.bucket, call.key, version_id(call))


def render_ok(call: Call, request: object, _result: None) -> web.StreamResponse:
    return empty_response()


def render_no_content(call: Call, request: object, _result: None) -> web.StreamResponse:
    return empty_response(204)


# ---- ACLs ----

def _policy(call: Call, grant: str) -> web.StreamResponse:
    children = [("Owner", owner_xml(call.config.owner_id)), ("AccessControlList", [("Grant", grant)])]
    return xml_response(xml_document("AccessControlPolicy", children))


async def parse_put_bucket_acl(call: Call) -> acl.BucketAcl:
    return acl.BucketAcl(call.bucket, checked_acl(call.headers.get("x-oss-acl"), BUCKET_ACLS, "x-oss-acl"))


async def parse_put_object_acl(call: Call) -> acl.ObjectAcl:
    value = checked_acl(call.headers.get("x-oss-object-acl"), OBJECT_ACLS, "x-oss-object-acl")
    return acl.ObjectAcl(call.bucket, call.key, value, version_id(call))


def render_acl(call: Call, request: object, grant: str) -> web.StreamResponse:
    return _policy(call, grant)


# ---- tags ----

def tag_pairs(body: bytes) -> list[tuple[str, str]]:
    """The (key, value) pairs of a `<Tagging>` document, unchecked."""
    root = parse_xml_body(body, "Tagging")
    return [(tag.findtext("Key") or "", tag.findtext("Value") or "") for tag in root.iterfind("TagSet/Tag")]


async def parse_put_object_tagging(call: Call) -> tags.ObjectTagging:
    tagging_version = version_id(call)  # refused before the body is read
    return tags.ObjectTagging(call.bucket, call.key, await call.offload(tag_pairs, await read_body(call)),
                              tagging_version)


async def parse_put_bucket_tags(call: Call) -> tags.BucketTagging:
    return tags.BucketTagging(call.bucket, await call.offload(tag_pairs, await read_body(call)))


async def parse_delete_bucket_tags(call: Call) -> tags.BucketTagsDeletion:
    keys = call.param("tagging") or ""  # `?tagging=k1,k2` deletes those tags; a bare `?tagging`, all of them
    return tags.BucketTagsDeletion(call.bucket, keys.split(",") if keys else None)


def render_tagging(call: Call, request: object, tagging: dict[str, str]) -> web.StreamResponse:
    tag_set = [("Tag", [("Key", key), ("Value", value)]) for key, value in tagging.items()]
    return xml_response(xml_document("Tagging", [("TagSet", tag_set)]))


# ---- symlinks ----

async def parse_put_symlink(call: Call) -> symlink.PutSymlinkRequest:
    target = unquote(call.headers.get("x-oss-symlink-target", ""))
    if not target:
        raise OssError("InvalidArgument", "PutSymlink needs x-oss-symlink-target.", ArgumentName="x-oss-symlink-target")
    return symlink.PutSymlinkRequest(call.bucket, call.key, target, attributes(call), overwrite_allowed(call))


def render_put_symlink(call: Call, request: symlink.PutSymlinkRequest, record: ObjectRecord) -> web.StreamResponse:
    return empty_response(headers={"ETag": record.etag, **version_header(record)})


def render_get_symlink(call: Call, request: ObjectRef, record: ObjectRecord) -> web.StreamResponse:
    headers = {
        "x-oss-symlink-target": quote(record.symlink_target, safe=""),
        "ETag": record.etag,
        "Last-Modified": http_date(record.mtime),
        **version_header(record),
    }
    headers.update({USER_META_PREFIX + name: value for name, value in record.user_meta.items()})
    return empty_response(headers=headers)


# ---- appends ----

async def parse_append_object(call: Call) -> append.AppendRequest:
    position = int_param(call.param("position"), "position", -1, 0, MAX_OBJECT_SIZE)
    if position < 0:
        raise OssError("InvalidArgument", "AppendObject needs a position.", ArgumentName="position")
    # Metadata, ACL and tags count on the first append only; later appends ignore them, even invalid ones.
    return append.AppendRequest(call.bucket, call.key, position, attributes(call) if position == 0 else None,
                                upload(call))


def render_append_object(call: Call, request: append.AppendRequest, record: ObjectRecord) -> web.StreamResponse:
    headers = write_headers(record)
    headers["x-oss-next-append-position"] = str(record.size)
    return empty_response(headers=headers)


# ---- referer ----

def referer_configuration(body: bytes) -> RefererConfiguration:
    root = parse_xml_body(body, "RefererConfiguration")

    def flag(tag: str, default: bool) -> bool:
        text = (root.findtext(tag) or "").strip().lower()
        if text not in ("", "true", "false"):
            raise OssError("MalformedXML", f"{tag} must be true or false.")
        return default if not text else text == "true"

    if root.find("AllowEmptyReferer") is None:
        raise OssError("MalformedXML", "RefererConfiguration needs AllowEmptyReferer.")
    return RefererConfiguration(
        allow_empty=flag("AllowEmptyReferer", True),
        referers=tuple(node.text or "" for node in root.iterfind("RefererList/Referer")),
        allow_truncate_query_string=flag("AllowTruncateQueryString", True),
        blacklist=tuple(node.text or "" for node in root.iterfind("RefererBlacklist/Referer")),
    )


async def parse_put_bucket_referer(call: Call) -> referer.BucketReferer:
    return referer.BucketReferer(call.bucket, await call.offload(referer_configuration, await read_body(call)))


def render_get_bucket_referer(call: Call, request: object, configuration: RefererConfiguration
                              ) -> web.StreamResponse:
    return xml_response(xml_document("RefererConfiguration", [
        ("AllowEmptyReferer", configuration.allow_empty),
        ("AllowTruncateQueryString", configuration.allow_truncate_query_string),
        ("RefererList", [("Referer", value) for value in configuration.referers]),
        ("RefererBlacklist", [("Referer", value) for value in configuration.blacklist]),
    ]))


# ---- bucket policy ----

async def parse_put_bucket_policy(call: Call) -> policy.BucketPolicy:
    body = await read_body(call)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise OssError("InvalidPolicyDocument", "The policy is not UTF-8 text.") from None
    return policy.BucketPolicy(call.bucket, text)


def render_get_bucket_policy(call: Call, request: object, text: str) -> web.StreamResponse:
    return web.Response(body=text.encode("utf-8"), content_type="application/json")

