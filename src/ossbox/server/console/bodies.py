"""Reading the small documents the console's own endpoints take: a sign-in's credentials, a share request.

Strategy: a body must declare its length, at most `MAX_BODY` bytes, before any of it is read; it is JSON when
its Content-Type says so, else an HTML form's `application/x-www-form-urlencoded` fields (one value each).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from aiohttp import web

from ...protocol.errors import OssError

__all__ = ["MAX_BODY", "read_document"]

MAX_BODY = 16 << 10


async def read_document(request: web.Request) -> object:
    """The body's JSON value, or its form fields as a dict; OssError when it is too large or malformed."""
    length = request.content_length
    if length is None or length > MAX_BODY:
        raise OssError("InvalidArgument", f"The request body must declare its length, at most {MAX_BODY} bytes.")
    body = await request.read()
    try:
        if request.content_type == "application/json":
            return json.loads(body)
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    except (ValueError, RecursionError):  # UnicodeDecodeError, JSONDecodeError; nesting deeper than Python goes
        raise OssError("InvalidArgument", "The request body is not valid JSON or form data.") from None
