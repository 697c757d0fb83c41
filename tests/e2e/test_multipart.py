"""Multipart upload end to end: Initiate / UploadPart / UploadPartCopy / Complete / Abort / ListParts /
ListMultipartUploads, their errors, ETag and CRC64 of the assembled object, blob clean-up, and the
SDKs' high-level transfer managers (oss2 `resumable_upload`, the v2 `Uploader`, `Copier` and
`open_file`) against a real server."""

from __future__ import annotations

import email.utils
import functools
import hashlib
import io
import os
import threading
import time
from xml.etree import ElementTree

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from oss2.models import PartInfo
from server import start_server

from .conftest import empty_and_delete_oss2, oss2_auth, oss2_bucket, unique_bucket_name
from .helpers import content_md5, crc64, etag_of, parse_error, random_bytes, signed_request

KIB = 1024
MIB = 1024 * KIB
MIN_PART = 100 * KIB
PAST = "Mon, 01 Jan 2001 00:00:00 GMT"
FUTURE = email.utils.formatdate(time.time() + 10 * 365 * 86400, usegmt=True)


def multipart_etag(parts: list[bytes]) -> str:
    """The ETag OSS gives an object completed from `parts`: MD5 of the parts' binary MD5s, then `-N`."""
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest().upper()
    return f'"{digest}-{len(parts)}"'


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def upload_parts(bucket: oss2.Bucket, key: str, parts: list[bytes], headers=None) -> tuple[str, list[PartInfo]]:
    upload_id = bucket.init_multipart_upload(key, headers=headers).upload_id
    infos = []
    for number, data in enumerate(parts, 1):
        result = bucket.upload_part(key, upload_id, number, data)
        infos.append(PartInfo(number, result.etag, size=len(data), part_crc=result.crc))
    return upload_id, infos


def abort_all_uploads(bucket: oss2.Bucket) -> None:
    try:
        for upload in oss2.MultipartUploadIterator(bucket):
            bucket.abort_multipart_upload(upload.key, upload.upload_id)
    except oss2.exceptions.NoSuchBucket:
        pass


@pytest.fixture
def make_bucket(make_bucket):
    """The shared factory, but aborting uploads left in progress first (else the bucket cannot be deleted)."""
    created: list[oss2.Bucket] = []

    def make(prefix: str = "e2e") -> oss2.Bucket:
        created.append(make_bucket(prefix))
        return created[-1]

    yield make
    for b in created:
        abort_all_uploads(b)


@pytest.fixture
def make_v2_bucket(make_v2_bucket):
    created = []

    def make(prefix: str = "e2e"):
        created.append(make_v2_bucket(prefix))
        return created[-1]

    yield make
    for b in created:
        try:
            for page in b.client.list_multipart_uploads_paginator().iter_page(
                    oss.ListMultipartUploadsRequest(bucket=b.name)):
                for u in page.uploads or []:
                    b.client.abort_multipart_upload(oss.AbortMultipartUploadRequest(
                        bucket=b.name, key=u.key, upload_id=u.upload_id))
        except oss.exceptions.OperationError:
            pass


def server_error(excinfo) -> tuple[int, str]:
    return excinfo.value.status, excinfo.value.code


@pytest.fixture
def parts() -> list[bytes]:
    # Two full-size parts of different sizes and a short last one.
    return [os.urandom(MIN_PART), os.urandom(MIN_PART + 4321), os.urandom(777)]


# ---- the happy path ------------------------------------------------------------------------------


def test_complete_assembles_parts_with_multipart_etag_and_crc(bucket, parts):
    data = b"".join(parts)
    upload_id, infos = upload_parts(bucket, "mp", parts, headers={
        "Content-Type": "text/x-multipart", "x-oss-meta-origin": "init", "Cache-Control": "no-cache"})
    for info, part in zip(infos, parts):
        assert info.etag == etag_of(part).strip('"')
        assert info.part_crc == crc64(part)
    # oss2 checks the CRC of the completion response against the parts' CRCs itself (enable_crc).
    result = bucket.complete_multipart_upload("mp", upload_id, infos)
    assert result.status == 200
    assert result.headers["ETag"] == multipart_etag(parts)
    assert int(result.headers["x-oss-hash-crc64ecma"]) == crc64(data)

    head = bucket.head_object("mp")
    assert head.headers["ETag"] == multipart_etag(parts)
    assert head.headers["x-oss-object-type"] == "Multipart"
    assert int(head.headers["x-oss-hash-crc64ecma"]) == crc64(data)
    assert head.content_length == len(data)
    assert head.content_type == "text/x-multipart"
    assert head.headers["x-oss-meta-origin"] == "init"
    assert head.headers["Cache-Control"] == "no-cache"

    got = bucket.get_object("mp")
    assert got.read() == data
    assert got.headers["ETag"] == multipart_etag(parts)
    listed = [o for o in oss2.ObjectIterator(bucket) if o.key == "mp"]
    assert listed[0].etag == multipart_etag(parts).strip('"')
    assert listed[0].type == "Multipart"
    assert listed[0].size == len(data)


def test_initiate_and_complete_response_xml(server, sig, bucket):
    auth = oss2_auth(sig, server)
    name = bucket.bucket_name
    response = signed_request(auth, "POST", server.endpoint, name, "dir/raw key", params={"uploads": ""})
    assert response.status_code == 200, response.content
    root = ElementTree.fromstring(response.content)
    assert root.tag == "InitiateMultipartUploadResult"
    assert root.findtext("Bucket") == name
    assert root.findtext("Key") == "dir/raw key"
    upload_id = root.findtext("UploadId")
    assert upload_id

    part = random_bytes(1000, seed=5)
    put = signed_request(auth, "PUT", server.endpoint, name, "dir/raw key",
                         params={"partNumber": "1", "uploadId": upload_id}, data=part)
    assert put.status_code == 200, put.content
    assert put.headers["ETag"] == etag_of(part)
    assert int(put.headers["x-oss-hash-crc64ecma"]) == crc64(part)

    body = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{put.headers['ETag']}</ETag></Part>"
            "</CompleteMultipartUpload>").encode()
    done = signed_request(auth, "POST", server.endpoint, name, "dir/raw key", params={"uploadId": upload_id},
                          data=body)
    assert done.status_code == 200, done.content
    root = ElementTree.fromstring(done.content)
    assert root.tag == "CompleteMultipartUploadResult"
    assert root.findtext("Bucket") == name
    assert root.findtext("Key") == "dir/raw key"
    assert root.findtext("ETag") == multipart_etag([part])
    assert root.findtext("Location")
    assert done.headers["ETag"] == multipart_etag([part])
    assert int(done.headers["x-oss-hash-crc64ecma"]) == crc64(part)


def test_initiate_with_url_encoding(server, sig, bucket):
    response = signed_request(oss2_auth(sig, server), "POST", server.endpoint, bucket.bucket_name, "a b/ü",
                              params={"uploads": "", "encoding-type": "url"}, percent_query=True)
    assert response.status_code == 200, response.content
    root = ElementTree.fromstring(response.content)
    assert root.findtext("EncodingType") == "url"
    assert root.findtext("Key") == "a%20b/%C3%BC"


def test_single_small_part_is_allowed(bucket):
    upload_id, infos = upload_parts(bucket, "small", [b"tiny"])
    bucket.complete_multipart_upload("small", upload_id, infos)
    assert bucket.get_object("small").read() == b"tiny"
    assert bucket.head_object("small").headers["ETag"] == multipart_etag([b"tiny"])


def test_ranged_get_across_part_boundaries(bucket, parts):
    data = b"".join(parts)
    upload_id, infos = upload_parts(bucket, "ranged", parts)
    bucket.complete_multipart_upload("ranged", upload_id, infos)
    b1, b2 = len(parts[0]), len(parts[0]) + len(parts[1])
    ranges = [(0, 0), (b1 - 1, b1), (b1 - 10, b2 + 10), (b2 - 1, b2), (b2, len(data) - 1), (0, len(data) - 1),
              (b1, b2 - 1), (5, len(data) - 5)]
    for first, last in ranges:
        got = bucket.get_object("ranged", byte_range=(first, last))
        assert got.status == 206
        assert got.headers["Content-Range"] == f"bytes {first}-{last}/{len(data)}"
        assert got.read() == data[first:last + 1], (first, last)
        assert int(got.headers["x-oss-hash-crc64ecma"]) == crc64(data)
        assert got.headers["ETag"] == multipart_etag(parts)
    # Suffix and open-ended ranges.
    assert bucket.get_object("ranged", byte_range=(None, 100)).read() == data[-100:]
    assert bucket.get_object("ranged", byte_range=(b1 + 3, None)).read() == data[b1 + 3:]


def test_standard_range_behavior_clamps_across_parts(server, sig, bucket, parts):
    data = b"".join(parts)
    upload_id, infos = upload_parts(bucket, "std", parts)
    bucket.complete_multipart_upload("std", upload_id, infos)
    first = len(parts[0]) - 7
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, "std",
                              headers={"Range": f"bytes={first}-{len(data) + 1000}", "x-oss-range-behavior": "standard"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {first}-{len(data) - 1}/{len(data)}"
    assert response.content == data[first:]


def test_gzip_get_of_multipart_text_object(server, sig, bucket):
    parts = [b"".join(b"line %06d of a text object\n" % i for i in range(4000))[:MIN_PART], b"the end\n" * 200]
    upload_id, infos = upload_parts(bucket, "text.txt", parts, headers={"Content-Type": "text/plain"})
    bucket.complete_multipart_upload("text.txt", upload_id, infos)
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, "text.txt",
                              headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.content == b"".join(parts)  # requests decodes the gzip stream


def test_complete_with_url_encoding(server, sig, bucket):
    upload_id, infos = upload_parts(bucket, "a b/ü", [b"x"])
    response = signed_request(oss2_auth(sig, server), "POST", server.endpoint, bucket.bucket_name, "a b/ü",
                              params={"uploadId": upload_id, "encoding-type": "url"},
                              data=_complete_xml([(1, '"' + infos[0].etag + '"')]), percent_query=True)
    assert response.status_code == 200, response.content
    root = ElementTree.fromstring(response.content)
    assert root.findtext("EncodingType") == "url"
    assert root.findtext("Key") == "a%20b/%C3%BC"
    assert bucket.get_object("a b/ü").read() == b"x"


def test_reupload_overwrites_part(bucket):
    first, second = os.urandom(MIN_PART), os.urandom(MIN_PART + 10)
    upload_id = bucket.init_multipart_upload("re").upload_id
    old = bucket.upload_part("re", upload_id, 1, first)
    new = bucket.upload_part("re", upload_id, 1, second)
    assert old.etag != new.etag
    listed = bucket.list_parts("re", upload_id).parts
    assert [(p.part_number, p.etag, p.size) for p in listed] == [(1, new.etag, len(second))]
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.complete_multipart_upload("re", upload_id, [PartInfo(1, old.etag)])
    assert server_error(excinfo) == (400, "InvalidPart")
    bucket.complete_multipart_upload("re", upload_id, [PartInfo(1, new.etag)])
    assert bucket.get_object("re").read() == second


def test_complete_with_gaps_uses_only_named_parts(bucket):
    p1, p3, p5 = os.urandom(MIN_PART), os.urandom(MIN_PART), b"last part"
    upload_id = bucket.init_multipart_upload("gaps").upload_id
    e1 = bucket.upload_part("gaps", upload_id, 1, p1).etag
    bucket.upload_part("gaps", upload_id, 3, p3)
    e5 = bucket.upload_part("gaps", upload_id, 5, p5).etag
    result = bucket.complete_multipart_upload("gaps", upload_id, [PartInfo(1, e1), PartInfo(5, e5)])
    assert result.headers["ETag"] == multipart_etag([p1, p5])
    assert bucket.get_object("gaps").read() == p1 + p5
    assert int(bucket.head_object("gaps").headers["x-oss-hash-crc64ecma"]) == crc64(p1 + p5)


def test_complete_all_header(bucket, parts):
    upload_id, _ = upload_parts(bucket, "all", parts)
    result = bucket.complete_multipart_upload("all", upload_id, None, headers={"x-oss-complete-all": "yes"})
    assert result.headers["ETag"] == multipart_etag(parts)
    assert int(result.headers["x-oss-hash-crc64ecma"]) == crc64(b"".join(parts))
    assert bucket.get_object("all").read() == b"".join(parts)


def test_complete_all_with_a_part_list_is_rejected(bucket, parts):
    upload_id, infos = upload_parts(bucket, "all", parts)
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.complete_multipart_upload("all", upload_id, infos, headers={"x-oss-complete-all": "yes"})
    assert server_error(excinfo) == (400, "InvalidArgument")


def test_complete_without_parts_is_malformed(bucket):
    upload_id = bucket.init_multipart_upload("none").upload_id
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.complete_multipart_upload("none", upload_id, [])
    assert server_error(excinfo)[0] == 400


def test_forbid_overwrite_on_complete(bucket):
    bucket.put_object("exists", b"old")
    upload_id, infos = upload_parts(bucket, "exists", [b"new"])
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.complete_multipart_upload("exists", upload_id, infos, headers={"x-oss-forbid-overwrite": "true"})
    assert server_error(excinfo) == (409, "FileAlreadyExists")
    assert bucket.get_object("exists").read() == b"old"


# ---- completion errors -----------------------------------------------------------------------------


def test_complete_unknown_part_number(bucket, parts):
    upload_id, infos = upload_parts(bucket, "unknown", parts[:1])
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.complete_multipart_upload("unknown", upload_id, infos + [PartInfo(2, infos[0].etag)])
    assert server_error(excinfo) == (400, "InvalidPart")


def test_complete_etag_mismatch(bucket, parts):
    upload_id, infos = upload_parts(bucket, "mismatch", parts)
    infos[1] = PartInfo(2, "0" * 32)
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.complete_multipart_upload("mismatch", upload_id, infos)
    assert server_error(excinfo) == (400, "InvalidPart")


def _complete_xml(parts: list[tuple[int, str]]) -> bytes:
    body = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in parts)
    return f"<CompleteMultipartUpload>{body}</CompleteMultipartUpload>".encode()


@pytest.mark.parametrize("order", [[2, 1], [1, 1], [1, 3, 2]], ids=["descending", "repeated", "unsorted"])
def test_complete_part_order(server, sig, bucket, parts, order):
    # oss2 sorts the part list itself, so the unsorted document is sent as raw signed XML.
    upload_id, infos = upload_parts(bucket, "order", parts)
    etags = {info.part_number: '"' + info.etag + '"' for info in infos}
    response = signed_request(oss2_auth(sig, server), "POST", server.endpoint, bucket.bucket_name, "order",
                              params={"uploadId": upload_id}, data=_complete_xml([(n, etags[n]) for n in order]))
    assert response.status_code == 400, response.content
    assert parse_error(response.content)["Code"] == "InvalidPartOrder"


def test_complete_part_order_v2(v2):
    client, name = v2.client, v2.name
    init = client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=name, key="order"))
    etags = []
    for number in (1, 2):
        result = client.upload_part(oss.UploadPartRequest(bucket=name, key="order", upload_id=init.upload_id,
                                                          part_number=number, body=os.urandom(MIN_PART)))
        etags.append(result.etag)
    with pytest.raises(oss.exceptions.OperationError) as excinfo:
        client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
            bucket=name, key="order", upload_id=init.upload_id,
            complete_multipart_upload=oss.CompleteMultipartUpload(parts=[
                oss.UploadPart(part_number=2, etag=etags[1]), oss.UploadPart(part_number=1, etag=etags[0])])))
    error = excinfo.value.unwrap()
    assert error.status_code == 400
    assert error.code == "InvalidPartOrder"
    client.abort_multipart_upload(oss.AbortMultipartUploadRequest(bucket=name, key="order",
                                                                  upload_id=init.upload_id))


def test_entity_too_small(bucket):
    parts = [os.urandom(MIN_PART - 1), os.urandom(MIN_PART)]
    upload_id, infos = upload_parts(bucket, "small", parts)
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.complete_multipart_upload("small", upload_id, infos)
    assert server_error(excinfo) == (400, "EntityTooSmall")
    # The upload survives a refused completion; without the short part it completes.
    bucket.complete_multipart_upload("small", upload_id, infos[1:])
    assert bucket.get_object("small").read() == parts[1]


def test_exactly_minimum_part_size_is_enough(bucket):
    parts = [os.urandom(MIN_PART), b"x"]
    upload_id, infos = upload_parts(bucket, "min", parts)
    bucket.complete_multipart_upload("min", upload_id, infos)
    assert bucket.get_object("min").read() == b"".join(parts)


# ---- UploadPart errors ------------------------------------------------------------------------------


def test_upload_part_content_md5_mismatch(bucket):
    upload_id = bucket.init_multipart_upload("md5").upload_id
    with pytest.raises(oss2.exceptions.InvalidDigest):
        bucket.upload_part("md5", upload_id, 1, b"payload", headers={"Content-MD5": content_md5(b"other")})
    assert bucket.list_parts("md5", upload_id).parts == []
    good = bucket.upload_part("md5", upload_id, 1, b"payload", headers={"Content-MD5": content_md5(b"payload")})
    assert good.etag == etag_of(b"payload").strip('"')


@pytest.mark.parametrize("number", ["0", "10001", "-1", "abc"])
def test_part_number_out_of_range(server, sig, bucket, number):
    upload_id = bucket.init_multipart_upload("num").upload_id
    response = signed_request(oss2_auth(sig, server), "PUT", server.endpoint, bucket.bucket_name, "num",
                              params={"partNumber": number, "uploadId": upload_id}, data=b"x")
    assert response.status_code == 400, response.content
    assert parse_error(response.content)["Code"] == "InvalidArgument"


def test_chunked_upload_part(bucket):
    upload_id = bucket.init_multipart_upload("chunked").upload_id
    result = bucket.upload_part("chunked", upload_id, 1, iter([b"abc", b"def", b"ghi"]))  # no Content-Length
    assert result.etag == etag_of(b"abcdefghi").strip('"')
    bucket.complete_multipart_upload("chunked", upload_id, [PartInfo(1, result.etag)])
    assert bucket.get_object("chunked").read() == b"abcdefghi"


def test_part_number_10000_is_accepted(bucket):
    upload_id = bucket.init_multipart_upload("max").upload_id
    bucket.upload_part("max", upload_id, 10000, b"end")
    result = bucket.complete_multipart_upload("max", upload_id, [PartInfo(10000, etag_of(b"end").strip('"'))])
    assert result.headers["ETag"] == multipart_etag([b"end"])


# ---- NoSuchUpload ------------------------------------------------------------------------------------


def _assert_no_such_upload(bucket: oss2.Bucket, key: str, upload_id: str) -> None:
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.upload_part(key, upload_id, 1, b"data")
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts(key, upload_id)
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.complete_multipart_upload(key, upload_id, [PartInfo(1, etag_of(b"data").strip('"'))])
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.abort_multipart_upload(key, upload_id)


def test_unknown_upload_id(bucket):
    _assert_no_such_upload(bucket, "key", "0123456789ABCDEF0123456789ABCDEF")


def test_upload_id_of_another_key(bucket):
    upload_id = bucket.init_multipart_upload("one").upload_id
    _assert_no_such_upload(bucket, "two", upload_id)
    bucket.abort_multipart_upload("one", upload_id)


def test_abort(bucket, parts):
    upload_id, _ = upload_parts(bucket, "aborted", parts)
    assert bucket.abort_multipart_upload("aborted", upload_id).status == 204
    _assert_no_such_upload(bucket, "aborted", upload_id)
    assert not bucket.object_exists("aborted")
    assert bucket.list_multipart_uploads().upload_list == []


def test_after_complete(bucket, parts):
    upload_id, infos = upload_parts(bucket, "done", parts)
    bucket.complete_multipart_upload("done", upload_id, infos)
    _assert_no_such_upload(bucket, "done", upload_id)
    assert bucket.get_object("done").read() == b"".join(parts)
    assert bucket.list_multipart_uploads().upload_list == []


def test_delete_bucket_with_upload_in_progress(make_bucket):
    bucket = make_bucket()
    upload_id = bucket.init_multipart_upload("pending").upload_id
    with pytest.raises(oss2.exceptions.BucketNotEmpty) as excinfo:
        bucket.delete_bucket()
    assert excinfo.value.status == 409
    bucket.abort_multipart_upload("pending", upload_id)
    bucket.delete_bucket()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bucket.get_bucket_info()


def test_multipart_in_missing_bucket(server, sig):
    missing = oss2_bucket(server, unique_bucket_name("missing"), sig)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.init_multipart_upload("k")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.list_multipart_uploads()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        missing.upload_part("k", "0123456789ABCDEF0123456789ABCDEF", 1, b"x")


# ---- ListParts ----------------------------------------------------------------------------------------


def test_list_parts_pagination(bucket):
    datas = {n: random_bytes(100 + n, seed=n) for n in (1, 2, 4, 7, 9)}
    upload_id = bucket.init_multipart_upload("lp").upload_id
    for number, data in datas.items():
        bucket.upload_part("lp", upload_id, number, data)
    everything = bucket.list_parts("lp", upload_id)
    assert not everything.is_truncated
    assert [(p.part_number, p.etag, p.size) for p in everything.parts] == [
        (n, etag_of(d).strip('"'), len(d)) for n, d in datas.items()]

    seen, marker, pages = [], "", 0
    while True:
        page = bucket.list_parts("lp", upload_id, marker=marker, max_parts=2)
        pages += 1
        seen.extend(p.part_number for p in page.parts)
        if not page.is_truncated:
            break
        assert int(page.next_marker) == page.parts[-1].part_number
        marker = page.next_marker
    assert seen == [1, 2, 4, 7, 9]
    assert pages == 3
    assert [p.part_number for p in oss2.PartIterator(bucket, "lp", upload_id, max_parts=1)] == [1, 2, 4, 7, 9]
    after = bucket.list_parts("lp", upload_id, marker="4")
    assert [p.part_number for p in after.parts] == [7, 9]


def test_list_parts_xml(server, sig, bucket):
    upload_id = bucket.init_multipart_upload("lpx").upload_id
    datas = [random_bytes(300, seed=1), random_bytes(400, seed=2), random_bytes(500, seed=3)]
    for number, data in enumerate(datas, 1):
        bucket.upload_part("lpx", upload_id, number, data)
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, "lpx",
                              params={"uploadId": upload_id, "max-parts": "2", "part-number-marker": ""})
    assert response.status_code == 200, response.content
    root = ElementTree.fromstring(response.content)
    assert root.tag == "ListPartsResult"
    assert root.findtext("Bucket") == bucket.bucket_name
    assert root.findtext("Key") == "lpx"
    assert root.findtext("UploadId") == upload_id
    assert root.findtext("MaxParts") == "2"
    assert root.findtext("IsTruncated") == "true"
    assert root.findtext("NextPartNumberMarker") == "2"
    listed = root.findall("Part")
    assert len(listed) == 2
    for node, data in zip(listed, datas):
        assert node.findtext("ETag") == etag_of(data)
        assert int(node.findtext("HashCrc64ecma")) == crc64(data)
        assert int(node.findtext("Size")) == len(data)
        assert node.findtext("LastModified").endswith(".000Z")
    last = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, "lpx",
                          params={"uploadId": upload_id, "part-number-marker": "2"})
    root = ElementTree.fromstring(last.content)
    assert root.findtext("IsTruncated") == "false"
    assert [p.findtext("PartNumber") for p in root.findall("Part")] == ["3"]


def test_list_parts_invalid_max_parts(server, sig, bucket):
    upload_id = bucket.init_multipart_upload("bad").upload_id
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, "bad",
                              params={"uploadId": upload_id, "max-parts": "0"})
    assert response.status_code == 400
    assert parse_error(response.content)["Code"] == "InvalidArgument"


# ---- ListMultipartUploads ------------------------------------------------------------------------------


@pytest.fixture
def uploads(bucket):
    """Uploads of several keys (two of `b`), as the sorted list of (key, upload id)."""
    created = [(key, bucket.init_multipart_upload(key).upload_id) for key in ("a/1", "a/2", "b", "b", "c d/é", "z")]
    return bucket, sorted(created, key=lambda pair: (pair[0].encode(), pair[1]))


def _listed(result) -> list[tuple[str, str]]:
    return [(u.key, u.upload_id) for u in result.upload_list]


def test_list_uploads_all(uploads):
    bucket, expected = uploads
    result = bucket.list_multipart_uploads()
    assert _listed(result) == expected
    assert not result.is_truncated
    assert result.prefix_list == []
    assert all(u.initiation_date > time.time() - 600 for u in result.upload_list)


def test_list_uploads_prefix_and_delimiter(uploads):
    bucket, expected = uploads
    assert _listed(bucket.list_multipart_uploads(prefix="a/")) == [p for p in expected if p[0].startswith("a/")]
    grouped = bucket.list_multipart_uploads(delimiter="/")
    assert _listed(grouped) == [p for p in expected if "/" not in p[0]]
    assert grouped.prefix_list == ["a/", "c d/"]
    nested = bucket.list_multipart_uploads(prefix="c d/", delimiter="/")
    assert _listed(nested) == [p for p in expected if p[0] == "c d/é"]


def test_list_uploads_markers(uploads):
    bucket, expected = uploads
    # A key marker alone skips every upload of that key.
    assert _listed(bucket.list_multipart_uploads(key_marker="b")) == [p for p in expected if p[0] > "b"]
    b_uploads = [p for p in expected if p[0] == "b"]
    after_first_b = bucket.list_multipart_uploads(key_marker="b", upload_id_marker=b_uploads[0][1])
    assert _listed(after_first_b) == [b_uploads[1]] + [p for p in expected if p[0] > "b"]


def test_list_uploads_pagination(uploads):
    bucket, expected = uploads
    seen, key_marker, upload_id_marker = [], "", ""
    for _ in range(20):
        page = bucket.list_multipart_uploads(key_marker=key_marker, upload_id_marker=upload_id_marker,
                                             max_uploads=2)
        seen.extend(_listed(page))
        if not page.is_truncated:
            break
        assert (page.next_key_marker, page.next_upload_id_marker) == _listed(page)[-1]
        key_marker, upload_id_marker = page.next_key_marker, page.next_upload_id_marker
    assert seen == expected
    iterated = [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(bucket, max_uploads=1)]
    assert iterated == expected


def test_list_uploads_pagination_with_delimiter(uploads):
    bucket, _ = uploads
    pages, key_marker, upload_id_marker = [], "", ""
    for _ in range(20):
        page = bucket.list_multipart_uploads(delimiter="/", key_marker=key_marker, upload_id_marker=upload_id_marker,
                                             max_uploads=1)
        pages.append(([u.key for u in page.upload_list], page.prefix_list))
        if not page.is_truncated:
            break
        key_marker, upload_id_marker = page.next_key_marker, page.next_upload_id_marker
    # Each common prefix appears once, however many uploads it groups.
    assert pages == [([], ["a/"]), (["b"], []), (["b"], []), ([], ["c d/"]), (["z"], [])]


def test_list_uploads_url_encoding_xml(server, sig, uploads):
    bucket, _ = uploads
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name,
                              params={"uploads": "", "encoding-type": "url", "prefix": "c d/", "max-uploads": "10"},
                              percent_query=True)
    assert response.status_code == 200, response.content
    root = ElementTree.fromstring(response.content)
    assert root.tag == "ListMultipartUploadsResult"
    assert root.findtext("EncodingType") == "url"
    assert root.findtext("Prefix") == "c%20d/"
    assert root.findtext("IsTruncated") == "false"
    assert [u.findtext("Key") for u in root.findall("Upload")] == ["c%20d/%C3%A9"]
    assert root.find("Upload").findtext("Initiated").endswith(".000Z")


def test_list_uploads_v2_paginator(v2):
    client, name = v2.client, v2.name
    ids = sorted((f"k{i}", client.initiate_multipart_upload(
        oss.InitiateMultipartUploadRequest(bucket=name, key=f"k{i}")).upload_id) for i in range(5))
    paginator = client.list_multipart_uploads_paginator(limit=2)
    seen = [(u.key, u.upload_id) for page in paginator.iter_page(
        oss.ListMultipartUploadsRequest(bucket=name)) for u in (page.uploads or [])]
    assert seen == ids
    for key, upload_id in ids:
        client.abort_multipart_upload(oss.AbortMultipartUploadRequest(bucket=name, key=key, upload_id=upload_id))


# ---- UploadPartCopy ----------------------------------------------------------------------------------


@pytest.fixture
def copy_source(bucket):
    data = os.urandom(2 * MIN_PART + 5000)
    bucket.put_object("source", data)
    return bucket, data


def test_upload_part_copy_ranges(copy_source, make_bucket):
    bucket, data = copy_source
    other = make_bucket()
    other.put_object("foreign", data[::-1])
    upload_id = bucket.init_multipart_upload("copied").upload_id
    ranges = [(0, MIN_PART - 1), (MIN_PART, 2 * MIN_PART + 99)]
    infos = []
    pieces = []
    for number, (first, last) in enumerate(ranges, 1):
        result = bucket.upload_part_copy(bucket.bucket_name, "source", (first, last), "copied", upload_id, number)
        assert result.etag == etag_of(data[first:last + 1]).strip('"')
        infos.append(PartInfo(number, result.etag))
        pieces.append(data[first:last + 1])
    # A whole object from another bucket, without a range.
    result = bucket.upload_part_copy(other.bucket_name, "foreign", None, "copied", upload_id, 3)
    assert result.etag == etag_of(data[::-1]).strip('"')
    assert int(result.headers["x-oss-hash-crc64ecma"]) == crc64(data[::-1])
    infos.append(PartInfo(3, result.etag))
    pieces.append(data[::-1])
    done = bucket.complete_multipart_upload("copied", upload_id, infos)
    assert done.headers["ETag"] == multipart_etag(pieces)
    assert bucket.get_object("copied").read() == b"".join(pieces)
    assert int(bucket.head_object("copied").headers["x-oss-hash-crc64ecma"]) == crc64(b"".join(pieces))


def test_upload_part_copy_response_xml(server, sig, copy_source):
    bucket, data = copy_source
    upload_id = bucket.init_multipart_upload("copied").upload_id
    response = signed_request(oss2_auth(sig, server), "PUT", server.endpoint, bucket.bucket_name, "copied",
                              params={"partNumber": "1", "uploadId": upload_id},
                              headers={"x-oss-copy-source": f"/{bucket.bucket_name}/source",
                                       "x-oss-copy-source-range": "bytes=10-19"})
    assert response.status_code == 200, response.content
    root = ElementTree.fromstring(response.content)
    assert root.tag == "CopyPartResult"
    assert root.findtext("ETag") == etag_of(data[10:20])
    assert root.findtext("LastModified").endswith(".000Z")


@pytest.mark.parametrize("header,value", [
    ("x-oss-copy-source-if-match", '"00000000000000000000000000000000"'),
    ("x-oss-copy-source-if-none-match", "SOURCE_ETAG"),
    ("x-oss-copy-source-if-unmodified-since", PAST),
    ("x-oss-copy-source-if-modified-since", FUTURE),
], ids=["if-match", "if-none-match", "if-unmodified-since", "if-modified-since"])
def test_upload_part_copy_failed_condition(copy_source, header, value):
    bucket, data = copy_source
    value = value.replace("SOURCE_ETAG", etag_of(data))
    upload_id = bucket.init_multipart_upload("cond").upload_id
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.upload_part_copy(bucket.bucket_name, "source", (0, 99), "cond", upload_id, 1, headers={header: value})
    assert bucket.list_parts("cond", upload_id).parts == []


@pytest.mark.parametrize("header,value", [
    ("x-oss-copy-source-if-match", "SOURCE_ETAG"),
    ("x-oss-copy-source-if-none-match", '"00000000000000000000000000000000"'),
    ("x-oss-copy-source-if-unmodified-since", FUTURE),
    ("x-oss-copy-source-if-modified-since", PAST),
], ids=["if-match", "if-none-match", "if-unmodified-since", "if-modified-since"])
def test_upload_part_copy_passing_condition(copy_source, header, value):
    bucket, data = copy_source
    value = value.replace("SOURCE_ETAG", etag_of(data))
    upload_id = bucket.init_multipart_upload("cond").upload_id
    result = bucket.upload_part_copy(bucket.bucket_name, "source", (0, 99), "cond", upload_id, 1,
                                     headers={header: value})
    assert result.etag == etag_of(data[:100]).strip('"')


def test_upload_part_copy_missing_source(bucket):
    upload_id = bucket.init_multipart_upload("cp").upload_id
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.upload_part_copy(bucket.bucket_name, "absent", None, "cp", upload_id, 1)


def test_upload_part_copy_unknown_upload(copy_source):
    bucket, _ = copy_source
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.upload_part_copy(bucket.bucket_name, "source", None, "cp", "0123456789ABCDEF0123456789ABCDEF", 1)


# ---- no leaked blob files (a private server, so the counts are exact) --------------------------------


@pytest.fixture(scope="module")
def private_server(tmp_path_factory):
    running = start_server(str(tmp_path_factory.mktemp("multipart-blobs")), "--reclaim-delay", "0")  # blobs are counted: freed at once
    yield running
    assert running.stop() == 0


@pytest.fixture
def private_bucket(private_server, sig):
    bucket = oss2_bucket(private_server, unique_bucket_name("blobs"), sig)
    bucket.create_bucket()
    yield bucket
    abort_all_uploads(bucket)
    empty_and_delete_oss2(bucket)


def file_count(data_dir: str, area: str = "blobs") -> int:
    return sum(len(files) for _root, _dirs, files in os.walk(os.path.join(data_dir, area)))


def test_abort_leaves_no_blobs(private_server, private_bucket):
    bucket, data_dir = private_bucket, private_server.data_dir
    before = file_count(data_dir)
    upload_id, _ = upload_parts(bucket, "abort", [os.urandom(MIN_PART), os.urandom(1000), b"3"])
    bucket.upload_part("abort", upload_id, 2, b"replacement")  # the replaced part's blob is freed at once
    assert file_count(data_dir) == before + 3
    with pytest.raises(oss2.exceptions.InvalidDigest):
        bucket.upload_part("abort", upload_id, 4, b"bad", headers={"Content-MD5": content_md5(b"good")})
    assert file_count(data_dir) == before + 3
    bucket.abort_multipart_upload("abort", upload_id)
    assert file_count(data_dir) == before
    assert file_count(data_dir, "tmp") == 0


def test_complete_frees_unused_parts_and_delete_frees_the_rest(private_server, private_bucket):
    bucket, data_dir = private_bucket, private_server.data_dir
    before = file_count(data_dir)
    p1, p2, p3 = os.urandom(MIN_PART), os.urandom(MIN_PART), b"tail"
    upload_id, infos = upload_parts(bucket, "done", [p1, p2, p3])
    assert file_count(data_dir) == before + 3
    bucket.complete_multipart_upload("done", upload_id, [infos[0], infos[2]])  # part 2 is left out
    assert file_count(data_dir) == before + 2
    assert bucket.get_object("done").read() == p1 + p3
    # Overwriting the multipart object releases both of its parts.
    bucket.put_object("done", b"plain")
    assert file_count(data_dir) == before + 1
    bucket.delete_object("done")
    assert file_count(data_dir) == before
    assert file_count(data_dir, "tmp") == 0


def test_failed_complete_keeps_parts_then_abort_frees_them(private_server, private_bucket):
    bucket, data_dir = private_bucket, private_server.data_dir
    before = file_count(data_dir)
    upload_id, infos = upload_parts(bucket, "small", [b"too small", b"last"])
    with pytest.raises(oss2.exceptions.ServerError):
        bucket.complete_multipart_upload("small", upload_id, infos)
    assert file_count(data_dir) == before + 2
    bucket.abort_multipart_upload("small", upload_id)
    assert file_count(data_dir) == before


def test_upload_part_copy_and_complete_over_existing_object(private_server, private_bucket):
    bucket, data_dir = private_bucket, private_server.data_dir
    data = os.urandom(MIN_PART + 10)
    bucket.put_object("src", data)
    bucket.put_object("dst", b"to be replaced")
    before = file_count(data_dir)
    upload_id = bucket.init_multipart_upload("dst").upload_id
    e1 = bucket.upload_part_copy(bucket.bucket_name, "src", None, "dst", upload_id, 1).etag
    e2 = bucket.upload_part_copy(bucket.bucket_name, "src", (0, 9), "dst", upload_id, 2).etag
    assert file_count(data_dir) == before + 2
    bucket.complete_multipart_upload("dst", upload_id, [PartInfo(1, e1), PartInfo(2, e2)])
    assert file_count(data_dir) == before + 1  # the replaced "dst" blob is gone
    assert bucket.get_object("dst").read() == data + data[:10]
    bucket.batch_delete_objects(["src", "dst"])
    assert file_count(data_dir) == before - 2


def test_concurrent_reuploads_of_one_part_leave_one_blob(private_server, private_bucket):
    bucket, data_dir = private_bucket, private_server.data_dir
    before = file_count(data_dir)
    upload_id = bucket.init_multipart_upload("race").upload_id
    datas = [os.urandom(MIN_PART + i) for i in range(6)]
    threads = [threading.Thread(target=bucket.upload_part, args=("race", upload_id, 1, d)) for d in datas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    listed = bucket.list_parts("race", upload_id).parts
    assert len(listed) == 1
    winner = next(d for d in datas if etag_of(d).strip('"') == listed[0].etag)
    assert listed[0].size == len(winner)
    assert file_count(data_dir) == before + 1
    bucket.complete_multipart_upload("race", upload_id, [PartInfo(1, listed[0].etag)])
    assert bucket.get_object("race").read() == winner
    bucket.delete_object("race")
    assert file_count(data_dir) == before


def _race(calls: dict) -> dict[str, str]:
    """Run the named calls at once; each outcome is "ok" or "NoSuchUpload"."""
    outcomes: dict[str, str] = {}

    def run(name, call):
        try:
            call()
            outcomes[name] = "ok"
        except oss2.exceptions.NoSuchUpload:
            outcomes[name] = "NoSuchUpload"

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_complete_racing_abort(private_server, private_bucket):
    bucket, data_dir = private_bucket, private_server.data_dir
    before = file_count(data_dir)
    for round_number in range(4):
        key = f"race{round_number}"
        upload_id, infos = upload_parts(bucket, key, [os.urandom(MIN_PART), b"tail"])
        outcomes = _race({
            "complete": functools.partial(bucket.complete_multipart_upload, key, upload_id, infos),
            "abort": functools.partial(bucket.abort_multipart_upload, key, upload_id),
        })
        assert sorted(outcomes.values()) == ["NoSuchUpload", "ok"], outcomes
        if outcomes["complete"] == "ok":
            assert bucket.head_object(key).content_length == MIN_PART + 4
            assert file_count(data_dir) == before + 2
            bucket.delete_object(key)
        else:
            assert not bucket.object_exists(key)
        assert file_count(data_dir) == before
    assert bucket.list_multipart_uploads().upload_list == []


# ---- SDK transfer managers --------------------------------------------------------------------------


@pytest.mark.parametrize("part_size", [100 * KIB, 1 * MIB], ids=["100KiB", "1MiB"])
@pytest.mark.parametrize("threads", [1, 4, 8])
def test_oss2_resumable_upload(bucket, tmp_path, threads, part_size):
    data = os.urandom((12 if part_size < MIB else 2) * part_size + 12345)  # 13 or 3 parts
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    store = oss2.ResumableStore(root=str(tmp_path / "store"))
    result = oss2.resumable_upload(bucket, "resumable", str(path), store=store, multipart_threshold=part_size,
                                   part_size=part_size, num_threads=threads)
    expected_etag = multipart_etag(split(data, part_size))
    assert result.etag == expected_etag.strip('"')
    head = bucket.head_object("resumable")
    assert head.headers["ETag"] == expected_etag
    assert head.headers["x-oss-object-type"] == "Multipart"
    assert int(head.headers["x-oss-hash-crc64ecma"]) == crc64(data)
    assert bucket.get_object("resumable").read() == data
    assert bucket.list_multipart_uploads().upload_list == []


def test_oss2_resumable_upload_resumes_after_failure(bucket, tmp_path, monkeypatch):
    data = os.urandom(10 * MIN_PART + 99)
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    store = oss2.ResumableStore(root=str(tmp_path / "store"))
    real_upload_part = oss2.Bucket.upload_part
    calls = []
    failures = []

    def failing_upload_part(self, key, upload_id, part_number, *args, **kwargs):
        calls.append(part_number)
        if len(calls) == 5 and not failures:
            failures.append(part_number)
            raise oss2.exceptions.RequestError(OSError("simulated network failure"))
        return real_upload_part(self, key, upload_id, part_number, *args, **kwargs)

    monkeypatch.setattr(oss2.Bucket, "upload_part", failing_upload_part)
    with pytest.raises(oss2.exceptions.RequestError):
        oss2.resumable_upload(bucket, "resume", str(path), store=store, multipart_threshold=MIN_PART,
                              part_size=MIN_PART, num_threads=1)
    pending = bucket.list_multipart_uploads().upload_list
    assert [u.key for u in pending] == ["resume"]
    assert [p.part_number for p in bucket.list_parts("resume", pending[0].upload_id).parts] == [1, 2, 3, 4]

    calls.clear()
    oss2.resumable_upload(bucket, "resume", str(path), store=store, multipart_threshold=MIN_PART,
                          part_size=MIN_PART, num_threads=1)
    assert sorted(calls) == list(range(5, 12))  # the first four parts were not sent again
    assert bucket.get_object("resume").read() == data
    assert bucket.head_object("resume").headers["ETag"] == multipart_etag(split(data, MIN_PART))
    assert bucket.list_multipart_uploads().upload_list == []


@pytest.mark.parametrize("parallel", [1, 4])
def test_v2_uploader_upload_file(v2, tmp_path, parallel):
    data = os.urandom(MIB + 4321)
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    uploader = v2.client.uploader(part_size=100 * KIB, parallel_num=parallel)
    result = uploader.upload_file(oss.PutObjectRequest(bucket=v2.name, key="uploaded", metadata={"via": "uploader"}),
                                  filepath=str(path))
    assert result.etag == multipart_etag(split(data, 100 * KIB))
    assert int(result.hash_crc64) == crc64(data)
    got = v2.client.get_object(oss.GetObjectRequest(bucket=v2.name, key="uploaded"))
    assert got.body.read() == data
    assert got.metadata == {"via": "uploader"}
    assert got.object_type == "Multipart"


def test_v2_uploader_upload_from_stream(v2):
    data = os.urandom(3 * 100 * KIB + 1)
    uploader = v2.client.uploader(part_size=100 * KIB)
    result = uploader.upload_from(oss.PutObjectRequest(bucket=v2.name, key="stream"), io.BytesIO(data))
    assert result.etag == multipart_etag(split(data, 100 * KIB))
    got = v2.client.get_object(oss.GetObjectRequest(bucket=v2.name, key="stream"))
    assert got.body.read() == data


def test_v2_copier_multipart_copy(v2):
    client, name = v2.client, v2.name
    data = os.urandom(3 * 100 * KIB + 17)
    client.put_object(oss.PutObjectRequest(bucket=name, key="src", body=data, content_type="text/x-copier",
                                           metadata={"origin": "src"}, tagging="team=storage&tier=1"))
    copier = client.copier(part_size=100 * KIB, multipart_copy_threshold=100 * KIB, disable_shallow_copy=True,
                           parallel_num=2)
    result = copier.copy(oss.CopyObjectRequest(bucket=name, key="dst", source_key="src"))
    assert result.upload_id  # it really went through UploadPartCopy
    assert result.etag == multipart_etag(split(data, 100 * KIB))
    assert int(result.hash_crc64) == crc64(data)
    got = client.get_object(oss.GetObjectRequest(bucket=name, key="dst"))
    assert got.body.read() == data
    assert got.content_type == "text/x-copier"
    assert got.metadata == {"origin": "src"}
    assert got.object_type == "Multipart"
    tags = client.get_object_tagging(oss.GetObjectTaggingRequest(bucket=name, key="dst"))
    assert {t.key: t.value for t in tags.tag_set.tags} == {"team": "storage", "tier": "1"}


def test_v2_copier_single_copy_below_threshold(v2):
    client, name = v2.client, v2.name
    client.put_object(oss.PutObjectRequest(bucket=name, key="src", body=b"small source"))
    result = client.copier().copy(oss.CopyObjectRequest(bucket=name, key="dst", source_key="src"))
    assert result.etag == etag_of(b"small source")
    assert client.get_object(oss.GetObjectRequest(bucket=name, key="dst")).body.read() == b"small source"


@pytest.mark.parametrize("prefetch", [False, True], ids=["direct", "prefetch"])
def test_v2_open_file_seek_and_read(v2, prefetch):
    client, name = v2.client, v2.name
    parts = [os.urandom(MIN_PART), os.urandom(MIN_PART + 1), os.urandom(5000)]
    data = b"".join(parts)
    init = client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=name, key="file"))
    uploaded = []
    for number, part in enumerate(parts, 1):
        result = client.upload_part(oss.UploadPartRequest(bucket=name, key="file", upload_id=init.upload_id,
                                                          part_number=number, body=part))
        uploaded.append(oss.UploadPart(part_number=number, etag=result.etag))
    client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=name, key="file", upload_id=init.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(parts=uploaded)))

    kwargs = {"enable_prefetch": True, "prefetch_threshold": 0, "chunk_size": 64 * KIB, "prefetch_num": 3} \
        if prefetch else {}
    with client.open_file(name, "file", **kwargs) as f:
        assert f.seekable() and f.readable()
        assert f.read(10) == data[:10]
        assert f.tell() == 10
        boundary = len(parts[0])
        f.seek(boundary - 5)
        assert f.read(10) == data[boundary - 5:boundary + 5]
        f.seek(-3, os.SEEK_END)
        assert f.read() == data[-3:]
        assert f.read(5) == b""
        f.seek(1000)
        f.seek(500, os.SEEK_CUR)
        assert f.tell() == 1500
        assert f.read(150 * KIB) == data[1500:1500 + 150 * KIB]
        f.seek(0)
        assert f.readall() == data
