"""Result objects with oss2's class and attribute names, each built from the response it describes.

Strategy: a result is constructed from a `http.Response`: header-only results read their attributes from
the headers (ETag unquoted, Last-Modified as epoch seconds, CRC-64 as int), XML results read and parse the
body at once (url-decoding keys and markers when the answer says EncodingType=url), and `GetObjectResult`
is the body stream itself, counting what is read through a `streams.Tally` (CRC-64 and progress).
"""

from __future__ import annotations

from urllib.parse import unquote

from ..protocol.dates import parse_http_date, parse_iso8601
from ..protocol.etags import unquote_etag
from .streams import BLOCK_SIZE, Tally

__all__ = [
    "PartInfo", "RequestResult", "HeadObjectResult", "GetObjectMetaResult", "GetObjectResult", "PutObjectResult",
    "BatchDeleteObjectsResult", "InitMultipartUploadResult", "ListObjectsResult", "ListObjectsV2Result",
    "SimplifiedObjectInfo", "Owner", "SimplifiedBucketInfo", "ListBucketsResult", "ListPartsResult",
    "BucketCreateConfig", "AccessControlList", "ServerSideEncryptionRule", "BucketInfo", "GetBucketInfoResult",
    "BUCKET_ACL_PRIVATE", "BUCKET_ACL_PUBLIC_READ", "BUCKET_ACL_PUBLIC_READ_WRITE",
    "OBJECT_ACL_DEFAULT", "OBJECT_ACL_PRIVATE", "OBJECT_ACL_PUBLIC_READ", "OBJECT_ACL_PUBLIC_READ_WRITE",
    "BUCKET_STORAGE_CLASS_STANDARD", "BUCKET_STORAGE_CLASS_IA", "BUCKET_STORAGE_CLASS_ARCHIVE",
    "BUCKET_STORAGE_CLASS_COLD_ARCHIVE", "BUCKET_STORAGE_CLASS_DEEP_COLD_ARCHIVE",
]

BUCKET_ACL_PRIVATE = "private"
BUCKET_ACL_PUBLIC_READ = "public-read"
BUCKET_ACL_PUBLIC_READ_WRITE = "public-read-write"

OBJECT_ACL_DEFAULT = "default"
OBJECT_ACL_PRIVATE = "private"
OBJECT_ACL_PUBLIC_READ = "public-read"
OBJECT_ACL_PUBLIC_READ_WRITE = "public-read-write"

BUCKET_STORAGE_CLASS_STANDARD = "Standard"
BUCKET_STORAGE_CLASS_IA = "IA"
BUCKET_STORAGE_CLASS_ARCHIVE = "Archive"
BUCKET_STORAGE_CLASS_COLD_ARCHIVE = "ColdArchive"
BUCKET_STORAGE_CLASS_DEEP_COLD_ARCHIVE = "DeepColdArchive"


# ---- reading headers and XML ----------------------------------------------------------------------


def _hget(headers, name, converter=None):
    value = headers.get(name)
    if value is None or converter is None:
        return value
    return converter(value)


def _unquoted_etag(headers):
    return _hget(headers, "etag", unquote_etag)


def _xml(body: bytes):
    """The parsed document (an ElementTree.Element); the XML parser is imported by the first result that has one."""
    import xml.etree.ElementTree as ElementTree

    return ElementTree.fromstring(body)


def _body_xml(resp):
    return _xml(resp.read())


def _text(node, path, default=""):
    child = node.find(path)
    if child is None:
        return default
    return child.text or ""


def _int_or_none(text):
    return int(text) if text else None


def _flag(node, path) -> bool:
    return _text(node, path) == "true"


def _decoder(root):
    """How names in this listing are decoded: url-decoded when it says EncodingType=url."""
    return unquote if _text(root, "EncodingType") == "url" else (lambda s: s)


# ---- objects ------------------------------------------------------------------------------------------


class PartInfo:
    """A multipart part: the input of complete_multipart_upload and the items of list_parts.

    `size` and `part_crc` let complete_multipart_upload check the object's CRC-64 when every part has both."""

    def __init__(self, part_number, etag, size=None, last_modified=None, part_crc=None):
        self.part_number = part_number
        self.etag = etag
        self.size = size
        self.last_modified = last_modified
        self.part_crc = part_crc


class RequestResult:
    def __init__(self, resp):
        self.resp = resp
        self.status = resp.status
        self.headers = resp.headers
        self.request_id = resp.request_id
        self.versionid = _hget(self.headers, "x-oss-version-id")
        self.delete_marker = _hget(self.headers, "x-oss-delete-marker", lambda v: v == "true")


class HeadObjectResult(RequestResult):
    def __init__(self, resp):
        super().__init__(resp)
        self.object_type = _hget(self.headers, "x-oss-object-type")
        self.last_modified = _hget(self.headers, "last-modified", parse_http_date)
        self.content_type = _hget(self.headers, "content-type")
        self.content_length = _hget(self.headers, "content-length", int)
        self.etag = _unquoted_etag(self.headers)
        self.server_crc = _hget(self.headers, "x-oss-hash-crc64ecma", int)


class GetObjectMetaResult(RequestResult):
    def __init__(self, resp):
        super().__init__(resp)
        self.last_modified = _hget(self.headers, "last-modified", parse_http_date)
        self.content_length = _hget(self.headers, "content-length", int)
        self.etag = _unquoted_etag(self.headers)


class GetObjectResult(HeadObjectResult):
    """The object's body as a stream: read(), readinto(), iteration; close() (or `with`) when done early.

    `client_crc` is the CRC-64 of the bytes read so far when the Bucket computes one (enable_crc and no
    byte_range); compare it with `server_crc` once everything has been read."""

    def __init__(self, resp, progress_callback=None, crc_enabled=False):
        super().__init__(resp)
        self.content_range = _hget(self.headers, "content-range")
        self._tally = Tally(self.content_length, progress_callback, crc_enabled)

    @property
    def client_crc(self):
        return self._tally.crc

    def read(self, amt=None) -> bytes:
        data = self.resp.read(amt)
        self._tally.add(data)
        return data

    def read1(self, amt: int) -> bytes:
        """Up to `amt` bytes, as soon as some have arrived (one read from the connection); b"" at the end."""
        data = self.resp.read1(amt)
        self._tally.add(data)
        return data

    def readinto(self, buffer) -> int:
        """Read into a writable buffer (bytearray, memoryview); returns the byte count, 0 at the end."""
        n = self.resp.readinto(buffer)
        self._tally.add(memoryview(buffer)[:n])
        return n

    def __iter__(self):
        while block := self.read(BLOCK_SIZE):
            yield block

    def close(self):
        self.resp.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()


class PutObjectResult(RequestResult):
    def __init__(self, resp):
        super().__init__(resp)
        self.etag = _unquoted_etag(self.headers)
        self.crc = _hget(self.headers, "x-oss-hash-crc64ecma", int)


class BatchDeleteObjectsResult(RequestResult):
    def __init__(self, resp):
        super().__init__(resp)
        body = resp.read()
        self.deleted_keys = []
        if body:
            root = _xml(body)
            decode = _decoder(root)
            self.deleted_keys = [decode(_text(node, "Key")) for node in root.findall("Deleted")]


class InitMultipartUploadResult(RequestResult):
    def __init__(self, resp):
        super().__init__(resp)
        self.upload_id = _text(_body_xml(resp), "UploadId")


class ListPartsResult(RequestResult):
    def __init__(self, resp):
        super().__init__(resp)
        root = _body_xml(resp)
        self.is_truncated = _flag(root, "IsTruncated")
        self.next_marker = _text(root, "NextPartNumberMarker")
        self.parts = [
            PartInfo(int(_text(node, "PartNumber")), unquote_etag(_text(node, "ETag")), size=int(_text(node, "Size")),
                     last_modified=parse_iso8601(_text(node, "LastModified")),
                     part_crc=_int_or_none(_text(node, "HashCrc64ecma")))
            for node in root.findall("Part")
        ]


# ---- listings -------------------------------------------------------------------------------------------


class Owner:
    def __init__(self, display_name, owner_id):
        self.display_name = display_name
        self.id = owner_id


def _owner(node):
    owner = node.find("Owner")
    if owner is None:
        return None
    return Owner(_text(owner, "DisplayName"), _text(owner, "ID"))


class SimplifiedObjectInfo:
    """An object in a listing, or a common prefix (`is_prefix()`, every other field None)."""

    def __init__(self, key, last_modified, etag, type, size, storage_class, owner=None, restore_info=None):
        self.key = key
        self.last_modified = last_modified
        self.etag = etag
        self.type = type
        self.size = size
        self.storage_class = storage_class
        self.owner = owner
        self.restore_info = restore_info

    def is_prefix(self):
        return self.last_modified is None


def _objects_and_prefixes(root, decode):
    objects = [
        SimplifiedObjectInfo(decode(_text(node, "Key")), parse_iso8601(_text(node, "LastModified")),
                             unquote_etag(_text(node, "ETag")), _text(node, "Type"), int(_text(node, "Size")),
                             _text(node, "StorageClass"), _owner(node), _text(node, "RestoreInfo", None))
        for node in root.findall("Contents")
    ]
    prefixes = [decode(_text(node, "Prefix")) for node in root.findall("CommonPrefixes")]
    return objects, prefixes


class ListObjectsResult(RequestResult):
    def __init__(self, resp):
        super().__init__(resp)
        root = _body_xml(resp)
        decode = _decoder(root)
        self.is_truncated = _flag(root, "IsTruncated")
        self.next_marker = decode(_text(root, "NextMarker")) if self.is_truncated else ""
        self.object_list, self.prefix_list = _objects_and_prefixes(root, decode)


class ListObjectsV2Result(RequestResult):
    def __init__(self, resp):
        super().__init__(resp)
        root = _body_xml(resp)
        decode = _decoder(root)
        self.is_truncated = _flag(root, "IsTruncated")
        self.next_continuation_token = decode(_text(root, "NextContinuationToken")) if self.is_truncated else ""
        self.object_list, self.prefix_list = _objects_and_prefixes(root, decode)


class SimplifiedBucketInfo:
    def __init__(self, name, location, creation_date, extranet_endpoint, intranet_endpoint, storage_class,
                 region=None, resource_group_id=None):
        self.name = name
        self.location = location
        self.creation_date = creation_date
        self.extranet_endpoint = extranet_endpoint
        self.intranet_endpoint = intranet_endpoint
        self.storage_class = storage_class
        self.region = region
        self.resource_group_id = resource_group_id


class ListBucketsResult(RequestResult):
    def __init__(self, resp):
        super().__init__(resp)
        root = _body_xml(resp)
        self.is_truncated = _flag(root, "IsTruncated")
        self.next_marker = _text(root, "NextMarker") if self.is_truncated else ""
        self.owner = _owner(root) or Owner("", "")
        self.buckets = [
            SimplifiedBucketInfo(_text(node, "Name"), _text(node, "Location"),
                                 parse_iso8601(_text(node, "CreationDate")), _text(node, "ExtranetEndpoint"),
                                 _text(node, "IntranetEndpoint"), _text(node, "StorageClass"),
                                 _text(node, "Region", None), _text(node, "ResourceGroupId", None))
            for node in root.findall("Buckets/Bucket")
        ]


# ---- buckets --------------------------------------------------------------------------------------------


class BucketCreateConfig:
    """The body of create_bucket: storage class and, optionally, data redundancy type."""

    def __init__(self, storage_class, data_redundancy_type=None):
        self.storage_class = storage_class
        self.data_redundancy_type = data_redundancy_type


class AccessControlList:
    def __init__(self, grant):
        self.grant = grant


class ServerSideEncryptionRule:
    def __init__(self, sse_algorithm=None, kms_master_keyid=None, kms_data_encryption=None):
        self.sse_algorithm = sse_algorithm
        self.kms_master_keyid = kms_master_keyid
        self.kms_data_encryption = kms_data_encryption


def _encryption_rule(node):
    if node is None:
        return None
    algorithm = _text(node, "SSEAlgorithm")
    if algorithm == "None":
        return ServerSideEncryptionRule()
    return ServerSideEncryptionRule(algorithm, _text(node, "KMSMasterKeyID", None) or None,
                                    _text(node, "KMSDataEncryption", None) or None)


class BucketInfo:
    def __init__(self, name=None, owner=None, location=None, storage_class=None, intranet_endpoint=None,
                 extranet_endpoint=None, creation_date=None, acl=None, data_redundancy_type=None, comment=None,
                 bucket_encryption_rule=None, versioning_status=None, access_monitor=None,
                 transfer_acceleration=None, cross_region_replication=None, resource_group_id=None):
        self.name = name
        self.owner = owner
        self.location = location
        self.storage_class = storage_class
        self.intranet_endpoint = intranet_endpoint
        self.extranet_endpoint = extranet_endpoint
        self.creation_date = creation_date
        self.acl = acl
        self.data_redundancy_type = data_redundancy_type
        self.comment = comment
        self.bucket_encryption_rule = bucket_encryption_rule
        self.versioning_status = versioning_status
        self.access_monitor = access_monitor
        self.transfer_acceleration = transfer_acceleration
        self.cross_region_replication = cross_region_replication
        self.resource_group_id = resource_group_id


class GetBucketInfoResult(RequestResult, BucketInfo):
    """Bucket facts; `creation_date` stays the ISO 8601 text, as oss2 leaves it."""

    def __init__(self, resp):
        RequestResult.__init__(self, resp)
        node = _body_xml(resp).find("Bucket")
        BucketInfo.__init__(
            self,
            name=_text(node, "Name"),
            owner=_owner(node),
            location=_text(node, "Location"),
            storage_class=_text(node, "StorageClass"),
            intranet_endpoint=_text(node, "IntranetEndpoint"),
            extranet_endpoint=_text(node, "ExtranetEndpoint"),
            creation_date=_text(node, "CreationDate"),
            acl=AccessControlList(_text(node, "AccessControlList/Grant")),
            data_redundancy_type=_text(node, "DataRedundancyType", None),
            comment=_text(node, "Comment", None),
            bucket_encryption_rule=_encryption_rule(node.find("ServerSideEncryptionRule")),
            versioning_status=_text(node, "Versioning", None),
            access_monitor=_text(node, "AccessMonitor", None),
            transfer_acceleration=_text(node, "TransferAcceleration", None),
            cross_region_replication=_text(node, "CrossRegionReplication", None),
            resource_group_id=_text(node, "ResourceGroupId", None),
        )
