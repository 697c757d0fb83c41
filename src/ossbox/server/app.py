"""The aiohttp application: one catch-all route whose dispatcher parses, authenticates, routes,
authorizes and calls `handle_<operation>`, and the only place errors become OSS XML responses.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from aiohttp import HttpVersion11, web

from ..protocol.authentication import authenticate
from ..protocol.errors import OssError
from ..protocol.signing import SignedParts
from ..storage import errors as storage_errors
from ..storage.engine import Storage
from ..storage.records import ObjectRecord
from .addressing import Address, parse_target
from .context import Call, ServerConfig
from .handlers import acl, append, buckets, listing, multipart, objects, symlink, tags
from .responses import NotModified, empty_response, error_response
from .router import READ_OPERATIONS, WRITE_OPERATIONS, route

__all__ = ["create_app", "InFlight", "IN_FLIGHT"]

log = logging.getLogger("ossbox.server")

HANDLERS = {
    "ListBuckets": buckets.handle_list_buckets,
    "PutBucket": buckets.handle_put_bucket,
    "DeleteBucket": buckets.handle_delete_bucket,
    "GetBucketInfo": buckets.handle_get_bucket_info,
    "GetBucketLocation": buckets.handle_get_bucket_location,
    "GetBucketStat": buckets.handle_get_bucket_stat,
    "ListLiveChannel": buckets.handle_list_live_channel,
    "ListObjects": listing.handle_list_objects,
    "ListObjectsV2": listing.handle_list_objects_v2,
    "PutObject": objects.handle_put_object,
    "CopyObject": objects.handle_copy_object,
    "GetObject": objects.handle_get_object,
    "HeadObject": objects.handle_head_object,
    "GetObjectMeta": objects.handle_get_object_meta,
    "DeleteObject": objects.handle_delete_object,
    "DeleteMultipleObjects": objects.handle_delete_multiple_objects,
    "InitiateMultipartUpload": multipart.handle_initiate_multipart_upload,
    "UploadPart": multipart.handle_upload_part,
    "UploadPartCopy": multipart.handle_upload_part_copy,
    "CompleteMultipartUpload": multipart.handle_complete_multipart_upload,
    "AbortMultipartUpload": multipart.handle_abort_multipart_upload,
    "ListParts": multipart.handle_list_parts,
    "ListMultipartUploads": multipart.handle_list_multipart_uploads,
    "AppendObject": append.handle_append_object,
    "PutSymlink": symlink.handle_put_symlink,
    "GetSymlink": symlink.handle_get_symlink,
    "PutBucketAcl": acl.handle_put_bucket_acl,
    "GetBucketAcl": acl.handle_get_bucket_acl,
    "PutObjectAcl": acl.handle_put_object_acl,
    "GetObjectAcl": acl.handle_get_object_acl,
    "PutObjectTagging": tags.handle_put_object_tagging,
    "GetObjectTagging": tags.handle_get_object_tagging,
    "DeleteObjectTagging": tags.handle_delete_object_tagging,
    "PutBucketTags": tags.handle_put_bucket_tags,
    "GetBucketTags": tags.handle_get_bucket_tags,
    "DeleteBucketTags": tags.handle_delete_bucket_tags,
}

# Reading through a symlink reads its target: both ACLs must allow it.
_READS_THROUGH_SYMLINK = frozenset({"GetObject", "HeadObject"})

STORAGE_ERRORS = {
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
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), value)
    return SignedParts(request.method, address.bucket, address.key, address.params, headers)


def _anonymous_acl(call: Call, bucket: str, key: str | None) -> tuple[str, ObjectRecord | None]:
    """The ACL governing an anonymous request (the object's own unless it is `default`, else the
    bucket's), and the object's record if it exists."""
    if not key:
        bucket_record = call.storage.metadata.get_bucket(bucket)
        return (bucket_record.acl if bucket_record else "private"), None
    found = call.storage.metadata.get_bucket_acl_and_object(bucket, key)
    if found is None:
        return "private", None
    bucket_acl, record = found
    return (record.acl if record is not None and record.acl != "default" else bucket_acl), record


def _anonymous_allowed(operation: str, acl: str) -> bool:
    if operation in READ_OPERATIONS:
        return acl in ("public-read", "public-read-write")
    return operation in WRITE_OPERATIONS and acl == "public-read-write"


def _authorize(call: Call) -> None:
    """Signed requests may do anything; anonymous ones what the bucket and object ACLs allow."""
    if call.access_key_id is not None or call.operation == "NotImplemented":
        return
    address = call.address
    allowed = False
    if address.bucket is not None:
        acl, record = _anonymous_acl(call, address.bucket, address.key)
        allowed = _anonymous_allowed(call.operation, acl)
        call.record = record
        if allowed and record is not None and record.symlink_target and call.operation in _READS_THROUGH_SYMLINK:
            allowed = _anonymous_allowed(call.operation, _anonymous_acl(call, address.bucket, record.symlink_target)[0])
    if allowed and "x-oss-copy-source" in call.headers:  # a copy also reads its source
        source_bucket, source_key = objects.copy_source(call)
        allowed = _anonymous_allowed("GetObject", _anonymous_acl(call, source_bucket, source_key)[0])
    if not allowed:
        raise OssError("AccessDenied", "You have no right to access this object because of bucket acl.")


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
        operation = route(request.method, address, request.headers)
        call = Call(request, storage, config, operation, address, access_key_id, request_id)
        _authorize(call)
        handler = HANDLERS.get(operation)
        if handler is None:
            raise OssError("NotImplemented", "ossbox does not implement this operation.")
        return await handler(call)

    async def close_storage(_app: web.Application) -> None:
        storage.close()

    # auto_decompress off: Content-Encoding on an upload is metadata to store, never a reason to alter bytes.
    # read_bufsize bounds what aiohttp buffers per upload (it pauses reading at twice this): 256 KiB keeps a
    # PUT's transient memory near 3.5 MiB (1 MiB cost ~11 MiB) at the same throughput, measured with curl.
    app = web.Application(client_max_size=8 << 20, handler_args={"read_bufsize": 256 << 10, "auto_decompress": False})
    app[IN_FLIGHT] = in_flight
    # [\s\S], not ".": a key may contain a newline (%0A), which "." would leave to aiohttp's plain-text 404
    app.router.add_route("*", r"/{tail:[\s\S]*}", dispatch, expect_handler=_expect)
    app.on_cleanup.append(close_storage)
    return app
