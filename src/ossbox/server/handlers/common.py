"""Small helpers the handler families share: integer parameters, URL encoding of listed names, reading
request bodies that may stall."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ElementTree
from urllib.parse import quote

from ...protocol.errors import OssError
from ...protocol.numbers import parse_decimal
from ...protocol.xmlparse import parse_xml
from ..context import Call

__all__ = ["int_param", "encoder", "owner_xml", "parse_xml_body", "read_body", "stall_limited"]


def int_param(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    number = parse_decimal(value, low, high)
    if number is None:
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


def parse_xml_body(body: bytes, root_tag: str, max_elements: int = 1000) -> ElementTree.Element:
    """The root element of a request's XML body, which must be `root_tag`; 400 MalformedXML otherwise."""
    return parse_xml(body, root_tag, max_elements)


async def stall_limited(content, timeout: float):
    """The body's chunks as they arrive; a body that sends nothing for `timeout` seconds is given up, so a
    stalled or abandoned upload cannot hold its connection, file and temporary blob forever."""
    while True:
        try:
            chunk = await asyncio.wait_for(content.readany(), timeout)
        except asyncio.TimeoutError:
            raise OssError("RequestTimeout", f"The request body sent nothing for {timeout:g} seconds.") from None
        if not chunk:
            return
        yield chunk


async def read_body(call: Call) -> bytes:
    """A whole request body held in memory (an XML document): at most the app's `client_max_size`
    (EntityTooLarge), and given up like an upload's if it stalls for `body_timeout` (RequestTimeout)."""
    limit = call.request.client_max_size
    if (call.request.content_length or 0) > limit:
        raise OssError("EntityTooLarge", "The request body is too large.")
    body = bytearray()
    async for chunk in stall_limited(call.request.content, call.config.body_timeout):
        body += chunk
        if len(body) > limit:
            raise OssError("EntityTooLarge", "The request body is too large.")
    return bytes(body)
