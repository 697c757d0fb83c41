"""The transport: requests out, responses back, over pooled keep-alive urllib3 connections.

Strategy: a `Session` owns one `urllib3.PoolManager` (one per proxy when proxies are used) holding up to
`defaults.connection_pool_size` connections per host; it is thread-safe and meant to be shared. Nothing
here retries or follows redirects: that is policy, decided above this layer. A request goes to its
connection pool with its already-encoded path (`pool.urlopen(target)`), so a key such as `..` is never
normalised away, and with its header values as UTF-8 bytes, the bytes the signature covered. A response
body is read whole at once, unless asked for as a stream (`preload_content=False`), and never decoded: an
object's body is its bytes exactly. Every urllib3 failure, while sending or while reading a streamed body,
becomes `RequestError` (chained `from` it) in one place, `_transport_errors()`.
"""

from __future__ import annotations

import contextlib
import io
import platform
import threading
from urllib.parse import quote, urlsplit

import urllib3
from urllib3.exceptions import HTTPError

from .. import __version__
from . import defaults
from .exceptions import RequestError

__all__ = ["USER_AGENT", "CaseInsensitiveDict", "Request", "Response", "Session", "quoted_query"]

USER_AGENT = (f"ossbox/{__version__} ({platform.system()}/{platform.release()}/{platform.machine()};"
              f"{platform.python_version()})")

#: Case-insensitive header mapping (oss2 exports requests' class under this name).
CaseInsensitiveDict = urllib3.HTTPHeaderDict


@contextlib.contextmanager
def _transport_errors():
    try:
        yield
    except HTTPError as e:
        raise RequestError(e) from e


def quoted_query(params: dict[str, str]) -> str:
    """`k=v&k2` with every character but the unreserved ones percent-encoded (`%20`, never `+`)."""
    return "&".join(quote(k, safe="") + ("=" + quote(v, safe="") if v else "") for k, v in params.items())


class Request:
    """One request: `url` is scheme://host/path with the path already percent-encoded; `params` holds the
    decoded query; `data` is None, bytes or an iterable of bytes (with Content-Length in `headers` when
    known, chunked otherwise)."""

    def __init__(self, method, url, data=None, params=None, headers=None, app_name="", proxies=None,
                 region=None, product="oss"):
        self.method = method
        self.url = url
        self.data = data
        self.params = {k: str(v) for k, v in (params or {}).items() if v is not None}
        self.headers = CaseInsensitiveDict()
        for name, value in (headers or {}).items():  # bytes values are kept byte for byte
            self.headers[name] = value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value
        self.proxies = proxies
        self.region = region
        self.product = product
        if "User-Agent" not in self.headers:
            self.headers["User-Agent"] = USER_AGENT + "/" + app_name if app_name else USER_AGENT

    @property
    def target(self) -> str:
        """The request target: path and query."""
        path = urlsplit(self.url).path or "/"
        return path + "?" + quoted_query(self.params) if self.params else path

    def full_url(self) -> str:
        """The URL with its query, as a presigned URL is handed out."""
        return self.url + "?" + quoted_query(self.params) if self.params else self.url


def _wire_headers(headers: CaseInsensitiveDict) -> dict[str, bytes]:
    return {name: value.encode("utf-8", "surrogateescape") for name, value in headers.items()}


class Response:
    """A response and its body: read on demand from the connection when streamed, else already in memory.

    A streamed response gives its connection back to the pool once its body has been read to the end;
    `close()` ends it early (the connection is then closed, as draining an object could take long)."""

    def __init__(self, raw: urllib3.BaseHTTPResponse, streamed: bool):
        self._raw = raw
        self._body = raw if streamed else io.BytesIO(raw.data or b"")
        self.status = raw.status
        self.headers = raw.headers
        self.request_id = self.headers.get("x-oss-request-id", "")

    def read(self, amt=None) -> bytes:
        """Up to `amt` bytes (fewer only at the end), or everything left when `amt` is None."""
        with _transport_errors():
            return self._body.read(amt)

    def read1(self, amt: int) -> bytes:
        """Up to `amt` bytes, b"" at the end: what the connection has ready (one read) rather than waiting
        for `amt`, so a read that times out in a stall never takes bytes already received down with it."""
        with _transport_errors():
            return self._body.read1(amt)

    def readinto(self, buffer) -> int:
        """Up to len(buffer) bytes, 0 at the end, as `read1`."""
        data = self.read1(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        self._raw.release_conn()


class Session:
    """Connection pools shared by every Bucket and Service given this session. HTTPS certificates are verified,
    against the system's certificate authorities or those of `ca_bundle` (a PEM file), unless `verify` is
    False."""

    def __init__(self, pool_size=None, *, ca_bundle: str | None = None, verify: bool = True):
        self.pool_size = pool_size or defaults.connection_pool_size
        self._tls = {"ca_certs": ca_bundle} if verify else {"cert_reqs": "CERT_NONE"}
        self._managers: dict[str | None, urllib3.PoolManager] = {}
        self._lock = threading.Lock()

    def _manager(self, proxy: str | None) -> urllib3.PoolManager:
        with self._lock:
            manager = self._managers.get(proxy)
            if manager is None:
                options = {"maxsize": self.pool_size, "retries": False, **self._tls}
                manager = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
                self._managers[proxy] = manager
            return manager

    def do_request(self, req: Request, timeout: urllib3.Timeout, stream: bool = False) -> Response:
        """Send `req`; the body of the answer is read at once unless `stream`."""
        scheme = urlsplit(req.url).scheme
        proxy = (req.proxies or {}).get(scheme)
        target = req.target
        if proxy and scheme == "http":
            target = req.full_url()  # a plain-HTTP proxy is sent the absolute URL
        with _transport_errors():
            pool = self._manager(proxy).connection_from_url(req.url)
            raw = pool.urlopen(req.method, target, body=req.data, headers=_wire_headers(req.headers),
                               timeout=timeout, retries=False, redirect=False, assert_same_host=False,
                               preload_content=not stream, decode_content=False)
        return Response(raw, stream)
