"""Response compression: OSS gzips text-like objects of 1 KiB or more for a client that accepts gzip. The
bytes a client ends up with, the validators and the CRC must not change; ranges are never compressed."""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests

from .conftest import oss2_auth
from .helpers import crc64, etag_of, signed_request

TEXT = ("line of text, compressible " * 200).encode()  # 5400 bytes


def _get(server, sig, bucket, key, **headers):
    return signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, key,
                          headers=headers)


@pytest.mark.parametrize("size", [1024, len(TEXT), 200 * 1024])  # the smallest, a small body, a streamed one
def test_gzip_for_text_when_accepted(server, sig, bucket, size):
    text = (TEXT * 40)[:size]
    bucket.put_object("t.txt", text, headers={"Content-Type": "text/plain"})
    response = _get(server, sig, bucket, "t.txt", **{"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.content == text  # requests decodes the gzip transparently
    assert response.headers["ETag"] == etag_of(text)
    assert int(response.headers["x-oss-hash-crc64ecma"]) == crc64(text)
    assert response.headers.get("Content-Encoding") == "gzip"
    # chunked, with no Content-Length, whatever the size: oss2 checks a Content-Length against the bytes
    assert response.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in response.headers


def test_identity_when_not_accepted(server, sig, bucket):
    bucket.put_object("t.txt", TEXT, headers={"Content-Type": "text/plain"})
    response = _get(server, sig, bucket, "t.txt", **{"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.headers["Content-Length"] == str(len(TEXT))
    assert response.content == TEXT
    got = bucket.get_object("t.txt")  # oss2 asks for identity and checks the CRC of what it reads
    assert got.read() == TEXT
    assert got.headers.get("Content-Encoding") is None


def test_ranges_are_never_compressed(server, sig, bucket):
    bucket.put_object("t.txt", TEXT, headers={"Content-Type": "text/plain"})
    for behavior in ({}, {"x-oss-range-behavior": "standard"}):
        response = _get(server, sig, bucket, "t.txt", **{"Accept-Encoding": "gzip", "Range": "bytes=100-199"},
                        **behavior)
        assert response.status_code == 206
        assert response.headers.get("Content-Encoding") is None
        assert response.headers["Content-Range"] == f"bytes 100-199/{len(TEXT)}"
        assert response.content == TEXT[100:200]


def test_head_reports_the_stored_size(server, sig, bucket):
    bucket.put_object("t.txt", TEXT, headers={"Content-Type": "text/plain"})
    response = signed_request(oss2_auth(sig, server), "HEAD", server.endpoint, bucket.bucket_name, "t.txt",
                              headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["ETag"] == etag_of(TEXT)
    assert int(response.headers["x-oss-hash-crc64ecma"]) == crc64(TEXT)


def test_binary_small_and_encoded_objects_untouched(server, sig, bucket):
    bucket.put_object("bin", TEXT, headers={"Content-Type": "application/octet-stream"})
    bucket.put_object("small.txt", TEXT[:1000], headers={"Content-Type": "text/plain"})
    for key, size in (("bin", len(TEXT)), ("small.txt", 1000)):
        response = _get(server, sig, bucket, key, **{"Accept-Encoding": "gzip"})
        assert response.headers.get("Content-Encoding") is None, key
        assert response.headers["Content-Length"] == str(size), key


def test_v2_sdk_reads_text_objects_exactly(v2, tmp_path):
    c = v2.client
    c.put_object(oss.PutObjectRequest(bucket=v2.name, key="t.json", body=TEXT, content_type="application/json"))
    got = c.get_object(oss.GetObjectRequest(bucket=v2.name, key="t.json"))
    assert got.body.read() == TEXT
    target = tmp_path / "t.json"
    c.downloader(part_size=1024).download_file(oss.GetObjectRequest(bucket=v2.name, key="t.json"), str(target))
    assert target.read_bytes() == TEXT


def test_oss2_resumable_download_of_text(bucket, tmp_path):
    bucket.put_object("t.txt", TEXT, headers={"Content-Type": "text/plain"})
    target = tmp_path / "t.txt"
    store = oss2.ResumableDownloadStore(root=str(tmp_path))
    oss2.resumable_download(bucket, "t.txt", str(target), multiget_threshold=1024, part_size=1000, store=store)
    assert target.read_bytes() == TEXT


def test_plain_requests_get_of_presigned_text(bucket):
    """A browser-like client (Accept-Encoding: gzip, deflate) gets the exact bytes."""
    bucket.put_object("t.txt", TEXT, headers={"Content-Type": "text/plain"})
    response = requests.get(bucket.sign_url("GET", "t.txt", 300), timeout=10)
    assert response.status_code == 200 and response.content == TEXT
