"""Fixtures for the end-to-end tests: real `ossbox serve` processes driven by the official SDKs.

Every test that asks for `bucket` (oss2) or `v2` (alibabacloud-oss-v2) gets a fresh, uniquely named
bucket, created through the SDK under test and emptied and deleted at teardown. Both fixtures are
parametrized over the signature versions each SDK supports, so most tests run once per signer.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import alibabacloud_oss_v2 as oss
import oss2
import pytest

from ossbox import client as ossbox_client
from ossbox.testing.plugin import remove_oss2_bucket as empty_and_delete_oss2

REGION = "cn-hangzhou"


def unique_bucket_name(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def oss2_auth(kind: str, server):
    if kind == "v1":
        return oss2.Auth(server.access_key_id, server.access_key_secret)
    if kind == "v4":
        provider = oss2.credentials.StaticCredentialsProvider(server.access_key_id, server.access_key_secret)
        return oss2.ProviderAuthV4(provider)
    raise ValueError(kind)


def oss2_bucket(server, name: str, kind: str, *, endpoint: str | None = None, region: str = REGION,
                **kwargs) -> oss2.Bucket:
    return oss2.Bucket(oss2_auth(kind, server), endpoint or server.endpoint, name, region=region, **kwargs)


@contextlib.contextmanager
def fresh_oss2_bucket(server, prefix: str) -> Iterator[oss2.Bucket]:
    """A new V4-signed bucket on `server` (one a module started for itself), removed with every version."""
    made = oss2.Bucket(oss2_auth("v4", server), server.endpoint, unique_bucket_name(prefix), region=REGION)
    made.create_bucket()
    try:
        yield made
    finally:
        empty_and_delete_oss2(made)


def oss2_service(server, kind: str, *, region: str = REGION) -> oss2.Service:
    return oss2.Service(oss2_auth(kind, server), server.endpoint, region=region)


def v2_client(server, signature: str = "v4", *, region: str = REGION, endpoint: str | None = None,
              path_style: bool = True, access_key_id: str | None = None,
              access_key_secret: str | None = None) -> oss.Client:
    config = oss.config.load_default()
    config.credentials_provider = oss.credentials.StaticCredentialsProvider(
        access_key_id or server.access_key_id, access_key_secret or server.access_key_secret
    )
    config.region = region
    config.endpoint = endpoint or server.endpoint
    config.use_path_style = path_style
    config.retry_max_attempts = 1
    if signature == "v1":
        config.signature_version = "v1"
    return oss.Client(config)


@pytest.fixture(params=["v1", "v4"])
def sig(request) -> str:
    """The oss2 signature version under test."""
    return request.param


@pytest.fixture
def make_bucket(server, sig):
    """Factory: a new, empty oss2 bucket (signed with `sig`), removed with its objects at teardown."""
    created: list[oss2.Bucket] = []

    def make(prefix: str = "e2e") -> oss2.Bucket:
        b = oss2_bucket(server, unique_bucket_name(prefix), sig)
        b.create_bucket()
        created.append(b)
        return b

    yield make
    for b in created:
        empty_and_delete_oss2(b)


@pytest.fixture
def bucket(make_bucket) -> oss2.Bucket:
    return make_bucket()


@pytest.fixture
def bucket_with_acl(server):
    """Factory: a new bucket with the ACL given, as its owner's handle (V1), removed with its objects at
    teardown."""
    created: list[oss2.Bucket] = []

    def make(acl: str, prefix: str) -> oss2.Bucket:
        owner = oss2_bucket(server, unique_bucket_name(prefix), "v1")
        owner.create_bucket(acl)
        created.append(owner)
        return owner

    yield make
    for owner in created:
        empty_and_delete_oss2(owner)


@pytest.fixture
def service(server, sig) -> oss2.Service:
    return oss2_service(server, sig)


@dataclass
class V2Bucket:
    client: oss.Client
    name: str
    signature: str


def empty_and_delete_v2(client: oss.Client, name: str) -> None:
    """Every version and delete marker of the bucket, then the bucket."""
    try:
        pages = list(client.list_object_versions_paginator().iter_page(
            oss.ListObjectVersionsRequest(bucket=name, max_keys=1000)))
    except oss.exceptions.OperationError:
        return
    for page in pages:
        targets = [oss.DeleteObject(key=v.key, version_id=v.version_id)
                   for v in [*(page.version or []), *(page.delete_marker or [])]]
        if targets:
            client.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(bucket=name, objects=targets, quiet=True))
    try:
        client.delete_bucket(oss.DeleteBucketRequest(bucket=name))
    except oss.exceptions.OperationError:
        pass


@pytest.fixture(params=["v4", "v1"])
def v2sig(request) -> str:
    """The alibabacloud-oss-v2 signature version under test."""
    return request.param


@pytest.fixture
def v2client(server, v2sig) -> oss.Client:
    return v2_client(server, v2sig)


@pytest.fixture
def make_v2_bucket(server, v2client, v2sig):
    created: list[str] = []

    def make(prefix: str = "e2e") -> V2Bucket:
        name = unique_bucket_name(prefix)
        v2client.put_bucket(oss.PutBucketRequest(bucket=name))
        created.append(name)
        return V2Bucket(v2client, name, v2sig)

    yield make
    for name in created:
        empty_and_delete_v2(v2client, name)


@pytest.fixture
def v2(make_v2_bucket) -> V2Bucket:
    return make_v2_bucket()


@pytest.fixture
def resolve_to_loopback(monkeypatch):
    """Make every name under the given domains resolve to 127.0.0.1 without any DNS lookup."""
    original = socket.getaddrinfo
    domains: list[str] = []

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name and any(name == d or name.endswith("." + d) for d in domains):
            return original("127.0.0.1", *args, **kwargs)
        if name not in ("127.0.0.1", "localhost", "::1"):
            raise OSError(f"e2e tests must not resolve {name!r}")
        return original(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return domains


@pytest.fixture
def remote(server, make_bucket):
    """(an oss2 bucket to arrange and check data with, an ossbox.client bucket under test), both on the same
    fresh server bucket."""
    arranged = make_bucket()
    tested = ossbox_client.Bucket(ossbox_client.Auth(server.access_key_id, server.access_key_secret), server.endpoint,
                           arranged.bucket_name)
    return arranged, tested
