"""A raw HTTP fuzzer against the S3 port: generated requests, signed with botocore's SigV4 signer so they
reach every S3 handler as the owner (hostile `x-amz-*` headers, junk query values, junk and pathological
XML bodies), and generated `aws-chunked` bodies (sizes in junk hex, missing or extra CRLFs, chunk
signatures and trailers wrong or absent, bodies cut short) behind a valid seed signature.

For every case the server answers with a status below 500 (or 501 for what it does not implement) or closes
the connection; an error with a body is S3's `<Error>` XML with a `<Code>`; the server stays up, and an
ordinary request still succeeds afterwards. OSSBOX_FUZZ_EXAMPLES examples per test (default 300).
"""

from __future__ import annotations

import base64
import collections
import time
import zlib
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from ossbox.protocol import sigv4
from server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, start_server

from .s3helpers import S3_REGION, s3_client
from .test_http_fuzz import FUZZ, exchange, report
from .test_s3_streaming import Signer

QUERY_NAMES = ["acl", "uploads", "uploadId", "partNumber", "tagging", "delete", "location", "versioning",
               "versions", "versionId", "cors", "list-type", "max-keys", "marker", "prefix", "delimiter",
               "encoding-type", "continuation-token", "start-after", "fetch-owner", "key-marker",
               "version-id-marker", "upload-id-marker", "max-uploads", "max-parts", "part-number-marker",
               "response-content-type", "response-content-disposition", "response-expires", "X-Amz-Expires",
               "attributes", "retention", "policy", "lifecycle", "website"]
AMZ_HEADERS = ["x-amz-acl", "x-amz-copy-source", "x-amz-copy-source-range", "x-amz-metadata-directive",
               "x-amz-tagging", "x-amz-tagging-directive", "x-amz-storage-class", "x-amz-meta-a",
               "x-amz-server-side-encryption", "x-amz-checksum-crc32", "x-amz-checksum-sha256",
               "x-amz-checksum-algorithm", "x-amz-checksum-type", "x-amz-sdk-checksum-algorithm", "x-amz-trailer",
               "x-amz-decoded-content-length", "x-amz-copy-source-if-match", "x-amz-copy-source-if-modified-since",
               "x-amz-checksum-mode", "x-amz-bucket-object-lock-enabled", "If-Match", "If-None-Match",
               "If-Modified-Since", "Range", "Content-MD5", "Content-Type", "Content-Encoding"]
numbers = st.sampled_from(["0", "1", "-1", "10000", "10001", "99999999999999999999", "١٢", "1e3", "0x10", ""])
values = st.one_of(
    numbers, st.sampled_from(["*", "true", "REPLACE", "COPY", "STANDARD", "GLACIER", "url", "bytes=0-3", "bytes=9-1",
                              "fuzz/obj", "/fuzz/obj?versionId=null", "k=v&k=w", "CRC32", "FULL_OBJECT",
                              "aws-chunked", "AAAAAA==", '"etag"', "Mon, 01 Jan 2001 00:00:00 GMT"]),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00\r\n"), max_size=40))
bodies = st.one_of(
    st.just(b""), st.binary(max_size=300),
    st.sampled_from([b"<Delete><Object><Key>obj</Key></Object></Delete>",
                     b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>"
                     b"</CompleteMultipartUpload>",
                     b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>",
                     b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>",
                     b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>",
                     b"<AccessControlPolicy><AccessControlList><Grant><Grantee><URI>x</URI></Grantee>"
                     b"<Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>",
                     b"<!DOCTYPE x [<!ENTITY a 'b'>]><Delete>&a;</Delete>", b"<" * 200, b"<a>" * 100]))
SIGNED = st.tuples(
    st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]),
    st.sampled_from(["fuzz", "fuzz-private", "absent-bucket"]),
    st.one_of(st.just(""), st.sampled_from(["obj", "mp", "new", "dir/a"]),
              st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=20)),
    st.lists(st.tuples(st.sampled_from(QUERY_NAMES), st.one_of(st.just(""), st.just("@UPLOAD_ID@"), values)),
             max_size=3, unique_by=lambda pair: pair[0]),
    st.lists(st.tuples(st.sampled_from(AMZ_HEADERS), values), max_size=4, unique_by=lambda pair: pair[0].lower()),
    bodies,
)


@pytest.fixture(scope="module")
def s3_fuzz_server(tmp_path_factory):
    server = start_server(str(tmp_path_factory.mktemp("s3-fuzz-data")), "--s3-port", "0", "--header-timeout", "1",
                          "--body-timeout", "1", "--idle-timeout", "2")
    client = s3_client(server)
    for name in ("fuzz", "fuzz-private", "fuzz-stable", "fuzz-chunked"):  # the last two named by no fuzzed request
        client.create_bucket(Bucket=name)
        client.put_object(Bucket=name, Key="obj", Body=b"0123456789", Tagging="a=b")
    server.client = client
    server.upload_id = client.create_multipart_upload(Bucket="fuzz", Key="mp")["UploadId"]
    client.upload_part(Bucket="fuzz", Key="mp", UploadId=server.upload_id, PartNumber=1, Body=b"part")
    yield server
    assert server.stop() == 0


def _signed(server, parts) -> tuple[bytes, str]:
    method, bucket, key, pairs, headers, body = parts
    query = "&".join(quote(name, safe="") + "=" + quote(server.upload_id if value == "@UPLOAD_ID@" else value,
                                                        safe="") for name, value in pairs)
    url = f"http://{server.host}:{server.s3_port}/{bucket}/{quote(key, safe='/~')}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body,
                         headers=dict(headers))
    S3SigV4Auth(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET), "s3", S3_REGION).add_auth(request)
    target = urlsplit(url)
    lines = [f"{method} {target.path}{'?' + target.query if target.query else ''} HTTP/1.1",
             f"Host: {target.netloc}", f"Content-Length: {len(body)}"]
    for name, value in request.headers.items():
        lines.append(f"{name}: {value.decode('utf-8') if isinstance(value, bytes) else value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body, method


CHUNKED = st.tuples(
    st.sampled_from([sigv4.STREAMING_UNSIGNED_TRAILER, sigv4.STREAMING_SIGNED, sigv4.STREAMING_SIGNED_TRAILER]),
    st.lists(st.tuples(st.binary(max_size=200), st.sampled_from(["right", "junk size", "wrong size", "no crlf",
                                                                 "bad signature", "extension"])), max_size=4),
    st.sampled_from(["none", "right crc32", "wrong crc32", "junk", "unsigned", "many lines"]),
    st.sampled_from(["whole", "cut", "extra"]),
    st.integers(-2, 2),  # how far x-amz-decoded-content-length is off
)


def _chunked(server, parts) -> tuple[bytes, str]:
    mode, chunks, trailer, framing, skew = parts
    signer = Signer(server)
    signed = mode != sigv4.STREAMING_UNSIGNED_TRAILER
    data = b"".join(chunk for chunk, _ in chunks)
    extra = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(max(0, len(data) + skew))}
    if trailer != "none":
        extra["x-amz-trailer"] = "x-amz-checksum-crc32"
    path = f"/fuzz-chunked/chunked-{len(data)}"  # a fuzzed signed request may have deleted bucket fuzz
    headers = signer.headers("PUT", f"{server.host}:{server.s3_port}", path, mode, extra)
    body = b""
    for chunk, damage in [*chunks, (b"", "right")]:
        piece = signer.chunk(chunk) if signed else f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        if damage == "junk size":
            piece = b"g" + piece
        elif damage == "wrong size":
            piece = f"{len(chunk) + 1:x}".encode() + piece[piece.index(b";" if signed else b"\r\n"):]
        elif damage == "no crlf":
            piece = piece[:-2]
        elif damage == "bad signature" and signed:
            piece = piece.replace(b"chunk-signature=", b"chunk-signature=0")
        elif damage == "extension":
            piece = piece.replace(b"\r\n", b";x=y\r\n", 1)
        body += piece if chunk or damage != "right" else piece[:-2]  # the last chunk's CRLF ends the trailer
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    lines = {"none": "", "right crc32": f"x-amz-checksum-crc32:{crc}\r\n",
             "wrong crc32": "x-amz-checksum-crc32:AAAAAA==\r\n",
             "junk": "x-amz-checksum-crc32\r\n", "unsigned": f"x-amz-checksum-crc32:{crc}\r\n",
             "many lines": "a:b\r\n" * 40}[trailer]
    if signed and trailer in ("right crc32", "wrong crc32"):
        body += signer.trailer({"x-amz-checksum-crc32": crc if trailer == "right crc32" else "AAAAAA=="})
    else:
        body += lines.encode() + b"\r\n"
    if framing == "cut":
        body = body[: len(body) // 2]
    elif framing == "extra":
        body += b"0\r\n\r\n"
    head = [f"PUT {path} HTTP/1.1", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body, "PUT"


def _check(server, data: bytes, method: str, outcomes: collections.Counter) -> None:
    status, headers, body = exchange(server, data, method, server.s3_port)
    assert server.process.poll() is None, f"the server died on {data[:500]!r}"
    outcomes[status] += 1
    if status is None:
        return
    assert status < 500 or status == 501, f"{status} for {data[:500]!r}: {body[:500]!r}"
    if status >= 400 and body and "x-amz-request-id" in headers:
        root = ElementTree.fromstring(body)
        assert root.tag == "Error" and root.findtext("Code"), body[:500]


def _still_serves(server) -> None:
    assert server.client.get_object(Bucket="fuzz-stable", Key="obj")["Body"].read() == b"0123456789"


def _fuzz(server, name: str, strategy, build) -> collections.Counter:
    """Send FUZZ's examples of `strategy`, each made a request by `build`; the outcomes by status."""
    outcomes: collections.Counter = collections.Counter()
    started = time.monotonic()

    @FUZZ
    @given(strategy)
    def run(parts):
        _check(server, *build(server, parts), outcomes)

    run()
    report(name, outcomes, started)
    _still_serves(server)
    return outcomes


def test_signed_s3_requests(s3_fuzz_server):
    _fuzz(s3_fuzz_server, "signed S3 requests", SIGNED, _signed)


def test_aws_chunked_bodies(s3_fuzz_server):
    outcomes = _fuzz(s3_fuzz_server, "aws-chunked bodies", CHUNKED, _chunked)
    assert outcomes[200] > 0  # some generated bodies are right, and stored

