"""The two dialects ossbox speaks, OSS and S3, and which one a request is in.

Strategy: a dialect is what `dispatch()` needs to read a request and write its answer: where it points
(`locate`), who signed it (`identify`), each operation's codec, and how errors and every response are
stamped. The operations beneath are the same for both. Once the server has an S3 port (`--s3-port`), a
request is in the S3 dialect when it reaches that port, or when it is signed for S3 (an `AWS4-HMAC-SHA256`
or `AWS` Authorization header, or an `X-Amz-Algorithm` / `AWSAccessKeyId` presigned URL) wherever it
arrives; every other request, and every request of a server without an S3 port, is OSS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from ..protocol.errors import OssError
from ..protocol.s3authentication import S3Signer, signed_for_s3
from .addressing import Address
from .context import Codec, ServerConfig
from .oss import CODECS as OSS_CODECS
from .oss import entry as oss_entry
from .oss import render as oss_render
from .s3 import CODECS as S3_CODECS
from .s3 import entry as s3_entry
from .s3 import render as s3_render

__all__ = ["Dialect", "OSS", "S3", "dialect_of"]


@dataclass(frozen=True)
class Dialect:
    locate: Callable[[web.Request, ServerConfig], tuple[Address, str]]
    identify: Callable[[web.Request, Address, ServerConfig], tuple[str | None, S3Signer | None]]
    codecs: dict[str, Codec]
    error_response: Callable[[OssError, str, str, str], web.Response]
    stamp: Callable[[web.StreamResponse, str], web.StreamResponse]
    # Identified by the web console's session (server/console/): signed in like a signed request, never by a
    # link another site could embed, so a bucket's referer rules do not apply.
    session: bool = False


def _identify_oss(request: web.Request, address: Address, config: ServerConfig) -> tuple[str | None, None]:
    return oss_entry.identify(request, address, config), None


OSS = Dialect(oss_entry.locate, _identify_oss, OSS_CODECS, oss_render.error_response, oss_render.stamp)
S3 = Dialect(s3_entry.locate, s3_entry.identify, S3_CODECS, s3_render.error_response, s3_render.stamp)


def _query_names(raw_path: str):
    query = raw_path.partition("?")[2]
    return ((item.partition("=")[0], "") for item in query.split("&")) if query else ()


def dialect_of(request: web.Request, config: ServerConfig) -> Dialect:
    if config.s3_port is None:  # the S3 dialect is the operator's choice
        return OSS
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    if sockname is not None and sockname[1] == config.s3_port:
        return S3
    return S3 if signed_for_s3(request.headers, _query_names(request.raw_path)) else OSS
