"""Hostile and malformed input against the real server: every case gets a 4xx with an OSS error XML body
(never a 500, never a hang), and the server keeps answering normal requests afterwards.

Requests are signed with oss2's V1 signer (tests/e2e/helpers.py) or written to a raw socket when the
HTTP framing itself is the subject. Where aiohttp answers before our handler runs (overlong request
line or header, too many headers), its own plain-text 400 is recorded rather than OSS XML.
The cases for the bugs these tests found (huge Range numbers, unknown XML encodings, bad character
references, control characters in error XML, non-ASCII signatures) are ordinary regression tests now.
"""

from __future__ import annotations

import socket
import time
import unittest.mock
from email.utils import formatdate
from xml.etree import ElementTree

import oss2
import pytest
import requests

from .conftest import empty_and_delete_oss2, oss2_bucket, unique_bucket_name
from .helpers import content_md5, object_url, signed_request

RAW_TIMEOUT = 5  # seconds a raw-socket exchange may take before it counts as a hang


# ---- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth(server):
    return oss2.Auth(server.access_key_id, server.access_key_secret)


@pytest.fixture(scope="module")
def target(server):
    """One bucket for the whole module (V1-signed), holding `obj` = b"0123456789"."""
    b = oss2_bucket(server, unique_bucket_name("bad"), "v1")
    b.create_bucket()
    b.put_object("obj", b"0123456789")
    yield b
    for upload in oss2.MultipartUploadIterator(b):
        b.abort_multipart_upload(upload.key, upload.upload_id)
    empty_and_delete_oss2(b)


def oss_error(response: requests.Response, status: int | None = None) -> dict[str, str]:
    """Asserts an OSS error answer (4xx, application/xml, <Error><Code>) and returns its fields."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    if status is not None:
        assert response.status_code == status, response.content[:500]
    assert response.headers.get("Content-Type", "").startswith("application/xml"), response.headers
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error"
    fields = {child.tag: child.text or "" for child in root}
    assert fields.get("Code"), fields
    return fields


def assert_alive(server, auth, target) -> None:
    """The server still serves an ordinary signed GET."""
    response = signed_request(auth, "GET", server.endpoint, target.bucket_name, "obj", timeout=10)
    assert response.status_code == 200 and response.content == b"0123456789"


def signed_headers(auth, server, method: str, bucket: str, key: str, headers=None, params=None) -> dict[str, str]:
    request = oss2.http.Request(method, object_url(server.endpoint, bucket, key), headers=dict(headers or {}),
                                params=dict(params or {}), region="cn-hangzhou", product="oss")
    auth._sign_request(request, bucket, key)
    return {k: v for k, v in request.headers.items() if v is not None}


def raw_exchange(server, data: bytes, *, shut_write: bool = False, timeout: float = RAW_TIMEOUT) -> bytes:
    """Sends bytes on a fresh connection and reads until the server closes it; fails on a hang."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(data)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk
        pytest.fail(f"server neither answered nor closed within {timeout}s: {received[:300]!r}")


def request_bytes(method: str, target_path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = f"{method} {target_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


# ---- hostile XML bodies ---------------------------------------------------------------------------


def billion_laughs(root: str, inner: str) -> bytes:
    """`inner` placed in `root`, `&lol9;` standing for 10^9 "lol"s."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return f'<?xml version="1.0"?><!DOCTYPE {root} [{entities}]><{root}>{inner.format(e="lol9")}</{root}>'.encode()


def external_entity(root: str, inner: str) -> bytes:
    return (f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            f'<{root}>{inner.format(e="xxe")}</{root}>').encode()


XML_OPERATIONS = {
    "CompleteMultipartUpload": ("CompleteMultipartUpload", "<Part><PartNumber>1</PartNumber><ETag>&{e};</ETag></Part>"),
    "PutObjectTagging": ("Tagging", "<TagSet><Tag><Key>&{e};</Key><Value>v</Value></Tag></TagSet>"),
    "PutBucket": ("CreateBucketConfiguration", "<StorageClass>&{e};</StorageClass>"),
    "DeleteMultipleObjects": ("Delete", "<Quiet>false</Quiet><Object><Key>&{e};</Key></Object>"),
}


def send_xml(server, auth, target, operation: str, body: bytes) -> requests.Response:
    endpoint, name = server.endpoint, target.bucket_name
    if operation == "CompleteMultipartUpload":
        upload_id = target.init_multipart_upload("mp").upload_id
        return signed_request(auth, "POST", endpoint, name, "mp", params={"uploadId": upload_id}, data=body)
    if operation == "PutObjectTagging":
        return signed_request(auth, "PUT", endpoint, name, "obj", params={"tagging": ""}, data=body)
    if operation == "PutBucket":
        return signed_request(auth, "PUT", endpoint, unique_bucket_name("bad-new"), None, data=body)
    return signed_request(auth, "POST", endpoint, name, None, params={"delete": ""}, data=body,
                          headers={"Content-MD5": content_md5(body)})


@pytest.mark.parametrize("make_body", [billion_laughs, external_entity], ids=["billion-laughs", "xxe"])
@pytest.mark.parametrize("operation", sorted(XML_OPERATIONS))
def test_entity_payloads_are_rejected(server, auth, target, operation, make_body):
    root, inner = XML_OPERATIONS[operation]
    started = time.monotonic()
    response = send_xml(server, auth, target, operation, make_body(root, inner))
    assert time.monotonic() - started < 3
    assert oss_error(response, 400)["Code"] == "MalformedXML"
    assert b"root:" not in response.content
    assert_alive(server, auth, target)


@pytest.mark.parametrize("body", [
    b"<Tagging><TagSet>", b"not xml at all", b"\xff\xfe<\x00x", b"<Wrong/>", b"<a><b></a></b>",
    b"<!DOCTYPE x [<!ENTITY a SYSTEM 'http://127.0.0.1:9/'>]><x>&a;</x>",
], ids=["truncated", "text", "binary", "wrong-root", "misnested", "remote-entity"])
@pytest.mark.parametrize("operation", sorted(XML_OPERATIONS))
def test_malformed_xml_bodies(server, auth, target, operation, body):
    response = send_xml(server, auth, target, operation, body)
    assert oss_error(response, 400)["Code"] == "MalformedXML"
    assert_alive(server, auth, target)


@pytest.mark.parametrize("operation", sorted(XML_OPERATIONS))
def test_unknown_xml_encoding_declaration(server, auth, target, operation):
    root = XML_OPERATIONS[operation][0]
    response = send_xml(server, auth, target, operation, f"<?xml version='1.0' encoding='bogus'?><{root}/>".encode())
    assert_alive(server, auth, target)
    assert oss_error(response, 400)["Code"] == "MalformedXML"


@pytest.mark.parametrize("reference", ["&#99999999;", "&#x110000;", "&#xD800;"])
def test_delete_multiple_objects_bad_character_reference(server, auth, target, reference):
    body = f"<Delete><Object><Key>{reference}</Key></Object></Delete>".encode()
    response = send_xml(server, auth, target, "DeleteMultipleObjects", body)
    assert_alive(server, auth, target)
    oss_error(response, 400)


@pytest.mark.parametrize("operation", sorted(XML_OPERATIONS))
def test_xml_body_over_client_max_size(server, auth, target, operation):
    root = XML_OPERATIONS[operation][0]
    body = f"<{root}>".encode() + b" " * (9 << 20) + f"</{root}>".encode()
    assert oss_error(send_xml(server, auth, target, operation, body), 400)["Code"] == "EntityTooLarge"
    assert_alive(server, auth, target)


# ---- HTTP framing ---------------------------------------------------------------------------------


def test_overlong_header_value(server, auth, target):
    """aiohttp refuses a header line over 8190 bytes itself: a plain-text `HTTP/1.0 400 Bad Request`
    ("Got more than 8190 bytes when reading ..."), no OSS XML, no x-oss-request-id."""
    headers = signed_headers(auth, server, "GET", target.bucket_name, "obj", {"x-oss-meta-big": "v" * 20000})
    response = requests.get(object_url(server.endpoint, target.bucket_name, "obj"), headers=headers, timeout=10)
    assert response.status_code == 400
    assert response.headers.get("Content-Type", "").startswith("text/plain")
    assert b"8190" in response.content
    assert_alive(server, auth, target)


def test_overlong_request_line(server, auth, target):
    """The same for a 20 KB request target: aiohttp's plain-text 400, before any OSS handling."""
    answer = raw_exchange(server, request_bytes("GET", f"/{target.bucket_name}/{'a' * 20000}",
                                                {"Connection": "close"}))
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"400", answer[:300]
    assert b"text/plain" in rest.split(b"\r\n\r\n")[0]
    assert_alive(server, auth, target)


def test_too_many_headers(server, auth, target):
    headers = {f"x-junk-{i}": "v" for i in range(200)} | {"Connection": "close"}
    answer = raw_exchange(server, request_bytes("GET", f"/{target.bucket_name}/obj", headers))
    assert answer.split(b"\r\n", 1)[0].split()[1] == b"400", answer[:300]
    assert_alive(server, auth, target)


def test_content_length_larger_than_body_then_close(server, auth, target):
    headers = signed_headers(auth, server, "PUT", target.bucket_name, "short", {"Content-Length": "1000"})
    answer = raw_exchange(server, request_bytes("PUT", f"/{target.bucket_name}/short", headers, b"x" * 10),
                          shut_write=True)
    if answer:  # the server may answer or just close; any answer must be an OSS 4xx
        assert answer.split(b"\r\n", 1)[0].split()[1].startswith(b"4"), answer[:300]
    with pytest.raises(oss2.exceptions.NoSuchKey):
        target.head_object("short")  # nothing half-written became visible
    assert_alive(server, auth, target)


@pytest.mark.parametrize("tail", [b"10\r\n0123", b"zz\r\nabc\r\n0\r\n\r\n"], ids=["truncated", "bad-size"])
def test_broken_chunked_body(server, auth, target, tail):
    headers = signed_headers(auth, server, "PUT", target.bucket_name, "chunky")
    headers.pop("Content-Length", None)
    headers["Transfer-Encoding"] = "chunked"
    body = b"10\r\n0123456789abcdef\r\n" + tail
    answer = raw_exchange(server, request_bytes("PUT", f"/{target.bucket_name}/chunky", headers, body),
                          shut_write=True)
    if answer:
        assert answer.split(b"\r\n", 1)[0].split()[1].startswith(b"4"), answer[:300]
    with pytest.raises(oss2.exceptions.NoSuchKey):
        target.head_object("chunky")
    assert_alive(server, auth, target)


# ---- authentication -------------------------------------------------------------------------------


def test_forged_signature(server, auth, target):
    headers = signed_headers(auth, server, "GET", target.bucket_name, "obj")
    headers["authorization"] = headers["authorization"][:-5] + ("AAAA=" if not headers["authorization"]
                                                                .endswith("AAAA=") else "BBBB=")
    response = requests.get(object_url(server.endpoint, target.bucket_name, "obj"), headers=headers, timeout=10)
    assert oss_error(response, 403)["Code"] == "SignatureDoesNotMatch"
    assert_alive(server, auth, target)


@pytest.mark.parametrize("where", ["header", "presigned"])
def test_non_ascii_signature(server, auth, target, where):
    if where == "header":
        headers = signed_headers(auth, server, "GET", target.bucket_name, "obj")
        headers["authorization"] = headers["authorization"][:-2] + "é="
        response = requests.get(object_url(server.endpoint, target.bucket_name, "obj"),
                                headers={k: v.encode() for k, v in headers.items()}, timeout=10)
    else:
        url = target.sign_url("GET", "obj", 60)
        response = requests.get(url.replace("Signature=", "Signature=%C3%A9"), timeout=10)
    assert oss_error(response, 403)["Code"] == "SignatureDoesNotMatch"  # was a 500 before 9d96649
    assert_alive(server, auth, target)


def test_expired_presigned_url(server, auth, target):
    response = requests.get(target.sign_url("GET", "obj", -60), timeout=10)
    fields = oss_error(response, 403)
    assert fields["Code"] == "AccessDenied" and "expired" in fields["Message"]
    assert_alive(server, auth, target)


def test_replayed_v1_request_with_old_date(server, auth, target):
    stale = formatdate(time.time() - 20 * 60, usegmt=True)
    with unittest.mock.patch("oss2.utils.http_date", lambda timeval=None: stale):
        response = signed_request(auth, "GET", server.endpoint, target.bucket_name, "obj")
    assert oss_error(response, 403)["Code"] == "RequestTimeTooSkewed"
    assert_alive(server, auth, target)


# ---- parameters, headers, names -------------------------------------------------------------------


@pytest.mark.parametrize("list_type", [None, "2"])
@pytest.mark.parametrize("max_keys", ["-1", "0", "1001", "9" * 400, "9" * 5000, "1e3", "0x10", "abc"])
def test_bad_max_keys(server, auth, target, max_keys, list_type):
    params = {"max-keys": max_keys} | ({"list-type": list_type} if list_type else {})
    response = signed_request(auth, "GET", server.endpoint, target.bucket_name, None, params=params)
    fields = oss_error(response, 400)
    assert fields["Code"] == "InvalidArgument" and fields["ArgumentName"] == "max-keys"
    assert_alive(server, auth, target)


def test_bad_max_keys_on_list_buckets(server, auth, target):
    response = signed_request(auth, "GET", server.endpoint, None, params={"max-keys": "-5"})
    assert oss_error(response, 400)["Code"] == "InvalidArgument"


def test_garbage_range_under_header_limit_is_ignored(server, auth, target):
    """A Range header OSS cannot parse means the whole object (200), in both range behaviours."""
    for extra in ({}, {"x-oss-range-behavior": "standard"}):
        for garbage in ("x" * 8000, "bytes=" + "0-1," * 1500, "bytes=1-0", "bytes=--", "bytes=0-1-2"):
            response = signed_request(auth, "GET", server.endpoint, target.bucket_name, "obj",
                                      headers={"Range": garbage, **extra})
            assert response.status_code == 200 and response.content == b"0123456789"


@pytest.mark.parametrize("header", ["bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "9" * 5000])
def test_range_with_huge_numbers(server, auth, target, header):
    response = signed_request(auth, "GET", server.endpoint, target.bucket_name, "obj", headers={"Range": header})
    assert_alive(server, auth, target)
    assert response.status_code == 200 and response.content == b"0123456789"


def test_garbage_range_of_10kb(server, auth, target):
    """10 KB is over aiohttp's 8190-byte header line limit: its plain-text 400, not OSS XML."""
    response = signed_request(auth, "GET", server.endpoint, target.bucket_name, "obj",
                              headers={"Range": "x" * 10240})
    assert response.status_code == 400
    assert response.headers.get("Content-Type", "").startswith("text/plain")
    assert_alive(server, auth, target)


def test_key_of_1024_bytes(server, auth, target):
    response = signed_request(auth, "PUT", server.endpoint, target.bucket_name, "k" * 1024, data=b"x")
    assert oss_error(response, 400)["Code"] == "InvalidObjectName"
    assert signed_request(auth, "PUT", server.endpoint, target.bucket_name, "k" * 1023, data=b"x").status_code == 200
    assert_alive(server, auth, target)


@pytest.mark.parametrize("name", ["Bad_Name", "ab", "-abc", "abc-", "a" * 64, "a.b.c", "xn--\u00e9t\u00e9"])
def test_put_bucket_invalid_name(server, auth, target, name):
    response = signed_request(auth, "PUT", server.endpoint, name, None)
    assert oss_error(response, 400)["Code"] == "InvalidBucketName"
    assert_alive(server, auth, target)


def test_error_for_control_character_key_is_well_formed_xml(server, auth, target):
    response = signed_request(auth, "GET", server.endpoint, target.bucket_name, "\x01missing")
    assert response.status_code == 404
    ElementTree.fromstring(response.content)
