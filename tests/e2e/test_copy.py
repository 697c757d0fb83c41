"""CopyObject: same and cross bucket, COPY / REPLACE metadata, x-oss-copy-source-if-* conditions."""

from __future__ import annotations

import email.utils
import threading
import time
from xml.etree import ElementTree

import alibabacloud_oss_v2 as oss
import oss2
import pytest

from server import start_server

from .conftest import oss2_auth, unique_bucket_name
from .helpers import crc64, etag_of, parse_error, random_bytes, signed_request

DATA = random_bytes(5000, seed=3)
PAST = "Mon, 01 Jan 2001 00:00:00 GMT"
FUTURE = email.utils.formatdate(time.time() + 10 * 365 * 86400, usegmt=True)
SOURCE_HEADERS = {"Content-Type": "text/x-source", "x-oss-meta-origin": "source", "Cache-Control": "no-store",
                  "Content-Disposition": "inline"}


@pytest.fixture
def source(bucket):
    bucket.put_object("src", DATA, headers=SOURCE_HEADERS)
    return bucket


def test_copy_same_bucket_copies_metadata(source):
    result = source.copy_object(source.bucket_name, "src", "dst")
    assert result.status == 200
    assert result.etag == etag_of(DATA).strip('"')
    head = source.head_object("dst")
    assert head.headers["ETag"] == etag_of(DATA)
    assert int(head.headers["x-oss-hash-crc64ecma"]) == crc64(DATA)
    assert head.content_type == "text/x-source"
    assert head.headers["x-oss-meta-origin"] == "source"
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["x-oss-object-type"] == "Normal"
    assert source.get_object("dst").read() == DATA


def test_copy_response_xml(server, sig, source):
    response = signed_request(oss2_auth(sig, server), "PUT", server.endpoint, source.bucket_name, "dst",
                              headers={"x-oss-copy-source": f"/{source.bucket_name}/src"})
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert root.tag == "CopyObjectResult"
    assert root.findtext("ETag") == etag_of(DATA)
    assert root.findtext("LastModified").endswith(".000Z")


def test_copy_replace_metadata(source):
    source.copy_object(source.bucket_name, "src", "dst", headers={
        "x-oss-metadata-directive": "REPLACE", "Content-Type": "application/json", "x-oss-meta-new": "yes"})
    head = source.head_object("dst")
    assert head.content_type == "application/json"
    assert head.headers["x-oss-meta-new"] == "yes"
    assert "x-oss-meta-origin" not in head.headers
    assert "Cache-Control" not in head.headers
    assert head.headers["ETag"] == etag_of(DATA)
    assert source.get_object("dst").read() == DATA


def test_copy_directive_copy_ignores_request_metadata(source):
    source.copy_object(source.bucket_name, "src", "dst", headers={
        "x-oss-metadata-directive": "COPY", "x-oss-meta-ignored": "1", "Content-Type": "text/ignored"})
    head = source.head_object("dst")
    assert head.headers["x-oss-meta-origin"] == "source"
    assert "x-oss-meta-ignored" not in head.headers
    assert head.content_type == "text/x-source"


def test_copy_onto_itself_with_replace(source):
    source.copy_object(source.bucket_name, "src", "src", headers={
        "x-oss-metadata-directive": "REPLACE", "x-oss-meta-updated": "1"})
    head = source.head_object("src")
    assert head.headers["x-oss-meta-updated"] == "1"
    assert source.get_object("src").read() == DATA


def test_copy_cross_bucket(make_bucket, source):
    other = make_bucket()
    other.copy_object(source.bucket_name, "src", "copied")
    assert other.get_object("copied").read() == DATA
    assert other.head_object("copied").headers["x-oss-meta-origin"] == "source"
    assert source.object_exists("src")


@pytest.mark.parametrize("key", ["a b+c%25/中文#x", "question?mark", "../../up", "trailing/"])
def test_copy_special_source_key(source, key):
    source.put_object(key, b"special")
    source.copy_object(source.bucket_name, key, key + ".copy")
    assert source.get_object(key + ".copy").read() == b"special"


def test_copy_source_preconditions(source):
    head = source.head_object("src")
    etag, last_modified = head.headers["ETag"], head.headers["Last-Modified"]
    ok = [
        {"x-oss-copy-source-if-match": etag},
        {"x-oss-copy-source-if-match": etag.strip('"')},
        {"x-oss-copy-source-if-none-match": '"other"'},
        {"x-oss-copy-source-if-modified-since": PAST},
        {"x-oss-copy-source-if-unmodified-since": last_modified},
        {"x-oss-copy-source-if-unmodified-since": FUTURE},
    ]
    failing = [
        {"x-oss-copy-source-if-match": '"0123"'},
        {"x-oss-copy-source-if-none-match": etag},
        {"x-oss-copy-source-if-modified-since": last_modified},
        {"x-oss-copy-source-if-modified-since": FUTURE},
        {"x-oss-copy-source-if-unmodified-since": PAST},
    ]
    for i, headers in enumerate(ok):
        source.copy_object(source.bucket_name, "src", f"ok{i}", headers=headers)
        assert source.object_exists(f"ok{i}"), headers
    for i, headers in enumerate(failing):
        with pytest.raises(oss2.exceptions.PreconditionFailed) as info:
            source.copy_object(source.bucket_name, "src", f"bad{i}", headers=headers)
        assert info.value.status == 412, headers
        assert not source.object_exists(f"bad{i}"), headers


def test_copy_missing_source(server, sig, source):
    with pytest.raises(oss2.exceptions.NoSuchKey) as info:
        source.copy_object(source.bucket_name, "absent", "dst")
    assert info.value.status == 404
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        source.copy_object(unique_bucket_name(), "src", "dst")
    assert not source.object_exists("dst")


def test_copy_to_missing_bucket(server, sig, source):
    from .conftest import oss2_bucket
    missing = oss2_bucket(server, unique_bucket_name(), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.copy_object(source.bucket_name, "src", "dst")


def test_copy_forbid_overwrite(source):
    source.put_object("existing", b"keep")
    with pytest.raises(oss2.exceptions.ServerError) as info:
        source.copy_object(source.bucket_name, "src", "existing", headers={"x-oss-forbid-overwrite": "true"})
    assert info.value.status == 409 and info.value.code == "FileAlreadyExists"
    assert source.get_object("existing").read() == b"keep"


def test_copy_invalid_directive(server, sig, source):
    response = signed_request(oss2_auth(sig, server), "PUT", server.endpoint, source.bucket_name, "dst",
                              headers={"x-oss-copy-source": f"/{source.bucket_name}/src",
                                       "x-oss-metadata-directive": "MERGE"})
    assert response.status_code == 400
    assert parse_error(response.content)["Code"] == "InvalidArgument"


# ---- v2 SDK -----------------------------------------------------------------------------------------


def test_v2_copy(make_v2_bucket):
    src, dst = make_v2_bucket(), make_v2_bucket()
    c = src.client
    c.put_object(oss.PutObjectRequest(bucket=src.name, key="s k", body=DATA, metadata={"a": "1"},
                                      content_type="text/a"))
    result = c.copy_object(oss.CopyObjectRequest(bucket=dst.name, key="copy", source_bucket=src.name,
                                                 source_key="s k"))
    assert result.status_code == 200
    assert result.etag == etag_of(DATA)
    assert int(result.hash_crc64) == crc64(DATA)
    head = c.head_object(oss.HeadObjectRequest(bucket=dst.name, key="copy"))
    assert head.metadata.get("a") == "1" and head.content_type == "text/a"
    c.copy_object(oss.CopyObjectRequest(bucket=src.name, key="replaced", source_bucket=src.name, source_key="s k",
                                        metadata_directive="REPLACE", metadata={"b": "2"}, content_type="text/b"))
    head = c.head_object(oss.HeadObjectRequest(bucket=src.name, key="replaced"))
    assert head.metadata.get("b") == "2" and "a" not in head.metadata and head.content_type == "text/b"
    with pytest.raises(oss.exceptions.OperationError) as info:
        c.copy_object(oss.CopyObjectRequest(bucket=src.name, key="x", source_bucket=src.name, source_key="s k",
                                            if_match='"bad"'))
    assert info.value.unwrap().status_code == 412
    with pytest.raises(oss.exceptions.OperationError) as info:
        c.copy_object(oss.CopyObjectRequest(bucket=src.name, key="x", source_bucket=src.name, source_key="nope"))
    assert info.value.unwrap().status_code == 404 and info.value.unwrap().code == "NoSuchKey"
    c.copy_object(oss.CopyObjectRequest(bucket=src.name, key="x", source_bucket=src.name, source_key="s k",
                                        if_none_match='"bad"', if_modified_since=PAST))
    assert c.get_object(oss.GetObjectRequest(bucket=src.name, key="x")).body.read() == DATA


def test_copies_of_a_source_replaced_and_reclaimed_meanwhile_are_whole(tmp_path):
    """With --reclaim-delay 0 a replaced multipart version's later parts are unlinked at once: a copy that
    opened the old version and then finds its next part gone copies the version now current instead (as
    a GET does), rather than failing with a 500. Every copy holds exactly one whole version."""
    running = start_server(str(tmp_path / "data"), "--reclaim-delay", "0")
    try:
        auth = oss2_auth("v4", running)
        bucket = oss2.Bucket(auth, running.endpoint, unique_bucket_name("copyrace"), region="cn-hangzhou")
        bucket.create_bucket()
        versions = {}
        for generation in range(2):
            parts = [random_bytes(2 << 20, seed=10 * generation + n) for n in range(4)]
            versions[generation] = b"".join(parts)

        def write(generation: int) -> None:
            upload_id = bucket.init_multipart_upload("src").upload_id
            data = versions[generation]
            infos = [oss2.models.PartInfo(n + 1, bucket.upload_part("src", upload_id, n + 1,
                                                                   data[n * (2 << 20):(n + 1) * (2 << 20)]).etag)
                     for n in range(4)]
            bucket.complete_multipart_upload("src", upload_id, infos)

        write(0)
        stop = threading.Event()

        def overwrite() -> None:
            generation = 1
            while not stop.is_set():
                write(generation)
                generation = 1 - generation

        writer = threading.Thread(target=overwrite)
        writer.start()
        try:
            deadline = time.monotonic() + 4
            copies = 0
            while time.monotonic() < deadline:
                bucket.copy_object(bucket.bucket_name, "src", "dst")
                assert bucket.get_object("dst").read() in versions.values()
                copies += 1
        finally:
            stop.set()
            writer.join()
        assert copies > 5
    finally:
        running.stop()
