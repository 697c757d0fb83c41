"""Signing in to the console and out of it, and the session a request carries.

Strategy: signing in checks an access key id and secret against the server's credentials (the secret
compared in constant time, as digests so not even its length shows), under the address's turn of the
sign-in throttle (throttle.py), and answers with the session cookie: HttpOnly (no script reads it),
SameSite=Strict (no other site's page sends it), limited to `/-/console/`, Secure when the browser came over
TLS, and living as long as the session's file says (sessions.py), which is what is enforced. A sign-in form
posted by another site's page is refused by its `Origin`, so no one can sign a browser into their own
account. The answer, like `GET /-/console/session`, gives the page the key id and the session's CSRF token;
signing out needs that token and removes the session for every process.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web

from ...protocol.errors import OssError
from ..dispatch import Services
from .bodies import read_document
from .dialect import CSRF_HEADER
from .replies import error_reply, json_reply
from .sessions import COOKIE, SESSION_SECONDS, Session, SessionStore
from .throttle import SignInThrottle

__all__ = ["COOKIE_PATH", "current_session", "session_store", "sign_in", "sign_out", "who_is_signed_in"]

log = logging.getLogger("ossbox.server")

COOKIE_PATH = "/-/console/"
WRONG_CREDENTIALS = "The access key ID or secret is wrong."
_throttle = SignInThrottle()


def session_store(services: Services) -> SessionStore:
    return SessionStore(services.storage.engine.blobs.root)


async def current_session(request: web.Request, services: Services) -> Session | None:
    """The live session the request's cookie names, if its access key is still one of the server's with the
    secret it signed in with (a rotated secret voids the sessions opened with the old one)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    store = session_store(services)
    session = await services.offload(store.find, token)
    if session is None:
        return None
    if not session.opened_with(services.config.credentials.get(session.key_id)):
        await services.offload(store.revoke, token)
        return None
    return session


def _describe(session: Session) -> dict:
    return {"accessKeyId": session.key_id, "csrfToken": session.csrf_token, "expires": int(session.expires)}


def _credentials_hold(credentials: dict[str, str], key_id: str, secret: str) -> bool:
    expected = credentials.get(key_id)
    digests = (hashlib.sha256((expected or "").encode()).digest(),
               hashlib.sha256(secret.encode("utf-8", "surrogateescape")).digest())
    return hmac.compare_digest(*digests) and expected is not None


def _from_this_site(request: web.Request) -> bool:
    """Whether a browser's request comes from a page of this host (one that sends no Origin is no browser's
    cross-site form)."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


async def sign_in(request: web.Request, services: Services) -> web.Response:
    if not _from_this_site(request):
        return error_reply(403, "AccessDenied", "Sign in from the console's own page.")
    try:
        document = await read_document(request)
    except OssError as error:
        return error_reply(400, error.code, error.message)
    key_id = document.get("accessKeyId") if isinstance(document, dict) else None
    secret = document.get("accessKeySecret") if isinstance(document, dict) else None
    if not isinstance(key_id, str) or not isinstance(secret, str) or not key_id or not secret:
        return error_reply(400, "InvalidArgument", "Give both the access key ID and the access key secret.")
    address = request.remote or ""
    async with _throttle.turn(address):
        if not _credentials_hold(services.config.credentials, key_id, secret):
            _throttle.failed(address)
            log.info("console sign-in refused for %r from %s", key_id, address)
            return error_reply(401, "InvalidCredentials", WRONG_CREDENTIALS)
    token, session = await services.offload(session_store(services).create, key_id, secret)
    response = json_reply(_describe(session))
    response.set_cookie(COOKIE, token, max_age=SESSION_SECONDS, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=True if request.secure else None)
    return response


async def who_is_signed_in(request: web.Request, services: Services) -> web.Response:
    session = await current_session(request, services)
    if session is None:
        return error_reply(401, "NotSignedIn", "Sign in to use the console.")
    return json_reply(_describe(session))


async def changing_session(request: web.Request, services: Services, action: str) -> Session | web.Response:
    """The session of a request that changes something (`action`, as in "sign out"), or the refusal to answer
    it with: 401 without a live session, 403 without the session's CSRF token."""
    session = await current_session(request, services)
    if session is None:
        return error_reply(401, "NotSignedIn", f"Sign in to {action}.")
    if not session.csrf_matches(request.headers.get(CSRF_HEADER)):
        return error_reply(403, "AccessDenied", f"A request to {action} needs the session's {CSRF_HEADER} header.")
    return session


async def sign_out(request: web.Request, services: Services) -> web.Response:
    session = await changing_session(request, services, "sign out")
    if isinstance(session, web.Response):
        return session
    await services.offload(session_store(services).revoke, request.cookies[COOKIE])
    response = json_reply({"signedOut": True})
    response.del_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=True if request.secure else None)
    return response
