"""A coverage-guided fuzzer (atheris, libFuzzer) over every parser of untrusted request input.

Run it alone (`python tests/fuzz/parsers.py -max_total_time=60 [corpus dir]`) or through
tests/unit/test_parser_fuzz.py. The first input byte picks a parser, the rest is its input: XML bodies
(Delete, CompleteMultipartUpload, Tagging), Authorization headers (V1, V2, V4) and presigned query
strings, Range, HTTP and V4 dates, request targets with Host and base domain, x-oss-tagging, and numbers.

A parser may raise only the errors it documents (OssError, ValueError where a function is defined to).
Anything else is a crash. So is an input whose parse takes super-linear time: more CPU than a fixed
budget plus a budget per byte allows, far above what a linear parse of the largest input needs.
"""

from __future__ import annotations

import sys
import time

import atheris

with atheris.instrument_imports():
    from ossbox.protocol import dates, numbers, ranges
    from ossbox.protocol.authentication import authenticate
    from ossbox.protocol.errors import OssError
    from ossbox.protocol.signing import SignedParts
    from ossbox.protocol.xmlparse import parse_xml
    from ossbox.server.addressing import parse_target
    from ossbox.server.operations.tags import OBJECT_TAG_RULES, validate_tags
    from ossbox.server.oss.configuration import tag_pairs
    from ossbox.server.oss.multipart import parse_complete_document
    from ossbox.server.oss.objects import parse_delete_request
    from ossbox.server.oss.requests import tags_from_header

SECRETS = {"LTAItestaccesskey000000": "testsecret"}.get
NOW = 1702743657  # 2023-12-16T16:20:57Z
BASE_SECONDS, SECONDS_PER_BYTE = 0.25, 20e-6  # CPU budget: a linear parse of 64 KiB needs a few ms


class SuperLinear(Exception):
    pass


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _authorization(data: bytes) -> None:
    headers = {"authorization": _text(data), "x-oss-date": "20231216T162057Z", "date": "Sat, 16 Dec 2023 16:20:57 GMT"}
    authenticate(SignedParts("PUT", "bucket", "key", (), headers), SECRETS, NOW, "cn-hangzhou")


def _presigned(data: bytes) -> None:
    address = parse_target("127.0.0.1", "/bucket/key?" + _text(data))
    authenticate(SignedParts("GET", address.bucket, address.key, address.params, {}), SECRETS, NOW)


def _target(data: bytes) -> None:
    host, _, target = _text(data).partition("\n")
    parse_target(host, target, "example.test")


def _range(data: bytes) -> None:
    size = int.from_bytes(data[:2], "big")
    for standard in (False, True):
        ranges.resolve_range(_text(data[2:]), size, standard)


def _dates(data: bytes) -> None:
    text = _text(data)
    dates.parse_http_date(text)
    for parse in (dates.parse_v4_datetime, dates.parse_iso8601):
        try:
            parse(text)
        except ValueError:
            pass


PARSERS = [
    parse_delete_request,
    parse_complete_document,
    lambda data: validate_tags(tag_pairs(data), OBJECT_TAG_RULES),
    lambda data: parse_xml(data, "Delete", max_elements=4000),
    _authorization,
    _presigned,
    _target,
    _range,
    _dates,
    lambda data: tags_from_header(_text(data)),
    lambda data: numbers.parse_decimal(_text(data)),
]


def one_input(data: bytes) -> None:
    if not data:
        return
    parser, body = PARSERS[data[0] % len(PARSERS)], data[1:]
    started = time.process_time()
    try:
        parser(body)
    except OssError:
        pass
    elapsed = time.process_time() - started
    if elapsed > BASE_SECONDS + SECONDS_PER_BYTE * len(body):
        raise SuperLinear(f"parser {data[0] % len(PARSERS)} took {elapsed:.3f} s for {len(body)} bytes")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
