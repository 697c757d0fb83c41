"""OSS error codes: status pairing, the exact <Error> body, and reading it back."""

import re
import xml.etree.ElementTree as ElementTree

import pytest

from ossbox.protocol.errors import STATUS_BY_CODE, OssError, parse_error_xml, render_error_xml

REQUEST_ID = "5C3D9175B6FC201293AD4890"
HOST_ID = "127.0.0.1:9000"

# (code, status) as oss-protocol.md lists them; oss2 maps exactly these pairs to its exception classes.
DOCUMENTED = [
    ("NoSuchBucket", 404),
    ("NoSuchKey", 404),
    ("NoSuchUpload", 404),
    ("BucketAlreadyExists", 409),
    ("BucketNotEmpty", 409),
    ("ObjectNotAppendable", 409),
    ("PositionNotEqualToLength", 409),
    ("PreconditionFailed", 412),
    ("InvalidRange", 416),
    ("InvalidArgument", 400),
    ("InvalidDigest", 400),
    ("InvalidObjectName", 400),
    ("InvalidBucketName", 400),
    ("InvalidPart", 400),
    ("InvalidPartOrder", 400),
    ("EntityTooSmall", 400),
    ("EntityTooLarge", 400),
    ("MalformedXML", 400),
    ("MissingContentLength", 411),
    ("MethodNotAllowed", 405),
    ("NotImplemented", 501),
    ("InternalError", 500),
    ("InvalidAccessKeyId", 403),
    ("SignatureDoesNotMatch", 403),
    ("AccessDenied", 403),
    ("RequestTimeTooSkewed", 403),
]


@pytest.mark.parametrize("code, status", DOCUMENTED)
def test_every_documented_code_maps_to_its_status(code, status):
    assert STATUS_BY_CODE[code] == status
    assert OssError(code, "message").status == status


def test_unknown_code_cannot_be_raised_with_a_guessed_status():
    with pytest.raises(KeyError):
        OssError("NoSuchThing", "message")


def test_every_status_is_an_error_status():
    assert all(400 <= status <= 599 for status in STATUS_BY_CODE.values())


def test_error_carries_code_message_and_fields():
    error = OssError("NoSuchKey", "The specified key does not exist.", Key="a/b.txt")
    assert (error.code, error.status, error.message) == ("NoSuchKey", 404, "The specified key does not exist.")
    assert error.fields == {"Key": "a/b.txt"}
    assert error.headers == {}
    assert str(error) == "NoSuchKey: The specified key does not exist."


def test_error_keeps_extra_headers():
    error = OssError("PositionNotEqualToLength", "Position is not equal to file length",
                     headers={"x-oss-next-append-position": "12"})
    assert error.headers == {"x-oss-next-append-position": "12"}
    assert error.status == 409


def _without_ec(body: bytes) -> bytes:
    """The body minus its <EC> element, whose value is the vendor's and not pinned here."""
    return re.sub(rb"<EC>[^<]*</EC>", b"", body)


RENDERED = [
    (
        OssError("NoSuchKey", "The specified key does not exist.", Key="dir/hello.txt"),
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
        b"<RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>127.0.0.1:9000</HostId>"
        b"<Key>dir/hello.txt</Key></Error>",
    ),
    (
        OssError("NoSuchBucket", "The specified bucket does not exist.", BucketName="photos"),
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist.</Message>"
        b"<RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>127.0.0.1:9000</HostId>"
        b"<BucketName>photos</BucketName></Error>",
    ),
    (
        OssError("InvalidArgument", "Bad <value> & more", ArgumentName="max-keys", ArgumentValue="-1"),
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<Error><Code>InvalidArgument</Code><Message>Bad &lt;value&gt; &amp; more</Message>"
        b"<RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>127.0.0.1:9000</HostId>"
        b"<ArgumentName>max-keys</ArgumentName><ArgumentValue>-1</ArgumentValue></Error>",
    ),
    (
        OssError("InternalError", "We encountered an internal error."),
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message>"
        b"<RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>127.0.0.1:9000</HostId></Error>",
    ),
    (
        OssError("NoSuchKey", "missing", Key="\u4e2d\u6587 & <x>.txt"),
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error><Code>NoSuchKey</Code><Message>missing</Message>"
        "<RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>127.0.0.1:9000</HostId>"
        "<Key>\u4e2d\u6587 &amp; &lt;x&gt;.txt</Key></Error>".encode("utf-8"),
    ),
]


@pytest.mark.parametrize("error, body", RENDERED, ids=[e.code + str(i) for i, (e, _) in enumerate(RENDERED)])
def test_render_error_xml_exact_bytes(error, body):
    assert _without_ec(render_error_xml(error, REQUEST_ID, HOST_ID)) == body


def test_error_body_has_no_namespace_and_request_id_equal_to_header():
    body = render_error_xml(OssError("NoSuchKey", "x", Key="k"), REQUEST_ID, HOST_ID)
    root = ElementTree.fromstring(body)
    assert root.tag == "Error"
    assert b"xmlns" not in body
    assert root.findtext("RequestId") == REQUEST_ID


def test_error_body_ends_with_an_ec_element():
    # oss-protocol.md: <Error><Code/><Message/><RequestId/><HostId/>[<Key/>|...]<EC/></Error>
    body = render_error_xml(OssError("NoSuchKey", "The specified key does not exist.", Key="k"), REQUEST_ID, HOST_ID)
    children = [child.tag for child in ElementTree.fromstring(body)]
    assert children[:4] == ["Code", "Message", "RequestId", "HostId"]
    assert children[-1] == "EC"


@pytest.mark.parametrize("error, body", RENDERED, ids=[e.code + str(i) for i, (e, _) in enumerate(RENDERED)])
def test_parse_error_xml_round_trip(error, body):
    parsed = parse_error_xml(render_error_xml(error, REQUEST_ID, HOST_ID))
    parsed.pop("EC", None)
    assert parsed == {
        "Code": error.code,
        "Message": error.message,
        "RequestId": REQUEST_ID,
        "HostId": HOST_ID,
        **error.fields,
    }


def test_parse_error_xml_reads_a_vendor_body():
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<Error>\n  <Code>NoSuchKey</Code>\n  <Message>The specified key does not exist.</Message>\n"
        b"  <RequestId>5C3D9175B6FC201293AD4890</RequestId>\n  <HostId>bucket.oss-cn-hangzhou.aliyuncs.com</HostId>\n"
        b"  <Key>a.txt</Key>\n  <EC>0026-00000001</EC>\n</Error>\n"
    )
    assert parse_error_xml(body) == {
        "Code": "NoSuchKey",
        "Message": "The specified key does not exist.",
        "RequestId": "5C3D9175B6FC201293AD4890",
        "HostId": "bucket.oss-cn-hangzhou.aliyuncs.com",
        "Key": "a.txt",
        "EC": "0026-00000001",
    }


def test_parse_error_xml_empty_element_is_empty_string():
    assert parse_error_xml(b"<Error><Code>X</Code><Message/></Error>") == {"Code": "X", "Message": ""}


@pytest.mark.parametrize("body", [b"", b"not xml", b"<Other><Code>X</Code></Other>", b"<Error><Code>X</Error>"])
def test_parse_error_xml_of_anything_else_is_empty(body):
    assert parse_error_xml(body) == {}


def test_oss2_reads_our_error_body():
    oss2_exceptions = pytest.importorskip("oss2.exceptions")
    body = render_error_xml(OssError("NoSuchKey", "The specified key does not exist.", Key="k"), REQUEST_ID, HOST_ID)
    error = oss2_exceptions.make_exception(_FakeResponse(404, body))
    assert isinstance(error, oss2_exceptions.NoSuchKey)
    assert error.code == "NoSuchKey"
    assert error.request_id == REQUEST_ID


class _FakeResponse:
    """Just enough of oss2.http.Response for oss2.exceptions.make_exception."""

    def __init__(self, status, body):
        self.status = status
        self._body = body
        self.headers = {"x-oss-request-id": REQUEST_ID}
        self.request_id = REQUEST_ID

    def read(self, *args):
        body, self._body = self._body, b""
        return body
