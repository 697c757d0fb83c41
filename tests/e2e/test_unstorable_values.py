"""Names and values a metadata database cannot hold (a NUL character: PostgreSQL's text refuses it) answer a
4xx on either backend, before or instead of a query, never a 500: bucket names are checked on every request
(InvalidBucketName), and whatever else the database refuses is InvalidArgument, with nothing written.
"""

from __future__ import annotations

import oss2
import pytest

from server import start_server

from .conftest import oss2_auth, unique_bucket_name
from .helpers import parse_error, signed_request


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_server(request, tmp_path):
    extra = ("--metadata", request.getfixturevalue("postgres_url")) if request.param == "postgresql" else ()
    running = start_server(str(tmp_path / "data"), *extra)
    yield request.param, running
    running.stop()


def _error(response) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.content)
    return parse_error(response.content)["Code"]


def test_a_bucket_name_oss_refuses_is_invalid_on_every_request(backend_server):
    _, server = backend_server
    auth = oss2_auth("v4", server)
    for target in ("/nul%00name/", "/nul%00name/key", "/UPPER/", "/a/"):
        for method in ("GET", "PUT", "DELETE", "HEAD"):
            response = signed_request(auth, method, server.endpoint, None, url=server.endpoint + target)
            assert response.status_code == 400, (method, target, response.status_code)
            if method != "HEAD":
                assert parse_error(response.content)["Code"] == "InvalidBucketName"


def test_nul_characters_in_stored_text_are_refused_cleanly(backend_server):
    backend, server = backend_server
    auth = oss2_auth("v4", server)
    name = unique_bucket_name("nul")
    bucket = oss2.Bucket(auth, server.endpoint, name, region="cn-hangzhou")
    bucket.create_bucket()
    bucket.put_object("target", b"data")
    upload_id = bucket.init_multipart_upload("multi").upload_id

    outcomes = {
        "ListBuckets prefix": signed_request(auth, "GET", server.endpoint, None, params={"prefix": "a\x00"}),
        "ListBuckets marker": signed_request(auth, "GET", server.endpoint, None, params={"marker": "a\x00"}),
        "UploadPart upload id": signed_request(auth, "PUT", server.endpoint, name, "multi", data=b"x",
                                               params={"partNumber": "1", "uploadId": upload_id + "\x00"}),
        "ListMultipartUploads upload-id-marker": signed_request(
            auth, "GET", server.endpoint, name, params={"uploads": "", "key-marker": "multi",
                                                         "upload-id-marker": "\x00"}),
        "PutSymlink target": signed_request(auth, "PUT", server.endpoint, name, "link", params={"symlink": ""},
                                            headers={"x-oss-symlink-target": "tar%00get"}),
        "CopyObject source bucket": signed_request(auth, "PUT", server.endpoint, name, "copy",
                                                   headers={"x-oss-copy-source": "/nul%00name/target"}),
    }
    for what, response in outcomes.items():
        assert response.status_code < 500, (what, response.status_code, response.content)
    if backend == "postgresql":
        # SQLite stores a NUL; PostgreSQL's text cannot, and refuses it as a bad argument
        for what in ("UploadPart upload id", "PutSymlink target"):
            assert _error(outcomes[what]) == "InvalidArgument", what
    assert _error(outcomes["CopyObject source bucket"]) == "InvalidBucketName"
    assert [part for part in oss2.PartIterator(bucket, "multi", upload_id)] == []
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("copy")
    assert bucket.get_object("target").read() == b"data"
