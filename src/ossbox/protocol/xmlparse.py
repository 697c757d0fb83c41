"""Parsing the XML documents clients send (Delete, CompleteMultipartUpload, Tagging, ...): a real parser,
bounded.

Strategy: expat, through defusedxml's parser, which refuses DTDs and so every entity trick (billion
laughs, external entities) before anything is expanded. Expat reads in one linear pass; a tree builder
counts elements and depth as they open and stops the parse at the first one past its limit, so neither
deep nesting nor millions of tiny elements can cost more than the limits allow. A body with more `<` than
the limits could ever need is refused before parsing, by a count at C speed.

The SDKs write keys with control characters raw (`\\x01`), and the Java SDK as references (`&#1;`),
though XML 1.0 allows neither; a raw `\\r` is legal but would be read as `\\n`. Before parsing, each of
these is swapped for a private-use character the document does not contain, and swapped back in the
parsed text afterwards, so every key arrives exactly as it was sent.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from .errors import OssError
from .numbers import is_ascii_digits

__all__ = ["parse_xml", "MAX_DEPTH"]

MAX_DEPTH = 16

# Code points XML 1.0 forbids (or, for CR, rewrites) that keys may still hold.
_SHIELDED_RAW = [c for c in range(0x20) if c not in (0x09, 0x0A)]
_SHIELDED_REFERENCED = frozenset(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))
_SHIELDED_RAW_BYTES = bytes(_SHIELDED_RAW)
_PRIVATE_USE = range(0xE000, 0xF900 - 0x20, 0x20)
_PRIVATE_USE_CHARACTER = re.compile("[\ue000-\uf8ff]")  # a single character class: linear
_MAX_REFERENCE = 12  # "&#x0000001F;"
_MARKUP_SLACK = 16  # `<` that open no element: the declaration, comments, processing instructions


class _Limited(Exception):
    pass


class _BoundedTreeBuilder(ElementTree.TreeBuilder):
    def __init__(self, max_elements: int) -> None:
        super().__init__()
        self._budget = max_elements
        self._depth = 0

    def start(self, tag, attrs):
        self._budget -= 1
        self._depth += 1
        if self._budget < 0:
            raise _Limited("The XML document has too many elements.")
        if self._depth > MAX_DEPTH:
            raise _Limited(f"The XML document is nested more than {MAX_DEPTH} deep.")
        return super().start(_local(tag), attrs)

    def end(self, tag):
        self._depth -= 1
        return super().end(_local(tag))


def _local(tag: str) -> str:
    """A tag without its namespace: S3's documents declare one (`{http://s3.amazonaws.com/doc/2006-03-01/}Delete`),
    OSS's do not, and both are read by the same names."""
    return tag.rpartition("}")[2]


def _malformed(message: str = "The XML you provided was not well-formed.") -> OssError:
    return OssError("MalformedXML", message)


def _stand_ins(text: str) -> dict[int, str] | None:
    """A private-use character for each code point below 0x20, none of them in `text`, raw or referenced
    (`&#xE001;` is the character too, once parsed)."""
    present = set(_PRIVATE_USE_CHARACTER.findall(text))
    present.update(chr(code) for _, code, _ in _references(text) if 0xE000 <= code <= 0xF8FF)
    for base in _PRIVATE_USE:
        candidates = {code: chr(base + code) for code in range(0x20)}
        if present.isdisjoint(candidates.values()):
            return candidates
    return None


def _references(text: str):
    """(start, code point, end) of each well-formed character reference in `text`."""
    found = text.find("&#")
    while found >= 0:
        reference = _referenced_code(text, found)
        if reference is not None:
            yield found, *reference
        found = text.find("&#", found + 2)


def _referenced_code(text: str, start: int) -> tuple[int, int] | None:
    """(code point, end) of the character reference `&#...;` at `start`, if it is a well-formed one."""
    end = text.find(";", start + 2, start + _MAX_REFERENCE)
    if end < 0:
        return None
    digits, base = text[start + 2:end], 10
    if digits[:1] in ("x", "X"):
        digits, base = digits[1:], 16
    if not (digits.isascii() and digits.isalnum() if base == 16 else is_ascii_digits(digits)):
        return None
    try:
        return int(digits, base), end + 1
    except ValueError:
        return None


def _shield(text: str, stand_ins: dict[int, str]) -> str:
    for code in _SHIELDED_RAW:
        text = text.replace(chr(code), stand_ins[code])
    pieces, position = [], 0
    for start, code, end in _references(text):
        if code in _SHIELDED_REFERENCED:
            pieces += [text[position:start], stand_ins[code]]
            position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _shielded(body: bytes) -> tuple[bytes, dict[int, str] | None]:
    """`body` with the shielded characters swapped for stand-ins, and the stand-ins used (None if the
    body has nothing to shield, or is not UTF-8: then expat alone decides)."""
    if len(body.translate(None, _SHIELDED_RAW_BYTES)) == len(body) and b"&#" not in body:
        return body, None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body, None
    stand_ins = _stand_ins(text)
    if stand_ins is None:
        raise _malformed()
    return _shield(text, stand_ins).encode("utf-8"), stand_ins


def _unshield(root: ElementTree.Element, stand_ins: dict[int, str]) -> None:
    table = str.maketrans({stand_in: chr(code) for code, stand_in in stand_ins.items()})
    for element in root.iter():
        if element.text:
            element.text = element.text.translate(table)
        if element.tail:
            element.tail = element.tail.translate(table)


def parse_xml(body: bytes, root_tag: str, max_elements: int = 1000) -> ElementTree.Element:
    """The root of a request's XML document, which must be `root_tag`; 400 MalformedXML for anything
    that is not well-formed, declares a DTD, nests deeper than MAX_DEPTH or has more than `max_elements`
    elements."""
    if body.count(b"<") > 2 * max_elements + _MARKUP_SLACK:  # every element opens with one: refused at C speed
        raise _malformed("The XML document has too many elements.")
    body, stand_ins = _shielded(body)
    parser = DefusedXMLParser(target=_BoundedTreeBuilder(max_elements), forbid_dtd=True)
    try:
        parser.feed(body)
        root = parser.close()
    except _Limited as limited:
        raise _malformed(str(limited)) from None
    # LookupError: an unknown declared encoding; ValueError: also defusedxml's refusals
    except (ElementTree.ParseError, ExpatError, DefusedXmlException, LookupError, ValueError):
        raise _malformed() from None
    if root.tag != root_tag:
        raise _malformed(f"The root element must be {root_tag}.")
    if stand_ins is not None:
        _unshield(root, stand_ins)
    return root
