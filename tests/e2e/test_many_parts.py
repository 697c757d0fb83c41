"""A multipart object with more parts than the server has file descriptors still reads whole, in any
range, and a slow reader of it holds at most two of the server's descriptors on its blobs.

The server runs under a low RLIMIT_NOFILE; the object is built with UploadPartCopy, each part a distinct
100 KiB slice of one source object, so it equals that source byte for byte. The default case has 300
parts under 256 descriptors; the slow one OSS's maximum, 10,000 parts, under 1024.
"""

from __future__ import annotations

import os
import random
import resource
import socket
import time

import oss2
import pytest

from server import start_server

from .conftest import oss2_bucket, unique_bucket_name

PART = 100 * 1024


def blob_descriptors(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += "/blobs/" in os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            pass
    return count


@pytest.fixture
def limited_server(tmp_path, request):
    parts, descriptors = request.param
    server = start_server(str(tmp_path / "data"))
    resource.prlimit(server.process.pid, resource.RLIMIT_NOFILE, (descriptors, descriptors))
    yield server, parts
    assert server.stop() == 0


def build(bucket: oss2.Bucket, parts: int) -> bytes:
    rng = random.Random(parts)
    source = b"".join(rng.randbytes(PART) for _ in range(parts))
    bucket.put_object("source", source)
    upload_id = bucket.init_multipart_upload("many").upload_id
    infos = []
    for number in range(1, parts + 1):
        first = (number - 1) * PART
        result = bucket.upload_part_copy(bucket.bucket_name, "source", (first, first + PART - 1), "many", upload_id,
                                         number)
        infos.append(oss2.models.PartInfo(number, result.etag))
    bucket.complete_multipart_upload("many", upload_id, infos)
    return source


CASES = [pytest.param((300, 256), id="300-parts-256-fds"),
         pytest.param((10_000, 1024), id="10000-parts-1024-fds", marks=pytest.mark.slow)]


@pytest.mark.parametrize("limited_server", CASES, indirect=True)
def test_an_object_of_more_parts_than_descriptors_reads_in_any_range(limited_server):
    server, parts = limited_server
    bucket = oss2_bucket(server, unique_bucket_name("parts"), "v4")
    bucket.create_bucket()
    expected = build(bucket, parts)
    assert bucket.head_object("many").content_length == len(expected)
    assert bucket.get_object("many").read() == expected
    size = len(expected)
    edges = [0, PART - 1, PART, size // 2, size - PART - 1, size - 2]
    for first in edges + random.Random(1).sample(range(size), 6):
        last = min(first + 3 * PART + 17, size - 1)
        assert bucket.get_object("many", byte_range=(first, last)).read() == expected[first:last + 1], first

    # A reader that stops reading: the server holds at most two of its blobs open for it. The ranged GETs
    # above may still be closing theirs when the client has its bytes: counted from when they have.
    settled = time.monotonic() + 10
    while blob_descriptors(server.process.pid) and time.monotonic() < settled:
        time.sleep(0.05)
    before = blob_descriptors(server.process.pid)
    with socket.create_connection((server.host, server.port)) as reader:
        url = bucket.sign_url("GET", "many", 300)
        reader.sendall(f"GET {url[len(server.endpoint):]} HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode())
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.recv(1024)
        held = []
        for _ in range(10):
            time.sleep(0.1)
            held.append(blob_descriptors(server.process.pid) - before)
    print(f"\n{parts}-part object: a stalled reader held at most {max(held)} blob descriptor(s)")
    assert 1 <= max(held) <= 2
    bucket.delete_object("many")
    bucket.delete_object("source")
    bucket.delete_bucket()
