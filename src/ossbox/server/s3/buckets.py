"""The S3 codec of the service and bucket operations (ListBuckets, CreateBucket, DeleteBucket, HeadBucket,
GetBucketLocation, versioning, CORS, tagging, default encryption) and of ACLs on buckets and objects."""

from __future__ import annotations

from aiohttp import web

from ...protocol.dates import iso8601
from ...protocol.errors import OssError
from ...protocol.xmlutil import xml_text
from ...storage.records import ENABLED, SUSPENDED, BucketRecord, Encryption
from ..context import Call
from ..operations import acl, buckets, encryption, tags
from ..operations.cors import BucketCors, CorsConfiguration
from ..operations.encryption import requested_encryption
from ..operations.values import BucketRef
from ..operations.versioning import BucketVersioning
from ..oss.configuration import tag_pairs
from ..oss.cors import cors_configuration, cors_rules
from ..oss.listing import continuation_token, marker_from_token
from ..oss.requests import int_param, parse_xml_body, version_id
from ..responses import empty_response, xml_response
from .render import NAMESPACE, document, owner
from .requests import canned_acl, read_signed_body

_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
# The grants AllUsers holds under each ACL ossbox stores.
_PUBLIC_GRANTS = {"private": (), "default": (), "public-read": ("READ",), "public-read-write": ("READ", "WRITE")}


async def _document(call: Call, root: str):
    return await call.offload(parse_xml_body, await read_signed_body(call, call.signer), root)


async def parse_delete_bucket(call: Call) -> buckets.DeleteBucketRequest:
    return buckets.DeleteBucketRequest(call.bucket, discard_uploads=True)


# ---- buckets ----

async def parse_list_buckets(call: Call) -> buckets.ListBucketsRequest:
    token = call.param("continuation-token")
    return buckets.ListBucketsRequest(call.param("prefix") or "", marker_from_token(token) if token else "",
                                      int_param(call.param("max-buckets"), "max-buckets", 10000, 1, 10000))


def render_list_buckets(call: Call, request: buckets.ListBucketsRequest, result: buckets.BucketList
                        ) -> web.StreamResponse:
    listed = [("Bucket", [("Name", b.name), ("CreationDate", iso8601(b.created)),
                          ("BucketRegion", call.config.s3_region)]) for b in result.buckets]
    return document("ListAllMyBucketsResult", [
        ("Owner", owner(call.config.owner_id)), ("Buckets", listed),
        ("ContinuationToken", continuation_token(result.buckets[-1].name) if result.truncated else None),
        ("Prefix", call.param("prefix")),
    ])


async def parse_put_bucket(call: Call) -> buckets.PutBucketRequest:
    if call.headers.get("x-amz-bucket-object-lock-enabled", "").lower() == "true":
        raise OssError("NotImplemented", "ossbox does not implement S3 Object Lock.")
    body = await read_signed_body(call, call.signer)
    if body.strip():
        root = await call.offload(parse_xml_body, body, "CreateBucketConfiguration")
        constraint = (root.findtext("LocationConstraint") or "").strip()
        if constraint not in ("", call.config.s3_region):
            raise OssError("InvalidLocationConstraint", "The specified location-constraint is not valid",
                           LocationConstraint=constraint)
    return buckets.PutBucketRequest(call.bucket, canned_acl(call.headers.get("x-amz-acl"), "private"), "Standard",
                                    None)


def render_put_bucket(call: Call, request: buckets.PutBucketRequest, _result: None) -> web.StreamResponse:
    return empty_response(headers={"Location": f"/{request.bucket}"})


def render_head_bucket(call: Call, request: BucketRef, bucket: BucketRecord) -> web.StreamResponse:
    return empty_response(headers={"x-amz-bucket-region": call.config.s3_region})


def render_get_bucket_location(call: Call, request: BucketRef, bucket: BucketRecord) -> web.StreamResponse:
    region = call.config.s3_region  # S3 leaves us-east-1, its first region, unnamed
    text = "" if region == "us-east-1" else xml_text(region)
    return xml_response(f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{NAMESPACE}">{text}'
                        f'</LocationConstraint>'.encode())


# ---- versioning ----

async def parse_put_bucket_versioning(call: Call) -> BucketVersioning:
    status = (await _document(call, "VersioningConfiguration")).findtext("Status")
    if status not in (ENABLED, SUSPENDED):
        raise OssError("MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                       "published schema.")
    return BucketVersioning(call.bucket, status)


def render_get_bucket_versioning(call: Call, request: BucketRef, status: str | None) -> web.StreamResponse:
    return document("VersioningConfiguration", [("Status", status)])


# ---- ACLs ----

def _acl_from_grants(call: Call, root) -> str:
    """The ACL an AccessControlPolicy document comes to: the owner's full control and AllUsers' READ and
    WRITE are what ossbox can store; any other grant is refused."""
    public = set()
    for grant in root.iterfind("AccessControlList/Grant"):
        permission = (grant.findtext("Permission") or "").strip()
        uri = (grant.findtext("Grantee/URI") or "").strip()
        grantee_id = (grant.findtext("Grantee/ID") or "").strip()
        if uri == _ALL_USERS and permission in ("READ", "WRITE"):
            public.add(permission)
        elif grantee_id != call.config.owner_id or permission != "FULL_CONTROL":
            raise OssError("NotImplemented", "ossbox stores the owner's full control and AllUsers' READ and WRITE "
                           "grants only.")
    return "public-read-write" if "WRITE" in public else "public-read" if public else "private"


async def _requested_acl(call: Call) -> str:
    if "x-amz-acl" in call.headers:
        return canned_acl(call.headers["x-amz-acl"], "private")
    return _acl_from_grants(call, await _document(call, "AccessControlPolicy"))


async def parse_put_bucket_acl(call: Call) -> acl.BucketAcl:
    return acl.BucketAcl(call.bucket, await _requested_acl(call))


async def parse_put_object_acl(call: Call) -> acl.ObjectAcl:
    return acl.ObjectAcl(call.bucket, call.key, await _requested_acl(call), version_id(call))


def render_acl(call: Call, request: object, stored: str) -> web.StreamResponse:
    """An AccessControlPolicy: the owner's full control, and AllUsers' grants under `stored`."""
    who = "".join(f"<{tag}>{xml_text(value)}</{tag}>" for tag, value in owner(call.config.owner_id))
    grants = [f'<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'
              f'{who}</Grantee><Permission>FULL_CONTROL</Permission></Grant>']
    grants.extend(f'<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">'
                  f'<URI>{_ALL_USERS}</URI></Grantee><Permission>{permission}</Permission></Grant>'
                  for permission in _PUBLIC_GRANTS[stored])
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="{NAMESPACE}"><Owner>{who}</Owner>'
            f'<AccessControlList>{"".join(grants)}</AccessControlList></AccessControlPolicy>')
    return xml_response(body.encode("utf-8"))


# ---- CORS ----

async def parse_put_bucket_cors(call: Call) -> BucketCors:
    body = await read_signed_body(call, call.signer)
    return BucketCors(call.bucket, await call.offload(cors_configuration, body))


def render_get_bucket_cors(call: Call, request: BucketRef, configuration: CorsConfiguration) -> web.StreamResponse:
    return document("CORSConfiguration", cors_rules(configuration))


# ---- tagging ----

async def parse_put_object_tagging(call: Call) -> tags.ObjectTagging:
    tagging_version = version_id(call)
    body = await read_signed_body(call, call.signer)
    return tags.ObjectTagging(call.bucket, call.key, await call.offload(tag_pairs, body), tagging_version)


async def parse_put_bucket_tags(call: Call) -> tags.BucketTagging:
    body = await read_signed_body(call, call.signer)
    return tags.BucketTagging(call.bucket, await call.offload(tag_pairs, body))


async def parse_delete_bucket_tags(call: Call) -> tags.BucketTagsDeletion:
    return tags.BucketTagsDeletion(call.bucket, None)


def render_object_tagging(call: Call, request: object, tagging: dict[str, str]) -> web.StreamResponse:
    tag_set = [("Tag", [("Key", key), ("Value", value)]) for key, value in tagging.items()]
    return document("Tagging", [("TagSet", tag_set)])


def render_bucket_tagging(call: Call, request: object, tagging: dict[str, str]) -> web.StreamResponse:
    if not tagging:
        raise OssError("NoSuchTagSet", "The TagSet does not exist", BucketName=call.bucket)
    return render_object_tagging(call, request, tagging)


# ---- default encryption ----

_S3_ALGORITHMS = {"AES256": "AES256", "aws:kms": "KMS", "aws:kms:dsse": "KMS"}


def _encryption_configuration(body: bytes) -> Encryption:
    default = parse_xml_body(body, "ServerSideEncryptionConfiguration").find("Rule/ApplyServerSideEncryptionByDefault")
    algorithm = (default.findtext("SSEAlgorithm") or "").strip() if default is not None else ""
    if algorithm not in _S3_ALGORITHMS:
        raise OssError("MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                       "published schema.")
    rule = requested_encryption(_S3_ALGORITHMS[algorithm], (default.findtext("KMSMasterKeyID") or "").strip())
    assert rule is not None
    return rule


async def parse_put_bucket_encryption(call: Call) -> encryption.BucketEncryption:
    body = await read_signed_body(call, call.signer)
    return encryption.BucketEncryption(call.bucket, await call.offload(_encryption_configuration, body))


def render_get_bucket_encryption(call: Call, request: BucketRef, rule: Encryption) -> web.StreamResponse:
    algorithm = "aws:kms" if rule.algorithm == "KMS" else "AES256"
    return document("ServerSideEncryptionConfiguration", [("Rule", [
        ("ApplyServerSideEncryptionByDefault", [("SSEAlgorithm", algorithm), ("KMSMasterKeyID", rule.kms_key_id)]),
        ("BucketKeyEnabled", False)])])
