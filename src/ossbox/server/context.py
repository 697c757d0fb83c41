"""The server's settings, one request as a codec sees it, and what a codec is."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from ..protocol.s3authentication import S3Signer
from .addressing import Address
from .offload import Offload

__all__ = ["ServerConfig", "Call", "Codec"]


@dataclass(frozen=True)
class ServerConfig:
    credentials: dict[str, str]  # access key id -> secret
    region: str | None = None
    base_domain: str | None = None
    body_timeout: float = 60.0  # seconds an upload's body may stall before the request is given up
    # Enforced per connection by the runner: seconds a connection may wait with no request in progress
    # before the server closes it, and seconds a request's headers may take once its first byte arrived.
    idle_timeout: float = 75.0
    header_timeout: float = 30.0
    # Whether other nodes share the metadata and blobs (PostgreSQL): then this one takes its turn, by lease,
    # at sweeping orphans every `sweep_interval` seconds.
    shared: bool = False
    sweep_interval: float = 3600.0
    lifecycle_interval: float = 3600.0  # seconds between lifecycle passes, each by one node (by lease)
    metrics_token: str | None = None  # when set, /-/metrics answers only `Authorization: Bearer <token>`

    @functools.cached_property
    def owner_id(self) -> str:
        """The owner's ID in listings and ACLs. OSS shows a numeric account ID there, never an access key
        id; this one is derived from the secret, so it is stable across restarts and reveals nothing."""
        secret = next(iter(self.credentials.values()))
        digest = hmac.new(secret.encode(), b"ossbox owner id", "sha256").digest()
        return str(int.from_bytes(digest[:8], "big") % 10**16).zfill(16)

    s3_port: int | None = None  # the port that speaks the S3 dialect, if any (see server/dialects.py)

    @property
    def location(self) -> str:
        return f"oss-{self.region}" if self.region else "oss-cn-hangzhou"

    @property
    def s3_region(self) -> str:
        """The region S3 requests are signed for and buckets answer with."""
        return self.region or "us-east-1"


@dataclass(frozen=True)
class Call:
    """One HTTP request as a codec reads it: the request, its decoded address, the server's settings."""

    request: web.Request
    address: Address
    config: ServerConfig
    offload: Offload  # for blocking work: parsing large documents
    request_id: str
    signer: S3Signer | None = None  # an S3 request's signature, which its body's chunk signatures chain from

    @property
    def bucket(self) -> str:
        assert self.address.bucket is not None
        return self.address.bucket

    @property
    def key(self) -> str:
        assert self.address.key is not None
        return self.address.key

    @property
    def headers(self):
        return self.request.headers

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.address.param(name, default)


@dataclass(frozen=True)
class Codec:
    """How one operation is read off a request (`await parse(call)`, its typed request) and how its result is
    written back (`render(call, request, result)`, the HTTP response), in one dialect."""

    parse: Callable[[Call], Awaitable[object]]
    render: Callable[[Call, object, object], web.StreamResponse]
