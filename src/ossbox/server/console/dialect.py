"""The console's dialect: OSS requests sent through a signed-in session, under `/-/console/api/`.

Strategy: everything but identification is OSS's own: the target with the `/-/console/api` prefix taken off
is located as OSS locates a path-style request (whatever the Host), and the codecs, error documents and
response headers are OSS's. Who is asking is the session's access key id: the session is looked up before
dispatch (its file is read off the event loop) and kept on the request as `request[SESSION]`. Without one the
request is refused AccessDenied, as is any request but GET and HEAD whose `X-CSRF-Token` header is not the
session's: a page of another site cannot read that token, so it cannot make the browser change anything. A
session counts as a signed request (`Dialect.session`): the session cookie (SameSite=Strict) never travels
with a link or a form from another site, so the bucket's referer rules, which guard links, do not apply.
Every answer is stamped with headers that keep an object's bytes from running as a page of the console's
origin (replies.API_HEADERS).
"""

from __future__ import annotations

from aiohttp import web

from ...protocol.errors import OssError
from ...protocol.names import check_bucket_name
from ..addressing import Address, parse_target
from ..context import ServerConfig
from ..dialects import Dialect
from ..oss import CODECS, render
from ..router import route
from .replies import API_HEADERS, secured
from .sessions import Session

__all__ = ["API_PREFIX", "CONSOLE", "CSRF_HEADER", "SESSION"]

API_PREFIX = "/-/console/api"
CSRF_HEADER = "X-CSRF-Token"
SESSION = web.RequestKey("console_session", Session)
_SAFE_METHODS = frozenset({"GET", "HEAD"})


def _locate(request: web.Request, _config: ServerConfig) -> tuple[Address, str]:
    address = parse_target(request.host, request.raw_path.removeprefix(API_PREFIX))  # no base domain: path style
    if address.bucket is not None:
        check_bucket_name(address.bucket)
    return address, route(request.method, address, request.headers)


def _identify(request: web.Request, _address: Address, _config: ServerConfig) -> tuple[str, None]:
    session = request.get(SESSION)
    if session is None:
        raise OssError("AccessDenied", "Sign in to the console first: this request has no console session, or "
                                       "its session has expired or was signed out.")
    if request.method not in _SAFE_METHODS and not session.csrf_matches(request.headers.get(CSRF_HEADER)):
        raise OssError("AccessDenied", f"The request's {CSRF_HEADER} header is missing or is not its console "
                                       "session's, so it was refused: reload the console and try again.")
    return session.key_id, None


def _stamp(response: web.StreamResponse, request_id: str) -> web.StreamResponse:
    return secured(render.stamp(response, request_id), API_HEADERS)


CONSOLE = Dialect(_locate, _identify, CODECS, render.error_response, _stamp, session=True)
