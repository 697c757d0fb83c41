"""Which bucket and key a request names, from its Host header and raw request target.

Strategy: path style (`/bucket/key`, what the SDKs use for an IP or `localhost` endpoint) unless the
Host is `<bucket>.<base domain>`, which is virtual-hosted style (`/key`). The raw target is decoded
here, once, without any normalisation: `%2F` is a slash, `+` in the path stays a plus, and `..`
segments are ordinary characters of the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus

from ..protocol.errors import OssError

__all__ = ["Address", "parse_query", "parse_target", "host_bucket"]


@dataclass(frozen=True)
class Address:
    bucket: str | None
    key: str | None
    params: tuple[tuple[str, str], ...]

    def param(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.params:
            if k == name:
                return v
        return default

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.params)


def _decode(text: str, plus_is_space: bool = False) -> str:
    try:
        return (unquote_plus if plus_is_space else unquote)(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise OssError("InvalidArgument", "The request URI is not valid percent-encoded UTF-8.") from None


def parse_query(query: str) -> tuple[tuple[str, str], ...]:
    """Decoded (name, value) pairs in order; a bare flag (`?uploads`) has the value "".

    In the query a `+` is a space: oss2 sends its parameters form-encoded (space as `+`, plus as
    `%2B`), the v2 SDK sends `%20`. In the path, `+` is a plus."""
    pairs = []
    for item in query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((_decode(name, plus_is_space=True), _decode(value, plus_is_space=True)))
    return tuple(pairs)


def host_bucket(host: str, base_domain: str | None) -> str | None:
    if not base_domain:
        return None
    try:
        host.encode("utf-8")
    except UnicodeEncodeError:  # aiohttp hands header bytes that are not UTF-8 over as lone surrogates
        raise OssError("InvalidArgument", "The Host header is not valid UTF-8.") from None
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.lower().rstrip(".")
    suffix = "." + base_domain.lower().rstrip(".")
    if hostname.endswith(suffix) and len(hostname) > len(suffix):
        return hostname[: -len(suffix)]
    return None


def parse_target(host: str, raw_target: str, base_domain: str | None = None) -> Address:
    path, _, query = raw_target.partition("?")
    params = parse_query(query)
    if not path.startswith("/"):
        raise OssError("InvalidArgument", "The request target must be an absolute path.")
    bucket = host_bucket(host, base_domain)
    if bucket is not None:
        key = _decode(path[1:])
        return Address(bucket, key or None, params)
    bucket_part, _, key_part = path[1:].partition("/")
    bucket = _decode(bucket_part) or None
    key = _decode(key_part) or None
    return Address(bucket, key if bucket else None, params)
