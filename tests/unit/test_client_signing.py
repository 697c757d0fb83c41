"""The client signs exactly as oss2 does: the same Bucket call, made through oss2 and through ossbox.client
at the same frozen instant, must yield the same Authorization header (or presigned URL), character for
character, for V1, V2 and V4, with and without an STS token, for odd keys and sub-resources.

Both clients are given a session that captures the signed request instead of sending it, so every layer
that shapes the request (Bucket method, URL maker, headers such as the guessed Content-Type, auth) is
exercised, and nothing touches the network.
"""

from __future__ import annotations

import copy

from urllib.parse import urlsplit

import oss2
import pytest

import ossbox.client as ours
from sdk_compare import NOW

AK = "LTAI5tExampleAccessKey"
SK = "ExampleSecret+/=KeyWithSymbols"
TOKEN = "CAIS+token/with=symbols"
REGION = "cn-hangzhou"
ENDPOINTS = ["http://127.0.0.1:9000", "https://oss-cn-hangzhou.aliyuncs.com"]
BUCKET = "photos-2023"


class Captured(Exception):
    pass


class CapturingSession:
    """Stands in for both clients' sessions: records the signed request and stops the call there."""

    def do_request(self, req, timeout, stream=False):
        raise Captured(req)


def _stop_clock():
    return NOW


def oss2_auth(version, sts=False):
    if sts:
        return oss2.StsAuth(AK, SK, TOKEN, auth_version=version)
    return oss2.make_auth(AK, SK, version)


def our_auth(version, sts=False):
    if sts:
        return ours.StsAuth(AK, SK, TOKEN, auth_version=version, clock=_stop_clock)
    klass = {"v1": ours.Auth, "v2": ours.AuthV2, "v4": ours.AuthV4}[version]
    return klass(AK, SK, clock=_stop_clock)


def buckets(version, sts=False, endpoint=ENDPOINTS[0], region=REGION):
    theirs = oss2.Bucket(oss2_auth(version, sts), endpoint, BUCKET, session=CapturingSession(), region=region)
    mine = ours.Bucket(our_auth(version, sts), endpoint, BUCKET, session=CapturingSession(), region=region)
    return theirs, mine


def captured(call, client):
    with pytest.raises(Captured) as caught:
        call(client)
    return caught.value.args[0]


def lowered(headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if v is not None}


SIGNED = ("date", "x-oss-date", "content-type", "content-md5", "authorization")


def assert_same_signed_request(theirs, mine):
    a, b = lowered(theirs.headers), lowered(mine.headers)
    for name in SIGNED:
        assert a.get(name) == b.get(name), name
    assert {k: v for k, v in a.items() if k.startswith("x-oss-")} == {k: v for k, v in b.items()
                                                                        if k.startswith("x-oss-")}
    assert theirs.method == mine.method
    assert theirs.url == mine.url
    assert {k: v for k, v in theirs.params.items() if v is not None} == mine.params


KEYS = [
    "hello.txt",
    "dir/sub/file.txt",
    "with space.txt",
    "plus+sign",
    "100%",
    "what?#x",
    "\u4e2d\u6587/\U0001F600.txt",
    "../../etc/passwd",
    "..",
    "a//b/./c",
    "~tilde_-.",
    "semi;colon,comma=equals&amp",
    "'quote\"s'",
    "report.docx",
]

# (id, call) pairs: the same call is made on an oss2.Bucket and on an ossbox.client.Bucket.
CALLS = [
    ("put", lambda b: b.put_object("hello.txt", b"hello")),
    ("put-guessed-type", lambda b: b.put_object("index.html", "<p>hi</p>")),
    ("put-headers", lambda b: b.put_object("k", b"x", headers={
        "Content-Type": "text/plain", "Content-MD5": "XUFAKrxLKna5cZ2REBfFkg==", "x-oss-meta-author": "alice",
        "X-OSS-Meta-Mixed": "Case Value", "x-oss-object-acl": "private", "Cache-Control": "no-cache"})),
    ("put-utf8-meta", lambda b: b.put_object("k", b"x", headers={"x-oss-meta-name": "\u4e2d\u6587 value"})),
    ("get", lambda b: b.get_object("hello.txt")),
    ("get-range", lambda b: b.get_object("hello.txt", byte_range=(0, 9))),
    ("get-open-range", lambda b: b.get_object("hello.txt", byte_range=(None, 9))),
    ("get-conditions", lambda b: b.get_object("hello.txt", headers={
        "If-Modified-Since": "Fri, 15 Dec 2023 00:00:00 GMT", "If-None-Match": '"abc"',
        "If-Unmodified-Since": "Sat, 16 Dec 2023 00:00:00 GMT"})),
    ("get-process", lambda b: b.get_object("cat.jpg", process="image/resize,w_100/quality,q_90")),
    ("get-response-params", lambda b: b.get_object("hello.txt", params={
        "response-content-type": "text/html; charset=utf-8",
        "response-content-disposition": 'attachment; filename="a b.txt"', "versionId": "CAEQNhiBgMDJ/gZCA0+Yi="})),
    ("get-odd-params", lambda b: b.get_object("hello.txt", params={"+p": "v3", "|p": "v4", "empty": "", "a b": "c+d"})),
    ("head", lambda b: b.head_object("hello.txt", headers={"If-Match": "abc"})),
    ("meta", lambda b: b.get_object_meta("hello.txt")),
    ("exists", lambda b: b.object_exists("hello.txt")),
    ("delete", lambda b: b.delete_object("hello.txt")),
    ("copy", lambda b: b.copy_object("source-bucket", "src dir/\u00fc.txt", "dst.txt",
                                     headers={"x-oss-metadata-directive": "REPLACE"})),
    ("copy-version", lambda b: b.copy_object("source-bucket", "src", "dst", params={"versionId": "v1/+="})),
    ("batch-delete", lambda b: b.batch_delete_objects(["a", "b/c", "\u4e2d"])),
    ("list", lambda b: b.list_objects(prefix="dir/", delimiter="/", marker="dir/a b", max_keys=10)),
    ("list-v2", lambda b: b.list_objects_v2(prefix="p", continuation_token="tok+/=", start_after="s",
                                            fetch_owner=True)),
    ("init", lambda b: b.init_multipart_upload("big.mp4")),
    ("upload-part", lambda b: b.upload_part("big.bin", "0004B9895DBBB6EC98E36", 3, b"part")),
    ("complete", lambda b: b.complete_multipart_upload("big.bin", "upload-id", [oss2.models.PartInfo(1, "E1")])),
    ("complete-all", lambda b: b.complete_multipart_upload("big.bin", "upload-id", None,
                                                           headers={"x-oss-complete-all": "yes"})),
    ("abort", lambda b: b.abort_multipart_upload("big.bin", "upload-id")),
    ("list-parts", lambda b: b.list_parts("big.bin", "upload-id", marker="2", max_parts=5)),
    ("create-bucket", lambda b: b.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)),
    ("delete-bucket", lambda b: b.delete_bucket()),
    ("bucket-info", lambda b: b.get_bucket_info()),
]

VERSIONS = ["v1", "v2", "v4"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("sts", [False, True], ids=["key", "sts"])
@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[i for i, _ in CALLS])
def test_bucket_calls_are_signed_as_oss2_signs_them(frozen_oss2, version, sts, call):
    theirs, mine = buckets(version, sts)
    assert_same_signed_request(captured(call, theirs), captured(call, mine))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=["ip", "virtual-hosted"])
def test_odd_keys_are_addressed_and_signed_as_oss2_does(frozen_oss2, version, key, endpoint):
    theirs, mine = buckets(version, endpoint=endpoint)
    call = lambda b: b.put_object(key, b"data", headers={"x-oss-meta-k": key})  # noqa: E731
    assert_same_signed_request(captured(call, theirs), captured(call, mine))


@pytest.mark.parametrize("version", VERSIONS)
def test_list_buckets_is_signed_as_oss2_signs_it(frozen_oss2, version):
    theirs = oss2.Service(oss2_auth(version), ENDPOINTS[0], session=CapturingSession(), region=REGION)
    mine = ours.Service(our_auth(version), ENDPOINTS[0], session=CapturingSession(), region=REGION)
    call = lambda s: s.list_buckets(prefix="p", marker="m", max_keys=7)  # noqa: E731
    assert_same_signed_request(captured(call, theirs), captured(call, mine))


def test_v2_additional_headers_are_listed_like_oss2(frozen_oss2):
    """oss2 lists AdditionalHeaders in set order; the signature itself must be identical."""
    theirs, mine = buckets("v2")
    call = lambda b: b.get_object("k", byte_range=(0, 1), headers={"If-Modified-Since": "x"})  # noqa: E731
    a = captured(call, theirs).headers["authorization"]
    b = captured(call, mine).headers["authorization"]

    def fields(value):
        parts = dict(field.split(":", 1) for field in value.removeprefix("OSS2 ").split(","))
        parts["AdditionalHeaders"] = set(parts["AdditionalHeaders"].split(";"))
        return parts

    assert fields(a) == fields(b)
    assert fields(b)["AdditionalHeaders"] == {"range", "if-modified-since"}


def test_v4_without_region_is_a_client_error_in_both(frozen_oss2):
    theirs, mine = buckets("v4", region=None)
    with pytest.raises(oss2.exceptions.ClientError):
        theirs.get_object("k")
    with pytest.raises(ours.exceptions.ClientError) as caught:
        mine.get_object("k")
    assert caught.value.status == -1


# ---- presigned URLs ----

SIGN_URL_CASES = [
    ("get", dict(method="GET", key="hello.txt", expires=3600)),
    ("put-typed", dict(method="PUT", key="up/load.txt", expires=60,
                       headers={"Content-Type": "text/plain", "x-oss-meta-a": "b"})),
    ("params", dict(method="GET", key="hello.txt", expires=300,
                    params={"response-content-type": "text/html", "x-oss-process": "image/resize,w_10",
                            "versionId": "v+1/="})),
    ("slash-safe", dict(method="GET", key="dir/\u4e2d\u6587 name+.txt", expires=10, slash_safe=True)),
    ("odd-key", dict(method="GET", key="a b/%/?#/~", expires=10)),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("sts", [False, True], ids=["key", "sts"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=["ip", "virtual-hosted"])
@pytest.mark.parametrize("kwargs", [k for _, k in SIGN_URL_CASES], ids=[i for i, _ in SIGN_URL_CASES])
def test_presigned_urls_are_oss2s_character_for_character(frozen_oss2, version, sts, endpoint, kwargs):
    theirs, mine = buckets(version, sts, endpoint=endpoint)
    # oss2 adds its signature parameters to the caller's params dict: each client gets its own copy
    assert mine.sign_url(**copy.deepcopy(kwargs)) == theirs.sign_url(**copy.deepcopy(kwargs))


@pytest.mark.parametrize("version", ["v2", "v4"])
def test_presigned_url_with_additional_headers(frozen_oss2, version):
    theirs, mine = buckets(version)
    kwargs = dict(method="GET", key="k", expires=60, headers={"Host": "example.com", "x-oss-meta-x": "1"},
                  additional_headers=["host", "absent-header"])
    assert mine.sign_url(**kwargs) == theirs.sign_url(**kwargs)
    assert "additional-headers=host" in urlsplit(mine.sign_url(**kwargs)).query


def test_anonymous_presigned_url_is_just_the_url(frozen_oss2):
    theirs = oss2.Bucket(oss2.AnonymousAuth(), ENDPOINTS[0], BUCKET)
    mine = ours.Bucket(ours.AnonymousAuth(), ENDPOINTS[0], BUCKET)
    assert mine.sign_url("GET", "a b", 60, params={"x": "y"}) == theirs.sign_url("GET", "a b", 60, params={"x": "y"})
