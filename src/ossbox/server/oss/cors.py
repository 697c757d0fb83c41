"""The OSS codec of CORS: `<CORSConfiguration>` documents, the preflight (OPTIONS) and the
`Access-Control-*` headers a browser's actual request is answered with."""

from __future__ import annotations

from aiohttp import web

from ...protocol.errors import OssError
from ...protocol.numbers import parse_decimal
from ...protocol.xmlutil import xml_document
from ..context import Call, ServerConfig
from ..offload import AsyncStorage
from ..operations.cors import (BucketCors, CorsConfiguration, CorsGrant, CorsRule, Preflight, grant_for,
                               stored_cors)
from ..operations.values import BucketRef
from ..responses import empty_response, xml_response
from .entry import locate
from .requests import parse_xml_body, read_body

__all__ = ["cors_configuration", "cors_rules", "parse_put_bucket_cors", "render_get_bucket_cors", "parse_preflight",
           "render_preflight", "add_cors_headers"]


def _names(node, tag: str) -> tuple[str, ...]:
    return tuple((child.text or "").strip() for child in node.iterfind(tag))


def cors_configuration(body: bytes) -> CorsConfiguration:
    root = parse_xml_body(body, "CORSConfiguration")
    rules = []
    for node in root.iterfind("CORSRule"):
        max_age_text = node.findtext("MaxAgeSeconds")
        max_age = None if max_age_text is None else parse_decimal(max_age_text.strip(), 0, 1 << 31)
        if max_age_text is not None and max_age is None:
            raise OssError("InvalidArgument", "MaxAgeSeconds must be a whole number of seconds.",
                           ArgumentName="MaxAgeSeconds", ArgumentValue=max_age_text)
        rules.append(CorsRule(_names(node, "AllowedOrigin"), _names(node, "AllowedMethod"),
                              _names(node, "AllowedHeader"), _names(node, "ExposeHeader"), max_age))
    vary = (root.findtext("ResponseVary") or "false").strip().lower()
    if vary not in ("true", "false"):
        raise OssError("MalformedXML", "ResponseVary must be true or false.")
    return CorsConfiguration(tuple(rules), vary == "true")


async def parse_put_bucket_cors(call: Call) -> BucketCors:
    return BucketCors(call.bucket, await call.offload(cors_configuration, await read_body(call)))


def render_get_bucket_cors(call: Call, request: BucketRef, configuration: CorsConfiguration) -> web.StreamResponse:
    children = [*cors_rules(configuration), ("ResponseVary", configuration.response_vary)]
    return xml_response(xml_document("CORSConfiguration", children))


def cors_rules(configuration: CorsConfiguration) -> list[tuple[str, object]]:
    """The `CORSRule` elements of a configuration, as both dialects write them."""
    return [("CORSRule", [*(("AllowedOrigin", value) for value in rule.allowed_origins),
                          *(("AllowedMethod", value) for value in rule.allowed_methods),
                          *(("AllowedHeader", value) for value in rule.allowed_headers),
                          *(("ExposeHeader", value) for value in rule.expose_headers),
                          ("MaxAgeSeconds", rule.max_age_seconds)])
            for rule in configuration.rules]


async def parse_preflight(call: Call) -> Preflight:
    headers = call.headers.get("Access-Control-Request-Headers", "")
    requested = tuple(name.strip() for name in headers.split(",") if name.strip())
    return Preflight(call.bucket, call.headers.get("Origin"), call.headers.get("Access-Control-Request-Method"),
                     requested)


def _grant_headers(grant: CorsGrant) -> dict[str, str]:
    rule = grant.rule
    headers = {"Access-Control-Allow-Origin": grant.origin,
               "Access-Control-Allow-Methods": ", ".join(rule.allowed_methods)}
    if grant.requested_headers:
        headers["Access-Control-Allow-Headers"] = ", ".join(grant.requested_headers)
    if rule.expose_headers:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose_headers)
    if rule.max_age_seconds is not None:
        headers["Access-Control-Max-Age"] = str(rule.max_age_seconds)
    if grant.vary:
        headers["Vary"] = "Origin"
    return headers


def render_preflight(call: Call, request: Preflight, grant: CorsGrant) -> web.StreamResponse:
    return empty_response(200, headers=_grant_headers(grant))


async def add_cors_headers(request: web.Request, config: ServerConfig, storage: AsyncStorage,
                           response: web.StreamResponse) -> None:
    """A browser's actual request (it sends `Origin`) to a bucket whose CORS rules allow its origin and
    method gets their `Access-Control-*` headers, on errors too, so that the page can read the answer."""
    origin = request.headers.get("Origin")
    if not origin or request.method == "OPTIONS" or response.prepared:
        return
    try:
        address, _ = locate(request, config)
        if address.bucket is None:
            return
        configuration = stored_cors((await storage.get_bucket(address.bucket)).configs)
    except Exception:  # noqa: BLE001 - no bucket, a name OSS refuses, an outage: the answer stands without CORS
        return
    if configuration is None:
        return
    grant = grant_for(configuration, origin, request.method)
    if grant is not None:
        response.headers.update(_grant_headers(grant))
    elif configuration.response_vary:
        response.headers["Vary"] = "Origin"  # a cache must not give this answer to another origin either
