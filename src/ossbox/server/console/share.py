"""Sharing an object: a presigned OSS URL, signed with the session's access key, that anyone may open.

Strategy: the link is an ordinary V4 presigned GetObject URL (protocol/signing.py, the code the SDKs' presign
and the server's verifier share), path style, at the scheme and host the browser used to reach the console,
so it works wherever the console does, without a cookie. Its lifetime is bounded as OSS bounds V4 presigned
URLs: 1 second to 7 days. The key's path keeps its slashes, so the link's last segment is the file's name,
unless a segment is `.` or `..`, which a browser would resolve away: then every slash is sent as `%2F`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from ...protocol.authentication import MAX_PRESIGN_SECONDS
from ...protocol.dates import v4_datetime
from ...protocol.errors import OssError
from ...protocol.names import check_bucket_name, check_object_key
from ...protocol.signing import SignedParts, uri_encode, v4_presign_params
from ..dispatch import Services
from .bodies import read_document
from .replies import error_reply, json_reply
from .signin import changing_session

__all__ = ["ShareRequest", "presigned_url", "share", "share_request"]


@dataclass(frozen=True)
class ShareRequest:
    """What the page asks to share, checked: bucket, key, seconds the link lives."""

    bucket: str
    key: str
    expires: int


def share_request(document: object) -> ShareRequest:
    """The JSON document `{bucket, key, expires}` checked; OssError (InvalidArgument...) if it is not right."""
    if not isinstance(document, dict):
        raise OssError("InvalidArgument", "Send a JSON object with bucket, key and expires.")
    bucket, key, expires = document.get("bucket"), document.get("key"), document.get("expires")
    if not isinstance(bucket, str) or not isinstance(key, str):
        raise OssError("InvalidArgument", "bucket and key must be strings.")
    check_bucket_name(bucket)
    check_object_key(key)
    if isinstance(expires, bool) or not isinstance(expires, int) or not 1 <= expires <= MAX_PRESIGN_SECONDS:
        raise OssError("InvalidArgument", f"expires must be a whole number of seconds from 1 to "
                                          f"{MAX_PRESIGN_SECONDS} (7 days).")
    return ShareRequest(bucket, key, expires)


def _path(bucket: str, key: str) -> str:
    segments = key.split("/")
    separator = "%2F" if any(segment in (".", "..") for segment in segments) else "/"
    return f"/{bucket}/" + separator.join(uri_encode(segment) for segment in segments)


def presigned_url(base_url: str, share: ShareRequest, access_key_id: str, secret: str, region: str,
                  now: float) -> str:
    """`base_url` is `scheme://host` as the browser reached the server."""
    parts = SignedParts("GET", share.bucket, share.key)
    params = v4_presign_params(parts, access_key_id, secret, region, v4_datetime(now), share.expires)
    query = "&".join(f"{uri_encode(name)}={uri_encode(value)}" for name, value in params.items())
    return f"{base_url}{_path(share.bucket, share.key)}?{query}"


async def share(request: web.Request, services: Services) -> web.Response:
    """`POST /-/console/share`: the link, for a signed-in session that sends its CSRF token."""
    session = await changing_session(request, services, "share objects")
    if isinstance(session, web.Response):
        return session
    try:
        wanted = share_request(await read_document(request))
    except OssError as error:
        return error_reply(400, error.code, error.message)
    secret = services.config.credentials[session.key_id]
    region = services.config.region or "cn-hangzhou"  # a server without a region accepts any
    url = presigned_url(f"{request.scheme}://{request.host}", wanted, session.key_id, secret, region, time.time())
    return json_reply({"url": url, "expires": wanted.expires})
