"""Values the operations share: conditions, the attributes a write stores, a body to receive, and the
outcomes that are not errors."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Protocol, TypeVar

from ...protocol import checksums, preconditions
from ...protocol.errors import OssError
from ...storage.records import DEFAULT_CONTENT_TYPE, BlobInfo, Checksum, Encryption, ObjectRecord, Permit
from .context import Context

__all__ = ["BucketRef", "ObjectRef", "Conditions", "Attributes", "Upload", "NotModified", "MAX_OBJECT_SIZE",
           "check_conditions", "write_permit", "MD5_MISMATCH", "BodyCheck", "ChecksumCheck", "receive_blob",
           "check_body_md5", "required_config"]

T = TypeVar("T")
MD5_MISMATCH = "The Content-MD5 you specified did not match what we received."
MAX_OBJECT_SIZE = 5 << 30
_WRITE_BATCH = 1 << 20


@dataclass(frozen=True)
class BucketRef:
    """A request about a bucket and nothing else."""

    bucket: str


@dataclass(frozen=True)
class ObjectRef:
    """A request about an object (its current version, or `version_id`) and nothing else."""

    bucket: str
    key: str
    version_id: str | None = None


@dataclass(frozen=True)
class Conditions:
    """If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since, as given (None: absent)."""

    if_match: str | None = None
    if_unmodified_since: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None


_NO_CONDITIONS = Conditions()


class NotModified(Exception):
    """304: the object (its validators are `record`'s) was not modified."""

    def __init__(self, record: ObjectRecord) -> None:
        super().__init__("not modified")
        self.record = record


def check_conditions(conditions: Conditions, record: ObjectRecord) -> None:
    """Raise PreconditionFailed (412) or NotModified (304) as the conditions decide, in RFC 9110's order."""
    if conditions == _NO_CONDITIONS:  # the usual GET: nothing to evaluate
        return
    outcome = preconditions.evaluate(record.etag, record.mtime, if_match=conditions.if_match,
                                     if_unmodified_since=conditions.if_unmodified_since,
                                     if_none_match=conditions.if_none_match,
                                     if_modified_since=conditions.if_modified_since)
    if outcome is preconditions.Outcome.PRECONDITION_FAILED:
        raise OssError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
    if outcome is preconditions.Outcome.NOT_MODIFIED:
        raise NotModified(record)


def write_permit(permit: Permit | None, conditions: Conditions) -> Permit | None:
    """The permit of a write made conditional on the version it replaces (If-Match: its ETag; If-None-Match: *,
    that there is none), as S3's conditional writes are. Storage judges it in the transaction that replaces
    the version, so two racing writes cannot both pass. Access is judged first: a caller refused learns
    nothing of the version."""
    if conditions.if_match is None and conditions.if_none_match is None:
        return permit

    def judge(bucket_acl: str | None, current: ObjectRecord | None) -> bool:
        if permit is not None and not permit(bucket_acl, current):
            return False
        if conditions.if_none_match is not None and current is not None:
            raise OssError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold.",
                           Condition="If-None-Match")
        if conditions.if_match is not None:
            if current is None:
                raise OssError("NoSuchKey", "The specified key does not exist.")
            if not preconditions.etag_matches(conditions.if_match, current.etag, weak=False):
                raise OssError("PreconditionFailed", "At least one of the pre-conditions you specified did not "
                               "hold.", Condition="If-Match")
        return True
    return judge


@dataclass(frozen=True)
class Attributes:
    """What a write stores besides the bytes: the ObjectRecord fields a request sets. `content_type` None:
    none was given (application/octet-stream, or a copy's source's); `storage_class` None: the bucket's."""

    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # Cache-Control, Content-Disposition, ...
    user_meta: dict[str, str] = field(default_factory=dict)
    storage_class: str | None = None
    acl: str = "default"
    tags: dict[str, str] = field(default_factory=dict)
    encryption: Encryption | None = None  # as the request names it (operations/encryption.py resolves it)

    def record_fields(self, bucket_storage_class: str, encryption: Encryption | None = None) -> dict:
        """The ObjectRecord fields, the storage class resolved against the bucket's, with the resolved
        `encryption`."""
        return {**asdict(self), "content_type": self.content_type or DEFAULT_CONTENT_TYPE,
                "storage_class": self.storage_class or bucket_storage_class, "encryption": encryption}


class BodyCheck(Protocol):
    """A check of a body's bytes besides its MD5 (a payload hash, an S3 checksum): fed every byte in order,
    off the event loop, then asked to verify once all have arrived; it raises OssError to refuse them."""

    def update(self, data: bytes) -> None: ...

    def verify(self) -> None: ...


class ChecksumCheck:
    """A body's S3 checksum by `algorithm`: compared with the value the client sent (`expected()`, None when
    it sent none: the checksum is only computed; it may come in a trailer, after the body), then kept
    (`stored`) with what the body becomes."""

    def __init__(self, algorithm: str, expected: Callable[[], str | None]) -> None:
        self.algorithm = algorithm
        self._expected = expected
        self._hasher = checksums.Hasher(algorithm)
        self.stored: Checksum | None = None

    def update(self, data: bytes) -> None:
        self._hasher.update(data)

    def verify(self) -> None:
        value = self._hasher.value()
        expected = self._expected()
        if expected is not None and expected != value:
            raise OssError("BadDigest", f"The {self.algorithm} you specified did not match the calculated checksum.")
        self.stored = Checksum(self.algorithm, value)


@dataclass
class Upload:
    """A request body to store: its chunks as they arrive, the length announced (None: not announced), the
    MD5 the client expects of it (None: not checked), any other checks its bytes must pass, and the S3
    checksum to check and keep."""

    chunks: AsyncIterator[bytes]
    length: int | None
    md5: bytes | None
    checks: tuple[BodyCheck, ...] = ()
    checksum: ChecksumCheck | None = None

    @property
    def all_checks(self) -> tuple[BodyCheck, ...]:
        return self.checks if self.checksum is None else (*self.checks, self.checksum)

    @property
    def stored_checksum(self) -> Checksum | None:
        """The S3 checksum of the bytes received (once they all were), None if none was asked for."""
        return self.checksum.stored if self.checksum is not None else None


async def receive_blob(context: Context, upload: Upload, limit: int = MAX_OBJECT_SIZE, encrypted: bool = False
                       ) -> BlobInfo:
    """Stream `upload` (at most `limit` bytes) into a new durable blob (`encrypted` at rest or not), checking
    its length and MD5."""
    if upload.length is not None and upload.length > limit:
        raise OssError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
    writer = await context.storage.new_blob(encrypted)
    in_flight: asyncio.Future | None = None
    try:
        batch: list[bytes] = []
        batch_size = received = 0
        async for chunk in upload.chunks:
            batch.append(chunk)
            batch_size += len(chunk)
            received += len(chunk)
            if received > limit:
                raise OssError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
            if batch_size >= _WRITE_BATCH:
                if in_flight is not None:
                    await in_flight
                in_flight = _hash_and_store(writer, batch, upload.all_checks)
                batch, batch_size = [], 0
        if in_flight is not None:
            await in_flight
            in_flight = None
        await _hash_and_store(writer, batch, upload.all_checks)
        if upload.length is not None and received != upload.length:
            raise OssError("InvalidArgument", "The request body is shorter than its Content-Length.")
        for check in upload.all_checks:
            check.verify()
        blob = await asyncio.to_thread(writer.commit)
    except BaseException:
        if in_flight is not None:
            await asyncio.gather(in_flight, return_exceptions=True)
        await asyncio.to_thread(writer.abort)
        raise
    if upload.md5 is not None and blob.md5 != upload.md5:
        await context.storage.discard_blob(blob)
        raise OssError("InvalidDigest", MD5_MISMATCH)
    return blob


def _hash_and_store(writer, chunks: list[bytes], checks: tuple[BodyCheck, ...]) -> asyncio.Future:
    """Hash (and check) and store a batch in two threads at once (both release the GIL); the batch before
    it must be finished, so each half still sees the bytes in order. The chunks are used as received:
    joining them would allocate a batch-sized buffer per batch."""
    def hash_all() -> None:
        for chunk in chunks:
            writer.hash(chunk)
            for check in checks:
                check.update(chunk)

    def store_all() -> None:
        for chunk in chunks:
            writer.store(chunk)

    return asyncio.gather(asyncio.to_thread(hash_all), asyncio.to_thread(store_all))


def check_body_md5(body: bytes, md5: bytes | None) -> None:
    """Raise InvalidDigest unless `body` has the MD5 expected (None: nothing expected)."""
    if md5 is not None and hashlib.md5(body).digest() != md5:
        raise OssError("InvalidDigest", MD5_MISMATCH)


async def required_config(context: Context, bucket: str, stored: Callable[[dict], T | None], code: str,
                          message: str) -> T:
    """One of a bucket's configurations, read from its record with `stored`; 404 `code` if it has none."""
    value = stored((await context.storage.get_bucket(bucket)).configs)
    if value is None:
        raise OssError(code, message, BucketName=bucket)
    return value
