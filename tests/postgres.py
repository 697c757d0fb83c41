"""Where the tests' PostgreSQL comes from, and a fresh database on it for each test that needs one.

In order: `OSSBOX_TEST_POSTGRES_URL` (a server on which that user may create databases); else the server on
127.0.0.1:5432 (user postgres, trust authentication), if one answers; else a throwaway cluster that
pytest-postgresql starts from the installed binaries (not as root: initdb refuses to run as root, so a
root CI machine must run a server, which .ci/run does). No test that needs PostgreSQL skips: without one,
it fails and says why.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_ctl() -> str | None:
    """The pg_ctl binary: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which("pg_ctl") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)),
                                           None)
    return found


def answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def server_url(request) -> str:
    """An URL of a database on a server where the tests may create databases."""
    if os.environ.get("OSSBOX_TEST_POSTGRES_URL"):
        return os.environ["OSSBOX_TEST_POSTGRES_URL"]
    if answers("127.0.0.1", 5432):
        return LOCAL_URL
    if pg_ctl() is None:
        raise RuntimeError("these tests need PostgreSQL: set OSSBOX_TEST_POSTGRES_URL, run a server on "
                           "127.0.0.1:5432 (user postgres, trust), or install its binaries (apt-get install postgresql)")
    executor = request.getfixturevalue("postgresql_throwaway")
    return f"postgresql://{executor.user}@{executor.host}:{executor.port}/postgres"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@contextlib.contextmanager
def fresh_database(admin_url: str):
    """A new, empty database on the server of `admin_url`, dropped afterwards; yields its URL."""
    name = "ossbox_" + uuid.uuid4().hex[:16]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PrivateCluster:
    """A PostgreSQL server of one test's own, which the test may stop, start and restart while ossbox
    nodes use it: Debian's pg_createcluster when running as root (initdb refuses root), else
    pytest-postgresql's executor from the installed binaries."""

    def __init__(self, workdir: str) -> None:
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._name = "ossbox" + uuid.uuid4().hex[:8]
        if os.geteuid() == 0 and shutil.which("pg_createcluster"):
            self._version = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])[-1]
            subprocess.run(["pg_createcluster", self._version, self._name, "-p", str(self.port), "--",
                            "--auth=trust"], check=True, capture_output=True)
            self._executor = None
        else:
            from pytest_postgresql.executors.proc import PostgreSQLExecutor

            if pg_ctl() is None:
                raise RuntimeError("a private PostgreSQL needs its binaries: apt-get install postgresql")
            self._executor = PostgreSQLExecutor(
                executable=pg_ctl(), host="127.0.0.1", port=self.port, datadir=os.path.join(workdir, "pgdata"),
                unixsocketdir=workdir, logfile=os.path.join(workdir, "postgresql.log"), startparams="-w",
                dbname="postgres")
        self.start()

    def _ctl(self, action: str) -> None:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", self._version, self._name, action],
                       check=True, capture_output=True)

    def start(self) -> None:
        if self._executor is None:
            self._ctl("start")
        else:
            self._executor.start()

    def stop(self) -> None:
        if self._executor is None:
            self._ctl("stop")
        else:
            self._executor.stop()

    def restart(self) -> None:
        if self._executor is None:
            self._ctl("restart")
        else:
            self._executor.stop()
            self._executor.start()

    def destroy(self) -> None:
        if self._executor is None:
            subprocess.run(["pg_dropcluster", "--stop", self._version, self._name], check=False, capture_output=True)
        else:
            with contextlib.suppress(Exception):
                self._executor.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
