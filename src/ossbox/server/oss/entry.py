"""How the OSS codec reads who is asking for what: the request's address, its signature and its operation.

Strategy: the target is decoded once (server/addressing.py), the signature checked on the headers and query
parameters exactly as sent, each with its one value (a header or parameter sent twice is refused: the
signature would cover one value and the operation might use the other), and the operation named by the
router. Nothing here reads a body.
"""

from __future__ import annotations

import time

from aiohttp import web

from ...protocol.authentication import authenticate
from ...protocol.errors import OssError
from ...protocol.names import check_bucket_name
from ...protocol.signing import SignedParts
from ..addressing import Address, parse_target
from ..context import ServerConfig
from ..router import route

__all__ = ["locate", "identify", "signed_parts"]

# Headers a client may legitimately send more than once, which nothing signs or stores. Any other header
# sent twice is refused: a signature checks one value, and a second must not be what gets stored or used.
_REPEATABLE_HEADERS = frozenset({
    "accept", "accept-charset", "accept-encoding", "accept-language", "connection", "cookie", "forwarded", "te",
    "via", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
})


def signed_parts(request: web.Request, address: Address) -> SignedParts:
    """What the signature covers, each header and query parameter with its one value: any that comes twice
    is refused (400), since the signature would check one value and the handler could use the other."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered in headers and lowered not in _REPEATABLE_HEADERS:
            raise OssError("InvalidArgument", f"The header {name} appears more than once.", ArgumentName=name)
        headers.setdefault(lowered, value)
    names: set[str] = set()
    for name, _ in address.params:
        if name in names:
            raise OssError("InvalidArgument", f"The query parameter {name} appears more than once.",
                           ArgumentName=name)
        names.add(name)
    return SignedParts(request.method, address.bucket, address.key, address.params, headers)


def locate(request: web.Request, config: ServerConfig) -> tuple[Address, str]:
    """The request's address and the operation it names, before authentication."""
    address = parse_target(request.host, request.raw_path, config.base_domain)
    if address.bucket is not None:
        check_bucket_name(address.bucket)  # before any query: no name OSS refuses reaches the database
    return address, route(request.method, address, request.headers)


def identify(request: web.Request, address: Address, config: ServerConfig) -> str | None:
    """The access key id that signed the request, None for an anonymous one; OssError if the signature
    does not hold."""
    return authenticate(signed_parts(request, address), config.credentials.get, time.time(), config.region)
