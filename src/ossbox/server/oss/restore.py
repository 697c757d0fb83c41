"""The OSS codec of RestoreObject (CleanRestoredObject takes an object reference and answers 200). How a
restore's state is written on objects and in listings is render.restore_state."""

from __future__ import annotations

from aiohttp import web

from ...protocol.errors import OssError
from ...protocol.numbers import parse_decimal
from ..context import Call
from ..operations.restore import TIERS, RestoreRequest, RestoreResult
from ..responses import empty_response
from .requests import parse_xml_body, read_body, version_id

__all__ = ["restore_document", "parse_restore_object", "render_restore_object"]


def restore_document(body: bytes, job_parameters: str = "JobParameters") -> tuple[int, str | None]:
    """(days, tier or None) of a `<RestoreRequest>` body (S3's names the tier's element
    `GlacierJobParameters`); an empty body asks for one day."""
    if not body.strip():
        return 1, None
    root = parse_xml_body(body, "RestoreRequest")
    days = parse_decimal((root.findtext("Days") or "1").strip(), 1, 10 ** 6)
    if days is None:
        raise OssError("MalformedXML", "Days must be a positive whole number.")
    tier = root.findtext(f"{job_parameters}/Tier")
    if root.find(job_parameters) is not None and tier not in TIERS:
        raise OssError("InvalidArgument", "Tier must be Expedited, Standard or Bulk.", ArgumentName="Tier",
                       ArgumentValue=tier or "")
    return days, tier


async def parse_restore_object(call: Call) -> RestoreRequest:
    version = version_id(call)
    days, tier = await call.offload(restore_document, await read_body(call))
    return RestoreRequest(call.bucket, call.key, version, days, tier)


def render_restore_object(call: Call, request: RestoreRequest, result: RestoreResult) -> web.StreamResponse:
    headers = {"x-oss-object-restore-priority": result.tier} if result.tier else {}
    if request.version_id is not None:
        headers["x-oss-version-id"] = request.version_id
    return empty_response(202 if result.started else 200, headers=headers)
