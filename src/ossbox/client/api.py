"""`Service` and `Bucket`: oss2's calls, each building one request, signing it and reading its result.

Strategy: every call goes through `_Base._do`: the URL from `_UrlMaker` (path style for an IP or
`localhost` endpoint and when asked, the bucket in the host name otherwise, the host alone for a CNAME,
exactly as oss2 chooses), headers and query as given, the body wrapped in a `streams.RequestBody`, then
`auth._sign_request` and `session.do_request`. A non-2xx answer is raised as `exceptions.make_exception`
builds it. Uploads compare the CRC-64 of what they sent with the server's, and downloads to a file the
CRC-64 of what they received (`InconsistentError` on a mismatch); a file download is written to a temporary
file in the destination's directory, fsynced and renamed, so the destination is never left partial.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import re
import socket
from urllib.parse import quote, urlsplit

import urllib3

from ..protocol.crc64 import crc64_combine
from ..protocol.etags import quote_etag
from ..protocol.ranges import range_header
from ..protocol.names import is_valid_bucket_name
from . import defaults, exceptions, http
from .exceptions import ClientError, InconsistentError
from .files import LocalFiles, random_temporary_name
from .models import (
    BatchDeleteObjectsResult,
    BucketCreateConfig,
    GetBucketInfoResult,
    GetObjectMetaResult,
    GetObjectResult,
    HeadObjectResult,
    InitMultipartUploadResult,
    ListBucketsResult,
    ListObjectsResult,
    ListObjectsV2Result,
    ListPartsResult,
    PutObjectResult,
    RequestResult,
)
from .streams import BLOCK_SIZE, RequestBody

__all__ = ["Service", "Bucket"]

_VALID_ENDPOINT = re.compile(r"^([a-zA-Z]+://)?[\w.-]+(:\d+)?$")

# Content types oss2 knows beyond the mimetypes module's.
_EXTRA_CONTENT_TYPES = {
    ".js": "application/javascript",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xltx": "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    ".potx": "application/vnd.openxmlformats-officedocument.presentationml.template",
    ".ppsx": "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".sldx": "application/vnd.openxmlformats-officedocument.presentationml.slide",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".dotx": "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    ".xlam": "application/vnd.ms-excel.addin.macroEnabled.12",
    ".xlsb": "application/vnd.ms-excel.sheet.binary.macroEnabled.12",
    ".apk": "application/vnd.android.package-archive",
}


# ---- addressing -----------------------------------------------------------------------------------------


def _normalize_endpoint(endpoint: str) -> str:
    url = endpoint if endpoint.startswith(("http://", "https://")) else "http://" + endpoint
    p = urlsplit(url)
    return f"{p.scheme}://{p.hostname}" + (f":{p.port}" if p.port is not None else "")


def _is_ip_or_localhost(netloc: str) -> bool:
    if netloc.startswith("[") and "]" in netloc:
        host, family = netloc[1:netloc.index("]")], socket.AF_INET6
    else:
        host, family = netloc.split(":")[0], socket.AF_INET
    if host == "localhost":
        return True
    try:
        if family == socket.AF_INET6:
            socket.inet_pton(family, host)
        else:
            socket.inet_aton(host)  # as oss2: also accepts short forms such as 127.1
    except OSError:
        return False
    return True


class _UrlMaker:
    """The URL of a bucket and key under an endpoint, addressed as oss2 addresses it."""

    def __init__(self, endpoint: str, is_cname: bool, is_path_style: bool):
        p = urlsplit(endpoint)
        self.scheme = p.scheme
        self.netloc = p.netloc
        self.is_cname = is_cname
        self.is_path_style = is_path_style

    def _style(self, bucket_name: str) -> str:
        if _is_ip_or_localhost(self.netloc):
            return "path"
        if self.is_cname:
            return "cname"
        if self.is_path_style or not is_valid_bucket_name(bucket_name):
            return "path"
        return "virtual"

    def __call__(self, bucket_name: str, key: str, slash_safe: bool = False) -> str:
        key = quote(key, safe="/" if slash_safe else "")
        style = self._style(bucket_name)
        if style == "virtual":
            return f"{self.scheme}://{bucket_name}.{self.netloc}/{key}"
        if style == "path" and bucket_name:
            return f"{self.scheme}://{self.netloc}/{bucket_name}/{key}"
        return f"{self.scheme}://{self.netloc}/{key}"


# ---- small pieces ---------------------------------------------------------------------------------------


def _timeout(value) -> urllib3.Timeout:
    """Connect and read timeouts: oss2 (via requests) applies one number to both; a (connect, read) pair or
    a urllib3.Timeout sets them apart; None takes defaults.connect_timeout and defaults.read_timeout."""
    if value is None:
        return urllib3.Timeout(connect=defaults.connect_timeout, read=defaults.read_timeout)
    if isinstance(value, urllib3.Timeout):
        return value
    if isinstance(value, tuple):
        return urllib3.Timeout(connect=value[0], read=value[1])
    return urllib3.Timeout(connect=value, read=value)


def _with_content_type(headers, name: str) -> http.CaseInsensitiveDict:
    """`headers` plus a Content-Type guessed from `name`'s extension, unless one is set."""
    headers = http.CaseInsensitiveDict(headers)
    if "Content-Type" not in headers:
        ext = os.path.splitext(name)[1].lower()
        content_type = _EXTRA_CONTENT_TYPES.get(ext) or mimetypes.guess_type(name)[0]
        if content_type:
            headers["Content-Type"] = content_type
    return headers


def _xml_body(root_tag: str, children) -> bytes:
    """A request body serialised as oss2 serialises it (ElementTree, utf-8 declaration), so its Content-MD5,
    and with it the signature, is oss2's. `children` are (tag, text or nested children) pairs; None is left
    out."""
    import xml.etree.ElementTree as ElementTree  # here: most calls send no XML

    def fill(parent, items):
        for tag, value in items:
            if isinstance(value, list):
                fill(ElementTree.SubElement(parent, tag), value)
            elif value is not None:
                ElementTree.SubElement(parent, tag).text = str(value)

    root = ElementTree.Element(root_tag)
    fill(root, children)
    return ElementTree.tostring(root, encoding="utf-8")


def _check_crc(operation: str, client_crc, server_crc, request_id: str) -> None:
    if client_crc is not None and server_crc is not None and client_crc != server_crc:
        raise InconsistentError(f"req_id: {request_id}, operation: {operation}, CRC checksum of client: "
                                f"{client_crc} is mismatch with oss: {server_crc}", request_id)


def _crc_of_parts(parts) -> int | None:
    """The object's CRC-64 combined from its parts', or None unless every part has its CRC and size."""
    crc = 0
    for part in parts:
        if part.part_crc is None or part.size is None:
            return None
        crc = crc64_combine(crc, part.part_crc, part.size)
    return crc


def _copy_source(bucket_name: str, key: str, params) -> str:
    source = f"/{bucket_name}/{quote(key, safe='')}"
    if params and Bucket.VERSIONID in params:
        source += "?versionId=" + params[Bucket.VERSIONID]
    return source


def _asks_for_encoding(headers) -> bool:
    """Whether the caller accepts a content coding, so the body may not be the object's stored bytes."""
    accepted = http.CaseInsensitiveDict(headers).get("Accept-Encoding")
    return accepted is not None and accepted.strip().lower() != "identity"


# ---- clients ------------------------------------------------------------------------------------------


class _Base:
    def __init__(self, auth, endpoint, is_cname, session, connect_timeout, app_name="", enable_crc=True,
                 proxies=None, region=None, is_path_style=False):
        self.auth = auth
        self.endpoint = _normalize_endpoint(endpoint.strip())
        if not _VALID_ENDPOINT.match(self.endpoint):
            raise ClientError(f"The endpoint you has specified is not valid, endpoint: {endpoint}")
        self.session = session or http.Session()
        self.timeout = _timeout(connect_timeout)
        self.app_name = app_name
        self.enable_crc = enable_crc
        self.proxies = proxies
        self.region = region
        self.product = "oss"
        self._make_url = _UrlMaker(self.endpoint, is_cname, is_path_style)

    def _request(self, method, url, data=None, params=None, headers=None) -> http.Request:
        headers = http.CaseInsensitiveDict(headers)
        if data is not None:
            data = data if isinstance(data, RequestBody) else RequestBody(data)
            if data.size is not None:
                headers["Content-Length"] = str(data.size)
        return http.Request(method, url, data=data, params=params, headers=headers, app_name=self.app_name,
                            proxies=self.proxies, region=self.region, product=self.product)

    def _do(self, method, bucket_name, key, data=None, params=None, headers=None, stream=False) -> http.Response:
        req = self._request(method, self._make_url(bucket_name, key), data, params, headers)
        self.auth._sign_request(req, bucket_name, key)
        resp = self.session.do_request(req, self.timeout, stream)
        if resp.status // 100 != 2:
            error = exceptions.make_exception(resp)
            resp.close()
            raise error
        return resp


class Service(_Base):
    """Calls on the account: list the buckets."""

    def __init__(self, auth, endpoint, session=None, connect_timeout=None, app_name="", proxies=None, region=None,
                 is_path_style=False):
        super().__init__(auth, endpoint, False, session, connect_timeout, app_name=app_name, proxies=proxies,
                         region=region, is_path_style=is_path_style)

    def list_buckets(self, prefix="", marker="", max_keys=100, params=None, headers=None) -> ListBucketsResult:
        query = {"prefix": prefix, "marker": marker, "max-keys": str(max_keys), **(params or {})}
        return ListBucketsResult(self._do("GET", "", "", params=query, headers=headers))


class Bucket(_Base):
    """Calls on one bucket and its objects."""

    BUCKET_INFO = "bucketInfo"
    OBJECTMETA = "objectMeta"
    PROCESS = "x-oss-process"
    VERSIONID = "versionId"

    def __init__(self, auth, endpoint, bucket_name, is_cname=False, session=None, connect_timeout=None, app_name="",
                 enable_crc=True, proxies=None, region=None, is_path_style=False):
        super().__init__(auth, endpoint, is_cname, session, connect_timeout, app_name=app_name,
                         enable_crc=enable_crc, proxies=proxies, region=region, is_path_style=is_path_style)
        self.bucket_name = bucket_name.strip()
        if not is_valid_bucket_name(self.bucket_name):
            raise ClientError("The bucket_name is invalid, please check it.")

    def _do_object(self, method, key, **kwargs) -> http.Response:
        if not key:
            raise ClientError("key should not be null or empty.")
        return self._do(method, self.bucket_name, key, **kwargs)

    def _do_bucket(self, method, **kwargs) -> http.Response:
        return self._do(method, self.bucket_name, "", **kwargs)

    # ---- presigned URLs ----

    def sign_url(self, method, key, expires, headers=None, params=None, slash_safe=False, additional_headers=None):
        """A URL that performs `method` on `key` without credentials for `expires` seconds. `headers` are
        the ones the user of the URL will send (Content-Type, x-oss-*), as they are signed too."""
        if key is None or not key.strip():
            raise ClientError("The key is invalid, please check it.")
        if self.auth.auth_version() == "v1" and key.startswith("?"):
            raise ClientError("The key cannot start with `?`, please check it.")
        req = self._request(method, self._make_url(self.bucket_name, key, slash_safe), params=params,
                            headers=headers)
        if additional_headers is None:
            return self.auth._sign_url(req, self.bucket_name, key, expires)
        return self.auth._sign_url(req, self.bucket_name, key, expires, in_additional_headers=additional_headers)

    # ---- objects ----

    def put_object(self, key, data, headers=None, progress_callback=None) -> PutObjectResult:
        """Upload `data`: bytes, str (sent as UTF-8), a file object (from its current position; chunked when
        its size cannot be told) or an iterable of bytes (chunked)."""
        body = RequestBody(data, progress_callback, self.enable_crc)
        result = PutObjectResult(self._do_object("PUT", key, data=body, headers=_with_content_type(headers, key)))
        _check_crc("put object", body.crc, result.crc, result.request_id)
        return result

    def put_object_from_file(self, key, filename, headers=None, progress_callback=None) -> PutObjectResult:
        with open(filename, "rb") as f:
            return self.put_object(key, f, headers=_with_content_type(headers, filename),
                                   progress_callback=progress_callback)

    def get_object(self, key, byte_range=None, headers=None, progress_callback=None, process=None,
                   params=None) -> GetObjectResult:
        """The object's body as a stream. `byte_range=(first, last)` is inclusive (either end None for an
        open range). Raises NotModified (304) or PreconditionFailed (412) when conditions say so."""
        headers = http.CaseInsensitiveDict(headers)
        range_string = range_header(*byte_range) if byte_range is not None else ""
        if range_string:
            headers["Range"] = range_string
        params = dict(params or {})
        if process:
            params[Bucket.PROCESS] = process
        resp = self._do_object("GET", key, headers=headers, params=params, stream=True)
        return GetObjectResult(resp, progress_callback, self.enable_crc and not range_string)

    def get_object_to_file(self, key, filename, byte_range=None, headers=None, progress_callback=None, process=None,
                           params=None) -> GetObjectResult:
        """Download into `filename` through a temporary file beside it, fsynced and renamed only once complete
        (and its CRC-64 checked, for a whole object), the rename made durable: the destination is never left
        partly written, even by a crash."""
        result = self.get_object(key, byte_range=byte_range, headers=headers, progress_callback=progress_callback,
                                 process=process, params=params)
        files, temporary = LocalFiles(), random_temporary_name(filename)
        with result:
            fd = files.open(temporary, truncate=True)
            try:
                buffer, offset = memoryview(bytearray(BLOCK_SIZE)), 0
                while n := result.readinto(buffer):
                    files.write_at(fd, buffer[:n], offset, filename)
                    offset += n
                if result.status == 200 and not _asks_for_encoding(headers):
                    _check_crc("get", result.client_crc, result.server_crc, result.request_id)
            except BaseException:
                files.close(fd)
                files.discard(temporary)
                raise
            try:
                files.install(fd, temporary, filename)
            except BaseException:
                files.discard(temporary)
                raise
        return result

    def head_object(self, key, headers=None, params=None) -> HeadObjectResult:
        return HeadObjectResult(self._do_object("HEAD", key, headers=headers, params=params))

    def get_object_meta(self, key, params=None, headers=None) -> GetObjectMetaResult:
        """ETag, size and Last-Modified only (HEAD ?objectMeta)."""
        params = dict(params or {})
        params.setdefault(Bucket.OBJECTMETA, "")
        return GetObjectMetaResult(self._do_object("HEAD", key, params=params, headers=headers))

    def object_exists(self, key, headers=None) -> bool:
        """Whether `key` exists; a missing bucket raises NoSuchBucket (the HEAD error's x-oss-err tells)."""
        try:
            self.get_object_meta(key, headers=headers)
        except exceptions.NoSuchBucket:
            raise
        except exceptions.NotFound:
            return False
        return True

    def copy_object(self, source_bucket_name, source_key, target_key, headers=None, params=None) -> PutObjectResult:
        headers = http.CaseInsensitiveDict(headers)
        headers["x-oss-copy-source"] = _copy_source(source_bucket_name, source_key, params)
        return PutObjectResult(self._do_object("PUT", target_key, headers=headers))

    def delete_object(self, key, params=None, headers=None) -> RequestResult:
        return RequestResult(self._do_object("DELETE", key, params=params, headers=headers))

    def batch_delete_objects(self, key_list, headers=None) -> BatchDeleteObjectsResult:
        if not key_list:
            raise ClientError("key_list should not be empty")
        data = _xml_body("Delete", [("Quiet", "false"), *(("Object", [("Key", key)]) for key in key_list)])
        headers = http.CaseInsensitiveDict(headers)
        headers["Content-MD5"] = base64.b64encode(hashlib.md5(data).digest()).decode()
        resp = self._do_bucket("POST", data=data, params={"delete": "", "encoding-type": "url"}, headers=headers)
        return BatchDeleteObjectsResult(resp)

    # ---- listing ----

    def list_objects(self, prefix="", delimiter="", marker="", max_keys=100, headers=None) -> ListObjectsResult:
        params = {"prefix": prefix, "delimiter": delimiter, "marker": marker, "max-keys": str(max_keys),
                  "encoding-type": "url"}
        return ListObjectsResult(self._do_bucket("GET", params=params, headers=headers))

    def list_objects_v2(self, prefix="", delimiter="", continuation_token="", start_after="", fetch_owner=False,
                        encoding_type="url", max_keys=100, headers=None) -> ListObjectsV2Result:
        params = {"list-type": "2", "prefix": prefix, "delimiter": delimiter,
                  "continuation-token": continuation_token, "start-after": start_after,
                  "fetch-owner": str(fetch_owner).lower(), "max-keys": str(max_keys), "encoding-type": encoding_type}
        return ListObjectsV2Result(self._do_bucket("GET", params=params, headers=headers))

    # ---- multipart ----

    def init_multipart_upload(self, key, headers=None, params=None) -> InitMultipartUploadResult:
        params = {**(params or {}), "uploads": ""}
        resp = self._do_object("POST", key, params=params, headers=_with_content_type(headers, key))
        return InitMultipartUploadResult(resp)

    def upload_part(self, key, upload_id, part_number, data, progress_callback=None, headers=None) -> PutObjectResult:
        body = RequestBody(data, progress_callback, self.enable_crc)
        params = {"uploadId": upload_id, "partNumber": str(part_number)}
        result = PutObjectResult(self._do_object("PUT", key, data=body, params=params, headers=headers))
        _check_crc("upload part", body.crc, result.crc, result.request_id)
        return result

    def complete_multipart_upload(self, key, upload_id, parts, headers=None) -> PutObjectResult:
        """Assemble the parts (a list of PartInfo, sent in part-number order), or with `parts=None` and the
        header `x-oss-complete-all: yes`, every part uploaded. When every part carries its size and CRC-64
        the object's CRC-64 is checked."""
        data = None
        if parts is not None:
            parts = sorted(parts, key=lambda p: p.part_number)
            data = _xml_body("CompleteMultipartUpload", [
                ("Part", [("PartNumber", p.part_number), ("ETag", quote_etag(p.etag))]) for p in parts])
        resp = self._do_object("POST", key, data=data, params={"uploadId": upload_id}, headers=headers)
        result = PutObjectResult(resp)
        if self.enable_crc and parts is not None:
            _check_crc("multipart upload", _crc_of_parts(parts), result.crc, result.request_id)
        return result

    def abort_multipart_upload(self, key, upload_id, headers=None) -> RequestResult:
        return RequestResult(self._do_object("DELETE", key, params={"uploadId": upload_id}, headers=headers))

    def list_parts(self, key, upload_id, marker="", max_parts=1000, headers=None) -> ListPartsResult:
        params = {"uploadId": upload_id, "part-number-marker": marker, "max-parts": str(max_parts)}
        return ListPartsResult(self._do_object("GET", key, params=params, headers=headers))

    # ---- the bucket ----

    def create_bucket(self, permission=None, input=None, headers=None) -> RequestResult:
        """Create the bucket, with a canned ACL `permission` and a BucketCreateConfig (or raw XML) `input`."""
        headers = http.CaseInsensitiveDict(headers)
        if permission:
            headers["x-oss-acl"] = permission
        if isinstance(input, BucketCreateConfig):
            input = _xml_body("CreateBucketConfiguration", [
                ("StorageClass", input.storage_class), ("DataRedundancyType", input.data_redundancy_type)])
        return RequestResult(self._do_bucket("PUT", data=input, headers=headers))

    def delete_bucket(self) -> RequestResult:
        return RequestResult(self._do_bucket("DELETE"))

    def get_bucket_info(self) -> GetBucketInfoResult:
        return GetBucketInfoResult(self._do_bucket("GET", params={Bucket.BUCKET_INFO: ""}))
