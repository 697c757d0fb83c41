"""GetObject: the Range table in both behaviours, the four preconditions and their precedence, response-*
overrides; through oss2, the v2 SDK and raw requests."""

from __future__ import annotations

import base64
import email.utils
import os
import time

import alibabacloud_oss_v2 as oss
import oss2
import pytest

from .conftest import oss2_auth
from .helpers import crc64, etag_of, parse_error, random_bytes, signed_request

SIZE = 1000
DATA = random_bytes(SIZE, seed=7)
PAST = "Mon, 01 Jan 2001 00:00:00 GMT"
FUTURE = email.utils.formatdate(time.time() + 10 * 365 * 86400, usegmt=True)

# (Range header, default behaviour, standard behaviour); each behaviour is (status, first, last) or 416.
RANGE_TABLE = [
    ("bytes=0-499", (206, 0, 499), (206, 0, 499)),
    ("bytes=500-", (206, 500, 999), (206, 500, 999)),
    ("bytes=-300", (206, 700, 999), (206, 700, 999)),
    ("bytes=0-0", (206, 0, 0), (206, 0, 0)),
    ("bytes=999-999", (206, 999, 999), (206, 999, 999)),
    ("bytes=500-2000", (200, 0, 999), (206, 500, 999)),
    ("bytes=0-999", (206, 0, 999), (206, 0, 999)),
    ("bytes=1000-", (200, 0, 999), 416),
    ("bytes=1500-2000", (200, 0, 999), 416),
    ("bytes=abc", (200, 0, 999), (200, 0, 999)),
    ("bytes=500-100", (200, 0, 999), (200, 0, 999)),
    ("bytes=0-1,5-6", (200, 0, 999), (200, 0, 999)),
    ("items=0-10", (200, 0, 999), (200, 0, 999)),
]


@pytest.fixture
def obj(make_bucket):
    """A bucket holding the 1000-byte object `obj`, with CRC checks off so raw ranges can be read."""
    b = make_bucket()
    b.put_object("obj", DATA)
    return oss2.Bucket(b.auth, b.endpoint, b.bucket_name, region=b.region, enable_crc=False)


def _check_range(result_status, headers, body, expected):
    status, first, last = expected
    assert result_status == status
    assert body == DATA[first:last + 1]
    assert int(headers["Content-Length"]) == last - first + 1
    assert headers["ETag"] == etag_of(DATA)
    assert int(headers["x-oss-hash-crc64ecma"]) == crc64(DATA)  # the whole object's CRC, also on 206
    if status == 206:
        assert headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    else:
        assert "Content-Range" not in headers


# ---- Range, oss2 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("header,default,standard", RANGE_TABLE, ids=[r[0] for r in RANGE_TABLE])
def test_range_default_behaviour(obj, header, default, standard):
    result = obj.get_object("obj", headers={"Range": header})
    _check_range(result.status, result.headers, result.read(), default)


@pytest.mark.parametrize("header,default,standard", RANGE_TABLE, ids=[r[0] for r in RANGE_TABLE])
def test_range_standard_behaviour(obj, header, default, standard):
    headers = {"Range": header, "x-oss-range-behavior": "standard"}
    if standard == 416:
        with pytest.raises(oss2.exceptions.ServerError) as info:
            obj.get_object("obj", headers=headers)
        assert info.value.status == 416
        assert info.value.code == "InvalidRange"
        return
    result = obj.get_object("obj", headers=headers)
    _check_range(result.status, result.headers, result.read(), standard)


def test_range_with_byte_range_argument(obj):
    result = obj.get_object("obj", byte_range=(100, 199))
    assert result.status == 206 and result.read() == DATA[100:200]
    result = obj.get_object("obj", byte_range=(None, 10))
    assert result.status == 206 and result.read() == DATA[-10:]
    result = obj.get_object("obj", byte_range=(990, None))
    assert result.status == 206 and result.read() == DATA[990:]


def test_range_on_empty_object(obj):
    obj.put_object("empty", b"")
    result = obj.get_object("empty", headers={"Range": "bytes=0-10"})
    assert result.status == 200 and result.read() == b""
    with pytest.raises(oss2.exceptions.ServerError) as info:
        obj.get_object("empty", headers={"Range": "bytes=0-10", "x-oss-range-behavior": "standard"})
    assert info.value.status == 416


def test_416_raw_error(server, sig, obj):
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, obj.bucket_name, "obj",
                              headers={"Range": "bytes=1000-", "x-oss-range-behavior": "standard"})
    assert response.status_code == 416
    assert response.headers["Content-Type"].startswith("application/xml")
    error = parse_error(response.content)
    assert error["Code"] == "InvalidRange"
    assert error["RequestId"] == response.headers["x-oss-request-id"]


# ---- Range, v2 SDK -----------------------------------------------------------------------------------


@pytest.fixture
def v2obj(v2):
    v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key="obj", body=DATA))
    return v2


@pytest.mark.parametrize("behavior", [None, "standard"])
@pytest.mark.parametrize("header,default,standard", RANGE_TABLE, ids=[r[0] for r in RANGE_TABLE])
def test_v2_range(v2obj, header, default, standard, behavior):
    expected = standard if behavior else default
    request = oss.GetObjectRequest(bucket=v2obj.name, key="obj", range_header=header, range_behavior=behavior)
    if expected == 416:
        with pytest.raises(oss.exceptions.OperationError) as info:
            v2obj.client.get_object(request)
        assert info.value.unwrap().status_code == 416
        assert info.value.unwrap().code == "InvalidRange"
        return
    result = v2obj.client.get_object(request)
    body = result.body.read()
    status, first, last = expected
    assert result.status_code == status
    assert body == DATA[first:last + 1]
    assert result.content_length == last - first + 1
    assert result.etag == etag_of(DATA)
    assert result.content_range == (f"bytes {first}-{last}/{SIZE}" if status == 206 else None)


# ---- preconditions -----------------------------------------------------------------------------------


@pytest.fixture
def validators(obj):
    head = obj.head_object("obj")
    return head.headers["ETag"], head.headers["Last-Modified"]


def _before(http_date: str, seconds: int) -> str:
    return email.utils.formatdate(email.utils.parsedate_to_datetime(http_date).timestamp() - seconds, usegmt=True)


def _after(http_date: str, seconds: int) -> str:
    return _before(http_date, -seconds)


def _outcome(bucket, headers) -> int:
    try:
        result = bucket.get_object("obj", headers=headers)
    except oss2.exceptions.NotModified:
        return 304
    except oss2.exceptions.PreconditionFailed:
        return 412
    body = result.read()
    if result.status == 200:
        assert body == DATA
    return result.status


def test_if_match(obj, validators):
    etag, _ = validators
    bare = etag.strip('"')
    assert _outcome(obj, {"If-Match": etag}) == 200
    assert _outcome(obj, {"If-Match": bare}) == 200  # oss2 users pass the bare ETag
    assert _outcome(obj, {"If-Match": "*"}) == 200
    assert _outcome(obj, {"If-Match": f'"nope", {etag}'}) == 200
    assert _outcome(obj, {"If-Match": '"0123456789ABCDEF0123456789ABCDEF"'}) == 412
    assert _outcome(obj, {"If-Match": f"W/{etag}"}) == 412  # strong comparison: a weak tag never matches


def test_if_none_match(obj, validators):
    etag, _ = validators
    assert _outcome(obj, {"If-None-Match": etag}) == 304
    assert _outcome(obj, {"If-None-Match": etag.strip('"')}) == 304
    assert _outcome(obj, {"If-None-Match": f"W/{etag}"}) == 304  # weak comparison
    assert _outcome(obj, {"If-None-Match": "*"}) == 304
    assert _outcome(obj, {"If-None-Match": '"other", "another"'}) == 200
    assert _outcome(obj, {"If-None-Match": '"other"'}) == 200


def test_if_modified_since(obj, validators):
    _, last_modified = validators
    assert _outcome(obj, {"If-Modified-Since": last_modified}) == 304  # equal: not modified
    assert _outcome(obj, {"If-Modified-Since": _after(last_modified, 5)}) == 304
    assert _outcome(obj, {"If-Modified-Since": FUTURE}) == 304
    assert _outcome(obj, {"If-Modified-Since": _before(last_modified, 1)}) == 200
    assert _outcome(obj, {"If-Modified-Since": PAST}) == 200
    assert _outcome(obj, {"If-Modified-Since": "not a date"}) == 200  # unparseable: ignored


def test_if_unmodified_since(obj, validators):
    _, last_modified = validators
    assert _outcome(obj, {"If-Unmodified-Since": last_modified}) == 200  # equal passes
    assert _outcome(obj, {"If-Unmodified-Since": FUTURE}) == 200
    assert _outcome(obj, {"If-Unmodified-Since": _before(last_modified, 1)}) == 412
    assert _outcome(obj, {"If-Unmodified-Since": PAST}) == 412
    assert _outcome(obj, {"If-Unmodified-Since": "garbage"}) == 200


def test_precondition_precedence(obj, validators):
    etag, last_modified = validators
    # If-Match decides; If-Unmodified-Since is then ignored
    assert _outcome(obj, {"If-Match": etag, "If-Unmodified-Since": PAST}) == 200
    assert _outcome(obj, {"If-Match": '"bad"', "If-Unmodified-Since": FUTURE}) == 412
    # If-None-Match decides; If-Modified-Since is then ignored
    assert _outcome(obj, {"If-None-Match": '"other"', "If-Modified-Since": FUTURE}) == 200
    assert _outcome(obj, {"If-None-Match": etag, "If-Modified-Since": PAST}) == 304
    # 412 beats 304
    assert _outcome(obj, {"If-Match": '"bad"', "If-None-Match": etag}) == 412
    assert _outcome(obj, {"If-Unmodified-Since": PAST, "If-None-Match": etag}) == 412
    assert _outcome(obj, {"If-Unmodified-Since": PAST, "If-Modified-Since": FUTURE}) == 412
    # all four, all passing
    assert _outcome(obj, {"If-Match": etag, "If-Unmodified-Since": last_modified,
                          "If-None-Match": '"x"', "If-Modified-Since": PAST}) == 200


def test_preconditions_beat_range(obj, validators):
    etag, _ = validators
    assert _outcome(obj, {"Range": "bytes=0-9", "If-None-Match": etag}) == 304
    assert _outcome(obj, {"Range": "bytes=0-9", "If-Match": '"bad"'}) == 412
    standard_416 = {"Range": "bytes=1000-", "x-oss-range-behavior": "standard"}
    assert _outcome(obj, {**standard_416, "If-Match": '"bad"'}) == 412
    assert _outcome(obj, {**standard_416, "If-None-Match": etag}) == 304
    assert _outcome(obj, {**standard_416, "If-Modified-Since": FUTURE}) == 304
    # passing preconditions let the range through
    result = obj.get_object("obj", headers={"Range": "bytes=0-9", "If-Match": etag})
    assert result.status == 206 and result.read() == DATA[:10]


def test_missing_key_is_404_whatever_the_conditions(obj):
    for headers in ({"If-Match": "*"}, {"If-None-Match": "*"}, {"If-Unmodified-Since": PAST},
                    {"If-Modified-Since": FUTURE}):
        with pytest.raises(oss2.exceptions.NoSuchKey):
            obj.get_object("absent", headers=headers)


def test_304_and_412_raw(server, sig, obj, validators):
    etag, last_modified = validators
    auth = oss2_auth(sig, server)
    response = signed_request(auth, "GET", server.endpoint, obj.bucket_name, "obj", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Last-Modified"] == last_modified
    assert "x-oss-err" not in response.headers
    assert "x-oss-request-id" in response.headers
    response = signed_request(auth, "GET", server.endpoint, obj.bucket_name, "obj", headers={"If-Match": '"x"'})
    assert response.status_code == 412
    error = parse_error(response.content)
    assert error["Code"] == "PreconditionFailed"
    # HEAD: 304 without x-oss-err, 412 with it and no body
    response = signed_request(auth, "HEAD", server.endpoint, obj.bucket_name, "obj", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b"" and "x-oss-err" not in response.headers
    response = signed_request(auth, "HEAD", server.endpoint, obj.bucket_name, "obj", headers={"If-Match": '"x"'})
    assert response.status_code == 412 and response.content == b""
    assert parse_error(base64.b64decode(response.headers["x-oss-err"]))["Code"] == "PreconditionFailed"


def test_v2_preconditions(v2obj):
    c, name = v2obj.client, v2obj.name
    head = c.head_object(oss.HeadObjectRequest(bucket=name, key="obj"))
    etag = head.etag
    last_modified = head.headers["Last-Modified"]

    def outcome(**conditions):
        try:
            result = c.get_object(oss.GetObjectRequest(bucket=name, key="obj", **conditions))
        except oss.exceptions.OperationError as error:
            return error.unwrap().status_code
        result.body.read()
        return result.status_code

    assert outcome(if_match=etag) == 200
    assert outcome(if_match='"bad"') == 412
    assert outcome(if_none_match=etag) == 304
    assert outcome(if_none_match='"bad"') == 200
    assert outcome(if_modified_since=last_modified) == 304
    assert outcome(if_modified_since=PAST) == 200
    assert outcome(if_unmodified_since=last_modified) == 200
    assert outcome(if_unmodified_since=PAST) == 412
    assert outcome(if_match='"bad"', if_none_match=etag) == 412
    assert outcome(if_none_match=etag, range_header="bytes=0-1") == 304


# ---- response-* overrides ----------------------------------------------------------------------------

OVERRIDES = {
    "response-content-type": ("Content-Type", "text/csv"),
    "response-content-language": ("Content-Language", "fr"),
    "response-expires": ("Expires", "Thu, 01 Dec 1994 16:00:00 GMT"),
    "response-cache-control": ("Cache-Control", "max-age=60"),
    "response-content-disposition": ("Content-Disposition", 'attachment; filename="a b.csv"'),
    "response-content-encoding": ("Content-Encoding", "identity"),
}


def test_response_overrides(obj):
    params = {name: value for name, (_, value) in OVERRIDES.items()}
    result = obj.get_object("obj", params=params)
    assert result.read() == DATA
    for name, (header, value) in OVERRIDES.items():
        assert result.headers[header] == value, name
    # not stored: a plain GET is unchanged
    plain = obj.get_object("obj")
    plain.read()
    assert plain.headers["Content-Type"] == "application/octet-stream"
    assert "Content-Disposition" not in plain.headers


def test_response_overrides_without_spaces(obj):
    """The same mechanism with values that need no `+`/`%20` in the query string."""
    params = {"response-content-type": "text/csv", "response-content-language": "fr",
              "response-cache-control": "max-age=60", "response-content-disposition": "attachment;filename=x.csv",
              "response-content-encoding": "identity"}
    result = obj.get_object("obj", params=params)
    assert result.read() == DATA
    assert result.headers["Content-Type"] == "text/csv"
    assert result.headers["Content-Language"] == "fr"
    assert result.headers["Cache-Control"] == "max-age=60"
    assert result.headers["Content-Disposition"] == "attachment;filename=x.csv"
    assert result.headers["Content-Encoding"] == "identity"


def test_response_override_with_range(obj):
    result = obj.get_object("obj", headers={"Range": "bytes=0-9"}, params={"response-content-type": "text/plain"})
    assert result.status == 206 and result.read() == DATA[:10]
    assert result.headers["Content-Type"] == "text/plain"


def test_v2_response_overrides(v2obj):
    result = v2obj.client.get_object(oss.GetObjectRequest(
        bucket=v2obj.name, key="obj", response_content_type="text/csv", response_cache_control="max-age=60",
        response_content_disposition="inline", response_content_language="fr",
        response_expires="Thu, 01 Dec 1994 16:00:00 GMT", response_content_encoding="identity"))
    assert result.body.read() == DATA
    assert result.content_type == "text/csv"
    assert result.cache_control == "max-age=60"
    assert result.content_disposition == "inline"
    assert result.expires == "Thu, 01 Dec 1994 16:00:00 GMT"
    assert result.headers["Content-Language"] == "fr"


def test_v2_get_missing(v2, server):
    with pytest.raises(oss.exceptions.OperationError) as info:
        v2.client.get_object(oss.GetObjectRequest(bucket=v2.name, key="absent"))
    error = info.value.unwrap()
    assert error.status_code == 404 and error.code == "NoSuchKey"
    assert error.request_id and len(error.request_id) == 24


def test_head_answers_from_the_record_without_opening_the_blob(server, bucket):
    """HEAD and GetObjectMeta need no bytes: with the blob gone (a shared file system away) they still
    answer, with the record's validators, and only a GET fails."""
    data = random_bytes(3000, seed=99)
    bucket.put_object("blobless", data)
    blobs = [os.path.join(folder, name) for folder, _, names in os.walk(os.path.join(server.data_dir, "blobs"))
             for name in names]
    (path,) = [path for path in blobs if os.path.getsize(path) == len(data) and open(path, "rb").read() == data]
    os.unlink(path)
    head = bucket.head_object("blobless")
    assert head.content_length == len(data) and head.etag == etag_of(data).strip('"')
    assert bucket.get_object_meta("blobless").content_length == len(data)
    with pytest.raises(oss2.exceptions.OssError):
        bucket.get_object("blobless").read()
