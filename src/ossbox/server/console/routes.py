"""Which console endpoint a request under `/-/console` is for.

Strategy: matched on the raw path (never a decoded or normalised one): `/-/console/api/...` is the OSS API
through the session (dialect.py) and `/-/console/static/<name>` a file of the page (assets.py); the page
itself, the session and sharing have one path each, and everything else is 404. `/-/console` redirects to
`/-/console/`, where the session cookie's path begins.
"""

from __future__ import annotations

from aiohttp import web

from ..dispatch import Services, respond
from .assets import serve_asset
from .dialect import API_PREFIX, CONSOLE, SESSION
from .replies import error_reply, secured
from .share import share
from .signin import COOKIE_PATH, current_session, sign_in, sign_out, who_is_signed_in

__all__ = ["handle"]

_STATIC_PREFIX = COOKIE_PATH + "static/"
_ENDPOINTS = {
    COOKIE_PATH + "session": {"GET": who_is_signed_in, "POST": sign_in, "DELETE": sign_out},
    COOKIE_PATH + "share": {"POST": share},
}


async def _api(request: web.Request, services: Services, reclaim) -> web.StreamResponse:
    session = await current_session(request, services)
    if session is not None:
        request[SESSION] = session
    return await respond(request, services, reclaim, dialect=CONSOLE)


def _not_allowed(allowed) -> web.Response:
    response = error_reply(405, "MethodNotAllowed", "The console does not take this method here.")
    response.headers["Allow"] = ", ".join(allowed)
    return response


async def handle(request: web.Request, services: Services, reclaim) -> web.StreamResponse:
    path = request.raw_path.partition("?")[0]
    if path.startswith(API_PREFIX + "/"):
        return await _api(request, services, reclaim)
    if path == COOKIE_PATH.rstrip("/"):
        return secured(web.Response(status=308, headers={"Location": COOKIE_PATH}))
    if path == COOKIE_PATH or path.startswith(_STATIC_PREFIX):
        if request.method not in ("GET", "HEAD"):
            return _not_allowed(("GET", "HEAD"))
        name = "index.html" if path == COOKIE_PATH else path.removeprefix(_STATIC_PREFIX)
        return await serve_asset(name, services.offload)
    methods = _ENDPOINTS.get(path)
    if methods is None:
        return error_reply(404, "NotFound", "The console has no such page.")
    if request.method not in methods:
        return _not_allowed(methods)
    return await methods[request.method](request, services)
