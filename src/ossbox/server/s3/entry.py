"""How the S3 codec reads who is asking for what: the request's address, its SigV4 signature and its
operation. Nothing here reads a body."""

from __future__ import annotations

import time
from urllib.parse import unquote

from aiohttp import web

from ...protocol.errors import OssError
from ...protocol.names import check_bucket_name
from ...protocol.s3authentication import S3Signer, authenticate_s3
from ..addressing import Address, host_bucket, parse_target
from ..context import ServerConfig
from ..oss.entry import signed_parts
from .router import S3_SUBRESOURCES, route_s3

__all__ = ["locate", "identify"]


def locate(request: web.Request, config: ServerConfig) -> tuple[Address, str]:
    """The request's address (path or virtual-hosted style, as on the OSS port) and the operation it names."""
    address = parse_target(request.host, request.raw_path, config.base_domain)
    if address.bucket is not None:
        check_bucket_name(address.bucket)
    return address, route_s3(request.method, address, request.headers)


def _path(request: web.Request) -> str:
    """The request's path, decoded once, as SigV4's canonical URI encodes it again."""
    try:
        return unquote(request.raw_path.partition("?")[0], errors="strict")
    except UnicodeDecodeError:
        raise OssError("InvalidArgument", "The request URI is not valid percent-encoded UTF-8.") from None


def _raw_resource(request: web.Request, config: ServerConfig) -> str:
    """`/bucket/key` with the key as sent (SigV2 signs it so), whichever the addressing style."""
    raw = request.raw_path.partition("?")[0]
    bucket = host_bucket(request.host, config.base_domain)
    return raw if bucket is None else f"/{bucket}{raw}"


def identify(request: web.Request, address: Address, config: ServerConfig) -> tuple[str | None, S3Signer | None]:
    """The access key id that signed the request (None: anonymous) and its signature; OssError if the
    signature does not hold."""
    signer = authenticate_s3(signed_parts(request, address), _path(request), _raw_resource(request, config),
                             config.credentials.get, time.time(), config.s3_region, S3_SUBRESOURCES)
    return (signer.access_key_id if signer is not None else None), signer
