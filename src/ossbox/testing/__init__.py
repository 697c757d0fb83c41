"""ossbox inside other projects' tests: a real server, started in a fraction of a second, gone afterwards.

    from ossbox.testing import OssboxServer

    with OssboxServer() as server:
        bucket = oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint, "b")

Installing ossbox also registers a pytest plugin (`ossbox.testing.plugin`) with the fixtures
`ossbox_server`, `oss2_bucket` and `oss_v2_client`.

Strategy: `ossbox serve --ephemeral` in a child process, which keeps its data in a temporary directory it
removes when it stops, announces itself as one JSON line, and stops by itself if this process dies
without stopping it. Leaving the `with` block stops it (SIGTERM, then SIGKILL after `stop_timeout`) and
removes the directory should the server not have.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from ..lifecycle.runner import LifecycleReport

__all__ = ["OssboxServer", "OssboxServerError"]

DEFAULT_REGION = "cn-hangzhou"


class OssboxServerError(RuntimeError):
    """The server did not start (its error output is in the message)."""


class OssboxServer:
    """A throwaway ossbox server on a free loopback port, as a context manager (or `start()`/`stop()`).

    `region` is the one V4 signatures must be scoped to; `access_key_id`/`access_key_secret` fix the
    credentials (by default they are generated); `restore_delay` is how many seconds restoring an archived
    object takes (`ossbox serve`'s default: 60); `args` are further `ossbox serve` options, e.g.
    `("--reclaim-delay", "0")`. Once started: `endpoint`, `host`, `port`, `access_key_id`,
    `access_key_secret`, `region`, `data_dir`, `pid`, and `s3_endpoint` and `s3_region`, where the same data
    answers in the S3 dialect; `run_lifecycle(now)` applies buckets' lifecycle
    rules as if at `now`.
    """

    def __init__(self, *, region: str = DEFAULT_REGION, access_key_id: str | None = None,
                 access_key_secret: str | None = None, restore_delay: float | None = None, args: Sequence[str] = (),
                 start_timeout: float = 30.0, stop_timeout: float = 10.0) -> None:
        if (access_key_id is None) != (access_key_secret is None):
            raise ValueError("give both access_key_id and access_key_secret, or neither")
        knobs = ["--restore-delay", str(restore_delay)] if restore_delay is not None else []
        self._command = [sys.executable, "-m", "ossbox", "serve", "--ephemeral", "--host", "127.0.0.1",
                         "--s3-port", "0", "--region", region, *knobs, *args]
        self._credentials = (access_key_id, access_key_secret)
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._process: subprocess.Popen | None = None
        self.endpoint = self.host = self.access_key_id = self.access_key_secret = self.region = self.data_dir = ""
        self.s3_endpoint = self.s3_region = ""
        self.port = 0

    def start(self) -> Self:
        if self._process is not None:
            raise RuntimeError("this OssboxServer was started already")
        environment = {name: value for name, value in os.environ.items() if not name.startswith("OSSBOX_")}
        access_key_id, access_key_secret = self._credentials
        if access_key_id is not None:
            environment.update(OSSBOX_ACCESS_KEY_ID=access_key_id, OSSBOX_ACCESS_KEY_SECRET=access_key_secret)
        self._process = subprocess.Popen(self._command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, env=environment, text=True)
        try:
            announced = self._read_announcement()
        except BaseException:
            self._process.kill()
            self._process.wait()
            self._process = None
            raise
        self.endpoint, self.host, self.port = announced["endpoint"], announced["host"], announced["port"]
        self.access_key_id, self.access_key_secret = announced["access_key_id"], announced["access_key_secret"]
        self.region, self.data_dir = announced["region"], announced["data_dir"]
        self.s3_endpoint, self.s3_region = announced["s3_endpoint"], announced["s3_region"]
        # The server's log goes on being read, so that it never blocks on a full pipe.
        threading.Thread(target=self._process.stderr.read, name="ossbox-server-log", daemon=True).start()
        return self

    def _read_announcement(self) -> dict:
        """The server's JSON line; OssboxServerError, with what it wrote on stderr, if none comes in time."""
        process = self._process
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self._start_timeout)
        if line and line[0].strip():
            return json.loads(line[0])
        process.kill()
        process.wait()
        raise OssboxServerError(f"ossbox serve did not start within {self._start_timeout:g} s "
                                f"(exit code {process.returncode}):\n{process.stderr.read()}")

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs."""
        return self._process.pid if self._process is not None else None

    def run_lifecycle(self, now: datetime.datetime | datetime.date | None = None) -> LifecycleReport:
        """Apply every bucket's lifecycle rules once, as if at `now` (a date: its midnight; a time without a
        zone: UTC; default: now), as `ossbox lifecycle run --now` does; what was done."""
        from ..lifecycle.runner import run_lifecycle_on

        if not self.data_dir:
            raise RuntimeError("the server is not running")
        if now is None:
            moment = datetime.datetime.now(datetime.timezone.utc)
        elif isinstance(now, datetime.datetime):
            moment = now if now.tzinfo is not None else now.replace(tzinfo=datetime.timezone.utc)
        else:
            moment = datetime.datetime.combine(now, datetime.time(), datetime.timezone.utc)
        return run_lifecycle_on(self.data_dir, None, moment.timestamp())

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it takes longer than `stop_timeout`."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self._stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.stdout.close()
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)  # a killed server could not remove it

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
