"""ETags on the wire: quoted in headers and XML (`"5EB6...A1"`), bare in the client's results."""

from __future__ import annotations

__all__ = ["quote_etag", "unquote_etag"]


def quote_etag(etag: str) -> str:
    """The ETag as headers and XML carry it: in double quotes, added only if missing (a conditional header's
    `*` and weak `W/"..."` are kept as given)."""
    etag = etag.strip()
    if etag == "*" or etag.startswith("W/") or (len(etag) >= 2 and etag.startswith('"') and etag.endswith('"')):
        return etag
    return f'"{etag}"'


def unquote_etag(value: str) -> str:
    """The ETag without its quotes, as oss2's results hold it."""
    return value.strip().strip('"')
