"""What a handler gets: the server's state and one parsed, authenticated request."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..storage.engine import Storage
from ..storage.records import ObjectRecord
from .addressing import Address

__all__ = ["ServerConfig", "Call"]


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

    @property
    def location(self) -> str:
        return f"oss-{self.region}" if self.region else "oss-cn-hangzhou"


@dataclass
class Call:
    request: web.Request
    storage: Storage
    config: ServerConfig
    operation: str
    address: Address
    access_key_id: str | None
    request_id: str
    # The object's metadata when authorizing an anonymous request already read it: a GET then opens that
    # version instead of looking it up again.
    record: ObjectRecord | None = None

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

    @property
    def owner_id(self) -> str:
        return self.access_key_id or next(iter(self.config.credentials))
