"""Raw HTTP helpers for the end-to-end tests: requests signed with oss2's own signers, CRC64, errors."""

from __future__ import annotations

import base64
import hashlib
import os
import xml.etree.ElementTree as ElementTree
from urllib.parse import quote

import oss2
import requests

def crc64(data: bytes) -> int:
    """CRC-64/XZ as oss2 computes it (crcmod), independent of the server's implementation."""
    crc = oss2.utils.Crc64()
    crc.update(data)
    return crc.crc


def etag_of(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest().upper() + '"'


def content_md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def random_bytes(size: int, seed: int = 0) -> bytes:
    if size <= 1 << 16:
        return bytes((i * 131 + seed * 7 + (i >> 8)) % 256 for i in range(size))
    return os.urandom(size)


def parse_error(body: bytes) -> dict[str, str]:
    root = ElementTree.fromstring(body)
    assert root.tag == "Error", body
    return {child.tag: child.text or "" for child in root}


def object_url(endpoint: str, bucket: str | None, key: str | None = None) -> str:
    if bucket is None:
        return endpoint + "/"
    return f"{endpoint}/{bucket}/" + (quote(key, safe="") if key else "")


def signed_request(auth, method: str, endpoint: str, bucket: str | None, key: str | None = None, *,
                   params: dict | None = None, headers: dict | None = None, data: bytes | None = None,
                   url: str | None = None, host: str | None = None, region: str = "cn-hangzhou",
                   percent_query: bool = False, timeout: float = 30) -> requests.Response:
    """Send one request signed by an oss2 auth object (V1 `oss2.Auth` or `oss2.ProviderAuthV4`).

    `url` overrides the path-style URL (e.g. a virtual-hosted `/key` path), `host` the Host header;
    the connection always goes to `endpoint` (loopback). With `percent_query` the query string is
    written with `%20`-style escapes (as the v2 SDK does) instead of requests' form encoding (`+`)."""
    req = oss2.http.Request(method, url or object_url(endpoint, bucket, key), data=data, params=dict(params or {}),
                            headers=dict(headers or {}), region=region, product="oss")
    if host is not None:
        req.headers["Host"] = host
    auth._sign_request(req, bucket or "", key or "")
    target, params = req.url, req.params
    if percent_query and params:
        target += "?" + "&".join(quote(k, safe="") + ("=" + quote(v, safe="") if v else "") for k, v in params.items())
        params = None
    return requests.request(method, target, params=params, headers=dict(req.headers), data=req.data,
                            timeout=timeout)
