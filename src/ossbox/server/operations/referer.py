"""Hotlink protection: PutBucketReferer, GetBucketReferer, and whether a request's `Referer` may reach a
bucket.

Strategy, as OSS: only requests that carry no signature in their headers are judged (anonymous ones and
presigned URLs); a signed request is its owner's. A Referer on the blacklist is refused; with an empty
whitelist everything else passes; otherwise an empty Referer passes only if AllowEmptyReferer, and any
other must match the whitelist. Patterns take `*` (any run of characters) and `?` (one character).
With AllowTruncateQueryString (the default), a Referer's query string is dropped before matching.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ...protocol.errors import OssError
from ...protocol.patterns import wildcard_match
from .context import Context
from .values import BucketRef

__all__ = ["RefererConfiguration", "BucketReferer", "REFERER_CONFIG", "put_bucket_referer", "get_bucket_referer",
           "stored_referer", "referer_allowed"]

REFERER_CONFIG = "referer"  # the configuration's name among a bucket's (BucketRecord.configs)
_MAX_PATTERNS = 100
_MAX_PATTERN = 1024


@dataclass(frozen=True)
class RefererConfiguration:
    allow_empty: bool = True
    referers: tuple[str, ...] = ()
    allow_truncate_query_string: bool = True
    blacklist: tuple[str, ...] = ()


@dataclass(frozen=True)
class BucketReferer:
    bucket: str
    configuration: RefererConfiguration


def referer_allowed(configuration: RefererConfiguration, referer: str | None) -> bool:
    if configuration.allow_truncate_query_string and referer:
        referer = referer.partition("?")[0]
    if referer and any(wildcard_match(pattern, referer) for pattern in configuration.blacklist):
        return False
    if not configuration.referers:
        return True
    if not referer:
        return configuration.allow_empty
    return any(wildcard_match(pattern, referer) for pattern in configuration.referers)


def stored_referer(configs: dict) -> RefererConfiguration:
    """A bucket's referer configuration from its stored form; the default (allow everything) if none."""
    stored = configs.get(REFERER_CONFIG)
    if stored is None:
        return RefererConfiguration()
    return RefererConfiguration(stored["allow_empty"], tuple(stored["referers"]),
                                stored["allow_truncate_query_string"], tuple(stored["blacklist"]))


async def put_bucket_referer(context: Context, request: BucketReferer) -> None:
    configuration = request.configuration
    for patterns in (configuration.referers, configuration.blacklist):
        if len(patterns) > _MAX_PATTERNS or any(not 0 < len(pattern) <= _MAX_PATTERN for pattern in patterns):
            raise OssError("InvalidArgument", f"A referer list holds at most {_MAX_PATTERNS} entries of 1 to "
                                              f"{_MAX_PATTERN} characters.")
    await context.storage.update_bucket(request.bucket, configs={REFERER_CONFIG: asdict(configuration)})


async def get_bucket_referer(context: Context, request: BucketRef) -> RefererConfiguration:
    return stored_referer((await context.storage.get_bucket(request.bucket)).configs)
