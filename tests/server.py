"""Starting a real `ossbox serve` process on a free loopback port, for end-to-end tests and tools."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

ACCESS_KEY_ID = "LTAItestaccesskey000000"
ACCESS_KEY_SECRET = "testsecret0000000000000000000"
_LISTENING = re.compile(r"listening on (https?)://([\d.]+):(\d+)")
_S3_LISTENING = re.compile(r"S3 dialect on https?://[\d.]+:(\d+)")


@dataclass
class RunningServer:
    process: subprocess.Popen
    host: str
    port: int
    data_dir: str
    access_key_id: str = ACCESS_KEY_ID
    access_key_secret: str = ACCESS_KEY_SECRET
    s3_port: int | None = None  # started with --s3-port
    scheme: str = "http"  # https when started with --tls-cert

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def s3_endpoint(self) -> str:
        assert self.s3_port is not None, "this server was started without --s3-port"
        return f"{self.scheme}://{self.host}:{self.s3_port}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def process_alive(pid: int) -> bool:
    """Whether process `pid` still exists (a zombie counts: it is its parent's to reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_server(data_dir: str, *extra_args: str, env: dict[str, str] | None = None,
                 timeout: float = 15) -> RunningServer:
    """Run `python -m ossbox serve --port 0` and wait until it reports the port it listens on."""
    environment = dict(os.environ)
    environment.update({"OSSBOX_ACCESS_KEY_ID": ACCESS_KEY_ID, "OSSBOX_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET})
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "ossbox", "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", data_dir,
         *extra_args],
        stdout=subprocess.PIPE, stderr=None, text=True, env=environment,
    )
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = _LISTENING.search(line)
        if match:
            running = RunningServer(process, match.group(2), int(match.group(3)), data_dir, scheme=match.group(1))
            if "--s3-port" in extra_args:
                s3_match = _S3_LISTENING.search(process.stdout.readline())
                assert s3_match, "ossbox serve --s3-port did not report its S3 port"
                running.s3_port = int(s3_match.group(1))
            return running
    process.kill()
    raise RuntimeError(f"ossbox serve did not start (exit code {process.poll()})")
