"""Cross-origin resource sharing: PutBucketCors, GetBucketCors, DeleteBucketCors, the preflight (OPTIONS),
and which rule grants a browser's actual request.

Strategy: rules are tried in order and the first that allows the origin, the method and every requested
header wins, as in OSS. An origin or a header pattern holds at most one `*`, so matching is a prefix and a
suffix test: linear in the untrusted value, with no regular expression. Header names match without regard
to case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ...protocol.errors import OssError
from .context import Context
from .values import BucketRef, required_config

__all__ = ["CorsRule", "CorsConfiguration", "BucketCors", "Preflight", "CorsGrant", "CORS_CONFIG", "CORS_METHODS",
           "put_bucket_cors", "get_bucket_cors", "delete_bucket_cors", "preflight", "stored_cors", "grant_for",
           "PREFLIGHT_INCOMPLETE"]

CORS_CONFIG = "cors"  # the configuration's name among a bucket's (BucketRecord.configs)
CORS_METHODS = ("GET", "PUT", "DELETE", "POST", "HEAD")
_MAX_RULES = 20


@dataclass(frozen=True)
class CorsRule:
    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None


@dataclass(frozen=True)
class CorsConfiguration:
    rules: tuple[CorsRule, ...]
    response_vary: bool = False  # answer `Vary: Origin`, for caches between browsers and the bucket


@dataclass(frozen=True)
class BucketCors:
    bucket: str
    configuration: CorsConfiguration


@dataclass(frozen=True)
class Preflight:
    bucket: str
    origin: str | None
    method: str | None  # Access-Control-Request-Method
    headers: tuple[str, ...] = ()  # Access-Control-Request-Headers


@dataclass(frozen=True)
class CorsGrant:
    """What the matching rule lets a browser know: the response's `Access-Control-*` headers."""

    origin: str
    rule: CorsRule
    vary: bool
    requested_headers: tuple[str, ...] = ()


def _matches(pattern: str, value: str) -> bool:
    head, star, tail = pattern.partition("*")
    if not star:
        return pattern == value
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


def _allows(rule: CorsRule, origin: str, method: str, headers: tuple[str, ...]) -> bool:
    return (any(_matches(pattern, origin) for pattern in rule.allowed_origins)
            and method in rule.allowed_methods
            and all(any(_matches(pattern.lower(), header.lower()) for pattern in rule.allowed_headers)
                    for header in headers))


def grant_for(configuration: CorsConfiguration, origin: str, method: str, headers: tuple[str, ...] = ()
              ) -> CorsGrant | None:
    """The grant of the first rule allowing `origin`, `method` and every one of `headers`; None if none does."""
    for rule in configuration.rules:
        if _allows(rule, origin, method, headers):
            return CorsGrant(origin, rule, configuration.response_vary, headers)
    return None


def _invalid(message: str) -> OssError:
    return OssError("InvalidArgument", message)


def _printable(value: str) -> bool:
    """Visible ASCII (no space, no control character): what may go back out in a response header."""
    return bool(value) and all("!" <= char <= "~" for char in value)


def _validate(configuration: CorsConfiguration) -> None:
    if not 1 <= len(configuration.rules) <= _MAX_RULES:
        raise OssError("MalformedXML", f"A CORS configuration holds 1 to {_MAX_RULES} rules.")
    for rule in configuration.rules:
        if not rule.allowed_origins or not rule.allowed_methods:
            raise OssError("MalformedXML", "A CORSRule needs AllowedOrigin and AllowedMethod.")
        for method in rule.allowed_methods:
            if method not in CORS_METHODS:
                raise _invalid(f"AllowedMethod {method!r} is not one of {', '.join(CORS_METHODS)}.")
        for name, patterns in (("AllowedOrigin", rule.allowed_origins), ("AllowedHeader", rule.allowed_headers)):
            if any(pattern.count("*") > 1 for pattern in patterns):
                raise _invalid(f"An {name} holds at most one wildcard (*).")
        if any("*" in header for header in rule.expose_headers):
            raise _invalid("An ExposeHeader cannot hold a wildcard (*).")
        for name, values in (("AllowedHeader", rule.allowed_headers), ("ExposeHeader", rule.expose_headers),
                             ("AllowedOrigin", rule.allowed_origins)):
            if not all(_printable(value) for value in values):
                raise _invalid(f"An {name} is visible ASCII: a header name, or an origin.")


def stored_cors(configs: dict) -> CorsConfiguration | None:
    """A bucket's CORS configuration from its stored form (BucketRecord.configs); None if it has none."""
    stored = configs.get(CORS_CONFIG)
    if stored is None:
        return None
    rules = tuple(CorsRule(tuple(rule["allowed_origins"]), tuple(rule["allowed_methods"]),
                           tuple(rule["allowed_headers"]), tuple(rule["expose_headers"]), rule["max_age_seconds"])
                  for rule in stored["rules"])
    return CorsConfiguration(rules, stored["response_vary"])


async def put_bucket_cors(context: Context, request: BucketCors) -> None:
    _validate(request.configuration)
    await context.storage.update_bucket(request.bucket, configs={CORS_CONFIG: asdict(request.configuration)})


async def get_bucket_cors(context: Context, request: BucketRef) -> CorsConfiguration:
    return await required_config(context, request.bucket, stored_cors, "NoSuchCORSConfiguration",
                                 "The CORS configuration does not exist.")


async def delete_bucket_cors(context: Context, request: BucketRef) -> None:
    await context.storage.update_bucket(request.bucket, configs={CORS_CONFIG: None})


PREFLIGHT_INCOMPLETE = "CORSResponse: a preflight needs the Origin and Access-Control-Request-Method headers."


async def preflight(context: Context, request: Preflight) -> CorsGrant:
    """A browser's OPTIONS: the grant of the first rule that allows what it asks, or 403 AccessForbidden.
    No signature is needed: browsers send none."""
    configuration = stored_cors((await context.storage.get_bucket(request.bucket)).configs)
    if not request.origin or not request.method:
        raise OssError("AccessForbidden", PREFLIGHT_INCOMPLETE)
    if configuration is None:
        raise OssError("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
    grant = grant_for(configuration, request.origin, request.method, request.headers)
    if grant is None:
        raise OssError("AccessForbidden", "CORSResponse: This CORS request is not allowed. This is usually "
                                          "because the evaluation of Origin, request method / "
                                          "Access-Control-Request-Method or Access-Control-Request-Headers "
                                          "are not whitelisted by the resource's CORS spec.")
    return grant
