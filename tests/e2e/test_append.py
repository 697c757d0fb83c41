"""AppendObject end to end: creating Appendable objects, exact bytes and CRC64 after every append,
position and type errors, extent compaction after many appends, snapshot isolation of readers, and
the v2 SDK's append-only file."""

from __future__ import annotations

import os
import random
import threading

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from server import start_server

from .conftest import empty_and_delete_oss2, oss2_auth, oss2_bucket, unique_bucket_name
from .helpers import content_md5, crc64, etag_of, parse_error, random_bytes, signed_request

KIB = 1024
MIB = 1024 * KIB


def append_all(bucket: oss2.Bucket, key: str, chunks: list[bytes], **kwargs) -> list:
    results, position, crc = [], 0, 0
    for chunk in chunks:
        result = bucket.append_object(key, position, chunk, init_crc=crc, **kwargs)
        results.append(result)
        position, crc = result.next_position, result.crc
    return results


def test_append_at_zero_creates_appendable(bucket):
    result = bucket.append_object("log", 0, b"first line\n", headers={
        "Content-Type": "text/plain", "x-oss-meta-source": "append", "Cache-Control": "no-store"})
    assert result.status == 200
    assert result.next_position == 11
    assert result.crc == crc64(b"first line\n")
    assert result.etag == etag_of(b"first line\n").strip('"')  # the first append's ETag is a plain MD5
    head = bucket.head_object("log")
    assert head.headers["x-oss-object-type"] == "Appendable"
    assert head.content_length == 11
    assert head.content_type == "text/plain"
    assert head.headers["x-oss-meta-source"] == "append"
    assert head.headers["Cache-Control"] == "no-store"
    assert int(head.headers["x-oss-hash-crc64ecma"]) == crc64(b"first line\n")
    assert bucket.get_object("log").read() == b"first line\n"
    listed = [o for o in oss2.ObjectIterator(bucket) if o.key == "log"]
    assert listed[0].type == "Appendable"
    assert listed[0].size == 11


def test_head_reports_next_append_position(bucket):
    # OSS answers HEAD (and GET) of an Appendable object with x-oss-next-append-position, the length
    # the next append must name (vendor docs, error 0026-00000017 / HeadObject).
    append_all(bucket, "log", [b"abcd", b"efgh"])
    head = bucket.head_object("log")
    assert head.headers.get("x-oss-next-append-position") == "8"


def test_sequence_of_appends_reads_back_exactly(bucket):
    chunks = [random_bytes(n, seed=n) for n in (1, 1000, 4096, 3, 70000, 12)]
    results = append_all(bucket, "seq", chunks)
    total = b""
    for chunk, result in zip(chunks, results):
        total += chunk
        assert result.next_position == len(total)
        assert result.crc == crc64(total)
        assert result.headers["x-oss-next-append-position"] == str(len(total))
    assert bucket.get_object("seq").read() == total
    head = bucket.head_object("seq")
    assert head.content_length == len(total)
    assert int(head.headers["x-oss-hash-crc64ecma"]) == crc64(total)
    # Ranges that straddle the boundaries between appends.
    boundaries = [sum(len(c) for c in chunks[:i]) for i in range(1, len(chunks))]
    for b in boundaries:
        first, last = max(b - 2, 0), min(b + 2, len(total) - 1)
        assert bucket.get_object("seq", byte_range=(first, last)).read() == total[first:last + 1]


def test_etag_changes_with_every_append(bucket):
    results = append_all(bucket, "etag", [b"a", b"b", b"c"])
    etags = [r.etag for r in results]
    assert len(set(etags)) == 3
    assert bucket.head_object("etag").etag == etags[-1]
    assert bucket.get_object("etag").etag == etags[-1]


def test_crc_chaining_with_oss2_init_crc(bucket):
    # oss2 compares the whole-object CRC the server returns with the CRC it chains from init_crc
    # (InconsistentError on a mismatch); check the values directly as well.
    crc, position, total = 0, 0, b""
    for i in range(8):
        chunk = os.urandom(random.Random(i).randint(1, 20000))
        result = bucket.append_object("chain", position, chunk, init_crc=crc)
        total += chunk
        assert result.crc == crc64(total)
        position, crc = result.next_position, result.crc
    assert bucket.get_object("chain").read() == total


def test_wrong_position_on_existing_object(bucket):
    bucket.append_object("pos", 0, b"12345")
    for wrong in (0, 4, 6, 1000):
        with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as excinfo:
            bucket.append_object("pos", wrong, b"xyz")
        assert excinfo.value.status == 409
        assert excinfo.value.next_position == 5
    assert bucket.get_object("pos").read() == b"12345"
    assert bucket.append_object("pos", 5, b"678").next_position == 8


def test_wrong_position_on_missing_object(bucket):
    with pytest.raises(oss2.exceptions.PositionNotEqualToLength) as excinfo:
        bucket.append_object("absent", 3, b"xyz")
    assert excinfo.value.next_position == 0
    assert not bucket.object_exists("absent")


def test_wrong_position_response(server, sig, bucket):
    bucket.append_object("raw", 0, b"abc")
    response = signed_request(oss2_auth(sig, server), "POST", server.endpoint, bucket.bucket_name, "raw",
                              params={"append": "", "position": "1"}, data=b"zz")
    assert response.status_code == 409
    assert response.headers["x-oss-next-append-position"] == "3"
    assert parse_error(response.content)["Code"] == "PositionNotEqualToLength"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_append_past_5_gib_is_entity_too_large(server, sig, bucket, chunked):
    body = b"four"
    response = signed_request(oss2_auth(sig, server), "POST", server.endpoint, bucket.bucket_name, "big",
                              params={"append": "", "position": str((5 << 30) - 2)},
                              data=iter([body]) if chunked else body)
    assert response.status_code == 400, response.content
    assert parse_error(response.content)["Code"] == "EntityTooLarge"
    assert not bucket.object_exists("big")


@pytest.mark.parametrize("position", [None, "", "-1", "abc"], ids=["absent", "empty", "negative", "text"])
def test_missing_or_invalid_position(server, sig, bucket, position):
    params = {"append": ""}
    if position is not None:
        params["position"] = position
    response = signed_request(oss2_auth(sig, server), "POST", server.endpoint, bucket.bucket_name, "raw",
                              params=params, data=b"zz")
    assert response.status_code == 400, response.content
    assert parse_error(response.content)["Code"] == "InvalidArgument"
    assert not bucket.object_exists("raw")


def test_concurrent_appends_at_one_position(bucket):
    # An append is a compare-and-swap on the length: exactly one of the racers wins.
    bucket.append_object("race", 0, b"base")
    outcomes = []

    def append(i):
        try:
            bucket.append_object("race", 4, b"<%d>" % i)
            outcomes.append(("ok", i))
        except oss2.exceptions.PositionNotEqualToLength as error:
            outcomes.append(("position", error.next_position))

    threads = [threading.Thread(target=append, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for kind, i in outcomes if kind == "ok"]
    assert len(winners) == 1
    assert sorted(p for kind, p in outcomes if kind == "position") == [7] * 7
    assert bucket.get_object("race").read() == b"base<%d>" % winners[0]


def test_chunked_append(bucket):
    result = bucket.append_object("chunked", 0, iter([b"abc", b"def"]))  # no Content-Length
    assert result.next_position == 6
    result = bucket.append_object("chunked", 6, iter([b"ghi"]))
    assert result.next_position == 9
    assert result.crc == crc64(b"abcdefghi")
    assert bucket.get_object("chunked").read() == b"abcdefghi"


def test_append_to_normal_object(bucket):
    bucket.put_object("normal", b"plain")
    for position in (0, 5):
        with pytest.raises(oss2.exceptions.ObjectNotAppendable) as excinfo:
            bucket.append_object("normal", position, b"more")
        assert excinfo.value.status == 409
    assert bucket.get_object("normal").read() == b"plain"
    assert bucket.head_object("normal").headers["x-oss-object-type"] == "Normal"


def test_append_to_multipart_object(bucket):
    upload_id = bucket.init_multipart_upload("mp").upload_id
    etag = bucket.upload_part("mp", upload_id, 1, b"part").etag
    bucket.complete_multipart_upload("mp", upload_id, [oss2.models.PartInfo(1, etag)])
    with pytest.raises(oss2.exceptions.ObjectNotAppendable):
        bucket.append_object("mp", 4, b"more")


def test_put_over_appendable_makes_it_normal(bucket):
    append_all(bucket, "log", [b"a", b"b"])
    bucket.put_object("log", b"replaced")
    assert bucket.head_object("log").headers["x-oss-object-type"] == "Normal"
    with pytest.raises(oss2.exceptions.ObjectNotAppendable):
        bucket.append_object("log", 8, b"more")
    bucket.delete_object("log")
    assert bucket.append_object("log", 0, b"fresh").next_position == 5
    assert bucket.get_object("log").read() == b"fresh"


def test_append_content_md5(bucket):
    bucket.append_object("md5", 0, b"abc")
    with pytest.raises(oss2.exceptions.InvalidDigest):
        bucket.append_object("md5", 3, b"def", headers={"Content-MD5": content_md5(b"xyz")})
    assert bucket.get_object("md5").read() == b"abc"
    result = bucket.append_object("md5", 3, b"def", headers={"Content-MD5": content_md5(b"def")})
    assert result.next_position == 6


def test_later_appends_keep_first_metadata(bucket):
    bucket.append_object("meta", 0, b"a", headers={"Content-Type": "text/x-first", "x-oss-meta-v": "1"})
    bucket.append_object("meta", 1, b"b", headers={"Content-Type": "text/x-second", "x-oss-meta-v": "2"})
    head = bucket.head_object("meta")
    assert head.content_type == "text/x-first"
    assert head.headers["x-oss-meta-v"] == "1"


def test_hundred_appends_read_back_exactly(bucket):
    # Past 32 extents the server merges runs of them; the bytes and CRC must not change.
    rng = random.Random(7)
    chunks = [os.urandom(rng.randint(1, 3000)) for _ in range(100)]
    results = append_all(bucket, "many", chunks)
    total = b"".join(chunks)
    assert results[-1].next_position == len(total)
    assert results[-1].crc == crc64(total)
    assert bucket.get_object("many").read() == total
    head = bucket.head_object("many")
    assert head.content_length == len(total)
    assert int(head.headers["x-oss-hash-crc64ecma"]) == crc64(total)
    for _ in range(20):
        first = rng.randrange(len(total))
        last = rng.randrange(first, len(total))
        assert bucket.get_object("many", byte_range=(first, last)).read() == total[first:last + 1]


def test_reader_started_before_append_sees_old_length(bucket):
    old = os.urandom(4 * MIB)
    bucket.append_object("grow", 0, old)
    reader = bucket.get_object("grow")
    assert reader.content_length == len(old)
    head_part = reader.read(64 * KIB)
    bucket.append_object("grow", len(old), b"appended while reading")
    rest = reader.read()
    assert head_part + rest == old
    assert bucket.get_object("grow").read() == old + b"appended while reading"


def test_reader_survives_compaction(bucket):
    # 32 extents, two of them large; the appends after the reader starts merge (and unlink) the
    # smallest run of extents while the reader still streams them.
    chunks = [os.urandom(MIB)] + [os.urandom(100 + i) for i in range(30)] + [os.urandom(MIB)]
    append_all(bucket, "compact", chunks)
    old = b"".join(chunks)
    reader = bucket.get_object("compact")
    head_part = reader.read(1000)
    position = len(old)
    for i in range(8):
        position = bucket.append_object("compact", position, b"x" * (i + 1)).next_position
    rest = reader.read()
    assert head_part + rest == old
    new = old + b"".join(b"x" * (i + 1) for i in range(8))
    assert bucket.get_object("compact").read() == new
    assert int(bucket.head_object("compact").headers["x-oss-hash-crc64ecma"]) == crc64(new)


def test_v2_append_object(v2):
    client, name = v2.client, v2.name
    first = client.append_object(oss.AppendObjectRequest(bucket=name, key="v2log", position=0, body=b"hello "))
    assert first.next_position == 6
    assert int(first.hash_crc64) == crc64(b"hello ")
    second = client.append_object(oss.AppendObjectRequest(bucket=name, key="v2log", position=6, body=b"world"))
    assert second.next_position == 11
    assert int(second.hash_crc64) == crc64(b"hello world")
    with pytest.raises(oss.exceptions.OperationError) as excinfo:
        client.append_object(oss.AppendObjectRequest(bucket=name, key="v2log", position=3, body=b"!"))
    error = excinfo.value.unwrap()
    assert (error.status_code, error.code) == (409, "PositionNotEqualToLength")
    assert error.headers["x-oss-next-append-position"] == "11"


def test_v2_append_only_file(v2):
    client, name = v2.client, v2.name
    create = oss.AppendObjectRequest(content_type="text/x-log", metadata={"kind": "log"})
    with client.append_file(name, "af", create_parameter=create) as f:
        assert f.write(b"one,") == 4
        assert f.write(b"two,") == 4
        assert f.tell() == 8
    with client.append_file(name, "af") as f:  # reopened: continues at the current length
        assert f.tell() == 8
        f.write(b"three")
    got = client.get_object(oss.GetObjectRequest(bucket=name, key="af"))
    assert got.body.read() == b"one,two,three"
    assert got.object_type == "Appendable"
    assert got.content_type == "text/x-log"
    assert got.metadata == {"kind": "log"}
    assert int(got.hash_crc64) == crc64(b"one,two,three")


# ---- no leaked blob files (a private server, so the counts are exact) --------------------------------


@pytest.fixture(scope="module")
def private_server(tmp_path_factory):
    running = start_server(str(tmp_path_factory.mktemp("append-blobs")), "--reclaim-delay", "0")  # blobs are counted: freed at once
    yield running
    assert running.stop() == 0


def blob_count(data_dir: str, area: str = "blobs") -> int:
    return sum(len(files) for _root, _dirs, files in os.walk(os.path.join(data_dir, area)))


def test_appends_keep_blob_count_bounded_and_delete_frees_all(private_server, sig):
    bucket = oss2_bucket(private_server, unique_bucket_name("append-blobs"), sig)
    bucket.create_bucket()
    try:
        before = blob_count(private_server.data_dir)
        position = 0
        for i in range(60):
            position = bucket.append_object("log", position, b"%d," % i).next_position
        # One blob per extent, and compaction keeps extents at 32 or fewer.
        assert before < blob_count(private_server.data_dir) <= before + 32
        with pytest.raises(oss2.exceptions.PositionNotEqualToLength):
            bucket.append_object("log", 1, b"rejected")
        with pytest.raises(oss2.exceptions.InvalidDigest):
            bucket.append_object("log", position, b"bad", headers={"Content-MD5": content_md5(b"good")})
        assert blob_count(private_server.data_dir) <= before + 32
        assert bucket.get_object("log").read() == b"".join(b"%d," % i for i in range(60))
        bucket.delete_object("log")
        assert blob_count(private_server.data_dir) == before
        assert blob_count(private_server.data_dir, "tmp") == 0
    finally:
        empty_and_delete_oss2(bucket)


def test_append_response_has_no_body_and_oss_headers(server, sig, bucket):
    response = signed_request(oss2_auth(sig, server), "POST", server.endpoint, bucket.bucket_name, "hdr",
                              params={"append": "", "position": "0"}, data=b"abc")
    assert response.status_code == 200, response.content
    assert response.content == b""
    assert response.headers["x-oss-next-append-position"] == "3"
    assert int(response.headers["x-oss-hash-crc64ecma"]) == crc64(b"abc")
    assert response.headers["ETag"] == etag_of(b"abc")
    assert len(response.headers["x-oss-request-id"]) == 24
