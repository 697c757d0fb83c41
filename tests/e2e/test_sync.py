"""`ossbox sync SRC DST` run as a subprocess against the real server, in each direction: local directory to
prefix, prefix to local directory, prefix to prefix (server-side copies). Buckets are arranged and checked
with oss2. A second run copies nothing; a changed file is copied again; `--delete` deletes only inside DST;
`--dry-run` changes nothing; the include/exclude rules, odd keys, nested directories, a multipart file, exit
codes, and the bandwidth limit's rate.
"""

from __future__ import annotations

import os
import re
import time

import oss2
import pytest

import ossbox.client

from .helpers import random_bytes
from . import test_cli

# test_cli.py's harness: its fixtures (a server-backed environment, the CLI runner, a fresh oss2 bucket) and checks.
cli, env, remote, ok, fails = test_cli.cli, test_cli.env, test_cli.remote, test_cli.ok, test_cli.fails

MiB = 1 << 20

# Names with what URLs, XML and paths treat specially: spaces, `+`, `%`, Unicode, nesting.
TREE = {
    "a.txt": b"alpha",
    "with space.txt": b"spaced",
    "plus+and%25percent.bin": b"plus",
    "ünï/cödé ✓.txt": "unicode ✓".encode(),
    "sub/deeper/deepest/leaf.log": b"leaf",
    "sub/empty": b"",
}


def write_tree(root, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def read_tree(root) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def objects(bucket: oss2.Bucket, prefix: str = "") -> dict[str, bytes]:
    return {obj.key[len(prefix):]: bucket.get_object(obj.key).read()
            for obj in oss2.ObjectIterator(bucket, prefix=prefix)}


def put_tree(bucket: oss2.Bucket, prefix: str, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        bucket.put_object(prefix + name, content)


def age(path, seconds: float = 3600) -> None:
    """Make a file look older than anything the server stored since."""
    old = time.time() - seconds
    os.utime(path, (old, old))


# ---- each direction, and a second run ------------------------------------------------------------------------


def test_sync_uploads_a_tree_and_a_second_run_uploads_nothing(cli, remote, tmp_path):
    write_tree(tmp_path / "tree", TREE)
    first = ok(cli("sync", "tree", f"oss://{remote.bucket_name}/pre", "-j", "4"))
    assert first.stdout == "" and f"uploaded {len(TREE)} objects" in first.stderr, first.stderr
    assert objects(remote, "pre/") == TREE
    second = ok(cli("sync", "tree/", f"oss://{remote.bucket_name}/pre/"))
    assert second.stderr.strip() == f"nothing uploaded; skipped {len(TREE)} (up to date)"


def test_sync_downloads_a_tree_with_the_objects_times_and_nothing_goes_back(cli, remote, tmp_path):
    put_tree(remote, "pre/", TREE)
    first = ok(cli("sync", f"oss://{remote.bucket_name}/pre/", "copy"))
    assert f"downloaded {len(TREE)} objects" in first.stderr, first.stderr
    assert read_tree(tmp_path / "copy") == TREE
    for name in TREE:
        assert os.stat(tmp_path / "copy" / name).st_mtime == remote.head_object("pre/" + name).last_modified
    assert "nothing downloaded" in ok(cli("sync", f"oss://{remote.bucket_name}/pre", "copy")).stderr
    assert "nothing uploaded" in ok(cli("sync", "copy", f"oss://{remote.bucket_name}/pre")).stderr


def test_sync_copies_between_prefixes_on_the_server(cli, remote, server, tmp_path):
    put_tree(remote, "from/", TREE)
    other = f"{remote.bucket_name}"
    first = ok(cli("sync", f"oss://{other}/from", f"oss://{other}/to"))
    assert f"copied {len(TREE)} objects" in first.stderr, first.stderr
    assert objects(remote, "to/") == TREE
    assert "nothing copied" in ok(cli("sync", f"oss://{other}/from", f"oss://{other}/to")).stderr
    fails(cli("sync", f"oss://{other}/from", f"oss://{other}/from/inner"), 1, "overlap")


# ---- what is copied again ------------------------------------------------------------------------------------


def test_a_changed_file_is_uploaded_again(cli, remote, tmp_path):
    write_tree(tmp_path / "tree", {"size": b"one", "time": b"same", "content": b"1234"})
    url = f"oss://{remote.bucket_name}/p"
    ok(cli("sync", "tree", url))
    (tmp_path / "tree" / "size").write_bytes(b"three")  # another size
    future = time.time() + 120
    os.utime(tmp_path / "tree" / "time", (future, future))  # the same size, a newer time
    (tmp_path / "tree" / "content").write_bytes(b"abcd")  # the same size, an older time: only --checksum sees it
    age(tmp_path / "tree" / "content")
    assert "uploaded 2 objects" in ok(cli("sync", "tree", url)).stderr
    assert objects(remote, "p/") == {"size": b"three", "time": b"same", "content": b"1234"}
    assert "nothing uploaded; skipped 3" in ok(cli("sync", "tree", url, "--size-only")).stderr
    checked = ok(cli("sync", "tree", url, "--checksum")).stderr
    assert "uploaded tree/content -> " in checked and "skipped 2" in checked, checked
    assert objects(remote, "p/")["content"] == b"abcd"
    assert "nothing uploaded" in ok(cli("sync", "tree", url, "--checksum")).stderr


def test_a_changed_object_is_downloaded_again(cli, remote, tmp_path):
    put_tree(remote, "p/", {"size": b"one", "content": b"1234"})
    url = f"oss://{remote.bucket_name}/p"
    ok(cli("sync", url, "copy"))
    remote.put_object("p/size", b"three")
    assert "downloaded" in ok(cli("sync", url, "copy")).stderr
    assert (tmp_path / "copy" / "size").read_bytes() == b"three"
    local = tmp_path / "copy" / "content"
    mtime = local.stat().st_mtime
    local.write_bytes(b"abcd")  # the same size and, as far as sync can tell, the same time
    os.utime(local, (mtime, mtime))
    assert "nothing downloaded" in ok(cli("sync", url, "copy")).stderr
    assert "downloaded" in ok(cli("sync", url, "copy", "--checksum")).stderr
    assert local.read_bytes() == b"1234"


def test_checksum_between_prefixes_compares_contents(cli, remote):
    put_tree(remote, "a/", {"same": b"same", "differs": b"1234"})
    put_tree(remote, "b/", {"same": b"same", "differs": b"abcd"})  # newer, same sizes
    a, b = f"oss://{remote.bucket_name}/a", f"oss://{remote.bucket_name}/b"
    assert "nothing copied" in ok(cli("sync", a, b)).stderr
    checked = ok(cli("sync", a, b, "--checksum")).stderr
    assert f"copied {a}/differs -> {b}/differs" in checked and "skipped 1" in checked, checked
    assert remote.get_object("b/differs").read() == b"1234"


# ---- --delete, --dry-run, include/exclude -------------------------------------------------------------------


def test_delete_on_upload_removes_only_objects_under_the_prefix(cli, remote, tmp_path):
    write_tree(tmp_path / "tree", {"keep": b"k"})
    put_tree(remote, "", {"pre/gone": b"g", "pre/sub/gone": b"g", "pre2/outside": b"o", "outside": b"o",
                          "pre/excluded.log": b"x"})
    url = f"oss://{remote.bucket_name}/pre"
    dry = ok(cli("sync", "tree", url, "--delete", "--exclude", "*.log", "--dry-run"))
    assert dry.stdout.splitlines() == [f"(dry run) upload: tree/keep -> {url}/keep", f"(dry run) delete: {url}/gone",
                                       f"(dry run) delete: {url}/sub/gone"]
    assert len(objects(remote)) == 5  # nothing changed
    done = ok(cli("sync", "tree", url, "--delete", "--exclude", "*.log")).stderr
    assert "deleted 2 objects" in done, done
    assert sorted(objects(remote)) == ["outside", "pre/excluded.log", "pre/keep", "pre2/outside"]


def test_delete_on_download_removes_only_files_inside_the_directory(cli, remote, tmp_path):
    put_tree(remote, "p/", {"keep": b"k"})
    write_tree(tmp_path, {"copy/gone": b"g", "copy/sub/gone": b"g", "copy-sibling/outside": b"o", "outside": b"o"})
    url = f"oss://{remote.bucket_name}/p"
    dry = ok(cli("sync", url, "copy", "--delete", "-n"))
    assert "(dry run) delete: copy/gone" in dry.stdout and "(dry run) delete: copy/sub/gone" in dry.stdout
    assert (tmp_path / "copy" / "gone").exists() and not (tmp_path / "copy" / "keep").exists()
    assert "deleted 2 files" in ok(cli("sync", url, "copy", "--delete")).stderr
    assert read_tree(tmp_path / "copy") == {"keep": b"k"}
    assert (tmp_path / "copy-sibling" / "outside").exists() and (tmp_path / "outside").exists()


def test_delete_between_prefixes(cli, remote):
    put_tree(remote, "", {"a/keep": b"k", "b/keep": b"k", "b/gone": b"g", "bb/outside": b"o"})
    ok(cli("sync", f"oss://{remote.bucket_name}/a", f"oss://{remote.bucket_name}/b", "--delete"))
    assert sorted(objects(remote)) == ["a/keep", "b/keep", "bb/outside"]


def test_dry_run_changes_nothing_in_any_direction(cli, remote, tmp_path):
    write_tree(tmp_path / "tree", {"new": b"n"})
    put_tree(remote, "p/", {"remote-only": b"r"})
    before = objects(remote)
    for source, destination in (("tree", f"oss://{remote.bucket_name}/p"), (f"oss://{remote.bucket_name}/p", "tree"),
                                (f"oss://{remote.bucket_name}/p", f"oss://{remote.bucket_name}/q")):
        shown = ok(cli("sync", source, destination, "--delete", "--dry-run"))
        assert shown.stdout.startswith("(dry run) ") and "nothing changed" in shown.stderr, shown
    assert objects(remote) == before and read_tree(tmp_path / "tree") == {"new": b"n"}


def test_include_and_exclude_the_last_matching_rule_wins(cli, remote, tmp_path):
    write_tree(tmp_path / "tree", {"a.jpg": b"1", "b.png": b"2", "deep/c.jpg": b"3", "deep/skip/d.jpg": b"4"})
    url = f"oss://{remote.bucket_name}/p"
    ok(cli("sync", "tree", url, "--exclude", "*", "--include", "*.jpg", "--exclude", "deep/skip/*"))
    assert sorted(objects(remote, "p/")) == ["a.jpg", "deep/c.jpg"]
    ok(cli("sync", url, "back", "--include", "*.png", "--exclude", "*"))  # the exclude comes last: nothing
    assert not (tmp_path / "back").exists()


# ---- large files, failures, exit codes ------------------------------------------------------------------------


def test_a_large_file_goes_in_parts_both_ways_byte_identical(cli, remote, tmp_path):
    data = os.urandom(12 * MiB + 3)
    write_tree(tmp_path / "tree", {"big.bin": data, "small": b"s"})
    parts = ("--part-size", "1Mi", "--bigfile-threshold", "4Mi", "--parallel", "3")
    ok(cli("sync", "tree", f"oss://{remote.bucket_name}/p", *parts))
    assert remote.head_object("p/big.bin").etag.endswith("-13")  # 12 parts of 1 MiB and a 3-byte one
    ok(cli("sync", f"oss://{remote.bucket_name}/p", "back", *parts))
    assert (tmp_path / "back" / "big.bin").read_bytes() == data
    assert not [name for name in os.listdir(tmp_path / "back") if name.startswith(".")]  # no temporary file left


def test_a_failed_item_exits_4_and_holds_back_the_deletions(cli, remote, server, tmp_path):
    ours = ossbox.client.Bucket(ossbox.client.Auth(server.access_key_id, server.access_key_secret), server.endpoint,
                                remote.bucket_name)
    ours.put_object("p/../escape", b"evil")  # a legal key that cannot be a file inside the destination
    remote.put_object("p/fine", b"fine")
    write_tree(tmp_path, {"copy/stale": b"s"})
    result = fails(cli("sync", f"oss://{remote.bucket_name}/p", "copy", "--delete"), 4, "p/../escape",
                   "1 deletion not done")
    assert "downloaded" in result.stderr
    assert read_tree(tmp_path / "copy") == {"fine": b"fine", "stale": b"s"}
    assert not (tmp_path / "escape").exists()


def test_sync_exit_codes(cli, remote, tmp_path):
    write_tree(tmp_path, {"tree/a": b"a", "file": b"f"})
    fails(cli("sync", "tree", "oss://no-such-bucket-sync/p"), 2, "NoSuchBucket", "ossbox mb oss://no-such-bucket-sync")
    fails(cli("sync", "oss://no-such-bucket-sync/p", "copy"), 2, "NoSuchBucket")
    fails(cli("sync", f"oss://{remote.bucket_name}", "oss://no-such-bucket-sync"), 2, "oss://no-such-bucket-sync`")
    fails(cli("sync", "tree", "elsewhere"), 1, "local")
    fails(cli("sync", "file", f"oss://{remote.bucket_name}/p"), 1, "not a directory")
    fails(cli("sync", "missing", f"oss://{remote.bucket_name}/p"), 1, "no such directory")
    fails(cli("sync", "tree", f"oss://{remote.bucket_name}/p", "--part-size", "0"), 1, "--part-size")
    fails(cli("sync", "tree", f"oss://{remote.bucket_name}/p", "--no-such-option"), 1)
    fails(cli("sync", "tree"), 1)
    assert objects(remote) == {}


# ---- the bandwidth limit ------------------------------------------------------------------------------------


def _elapsed(stderr: str) -> float:
    """The transfer's seconds, as the summary line gives them (the process's start-up left out)."""
    return float(re.search(r" in (\d+\.\d)s", stderr).group(1))


@pytest.mark.parametrize("command", ["cp upload", "cp download", "sync upload", "sync download"])
def test_the_bandwidth_limit_holds_the_rate_within_ten_percent(cli, remote, tmp_path, command):
    """4 MiB at 1 MiB/s: 4 s (in files of 1 MiB, 4 at once, for sync: the limit is shared). The throttle lets a
    quarter of a second's bytes through at once, so about 3.75 s is expected; the bounds are 10% either side
    of 4 s."""
    name, direction = command.split()
    files = {"one": random_bytes(4 * MiB)} if name == "cp" else {f"f{n}": os.urandom(MiB) for n in range(4)}
    url = f"oss://{remote.bucket_name}/p/"
    if direction == "upload":
        write_tree(tmp_path / "tree", files)
        source, destination = ("tree/one" if name == "cp" else "tree"), url
    else:
        put_tree(remote, "p/", files)
        source, destination = (url + "one" if name == "cp" else url), "back/"
    started = time.monotonic()
    result = ok(cli(name, source, destination, "--bandwidth-limit", "1Mi", "-j", "4"))
    wall = time.monotonic() - started
    elapsed = _elapsed(result.stderr)
    assert 0.9 * 4 <= elapsed <= 1.1 * 4, (elapsed, result.stderr)
    assert wall >= elapsed
    if direction == "upload":
        assert objects(remote, "p/") == files
    else:
        assert read_tree(tmp_path / "back") == files
