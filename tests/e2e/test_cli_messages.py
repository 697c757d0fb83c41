"""What the client CLI says, and the exit code it leaves with, for outcomes that used to be misreported: a
skipped transfer named as the wrong direction, a server-side copy of "0B", `rm` of nothing "removed", `mb` of
an existing bucket "created", a `--range` shown as a Python tuple, half an access key from the flags
refused although the environment held the other half. Run against the real server, arranged with oss2.
"""

from __future__ import annotations

import os

from .conftest import empty_and_delete_oss2, oss2_bucket, unique_bucket_name
from . import test_cli

# test_cli.py's harness: its fixtures (a server-backed environment, the CLI runner, a fresh oss2 bucket) and checks.
cli, env, remote, ok, fails = test_cli.cli, test_cli.env, test_cli.remote, test_cli.ok, test_cli.fails


def test_a_skipped_upload_says_nothing_was_uploaded(cli, remote, tmp_path):
    (tmp_path / "f").write_bytes(b"data")
    url = f"oss://{remote.bucket_name}/k"
    ok(cli("cp", "f", url))
    os.utime(tmp_path / "f", (0, 0))  # older than the object
    skipped = ok(cli("cp", "-u", "f", url)).stderr
    assert "nothing uploaded" in skipped and "skipped 1 (the destination is up to date)" in skipped, skipped
    assert "downloaded" not in skipped and "0 objects" not in skipped
    downloaded = ok(cli("cp", "-u", url, "f")).stderr  # the object is newer: downloaded
    assert downloaded.startswith(f"downloaded {url} -> f (4B)"), downloaded
    assert "nothing downloaded" in ok(cli("cp", "-u", url, "f")).stderr  # now the file is as new
    ok(cli("cp", url, f"oss://{remote.bucket_name}/k2"))
    assert "nothing copied" in ok(cli("cp", "-u", url, f"oss://{remote.bucket_name}/k2")).stderr


def test_a_server_side_copy_reports_the_object_size(cli, remote):
    remote.put_object("k", b"x" * 1536)
    copied = ok(cli("cp", f"oss://{remote.bucket_name}/k", f"oss://{remote.bucket_name}/k2")).stderr
    assert f"copied oss://{remote.bucket_name}/k -> oss://{remote.bucket_name}/k2 (1.5KiB)" in copied, copied
    remote.put_object("dir/a", b"a" * 10)
    remote.put_object("dir/b", b"b" * 20)
    batch = ok(cli("cp", "-r", f"oss://{remote.bucket_name}/dir/", f"oss://{remote.bucket_name}/copy/")).stderr
    assert "copied 2 objects (30B)" in batch, batch


def test_rm_of_a_missing_object_exits_2_and_points_at_a_prefix(cli, remote):
    url = f"oss://{remote.bucket_name}"
    missing = fails(cli("rm", f"{url}/dir/"), 2, "no such object", "nothing was removed").stderr
    assert "removed oss" not in missing and "rm -r" not in missing
    remote.put_object("dir/a", b"a")
    for given in (f"{url}/dir/", f"{url}/dir"):
        fails(cli("rm", given), 2, "no such object", f"ossbox rm -r {url}/dir/")
    assert remote.object_exists("dir/a")
    ok(cli("rm", f"{url}/dir/a"))
    assert not remote.object_exists("dir/a")
    fails(cli("rm", "oss://no-such-bucket-cli/k"), 2, "NoSuchBucket")


def test_mb_of_an_existing_bucket_says_so_and_exits_2(cli, server):
    name = unique_bucket_name("cli-mb")
    try:
        created = ok(cli("mb", f"oss://{name}")).stderr
        assert created.strip() == f"created oss://{name}"
        again = fails(cli("mb", f"oss://{name}"), 2, "BucketAlreadyExists", "already own").stderr
        assert "created" not in again
    finally:
        empty_and_delete_oss2(oss2_bucket(server, name, "v1"))


def test_an_unsatisfiable_range_is_shown_as_given_with_the_object_size(cli, remote, tmp_path):
    remote.put_object("k", b"0123456789")
    for destination in ("part", "-"):
        shown = fails(cli("cp", "--range", "100-200", f"oss://{remote.bucket_name}/k", destination), 1,
                      "--range 100-200", "10 bytes").stderr
        assert "(100, 200)" not in shown and "byte_range" not in shown
    fails(cli("cp", "--range", "10-", f"oss://{remote.bucket_name}/k", "part"), 1, "--range 10-")
    assert not (tmp_path / "part").exists()


def test_flags_and_environment_combine_part_by_part_for_the_access_key(cli, remote, server):
    remote.put_object("k", b"x")
    url = f"oss://{remote.bucket_name}/"
    # the secret from -k, the key id from OSS_ACCESS_KEY_ID (and the other way round)
    assert ok(cli("ls", "-s", url, "-k", server.access_key_secret, unset=("OSS_ACCESS_KEY_SECRET",))).stdout.split() \
        == [f"{url}k"]
    ok(cli("ls", "-s", url, "-i", server.access_key_id, unset=("OSS_ACCESS_KEY_ID",)))
    # the flag wins over the environment for its own part only
    fails(cli("ls", "-s", url, "-k", "wrong-secret"), 2, "SignatureDoesNotMatch")
    fails(cli("ls", "-s", url, "-k", server.access_key_secret, unset=("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET")),
          1, "no key id", "--access-key-id")
