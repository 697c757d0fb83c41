"""Virtual-hosted addressing (`--base-domain`) and V4 region scoping (`--region`), each on its own server.

No name is ever resolved through DNS: raw requests connect to 127.0.0.1 with an explicit Host header, and
SDK tests resolve the test domain to 127.0.0.1 through a patched `socket.getaddrinfo`.
"""

from __future__ import annotations

import http.client
from urllib.parse import quote, urlsplit

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests

from server import start_server

from .conftest import empty_and_delete_oss2, oss2_auth, oss2_bucket, unique_bucket_name, v2_client
from .helpers import parse_error, signed_request

BASE_DOMAIN = "ossbox.test"  # the reserved .test TLD never resolves


@pytest.fixture(scope="module")
def vhost_server(tmp_path_factory):
    running = start_server(str(tmp_path_factory.mktemp("vhost-data")), "--base-domain", BASE_DOMAIN)
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def region_server(tmp_path_factory):
    running = start_server(str(tmp_path_factory.mktemp("region-data")), "--region", "cn-hangzhou")
    yield running
    assert running.stop() == 0


@pytest.fixture
def vbucket(vhost_server, sig):
    """A bucket on the virtual-host server, created path-style (by IP)."""
    b = oss2_bucket(vhost_server, unique_bucket_name("vh"), sig)
    b.create_bucket()
    yield b
    empty_and_delete_oss2(b)


def _vhost(server, bucket: str) -> str:
    return f"{bucket}.{BASE_DOMAIN}:{server.port}"


def _vrequest(server, sig, method, bucket, key=None, **kwargs):
    """A request addressed virtual-hosted style (`/key` with the bucket in Host), sent to 127.0.0.1."""
    path = "/" + (quote(key, safe="") if key else "")
    return signed_request(oss2_auth(sig, server), method, server.endpoint, bucket, key,
                          url=server.endpoint + path, host=_vhost(server, bucket), **kwargs)


# ---- virtual-hosted style, raw ----------------------------------------------------------------------


def test_vhost_put_get_head_delete(vhost_server, sig, vbucket):
    key = "dir/a b+c%.txt"
    response = _vrequest(vhost_server, sig, "PUT", vbucket.bucket_name, key, data=b"virtual")
    assert response.status_code == 200, response.content
    # visible path-style too
    assert vbucket.get_object(key).read() == b"virtual"
    response = _vrequest(vhost_server, sig, "GET", vbucket.bucket_name, key)
    assert response.status_code == 200 and response.content == b"virtual"
    response = _vrequest(vhost_server, sig, "HEAD", vbucket.bucket_name, key)
    assert response.status_code == 200 and response.headers["Content-Length"] == "7"
    response = _vrequest(vhost_server, sig, "GET", vbucket.bucket_name, key, headers={"Range": "bytes=1-3"})
    assert response.status_code == 206 and response.content == b"irt"
    response = _vrequest(vhost_server, sig, "DELETE", vbucket.bucket_name, key)
    assert response.status_code == 204
    assert not vbucket.object_exists(key)


def test_vhost_bucket_operations(vhost_server, sig, vbucket):
    vbucket.put_object("one", b"1")
    response = _vrequest(vhost_server, sig, "GET", vbucket.bucket_name, params={"prefix": "", "max-keys": "10"})
    assert response.status_code == 200, response.content
    assert b"<Key>one</Key>" in response.content
    response = _vrequest(vhost_server, sig, "GET", vbucket.bucket_name, params={"location": ""})
    assert response.status_code == 200 and b"oss-cn-hangzhou" in response.content
    response = _vrequest(vhost_server, sig, "GET", vbucket.bucket_name, "missing")
    assert response.status_code == 404
    assert parse_error(response.content)["Code"] == "NoSuchKey"


def test_vhost_create_and_delete_bucket(vhost_server, sig):
    name = unique_bucket_name("vh")
    response = _vrequest(vhost_server, sig, "PUT", name, data=b"")
    assert response.status_code == 200, response.content
    assert oss2_bucket(vhost_server, name, sig).get_bucket_info().name == name
    response = _vrequest(vhost_server, sig, "DELETE", name)
    assert response.status_code == 204


def test_vhost_host_without_port_and_uppercase(vhost_server, sig, vbucket):
    vbucket.put_object("k", b"v")
    for host in (f"{vbucket.bucket_name}.{BASE_DOMAIN}",
                 f"{vbucket.bucket_name}.{BASE_DOMAIN.upper()}:{vhost_server.port}"):
        response = signed_request(oss2_auth(sig, vhost_server), "GET", vhost_server.endpoint, vbucket.bucket_name,
                                  "k", url=vhost_server.endpoint + "/k", host=host)
        assert response.status_code == 200, (host, response.content)
        assert response.content == b"v"


def test_vhost_signature_covers_the_bucket(vhost_server, sig, vbucket, make_bucket):
    """A request signed for one bucket but sent to another bucket's host is rejected."""
    vbucket.put_object("k", b"v")
    other = unique_bucket_name("vh")
    response = signed_request(oss2_auth(sig, vhost_server), "GET", vhost_server.endpoint, other, "k",
                              url=vhost_server.endpoint + "/k", host=_vhost(vhost_server, vbucket.bucket_name))
    assert response.status_code == 403
    assert parse_error(response.content)["Code"] == "SignatureDoesNotMatch"


def test_vhost_path_style_still_works(vhost_server, sig, vbucket):
    vbucket.put_object("k", b"path")
    assert vbucket.get_object("k").read() == b"path"
    # the bare base domain as Host means path style, like an IP
    response = signed_request(oss2_auth(sig, vhost_server), "GET", vhost_server.endpoint, vbucket.bucket_name, "k",
                              host=f"{BASE_DOMAIN}:{vhost_server.port}")
    assert response.status_code == 200 and response.content == b"path"


def test_vhost_presigned_url(vhost_server, sig, vbucket):
    vbucket.put_object("p q", b"presigned vhost")
    signer = oss2.Bucket(oss2_auth(sig, vhost_server), f"http://{BASE_DOMAIN}:{vhost_server.port}",
                         vbucket.bucket_name, region="cn-hangzhou")
    url = signer.sign_url("GET", "p q", 300)  # no network: only builds the URL
    parts = urlsplit(url)
    assert parts.hostname == f"{vbucket.bucket_name}.{BASE_DOMAIN}"
    loopback = f"{vhost_server.endpoint}{parts.path}?{parts.query}"
    response = requests.get(loopback, headers={"Host": parts.netloc}, timeout=10)
    assert response.status_code == 200, response.content
    assert response.content == b"presigned vhost"


def test_vhost_raw_http_client(vhost_server, sig, vbucket):
    """The same through http.client, to be sure exactly this Host and target go on the wire."""
    vbucket.put_object("raw", b"bytes")
    request = oss2.http.Request("GET", f"{vhost_server.endpoint}/raw", region="cn-hangzhou", product="oss")
    oss2_auth(sig, vhost_server)._sign_request(request, vbucket.bucket_name, "raw")
    connection = http.client.HTTPConnection("127.0.0.1", vhost_server.port, timeout=10)
    try:
        headers = {k: v for k, v in request.headers.items() if v is not None}
        connection.putrequest("GET", "/raw", skip_host=True)
        connection.putheader("Host", _vhost(vhost_server, vbucket.bucket_name))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 200
        assert response.read() == b"bytes"
    finally:
        connection.close()


# ---- virtual-hosted style through the SDKs ----------------------------------------------------------


def test_vhost_oss2_sdk(vhost_server, sig, resolve_to_loopback):
    resolve_to_loopback.append(BASE_DOMAIN)
    endpoint = f"http://{BASE_DOMAIN}:{vhost_server.port}"
    b = oss2.Bucket(oss2_auth(sig, vhost_server), endpoint, unique_bucket_name("vh"), region="cn-hangzhou")
    b.create_bucket()
    try:
        b.put_object("x y/z", b"through oss2")
        assert b.get_object("x y/z").read() == b"through oss2"
        assert [o.key for o in b.list_objects().object_list] == ["x y/z"]
        assert b.object_exists("x y/z") and not b.object_exists("nope")
        assert b.get_bucket_info().name == b.bucket_name
        assert b.batch_delete_objects(["x y/z"]).deleted_keys == ["x y/z"]
        names = [x.name for x in oss2.Service(oss2_auth(sig, vhost_server), endpoint, region="cn-hangzhou")
                 .list_buckets(prefix=b.bucket_name).buckets]
        assert names == [b.bucket_name]
    finally:
        empty_and_delete_oss2(b)


@pytest.mark.parametrize("signature", ["v4", "v1"])
def test_vhost_v2_sdk(vhost_server, resolve_to_loopback, signature):
    resolve_to_loopback.append(BASE_DOMAIN)
    client = v2_client(vhost_server, signature, endpoint=f"http://{BASE_DOMAIN}:{vhost_server.port}",
                       path_style=False)
    name = unique_bucket_name("vh")
    client.put_bucket(oss.PutBucketRequest(bucket=name))
    try:
        client.put_object(oss.PutObjectRequest(bucket=name, key="v2 key", body=b"through v2"))
        assert client.get_object(oss.GetObjectRequest(bucket=name, key="v2 key")).body.read() == b"through v2"
        listed = client.list_objects_v2(oss.ListObjectsV2Request(bucket=name))
        assert [o.key for o in listed.contents] == ["v2 key"]
        client.delete_object(oss.DeleteObjectRequest(bucket=name, key="v2 key"))
    finally:
        client.delete_bucket(oss.DeleteBucketRequest(bucket=name))


# ---- V4 region scoping ------------------------------------------------------------------------------


def test_region_scoped_server_accepts_its_region(region_server):
    name = unique_bucket_name("rg")
    for kind in ("v4", "v1"):
        b = oss2_bucket(region_server, name, kind)
        if kind == "v4":
            b.create_bucket()
        b.put_object("k", kind.encode())
        assert b.get_object("k").read() == kind.encode()
        assert b.get_bucket_location().location == "oss-cn-hangzhou"
    empty_and_delete_oss2(oss2_bucket(region_server, name, "v1"))


def test_region_scoped_server_rejects_other_regions(region_server):
    owner = oss2_bucket(region_server, unique_bucket_name("rg"), "v1")
    owner.create_bucket()
    try:
        owner.put_object("k", b"x")
        wrong = oss2_bucket(region_server, owner.bucket_name, "v4", region="cn-beijing")
        for call in (lambda: wrong.get_object("k"), lambda: wrong.put_object("k2", b"y"),
                     lambda: wrong.get_bucket_info()):
            with pytest.raises(oss2.exceptions.ServerError) as info:
                call()
            assert info.value.status in (400, 403), info.value
            assert info.value.code in ("InvalidArgument", "SignatureDoesNotMatch", "AccessDenied")
        assert not owner.object_exists("k2")
        # presigned V4 URLs are scoped too
        url = wrong.sign_url("GET", "k", 300)
        assert "cn-beijing" in url
        response = requests.get(url, timeout=10)
        assert response.status_code in (400, 403)
        url = oss2_bucket(region_server, owner.bucket_name, "v4").sign_url("GET", "k", 300)
        assert requests.get(url, timeout=10).content == b"x"
    finally:
        empty_and_delete_oss2(owner)


def test_region_scoped_server_v2_sdk(region_server):
    good = v2_client(region_server, "v4", region="cn-hangzhou")
    name = unique_bucket_name("rg")
    good.put_bucket(oss.PutBucketRequest(bucket=name))
    try:
        good.put_object(oss.PutObjectRequest(bucket=name, key="k", body=b"x"))
        location = good.get_bucket_location(oss.GetBucketLocationRequest(bucket=name)).location
        assert location == "oss-cn-hangzhou"
        bad = v2_client(region_server, "v4", region="us-west-1")
        with pytest.raises(oss.exceptions.OperationError) as info:
            bad.get_object(oss.GetObjectRequest(bucket=name, key="k"))
        assert info.value.unwrap().status_code in (400, 403)
        v1_other_region = v2_client(region_server, "v1", region="us-west-1")  # V1 carries no region
        assert v1_other_region.get_object(oss.GetObjectRequest(bucket=name, key="k")).body.read() == b"x"
    finally:
        good.delete_object(oss.DeleteObjectRequest(bucket=name, key="k"))
        good.delete_bucket(oss.DeleteBucketRequest(bucket=name))


def test_unscoped_server_accepts_any_v4_region(server):
    b = oss2_bucket(server, unique_bucket_name(), "v4", region="ap-southeast-1")
    b.create_bucket()
    try:
        b.put_object("k", b"any region")
        assert b.get_object("k").read() == b"any region"
    finally:
        empty_and_delete_oss2(b)
