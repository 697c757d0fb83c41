"""The S3 dialect driven by the tools people point at S3 without writing code: the AWS CLI (`aws s3` and
`aws s3api`), s3fs (fsspec's file system, as pandas and DuckDB reach S3) and rclone. Each runs for real
against the session's server, with an environment of its own, in buckets it makes itself; what comes back is
compared byte for byte and by MD5 and ETag.

Over plain HTTP none of them sends an aws-chunked body: the AWS CLI and s3fs (botocore) sign the payload's
SHA-256 and put a CRC32 in an `x-amz-checksum-crc32` header; rclone sends single PUTs as UNSIGNED-PAYLOAD
with a Content-MD5, and parts with a signed SHA-256 and a Content-MD5."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import s3fs
from botocore.exceptions import ClientError

from .helpers import random_bytes
from .s3helpers import S3_REGION, empty_and_delete, s3_client

MiB = 1 << 20


# ---- shared ----

@pytest.fixture
def bucket_name(server):
    """A fresh bucket name for the client under test to create; whatever it left is removed afterwards."""
    name = f"clients-{uuid.uuid4().hex[:16]}"
    yield name
    s3 = s3_client(server)
    try:
        s3.head_bucket(Bucket=name)
    except ClientError:
        return  # never made, or removed by the test
    empty_and_delete(s3, name)


def _isolated_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any AWS_ or RCLONE_ setting (a CA bundle in AWS_CA_BUNDLE, for one,
    makes rclone's AWS SDK refuse its own HTTP transport), plus `extra`."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "RCLONE_"))}
    return kept | extra


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _multipart_etag(data: bytes, part_size: int) -> str:
    """The ETag S3 gives an object uploaded in parts of `part_size`: the MD5 of the parts' MD5s, and their count."""
    parts = [data[i:i + part_size] for i in range(0, len(data), part_size)]
    return f'"{hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()}-{len(parts)}"'


def _same_etag(got: str, expected: str) -> bool:
    return got.lower() == expected.lower()  # hex case differs between S3 (lower) and OSS (upper)


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


TREE = {"top.txt": b"top level\n", "a/one.txt": b"one\n", "a/b/deep.bin": random_bytes(3000, seed=5),
        "c/d/e/f/nested.txt": b"four levels down\n", "c/empty": b""}


# ---- the AWS CLI ----

@pytest.fixture
def aws(server, tmp_path):
    """Run `aws <args>` on the S3 port with nothing but the server's credentials (empty config files) and
    return its standard output, parsed as JSON when `parse`."""
    empty = tmp_path / "aws-empty-config"
    empty.write_text("")
    environment = _isolated_environment(
        AWS_ACCESS_KEY_ID=server.access_key_id, AWS_SECRET_ACCESS_KEY=server.access_key_secret,
        AWS_DEFAULT_REGION=S3_REGION, AWS_CONFIG_FILE=str(empty), AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true")

    def run(*args: str, parse: bool = False):
        done = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", server.s3_endpoint, *args],
                              env=environment, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"aws {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
        return json.loads(done.stdout) if parse else done.stdout

    return run


def test_aws_cli_cp_round_trips_a_small_and_a_multipart_file(aws, bucket_name, tmp_path):
    small, large = b"small object via aws s3 cp\n", random_bytes(20 * MiB)
    (tmp_path / "small.txt").write_bytes(small)
    (tmp_path / "large.bin").write_bytes(large)
    assert aws("s3", "mb", f"s3://{bucket_name}") == f"make_bucket: {bucket_name}\n"
    assert bucket_name in aws("s3", "ls").split()
    for name in ("small.txt", "large.bin"):
        uploaded = aws("s3", "cp", "--no-progress", str(tmp_path / name), f"s3://{bucket_name}/up/{name}")
        assert uploaded.split()[-1] == f"s3://{bucket_name}/up/{name}"
    listed = aws("s3api", "list-objects-v2", "--bucket", bucket_name, parse=True)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("up/large.bin", len(large)), ("up/small.txt", len(small))]
    # 20 MiB is over the CLI's 8 MiB multipart threshold: parts of 8, 8 and 4 MiB
    assert _same_etag(listed[0]["ETag"], _multipart_etag(large, 8 * MiB))
    assert _same_etag(listed[1]["ETag"], f'"{_md5(small)}"')
    aws("s3", "cp", "--no-progress", f"s3://{bucket_name}/up/small.txt", str(tmp_path / "small.down"))
    assert (tmp_path / "small.down").read_bytes() == small
    # the large one comes down in 8 MiB ranged GETs, each with If-Match on the ETag
    aws("s3", "cp", "--no-progress", "--recursive", f"s3://{bucket_name}/up/", str(tmp_path / "down"))
    assert _read_tree(tmp_path / "down") == {"small.txt": small, "large.bin": large}


def test_aws_cli_sync_both_ways_then_delete_and_remove(aws, server, bucket_name, tmp_path):
    local, copy = tmp_path / "local", tmp_path / "copy"
    _write_tree(local, TREE)
    an_hour_ago = time.time() - 3600  # older than any upload, even one within the files' own second
    for path in local.rglob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    target = f"s3://{bucket_name}/tree"
    aws("s3", "mb", f"s3://{bucket_name}")
    uploaded = aws("s3", "sync", "--no-progress", str(local), target)
    assert sorted(line.split()[-1] for line in uploaded.splitlines()) == sorted(f"{target}/{k}" for k in TREE)
    assert aws("s3", "sync", "--no-progress", str(local), target) == ""  # same sizes, remote newer: nothing to send
    top = [line.split() for line in aws("s3", "ls", f"{target}/").splitlines()]
    assert [t for t in top if t[0] == "PRE"] == [["PRE", "a/"], ["PRE", "c/"]]
    assert [t[2:] for t in top if t[0] != "PRE"] == [[str(len(TREE["top.txt"])), "top.txt"]]

    aws("s3", "sync", "--no-progress", target, str(copy))
    assert _read_tree(copy) == TREE
    assert aws("s3", "sync", "--no-progress", target, str(copy)) == ""

    (local / "a" / "one.txt").unlink()
    assert aws("s3", "sync", "--no-progress", "--delete", str(local), target).splitlines() == \
        [f"delete: {target}/a/one.txt"]
    listed = aws("s3", "ls", "--recursive", f"s3://{bucket_name}").splitlines()
    assert sorted((line.split()[3], int(line.split()[2])) for line in listed) == \
        sorted((f"tree/{k}", len(v)) for k, v in TREE.items() if k != "a/one.txt")

    removed = aws("s3", "rm", "--recursive", f"s3://{bucket_name}/")
    assert sorted(line.split()[-1] for line in removed.splitlines()) == \
        sorted(f"{target}/{k}" for k in TREE if k != "a/one.txt")
    assert aws("s3", "rb", f"s3://{bucket_name}") == f"remove_bucket: {bucket_name}\n"  # refused unless empty
    with pytest.raises(ClientError) as failure:
        s3_client(server).head_bucket(Bucket=bucket_name)
    assert failure.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_aws_cli_s3api_json(aws, bucket_name, tmp_path):
    body = random_bytes(5000, seed=9)
    (tmp_path / "body").write_bytes(body)
    aws("s3api", "create-bucket", "--bucket", bucket_name)
    put = aws("s3api", "put-object", "--bucket", bucket_name, "--key", "docs/report.bin", "--body",
              str(tmp_path / "body"), "--content-type", "application/x-report", "--metadata", "colour=blue",
              "--tagging", "team=data&stage=raw", parse=True)
    assert _same_etag(put["ETag"], f'"{_md5(body)}"')
    head = aws("s3api", "head-object", "--bucket", bucket_name, "--key", "docs/report.bin", parse=True)
    assert (head["ContentLength"], head["ContentType"], head["Metadata"], head["ETag"]) == \
        (len(body), "application/x-report", {"colour": "blue"}, put["ETag"])
    tags = aws("s3api", "get-object-tagging", "--bucket", bucket_name, "--key", "docs/report.bin", parse=True)
    assert sorted((t["Key"], t["Value"]) for t in tags["TagSet"]) == [("stage", "raw"), ("team", "data")]

    copied = aws("s3api", "copy-object", "--bucket", bucket_name, "--key", "archive/report.bin", "--copy-source",
                 f"{bucket_name}/docs/report.bin", parse=True)
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"]
    got = aws("s3api", "get-object", "--bucket", bucket_name, "--key", "archive/report.bin", str(tmp_path / "got"),
              parse=True)
    assert (tmp_path / "got").read_bytes() == body
    assert (got["ETag"], got["ContentType"], got["Metadata"]) == \
        (put["ETag"], "application/x-report", {"colour": "blue"})
    listed = aws("s3api", "list-objects-v2", "--bucket", bucket_name, parse=True)
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed["Contents"]] == \
        [("archive/report.bin", len(body), put["ETag"]), ("docs/report.bin", len(body), put["ETag"])]


# ---- s3fs ----

@pytest.fixture
def fs(server):
    return s3fs.S3FileSystem(key=server.access_key_id, secret=server.access_key_secret, skip_instance_cache=True,
                             client_kwargs={"endpoint_url": server.s3_endpoint, "region_name": S3_REGION})


def test_s3fs_writes_reads_lists_and_removes(fs, bucket_name):
    large = random_bytes(12 * MiB)
    fs.mkdir(bucket_name)
    fs.pipe(f"{bucket_name}/notes/small.txt", b"written by s3fs\n")
    # 5 MiB blocks written a MiB at a time: s3fs sends a part each time its buffer fills, so three parts
    with fs.open(f"{bucket_name}/data/large.bin", "wb", block_size=5 * MiB) as f:
        for start in range(0, len(large), MiB):
            f.write(large[start:start + MiB])
    fs.invalidate_cache()

    assert fs.cat(f"{bucket_name}/notes/small.txt") == b"written by s3fs\n"
    with fs.open(f"{bucket_name}/data/large.bin", "rb") as f:
        assert f.read() == large
        f.seek(7 * MiB - 10)
        assert f.read(20) == large[7 * MiB - 10:7 * MiB + 10]
    assert fs.cat_file(f"{bucket_name}/data/large.bin", start=100, end=200) == large[100:200]

    info = fs.info(f"{bucket_name}/data/large.bin")
    assert (info["type"], info["size"]) == ("file", len(large))
    assert _same_etag(info["ETag"], _multipart_etag(large, 5 * MiB))
    assert fs.info(f"{bucket_name}/data")["type"] == "directory"
    assert fs.ls(bucket_name, detail=False) == [f"{bucket_name}/data", f"{bucket_name}/notes"]
    assert fs.find(bucket_name) == [f"{bucket_name}/data/large.bin", f"{bucket_name}/notes/small.txt"]
    assert fs.du(bucket_name) == len(large) + len(b"written by s3fs\n")

    fs.rm(f"{bucket_name}/notes/small.txt")
    fs.invalidate_cache()
    assert not fs.exists(f"{bucket_name}/notes/small.txt")
    assert fs.find(bucket_name) == [f"{bucket_name}/data/large.bin"]
    fs.rm(bucket_name, recursive=True)
    fs.invalidate_cache()
    assert not fs.exists(bucket_name)


def test_s3fs_put_and_get_a_tree(fs, bucket_name, tmp_path):
    local, fetched = tmp_path / "local", tmp_path / "fetched"
    _write_tree(local, TREE)
    fs.mkdir(bucket_name)
    fs.put(str(local) + "/", f"{bucket_name}/tree", recursive=True)
    fs.invalidate_cache()
    assert fs.find(f"{bucket_name}/tree") == sorted(f"{bucket_name}/tree/{k}" for k in TREE)
    assert fs.cat(f"{bucket_name}/tree/a/b/deep.bin") == TREE["a/b/deep.bin"]
    fs.get(f"{bucket_name}/tree/", str(fetched), recursive=True)
    assert _read_tree(fetched) == TREE
    fs.rm(f"{bucket_name}/tree/c", recursive=True)
    fs.invalidate_cache()
    assert fs.find(f"{bucket_name}/tree") == sorted(f"{bucket_name}/tree/{k}" for k in TREE if not k.startswith("c/"))


# ---- rclone ----

@pytest.fixture
def rclone(server, tmp_path):
    """Run `rclone <args>` with a remote `ossbox:` on the S3 port defined by environment variables alone;
    returns the finished process (its exit code is the caller's to check)."""
    executable = shutil.which("rclone")
    if executable is None:
        pytest.fail("rclone is not installed: `apt-get install -y rclone` (Debian's; .ci/run installs it)")
    config = tmp_path / "rclone.conf"
    config.write_text("")
    environment = _isolated_environment(
        RCLONE_CONFIG=str(config), RCLONE_CONFIG_OSSBOX_TYPE="s3", RCLONE_CONFIG_OSSBOX_PROVIDER="Other",
        RCLONE_CONFIG_OSSBOX_ACCESS_KEY_ID=server.access_key_id,
        RCLONE_CONFIG_OSSBOX_SECRET_ACCESS_KEY=server.access_key_secret,
        RCLONE_CONFIG_OSSBOX_ENDPOINT=server.s3_endpoint, RCLONE_CONFIG_OSSBOX_REGION=S3_REGION)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([executable, "--low-level-retries", "1", "--retries", "1", *args], env=environment,
                              capture_output=True, text=True, timeout=120, check=False)
        if check:
            assert done.returncode == 0, f"rclone {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
        return done

    return run


def test_rclone_copies_up_and_down_and_checks_hashes(rclone, server, bucket_name, tmp_path):
    local, fetched = tmp_path / "local", tmp_path / "fetched"
    files = TREE | {"big/large.bin": random_bytes(12 * MiB)}
    _write_tree(local, files)
    remote = f"ossbox:{bucket_name}/tree"
    rclone("mkdir", f"ossbox:{bucket_name}")
    # rclone's default cutoff is 200 MiB; these flags make the 12 MiB file go in 5 MiB parts
    rclone("copy", str(local), remote, "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M")

    # the MD5 is the ETag for single PUTs; for multipart ones rclone reads back the x-amz-meta-md5chksum it sent
    listed = json.loads(rclone("lsjson", "-R", "--files-only", "--hash", remote).stdout)
    assert sorted((e["Path"], e["Size"], e["Hashes"]["md5"]) for e in listed) == \
        sorted((k, len(v), _md5(v)) for k, v in files.items())
    for entry in listed:  # modification times ride in x-amz-meta-mtime, and come back on HEAD
        local_mtime = (local / entry["Path"]).stat().st_mtime
        assert abs(datetime.fromisoformat(entry["ModTime"]).timestamp() - local_mtime) < 1e-3
    large = s3_client(server).head_object(Bucket=bucket_name, Key="tree/big/large.bin")
    assert _same_etag(large["ETag"], _multipart_etag(files["big/large.bin"], 5 * MiB))

    rclone("copy", remote, str(fetched))
    assert _read_tree(fetched) == files
    checked = rclone("check", str(local), remote)
    assert "0 differences found" in checked.stderr and f"{len(files)} matching files" in checked.stderr

    # same size and time, other bytes: only the hash (MD5 against the ETag) can tell
    tampered = local / "a" / "one.txt"
    stat = tampered.stat()
    tampered.write_bytes(b"two\n")
    os.utime(tampered, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    mismatch = rclone("check", str(local), remote, check=False)
    assert mismatch.returncode == 1 and "1 differences found" in mismatch.stderr
    assert "a/one.txt: md5 differ" in mismatch.stderr


def test_rclone_sync_delete_and_purge(rclone, server, bucket_name, tmp_path):
    local = tmp_path / "local"
    _write_tree(local, TREE)
    remote = f"ossbox:{bucket_name}/tree"
    rclone("mkdir", f"ossbox:{bucket_name}")
    first = rclone("sync", "-v", str(local), remote)
    assert first.stderr.count("Copied (new)") == len(TREE)
    again = rclone("sync", "-v", str(local), remote)
    assert "Copied" not in again.stderr and ": Deleted" not in again.stderr

    (local / "a" / "one.txt").unlink()
    (local / "top.txt").write_bytes(b"top level, changed\n")
    (local / "added.txt").write_bytes(b"new\n")
    changed = rclone("sync", "-v", str(local), remote)
    assert "a/one.txt: Deleted" in changed.stderr
    expected = _read_tree(local)
    listed = json.loads(rclone("lsjson", "-R", "--files-only", "--hash", remote).stdout)
    assert sorted((e["Path"], e["Hashes"]["md5"]) for e in listed) == sorted((k, _md5(v)) for k, v in expected.items())
    got = s3_client(server).get_object(Bucket=bucket_name, Key="tree/top.txt")["Body"].read()
    assert got == b"top level, changed\n"

    rclone("delete", remote, "--include", "*.txt")
    remaining = rclone("lsf", "-R", "--files-only", remote).stdout.split()
    assert sorted(remaining) == sorted(k for k in expected if not k.endswith(".txt"))
    rclone("purge", f"ossbox:{bucket_name}")
    with pytest.raises(ClientError) as failure:
        s3_client(server).head_bucket(Bucket=bucket_name)
    assert failure.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
