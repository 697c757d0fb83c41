"""What the benchmark stands on: the tools it installs when missing, nginx, and timed child processes.

Strategy: every measured transfer runs in a process of its own, started by `run()`, which reports its wall
time and output; a Python child reports its own peak RSS (see `run_together` for why the parent cannot).
nginx gets a generated configuration in a temporary directory and a free
loopback port, and serves a directory laid out like the buckets (`<root>/<bucket>/<key>`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REPO", "Nginx", "Run", "ensure_environment", "free_port", "wait_for_port", "machine", "memory_kib",
           "process_tree", "reset_peak", "run", "run_together", "tool", "versions"]

REPO = Path(__file__).resolve().parent.parent

# Command-line tool -> the Debian package that provides it.
_APT_PACKAGES = {"nginx": "nginx", "wrk": "wrk", "aria2c": "aria2", "curl": "curl", "eatmydata": "eatmydata"}
# Python module -> the requirement name in pyproject's `test` extra (pinned there, not here).
_SDKS = {"oss2": "oss2", "alibabacloud_oss_v2": "alibabacloud-oss-v2"}
# What only the S3-dialect rows need: rclone (s5cmd is not in Debian) and boto3.
_S3_APT_PACKAGES = {"rclone": "rclone"}
_S3_SDKS = {"boto3": "boto3"}


def tool(name: str) -> str:
    """The path of a command-line tool; nginx lives in /usr/sbin, often off a user's PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise RuntimeError(f"{name} is not installed")
    return found


def _missing_tools(packages: dict[str, str]) -> list[str]:
    missing = []
    for name, package in packages.items():
        try:
            tool(name)
        except RuntimeError:
            missing.append(package)
    return missing


def ensure_environment(s3: bool = False) -> None:
    """apt-get install the tools and pip install the SDKs (and ossbox itself) that are missing; with `s3`,
    also what the S3-dialect rows use."""
    packages = _missing_tools({**_APT_PACKAGES, **(_S3_APT_PACKAGES if s3 else {})})
    if packages:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        print(f"installing {' '.join(packages)} with apt-get", file=sys.stderr)
        subprocess.run([*sudo, "apt-get", "update"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", *packages], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    requirements = []
    if importlib.util.find_spec("ossbox") is None:
        requirements += ["-e", str(REPO)]
    sdks = {**_SDKS, **(_S3_SDKS if s3 else {})}
    wanted = {name: spec for name, spec in sdks.items() if importlib.util.find_spec(name) is None}
    if wanted:
        extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
        for requirement in wanted.values():
            requirements += [pin for pin in extras if pin.startswith(requirement)] or [requirement]
    if requirements:
        print(f"pip installing {' '.join(requirements)}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", *requirements], check=True)
        importlib.invalidate_caches()


def _first_line(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "?"
    return ((result.stdout or "") + (result.stderr or "")).strip().splitlines()[0]


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return (f"{model}, {os.cpu_count()} CPUs, {memory_kib / (1 << 20):.0f} GiB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def versions(s3: bool = False) -> str:
    from importlib.metadata import version
    return ", ".join([
        _first_line([tool("nginx"), "-v"]).replace("nginx version: ", ""),
        _first_line([tool("curl"), "--version"]).split(" (")[0],
        _first_line([tool("wrk"), "--version"]).split(" [")[0].replace("debian/", ""),
        _first_line([tool("aria2c"), "--version"]).replace(" version", ""),
        f"oss2 {version('oss2')}", f"alibabacloud-oss-v2 {version('alibabacloud-oss-v2')}",
        f"aiohttp {version('aiohttp')}",
        *([f"boto3 {version('boto3')}", _first_line([tool("rclone"), "version"])] if s3 else []),
    ])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{process.args[0]} did not start listening")


_NGINX_CONF = """\
{user}worker_processes auto;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
{tls_server}}}
"""

# Mozilla's "intermediate" settings, as a typical modern site has them. No `ssl_conf_command Options KTLS`:
# like Python's ssl, nginx then encrypts in user space (and sendfile on an SSL connection is not used).
_NGINX_TLS_SERVER = """\
    server {{
        listen 127.0.0.1:{port} ssl;
        root {root};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:SSL:10m;
        ssl_session_timeout 1d;
    }}
"""


class Nginx:
    """Debian's nginx serving `root` on a free loopback port, as a static file server tuned as usual; with
    `tls` (certificate and key files), also over HTTPS on a second port."""

    def __init__(self, prefix: str, root: str, tls: tuple[str, str] | None = None) -> None:
        os.makedirs(prefix, exist_ok=True)
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        tls_server = _NGINX_TLS_SERVER.format(port=self.tls_port, root=root, cert=tls[0], key=tls[1]) if tls else ""
        config = os.path.join(prefix, "nginx.conf")
        with open(config, "w") as file:
            # As root, workers would otherwise run as nobody and could not read a private temporary directory.
            file.write(_NGINX_CONF.format(user="user root;\n" if os.geteuid() == 0 else "", prefix=prefix,
                                          port=self.port, root=root, tls_server=tls_server))
        self.process = subprocess.Popen([tool("nginx"), "-c", config, "-p", prefix])
        for port in (self.port, self.tls_port):
            if port is not None:
                wait_for_port(port, self.process)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_endpoint(self) -> str:
        assert self.tls_port is not None, "this nginx was started without tls"
        return f"https://127.0.0.1:{self.tls_port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [pid, *(descendant for child in children for descendant in process_tree(child))]


def memory_kib(pid: int, field: str = "VmHWM") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    """Make VmHWM start again from the current RSS (see proc(5), /proc/PID/clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclass
class Run:
    seconds: float  # wall time from the start until this process was reaped
    stdout: str


def run_together(commands: list[list[str]], env: dict[str, str | None] | None = None) -> list[Run]:
    """Start the commands at once and wait for all, each of which must exit 0. Processes are reaped in
    order, so the largest `seconds` is when the last one finished. `env` is added to this process's
    environment; a None value removes that variable.

    No peak RSS from here: a child's ru_maxrss (wait4, getrusage) starts from the RSS of the process it was
    forked from, since exec keeps the old address space's high-water mark, so every child would seem at
    least as large as this one. A process's own figure is VmHWM in its /proc/self/status."""
    environment = {name: value for name, value in {**os.environ, **(env or {})}.items() if value is not None}
    with contextlib.ExitStack() as stack:
        outputs = [(stack.enter_context(tempfile.TemporaryFile()), stack.enter_context(tempfile.TemporaryFile()))
                   for _ in commands]
        started = time.perf_counter()
        processes = [subprocess.Popen(command, stdout=stdout, stderr=stderr, env=environment)
                     for command, (stdout, stderr) in zip(commands, outputs)]
        runs = []
        for command, process, (stdout, stderr) in zip(commands, processes, outputs):
            process.wait()
            seconds = time.perf_counter() - started
            stdout.seek(0)
            stderr.seek(0)
            if process.returncode != 0:
                error = stderr.read().decode(errors="replace").strip()[-2000:]
                raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}: {error}")
            runs.append(Run(seconds, stdout.read().decode(errors="replace")))
        return runs


def run(command: list[str], env: dict[str, str | None] | None = None) -> Run:
    return run_together([command], env)[0]
