"""Access is decided on the version actually served or changed, even while the owner rewrites it.

The owner keeps rewriting objects in a public-read bucket, alternating a public-read body and a private
one (and deleting and re-creating them), while anonymous readers fetch them every way a read can reach
an object: GET, ranged GET, HEAD, GetObjectMeta, through a symlink, and as the source of an anonymous
CopyObject and UploadPartCopy. Every private body starts with PRIVATE, so a leak is visible in any byte
range; a reader that got one reports it. `OSSBOX_RACE_SECONDS` sets how long the race runs (default 6).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time

import oss2
import pytest
import requests

from .conftest import REGION, oss2_auth, unique_bucket_name
from .helpers import etag_of, object_url

RACE_SECONDS = float(os.environ.get("OSSBOX_RACE_SECONDS", "6"))
PART = 100 * 1024  # the smallest part but the last: multipart objects of several extents


def body(label: bytes, size: int) -> bytes:
    return (label * (size // len(label) + 1))[:size]


PUBLIC, PRIVATE = b"PUBLIC-", b"PRIVATE"


class Race:
    """Owner threads rewriting the objects, reader threads checking every answer, until `stop` is set."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.reads = 0
        self.leaks: list[str] = []
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()

    def count(self, answers: int = 1) -> None:
        with self.lock:
            self.reads += answers

    def leak(self, what: str) -> None:
        with self.lock:
            self.leaks.append(what)

    def run(self, targets) -> None:
        def guarded(target):
            try:
                while not self.stop.is_set():
                    target()
            except BaseException as error:  # noqa: BLE001 - reported by the test
                self.errors.append(error)
                self.stop.set()

        threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
        for thread in threads:
            thread.start()
        time.sleep(RACE_SECONDS)
        self.stop.set()
        for thread in threads:
            thread.join(60)
        assert not self.errors, self.errors


@pytest.fixture
def public_read_bucket(bucket_with_acl):
    return bucket_with_acl(oss2.BUCKET_ACL_PUBLIC_READ, "race")


def multipart_etag(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(digests).hexdigest().upper()}-{len(parts)}"'


PLAIN_SIZE = 3000
PRIVATE_ETAGS = {etag_of(body(PRIVATE, PLAIN_SIZE)), multipart_etag([body(PRIVATE, PART)] * 3)}


def rewrite(owner: oss2.Bucket, key: str, step: int, multipart: bool) -> None:
    """Step through: public-read version, private version, deleted (each kind of change a reader can race)."""
    phase = step % 3
    if phase == 2:
        owner.delete_object(key)
        return
    label, acl = (PUBLIC, oss2.OBJECT_ACL_PUBLIC_READ) if phase == 0 else (PRIVATE, oss2.OBJECT_ACL_PRIVATE)
    headers = {"x-oss-object-acl": acl, "x-oss-meta-label": label.decode()}
    if not multipart:
        owner.put_object(key, body(label, PLAIN_SIZE), headers=headers)
        return
    upload_id = owner.init_multipart_upload(key, headers=headers).upload_id
    parts = [oss2.models.PartInfo(n, owner.upload_part(key, upload_id, n, body(label, PART)).etag) for n in (1, 2, 3)]
    owner.complete_multipart_upload(key, upload_id, parts)


def test_anonymous_readers_never_get_a_private_version(server, public_read_bucket):
    owner = public_read_bucket
    name = owner.bucket_name
    owner.put_symlink("plain", "link", headers={"x-oss-object-acl": oss2.OBJECT_ACL_PUBLIC_READ})
    # Anonymous copies need a destination they may write: a public-read-write bucket of their own.
    sink = oss2.Bucket(oss2_auth("v1", server), server.endpoint, unique_bucket_name("sink"), region=REGION)
    sink.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    anonymous_sink = oss2.Bucket(oss2.AnonymousAuth(), server.endpoint, sink.bucket_name, region=REGION)
    race = Race()

    def writer(key: str, multipart: bool):
        steps = itertools.count()
        return lambda: rewrite(owner, key, next(steps), multipart)

    def reader(key: str):
        session = requests.Session()
        url = object_url(server.endpoint, name, key)

        def read():
            for headers in ({}, {"Range": "bytes=0-99"}, {"Range": "bytes=200000-200099"}):
                response = session.get(url, headers=headers, timeout=30)
                if response.status_code in (200, 206) and (PRIVATE in response.content
                                                           or response.headers.get("ETag") in PRIVATE_ETAGS):
                    race.leak(f"GET {key} {headers}")
            head = session.head(url, timeout=30)
            if head.status_code == 200 and (head.headers.get("x-oss-meta-label") == "PRIVATE"
                                            or head.headers["ETag"] in PRIVATE_ETAGS):
                race.leak(f"HEAD {key}")
            meta = session.head(url + "?objectMeta", timeout=30)
            if meta.status_code == 200 and meta.headers["ETag"] in PRIVATE_ETAGS:
                race.leak(f"GetObjectMeta {key}")
            race.count(5)
        return read

    def copier(source_key: str, multipart_copy: bool):
        source = f"/{name}/{source_key}"
        target = f"copied-{source_key}-{multipart_copy}"

        def copy():
            try:
                if multipart_copy:
                    upload_id = anonymous_sink.init_multipart_upload(target).upload_id
                    etag = anonymous_sink.upload_part_copy(name, source_key, None, target, upload_id, 1).etag
                    anonymous_sink.complete_multipart_upload(target, upload_id, [oss2.models.PartInfo(1, etag)])
                else:
                    anonymous_sink.copy_object(name, source_key, target)
            except (oss2.exceptions.AccessDenied, oss2.exceptions.NoSuchKey):
                race.count()
                return
            race.count()
            if PRIVATE in sink.get_object(target).read():
                race.leak(f"{'UploadPartCopy' if multipart_copy else 'CopyObject'} of {source}")
        return copy

    try:
        readers = [reader(key) for key in ("plain", "plain", "plain", "multi", "link", "link")]
        race.run([writer("plain", False), writer("multi", True), *readers,
                  copier("plain", False), copier("multi", True), copier("multi", False)])
        print(f"\naccess race: {race.reads} anonymous reads under {RACE_SECONDS:g} s of rewrites, "
              f"{len(race.leaks)} leaks")
        assert race.reads > 0
        assert race.leaks == [], race.leaks
    finally:
        for upload in oss2.MultipartUploadIterator(sink):
            sink.abort_multipart_upload(upload.key, upload.upload_id)
        for obj in oss2.ObjectIterator(sink):
            sink.delete_object(obj.key)
        sink.delete_bucket()
