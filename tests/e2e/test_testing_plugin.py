"""ossbox.testing: the pytest plugin a plain install registers, OssboxServer, and `ossbox serve --ephemeral`.

Users' test suites are run as they would be, in a pytest of their own (pytester, in a subprocess): the
fixtures work with both SDKs, under pytest-xdist too, with the ini options' credentials and region, and
nothing is left behind (no server process, no data directory), a failing test included. A server whose
starter dies without stopping it stops by itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import oss2
import pytest

from ossbox.testing import OssboxServer, OssboxServerError
from server import process_alive

USER_TESTS = '''
import json, os

def _note(server):
    with open(os.environ["NOTES"], "a") as notes:
        notes.write(json.dumps({"data_dir": server.data_dir, "pid": server.pid}) + "\\n")

def test_oss2(ossbox_server, oss2_bucket):
    _note(ossbox_server)
    oss2_bucket.put_object("hello.txt", b"hello")
    assert oss2_bucket.get_object("hello.txt").read() == b"hello"

def test_v2(ossbox_server, oss_v2_client, oss2_bucket):
    import alibabacloud_oss_v2 as oss
    oss_v2_client.put_object(oss.PutObjectRequest(bucket=oss2_bucket.bucket_name, key="v2", body=b"from v2"))
    assert oss2_bucket.get_object("v2").read() == b"from v2"

def test_s3(ossbox_server, s3_client, oss2_bucket):
    s3_client.put_object(Bucket=oss2_bucket.bucket_name, Key="s3", Body=b"from boto3")
    assert oss2_bucket.get_object("s3").read() == b"from boto3"

def test_a_fresh_bucket_each_time(ossbox_server, oss2_bucket):
    _note(ossbox_server)
    import oss2
    assert [o.key for o in oss2.ObjectIterator(oss2_bucket)] == []
    oss2_bucket.init_multipart_upload("left-open")  # removed with the bucket anyway

def test_logs_expire(ossbox_server, oss2_bucket):  # the README's lifecycle example
    import datetime
    from oss2.models import BucketLifecycle, LifecycleExpiration, LifecycleRule
    rule = LifecycleRule("logs", "logs/", status="Enabled", expiration=LifecycleExpiration(days=30))
    oss2_bucket.put_bucket_lifecycle(BucketLifecycle([rule]))
    oss2_bucket.put_object("logs/a", b"...")
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=31)
    assert ossbox_server.run_lifecycle(later).expired == 1
    assert not oss2_bucket.object_exists("logs/a")

def test_that_fails(oss2_bucket):
    oss2_bucket.put_object("k", b"v")
    assert False, "a failing test leaves nothing behind either"
'''


def _wait_until(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _run_user_suite(pytester, *args: str) -> tuple[pytest.RunResult, list[dict]]:
    notes = pytester.path / "notes.jsonl"
    pytester.makepyfile(test_user=USER_TESTS)
    os.environ["NOTES"] = str(notes)
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)
    finally:
        del os.environ["NOTES"]
    return result, [json.loads(line) for line in notes.read_text().splitlines()]


def _nothing_left(servers: list[dict]) -> None:
    assert servers
    for server in servers:
        assert _wait_until(lambda: not process_alive(server["pid"])), f"server {server['pid']} still running"
        assert not os.path.exists(server["data_dir"]), f"{server['data_dir']} left behind"


def test_the_plugins_fixtures_in_a_users_suite(pytester):
    result, servers = _run_user_suite(pytester)
    result.assert_outcomes(passed=5, failed=1)
    assert len({server["pid"] for server in servers}) == 1  # one server for the session
    _nothing_left(servers)


def test_the_fixtures_under_xdist(pytester):
    result, servers = _run_user_suite(pytester, "-n", "2")
    result.assert_outcomes(passed=5, failed=1)
    _nothing_left(servers)


def test_ini_options_fix_the_credentials_and_the_region(pytester):
    pytester.makeini("""
        [pytest]
        ossbox_region = cn-shanghai
        ossbox_access_key_id = LTAIfixedforthesuite
        ossbox_access_key_secret = fixed-secret
        ossbox_restore_delay = 0
        ossbox_args = --reclaim-delay 0
    """)
    pytester.makepyfile(test_fixed='''
        def test_fixed(ossbox_server, oss2_bucket):
            assert (ossbox_server.access_key_id, ossbox_server.access_key_secret) == ("LTAIfixedforthesuite",
                                                                                     "fixed-secret")
            assert ossbox_server.region == "cn-shanghai"
            oss2_bucket.put_object("k", b"signed for cn-shanghai", headers={"x-oss-storage-class": "Archive"})
            assert oss2_bucket.restore_object("k").status == 202
            assert oss2_bucket.get_object("k").read() == b"signed for cn-shanghai"  # restored at once
    ''')
    pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120).assert_outcomes(passed=1)


def test_ossbox_server_as_a_context_manager():
    with OssboxServer(access_key_id="LTAIcontextmanager", access_key_secret="secret") as server:
        bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint, "context-manager")
        bucket.create_bucket()
        bucket.put_object("k", b"v")
        assert bucket.get_object("k").read() == b"v"
        assert os.path.isdir(server.data_dir) and server.port > 0 and server.region == "cn-hangzhou"
        data_dir, pid = server.data_dir, server.pid
    assert not process_alive(pid) and not os.path.exists(data_dir)


def test_a_server_that_cannot_start_says_why():
    with pytest.raises(OssboxServerError) as failure:
        OssboxServer(args=("--workers", "0")).start()
    assert "workers" in str(failure.value)


def test_a_server_whose_starter_is_killed_stops_by_itself(tmp_path):
    starter = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import json, sys, time
        from ossbox.testing import OssboxServer
        server = OssboxServer().start()
        print(json.dumps({"pid": server.pid, "data_dir": server.data_dir}), flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    announced = json.loads(starter.stdout.readline())
    starter.kill()
    starter.wait()
    _nothing_left([announced])


def test_serve_ephemeral_prints_one_json_line_and_removes_its_data(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "ossbox", "serve", "--ephemeral"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    announced = json.loads(process.stdout.readline())
    assert set(announced) >= {"endpoint", "access_key_id", "access_key_secret", "region", "data_dir"}
    assert announced["endpoint"] == f"http://127.0.0.1:{announced['port']}" and announced["port"] != 9000
    bucket = oss2.Bucket(oss2.Auth(announced["access_key_id"], announced["access_key_secret"]),
                         announced["endpoint"], "ephemeral")
    bucket.create_bucket()
    assert os.path.isdir(announced["data_dir"])
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert process.stdout.read() == ""  # nothing but the one line
    assert not os.path.exists(announced["data_dir"]) and os.listdir(tmp_path) == []


def test_serve_ephemeral_refuses_a_data_dir(tmp_path):
    refused = subprocess.run([sys.executable, "-m", "ossbox", "serve", "--ephemeral", "--data-dir", str(tmp_path)],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "--data-dir" in refused.stderr
