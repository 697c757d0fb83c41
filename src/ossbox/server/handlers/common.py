"""Small helpers the handler families share: integer parameters, URL encoding of listed names."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from urllib.parse import quote

from ...protocol.errors import OssError

__all__ = ["int_param", "encoder", "owner_xml", "parse_xml_body"]


def int_param(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise OssError("InvalidArgument", f"{name} must be an integer from {low} to {high}.",
                       ArgumentName=name, ArgumentValue=value)
    return number


def encoder(encoding_type: str | None):
    """How names are written in a listing: as is, or %-encoded (`%20`, never `+`) for `url`."""
    if encoding_type is None or encoding_type == "":
        return lambda text: text
    if encoding_type != "url":
        raise OssError("InvalidArgument", "encoding-type must be url.", ArgumentName="encoding-type",
                       ArgumentValue=encoding_type)
    return lambda text: quote(text, safe="/", encoding="utf-8")


def owner_xml(owner_id: str) -> list[tuple[str, object]]:
    return [("ID", owner_id), ("DisplayName", owner_id)]


def parse_xml_body(body: bytes, root_tag: str) -> ElementTree.Element:
    """The root element of a request's XML body, which must be `root_tag`; 400 MalformedXML otherwise."""
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, LookupError, ValueError):  # LookupError: an unknown declared encoding
        raise OssError("MalformedXML", "The XML you provided was not well-formed.") from None
    if root.tag != root_tag:
        raise OssError("MalformedXML", f"The root element must be {root_tag}.")
    return root
