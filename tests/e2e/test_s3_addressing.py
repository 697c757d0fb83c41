"""Virtual-hosted addressing in the S3 dialect (`--base-domain`): `<bucket>.<domain>` names the bucket, as on
the OSS port, and SigV4 signs the path the request sends (`/key`) under that Host."""

from __future__ import annotations

import http.client
from urllib.parse import quote

import pytest

from ossbox.protocol import sigv4

from server import start_server

from .s3helpers import fresh_bucket, s3_client
from .test_s3_streaming import Signer

DOMAIN = "example.test"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    server = start_server(str(tmp_path_factory.mktemp("s3-hosted")), "--s3-port", "0", "--base-domain", DOMAIN)
    yield server
    assert server.stop() == 0


def _request(server, method: str, host: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """`path` decoded, as SigV4 signs it; sent percent-encoded."""
    signer = Signer(server)
    payload = sigv4.UNSIGNED_PAYLOAD
    headers = signer.headers(method, host, path, payload, {"content-length": str(len(body))})
    connection = http.client.HTTPConnection(server.host, server.s3_port, timeout=30)
    try:
        connection.request(method, quote(path), body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_virtual_hosted_requests_name_their_bucket_by_host(hosted):
    s3 = s3_client(hosted)
    with fresh_bucket(s3, "hosted") as bucket:
        host = f"{bucket}.{DOMAIN}:{hosted.s3_port}"
        assert _request(hosted, "PUT", host, "/dir/a key", b"virtually hosted")[0] == 200
        assert s3.get_object(Bucket=bucket, Key="dir/a key")["Body"].read() == b"virtually hosted"
        status, body = _request(hosted, "GET", host, "/")
        assert status == 200 and b"<Key>dir/a key</Key>" in body
        status, body = _request(hosted, "GET", host, "/dir/a key")
        assert (status, body) == (200, b"virtually hosted")
        status, body = _request(hosted, "GET", f"absent-bucket.{DOMAIN}:{hosted.s3_port}", "/k")
        assert status == 404 and b"<Code>NoSuchBucket</Code>" in body
