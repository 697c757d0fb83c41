"""Bucket and object ACLs: PutBucketAcl, GetBucketAcl, PutObjectAcl, GetObjectAcl."""

from __future__ import annotations

from aiohttp import web

from ...protocol.errors import OssError
from ...protocol.xmlutil import xml_document
from ..context import Call
from ..responses import empty_response, xml_response
from .common import owner_xml

BUCKET_ACLS = ("private", "public-read", "public-read-write")
OBJECT_ACLS = ("default", *BUCKET_ACLS)


def checked_acl(value: str | None, allowed: tuple[str, ...], header: str) -> str:
    if value not in allowed:
        raise OssError("InvalidArgument", "no such bucket access control exists" if header == "x-oss-acl"
                       else "no such object access control exists", ArgumentName=header, ArgumentValue=value or "")
    return value


def _policy(call: Call, grant: str) -> bytes:
    children = [("Owner", owner_xml(call.owner_id)), ("AccessControlList", [("Grant", grant)])]
    return xml_document("AccessControlPolicy", children)


async def handle_put_bucket_acl(call: Call) -> web.StreamResponse:
    acl = checked_acl(call.headers.get("x-oss-acl"), BUCKET_ACLS, "x-oss-acl")
    await call.storage.update_bucket(call.bucket, acl=acl)
    return empty_response()


async def handle_get_bucket_acl(call: Call) -> web.StreamResponse:
    return xml_response(_policy(call, (await call.storage.get_bucket(call.bucket)).acl))


async def handle_put_object_acl(call: Call) -> web.StreamResponse:
    acl = checked_acl(call.headers.get("x-oss-object-acl"), OBJECT_ACLS, "x-oss-object-acl")
    await call.storage.update_object(call.bucket, call.key, acl=acl)
    return empty_response()


async def handle_get_object_acl(call: Call) -> web.StreamResponse:
    return xml_response(_policy(call, (await call.storage.head_object(call.bucket, call.key)).acl))
