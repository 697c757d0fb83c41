"""What every console response carries, and the JSON answers of the console's own endpoints.

Strategy: the page's files get a Content-Security-Policy allowing nothing but the console's own scripts, styles
and requests; the API's answers (objects' bytes among them, which may be HTML or SVG someone uploaded) get one
that allows nothing at all and sandboxes the document, so an object opened in the console's origin can never run
script there. Both forbid framing, sniffing and sending a Referer.
"""

from __future__ import annotations

from aiohttp import web

__all__ = ["API_HEADERS", "PAGE_HEADERS", "error_reply", "json_reply", "secured"]

_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
PAGE_HEADERS = {
    **_COMMON_HEADERS,
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-cache",
}
_JSON_HEADERS = {**PAGE_HEADERS, "Cache-Control": "no-store"}  # CSRF tokens and presigned links: never cached
API_HEADERS = {
    **_COMMON_HEADERS,
    "Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'none'",
}


def secured(response: web.StreamResponse, headers: dict[str, str] = PAGE_HEADERS) -> web.StreamResponse:
    response.headers.update(headers)
    return response


def json_reply(payload: dict, status: int = 200) -> web.Response:
    return secured(web.json_response(payload, status=status), _JSON_HEADERS)


def error_reply(status: int, code: str, message: str) -> web.Response:
    return json_reply({"code": code, "message": message}, status)
