"""AWS Signature Version 4 for S3, pinned to the examples of Amazon's documentation ("Signature Calculations
for the Authorization Header" and "Transferring Payload in Multiple Chunks") and to botocore's signer."""

from __future__ import annotations

import hashlib

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ossbox.protocol import sigv4
from ossbox.protocol.errors import OssError
from ossbox.protocol.s3authentication import authenticate_s3
from ossbox.protocol.signing import SignedParts

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SCOPE = "20130524/us-east-1/s3/aws4_request"


def test_get_object_example_from_amazons_documentation():
    headers = {"host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9",
               "x-amz-content-sha256": sigv4.EMPTY_SHA256, "x-amz-date": "20130524T000000Z"}
    canonical = sigv4.canonical_request("GET", "/test.txt", (), headers, sorted(headers), sigv4.EMPTY_SHA256)
    text = sigv4.string_to_sign("20130524T000000Z", SCOPE, canonical)
    key = sigv4.signing_key(SECRET, "20130524", "us-east-1")
    assert sigv4.sign(key, text) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"


def test_chunk_signatures_example_from_amazons_documentation():
    headers = {"content-encoding": "aws-chunked", "content-length": "66824", "host": "s3.amazonaws.com",
               "x-amz-content-sha256": sigv4.STREAMING_SIGNED, "x-amz-date": "20130524T000000Z",
               "x-amz-decoded-content-length": "66560", "x-amz-storage-class": "REDUCED_REDUNDANCY"}
    canonical = sigv4.canonical_request("PUT", "/examplebucket/chunkObject.txt", (), headers, sorted(headers),
                                        sigv4.STREAMING_SIGNED)
    key = sigv4.signing_key(SECRET, "20130524", "us-east-1")
    seed = sigv4.sign(key, sigv4.string_to_sign("20130524T000000Z", SCOPE, canonical))
    assert seed == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    signatures = []
    previous = seed
    for chunk in (b"a" * 65536, b"a" * 1024, b""):
        previous = sigv4.sign(key, sigv4.chunk_string_to_sign("20130524T000000Z", SCOPE, previous,
                                                              hashlib.sha256(chunk).hexdigest()))
        signatures.append(previous)
    assert signatures == ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                          "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                          "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]


def _parts_of(request: AWSRequest, bucket: str, key: str) -> tuple[SignedParts, str]:
    """What authenticate_s3 sees of a botocore request: its parts, and its path decoded once."""
    from urllib.parse import parse_qsl, unquote, urlsplit
    url = urlsplit(request.url)
    headers = {name.lower(): value.decode() if isinstance(value, bytes) else value
               for name, value in request.headers.items()}
    headers["host"] = url.netloc
    params = tuple(parse_qsl(url.query, keep_blank_values=True))
    return SignedParts(request.method, bucket, key, params, headers), unquote(url.path)


def _botocore_request(method: str, key: str, **headers) -> AWSRequest:
    from urllib.parse import quote
    return AWSRequest(method=method, url=f"http://127.0.0.1:9000/bucket/{quote(key, safe='/~')}?tagging=",
                      headers=headers, data=b"")


@pytest.mark.parametrize("key", ["plain", "with space/and+plus", "ünïcode~*'()!$&,;="])
def test_botocore_header_signatures_verify(key):
    request = _botocore_request("PUT", key, **{"Content-Type": "text/plain", "x-amz-meta-a": "  spaced   value "})
    S3SigV4Auth(Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(request)
    parts, path = _parts_of(request, "bucket", key)
    now = sigv4_time(parts.header("x-amz-date"))
    signer = authenticate_s3(parts, path, "", {KEY_ID: SECRET}.get, now, "us-east-1")
    assert signer is not None and signer.access_key_id == KEY_ID
    tampered = SignedParts(parts.method, parts.bucket, parts.key, parts.params,
                           {**parts.headers, "x-amz-meta-a": "other"})
    with pytest.raises(OssError) as failure:
        authenticate_s3(tampered, path, "", {KEY_ID: SECRET}.get, now, "us-east-1")
    assert failure.value.code == "SignatureDoesNotMatch"
    with pytest.raises(OssError) as failure:
        authenticate_s3(parts, path, "", {KEY_ID: SECRET}.get, now, "eu-west-1")
    assert failure.value.code == "AuthorizationHeaderMalformed"


def test_botocore_presigned_urls_verify_until_they_expire():
    request = _botocore_request("GET", "a key")
    S3SigV4QueryAuth(Credentials(KEY_ID, SECRET), "s3", "us-east-1", expires=60).add_auth(request)
    parts, path = _parts_of(request, "bucket", "a key")
    signed_at = sigv4_time(dict(parts.params)["X-Amz-Date"])
    assert authenticate_s3(parts, path, "", {KEY_ID: SECRET}.get, signed_at + 59, "us-east-1").access_key_id == KEY_ID
    with pytest.raises(OssError) as failure:
        authenticate_s3(parts, path, "", {KEY_ID: SECRET}.get, signed_at + 61, "us-east-1")
    assert (failure.value.code, failure.value.message) == ("AccessDenied", "Request has expired")


def sigv4_time(datetime: str) -> float:
    from ossbox.protocol.dates import parse_v4_datetime
    return parse_v4_datetime(datetime)
