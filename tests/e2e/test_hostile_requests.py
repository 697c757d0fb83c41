"""Requests an attacker would send: each gets a clear 4xx, and none changes what it must not.

- DeleteMultipleObjects judges each key as a single DELETE would (an anonymous caller in a
  public-read-write bucket cannot delete a private object through it);
- a header or query parameter sent twice is refused, so a value other than the signed one is never used;
- numbers are ASCII digits only (`Expires=²` was a 500 before authentication);
- `response-*` overrides that no header may carry, user metadata over OSS's 8 KB, and parser-hostile
  bodies and headers answer 4xx;
- listings never show the access key id as the owner.
"""

from __future__ import annotations

import http.client
import time
import xml.etree.ElementTree as ElementTree
from urllib.parse import urlsplit

import oss2
import pytest
import requests

from .conftest import REGION, oss2_auth, unique_bucket_name
from .helpers import content_md5, object_url, parse_error, signed_request


def raw(server, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"") -> tuple[int, dict, bytes]:
    """One request written header by header, so that a header can be sent twice."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def error_code(body: bytes) -> str:
    return parse_error(body)["Code"]


def signed_headers(auth, method: str, server, bucket: str, key: str | None, headers: dict[str, str],
                   params: dict | None = None) -> tuple[str, list[tuple[str, str]]]:
    """(request target, headers) of a request oss2 signs."""
    request = oss2.http.Request(method, object_url(server.endpoint, bucket, key), params=dict(params or {}),
                                headers=dict(headers), region=REGION, product="oss")
    auth._sign_request(request, bucket, key or "")
    sent = {name: value for name, value in request.headers.items() if value is not None}
    prepared = requests.Request(method, request.url, params=request.params, headers=sent).prepare()
    split = urlsplit(prepared.url)
    headers = [(name, value) for name, value in prepared.headers.items() if name.lower() != "content-length"]
    return split.path + (f"?{split.query}" if split.query else ""), headers


# ---- DeleteMultipleObjects, key by key ----------------------------------------------------------


@pytest.fixture
def open_bucket(bucket_with_acl):
    return bucket_with_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE, "open")


def test_anonymous_batch_delete_refuses_each_key_a_single_delete_would(server, open_bucket):
    acls = {"private": oss2.OBJECT_ACL_PRIVATE, "read-only": oss2.OBJECT_ACL_PUBLIC_READ,
            "inherits": oss2.OBJECT_ACL_DEFAULT, "open": oss2.OBJECT_ACL_PUBLIC_READ_WRITE}
    for key, acl in acls.items():
        open_bucket.put_object(key, b"x", headers={"x-oss-object-acl": acl})
    # the single DELETE's verdicts, on copies of the same objects
    for key, acl in acls.items():
        open_bucket.put_object(key + "-single", b"x", headers={"x-oss-object-acl": acl})
    single = {key: requests.delete(object_url(server.endpoint, open_bucket.bucket_name, key + "-single"),
                                   timeout=30).status_code for key in acls}
    assert single == {"private": 403, "read-only": 403, "inherits": 204, "open": 204}

    for quiet in ("false", "true"):
        for key, acl in acls.items():
            open_bucket.put_object(key, b"x", headers={"x-oss-object-acl": acl})
        body = (f"<Delete><Quiet>{quiet}</Quiet>" + "".join(f"<Object><Key>{k}</Key></Object>" for k in
                                                           [*acls, "absent"]) + "</Delete>").encode()
        response = requests.post(object_url(server.endpoint, open_bucket.bucket_name) + "?delete", data=body,
                                 headers={"Content-MD5": content_md5(body)}, timeout=30)
        assert response.status_code == 200, response.content
        root = ElementTree.fromstring(response.content)
        errors = {e.findtext("Key"): e.findtext("Code") for e in root.iter("Error")}
        deleted = {d.findtext("Key") for d in root.iter("Deleted")}
        assert errors == {"private": "AccessDenied", "read-only": "AccessDenied"}
        assert deleted == (set() if quiet == "true" else {"inherits", "open", "absent"})
        assert open_bucket.object_exists("private") and open_bucket.object_exists("read-only")
        assert not open_bucket.object_exists("inherits") and not open_bucket.object_exists("open")


def test_anonymous_batch_delete_in_a_public_read_bucket_is_denied_whole(server):
    owner = oss2.Bucket(oss2_auth("v1", server), server.endpoint, unique_bucket_name("ro"), region=REGION)
    owner.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
    try:
        owner.put_object("k", b"x", headers={"x-oss-object-acl": oss2.OBJECT_ACL_PUBLIC_READ_WRITE})
        body = b"<Delete><Object><Key>k</Key></Object></Delete>"
        response = requests.post(object_url(server.endpoint, owner.bucket_name) + "?delete", data=body,
                                 headers={"Content-MD5": content_md5(body)}, timeout=30)
        assert response.status_code == 403 and error_code(response.content) == "AccessDenied"
        assert owner.object_exists("k")
    finally:
        owner.delete_object("k")
        owner.delete_bucket()


# ---- signed inputs are unambiguous -----------------------------------------------------------------


def test_a_presigned_put_cannot_store_a_second_value_of_a_signed_header(server, bucket):
    url = bucket.sign_url("PUT", "owned", 300, headers={"x-oss-meta-owner": "alice"})
    split = urlsplit(url)
    target = f"{split.path}?{split.query}"
    status, _, body = raw(server, "PUT", target, [("x-oss-meta-owner", "alice"), ("x-oss-meta-owner", "mallory")],
                          b"data")
    assert status == 400 and error_code(body) == "InvalidArgument"
    assert not bucket.object_exists("owned")
    status, _, body = raw(server, "PUT", target, [("x-oss-meta-owner", "alice")], b"data")
    assert status == 200, body
    assert bucket.head_object("owned").headers["x-oss-meta-owner"] == "alice"


@pytest.mark.parametrize("duplicate", [("x-oss-meta-owner", "mallory"), ("Content-Type", "text/html"),
                                       ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="), ("x-oss-object-acl", "private"),
                                       ("Cache-Control", "no-store")])
def test_a_header_signed_request_with_a_repeated_header_is_refused(server, sig, bucket, duplicate):
    auth = oss2_auth(sig, server)
    headers = {"x-oss-meta-owner": "alice", "Content-Type": "text/plain", "x-oss-object-acl": "public-read",
               "Cache-Control": "no-cache", "Content-MD5": content_md5(b"data")}
    target, signed = signed_headers(auth, "PUT", server, bucket.bucket_name, "k", headers)
    status, headers, body = raw(server, "PUT", target, [*signed, duplicate], b"data")
    assert status == 400, body
    if duplicate[0] != "Content-Type":  # aiohttp's parser refuses a second Content-Type itself, in plain text
        assert error_code(body) == "InvalidArgument", body
    assert not bucket.object_exists("k")


def test_a_repeated_query_parameter_is_refused(server, sig, bucket):
    bucket.put_object("k", b"x")
    auth = oss2_auth(sig, server)
    target, signed = signed_headers(auth, "GET", server, bucket.bucket_name, "k", {},
                                    params={"response-content-type": "text/plain"})
    status, _, body = raw(server, "GET", target + "&response-content-type=text/html", signed)
    assert status == 400 and error_code(body) == "InvalidArgument"


# ---- numbers: ASCII digits only -------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "OSSAccessKeyId=LTAItestaccesskey000000&Expires=%C2%B2&Signature=x",  # V1, a superscript two
    "OSSAccessKeyId=LTAItestaccesskey000000&Expires=%D9%A1%D9%A2&Signature=x",  # V1, Arabic-Indic digits
    "x-oss-signature-version=OSS2&x-oss-access-key-id=LTAItestaccesskey000000&x-oss-expires=%C2%B2"
    "&x-oss-signature=x",
    "x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-date=20231216T162057Z&x-oss-expires=%C2%B2"
    "&x-oss-credential=LTAItestaccesskey000000%2F20231216%2Fcn-hangzhou%2Foss%2Faliyun_v4_request"
    "&x-oss-signature=x",
])
def test_presigned_urls_with_unicode_digits_are_refused_not_crashed(server, bucket, query):
    response = requests.get(f"{object_url(server.endpoint, bucket.bucket_name, 'k')}?{query}", timeout=30)
    assert response.status_code == 403 and error_code(response.content) == "AccessDenied"


def test_unicode_digits_in_numbers_are_refused(server, sig, bucket):
    auth = oss2_auth(sig, server)
    listing = signed_request(auth, "GET", server.endpoint, bucket.bucket_name, params={"max-keys": "١٠"})
    assert listing.status_code == 400 and error_code(listing.content) == "InvalidArgument"
    append = signed_request(auth, "POST", server.endpoint, bucket.bucket_name, "log",
                            params={"append": "", "position": "٣"}, data=b"x")
    assert append.status_code == 400 and error_code(append.content) == "InvalidArgument"
    upload_id = bucket.init_multipart_upload("mp").upload_id
    etag = bucket.upload_part("mp", upload_id, 1, b"part").etag
    for number in ("²", "١", "+1", " 1_0 "):
        body = f"<CompleteMultipartUpload><Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>" \
               f"</CompleteMultipartUpload>".encode()
        response = signed_request(auth, "POST", server.endpoint, bucket.bucket_name, "mp",
                                  params={"uploadId": upload_id}, data=body)
        assert response.status_code == 400 and error_code(response.content) == "MalformedXML", number
    bucket.abort_multipart_upload("mp", upload_id)


# ---- values no header may carry, and OSS's limits ---------------------------------------------------


@pytest.mark.parametrize("value", ["text/plain\r\nSet-Cookie: a=b", "a\nb", "nul\x00", "del\x7f", "bell\x07"])
def test_response_overrides_no_header_may_carry_are_refused(server, sig, bucket, value):
    bucket.put_object("k", b"x")
    url = bucket.sign_url("GET", "k", 300, params={"response-content-type": value})
    response = requests.get(url, timeout=30)
    assert response.status_code == 400 and error_code(response.content) == "InvalidArgument"
    assert "Set-Cookie" not in response.headers


def test_response_overrides_keep_tabs_and_unicode(server, sig, bucket):
    bucket.put_object("k", b"x")
    value = 'attachment; filename="r\u00e9sum\u00e9\t.txt"'
    url = bucket.sign_url("GET", "k", 300, params={"response-content-disposition": value})
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].encode("latin-1").decode("utf-8") == value


def test_user_metadata_is_capped_at_8_kb(server, bucket):
    name = "x-oss-meta-m"
    fits = {f"{name}{i:02d}": "v" * (8192 // 8 - len(name) - 2) for i in range(8)}
    assert sum(len(k) + len(v) for k, v in fits.items()) == 8192
    bucket.put_object("fits", b"x", headers=fits)
    assert len(bucket.head_object("fits").headers["x-oss-meta-m00"]) == 8192 // 8 - len(name) - 2
    too_much = {**fits, "x-oss-meta-one-more": "v"}
    with pytest.raises(oss2.exceptions.InvalidArgument) as refused:
        bucket.put_object("too-much", b"x", headers=too_much)
    assert refused.value.status == 400 and refused.value.ec == "0011-00000002"
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.init_multipart_upload("too-much", headers=too_much)
    assert not bucket.object_exists("too-much")


def test_anonymous_user_metadata_flood_is_refused(server, open_bucket):
    headers = {f"x-oss-meta-flood{i}": "v" * 8000 for i in range(120)}
    response = requests.put(object_url(server.endpoint, open_bucket.bucket_name, "flood"), data=b"x",
                            headers=headers, timeout=30)
    assert response.status_code == 400 and error_code(response.content) == "InvalidArgument"
    assert not open_bucket.object_exists("flood")


# ---- parser-hostile bodies and headers ---------------------------------------------------------------


@pytest.mark.parametrize("shape", ["unclosed-keys", "deep", "many-elements"])
def test_hostile_delete_bodies_are_refused_while_other_requests_go_on(server, sig, bucket, shape):
    bucket.put_object("probe", b"still here")
    body = {
        "unclosed-keys": b"<Delete>" + b"<Object><Key>" * 600_000,
        "deep": b"<Delete>" + b"<a>" * 1_000_000,
        "many-elements": b"<Delete>" + b"<Object><Key>k</Key></Object>" * 250_000 + b"</Delete>",
    }[shape]
    assert len(body) < 8 << 20
    auth = oss2_auth(sig, server)
    response = signed_request(auth, "POST", server.endpoint, bucket.bucket_name, params={"delete": ""}, data=body,
                              headers={"Content-MD5": content_md5(body)}, timeout=60)
    assert response.status_code == 400 and error_code(response.content) == "MalformedXML"
    assert bucket.get_object("probe").read() == b"still here"


def test_a_long_v4_authorization_header_is_refused(server, bucket):
    authorization = "OSS4-HMAC-SHA256 " + "a" * 8000
    response = requests.get(object_url(server.endpoint, bucket.bucket_name, "k"),
                            headers={"Authorization": authorization, "x-oss-date": time.strftime(
                                "%Y%m%dT%H%M%SZ", time.gmtime())}, timeout=30)
    assert response.status_code == 400 and error_code(response.content) == "InvalidArgument"


# ---- owner ids ---------------------------------------------------------------------------------------


def test_listings_and_acls_never_show_the_access_key_id(server, sig, bucket):
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    bucket.put_object("k", b"x")
    anonymous = requests.get(object_url(server.endpoint, bucket.bucket_name) + "?list-type=2&fetch-owner=true",
                             timeout=30)
    owner_ids = {element.text for element in ElementTree.fromstring(anonymous.content).iter("ID")}
    signed_ids = {bucket.get_bucket_acl().owner if hasattr(bucket.get_bucket_acl(), "owner") else None,
                  bucket.get_bucket_info().owner.id}
    signed_ids.discard(None)
    assert len(owner_ids) == 1 and owner_ids == signed_ids
    (owner_id,) = owner_ids
    assert owner_id.isdigit() and len(owner_id) == 16
    assert server.access_key_id not in anonymous.text
    assert server.access_key_id not in signed_request(oss2_auth(sig, server), "GET", server.endpoint,
                                                      bucket.bucket_name, params={"acl": ""}).text
