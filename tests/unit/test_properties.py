"""Property tests (hypothesis) over the sans-IO protocol core: parsers never raise on hostile input,
and the pairs that must round-trip (dates, signatures, CRC combining, error XML) do.

Every test is bounded (`max_examples` ≤ 300, no deadline) so the whole file runs in well under 20 s.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from ossbox.protocol import crc64 as crc
from ossbox.protocol.authentication import authenticate
from ossbox.protocol.dates import http_date, parse_http_date, v4_datetime
from ossbox.protocol.errors import STATUS_BY_CODE, OssError, parse_error_xml, render_error_xml
from ossbox.protocol.preconditions import Outcome, evaluate
from ossbox.protocol.ranges import ByteRange, Unsatisfiable, Whole, resolve_range
from ossbox.protocol.signing import SignedParts, v1_authorization, v4_authorization
from ossbox.server.addressing import parse_target

BOUNDED = settings(max_examples=300, deadline=None)
MEDIUM = settings(max_examples=200, deadline=None)
SMALL = settings(max_examples=100, deadline=None)

# Text that can be UTF-8 encoded: no lone surrogates (category Cs).
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
SIZES = st.integers(min_value=0, max_value=2**63)

# Range headers: fully arbitrary text, plus text shaped like ranges so the numeric paths are reached.
_DIGITS = st.text(alphabet="0123456789", max_size=25)
RANGE_LIKE = st.builds(
    lambda pre, a, sep, b, post: f"{pre}bytes{sep}{a}-{b}{post}",
    st.sampled_from(["", " ", "\t"]),
    _DIGITS, st.sampled_from(["=", " = ", "=\t"]), _DIGITS, st.sampled_from(["", " ", ",0-1", "\n"]),
)


# ---- ranges ----------------------------------------------------------------------------------------


@BOUNDED
@given(header=st.one_of(st.none(), TEXT, RANGE_LIKE), size=st.one_of(SIZES, st.integers(0, 100)),
       standard=st.booleans())
@example(header="bytes=-0", size=0, standard=True)
@example(header="bytes=0-", size=0, standard=False)
@example(header="bytes=-5", size=3, standard=True)
@example(header="bytes=٣-٤", size=10, standard=False)  # non-ASCII digits must not be taken as numbers
def test_resolve_range_never_raises_and_fits(header, size, standard):
    result = resolve_range(header, size, standard)
    assert isinstance(result, (ByteRange, Whole, Unsatisfiable))
    if isinstance(result, ByteRange):
        assert 0 <= result.first <= result.last < size
        assert result.size == size
        assert result.length == result.last - result.first + 1
    if isinstance(result, Unsatisfiable):
        assert standard


@pytest.mark.parametrize("header", ["bytes=" + "9" * 4301 + "-", "bytes=0-" + "9" * 4301, "bytes=-" + "9" * 4301])
def test_resolve_range_with_huge_numbers(header):
    assert resolve_range(header, 10) is not None


# ---- dates -----------------------------------------------------------------------------------------


@MEDIUM
@given(value=st.one_of(st.none(), TEXT, st.from_regex(r"\A\w{3}, \d{1,3} \w{3} -?\d{1,12} \d{1,3}:\d{1,3}:\d{1,3}"
                                                      r"( GMT| [+-]\d{4}| \w+)?\Z")))
@example(value="Mon, 31 Feb 2024 00:00:00 GMT")
@example(value="Mon, 01 Jan 99999999999 00:00:00 GMT")
@example(value="Mon, 01 Jan 0 00:00:00 GMT")
def test_parse_http_date_never_raises(value):
    result = parse_http_date(value)
    assert result is None or type(result) is int


@BOUNDED
@given(t=st.integers(min_value=0, max_value=253402300799))  # 1970-01-01 .. 9999-12-31 23:59:59
@example(t=0)
@example(t=951782400)  # 2000-02-29
def test_http_date_round_trips(t):
    assert parse_http_date(http_date(t)) == t


# ---- preconditions ---------------------------------------------------------------------------------

_OPTIONAL_TEXT = st.one_of(st.none(), TEXT, st.sampled_from(["*", '"abc"', 'W/"abc"', ",", '"', "W/"]))


@BOUNDED
@given(etag=st.one_of(TEXT, st.just('"ABC"')), last_modified=st.integers(-2**40, 2**40),
       if_match=_OPTIONAL_TEXT, if_unmodified_since=_OPTIONAL_TEXT, if_none_match=_OPTIONAL_TEXT,
       if_modified_since=_OPTIONAL_TEXT)
def test_preconditions_never_raise(etag, last_modified, if_match, if_unmodified_since, if_none_match,
                                   if_modified_since):
    outcome = evaluate(etag, last_modified, if_match=if_match, if_unmodified_since=if_unmodified_since,
                       if_none_match=if_none_match, if_modified_since=if_modified_since)
    assert isinstance(outcome, Outcome)


# ---- signing round trip ----------------------------------------------------------------------------

AK = "LTAIpropertyTestKey"
REGION = "cn-hangzhou"
NOW = 1702743657  # Sat, 16 Dec 2023 16:20:57 GMT

OBJECT_KEYS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200)
SECRETS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=64)
PARAMS = st.lists(st.tuples(TEXT, TEXT), max_size=5).map(tuple)
META_HEADERS = st.dictionaries(st.from_regex(r"\Ax-oss-meta-[a-z0-9-]{1,12}\Z"), TEXT, max_size=4)
PLAIN_HEADERS = st.fixed_dictionaries({}, optional={"content-type": TEXT, "content-md5": TEXT, "range": TEXT})
METHODS = st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"])
# Replacement characters for tampering: any character but ':' (which moves the V1 split point and so,
# correctly, turns the error into InvalidAccessKeyId), ASCII and non-ASCII alike (a non-ASCII signature
# made compare_digest raise TypeError, a 500, until 9d96649).
REPLACEMENT = st.one_of(st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                        st.characters(blacklist_categories=("Cs",))).filter(lambda c: c != ":")


def _v1_parts(method, key, params, headers) -> SignedParts:
    return SignedParts(method, "prop-bucket", key, params, {**headers, "date": http_date(NOW)})


def _v4_parts(method, key, params, headers) -> SignedParts:
    return SignedParts(method, "prop-bucket", key, params,
                       {**headers, "x-oss-date": v4_datetime(NOW), "x-oss-content-sha256": "UNSIGNED-PAYLOAD"})


def _sign(version, parts, secret) -> SignedParts:
    if version == "v1":
        authorization = v1_authorization(parts, AK, secret)
    else:
        authorization = v4_authorization(parts, AK, secret, REGION)
    return SignedParts(parts.method, parts.bucket, parts.key, parts.params,
                       {**parts.headers, "authorization": authorization})


def _build(version, method, key, params, meta, plain):
    headers = {**meta, **plain}
    return (_v1_parts if version == "v1" else _v4_parts)(method, key, params, headers)


def _tamper(authorization: str, index: int, replacement: str) -> str | None:
    """The Authorization value with one character of its signature replaced (None: no change)."""
    if authorization.startswith("OSS "):
        start = authorization.rindex(":") + 1
        end = len(authorization)
    else:
        start = authorization.index("Signature=") + len("Signature=")
        end = authorization.find(",", start)
        end = len(authorization) if end < 0 else end
    position = start + index % (end - start)
    if authorization[position] == replacement:
        return None
    return authorization[:position] + replacement + authorization[position + 1:]


@MEDIUM
@given(version=st.sampled_from(["v1", "v4"]), method=METHODS, key=OBJECT_KEYS, secret=SECRETS, params=PARAMS,
       meta=META_HEADERS, plain=PLAIN_HEADERS)
def test_signature_round_trip(version, method, key, secret, params, meta, plain):
    signed = _sign(version, _build(version, method, key, params, meta, plain), secret)
    assert authenticate(signed, {AK: secret}.get, NOW, REGION) == AK


@MEDIUM
@given(version=st.sampled_from(["v1", "v4"]), method=METHODS, key=OBJECT_KEYS, secret=SECRETS, params=PARAMS,
       meta=META_HEADERS, index=st.integers(0, 1000), replacement=REPLACEMENT)
def test_tampered_signature_is_rejected(version, method, key, secret, params, meta, index, replacement):
    signed = _sign(version, _build(version, method, key, params, meta, {}), secret)
    forged = _tamper(signed.headers["authorization"], index, replacement)
    assume(forged is not None)
    tampered = SignedParts(signed.method, signed.bucket, signed.key, signed.params,
                           {**signed.headers, "authorization": forged})
    with pytest.raises(OssError) as raised:
        authenticate(tampered, {AK: secret}.get, NOW, REGION)
    assert raised.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_non_ascii_signature_is_rejected_not_crashed(version):
    signed = _sign(version, _build(version, "GET", "k", (), {}, {}), "secret")
    forged = _tamper(signed.headers["authorization"], 0, "é")
    tampered = SignedParts(signed.method, signed.bucket, signed.key, signed.params,
                           {**signed.headers, "authorization": forged})
    with pytest.raises(OssError) as raised:
        authenticate(tampered, {AK: "secret"}.get, NOW, REGION)
    assert raised.value.code == "SignatureDoesNotMatch"


# ---- addressing ------------------------------------------------------------------------------------

_TARGET_ALPHABET = st.sampled_from(list("/?&=%+.-_~ abcXYZ09") + ["%2F", "%ZZ", "%E9", "%C3%A9", "%ED%A0%80",
                                                                 "%00", "%FF", "\x00", "é", "\udc80"])


@BOUNDED
@given(host=st.one_of(TEXT, st.sampled_from(["", "b.oss.example.com", "[::1]", "oss.example.com:80", ":"])),
       target=st.one_of(st.text(), st.lists(_TARGET_ALPHABET, max_size=30).map("".join)),
       base_domain=st.sampled_from([None, "", "oss.example.com", "."]))
def test_parse_target_raises_only_oss_error(host, target, base_domain):
    try:
        address = parse_target(host, target, base_domain)
    except OssError as error:
        assert error.status == 400
        return
    if address.key is not None:
        assert address.bucket is not None


# ---- crc64 -----------------------------------------------------------------------------------------


@BOUNDED
@given(a=st.binary(max_size=2048), b=st.binary(max_size=2048))
def test_crc64_combine(a, b):
    assert crc.crc64_combine(crc.crc64(a), crc.crc64(b), len(b)) == crc.crc64(a + b)


@SMALL
@given(a=st.binary(max_size=64), b=st.binary(max_size=64), c=st.binary(max_size=64))
def test_crc64_combine_associates(a, b, c):
    ab = crc.crc64_combine(crc.crc64(a), crc.crc64(b), len(b))
    assert crc.crc64_combine(ab, crc.crc64(c), len(c)) == crc.crc64(a + b + c)


# ---- error XML -------------------------------------------------------------------------------------

# What XML 1.0 allows in character data, minus CR: xml_text escapes only & < >, so the text must be made
# of legal XML characters, and a parser normalises a literal \r to \n (nothing escapes it as &#13;).
XML_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\ufffe\uffff").filter(
    lambda c: c in "\t\n" or ord(c) >= 0x20
)
XML_TEXT = st.text(alphabet=XML_CHARS)


@MEDIUM
@given(code=st.sampled_from(sorted(STATUS_BY_CODE)), message=XML_TEXT, field_value=XML_TEXT,
       request_id=st.from_regex(r"\A[0-9A-F]{24}\Z"), host_id=XML_TEXT)
def test_error_xml_round_trips(code, message, field_value, request_id, host_id):
    error = OssError(code, message, Key=field_value)
    parsed = parse_error_xml(render_error_xml(error, request_id, host_id))
    assert parsed["Code"] == code
    assert parsed["Message"] == message
    assert parsed["Key"] == field_value
    assert parsed["RequestId"] == request_id
    assert parsed["HostId"] == host_id


@pytest.mark.parametrize("text", ["\x01", "a\x00b", "\x1b[31m", "\ufffe"])
def test_error_xml_with_control_characters_stays_parseable(text):
    body = render_error_xml(OssError("NoSuchKey", "x", Key=text), "ID", "host")
    assert parse_error_xml(body).get("Code") == "NoSuchKey"
