"""Offline consistency check of a data directory: metadata against blob files (`ossbox check`).

Strategy: the check reads the metadata through the store's interface, opened read-only (no schema
upgrade, no write), and walks every object version's extents and every multipart part: the blob must
exist and hold exactly the recorded length (every extent is a whole blob; a longer one still reads
correctly but was altered), an object's size must be the sum of its extents, and with `deep` the CRC-64 of the bytes, streamed in bounded
chunks, must equal the recorded one. Blob files nothing refers to and leftover `tmp/` files are reported
too. `repair()` then changes the directory: it deletes the metadata of objects whose blobs are missing or
short and removes orphans and temporary files with `BlobStore.sweep`. Run it while the server is stopped:
a running server's in-flight writes look like orphans.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field

from ..protocol.crc64 import Crc64
from .blobs import BlobStore
from .cipher import KEY_FILE, BlobCipher
from .engine import ORPHAN_AGE
from .metadata import MetadataStore, MetadataUnavailable, SchemaMismatch, default_metadata_url, open_metadata
from .records import NULL_VERSION

__all__ = ["CheckError", "Problem", "Report", "check", "repair", "METADATA_FILE"]

METADATA_FILE = "metadata.sqlite3"
_CHUNK = 1 << 20

# Problems whose object `repair()` deletes: its bytes are gone, so it cannot be served.
_UNREADABLE = ("missing-blob", "short-blob")


class CheckError(Exception):
    """The directory cannot be checked (not an ossbox data directory, newer schema, ...)."""


@dataclass(frozen=True)
class Problem:
    kind: str  # missing-blob, short-blob, long-blob, size-mismatch, crc-mismatch, part-*, orphan-blob, tmp-file
    subject: str  # bucket/key, "upload <id> part <n>", or a blob id / tmp file name
    detail: str
    bucket: str | None = None  # set for object problems
    key: str | None = None
    version_id: str | None = None

    def line(self) -> str:
        return f"{self.kind}\t{_printable(self.subject)}\t{self.detail}"


@dataclass
class Report:
    objects: int = 0
    parts: int = 0
    blob_files: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def _printable(text: str) -> str:
    """`text` on one line: control and other unprintable characters escaped."""
    return "".join("\\\\" if c == "\\" else c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _open(data_dir: str, metadata_url: str | None, read_only: bool) -> MetadataStore:
    if metadata_url is None and not os.path.isfile(os.path.join(data_dir, METADATA_FILE)):
        raise CheckError(f"{data_dir}: not an ossbox data directory (no {METADATA_FILE})")
    try:
        return open_metadata(metadata_url or default_metadata_url(data_dir), read_only=read_only)
    except (SchemaMismatch, MetadataUnavailable, ValueError) as error:
        raise CheckError(str(error)) from None


def _blob_size(blobs: BlobStore, blob_id: str) -> int | None:
    try:
        return os.stat(blobs.path(blob_id)).st_size
    except FileNotFoundError:
        return None


def _crc_of(blobs: BlobStore, extents: list[tuple[str, int]], cipher: BlobCipher | None) -> int:
    """CRC-64 of the first `length` bytes of each blob in turn (decrypted with `cipher`, if given), read in
    bounded chunks."""
    crc = Crc64()
    for blob_id, length in extents:
        with blobs.open(blob_id) as file:
            position = 0
            while position < length:
                chunk = file.read(min(_CHUNK, length - position))
                if not chunk:
                    raise OSError(f"blob {blob_id} shorter than {length} bytes")
                crc.update(chunk if cipher is None else cipher.apply(blob_id, position, chunk))
                position += len(chunk)
    return crc.value


def _check_extents(blobs: BlobStore, extents: list[tuple[str, int]]) -> tuple[str, str] | None:
    """(kind, detail) of the first extent whose blob is missing, short or long, else None."""
    for index, (blob_id, length) in enumerate(extents, 1):
        size = _blob_size(blobs, blob_id)
        where = f"extent {index}/{len(extents)}" if len(extents) > 1 else "extent"
        if size is None:
            return "missing-blob", f"{where}: blob {blob_id} does not exist"
        if size < length:
            return "short-blob", f"{where}: blob {blob_id} has {size} bytes, {length} recorded"
        if size > length:
            return "long-blob", f"{where}: blob {blob_id} has {size} bytes, {length} recorded"
    return None


def check(data_dir: str, deep: bool = False, metadata_url: str | None = None) -> Report:
    """Check `data_dir` against its metadata (in it, or at `metadata_url`) and return what is wrong; changes
    nothing."""
    metadata = _open(data_dir, metadata_url, read_only=True)
    try:
        blobs = BlobStore(data_dir)
        cipher = functools.cache(lambda: BlobCipher(data_dir, create=False))  # read once an encrypted version is
        report = Report()
        referenced: set[str] = set()
        for record in metadata.iter_objects():
            report.objects += 1
            extents = [(extent.blob_id, extent.length) for extent in record.extents]
            referenced.update(blob_id for blob_id, _ in extents)
            found: list[tuple[str, str]] = []
            missing = _check_extents(blobs, extents)
            if missing:
                found.append(missing)
            total = sum(length for _, length in extents)
            if record.size != total:
                found.append(("size-mismatch", f"size {record.size} recorded, extents hold {total} bytes"))
            if deep and not missing:
                try:
                    actual = _crc_of(blobs, extents, None if record.encryption is None else cipher())
                except FileNotFoundError:  # of the key: the blobs were there
                    found.append(("missing-key", f"encrypted, and {KEY_FILE} is missing from the data directory"))
                    actual = record.crc64
                if actual != record.crc64:
                    found.append(("crc-mismatch", f"CRC-64 {actual} computed, {record.crc64} recorded"))
            subject = f"{record.bucket}/{record.key}"
            if record.version_id != NULL_VERSION:
                subject += f"?versionId={record.version_id}"
            report.problems.extend(Problem(kind, subject, detail, record.bucket, record.key, record.version_id)
                                   for kind, detail in found)
        encrypted_uploads = {upload.upload_id for upload in metadata.iter_uploads()
                             if upload.attributes.get("encryption") is not None} if deep else set()
        for upload_id, part in metadata.iter_parts():
            report.parts += 1
            referenced.add(part.blob_id)
            subject = f"upload {upload_id} part {part.part_number}"
            missing = _check_extents(blobs, [(part.blob_id, part.size)])
            if missing:
                report.problems.append(Problem("part-" + missing[0], subject, missing[1]))
                continue
            if not deep:
                continue
            try:
                crc = _crc_of(blobs, [(part.blob_id, part.size)], cipher() if upload_id in encrypted_uploads else None)
            except FileNotFoundError:  # of the key
                report.problems.append(Problem("part-missing-key", subject, f"encrypted, and {KEY_FILE} is missing"))
                continue
            if crc != part.crc64:
                report.problems.append(Problem("part-crc-mismatch", subject,
                                               f"blob {part.blob_id}: CRC-64 differs from the recorded {part.crc64}"))
        # replaced versions' parts, kept for readers until reclaimed
        referenced.update(blob_id for blob_id, _ in metadata.iter_released())
        for blob_id in blobs.stored_ids():
            report.blob_files += 1
            if blob_id not in referenced:
                report.problems.append(Problem("orphan-blob", blob_id, "no object or part refers to it"))
        for name in blobs.tmp_names():
            report.problems.append(Problem("tmp-file", name, "leftover temporary file"))
        return report
    finally:
        metadata.close()


def repair(data_dir: str, report: Report, metadata_url: str | None = None, shared: bool = False) -> list[str]:
    """Fix what `report` found that can be fixed: delete the metadata of objects whose blobs are missing
    or short, then remove blobs nothing refers to and temporary files. Returns one line per action."""
    actions: list[str] = []
    unreadable = sorted({(p.bucket, p.key, p.version_id) for p in report.problems
                         if p.kind in _UNREADABLE and p.bucket})
    needs_sweep = unreadable or any(p.kind in ("orphan-blob", "tmp-file") for p in report.problems)
    if not needs_sweep:
        return actions
    metadata = _open(data_dir, metadata_url, read_only=False)
    try:
        for bucket, key, version_id in unreadable:
            # Its remaining blobs: those it returns for unlinking are left unreferenced, and swept below;
            # those it records as released (PostgreSQL) go with the servers' next reclaim pass.
            metadata.delete_objects(bucket, [(key, version_id)])
            subject = f"{bucket}/{key}" + (f"?versionId={version_id}" if version_id != NULL_VERSION else "")
            actions.append(f"deleted-object\t{_printable(subject)}\tmetadata removed (bytes missing)")
        # With other nodes running, a young unreferenced file may be their write in flight: it stays.
        before = time.time() - (ORPHAN_AGE if shared else 0)
        removed = BlobStore(data_dir).sweep(metadata.referenced_blob_ids(), before=before)
        actions.append(f"swept\t-\tremoved {removed} orphan blob(s) and temporary file(s)")
    finally:
        metadata.close()
    return actions
