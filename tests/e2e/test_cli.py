"""The client CLI (`python -m ossbox cp|ls|stat|mb|rb|rm|presign`) run as a subprocess against the real server.

Without a terminal: stdout holds only results, stderr only messages, never a progress line, and every
outcome has its documented exit code. Through a pseudo-terminal (stdlib `pty`): the progress bar is drawn.
Buckets are arranged and checked with oss2, which we did not write.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

import oss2
import pytest
import urllib3

import ossbox.client
from ossbox.commands import values
from ossbox.commands.settings import SettingsError, read_config, resolve_settings

from .conftest import REGION, empty_and_delete_oss2, oss2_bucket, unique_bucket_name
from .helpers import random_bytes

MiB = 1 << 20


# ---- harness ---------------------------------------------------------------------------------------------


@pytest.fixture
def env(server, tmp_path):
    """The environment of a CLI run: the server's endpoint and key, a private HOME, no terminal hints."""
    home = tmp_path / "home"
    home.mkdir()
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("OSS_", "OSSBOX_", "XDG_")) and name not in ("NO_COLOR", "TERM")}
    environment.update({"HOME": str(home), "OSS_ENDPOINT": server.endpoint, "OSS_ACCESS_KEY_ID": server.access_key_id,
                        "OSS_ACCESS_KEY_SECRET": server.access_key_secret,
                        "OSSBOX_CHECKPOINT_DIR": str(tmp_path / "checkpoints")})
    return environment


class Cli:
    def __init__(self, env, cwd):
        self.env, self.cwd = env, cwd

    def __call__(self, *args, env: dict | None = None, unset: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        environment = {**self.env, **(env or {})}
        for name in unset:
            environment.pop(name, None)
        return subprocess.run([sys.executable, "-m", "ossbox", *map(str, args)], capture_output=True, text=True,
                              env=environment, cwd=self.cwd, stdin=subprocess.DEVNULL, timeout=120)


@pytest.fixture
def cli(env, tmp_path):
    return Cli(env, tmp_path)


@pytest.fixture
def remote(server):
    """A fresh bucket, arranged and checked through oss2."""
    bucket = oss2_bucket(server, unique_bucket_name("cli"), "v1")
    bucket.create_bucket()
    yield bucket
    empty_and_delete_oss2(bucket)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "\r" not in result.stderr and "ETA" not in result.stderr  # no progress without a terminal
    return result


def fails(result: subprocess.CompletedProcess, code: int, *words: str) -> subprocess.CompletedProcess:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    return result


def run_in_pty(argv: list[str], env: dict, cwd, timeout: float = 60) -> tuple[int, bytes]:
    """Run `argv` with a pseudo-terminal as stdin, stdout and stderr; return (exit code, everything shown)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    shown, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown


# ---- pure parsing (no server) ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, size", [
    ("0", 0), ("1048576", 1048576), ("100k", 100 * 1024), ("100K", 100 * 1024), ("8Mi", 8 * MiB),
    ("10MiB", 10 * MiB), ("1G", 1 << 30), ("1.5Mi", 3 * MiB // 2), ("10MB", 10_000_000), ("512B", 512),
])
def test_sizes_take_binary_suffixes_and_si_units(text, size):
    assert values.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "8X", "-1", "1.3", "Mi"])
def test_sizes_that_are_not_sizes_are_refused(text):
    with pytest.raises(ValueError):
        values.parse_size(text)


@pytest.mark.parametrize("text, byte_range", [("3-9", (3, 9)), ("3-", (3, None)), ("-9", (None, 9)), ("0-0", (0, 0))])
def test_ranges_are_inclusive_as_oss2_byte_range(text, byte_range):
    assert values.parse_range(text) == byte_range


@pytest.mark.parametrize("text", ["9-3", "-", "", "a-b", "-0", "3"])
def test_ranges_that_select_nothing_are_refused(text):
    with pytest.raises(ValueError):
        values.parse_range(text)


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "a//b", "./a", "a/."])
def test_keys_that_would_leave_the_destination_are_refused(relative):
    with pytest.raises(ValueError):
        values.safe_relative_parts(relative)


def test_settings_precedence_is_flags_then_environment_then_config_file():
    config = read_config("[default]\naccessKeyId = cfg-id\naccess_key_secret = cfg-secret\nendpoint = 10.0.0.1:9000\n"
                         "[profile dev]\naccess-key-id = dev-id\naccess-key-secret = dev-secret\nregion = cn-beijing\n",
                         None)
    env = {"OSS_ACCESS_KEY_ID": "env-id", "OSS_ACCESS_KEY_SECRET": "env-secret", "OSS_REGION": "cn-shanghai"}
    flags = {"access_key_id": "flag-id", "access_key_secret": "flag-secret"}
    assert resolve_settings(flags, env, config).access_key_id == "flag-id"
    chosen = resolve_settings({}, env, config)
    assert (chosen.access_key_id, chosen.region, chosen.sign_version) == ("env-id", "cn-shanghai", "v4")
    from_file = resolve_settings({}, {}, config)
    assert (from_file.access_key_id, from_file.endpoint, from_file.sign_version) == \
        ("cfg-id", "http://10.0.0.1:9000", "v1")
    dev = resolve_settings({}, {}, read_config("[profile dev]\naccess-key-id = a\naccess-key-secret = b\n"
                                               "region = cn-beijing\n", "dev"))
    assert (dev.endpoint, dev.sign_version) == ("https://oss-cn-beijing.aliyuncs.com", "v4")
    ossutil1 = read_config("[Credentials]\nendpoint = oss-cn-hangzhou.aliyuncs.com\naccessKeyID = k\n"
                           "accessKeySecret = s\n", None)
    assert resolve_settings({}, {}, ossutil1).region == "cn-hangzhou"
    with pytest.raises(SettingsError, match="no secret"):
        resolve_settings({"access_key_id": "only-half"}, {}, {})
    with pytest.raises(SettingsError):
        read_config("[default]\n", "missing")


# ---- cp ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["v1", "v4"])
def test_cp_uploads_and_downloads_byte_identical_files(cli, remote, tmp_path, signature):
    data = random_bytes(3 * MiB + 17)
    (tmp_path / "data.bin").write_bytes(data)
    region = {"OSS_REGION": REGION} if signature == "v4" else {}
    uploaded = ok(cli("cp", "data.bin", f"oss://{remote.bucket_name}/dir/", env=region))
    assert uploaded.stdout == "" and "uploaded" in uploaded.stderr
    assert remote.get_object("dir/data.bin").read() == data  # a DST ending in / is a directory
    downloaded = ok(cli("cp", f"oss://{remote.bucket_name}/dir/data.bin", "out/", "--sign-version", signature,
                        env=region))
    assert downloaded.stdout == "" and "downloaded" in downloaded.stderr
    assert (tmp_path / "out" / "data.bin").read_bytes() == data
    ok(cli("cp", f"oss://{remote.bucket_name}/dir/data.bin", "parts.bin", "--bigfile-threshold", "1Mi",
           "--part-size", "256k", "--parallel", "3", "-q", env=region))
    assert (tmp_path / "parts.bin").read_bytes() == data
    ok(cli("cp", "parts.bin", f"oss://{remote.bucket_name}/multipart", "--bigfile-threshold", "1Mi",
           "--part-size", "256k", "--parallel", "3", "-q", env=region))
    assert remote.get_object("multipart").read() == data
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]  # no temporary file left


def test_cp_recursive_both_ways_keeps_relative_keys(cli, remote, tmp_path):
    tree = tmp_path / "tree"
    files = {"a.txt": b"a", "sub/b.txt": b"bb", "sub/deeper/c.bin": random_bytes(300_000), "empty": b""}
    for name, content in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(content)
    ok(cli("cp", "-r", "tree", f"oss://{remote.bucket_name}/pre", "-j", "2"))
    keys = sorted(obj.key for obj in oss2.ObjectIterator(remote))
    assert keys == sorted(f"pre/{name}" for name in files)  # the top directory's name is not part of the keys
    result = ok(cli("cp", "-r", f"oss://{remote.bucket_name}/pre/", "copy", "-j", "3", "--parallel", "2"))
    assert "downloaded 4 objects" in result.stderr
    for name, content in files.items():
        assert (tmp_path / "copy" / name).read_bytes() == content


def test_cp_recursive_download_refuses_keys_that_escape_the_destination(cli, remote, server, tmp_path):
    remote.put_object("pre/ok.txt", b"fine")
    # A legal key that as a path would leave the destination (put with ossbox.client, which sends `..` as is).
    ours = ossbox.client.Bucket(ossbox.client.Auth(server.access_key_id, server.access_key_secret), server.endpoint,
                                remote.bucket_name)
    ours.put_object("pre/../escape.txt", b"evil")
    assert "pre/../escape.txt" in [obj.key for obj in oss2.ObjectIterator(remote)]
    result = fails(cli("cp", "-r", f"oss://{remote.bucket_name}/pre/", "dest/"), 4, "pre/../escape.txt",
                   "1 of 2 items failed")
    assert (tmp_path / "dest" / "ok.txt").read_bytes() == b"fine"
    assert not (tmp_path / "escape.txt").exists()
    assert "downloaded" in result.stderr


def test_cp_asks_for_force_or_update_before_overwriting(cli, remote, tmp_path):
    remote.put_object("k", b"remote")
    target = tmp_path / "k"
    target.write_bytes(b"local")
    fails(cli("cp", f"oss://{remote.bucket_name}/k", "k"), 1, "already exists", "-f")
    assert target.read_bytes() == b"local"
    skipped = ok(cli("cp", "-u", f"oss://{remote.bucket_name}/k", "k"))  # the local file is newer
    assert "up to date" in skipped.stderr and target.read_bytes() == b"local"
    os.utime(target, (0, 0))  # now it is older than the object
    ok(cli("cp", "-u", f"oss://{remote.bucket_name}/k", "k"))
    assert target.read_bytes() == b"remote"
    target.write_bytes(b"local again")
    ok(cli("cp", "-f", f"oss://{remote.bucket_name}/k", "k"))
    assert target.read_bytes() == b"remote"
    fails(cli("cp", "k", f"oss://{remote.bucket_name}/k"), 1, "already exists")
    ok(cli("cp", "-f", "-q", "k", f"oss://{remote.bucket_name}/k"))


def test_cp_conditions_exit_6_when_not_modified_and_7_when_a_precondition_fails(cli, remote, tmp_path):
    remote.put_object("k", b"conditional")
    etag = remote.head_object("k").etag
    url = f"oss://{remote.bucket_name}/k"
    fails(cli("cp", "--if-none-match", etag, url, "a"), 6, "not modified")
    fails(cli("cp", "--if-modified-since", "2099-01-01T00:00:00Z", url, "a"), 6, "304")
    fails(cli("cp", "--if-match", "0" * 32, url, "a"), 7, "precondition failed")
    fails(cli("cp", "--if-unmodified-since", "Mon, 01 Jan 2001 00:00:00 GMT", url, "a"), 7, "412")
    assert not (tmp_path / "a").exists()  # nothing downloaded, nothing partial
    ok(cli("cp", "--if-match", etag, "--if-modified-since", "2001-01-01", url, "a"))
    assert (tmp_path / "a").read_bytes() == b"conditional"


def test_cp_conditions_in_a_batch_skip_objects_without_failing(cli, remote, tmp_path):
    remote.put_object("p/a", b"a")
    remote.put_object("p/b", b"b")
    result = ok(cli("cp", "-r", "--if-modified-since", "2099-01-01", f"oss://{remote.bucket_name}/p/", "d/"))
    assert "2 not copied: condition not met" in result.stderr


@pytest.mark.parametrize("text, expected", [
    ("3-9", slice(3, 10)), ("3-", slice(3, None)), ("-9", slice(-9, None)), ("0-0", slice(0, 1)),
    ("10-99999", slice(10, None)), ("99-99", slice(99, 100)),
])
def test_cp_range_is_inclusive(cli, remote, tmp_path, text, expected):
    data = random_bytes(100)
    remote.put_object("k", data)
    ok(cli("cp", "--range", text, f"oss://{remote.bucket_name}/k", "part"))
    assert (tmp_path / "part").read_bytes() == data[expected]


def test_cp_range_past_the_end_is_a_usage_error(cli, remote):
    remote.put_object("k", b"0123456789")
    fails(cli("cp", "--range", "10-", f"oss://{remote.bucket_name}/k", "part"), 1)


def test_cp_errors_have_their_exit_codes_and_go_to_stderr(cli, remote, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    fails(cli("cp", "f", "g"), 1, "local")
    fails(cli("cp", "--range", "9-3", f"oss://{remote.bucket_name}/k", "out"), 1, "--range")
    fails(cli("cp", "--part-size", "8X", f"oss://{remote.bucket_name}/k", "out"), 1, "size")
    fails(cli("cp", "--no-such-option", "f", f"oss://{remote.bucket_name}/"), 1)
    fails(cli("cp", "tree-that-is-not-there", f"oss://{remote.bucket_name}/"), 1, "no such file")
    fails(cli("cp", f"oss://{remote.bucket_name}/missing", "out"), 2, "NoSuchKey")
    fails(cli("cp", "oss://no-such-bucket-cli/k", "out"), 2, "NoSuchBucket", "ossbox mb")
    fails(cli("cp", f"oss://{remote.bucket_name}/k", "out", "--endpoint", "http://127.0.0.1:1"), 3,
          "--endpoint")
    fails(cli("cp", f"oss://{remote.bucket_name}/k", "out", "--access-key-secret", "wrong", "--access-key-id",
              "wrong"), 2, "InvalidAccessKeyId", "access key")
    fails(cli("cp", f"oss://{remote.bucket_name}/k", "out", unset=("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET")),
          1, "no access key")
    fails(cli("nosuchcommand"), 1)
    assert not (tmp_path / "out").exists()


def test_cp_help_documents_the_exit_codes(cli):
    shown = ok(cli("cp", "--help")).stdout
    for line in ("0  success", "4  some items", "5  interrupted", "6  not modified", "7  precondition failed"):
        assert line in shown


def _interrupt_once_checkpointed(command, env, cwd, checkpoints) -> None:
    """Run `ossbox cp`, press Ctrl-C once it has written a checkpoint (the bandwidth limit in `command` keeps
    it going that long), and check it leaves with exit 5 and says how to resume."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
                               stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not (checkpoints.is_dir() and os.listdir(checkpoints)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 5, (out, err)
    assert out == "" and "run the same command again to resume" in err


def test_interrupted_download_exits_5_and_a_rerun_resumes_it(cli, env, remote, tmp_path):
    data = os.urandom(64 * MiB)
    (tmp_path / "source.bin").write_bytes(data)
    ok(cli("cp", "-q", "source.bin", f"oss://{remote.bucket_name}/big"))
    checkpoints = tmp_path / "ck"
    args = [sys.executable, "-m", "ossbox", "cp", f"oss://{remote.bucket_name}/big", "big", "--parallel", "1",
            "--part-size", "512k", "--bigfile-threshold", "1Mi", "--checkpoint-dir", str(checkpoints)]
    _interrupt_once_checkpointed([*args, "--bandwidth-limit", "16Mi"], env, tmp_path, checkpoints)
    assert not (tmp_path / "big").exists()
    record = json.loads((checkpoints / os.listdir(checkpoints)[0]).read_text())
    assert 0 < len(record["body"]["done"]) < 128  # some parts, not all
    ok(cli(*args[3:]))
    assert (tmp_path / "big").read_bytes() == data
    assert os.listdir(checkpoints) == []
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".big")]


def test_interrupted_upload_exits_5_and_a_rerun_resumes_it(cli, env, remote, tmp_path):
    data = os.urandom(32 * MiB)
    (tmp_path / "source.bin").write_bytes(data)
    checkpoints = tmp_path / "ck"
    args = [sys.executable, "-m", "ossbox", "cp", "source.bin", f"oss://{remote.bucket_name}/big", "--parallel", "2",
            "--part-size", "512k", "--bigfile-threshold", "1Mi", "--checkpoint-dir", str(checkpoints)]
    _interrupt_once_checkpointed([*args, "--bandwidth-limit", "8Mi"], env, tmp_path, checkpoints)
    assert not remote.object_exists("big")
    ok(cli(*args[3:]))
    assert remote.get_object("big").read() == data
    assert os.listdir(checkpoints) == []


# ---- progress on a terminal ---------------------------------------------------------------------------------


def test_progress_bar_is_drawn_on_a_terminal_only(env, remote, tmp_path):
    remote.put_object("k", os.urandom(8 * MiB))
    argv = [sys.executable, "-m", "ossbox", "cp", f"oss://{remote.bucket_name}/k", "k", "-f", "--bandwidth-limit",
            "16Mi"]
    code, shown = run_in_pty(argv, {**env, "TERM": "xterm"}, tmp_path)
    assert code == 0, shown
    text = shown.decode()
    assert text.count("\r") > text.count("\n") + 2 and text.count("\x1b[K") >= 3, text
    assert "ETA" in text and "/s" in text and "100%" in text, text
    assert "8.0MiB/8.0MiB" in text and "downloaded" in text
    for plain in ({"TERM": "dumb"}, {"TERM": "xterm", "NO_COLOR": "1"}):
        code, shown = run_in_pty(argv, {**env, **plain}, tmp_path)
        assert code == 0 and b"ETA" not in shown and b"\r\x1b[K" not in shown, shown
    code, shown = run_in_pty([*argv, "-q"], {**env, "TERM": "xterm"}, tmp_path)
    assert code == 0 and shown == b""


def test_exit_code_on_a_terminal_too(env, remote, tmp_path):
    remote.put_object("k", b"x")
    etag = remote.head_object("k").etag
    argv = [sys.executable, "-m", "ossbox", "cp", f"oss://{remote.bucket_name}/k", "k", "--if-none-match", etag]
    code, shown = run_in_pty(argv, {**env, "TERM": "xterm"}, tmp_path)
    assert code == 6 and b"not modified" in shown


# ---- ls, stat ----------------------------------------------------------------------------------------------


@pytest.fixture
def listed(remote):
    remote.put_object("a.txt", b"a" * 1500)
    remote.put_object("dir/b.txt", b"bb")
    remote.put_object("dir/sub/c.txt", b"ccc")
    return remote


@pytest.mark.parametrize("signature", ["v1", "v4"])
def test_ls_lists_buckets_and_objects_in_long_format(cli, listed, signature):
    region = {"OSS_REGION": REGION} if signature == "v4" else {}
    assert f"oss://{listed.bucket_name}" in ok(cli("ls", env=region)).stdout.split()
    lines = ok(cli("ls", f"oss://{listed.bucket_name}", env=region)).stdout.splitlines()
    assert [line.split()[-1] for line in lines] == [f"oss://{listed.bucket_name}/{k}"
                                                    for k in ("a.txt", "dir/b.txt", "dir/sub/c.txt")]
    when, size, storage_class, etag, _ = lines[0].split()
    assert when.endswith("Z") and size == "1500" and storage_class == "Standard"
    assert etag == listed.head_object("a.txt").etag


def test_ls_directories_short_human_and_json(cli, listed):
    url = f"oss://{listed.bucket_name}"
    one_level = ok(cli("ls", "-d", url + "/")).stdout.splitlines()
    assert [line.split()[1] for line in one_level] == ["1500", "DIR"]
    assert one_level[1].split()[-1] == f"{url}/dir/"
    assert ok(cli("ls", "-s", url + "/dir/")).stdout.split() == [f"{url}/dir/b.txt", f"{url}/dir/sub/c.txt"]
    assert "1.5KiB" in ok(cli("ls", "--human-readable", url)).stdout
    entries = json.loads(ok(cli("ls", "--output-format", "json", "-d", url + "/dir/")).stdout)
    assert entries[0]["key"] == "dir/b.txt" and entries[0]["size"] == 2
    assert entries[1] == {"uri": f"{url}/dir/sub/", "key": "dir/sub/", "is_prefix": True}
    buckets = json.loads(ok(cli("ls", "--output-format", "json")).stdout)
    assert listed.bucket_name in [b["name"] for b in buckets]
    fails(cli("ls", "oss://no-such-bucket-cli"), 2, "NoSuchBucket")


def test_global_options_work_before_the_command_too(cli, listed, server):
    result = ok(cli("--region", REGION, "--endpoint", server.endpoint, "ls", "-s", f"oss://{listed.bucket_name}/dir/",
                    unset=("OSS_ENDPOINT",)))
    assert len(result.stdout.split()) == 2


def test_stat_describes_objects_and_buckets(cli, listed):
    text = ok(cli("stat", f"oss://{listed.bucket_name}/a.txt")).stdout
    assert "size" in text and "1500" in text and listed.head_object("a.txt").etag in text
    facts = json.loads(ok(cli("stat", "--output-format", "json", f"oss://{listed.bucket_name}/a.txt")).stdout)
    assert facts["size"] == 1500 and facts["etag"] == listed.head_object("a.txt").etag
    assert json.loads(ok(cli("stat", "--output-format", "json", f"oss://{listed.bucket_name}")).stdout)["name"] == \
        listed.bucket_name
    fails(cli("stat", f"oss://{listed.bucket_name}/missing"), 2, "NoSuchKey")


# ---- mb, rb, rm, presign -------------------------------------------------------------------------------------


def test_mb_rm_and_rb(cli, server, tmp_path):
    name = unique_bucket_name("cli-mb")
    try:
        ok(cli("mb", f"oss://{name}"))
        # OSS answers an owner's repeated PutBucket with 409 BucketAlreadyExists; ossbox's server accepts it
        fails(cli("mb", "-q", f"oss://{name}"), 2, "already exists", "already own")
        bucket = oss2_bucket(server, name, "v1")
        for key in ("keep.txt", "dir/a", "dir/b", "dir/c/d"):
            bucket.put_object(key, b"x")
        fails(cli("rb", f"oss://{name}"), 2, "BucketNotEmpty", "rm -r -f")
        ok(cli("rm", f"oss://{name}/keep.txt"))
        fails(cli("rm", "-r", f"oss://{name}/dir/"), 1, "-f")  # nobody to ask: refused
        removed = ok(cli("rm", "-r", "-f", f"oss://{name}/dir/"))
        assert "removed 3 objects" in removed.stderr
        assert list(oss2.ObjectIterator(bucket)) == []
        ok(cli("rb", f"oss://{name}"))
        fails(cli("ls", f"oss://{name}"), 2, "NoSuchBucket")
        fails(cli("rb", f"oss://{name}/key"), 1)
    finally:
        empty_and_delete_oss2(oss2_bucket(server, name, "v1"))


@pytest.mark.parametrize("signature", ["v1", "v4"])
@pytest.mark.parametrize("command", ["presign", "sign"])
def test_presigned_url_is_fetchable_with_urllib3(cli, remote, signature, command):
    remote.put_object("dir/file name.txt", b"presigned")
    region = {"OSS_REGION": REGION} if signature == "v4" else {}
    url = ok(cli(command, f"oss://{remote.bucket_name}/dir/file name.txt", "--expires", "60",
                 env=region)).stdout.strip()
    assert url.startswith("http") and "\n" not in url
    assert ("x-oss-signature-version=OSS4-HMAC-SHA256" in url) == (signature == "v4")
    response = urllib3.request("GET", url)
    assert response.status == 200 and response.data == b"presigned"
    assert urllib3.request("GET", url.replace("file%20name", "file%20nam")).status == 403


# ---- configuration -------------------------------------------------------------------------------------------


def test_credentials_come_from_an_ossutil_config_file(cli, listed, server, tmp_path):
    config = tmp_path / "ossutilconfig"
    config.write_text(f"[default]\nendpoint = {server.endpoint}\naccessKeyId = wrong\naccessKeySecret = wrong\n\n"
                      f"[profile dev]\naccess-key-id = {server.access_key_id}\n"
                      f"access_key_secret = {server.access_key_secret}\nendpoint = {server.endpoint}\n"
                      f"region = {REGION}\n")
    no_env = ("OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_ENDPOINT")
    url = f"oss://{listed.bucket_name}/dir/"
    assert len(ok(cli("ls", "-s", url, "--config-file", config, "--profile", "dev", unset=no_env)).stdout.split()) == 2
    fails(cli("ls", "-s", url, "--config-file", config, unset=no_env), 2, "InvalidAccessKeyId")
    # precedence: the environment's key wins over the file's, flags over both
    ok(cli("ls", "-s", url, "--config-file", config))
    ok(cli("ls", "-s", url, "--config-file", config, "--access-key-id", server.access_key_id, "--access-key-secret",
           server.access_key_secret, env={"OSS_ACCESS_KEY_ID": "wrong", "OSS_ACCESS_KEY_SECRET": "wrong"}))
    # ossutil 1's file, found at ~/.ossutilconfig without being named
    (tmp_path / "home" / ".ossutilconfig").write_text(
        f"[Credentials]\nlanguage=EN\nendpoint={server.endpoint}\naccessKeyID={server.access_key_id}\n"
        f"accessKeySecret={server.access_key_secret}\n")
    assert len(ok(cli("ls", "-s", url, unset=no_env)).stdout.split()) == 2
    fails(cli("ls", url, "--config-file", tmp_path / "absent"), 1, "does not exist")
    fails(cli("ls", url, "--config-file", config, "--profile", "nope", unset=no_env), 1, "nope")
