"""Authentication and the error envelope: presigned URLs (V1, V4, v2 SDK), unsigned requests, wrong and
unknown credentials, clock skew, and the XML / `x-oss-err` error formats."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import re
import time
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests

from .conftest import oss2_auth, oss2_bucket, unique_bucket_name, v2_client
from .helpers import parse_error, signed_request


def _replace_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    params = [(k, value if k == name else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(params, quote_via=quote)))


def _error(response: requests.Response) -> dict[str, str]:
    assert response.headers["Content-Type"].startswith("application/xml")
    return parse_error(response.content)


# ---- presigned URLs ----------------------------------------------------------------------------------


def test_presigned_get(bucket):
    bucket.put_object("a b/c+d.txt", b"presigned body")
    url = bucket.sign_url("GET", "a b/c+d.txt", 300)
    assert ("OSSAccessKeyId=" in url) == isinstance(bucket.auth, oss2.Auth)
    assert ("x-oss-signature=" in url) == isinstance(bucket.auth, oss2.ProviderAuthV4)
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.content
    assert response.content == b"presigned body"


def test_presigned_head_and_overrides(bucket):
    bucket.put_object("k", b"body")
    response = requests.head(bucket.sign_url("HEAD", "k", 300), timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "4"
    url = bucket.sign_url("GET", "k", 300, params={"response-content-type": "text/plain",
                                                    "response-content-disposition": "attachment"})
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.content
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["Content-Disposition"] == "attachment"


def test_presigned_put(bucket):
    url = bucket.sign_url("PUT", "uploaded", 300, headers={"Content-Type": "text/plain"})
    response = requests.put(url, data=b"via presigned put", headers={"Content-Type": "text/plain"}, timeout=10)
    assert response.status_code == 200, response.content
    assert bucket.get_object("uploaded").read() == b"via presigned put"
    assert bucket.head_object("uploaded").content_type == "text/plain"
    # the signed Content-Type is part of the signature
    response = requests.put(url, data=b"x", headers={"Content-Type": "text/html"}, timeout=10)
    assert response.status_code == 403
    assert _error(response)["Code"] == "SignatureDoesNotMatch"


def test_presigned_v1_expired(server, bucket):
    b = oss2_bucket(server, bucket.bucket_name, "v1")
    b.put_object("k", b"x")
    response = requests.get(b.sign_url("GET", "k", -60), timeout=10)
    assert response.status_code == 403
    assert _error(response)["Code"] == "AccessDenied"
    assert "expired" in _error(response)["Message"].lower()


class _TwoHoursAgo(dt.datetime):
    @classmethod
    def utcnow(cls):
        return dt.datetime.utcnow() - dt.timedelta(hours=2)


def test_presigned_v4_expired(server, bucket, monkeypatch):
    b = oss2_bucket(server, bucket.bucket_name, "v4")
    b.put_object("k", b"x")
    monkeypatch.setattr(oss2.auth, "datetime", _TwoHoursAgo)
    url = b.sign_url("GET", "k", 60)
    monkeypatch.undo()
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert _error(response)["Code"] == "AccessDenied"
    # still valid when the window covers now
    monkeypatch.setattr(oss2.auth, "datetime", _TwoHoursAgo)
    url = b.sign_url("GET", "k", 3 * 3600)
    monkeypatch.undo()
    assert requests.get(url, timeout=10).status_code == 200


def test_presigned_v1_tampered(server, bucket):
    b = oss2_bucket(server, bucket.bucket_name, "v1")
    b.put_object("k", b"x")
    b.put_object("other", b"y")
    url = b.sign_url("GET", "k", 300)
    expires = dict(parse_qsl(urlsplit(url).query))["Expires"]
    for tampered in (_replace_param(url, "Expires", str(int(expires) + 100)),
                     _replace_param(url, "Signature", "AAAA" + dict(parse_qsl(urlsplit(url).query))["Signature"][4:]),
                     url.replace("/k?", "/other?")):
        response = requests.get(tampered, timeout=10)
        assert response.status_code == 403, tampered
        assert _error(response)["Code"] == "SignatureDoesNotMatch"


def test_presigned_v4_tampered(server, bucket):
    b = oss2_bucket(server, bucket.bucket_name, "v4")
    b.put_object("k", b"x")
    b.put_object("other", b"y")
    url = b.sign_url("GET", "k", 300)
    signature = dict(parse_qsl(urlsplit(url).query))["x-oss-signature"]
    for tampered in (_replace_param(url, "x-oss-expires", "301"),
                     _replace_param(url, "x-oss-signature", ("0" if signature[0] != "0" else "1") + signature[1:]),
                     url.replace("/k?", "/other?")):
        response = requests.get(tampered, timeout=10)
        assert response.status_code == 403, tampered
        assert _error(response)["Code"] == "SignatureDoesNotMatch"


def test_presigned_wrong_secret(server, bucket):
    bucket.put_object("k", b"x")
    for kind in ("v1", "v4"):
        bad = oss2.Auth(server.access_key_id, "wrong") if kind == "v1" else oss2.ProviderAuthV4(
            oss2.credentials.StaticCredentialsProvider(server.access_key_id, "wrong"))
        b = oss2.Bucket(bad, server.endpoint, bucket.bucket_name, region="cn-hangzhou")
        response = requests.get(b.sign_url("GET", "k", 300), timeout=10)
        assert response.status_code == 403
        assert _error(response)["Code"] == "SignatureDoesNotMatch"


def test_v2_presign(v2):
    c = v2.client
    c.put_object(oss.PutObjectRequest(bucket=v2.name, key="p k", body=b"v2 presigned"))
    result = c.presign(oss.GetObjectRequest(bucket=v2.name, key="p k"), expires=dt.timedelta(minutes=5))
    assert result.method == "GET"
    response = requests.get(result.url, headers=result.signed_headers or {}, timeout=10)
    assert response.status_code == 200, response.content
    assert response.content == b"v2 presigned"
    result = c.presign(oss.PutObjectRequest(bucket=v2.name, key="put", content_type="text/plain"),
                       expires=dt.timedelta(minutes=5))
    response = requests.put(result.url, data=b"put body", headers=result.signed_headers or {}, timeout=10)
    assert response.status_code == 200, response.content
    assert c.get_object(oss.GetObjectRequest(bucket=v2.name, key="put")).body.read() == b"put body"


def test_v2_presign_expired(v2):
    v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key="k", body=b"x"))
    expiration = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    url = v2.client.presign(oss.GetObjectRequest(bucket=v2.name, key="k"), expiration=expiration).url
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert _error(response)["Code"] == "AccessDenied"


# ---- unsigned, wrong and unknown credentials ---------------------------------------------------------


def test_unsigned_requests_denied(server, bucket):
    bucket.put_object("k", b"secret")
    base = f"{server.endpoint}/{bucket.bucket_name}"
    for method, url in (("GET", f"{base}/k"), ("GET", f"{base}/"), ("GET", f"{server.endpoint}/"),
                        ("PUT", f"{base}/new"), ("DELETE", f"{base}/k"), ("PUT", f"{server.endpoint}/"
                                                                               f"{unique_bucket_name()}")):
        response = requests.request(method, url, data=b"x" if method == "PUT" else None, timeout=10)
        assert response.status_code == 403, (method, url)
        assert _error(response)["Code"] == "AccessDenied"
    assert bucket.get_object("k").read() == b"secret"
    assert not bucket.object_exists("new")


@pytest.mark.parametrize("kind", ["v1", "v4"])
def test_wrong_secret(server, bucket, kind):
    bucket.put_object("k", b"x")
    if kind == "v1":
        auth = oss2.Auth(server.access_key_id, server.access_key_secret + "x")
    else:
        auth = oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(server.access_key_id, "nope"))
    b = oss2.Bucket(auth, server.endpoint, bucket.bucket_name, region="cn-hangzhou")
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as info:
        b.get_object("k")
    assert info.value.status == 403
    with pytest.raises(oss2.exceptions.ServerError) as info:
        b.put_object("k", b"overwritten?")
    assert info.value.status == 403 and info.value.code == "SignatureDoesNotMatch"
    assert bucket.get_object("k").read() == b"x"


@pytest.mark.parametrize("kind", ["v1", "v4"])
def test_unknown_access_key(server, bucket, kind):
    if kind == "v1":
        auth = oss2.Auth("LTAIdoesnotexist", server.access_key_secret)
    else:
        auth = oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider("LTAIdoesnotexist", "s"))
    b = oss2.Bucket(auth, server.endpoint, bucket.bucket_name, region="cn-hangzhou")
    with pytest.raises(oss2.exceptions.ServerError) as info:
        b.get_object("k")
    assert info.value.status == 403 and info.value.code == "InvalidAccessKeyId"
    with pytest.raises(oss2.exceptions.ServerError) as info:
        oss2.Service(auth, server.endpoint, region="cn-hangzhou").list_buckets()
    assert info.value.status == 403 and info.value.code == "InvalidAccessKeyId"


@pytest.mark.parametrize("signature", ["v4", "v1"])
def test_v2_wrong_and_unknown_credentials(server, v2, signature):
    v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key="k", body=b"x"))
    wrong = v2_client(server, signature, access_key_secret="wrong-secret")
    with pytest.raises(oss.exceptions.OperationError) as info:
        wrong.get_object(oss.GetObjectRequest(bucket=v2.name, key="k"))
    assert info.value.unwrap().status_code == 403 and info.value.unwrap().code == "SignatureDoesNotMatch"
    unknown = v2_client(server, signature, access_key_id="LTAIunknownkey")
    with pytest.raises(oss.exceptions.OperationError) as info:
        unknown.head_object(oss.HeadObjectRequest(bucket=v2.name, key="k"))
    assert info.value.unwrap().status_code == 403 and info.value.unwrap().code == "InvalidAccessKeyId"


def test_v1_clock_skew(server, bucket, monkeypatch):
    b = oss2_bucket(server, bucket.bucket_name, "v1")
    monkeypatch.setattr(oss2.utils, "http_date", lambda timeval=None: email.utils.formatdate(
        time.time() - 3600, usegmt=True))
    with pytest.raises(oss2.exceptions.ServerError) as info:
        b.get_bucket_info()
    assert info.value.status == 403 and info.value.code == "RequestTimeTooSkewed"


def test_v4_clock_skew(server, bucket, monkeypatch):
    b = oss2_bucket(server, bucket.bucket_name, "v4")
    monkeypatch.setattr(oss2.auth, "datetime", _TwoHoursAgo)
    with pytest.raises(oss2.exceptions.ServerError) as info:
        b.get_bucket_info()
    assert info.value.status == 403 and info.value.code == "RequestTimeTooSkewed"


# ---- the error envelope ------------------------------------------------------------------------------


def test_error_xml_envelope(server, sig, bucket):
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, "missing key")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/xml")
    assert "Date" in response.headers and "Server" in response.headers
    request_id = response.headers["x-oss-request-id"]
    assert re.fullmatch(r"[0-9A-F]{24}", request_id)
    assert b"xmlns" not in response.content
    error = parse_error(response.content)
    assert error["Code"] == "NoSuchKey"
    assert error["Message"]
    assert error["RequestId"] == request_id
    assert "HostId" in error
    assert error["Key"] == "missing key"


def test_error_xml_has_ec(server, sig, bucket):
    """The wire contract lists <EC/> in every error body and x-oss-ec on HEAD errors."""
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name, "missing")
    assert "EC" in parse_error(response.content)
    response = signed_request(oss2_auth(sig, server), "HEAD", server.endpoint, bucket.bucket_name, "missing")
    assert "x-oss-ec" in response.headers


def test_head_errors_have_no_body_but_x_oss_err(server, sig, bucket):
    auth = oss2_auth(sig, server)
    cases = [
        (signed_request(auth, "HEAD", server.endpoint, bucket.bucket_name, "missing"), 404, "NoSuchKey"),
        (signed_request(auth, "HEAD", server.endpoint, unique_bucket_name(), "k"), 404, "NoSuchBucket"),
        (requests.head(f"{server.endpoint}/{bucket.bucket_name}/k", timeout=10), 403, "AccessDenied"),
        (signed_request(oss2.Auth(server.access_key_id, "bad"), "HEAD", server.endpoint, bucket.bucket_name, "k"),
         403, "SignatureDoesNotMatch"),
    ]
    for response, status, code in cases:
        assert response.status_code == status
        assert response.content == b""
        error = parse_error(base64.b64decode(response.headers["x-oss-err"]))
        assert error["Code"] == code
        assert error["RequestId"] == response.headers["x-oss-request-id"]


def test_not_implemented_operation(server, sig, bucket):
    response = signed_request(oss2_auth(sig, server), "GET", server.endpoint, bucket.bucket_name,
                              params={"logging": ""})
    assert response.status_code == 501
    assert _error(response)["Code"] == "NotImplemented"


# ---- oss2's V2 signature (OSS2 / HMAC-SHA256) ---------------------------------------------------------


def test_oss2_v2_signature(server, bucket):
    auth = oss2.AuthV2(server.access_key_id, server.access_key_secret)
    b = oss2.Bucket(auth, server.endpoint, bucket.bucket_name)
    b.put_object("v2 sig/k+1", b"signed with OSS2", headers={"x-oss-meta-a": "b"})
    assert b.get_object("v2 sig/k+1").read() == b"signed with OSS2"
    assert b.head_object("v2 sig/k+1").headers["x-oss-meta-a"] == "b"
    assert [o.key for o in b.list_objects(prefix="v2").object_list] == ["v2 sig/k+1"]
    response = requests.get(b.sign_url("GET", "v2 sig/k+1", 300), timeout=10)
    assert response.status_code == 200 and response.content == b"signed with OSS2"
    bad = oss2.Bucket(oss2.AuthV2(server.access_key_id, "wrong"), server.endpoint, bucket.bucket_name)
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        bad.get_object("v2 sig/k+1")
    response = requests.get(bad.sign_url("GET", "v2 sig/k+1", 300), timeout=10)
    assert response.status_code == 403
