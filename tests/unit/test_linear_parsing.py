"""Every parser of untrusted input runs in time linear in its input.

Each case times a parser on adversarial input of size n and of size 8n (best of several runs, CPU time)
and asserts the ratio, not an absolute time: linear work grows about 8 times, quadratic work 64 times.
The bound of 24 leaves room for a noisy machine while failing any quadratic parser by far. The inputs
are the shapes that made the replaced regular expressions backtrack (unclosed tags, long runs of word
characters with no `=`), plus the limits' own edge cases.
"""

from __future__ import annotations

import time

import pytest

from ossbox.protocol.authentication import authenticate
from ossbox.protocol.dates import parse_http_date
from ossbox.protocol.errors import OssError
from ossbox.protocol.ranges import parse_range
from ossbox.protocol.signing import SignedParts
from ossbox.protocol.xmlparse import parse_xml
from ossbox.server.addressing import parse_target
from ossbox.server.oss.objects import parse_delete_request
from ossbox.server.oss.requests import tags_from_header

GROWTH = 8
MAX_RATIO = 24


def _swallow(function, argument) -> None:
    try:
        function(argument)
    except (OssError, ValueError):
        pass


def _best_cpu_seconds(function, argument, calls: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(calls):
            _swallow(function, argument)
        best = min(best, time.process_time() - started)
    return best


def assert_linear(function, make_input, n: int) -> None:
    small, large = make_input(n), make_input(n * GROWTH)
    calls = 1  # repeat the small case until it is long enough to measure, so the ratio is not noise over nothing
    while _best_cpu_seconds(function, small, calls, repeat=1) < 0.01 and calls < 1 << 16:
        calls *= 2
    ratio = _best_cpu_seconds(function, large, calls) / _best_cpu_seconds(function, small, calls)
    assert ratio < MAX_RATIO, f"{GROWTH}x the input took {ratio:.1f}x the time"


def _authenticate_header(value: str) -> None:
    headers = {"authorization": value, "x-oss-date": "20231216T162057Z"}
    authenticate(SignedParts("GET", "b", "k", (), headers), {"ak": "sk"}.get, 1702743657)


XML_CASES = {
    "unclosed-keys": lambda n: b"<Delete>" + b"<Object><Key>" * n,
    "unclosed-key-text": lambda n: b"<Delete><Object><Key>" + b"<Key>a" * n,
    "deep-nesting": lambda n: b"<Delete>" + b"<a>" * n + b"</a>" * n + b"</Delete>",
    "many-elements": lambda n: b"<Delete>" + b"<Object><Key>k</Key></Object>" * n + b"</Delete>",
    "control-characters": lambda n: b"<Delete><Object><Key>" + b"\x01\r" * n + b"</Key></Object></Delete>",
    "character-references": lambda n: b"<Delete><Object><Key>" + b"&#1;&#x1f;&#" * n + b"</Key></Object></Delete>",
    "private-use-everywhere": lambda n: ("<Delete><Object><Key>\x01" + "".join(map(chr, range(0xE000, 0xF900)))
                                         * (n // 500 + 1) + "</Key></Object></Delete>").encode(),
}


@pytest.mark.parametrize("shape", sorted(XML_CASES))
def test_delete_body_parsing_is_linear(shape):
    assert_linear(parse_delete_request, XML_CASES[shape], 2000)


@pytest.mark.parametrize("shape", sorted(XML_CASES))
def test_generic_xml_parsing_is_linear(shape):
    assert_linear(lambda body: parse_xml(body, "Delete", max_elements=40_000), XML_CASES[shape], 2000)


AUTHORIZATION_CASES = {
    "v4-word-run": lambda n: "OSS4-HMAC-SHA256 " + "a" * n,
    "v4-spaces": lambda n: "OSS4-HMAC-SHA256 " + "a " * n + "=",
    "v4-commas": lambda n: "OSS4-HMAC-SHA256 " + "Credential=," * n,
    "v4-equals": lambda n: "OSS4-HMAC-SHA256 Credential=" + "=" * n,
    "v2-colons": lambda n: "OSS2 " + "AccessKeyId:" * n,
    "v1-colons": lambda n: "OSS " + ":" * n,
}


@pytest.mark.parametrize("shape", sorted(AUTHORIZATION_CASES))
def test_authorization_parsing_is_linear(shape):
    assert_linear(_authenticate_header, AUTHORIZATION_CASES[shape], 1000)


QUERY_CASES = {
    "many-parameters": lambda n: "/b/k?" + "a=1&" * n,
    "percent-runs": lambda n: "/b/k?x=" + "%" * n,
    "presign-v4": lambda n: "/b/k?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=" + "/" * n,
    "presign-expires": lambda n: "/b/k?OSSAccessKeyId=a&Signature=s&Expires=" + "9" * n,
}


def _authenticate_target(target: str) -> None:
    address = parse_target("127.0.0.1", target)
    authenticate(SignedParts("GET", address.bucket, address.key, address.params, {}), {"a": "s"}.get, 0)


@pytest.mark.parametrize("shape", sorted(QUERY_CASES))
def test_query_and_presign_parsing_is_linear(shape):
    assert_linear(_authenticate_target, QUERY_CASES[shape], 1000)


HEADER_CASES = {
    "range-spaces": (parse_range, lambda n: "bytes=" + " " * n + "0-" + " " * n + "x"),
    "range-digits": (parse_range, lambda n: "bytes=" + "0" * n + "-" + "1" * n + " x"),
    "date-words": (parse_http_date, lambda n: "Mon, " * n),
    "date-digits": (parse_http_date, lambda n: "1" * n),
    "tagging": (tags_from_header, lambda n: "a=b&" * n + "%"),
}


@pytest.mark.parametrize("shape", sorted(HEADER_CASES))
def test_header_value_parsing_is_linear(shape):
    function, make_input = HEADER_CASES[shape]
    assert_linear(function, make_input, 1000)
