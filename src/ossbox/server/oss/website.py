"""The OSS codec of PutBucketWebsite and GetBucketWebsite: `<WebsiteConfiguration>` documents, routing rules
kept element by element as given."""

from __future__ import annotations

from aiohttp import web

from ...protocol.errors import OssError
from ...protocol.numbers import parse_decimal
from ...protocol.xmlutil import xml_document
from ..context import Call
from ..operations import website
from ..responses import xml_response
from .requests import parse_xml_body, read_body

__all__ = ["parse_put_bucket_website", "render_get_bucket_website"]


def _element(node) -> website.Element:
    """A routing rule's element as kept; its flags (PassQueryString, Mirror*, ...) as OSS writes them: `true`,
    `false` (oss2 sends `True`)."""
    text = (node.text or "").strip()
    if not len(node) and text.lower() in ("true", "false") and _is_flag(node.tag):
        text = text.lower()
    return node.tag, text, tuple(_element(child) for child in node)


def _mirror_passes_its_query_string(rule: website.Element) -> website.Element:
    """As OSS keeps a Mirror redirect: its PassQueryString is its MirrorPassQueryString."""
    def redirect(element: website.Element) -> website.Element:
        tag, text, children = element
        values = {child[0]: child[1] for child in children}
        if tag != "Redirect" or values.get("RedirectType") != "Mirror" or "MirrorPassQueryString" not in values:
            return element
        kept = tuple(child for child in children if child[0] != "PassQueryString")
        return tag, text, (("PassQueryString", values["MirrorPassQueryString"], ()), *kept)

    tag, text, children = rule
    return tag, text, tuple(redirect(child) for child in children)


def _is_flag(tag: str) -> bool:
    return tag in ("PassAll", "PassQueryString", "EnableReplacePrefix") or tag.startswith("Mirror")


def website_configuration(body: bytes) -> website.Website:
    root = parse_xml_body(body, "WebsiteConfiguration")
    index, error = root.find("IndexDocument"), root.find("ErrorDocument")

    def number(node, tag: str) -> int | None:
        text = node.findtext(tag) if node is not None else None
        if text is None:
            return None
        value = parse_decimal(text.strip())
        if value is None:
            raise OssError("InvalidArgument", f"{tag} must be a number.", ArgumentName=tag, ArgumentValue=text)
        return value

    sub_dir = (index.findtext("SupportSubDir") or "").strip().lower() if index is not None else ""
    if sub_dir not in ("", "true", "false"):
        raise OssError("MalformedXML", "SupportSubDir must be true or false.")
    rules = [_mirror_passes_its_query_string(_element(rule)) for rule in root.iterfind("RoutingRules/RoutingRule")]
    numbers = [dict((tag, text) for tag, text, _ in rule[2]).get("RuleNumber") for rule in rules]
    if any(parse_decimal(item or "", 1) is None for item in numbers) or len(set(numbers)) != len(numbers):
        raise OssError("InvalidArgument", "Each routing rule needs a RuleNumber of its own, from 1.",
                       ArgumentName="RuleNumber")
    return website.Website(
        index_suffix=index.findtext("Suffix") if index is not None else None,
        support_sub_dir=None if not sub_dir else sub_dir == "true",
        index_type=number(index, "Type"),
        error_key=error.findtext("Key") if error is not None else None,
        error_status=number(error, "HttpStatus"),
        routing_rules=tuple(rules),
    )


async def parse_put_bucket_website(call: Call) -> website.BucketWebsite:
    return website.BucketWebsite(call.bucket, await call.offload(website_configuration, await read_body(call)))


def _children(element: website.Element):
    tag, text, children = element
    return tag, [_children(child) for child in children] if children else text


def render_get_bucket_website(call: Call, request: object, site: website.Website) -> web.StreamResponse:
    index = [("Suffix", site.index_suffix), ("SupportSubDir", site.support_sub_dir), ("Type", site.index_type)]
    error = [("Key", site.error_key), ("HttpStatus", site.error_status)]
    return xml_response(xml_document("WebsiteConfiguration", [
        ("IndexDocument", index if site.index_suffix is not None else None),
        ("ErrorDocument", error if site.error_key is not None else None),
        ("RoutingRules", [_children(rule) for rule in site.routing_rules] or None),
    ]))
