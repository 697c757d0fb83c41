"""Archived objects: RestoreObject and CleanRestoredObject. (That an unrestored archived object's bytes
cannot be read is storage's rule, for every read.)"""

from __future__ import annotations

from dataclasses import dataclass

from ...protocol.errors import OssError
from ...storage.records import ObjectRecord
from .context import Context
from .values import ObjectRef

__all__ = ["RestoreRequest", "RestoreResult", "TIERS", "restore_object", "clean_restored_object"]

TIERS = ("Expedited", "Standard", "Bulk")
# The days a restored copy may be kept, by storage class; only the colder classes take a tier.
_MAX_DAYS = {"Archive": 7, "ColdArchive": 365, "DeepColdArchive": 365}
_TIERED = frozenset({"ColdArchive", "DeepColdArchive"})


@dataclass(frozen=True)
class RestoreRequest:
    bucket: str
    key: str
    version_id: str | None = None
    days: int = 1
    tier: str | None = None  # None: none asked for (Standard for the classes that take one)
    tier_for_any_class: bool = False  # S3: a tier may come with any archived object (ignored where none applies)


@dataclass(frozen=True)
class RestoreResult:
    version: ObjectRecord  # as it was before
    started: bool  # False: the restored copy was there already, and only its days were extended
    tier: str | None


async def restore_object(context: Context, request: RestoreRequest) -> RestoreResult:
    version = await context.storage.head_object(request.bucket, request.key, context.permit(), request.version_id)
    max_days = _MAX_DAYS.get(version.storage_class)
    if max_days is None:
        raise OssError("OperationNotSupported", "The operation is not supported for this resource.",
                       Key=request.key)
    if request.tier is not None and version.storage_class not in _TIERED and not request.tier_for_any_class:
        raise OssError("MalformedXML", "JobParameters apply to Cold Archive and Deep Cold Archive objects only.")
    if not 1 <= request.days <= max_days:
        raise OssError("InvalidArgument", f"Days must be 1 to {max_days} for a {version.storage_class} object.",
                       ArgumentName="Days", ArgumentValue=str(request.days))
    tier = (request.tier or "Standard") if version.storage_class in _TIERED else None
    before, started = await context.storage.restore_object(request.bucket, request.key, request.version_id,
                                                           request.days, tier, context.permit())
    return RestoreResult(before, started, tier)


async def clean_restored_object(context: Context, request: ObjectRef) -> None:
    await context.storage.clean_restored_object(request.bucket, request.key, request.version_id, context.permit())
