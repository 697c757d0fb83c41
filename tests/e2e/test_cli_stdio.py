"""`ossbox cp oss://b/k -` streams an object to standard output and `ossbox cp - oss://b/k` uploads standard
input, against the real server: byte for byte, through real pipes, in parts when the input is long, holding
only a few parts in memory and writing no file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from .helpers import random_bytes
from . import test_cli

# test_cli.py's harness: its fixtures (a server-backed environment, the CLI runner, a fresh oss2 bucket) and checks.
cli, env, remote, ok, fails = test_cli.cli, test_cli.env, test_cli.remote, test_cli.ok, test_cli.fails

MiB = 1 << 20
EVERY_BYTE = bytes(range(256)) * 64 + b"\r\n\x00\x1a\r" * 10  # nothing may be translated or cut


def _ossbox(*args: str) -> list[str]:
    return [sys.executable, "-m", "ossbox", *args]


def _feed(argv: list[str], env: dict, cwd, data: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(argv, input=data, capture_output=True, env=env, cwd=cwd, timeout=120)


def test_cp_to_dash_writes_the_object_to_stdout_and_nothing_else(cli, remote, tmp_path):
    remote.put_object("k", EVERY_BYTE)
    url = f"oss://{remote.bucket_name}/k"
    whole = subprocess.run(_ossbox("cp", url, "-"), capture_output=True, env=cli.env, cwd=tmp_path, timeout=60)
    assert whole.returncode == 0 and whole.stdout == EVERY_BYTE, whole.stderr
    assert b"downloaded" in whole.stderr and b"\r" not in whole.stderr  # the summary on stderr, no progress
    assert not (tmp_path / "-").exists() and os.listdir(tmp_path) == ["home"]  # no file named -, nothing else
    for text, expected in (("3-9", EVERY_BYTE[3:10]), ("-5", EVERY_BYTE[-5:]), ("16380-", EVERY_BYTE[16380:])):
        ranged = subprocess.run(_ossbox("cp", "--range", text, url, "-", "-q"), capture_output=True, env=cli.env,
                                cwd=tmp_path, timeout=60)
        assert ranged.returncode == 0 and ranged.stdout == expected and ranged.stderr == b"", ranged.stderr


def test_cp_to_dash_through_a_pipe_is_byte_identical(cli, remote, tmp_path):
    data = random_bytes(3 * MiB + 5)
    (tmp_path / "original").write_bytes(data)
    remote.put_object("big", data)
    piped = subprocess.run(f"{sys.executable} -m ossbox cp -q oss://{remote.bucket_name}/big - | cmp - original",
                           shell=True, capture_output=True, text=True, env=cli.env, cwd=tmp_path, timeout=60)
    assert piped.returncode == 0, (piped.stdout, piped.stderr)
    fails(cli("cp", "-r", f"oss://{remote.bucket_name}/", "-"), 1, "standard output")


def test_cp_from_dash_uploads_long_input_in_parts(cli, remote, tmp_path):
    data = os.urandom(25 * MiB)
    url = f"oss://{remote.bucket_name}/from-stdin"
    result = _feed(_ossbox("cp", "-", url, "--part-size", "10Mi"), cli.env, tmp_path, data)
    assert result.returncode == 0, result.stderr
    assert b"uploaded standard input -> " + url.encode() + b" (25.0MiB)" in result.stderr
    head = remote.head_object("from-stdin")
    assert head.object_type == "Multipart" and head.etag.endswith("-3")  # 10 + 10 + 5 MiB
    assert hashlib.md5(remote.get_object("from-stdin").read()).digest() == hashlib.md5(data).digest()
    assert os.listdir(tmp_path) == ["home"]  # no temporary file of the input
    assert list(remote.list_multipart_uploads().upload_list) == []
    (tmp_path / "input").write_bytes(data)
    piped = subprocess.run(f"{sys.executable} -m ossbox cp -q {url} - | cmp - input", shell=True, capture_output=True,
                           env=cli.env, cwd=tmp_path, timeout=60)
    assert piped.returncode == 0, piped.stderr


def test_cp_from_dash_uploads_short_input_as_one_put(cli, remote, tmp_path):
    url = f"oss://{remote.bucket_name}/small"
    result = _feed(_ossbox("cp", "-", url), cli.env, tmp_path, EVERY_BYTE)
    assert result.returncode == 0, result.stderr
    head = remote.head_object("small")
    assert head.object_type == "Normal" and head.etag.lower() == hashlib.md5(EVERY_BYTE).hexdigest()
    assert remote.get_object("small").read() == EVERY_BYTE
    empty = _feed(_ossbox("cp", "-", f"oss://{remote.bucket_name}/empty"), cli.env, tmp_path, b"")
    assert empty.returncode == 0 and remote.get_object("empty").read() == b""
    again = _feed(_ossbox("cp", "-", url), cli.env, tmp_path, b"new")  # exists: -f, as for any upload
    assert again.returncode == 1 and b"-f" in again.stderr and remote.get_object("small").read() == EVERY_BYTE
    assert _feed(_ossbox("cp", "-f", "-", url), cli.env, tmp_path, b"new").returncode == 0
    assert remote.get_object("small").read() == b"new"
    fails(cli("cp", "-", f"oss://{remote.bucket_name}/dir/"), 1, "standard input")


# Runs argv[1:] as a grandchild and prints its peak RSS (KiB) last on stderr: a child forked from pytest would
# report pytest's own RSS as its peak (Linux keeps the high-water mark across exec).
_PEAK_RSS = ("import os, subprocess, sys; child = subprocess.Popen(sys.argv[1:]); "
             "_, status, usage = os.wait4(child.pid, 0); child.returncode = 0; "
             "print(usage.ru_maxrss, file=sys.stderr); sys.exit(os.waitstatus_to_exitcode(status))")


def test_cp_from_dash_holds_a_few_parts_in_memory(cli, remote, tmp_path):
    """64 MiB through 2 MiB parts, 2 at once: the process stays far below the input's size (reading the whole
    input first would take 64 MiB more than the client itself, about 30 MiB)."""
    data = os.urandom(64 * MiB)
    result = _feed([sys.executable, "-c", _PEAK_RSS, *_ossbox("cp", "-", f"oss://{remote.bucket_name}/big",
                                                             "--part-size", "2Mi", "--parallel", "2")],
                   cli.env, tmp_path, data)
    assert result.returncode == 0, result.stderr
    peak_mib = int(result.stderr.split()[-1]) / 1024
    assert peak_mib < 64, f"peak RSS {peak_mib:.0f} MiB"
    assert remote.head_object("big").etag.endswith("-32")
    assert hashlib.md5(remote.get_object("big").read()).digest() == hashlib.md5(data).digest()
