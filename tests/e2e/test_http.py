"""HTTP-level behaviour the SDKs rely on: keep-alive across object reads, Expect: 100-continue, chunked
bodies, a missing Content-Length, response headers, and the server's own command-line switches."""

from __future__ import annotations

import http.client
import time

import oss2
import pytest
import requests

from server import start_server

from .conftest import oss2_auth, oss2_bucket, unique_bucket_name
from .helpers import crc64, parse_error


def _signed_headers(server, sig, method, bucket, key, headers=None):
    request = oss2.http.Request(method, f"{server.endpoint}/{bucket}/{key}", headers=dict(headers or {}),
                                region="cn-hangzhou", product="oss")
    oss2_auth(sig, server)._sign_request(request, bucket, key)
    return {k: v for k, v in request.headers.items() if v is not None}


def _exchange(connection, method, target, headers, body=None):
    connection.request(method, target, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


@pytest.mark.parametrize("range_header", [None, "bytes=0-9"])
def test_connection_stays_usable_after_get_object(server, sig, bucket, range_header):
    """A keep-alive connection must survive a GetObject: the SDKs pool connections and reuse them."""
    bucket.put_object("k", b"0123456789abcdef")
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        extra = {"Range": range_header} if range_header else {}
        for attempt in range(3):
            status, headers, body = _exchange(connection, "GET", f"/{bucket.bucket_name}/k",
                                              _signed_headers(server, sig, "GET", bucket.bucket_name, "k", extra))
            assert status in (200, 206), attempt
            assert body == (b"0123456789" if range_header else b"0123456789abcdef")
            assert headers.get("Connection", "").lower() != "close"
            time.sleep(0.2)  # give the server time to act on the connection before it is reused
    finally:
        connection.close()


def test_sdk_requests_after_get_object_do_not_fail(bucket):
    """The same seen through oss2: many GETs on pooled connections, each followed by another request."""
    bucket.put_object("k", b"x" * 1000)
    for _ in range(20):
        assert bucket.get_object("k").read() == b"x" * 1000
        time.sleep(0.02)
        assert bucket.head_object("k").content_length == 1000


def test_expect_100_continue(server, sig, bucket):
    body = b"continued body"
    headers = _signed_headers(server, sig, "PUT", bucket.bucket_name, "cont", {"Expect": "100-continue"})
    headers["Content-Length"] = str(len(body))
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.putrequest("PUT", f"/{bucket.bucket_name}/cont")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        # the server must answer 100 before the body is sent
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = connection.sock.recv(64)
            assert chunk, interim
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100"), interim
        connection.send(body)
        response = connection.getresponse()
        assert response.status == 200, response.read()
        response.read()
    finally:
        connection.close()
    assert bucket.get_object("cont").read() == body


def test_raw_chunked_put(server, sig, bucket):
    chunks = [b"first-", b"second-" * 1000, b"third"]
    headers = _signed_headers(server, sig, "PUT", bucket.bucket_name, "chunks")
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request("PUT", f"/{bucket.bucket_name}/chunks", body=iter(chunks), headers=headers,
                           encode_chunked=True)
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        assert int(response.getheader("x-oss-hash-crc64ecma")) == crc64(b"".join(chunks))
    finally:
        connection.close()
    assert bucket.get_object("chunks").read() == b"".join(chunks)


def test_put_without_content_length(server, sig, bucket):
    headers = _signed_headers(server, sig, "PUT", bucket.bucket_name, "nolength")
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.putrequest("PUT", f"/{bucket.bucket_name}/nolength")
        for name, value in headers.items():
            if name.lower() != "content-length":
                connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 411, body
    assert parse_error(body)["Code"] == "MissingContentLength"


def test_common_response_headers(server, sig, bucket):
    bucket.put_object("k", b"v")
    for method, key in (("GET", "k"), ("HEAD", "k"), ("GET", "missing"), ("DELETE", "gone")):
        request = oss2.http.Request(method, f"{server.endpoint}/{bucket.bucket_name}/{key}", region="cn-hangzhou",
                                    product="oss")
        oss2_auth(sig, server)._sign_request(request, bucket.bucket_name, key)
        response = requests.request(method, request.url, headers=dict(request.headers), timeout=10)
        assert len(response.headers["x-oss-request-id"]) == 24
        assert response.headers["Date"].endswith(" GMT")
        assert response.headers.get("Server")


def test_service_level_unknown_method(server, sig):
    request = oss2.http.Request("DELETE", f"{server.endpoint}/", region="cn-hangzhou", product="oss")
    oss2_auth(sig, server)._sign_request(request, "", "")
    response = requests.delete(request.url, headers=dict(request.headers), timeout=10)
    assert response.status_code in (405, 501)
    assert parse_error(response.content)["Code"] in ("MethodNotAllowed", "NotImplemented")


def test_access_log_switch(tmp_path):
    """`ossbox serve --access-log` must still serve requests."""
    running = start_server(str(tmp_path / "data"), "--access-log")
    try:
        b = oss2_bucket(running, unique_bucket_name("al"), "v1")
        b.create_bucket()
        b.put_object("k", b"logged")
        assert b.get_object("k").read() == b"logged"
        b.delete_object("k")
        b.delete_bucket()
    finally:
        assert running.stop() == 0
