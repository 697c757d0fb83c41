"""The path every request takes, in one direction: the codec reads it, access is checked, the operation
runs, the codec writes the result. And the one place where failures become error responses.

Strategy: `dispatch()` is a plain module-level function of an aiohttp request and the server's `Services`,
so a test can drive it without a socket. The request's dialect (`dialects.py`: OSS or S3) gives its codec
(`server/oss/`, `server/s3/`), which identifies the request (address,
signature, operation) and turns it into the operation's typed request; an anonymous caller's right to the
operation is checked before any body is read (and again by storage, on the very record served or replaced);
the operation (`server/operations/`) runs; the codec renders its result. `respond()` adds the request id
and turns whatever went wrong into the dialect's error: 4xx for the request's faults, 503 for a full descriptor
table or an unreachable database, 507 for a full disk, and 500, logged once, for anything else.
"""

from __future__ import annotations

import functools
import logging
import random
from dataclasses import dataclass, replace

from aiohttp import web

from ..protocol.errors import OssError
from ..storage import errors as storage_errors
from ..storage.errors import BucketNotFound
from ..storage.metadata import MetadataUnavailable
from .addressing import Address, host_bucket
from .bucket_rules import GATED_OPERATIONS, BucketRules
from .policy import Decision
from .authorize import Access, denied
from .context import Call, ServerConfig
from .occasional import OccasionalWarning
from .offload import AsyncStorage, Offload
from .operations.context import Context
from .operations.website import stored_website
from .operations.values import NotModified
from .dialects import OSS, Dialect, dialect_of
from .metrics import STORAGE_ERRORS
from .oss.cors import add_cors_headers
from .oss.render import as_oss_error
from .registry import OPERATIONS
from .responses import not_modified_response

__all__ = ["ACCESS", "REQUEST_ID", "Accessed", "Services", "dispatch", "new_request_id", "respond"]

log = logging.getLogger("ossbox.server")
_outage_log = OccasionalWarning(log)

_DISK_FULL_MESSAGE = ("The disk holding the server's data directory is full, so the request changed nothing. Free "
                      "space on it (or delete objects) and try again.")


@dataclass(frozen=True)
class Accessed:
    """What a request asked for, kept on it (`request[ACCESS]`) for the access log and the metrics: the
    operation, bucket and key as located, and the access key id that signed it once that is known."""

    operation: str
    bucket: str | None
    key: str | None
    principal: str | None


ACCESS = web.RequestKey("access", Accessed)
REQUEST_ID = web.RequestKey("request_id", str)


def new_request_id() -> str:
    """24 hex digits, as OSS's request ids. An identifier, not a secret: Python's own generator (reseeded in each
    forked worker) makes it for a fraction of what a read of the system's random source costs each request."""
    return f"{random.getrandbits(96):024X}"


@dataclass(frozen=True)
class Services:
    storage: AsyncStorage
    offload: Offload
    config: ServerConfig


def _bucket_must_exist(address: Address, operation: str) -> bool:
    """Whether a missing bucket is answered NoSuchBucket before access is judged, as OSS does: for every
    operation on a bucket but its creation."""
    return address.bucket is not None and operation != "PutBucket"


async def _check_anonymous_access(context: Context, address: Address, operation: str) -> None:
    """Refuse what an anonymous caller may not do before any work is done (or any body read). Reads are
    decided by storage on the record served; writes are also decided again on the version they replace.
    A bucket that does not exist is said so first, as OSS does (SECURITY.md has the trade-off)."""
    if context.principal is not None or context.access in (Access.READ, Access.ANYONE) or context.policy_allows:
        return
    if operation == "DeleteMultipleObjects" and context.policy is not None:
        return  # the policy judges it key by key
    if not _bucket_must_exist(address, operation):
        raise denied()
    bucket, record = await context.storage.bucket_and_object(address.bucket, address.key, address.param("versionId"))
    if bucket is None:
        raise BucketNotFound(address.bucket)
    permit = context.permit()
    assert permit is not None  # anonymous
    if not permit(bucket.acl, record):
        raise denied()


_POLICY_OPERATIONS = frozenset({"PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy"})


async def _apply_bucket_rules(context: Context, request: web.Request, address: Address, operation: str,
                              config: ServerConfig, session: bool) -> Context:
    """A request is judged by its bucket's policy, which may refuse it or grant it whatever the ACLs say, and,
    without a signature in its headers (anonymous, or a presigned URL) or a console `session`, by its referer
    rules (bucket_rules.py). The context, with their say. The owner may always handle the policy itself."""
    if context.access is Access.ANYONE or not _bucket_must_exist(address, operation) \
            or (context.principal is not None and operation in _POLICY_OPERATIONS):
        return context
    signed_in_headers = context.principal is not None and (session or bool(request.headers.get("Authorization")))
    rules = BucketRules.of(request, address, operation, context.principal is None, not signed_in_headers, config)
    context = replace(context, rules=rules)  # reads judge them on what they read: objects, copy sources
    if operation in GATED_OPERATIONS:
        return context
    configs = (await context.storage.get_bucket(address.bucket)).configs
    if operation == "DeleteMultipleObjects":
        await context.offload(rules.decide, configs, None)  # the Referer, once
        if not rules.has_policy(configs):
            return context
        return replace(context, policy=functools.partial(rules.decide, configs))  # the policy, key by key
    decision = await context.offload(rules.decide, configs, address.key)
    rules.permit_for(decision, None)  # a Deny refuses it here
    return replace(context, policy_allows=decision is Decision.ALLOW)


async def _hosts_a_website(storage: AsyncStorage, bucket: str) -> bool:
    return stored_website((await storage.get_bucket(bucket)).configs) is not None


async def _refuse_unauthenticated(storage: AsyncStorage, address: Address, operation: str,
                                  refusal: OssError) -> None:
    """A request whose signature does not hold gets NoSuchBucket for a bucket that does not exist (what
    the SDKs' bucket and object existence checks rely on), else `refusal`."""
    if _bucket_must_exist(address, operation):
        await storage.get_bucket(address.bucket)
    raise refusal


async def dispatch(request: web.Request, services: Services, request_id: str, dialect: Dialect
                   ) -> web.StreamResponse:
    address, name = dialect.locate(request, services.config)
    request[ACCESS] = Accessed(name, address.bucket, address.key, None)
    try:
        # A browser's preflight carries no signature; one that does (a presigned OPTIONS) is judged without it.
        principal, signer = (None, None) if name == "Options" else dialect.identify(request, address, services.config)
    except OssError as refusal:
        await _refuse_unauthenticated(services.storage, address, name, refusal)
    if dialect is OSS and name == "ListObjects" and principal is None and not address.params \
            and await _hosts_a_website(services.storage, address.bucket):
        address, name = replace(address, key=""), "GetObject"  # a browser at the site's root: its index page
    request[ACCESS] = Accessed(name, address.bucket, address.key, principal)
    operation = OPERATIONS.get(name)
    if operation is None or name not in dialect.codecs:
        raise OssError("NotImplemented", "ossbox does not implement this operation.")
    context = Context(services.storage, services.offload, principal, operation.access,
                      services.config.owner_id, operation.follows_symlinks)
    context = await _apply_bucket_rules(context, request, address, operation.name, services.config, dialect.session)
    await _check_anonymous_access(context, address, operation.name)
    codec = dialect.codecs[operation.name]
    call = Call(request, address, services.config, services.offload, request_id, signer)
    typed = await codec.parse(call)
    try:
        result = await operation.run(context, typed)
    except NotModified as outcome:
        return not_modified_response(outcome.record)
    response = codec.render(call, typed, result)
    if operation.name == "GetObject" and host_bucket(request.host, services.config.base_domain) is None:
        # Served from the web console's origin (path style: no bucket in the Host), an object's HTML would run
        # as the console, with its session; sandboxed, it is a document of no origin (SECURITY.md).
        response.headers["Content-Security-Policy"] = "sandbox"
    return response


async def respond(request: web.Request, services: Services, reclaim, dialect: Dialect | None = None
                  ) -> web.StreamResponse:
    """`dispatch()`'s response, or the error response for what went wrong; `reclaim()` frees released blobs
    at once when the disk is full. The dialect is the request's own (`dialect_of`) unless one is given."""
    request_id = request[REQUEST_ID] = new_request_id()
    # aiohttp decodes header bytes that are not UTF-8 to lone surrogates, which cannot be encoded back
    host_id = request.host.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    dialect = dialect or dialect_of(request, services.config)
    error_response = dialect.error_response
    try:
        response = await dispatch(request, services, request_id, dialect)
    except OssError as error:
        response = error_response(error, request_id, host_id, request.method)
    except storage_errors.StorageError as error:
        response = error_response(as_oss_error(error), request_id, host_id, request.method)
    except ConnectionError:
        log.debug("client left during %s %s (request %s)", request.method, request.raw_path, request_id)
        error = OssError("InvalidArgument", "The connection closed before the request body was complete.")
        response = error_response(error, request_id, host_id, request.method)
    except web.HTTPRequestEntityTooLarge:
        error = OssError("EntityTooLarge", "The request body is too large.")
        response = error_response(error, request_id, host_id, request.method)
    except Exception as failure:
        if storage_errors.is_disk_full(failure):
            STORAGE_ERRORS.labels("disk_full").inc()
            log.warning("disk full: %s %s (request %s) changed nothing: %s", request.method,
                        request.raw_path, request_id, failure)
            error = OssError("InsufficientStorage", _DISK_FULL_MESSAGE)
            await reclaim()
        elif isinstance(failure, MetadataUnavailable):
            STORAGE_ERRORS.labels("metadata_unavailable").inc()
            _outage_log.warning("metadata database unavailable: %s %s (request %s): %s", request.method,
                                request.raw_path, request_id, failure)
            error = OssError("ServiceUnavailable", "The metadata database is unavailable at the moment. "
                                                   "Please try again.")
        elif storage_errors.is_out_of_descriptors(failure):
            STORAGE_ERRORS.labels("out_of_descriptors").inc()
            log.warning("out of file descriptors: %s %s (request %s): %s", request.method, request.raw_path,
                        request_id, failure)
            error = OssError("ServiceUnavailable", "The server has too many connections or open files at "
                                                   "the moment. Please try again.")
        else:
            STORAGE_ERRORS.labels("internal").inc()
            log.exception("internal error in %s %s (request %s)", request.method, request.raw_path, request_id)
            error = OssError("InternalError", "We encountered an internal error. Please try again.")
        response = error_response(error, request_id, host_id, request.method)
    await add_cors_headers(request, services.config, services.storage, response)
    return dialect.stamp(response, request_id)
