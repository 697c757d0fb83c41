"""What the `ossbox` command imports to start (issue 14): only what the command it runs uses.

Each case runs the command in a fresh interpreter that writes the names in `sys.modules` to a file as it exits,
and asserts that modules a command does not need are absent: names, never times, so nothing here depends on
the machine's speed. `cp` downloads a 1 KiB object from a stand-in for OSS in this process, which answers the
HEAD and the ranged GET of that one object (and checks no signature).
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading

import pytest

from ossbox.protocol.crc64 import crc64
from ossbox.protocol.dates import http_date

BODY = bytes(range(256)) * 4
TRANSPORT = ["urllib3", "http.client", "ssl", "ossbox.client.http", "ossbox.client.api"]  # what sends requests
# Help sends no request, transfers nothing, parses no XML, date or config file, logs nothing and serves nothing.
NOT_FOR_HELP = [*TRANSPORT, "ossbox.client.download", "ossbox.client.upload", "ossbox.commands.copying",
                "ossbox.commands.syncing", "concurrent.futures", "xml.etree.ElementTree", "email", "configparser",
                "logging", "json", "html", "ossbox.server", "ossbox.storage"]
# A download of one object to a file: no upload, listing, stream, sync, XML, config file (none exists) or server.
NOT_FOR_CP = ["ossbox.client.upload", "ossbox.client.iterators", "ossbox.commands.syncing",
              "ossbox.commands.streaming", "xml.etree.ElementTree", "configparser", "html", "ossbox.server",
              "ossbox.storage"]

_REPORTING = """\
import atexit, sys
atexit.register(lambda: open({report!r}, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["ossbox", *{args!r}]
from ossbox.cli import main
main()
"""


def run_reporting_modules(tmp_path, args: list[str], env: dict[str, str] | None = None):
    """(completed process, set of module names imported) of `ossbox ARGS`, with HOME in `tmp_path` (no config
    file) and without coverage's start-up hook, which imports modules of its own."""
    report = tmp_path / "modules.txt"
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("OSS_", "COVERAGE_PROCESS_"))}
    environment.update(HOME=str(tmp_path), **(env or {}))
    done = subprocess.run([sys.executable, "-c", _REPORTING.format(report=str(report), args=args)],
                          capture_output=True, env=environment, timeout=60)
    return done, set(report.read_text().split("\n"))


def imported(modules: set[str], names: list[str]) -> list[str]:
    """The `names` in `modules`, each standing for itself and its submodules."""
    return [name for name in names if any(module == name or module.startswith(name + ".") for module in modules)]


@pytest.mark.parametrize("args", [["--help"], ["cp", "--help"], ["--version"]])
def test_help_imports_no_transport_nor_transfer(tmp_path, args):
    done, modules = run_reporting_modules(tmp_path, args)
    assert done.returncode == 0, done.stderr
    assert imported(modules, NOT_FOR_HELP) == []


def test_the_help_still_lists_every_command(tmp_path):
    done, _ = run_reporting_modules(tmp_path, ["--help"])
    listed = done.stdout.decode().split("Commands:")[1].split()
    for command in ("check", "cp", "lifecycle", "ls", "mb", "metadata", "presign", "rb", "rm", "serve", "sign",
                    "stat", "sync"):
        assert command in listed


class _OneObject(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    OBJECT_HEADERS = {"ETag": '"one-kib"', "Last-Modified": http_date(1_700_000_000),
                         "x-oss-hash-crc64ecma": str(crc64(BODY))}

    def do_HEAD(self) -> None:
        self._answer(200, {"Content-Length": str(len(BODY))})

    def do_GET(self) -> None:
        first, last = (int(end) for end in self.headers["Range"].removeprefix("bytes=").split("-"))
        self._answer(206, {"Content-Length": str(last - first + 1),
                           "Content-Range": f"bytes {first}-{last}/{len(BODY)}"}, BODY[first:last + 1])

    def _answer(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        if self.path != "/bucket/one-kib":
            status, headers, body = 404, {"Content-Length": "0"}, b""
        self.send_response(status)
        for name, value in {**self.OBJECT_HEADERS, **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def endpoint():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OneObject)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_cp_of_one_object_imports_only_what_a_download_uses(tmp_path, endpoint):
    target = tmp_path / "one-kib"
    done, modules = run_reporting_modules(
        tmp_path, ["cp", "oss://bucket/one-kib", str(target), "-f", "-q"],
        env={"OSS_ENDPOINT": endpoint, "OSS_ACCESS_KEY_ID": "id", "OSS_ACCESS_KEY_SECRET": "secret"})
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == BODY
    assert imported(modules, TRANSPORT) == TRANSPORT  # the download did go through the client
    assert imported(modules, NOT_FOR_CP) == []
