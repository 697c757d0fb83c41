"""The aiohttp application: one catch-all route whose dispatcher parses, authenticates, routes,
authorizes and calls `handle_<operation>`, and the only place errors become OSS XML responses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time

from aiohttp import HttpVersion11, web

from ..protocol.authentication import authenticate
from ..protocol.errors import OssError
from ..protocol.signing import SignedParts
from ..storage import errors as storage_errors
from ..storage.engine import ORPHAN_AGE, Storage
from ..storage.metadata import MetadataUnavailable
from .addressing import Address, parse_target
from .authorize import Access, denied
from .context import Call, ServerConfig
from .handlers.objects import copy_source
from .occasional import OccasionalWarning
from .offload import AsyncStorage, Offload
from .registry import OPERATIONS
from .responses import NotModified, empty_response, error_response
from .router import route

__all__ = ["create_app", "InFlight", "IN_FLIGHT"]

log = logging.getLogger("ossbox.server")
_outage_log = OccasionalWarning(log)

# Seconds between two passes that unlink the blobs of replaced versions once no reader can need them.
_REAP_INTERVAL = 60.0

# Headers a client may legitimately send more than once, which nothing signs or stores. Any other header
# sent twice is refused: a signature checks one value, and a second must not be what gets stored or used.
_REPEATABLE_HEADERS = frozenset({
    "accept", "accept-charset", "accept-encoding", "accept-language", "connection", "cookie", "forwarded", "te",
    "via", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
})

STORAGE_ERRORS = {
    storage_errors.AccessRefused: ("AccessDenied", "You have no right to access this object because of bucket acl.",
                                   "Key"),
    storage_errors.BucketNotFound: ("NoSuchBucket", "The specified bucket does not exist.", "BucketName"),
    storage_errors.ObjectNotFound: ("NoSuchKey", "The specified key does not exist.", "Key"),
    storage_errors.BucketExists: ("BucketAlreadyExists", "The requested bucket name is not available.", "BucketName"),
    storage_errors.BucketNotEmpty: ("BucketNotEmpty", "The bucket you tried to delete is not empty.", "BucketName"),
    storage_errors.ObjectExists: ("FileAlreadyExists", "The object you specified already exists and can not be "
                                  "overwritten.", "Key"),
    storage_errors.UploadNotFound: ("NoSuchUpload", "The specified upload does not exist.", "UploadId"),
    storage_errors.InvalidPart: ("InvalidPart", "One or more of the specified parts could not be found or the "
                                 "specified entity tag might not have matched the part's entity tag.", "PartNumber"),
    storage_errors.InvalidPartOrder: ("InvalidPartOrder", "The list of parts was not in ascending order.",
                                      "PartNumber"),
    storage_errors.PartTooSmall: ("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed "
                                  "size.", "PartNumber"),
}

_DISK_FULL_MESSAGE = ("The disk holding the server's data directory is full, so the request changed nothing. Free "
                      "space on it (or delete objects) and try again.")


class InFlight:
    """Counts requests being handled, so that shutdown can wait for them before closing connections
    (aiohttp's own shutdown stops reading request bodies at once, which would fail every upload)."""

    def __init__(self) -> None:
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def drained(self, timeout: float) -> bool:
        """Stop keeping connections alive and wait until no request is in flight (False on timeout)."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True


IN_FLIGHT = web.AppKey("in_flight", InFlight)


def _request_id() -> str:
    return secrets.token_hex(12).upper()


def _signed_parts(request: web.Request, address: Address) -> SignedParts:
    """What the signature covers, each header and query parameter with its one value: any that comes twice
    is refused (400), since the signature would check one value and the handler could use the other."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered in headers and lowered not in _REPEATABLE_HEADERS:
            raise OssError("InvalidArgument", f"The header {name} appears more than once.", ArgumentName=name)
        headers.setdefault(lowered, value)
    names: set[str] = set()
    for name, _ in address.params:
        if name in names:
            raise OssError("InvalidArgument", f"The query parameter {name} appears more than once.",
                           ArgumentName=name)
        names.add(name)
    return SignedParts(request.method, address.bucket, address.key, address.params, headers)


async def _check_anonymous_access(call: Call) -> None:
    """Refuse what an anonymous caller may not do before any work is done (or any body read). Reads are
    decided by storage on the record served; writes are also decided again on the version they replace."""
    if call.access_key_id is not None or call.access is Access.READ:
        return
    if call.access is Access.OWNER or call.address.bucket is None:
        raise denied()
    permit = call.permit()
    assert permit is not None
    if not permit(*await call.storage.bucket_acl_and_object(call.bucket, call.address.key)):
        raise denied()
    if "x-oss-copy-source" in call.headers:  # a copy also reads its source, judged again when it is opened
        source_bucket, source_key = copy_source(call)
        if not call.permit(Access.READ)(*await call.storage.bucket_acl_and_object(source_bucket, source_key)):
            raise denied()


def _storage_error(error: storage_errors.StorageError) -> OssError:
    code, message, field = STORAGE_ERRORS[type(error)]
    return OssError(code, message, **{field: str(error)})


async def _expect(request: web.Request) -> None:
    """`Expect: 100-continue` gets its interim response; any other expectation is ignored, as RFC 9110 allows.
    (aiohttp's default answers those 417 echoing the value, and a value that is not UTF-8 made that a 500.)"""
    if request.version == HttpVersion11 and request.headers.get("Expect", "").lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the interim response is not the start of the answer


def create_app(storage: Storage, config: ServerConfig) -> web.Application:
    in_flight = InFlight()
    offload = Offload()
    async_storage = AsyncStorage(storage, offload)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        in_flight.enter()
        try:
            response = await _respond(request)
            if in_flight.draining or not request.content.at_eof():
                # A declared body the handler did not read (an error, or a GET sent with a Content-Length)
                # must be neither parsed as the next request nor read just to be thrown away.
                response.force_close()
            if not response.prepared:
                await response.prepare(request)
                await response.write_eof()
            return response
        except ConnectionError:
            # The client went away mid-body: nobody to answer, nothing wrong with the server. aiohttp
            # meets the closed connection again and treats it as the premature disconnection it is.
            log.debug("client left during %s %s", request.method, request.raw_path)
            return response
        finally:
            in_flight.leave()

    async def _respond(request: web.Request) -> web.StreamResponse:
        request_id = _request_id()
        # aiohttp decodes header bytes that are not UTF-8 to lone surrogates, which cannot be encoded back
        host_id = request.host.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        try:
            response = await _serve(request, request_id)
        except NotModified as not_modified:
            response = empty_response(304, not_modified.headers)
        except OssError as error:
            response = error_response(error, request_id, host_id, request.method)
        except storage_errors.StorageError as error:
            response = error_response(_storage_error(error), request_id, host_id, request.method)
        except ConnectionError:
            log.debug("client left during %s %s (request %s)", request.method, request.raw_path, request_id)
            error = OssError("InvalidArgument", "The connection closed before the request body was complete.")
            response = error_response(error, request_id, host_id, request.method)
        except web.HTTPRequestEntityTooLarge:
            error = OssError("EntityTooLarge", "The request body is too large.")
            response = error_response(error, request_id, host_id, request.method)
        except Exception as failure:
            if storage_errors.is_disk_full(failure):
                log.warning("disk full: %s %s (request %s) changed nothing: %s", request.method,
                            request.raw_path, request_id, failure)
                error = OssError("InsufficientStorage", _DISK_FULL_MESSAGE)
                await _reclaim_now()
            elif isinstance(failure, MetadataUnavailable):
                _outage_log.warning("metadata database unavailable: %s %s (request %s): %s", request.method,
                                    request.raw_path, request_id, failure)
                error = OssError("ServiceUnavailable", "The metadata database is unavailable at the moment. "
                                                       "Please try again.")
            elif storage_errors.is_out_of_descriptors(failure):
                log.warning("out of file descriptors: %s %s (request %s): %s", request.method, request.raw_path,
                            request_id, failure)
                error = OssError("ServiceUnavailable", "The server has too many connections or open files at "
                                                       "the moment. Please try again.")
            else:
                log.exception("internal error in %s %s (request %s)", request.method, request.raw_path, request_id)
                error = OssError("InternalError", "We encountered an internal error. Please try again.")
            response = error_response(error, request_id, host_id, request.method)
        response.headers["x-oss-request-id"] = request_id
        response.headers["Server"] = "ossbox"
        return response

    async def _serve(request: web.Request, request_id: str) -> web.StreamResponse:
        address = parse_target(request.host, request.raw_path, config.base_domain)
        access_key_id = authenticate(
            _signed_parts(request, address), config.credentials.get, time.time(), config.region
        )
        operation = OPERATIONS.get(route(request.method, address, request.headers))
        if operation is None:
            raise OssError("NotImplemented", "ossbox does not implement this operation.")
        call = Call(request, async_storage, offload, config, operation.name, operation.access, address,
                    access_key_id, request_id)
        await _check_anonymous_access(call)
        return await operation.handler(call)

    async def _reclaim_now() -> None:
        """Space before slow readers: on a full disk, released blobs go without waiting for the reclaim delay
        (a reader still streaming a replaced multipart object is cut short), so the client's retry can fit."""
        try:
            reclaimed = await offload(storage.reap_released, 0)
        except Exception as failure:  # noqa: BLE001 - a full disk may refuse even this; the 507 stands
            log.warning("could not reclaim released blobs on a full disk: %s", failure)
            return
        if reclaimed:
            log.warning("disk full: reclaimed %d released blob(s) before their delay", reclaimed)

    async def reap_released_blobs(_app: web.Application):
        async def reap() -> None:
            while True:
                await asyncio.sleep(_REAP_INTERVAL)
                try:
                    await offload(storage.reap_released)
                except MetadataUnavailable as error:
                    log.warning("unlinking released blobs waits for the metadata database: %s", error)
                except Exception:
                    log.exception("could not unlink released blobs (will try again)")

        task = asyncio.create_task(reap())
        yield
        task.cancel()

    async def sweep_orphans_in_turn(_app: web.Application):
        """With nodes sharing the data, one at a time (the holder of the lease) sweeps orphans."""
        async def sweep() -> None:
            holder = f"{socket.gethostname()}:{os.getpid()}"
            await asyncio.sleep(random.uniform(0, min(config.sweep_interval, 60)))
            while True:
                try:
                    if await offload(storage.metadata.claim_lease, "orphan-sweep", holder, config.sweep_interval):
                        removed = await offload(storage.sweep_orphans, time.time() - ORPHAN_AGE)
                        log.info("orphan sweep: removed %d unreferenced file(s) older than %g s", removed, ORPHAN_AGE)
                except MetadataUnavailable as error:
                    log.warning("the orphan sweep waits for the metadata database: %s", error)
                except Exception:
                    log.exception("the orphan sweep failed (will try again)")
                await asyncio.sleep(config.sweep_interval)

        task = asyncio.create_task(sweep()) if config.shared else None
        yield
        if task is not None:
            task.cancel()

    async def close_storage(_app: web.Application) -> None:
        offload.shutdown()
        storage.close()

    # auto_decompress off: Content-Encoding on an upload is metadata to store, never a reason to alter bytes.
    # read_bufsize bounds what aiohttp buffers per upload (it pauses reading at twice this): 256 KiB keeps a
    # PUT's transient memory near 3.5 MiB (1 MiB cost ~11 MiB) at the same throughput, measured with curl.
    app = web.Application(client_max_size=8 << 20, handler_args={"read_bufsize": 256 << 10, "auto_decompress": False})
    app[IN_FLIGHT] = in_flight
    # [\s\S], not ".": a key may contain a newline (%0A), which "." would leave to aiohttp's plain-text 404
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch, expect_handler=_expect)
    app.cleanup_ctx.append(reap_released_blobs)
    app.cleanup_ctx.append(sweep_orphans_in_turn)
    app.on_cleanup.append(close_storage)
    return app
