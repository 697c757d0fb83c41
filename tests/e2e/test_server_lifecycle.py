"""The server process itself: start-up, generated credentials, graceful stop, crash recovery."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time

import oss2
import pytest

from server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, start_server


def _blob_files(data_dir: str) -> list[str]:
    found = []
    for area in ("blobs", "tmp"):
        for root, _dirs, files in os.walk(os.path.join(data_dir, area)):
            found.extend(os.path.join(root, name) for name in files)
    return found


def _start_raw_put(endpoint: str, bucket: str, key: str, total: int, first_part: bytes) -> socket.socket:
    """Send the headers and the first bytes of a signed PUT, leaving the rest of the body unsent."""
    auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    request = oss2.http.Request("PUT", f"{endpoint}/{bucket}/{key}", headers={"Content-Length": str(total)})
    auth._sign_request(request, bucket, key)
    host, port = endpoint.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    head = f"PUT /{bucket}/{key} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
    sock.sendall((head + "\r\n").encode() + first_part)
    return sock


def test_generated_credentials_are_private_and_printed_once(tmp_path):
    data_dir = str(tmp_path / "data")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OSSBOX_ACCESS_KEY")}

    def run_briefly() -> str:
        process = subprocess.Popen(
            [sys.executable, "-m", "ossbox", "serve", "--port", "0", "--data-dir", data_dir],
            stdout=subprocess.PIPE, text=True, env=environment,
        )
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "listening on" in line:
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        return "".join(lines)

    first = run_briefly()
    stored = json.loads((tmp_path / "data" / "credentials.json").read_text())
    mode = stat.S_IMODE(os.stat(tmp_path / "data" / "credentials.json").st_mode)
    assert mode == 0o600
    assert stored["access_key_secret"] in first
    second = run_briefly()
    assert stored["access_key_id"] in second
    assert stored["access_key_secret"] not in second


def test_sigterm_lets_an_upload_in_flight_finish(tmp_path):
    server = start_server(str(tmp_path / "data"))
    try:
        bucket = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, "graceful")
        bucket.create_bucket()
        body = os.urandom(3 << 20)
        sock = _start_raw_put(server.endpoint, "graceful", "object", len(body), body[:1 << 20])
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        sock.sendall(body[1 << 20:])
        reply = sock.recv(65536).decode("latin-1")
        sock.close()
        assert reply.startswith("HTTP/1.1 200"), reply
        assert server.process.wait(30) == 0
    finally:
        server.stop()
    restarted = start_server(str(tmp_path / "data"))
    try:
        bucket = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), restarted.endpoint, "graceful")
        assert bucket.get_object("object").read() == body
    finally:
        assert restarted.stop() == 0


def test_kill_during_upload_leaves_no_object_and_no_orphan(tmp_path):
    data_dir = str(tmp_path / "data")
    server = start_server(data_dir)
    try:
        bucket = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, "crash")
        bucket.create_bucket()
        bucket.put_object("object", b"old version")
        sock = _start_raw_put(server.endpoint, "crash", "object", 8 << 20, os.urandom(2 << 20))
        time.sleep(0.5)
        assert len(_blob_files(data_dir)) == 2  # the old version and the upload in progress
        server.process.kill()
        server.process.wait()
        sock.close()
    finally:
        server.stop()
    restarted = start_server(data_dir)
    try:
        bucket = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), restarted.endpoint, "crash")
        assert bucket.get_object("object").read() == b"old version"
        deadline = time.monotonic() + 30  # the start-up sweep runs in the background, once the server listens
        while len(_blob_files(data_dir)) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_blob_files(data_dir)) == 1
    finally:
        assert restarted.stop() == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_idle_server_stops_cleanly_on_signal(tmp_path, signum):
    server = start_server(str(tmp_path / "data"))
    assert server.stop(signum) == 0


def test_an_upload_whose_body_stalls_is_given_up_and_leaves_nothing(tmp_path):
    data_dir = str(tmp_path / "data")
    server = start_server(data_dir, "--body-timeout", "1")
    try:
        bucket = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, "stalled")
        bucket.create_bucket()
        sock = _start_raw_put(server.endpoint, "stalled", "object", 4 << 20, os.urandom(1 << 20))
        sock.settimeout(10)
        started = time.monotonic()
        reply = sock.recv(65536).decode("latin-1")
        sock.close()
        assert reply.startswith("HTTP/1.1 400"), reply
        assert "<Code>RequestTimeout</Code>" in reply
        assert time.monotonic() - started < 5
        assert not bucket.object_exists("object")
        assert _blob_files(data_dir) == []
    finally:
        assert server.stop() == 0


def _serve_again(data_dir: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ossbox", "serve", "--port", "0", "--data-dir", data_dir],
        env={**os.environ, "OSSBOX_ACCESS_KEY_ID": ACCESS_KEY_ID, "OSSBOX_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET},
        capture_output=True, text=True, timeout=30)


def test_a_second_server_on_the_same_data_dir_is_refused(tmp_path):
    data_dir = str(tmp_path / "data")
    server = start_server(data_dir)
    try:
        second = _serve_again(data_dir)
        assert second.returncode == 1
        assert f"in use by another ossbox process (pid {server.process.pid})" in second.stderr
        assert "Traceback" not in second.stderr
        repair = subprocess.run([sys.executable, "-m", "ossbox", "check", "--data-dir", data_dir, "--repair"],
                                capture_output=True, text=True, timeout=30)
        assert repair.returncode == 2 and "in use by another ossbox process" in repair.stderr
    finally:
        server.stop(signal.SIGKILL)  # the kernel drops the lock with the process
    start_server(data_dir).stop()
