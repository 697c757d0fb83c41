"""Moving a data directory's metadata from SQLite to PostgreSQL with `ossbox metadata copy`, serving it from
there, and `ossbox check --metadata` on it."""

from __future__ import annotations

import os
import subprocess
import sys

import oss2

from server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, start_server


def ossbox(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ossbox", *args], capture_output=True, text=True, timeout=300)


def bucket_on(server, name: str = "moved") -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, name)


def test_a_sqlite_data_directory_moves_to_postgresql_whole(tmp_path, postgres_url):
    data_dir = str(tmp_path / "data")
    part = os.urandom(200 * 1024)
    server = start_server(data_dir)
    try:
        bucket = bucket_on(server)
        bucket.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
        bucket.put_object("plain", b"plain bytes", headers={"x-oss-meta-a": "b", "x-oss-tagging": "t=1"})
        bucket.append_object("log", 0, b"first,")
        bucket.append_object("log", 6, b"second")
        upload_id = bucket.init_multipart_upload("in-progress").upload_id
        first = bucket.upload_part("in-progress", upload_id, 1, part).etag
        bucket.put_symlink("plain", "link")
        before = {obj.key: obj.etag for obj in oss2.ObjectIterator(bucket)}
    finally:
        assert server.stop() == 0

    copied = ossbox("metadata", "copy", f"sqlite://{data_dir}/metadata.sqlite3", postgres_url)
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout.strip() == "copied 1 buckets, 3 objects, 1 uploads, 1 parts, 0 released"
    again = ossbox("metadata", "copy", f"sqlite://{data_dir}/metadata.sqlite3", postgres_url)
    assert again.returncode == 1 and "not empty" in again.stderr

    checked = ossbox("check", "--deep", "--data-dir", data_dir, "--metadata", postgres_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    server = start_server(data_dir, "--metadata", postgres_url)
    try:
        bucket = bucket_on(server)
        assert {obj.key: obj.etag for obj in oss2.ObjectIterator(bucket)} == before
        plain = bucket.get_object("plain")
        assert plain.read() == b"plain bytes" and plain.headers["x-oss-meta-a"] == "b"
        assert bucket.get_object_tagging("plain").tag_set.tagging_rule == {"t": "1"}
        assert bucket.get_object("log").read() == b"first,second"
        assert bucket.get_object("link").read() == b"plain bytes"
        assert bucket.get_bucket_acl().acl == oss2.BUCKET_ACL_PUBLIC_READ
        second = bucket.upload_part("in-progress", upload_id, 2, b"tail").etag
        bucket.complete_multipart_upload("in-progress", upload_id, [oss2.models.PartInfo(1, first),
                                                                    oss2.models.PartInfo(2, second)])
        assert bucket.get_object("in-progress").read() == part + b"tail"
    finally:
        assert server.stop() == 0


def test_check_on_postgresql_reports_a_missing_blob(tmp_path, postgres_url):
    data_dir = str(tmp_path / "data")
    server = start_server(data_dir, "--metadata", postgres_url)
    try:
        bucket = bucket_on(server, "checked")
        bucket.create_bucket()
        bucket.put_object("k", b"bytes")
    finally:
        assert server.stop() == 0
    assert ossbox("check", "--data-dir", data_dir, "--metadata", postgres_url).returncode == 0
    for directory, _, names in os.walk(os.path.join(data_dir, "blobs")):
        for name in names:
            os.unlink(os.path.join(directory, name))
    checked = ossbox("check", "--data-dir", data_dir, "--metadata", postgres_url)
    assert checked.returncode == 1 and checked.stdout.startswith("missing-blob\tchecked/k\t"), checked.stdout
    repaired = ossbox("check", "--repair", "--data-dir", data_dir, "--metadata", postgres_url)
    assert "deleted-object\tchecked/k" in repaired.stdout
    assert ossbox("check", "--data-dir", data_dir, "--metadata", postgres_url).returncode == 0
