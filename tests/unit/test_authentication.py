"""authenticate(): requests signed by the official SDKs are accepted; forged, stale or malformed ones are not.

Requests are rebuilt as the server sees them: the SDK's URL as it goes on the wire (oss2 hands its query
parameters to `requests`, which form-encodes them) is parsed by server.addressing, headers lowercased.
The clock is fixed: oss2's by monkeypatching, ours by passing `now`.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlsplit

import oss2
import oss2.auth
import oss2.utils
import pytest
import requests
from alibabacloud_oss_v2.credentials import StaticCredentialsProvider
from alibabacloud_oss_v2.signer import SignerV1, SignerV4
from alibabacloud_oss_v2.types import HttpRequest, SigningContext

from ossbox.protocol.authentication import MAX_CLOCK_SKEW, authenticate
from ossbox.protocol.dates import http_date, v4_datetime
from ossbox.protocol.errors import OssError
from ossbox.protocol.signing import (
    SignedParts,
    v1_authorization,
    v1_presign_params,
    v2_signature,
    v2_string_to_sign,
    v4_authorization,
    v4_presign_params,
)
from ossbox.server.addressing import parse_target
from sdk_compare import NOW, NOW_V4, lowered

AK = "LTAI5tExampleAccessKey"
SK = "ExampleSecret+/=KeyWithSymbols"
REGION = "cn-hangzhou"
ENDPOINT = "http://127.0.0.1:9000"
NOW_HTTP = "Sat, 16 Dec 2023 16:20:57 GMT"
BASE_DOMAIN = "oss-cn-hangzhou.aliyuncs.com"

SECRETS = {AK: SK, "other-key": "other-secret"}
lookup = SECRETS.get




def received(method, url, headers, base_domain=None) -> SignedParts:
    """SignedParts exactly as the server builds them from a request line and headers."""
    split = urlsplit(url)
    target = (split.path or "/") + ("?" + split.query if split.query else "")
    address = parse_target(split.netloc, target, base_domain)
    return SignedParts(method, address.bucket, address.key, address.params, lowered(headers))


def oss2_url(bucket, key):
    return oss2.api._UrlMaker(ENDPOINT, False, False)(bucket, key)


def on_the_wire(req) -> str:
    """The URL oss2 really requests: `requests` appends the parameters, form-encoded."""
    return requests.Request(req.method, req.url, params=req.params).prepare().url


def oss2_auth(version):
    if version == "v1":
        return oss2.Auth(AK, SK)
    if version == "v2":
        return oss2.AuthV2(AK, SK)
    return oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(AK, SK))


def oss2_request(method, bucket, key, params, headers):
    return oss2.http.Request(method, oss2_url(bucket, key), params=dict(params), headers=dict(headers),
                             region=REGION, product="oss")


def error_of(parts, now=NOW, region=REGION, secrets=lookup) -> OssError:
    with pytest.raises(OssError) as caught:
        authenticate(parts, secrets, now, region)
    return caught.value


# ---- accepted: what the SDKs send ----

REQUESTS = [
    # (id, method, bucket, key, params, headers)
    ("get", "GET", "photos", "hello.txt", {}, {}),
    ("put", "PUT", "photos", "dir/a b+c.txt", {}, {"Content-Type": "text/plain", "x-oss-meta-author": "alice"}),
    ("utf8-key", "PUT", "photos", "\u4e2d\u6587/\U0001F600 ?#%.txt", {}, {"x-oss-meta-n": "\u4e2d"}),
    ("dotdot", "GET", "photos", "../../etc/passwd", {}, {}),
    ("acl", "PUT", "photos", "k", {"acl": ""}, {"x-oss-object-acl": "private"}),
    ("part", "PUT", "photos", "big", {"partNumber": "1", "uploadId": "abc"}, {}),
    ("uploads", "POST", "photos", "big", {"uploads": ""}, {}),
    ("process", "GET", "photos", "cat.jpg", {"x-oss-process": "image/resize,w_100"}, {}),
    ("response", "GET", "photos", "k", {"response-content-type": "text/plain"}, {"Range": "bytes=0-1"}),
    ("list", "GET", "photos", "", {"prefix": "dir/", "marker": "", "max-keys": "10", "encoding-type": "url"}, {}),
    ("list-v2", "GET", "photos", "", {"list-type": "2", "continuation-token": "a/b==", "fetch-owner": "true"}, {}),
    ("delete", "POST", "photos", "", {"delete": "", "encoding-type": "url"}, {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}),
    ("buckets", "GET", "", "", {"prefix": "p", "max-keys": "5"}, {}),
]

# Query values containing a space: `requests` sends them as '+', which in a query string means a space.
SPACED_REQUESTS = [
    ("disposition", "GET", "photos", "k", {"response-content-disposition": "attachment; filename=a b.txt"}, {}),
    ("prefix", "GET", "photos", "", {"prefix": "my dir/", "delimiter": "/"}, {}),
    ("plus-and-space", "GET", "photos", "", {"prefix": "a+b c"}, {}),
]


def _ids(rows):
    return [r[0] for r in rows]


@pytest.mark.parametrize("version", ["v1", "v2", "v4"])
@pytest.mark.parametrize("rid, method, bucket, key, params, headers", REQUESTS, ids=_ids(REQUESTS))
def test_oss2_header_signed_request_is_accepted(frozen_oss2, version, rid, method, bucket, key, params, headers):
    req = oss2_request(method, bucket, key, params, headers)
    oss2_auth(version)._sign_request(req, bucket, key)
    assert authenticate(received(method, on_the_wire(req), req.headers), lookup, NOW, REGION) == AK


@pytest.mark.parametrize("version", ["v1", "v2", "v4"])
@pytest.mark.parametrize("rid, method, bucket, key, params, headers", SPACED_REQUESTS, ids=_ids(SPACED_REQUESTS))
def test_oss2_header_signed_request_with_a_space_in_a_query_value_is_accepted(frozen_oss2, version, rid, method, bucket,
                                                                              key, params, headers):
    req = oss2_request(method, bucket, key, params, headers)
    oss2_auth(version)._sign_request(req, bucket, key)
    url = on_the_wire(req)
    assert "+" in urlsplit(url).query
    assert authenticate(received(method, url, req.headers), lookup, NOW, REGION) == AK


@pytest.mark.parametrize("version", ["v1", "v2", "v4"])
@pytest.mark.parametrize("rid, method, bucket, key, params, headers", REQUESTS[:-1] + SPACED_REQUESTS,
                         ids=_ids(REQUESTS[:-1] + SPACED_REQUESTS))
def test_oss2_presigned_url_is_accepted(frozen_oss2, version, rid, method, bucket, key, params, headers):
    req = oss2_request(method, bucket, key, params, headers)
    url = oss2_auth(version)._sign_url(req, bucket, key, 3600)
    # the presigned URL is used later by any HTTP client, with the headers that were signed
    assert authenticate(received(method, url, headers), lookup, NOW + 60, REGION) == AK


def test_oss2_v4_presigned_url_with_additional_headers_is_accepted(frozen_oss2):
    headers = {"Range": "bytes=0-9", "Content-Type": "text/plain"}
    req = oss2_request("GET", "photos", "k", {}, headers)
    url = oss2_auth("v4")._sign_url(req, "photos", "k", 60, in_additional_headers=["range"])
    assert "x-oss-additional-headers=range" in url
    assert authenticate(received("GET", url, headers), lookup, NOW, REGION) == AK
    # a different Range than the one signed is refused
    assert error_of(received("GET", url, {**headers, "Range": "bytes=0-99"})).code == "SignatureDoesNotMatch"


def test_oss2_sts_token_requests_are_accepted(frozen_oss2):
    for version in ("v1", "v2", "v4"):
        auth = oss2.StsAuth(AK, SK, "sts-token", auth_version=version)
        req = oss2_request("GET", "photos", "k", {}, {})
        auth._sign_request(req, "photos", "k")
        assert authenticate(received("GET", on_the_wire(req), req.headers), lookup, NOW, REGION) == AK
        req = oss2_request("GET", "photos", "k", {}, {})
        url = auth._sign_url(req, "photos", "k", 60)
        assert authenticate(received("GET", url, {}), lookup, NOW, REGION) == AK


def _v2sdk_context(method, url, key, headers, *, query=False, additional=None):
    request = HttpRequest(method, url)
    request.headers.update(headers)
    context = SigningContext(bucket="photos", key=key, request=request, product="oss", region=REGION,
                             credentials=StaticCredentialsProvider(AK, SK).get_credentials(),
                             signing_time=datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc),
                             additional_headers=additional)
    if query:
        context.expiration_time = datetime.datetime.fromtimestamp(NOW + 900, datetime.timezone.utc)
        context.auth_method_query = True
    return context


V2SDK_REQUESTS = [
    # (id, method, url path + query, key, headers)
    ("get", "GET", "/dir/a%20b%2Bc.txt", "dir/a b+c.txt", {}),
    ("put", "PUT", "/k", "k", {"Content-Type": "text/plain", "x-oss-meta-a": "1", "Cache-Control": "no-cache"}),
    ("list", "GET", "/?list-type=2&prefix=a%20b&encoding-type=url&continuation-token=", None, {}),
    ("disposition", "GET", "/k?response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22", "k", {}),
    ("uploads", "POST", "/k?uploads=", "k", {}),
    ("utf8", "GET", "/%E4%B8%AD%E6%96%87", "\u4e2d\u6587", {"Range": "bytes=0-1"}),
]


@pytest.mark.parametrize("signer", [SignerV1, SignerV4], ids=["v1", "v4"])
@pytest.mark.parametrize("query", [False, True], ids=["header", "presigned"])
@pytest.mark.parametrize("rid, method, path, key, headers", V2SDK_REQUESTS, ids=_ids(V2SDK_REQUESTS))
def test_v2_sdk_signed_request_is_accepted(signer, query, rid, method, path, key, headers):
    url = f"http://photos.{BASE_DOMAIN}{path}"
    context = _v2sdk_context(method, url, key, headers, query=query, additional={"range", "cache-control"})
    signer().sign(context)
    wire_headers = context.request.headers if not query else headers
    parts = received(method, context.request.url, wire_headers, BASE_DOMAIN)
    assert authenticate(parts, lookup, NOW, REGION) == AK


def test_v2_sdk_v1_request_without_a_sub_resource_it_does_not_sign_is_accepted():
    # alibabacloud-oss-v2's V1 signer leaves x-oss-process out of the resource, oss2 puts it in: both pass.
    url = f"http://photos.{BASE_DOMAIN}/cat.jpg?x-oss-process=image%2Finfo"
    context = _v2sdk_context("GET", url, "cat.jpg", {})
    SignerV1().sign(context)
    assert "x-oss-process" not in context.string_to_sign
    assert authenticate(received("GET", url, context.request.headers, BASE_DOMAIN), lookup, NOW, REGION) == AK


def test_v4_vector_of_the_v2_sdk_is_accepted_at_its_signing_time():
    # tests/unit/signer/test_v4.py::test_auth_header_with_additional_headers, as the server would receive it
    headers = {
        "x-oss-head1": "value", "abc": "value", "zabc": "value", "xyz": "value", "content-type": "text/plain",
        "x-oss-content-sha256": "UNSIGNED-PAYLOAD", "x-oss-date": "20231216T172512Z",
        "authorization": "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request,"
                         "AdditionalHeaders=abc;zabc,"
                         "Signature=4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f",
    }
    parts = received("PUT", f"http://bucket.{BASE_DOMAIN}/1234%2B-/123/1.txt?param1=value1&%2Bparam1=value3"
                            "&%7Cparam1=value4&%2Bparam2&%7Cparam2&param2", headers, BASE_DOMAIN)
    assert authenticate(parts, {"ak": "sk"}.get, 1702747512, "cn-hangzhou") == "ak"


# ---- requests built with our own signer, with a fixed clock ----

def v1_parts(secret=SK, ak=AK, date=NOW_HTTP, key="k", params=(), extra=None):
    headers = {"date": date, "content-type": "text/plain", "x-oss-meta-a": "1", **(extra or {})}
    unsigned = SignedParts("PUT", "photos", key, params, headers)
    return SignedParts("PUT", "photos", key, params,
                       {**headers, "authorization": v1_authorization(unsigned, ak, secret)})


def v2_parts(secret=SK, ak=AK, date=NOW_HTTP, key="k", params=()):
    headers = {"date": date, "x-oss-meta-a": "1"}
    unsigned = SignedParts("GET", "photos", key, params, headers)
    signature = v2_signature(secret, v2_string_to_sign(unsigned, date, []))
    return SignedParts("GET", "photos", key, params,
                       {**headers, "authorization": f"OSS2 AccessKeyId:{ak},Signature:{signature}"})


def v4_parts(secret=SK, ak=AK, when=NOW, region=REGION, key="k", params=(), additional=()):
    headers = {"x-oss-date": v4_datetime(when), "x-oss-content-sha256": "UNSIGNED-PAYLOAD", "range": "bytes=0-1"}
    unsigned = SignedParts("GET", "photos", key, params, headers)
    return SignedParts("GET", "photos", key, params,
                       {**headers, "authorization": v4_authorization(unsigned, ak, secret, region, additional)})


def presigned_v1(secret=SK, ak=AK, expires=NOW + 60, key="k"):
    unsigned = SignedParts("GET", "photos", key, (), {})
    added = v1_presign_params(unsigned, ak, secret, expires)
    return SignedParts("GET", "photos", key, tuple(added.items()), {})


def presigned_v2(secret=SK, ak=AK, expires=NOW + 60, key="k"):
    params = (("x-oss-signature-version", "OSS2"), ("x-oss-expires", str(expires)), ("x-oss-access-key-id", ak))
    unsigned = SignedParts("GET", "photos", key, params, {})
    signature = v2_signature(secret, v2_string_to_sign(unsigned, str(expires), []))
    return SignedParts("GET", "photos", key, params + (("x-oss-signature", signature),), {})


def presigned_v4(secret=SK, ak=AK, when=NOW, expires_in=60, region=REGION, key="k"):
    unsigned = SignedParts("GET", "photos", key, (("versionId", "v1"),), {})
    added = v4_presign_params(unsigned, ak, secret, region, v4_datetime(when), expires_in)
    return SignedParts("GET", "photos", key, unsigned.params + tuple(added.items()), {})


BUILDERS = {
    "v1": v1_parts,
    "v2": v2_parts,
    "v4": v4_parts,
    "presigned-v1": presigned_v1,
    "presigned-v2": presigned_v2,
    "presigned-v4": presigned_v4,
}


@pytest.mark.parametrize("scheme", list(BUILDERS))
def test_valid_signature_returns_the_access_key_id(scheme):
    assert authenticate(BUILDERS[scheme](), lookup, NOW, REGION) == AK


@pytest.mark.parametrize("scheme", list(BUILDERS))
def test_another_known_key_is_accepted_too(scheme):
    parts = BUILDERS[scheme](secret="other-secret", ak="other-key")
    assert authenticate(parts, lookup, NOW, REGION) == "other-key"


@pytest.mark.parametrize("scheme", list(BUILDERS))
def test_wrong_secret_is_signature_does_not_match(scheme):
    error = error_of(BUILDERS[scheme](secret="wrong-secret"))
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    assert error.fields["OSSAccessKeyId"] == AK
    assert error.fields["StringToSign"]


@pytest.mark.parametrize("scheme", list(BUILDERS))
def test_unknown_access_key_is_invalid_access_key_id(scheme):
    error = error_of(BUILDERS[scheme](ak="nobody"))
    assert (error.code, error.status) == ("InvalidAccessKeyId", 403)
    assert error.fields["OSSAccessKeyId"] == "nobody"


@pytest.mark.parametrize("scheme", list(BUILDERS))
def test_signature_over_another_key_does_not_match(scheme):
    signed = BUILDERS[scheme](key="k")
    moved = SignedParts(signed.method, signed.bucket, "k2", signed.params, signed.headers)
    assert error_of(moved).code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("scheme", ["v1", "v2", "v4", "presigned-v1", "presigned-v4"])
def test_signature_over_another_bucket_does_not_match(scheme):
    signed = BUILDERS[scheme]()
    moved = SignedParts(signed.method, "other", signed.key, signed.params, signed.headers)
    assert error_of(moved).code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("scheme", list(BUILDERS))
def test_signature_for_another_method_does_not_match(scheme):
    signed = BUILDERS[scheme]()
    moved = SignedParts("DELETE", signed.bucket, signed.key, signed.params, signed.headers)
    assert error_of(moved).code == "SignatureDoesNotMatch"


def test_v1_changed_oss_header_does_not_match():
    signed = v1_parts()
    changed = SignedParts(signed.method, signed.bucket, signed.key, signed.params,
                          {**signed.headers, "x-oss-meta-a": "2"})
    assert error_of(changed).code == "SignatureDoesNotMatch"


def test_v1_added_sub_resource_does_not_match_but_an_unsigned_parameter_does():
    signed = v1_parts()
    with_acl = SignedParts(signed.method, signed.bucket, signed.key, (("acl", ""),), signed.headers)
    assert error_of(with_acl).code == "SignatureDoesNotMatch"
    with_prefix = SignedParts(signed.method, signed.bucket, signed.key, (("prefix", "x"),), signed.headers)
    assert authenticate(with_prefix, lookup, NOW, REGION) == AK  # V1 signs only sub-resources


@pytest.mark.parametrize("scheme", ["v2", "v4"])
def test_v2_and_v4_sign_every_query_parameter(scheme):
    signed = BUILDERS[scheme]()
    changed = SignedParts(signed.method, signed.bucket, signed.key, (("prefix", "x"),), signed.headers)
    assert error_of(changed).code == "SignatureDoesNotMatch"


def test_v4_additional_header_is_signed():
    signed = v4_parts(additional=["range"])
    assert "AdditionalHeaders=range" in signed.headers["authorization"]
    assert authenticate(signed, lookup, NOW, REGION) == AK
    changed = SignedParts(signed.method, signed.bucket, signed.key, signed.params,
                          {**signed.headers, "range": "bytes=0-2"})
    assert error_of(changed).code == "SignatureDoesNotMatch"


def test_v4_signature_is_compared_exactly():
    signed = v4_parts()
    upper = signed.headers["authorization"].replace("Signature=", "Signature=X")[:-1]
    changed = SignedParts(signed.method, signed.bucket, signed.key, signed.params,
                          {**signed.headers, "authorization": upper})
    assert error_of(changed).code == "SignatureDoesNotMatch"


# ---- time ----

SKEWS = [
    # seconds the client's clock is off, accepted
    (0, True),
    (MAX_CLOCK_SKEW, True),
    (-MAX_CLOCK_SKEW, True),
    (MAX_CLOCK_SKEW + 1, False),
    (-MAX_CLOCK_SKEW - 1, False),
    (86400, False),
    (-86400 * 365, False),
]


@pytest.mark.parametrize("skew, accepted", SKEWS)
@pytest.mark.parametrize("scheme", ["v1", "v2", "v4"])
def test_clock_skew_over_15_minutes_is_request_time_too_skewed(scheme, skew, accepted):
    if scheme == "v4":
        parts = v4_parts(when=NOW + skew)
    else:
        parts = BUILDERS[scheme](date=http_date(NOW + skew))
    if accepted:
        assert authenticate(parts, lookup, NOW, REGION) == AK
    else:
        error = error_of(parts)
        assert (error.code, error.status) == ("RequestTimeTooSkewed", 403)


def test_v1_x_oss_date_is_the_request_time_when_present():
    parts = v1_parts(date="Thu, 01 Jan 1970 00:00:00 GMT", extra={"x-oss-date": NOW_HTTP})
    assert authenticate(parts, lookup, NOW, REGION) == AK
    stale = v1_parts(date=NOW_HTTP, extra={"x-oss-date": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert error_of(stale).code == "RequestTimeTooSkewed"


@pytest.mark.parametrize("date", ["", "garbage"])
def test_v1_without_a_valid_date_is_access_denied(date):
    error = error_of(v1_parts(date=date))
    assert (error.code, error.status) == ("AccessDenied", 403)


def test_v4_without_x_oss_date_is_access_denied():
    signed = v4_parts()
    headers = {k: v for k, v in signed.headers.items() if k != "x-oss-date"}
    error = error_of(SignedParts(signed.method, signed.bucket, signed.key, signed.params, headers))
    assert error.code == "AccessDenied"


@pytest.mark.parametrize("scheme", ["presigned-v1", "presigned-v2"])
def test_expired_presigned_url_is_access_denied(scheme):
    parts = BUILDERS[scheme](expires=NOW - 1)
    error = error_of(parts)
    assert (error.code, error.status, error.message) == ("AccessDenied", 403, "Request has expired.")


@pytest.mark.parametrize("scheme", ["presigned-v1", "presigned-v2"])
def test_presigned_url_is_valid_up_to_its_expiry_second(scheme):
    assert authenticate(BUILDERS[scheme](expires=NOW), lookup, NOW, REGION) == AK


def test_expired_v4_presigned_url_is_access_denied():
    parts = presigned_v4(when=NOW - 61, expires_in=60)
    error = error_of(parts)
    assert (error.code, error.message) == ("AccessDenied", "Request has expired.")
    assert authenticate(presigned_v4(when=NOW - 60, expires_in=60), lookup, NOW, REGION) == AK


def test_v4_presigned_url_is_valid_for_its_whole_lifetime_however_old_its_date():
    # x-oss-expires is relative to x-oss-date, so a week-long URL signed six days ago is fine
    parts = presigned_v4(when=NOW - 6 * 86400, expires_in=7 * 86400)
    assert authenticate(parts, lookup, NOW, REGION) == AK


def test_v4_presigned_url_longer_than_seven_days_is_invalid_argument():
    error = error_of(presigned_v4(expires_in=7 * 86400 + 1))
    assert (error.code, error.status) == ("InvalidArgument", 400)


def test_v4_presigned_url_from_the_future_is_request_time_too_skewed():
    assert error_of(presigned_v4(when=NOW + MAX_CLOCK_SKEW + 1)).code == "RequestTimeTooSkewed"
    assert authenticate(presigned_v4(when=NOW + MAX_CLOCK_SKEW), lookup, NOW, REGION) == AK


@pytest.mark.parametrize("expires", ["", "soon", "-5", "1.5"])
def test_presigned_v1_with_a_bad_expires_is_access_denied(expires):
    parts = SignedParts("GET", "photos", "k", (("OSSAccessKeyId", AK), ("Expires", expires), ("Signature", "x")), {})
    assert error_of(parts).code == "AccessDenied"


# ---- regions ----

def test_v4_region_mismatch_is_invalid_argument():
    error = error_of(v4_parts(region="cn-beijing"), region=REGION)
    assert (error.code, error.status, error.fields["ArgumentName"]) == ("InvalidArgument", 400, "Credential")
    error = error_of(presigned_v4(region="cn-beijing"), region=REGION)
    assert error.code == "InvalidArgument"


def test_v4_any_region_is_accepted_when_the_server_has_none():
    assert authenticate(v4_parts(region="cn-beijing"), lookup, NOW, None) == AK
    assert authenticate(presigned_v4(region="us-west-1"), lookup, NOW, None) == AK


def test_v4_credential_date_must_be_the_signing_date():
    signed = v4_parts()
    forged = signed.headers["authorization"].replace("/20231216/", "/20231215/")
    parts = SignedParts(signed.method, signed.bucket, signed.key, signed.params,
                        {**signed.headers, "authorization": forged})
    assert error_of(parts).code == "InvalidArgument"


# ---- unsigned and malformed ----

@pytest.mark.parametrize("parts", [
    SignedParts("GET", "photos", "k", (), {}),
    SignedParts("GET", "photos", None, (("prefix", "a"), ("acl", "")), {"date": NOW_HTTP}),
    SignedParts("GET", None, None, (), {"x-oss-date": NOW_V4}),
    SignedParts("GET", "photos", "k", (), {"authorization": ""}),
], ids=["bare", "params", "service", "empty-authorization"])
def test_unsigned_request_is_none(parts):
    assert authenticate(parts, lookup, NOW, REGION) is None


MALFORMED = [
    "OSS",
    "OSS ",
    "OSS nocolon",
    "OSS :signature",
    "Bearer token",
    "oss LTAI:sig",
    "AWS4-HMAC-SHA256 Credential=a/b/c/s3/aws4_request, SignedHeaders=host, Signature=0",
    "OSS2 AccessKeyId:" + AK,
    "OSS2 Signature:abc",
    "OSS2 garbage",
    "OSS4-HMAC-SHA256",
    "OSS4-HMAC-SHA256 garbage",
    "OSS4-HMAC-SHA256 Credential=" + AK + "/20231216/cn-hangzhou/oss/aliyun_v4_request",
    "OSS4-HMAC-SHA256 Signature=abc",
    "OSS4-HMAC-SHA256 Credential=" + AK + "/20231216/cn-hangzhou/oss, Signature=abc",
    "OSS4-HMAC-SHA256 Credential=" + AK + "/20231216/cn-hangzhou/oss/aws4_request, Signature=abc",
    "OSS4-HMAC-SHA256 Credential=, Signature=abc",
]


@pytest.mark.parametrize("authorization", MALFORMED)
def test_malformed_authorization_is_invalid_argument(authorization):
    headers = {"date": NOW_HTTP, "x-oss-date": NOW_V4, "authorization": authorization}
    error = error_of(SignedParts("GET", "photos", "k", (), headers))
    assert (error.code, error.status) == ("InvalidArgument", 400)


def test_unknown_presign_signature_version_is_invalid_argument():
    parts = SignedParts("GET", "photos", "k", (("x-oss-signature-version", "OSS3"), ("x-oss-signature", "x")), {})
    assert error_of(parts).code == "InvalidArgument"


def test_v4_header_fields_may_be_separated_with_or_without_spaces():
    signed = v4_parts(additional=["range"])
    ours = signed.headers["authorization"]  # oss2 style: ", " and AdditionalHeaders last
    credential = ours.split("Credential=")[1].split(",")[0]
    signature = ours.split("Signature=")[1].split(",")[0]
    for authorization in (
        f"OSS4-HMAC-SHA256 Credential={credential},AdditionalHeaders=range,Signature={signature}",
        f"OSS4-HMAC-SHA256 Credential={credential}, AdditionalHeaders=range, Signature={signature}",
        f"OSS4-HMAC-SHA256 Signature={signature},Credential={credential},AdditionalHeaders=range",
    ):
        parts = SignedParts(signed.method, signed.bucket, signed.key, signed.params,
                            {**signed.headers, "authorization": authorization})
        assert authenticate(parts, lookup, NOW, REGION) == AK, authorization
