"""The page's own files, served from the package's `static/` directory.

Strategy: a name is served only if it is a plain file name (letters, digits, `-`, `_`, one extension the
console uses) matched on the raw path, so nothing outside the directory can be named, however encoded. Files
are read off the event loop on every request (they are small) and never cached by the browser without asking
again, so an upgraded server serves its own page at once.
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from ..offload import Offload
from .replies import error_reply, secured

__all__ = ["serve_asset"]

_DIRECTORY = Path(__file__).with_name("static")
_CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
}
_NAME = re.compile(r"[A-Za-z0-9_-]+\.(html|js|css|svg)")


async def serve_asset(name: str, offload: Offload) -> web.Response:
    match = _NAME.fullmatch(name)
    if match is None:
        return error_reply(404, "NotFound", "The console has no such file.")
    try:
        body = await offload((_DIRECTORY / name).read_bytes)
    except FileNotFoundError:
        return error_reply(404, "NotFound", "The console has no such file.")
    return secured(web.Response(body=body, headers={"Content-Type": _CONTENT_TYPES[match.group(1)]}))
