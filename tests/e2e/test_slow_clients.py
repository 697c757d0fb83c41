"""Slow, idle and greedy clients against a real server: they must not starve anyone else, and the server
must close the connections that never deliver a request.

The server is started with short `--idle-timeout` / `--header-timeout` so the closing cases take seconds.
Bounds on how long ordinary requests take are liveness checks (a few seconds), not performance checks.
"""

from __future__ import annotations

import os
import resource
import selectors
import socket
import threading
import time

import oss2
import pytest

from server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, start_server

LIVENESS = 5.0  # seconds an ordinary request may take while hostile connections are open
IDLE, HEADER, BODY = 2.5, 1.2, 1.0  # the --idle-timeout, --header-timeout and --body-timeout of the module's server
SLACK = 3.0  # seconds a close may come after its deadline


@pytest.fixture(scope="module")
def timed_server(tmp_path_factory):
    running = start_server(str(tmp_path_factory.mktemp("slow-data")), "--idle-timeout", str(IDLE),
                           "--header-timeout", str(HEADER), "--body-timeout", str(BODY))
    yield running
    assert running.stop() == 0


def make_bucket(server, name: str, **kwargs) -> oss2.Bucket:
    bucket = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, name, **kwargs)
    bucket.create_bucket()
    return bucket


def connect(server) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=10)


def wait_closed(sock: socket.socket, deadline: float) -> float | None:
    """Reads (and drops) whatever the server sends until it closes the connection; the monotonic time it
    did, or None if it was still open at `deadline`."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        sock.settimeout(remaining)
        try:
            if not sock.recv(65536):
                return time.monotonic()
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic()
        except TimeoutError:
            return None


def wait_all_closed(sockets: list[socket.socket], deadline: float) -> list[float | None]:
    """`wait_closed` for many sockets at once: when each was closed by the server (None: still open)."""
    closed: dict[socket.socket, float | None] = {sock: None for sock in sockets}
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            selector.register(sock, selectors.EVENT_READ)
        while selector.get_map() and time.monotonic() < deadline:
            for key, _ in selector.select(max(0.0, deadline - time.monotonic())):
                sock = key.fileobj
                try:
                    ended = not sock.recv(65536, socket.MSG_DONTWAIT)
                except (ConnectionResetError, BrokenPipeError):
                    ended = True
                except BlockingIOError:
                    ended = False
                if ended:
                    closed[sock] = time.monotonic()
                    selector.unregister(sock)
    return [closed[sock] for sock in sockets]


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """One HTTP response with a Content-Length body: (status, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), body


def signed_head(server, method: str, bucket: str, key: str, length: int, subresource: str | None = None) -> bytes:
    """The request line and headers of a V1-signed request with a body of `length` bytes."""
    query = f"?{subresource}" if subresource else ""
    request = oss2.http.Request(method, f"{server.endpoint}/{bucket}/{key}", headers={"Content-Length": str(length)},
                                params={subresource: ""} if subresource else None)
    oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)._sign_request(request, bucket, key)
    head = f"{method} /{bucket}/{key}{query} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
    return (head + "".join(f"{name}: {value}\r\n" for name, value in request.headers.items()) + "\r\n").encode()


def anonymous_get(bucket: str, key: str) -> bytes:
    return f"GET /{bucket}/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


# ---- the server closes connections that never deliver a request -----------------------------------


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(timed_server):
    started = time.monotonic()
    sockets = [connect(timed_server) for _ in range(20)]
    try:
        closed = wait_all_closed(sockets, started + IDLE + SLACK)
    finally:
        for sock in sockets:
            sock.close()
    assert None not in closed, "the server left silent connections open"
    assert min(closed) - started >= IDLE - 0.5, "closed before the idle timeout"


def test_a_keep_alive_connection_is_closed_after_the_idle_timeout_and_not_before(timed_server):
    bucket = make_bucket(timed_server, "slow-keepalive")
    bucket.put_object("k", b"v")
    bucket.put_object_acl("k", oss2.OBJECT_ACL_PUBLIC_READ)
    with connect(timed_server) as sock:
        for _ in range(2):  # waiting less than the idle timeout between requests keeps the connection
            sock.sendall(anonymous_get("slow-keepalive", "k"))
            assert read_response(sock) == (200, b"v")
            time.sleep(IDLE * 0.6)
        finished = time.monotonic()
        closed = wait_closed(sock, finished + IDLE + SLACK)
    assert closed is not None and closed - finished >= IDLE * 0.4 - 0.5


def test_headers_sent_one_byte_at_a_time_are_cut_off_after_the_header_timeout(timed_server):
    request = b"GET /slow-keepalive/k HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 1000 + b"\r\n\r\n"
    with connect(timed_server) as sock:
        started = time.monotonic()
        sent = 0
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for byte in request:
                sock.sendall(bytes([byte]))
                sent += 1
                if wait_closed(sock, time.monotonic() + 0.05) is not None:
                    raise BrokenPipeError("closed by the server")
        elapsed = time.monotonic() - started
    assert sent < len(request)
    assert HEADER - 0.5 <= elapsed <= HEADER + SLACK, elapsed


def test_headers_that_arrive_slowly_but_within_the_header_timeout_are_served(timed_server):
    bucket = make_bucket(timed_server, "slow-headers")
    bucket.put_object("k", b"served")
    bucket.put_object_acl("k", oss2.OBJECT_ACL_PUBLIC_READ)
    request = anonymous_get("slow-headers", "k")
    with connect(timed_server) as sock:
        for start in range(0, len(request), 8):  # about HEADER / 2 in all
            sock.sendall(request[start:start + 8])
            time.sleep(HEADER / 2 / (len(request) / 8))
        assert read_response(sock) == (200, b"served")


def test_an_xml_body_that_stalls_is_given_up_after_the_body_timeout(timed_server):
    make_bucket(timed_server, "slow-xml")
    with connect(timed_server) as sock:
        sock.sendall(signed_head(timed_server, "POST", "slow-xml", "", 1000, "delete") + b"<Delete><Object>")
        started = time.monotonic()
        status, body = read_response(sock)
        elapsed = time.monotonic() - started
    assert status == 400 and b"<Code>RequestTimeout</Code>" in body, body
    assert BODY - 0.5 <= elapsed <= BODY + SLACK, elapsed


# ---- hostile connections do not starve ordinary clients -----------------------------------------


class Trickler(threading.Thread):
    """Sends the next byte of each socket's data every `interval` seconds, until stopped or the data ends."""

    def __init__(self, streams: list[tuple[socket.socket, bytes]], interval: float) -> None:
        super().__init__(daemon=True)
        self.streams = streams
        self.interval = interval
        self.stopped = threading.Event()
        self.failed = 0  # sockets the server closed under us

    def run(self) -> None:
        position = 0
        live = list(self.streams)
        while live and not self.stopped.wait(self.interval):
            still = []
            for sock, data in live:
                if position >= len(data):
                    continue
                try:
                    sock.send(data[position:position + 1])
                    still.append((sock, data))
                except OSError:
                    self.failed += 1
            live = still
            position += 1


def test_slowloris_does_not_starve_other_clients_and_is_cut_off(tmp_path):
    data_dir = str(tmp_path / "data")
    header_timeout, idle_timeout = 6.0, 8.0
    server = start_server(data_dir, "--header-timeout", str(header_timeout), "--idle-timeout", str(idle_timeout))
    hostile: list[socket.socket] = []
    trickler = None
    try:
        setup = make_bucket(server, "loris")
        big = os.urandom(4 << 20)
        setup.put_object("big", big)
        setup.put_object_acl("big", oss2.OBJECT_ACL_PUBLIC_READ)
        started = time.monotonic()

        silent = [connect(server) for _ in range(70)]
        heads = [connect(server) for _ in range(70)]
        head_bytes = b"GET /loris/big HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 4000 + b"\r\n\r\n"
        uploads = []
        for index in range(50):  # signed PUTs whose bodies trickle in (never stalling for --body-timeout)
            sock = connect(server)
            sock.sendall(signed_head(server, "PUT", "loris", f"up{index}", 100000))
            uploads.append(sock)
        readers = []
        for _ in range(10):  # GETs of 4 MiB whose responses nobody reads
            sock = connect(server)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(anonymous_get("loris", "big"))
            readers.append(sock)
        hostile = silent + heads + uploads + readers
        trickler = Trickler([(s, head_bytes) for s in heads] + [(s, b"x" * 100000) for s in uploads], 0.1)
        trickler.start()
        time.sleep(0.3)

        latencies: list[float] = []
        errors: list[BaseException] = []

        def ordinary(client: int) -> None:
            bucket = oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, "loris",
                                 connect_timeout=LIVENESS)
            def timed(operation, *args):
                began = time.monotonic()
                result = operation(*args)
                latencies.append(time.monotonic() - began)
                return result

            try:
                for i in range(8):
                    key, body = f"c{client}/{i}", os.urandom(20000 + i)
                    timed(bucket.put_object, key, body)
                    assert timed(lambda: bucket.get_object(key).read()) == body
                    assert timed(lambda: bucket.get_object("big", byte_range=(i, i + 99)).read()) == big[i:i + 100]
                    assert [o.key for o in timed(bucket.list_objects, f"c{client}/").object_list][-1] == key
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        clients = [threading.Thread(target=ordinary, args=(n,)) for n in range(4)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(60)
        ordinary_done = time.monotonic() - started
        assert not errors, errors
        assert len(latencies) == 4 * 8 * 4
        print(f"\n{len(hostile)} hostile connections; {len(latencies)} ordinary requests in {ordinary_done:.1f} s, "
              f"slowest {max(latencies):.2f} s")
        assert max(latencies) < LIVENESS
        assert ordinary_done < header_timeout, "the ordinary requests were not all made while the slowloris ran"

        # The silent and the header-trickling connections are closed by the server; uploads whose body keeps
        # coming and responses being (not) read are requests in progress, bounded by the client, not by us.
        closed = wait_all_closed(silent + heads, started + idle_timeout + SLACK)
        trickler.stopped.set()
        assert closed.count(None) == 0, f"{closed.count(None)} of {len(closed)} connections left open"
        print(f"silent connections closed after {max(closed[:70]) - started:.1f} s, "
              f"header tricklers after {max(closed[70:]) - started:.1f} s")
    finally:
        if trickler is not None:
            trickler.stopped.set()
            trickler.join()
        for sock in hostile:
            sock.close()
        stopped = server.stop()
    assert stopped == 0
    assert os.listdir(os.path.join(data_dir, "tmp")) == [], "an abandoned upload left a temporary blob"


# ---- running out of file descriptors ---------------------------------------------------------------


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_running_out_of_file_descriptors_does_not_crash_the_server(tmp_path):
    """...and a request that needs a file meanwhile gets 503 ServiceUnavailable, not a 500."""
    server = start_server(str(tmp_path / "data"), "--idle-timeout", "60")
    sockets: list[socket.socket] = []
    try:
        bucket = make_bucket(server, "fd-limit")
        bucket.put_object("k", b"still here")
        bucket.put_object_acl("k", oss2.OBJECT_ACL_PUBLIC_READ)
        early = socket.create_connection((server.host, server.port), timeout=10)  # accepted before the limit
        sockets.append(early)
        pid = server.process.pid
        limit = open_fds(pid) + 30
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
        for _ in range(limit + 60):  # past the limit accept() fails with EMFILE and the kernel queues them,
            try:  # then drops connection attempts once the listen backlog is full
                sockets.append(socket.create_connection((server.host, server.port), timeout=0.5))
            except TimeoutError:
                break
        time.sleep(1)
        assert open_fds(pid) >= limit - 1, "the descriptor limit was never reached"
        assert server.process.poll() is None
        early.sendall(f"GET /fd-limit/k HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n\r\n".encode())
        answer = b""
        while b"</Error>" not in answer and (chunk := early.recv(65536)):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 503 ") and b"<Code>ServiceUnavailable</Code>" in answer, answer
        exhausted, made = open_fds(pid), len(sockets)
        for sock in sockets:
            sock.close()
        sockets.clear()
        deadline = time.monotonic() + 15
        while True:  # the server sees the closes and retries accept() within a second of an EMFILE
            try:
                assert oss2.Bucket(bucket.auth, server.endpoint, "fd-limit").get_object("k").read() == b"still here"
                break
            except oss2.exceptions.RequestError:
                assert time.monotonic() < deadline, "the server did not recover from running out of descriptors"
                time.sleep(0.5)
        print(f"\nRLIMIT_NOFILE {limit}: {made} connections made, {exhausted} descriptors open at "
              f"exhaustion, {open_fds(pid)} after")
        assert server.process.poll() is None
    finally:
        for sock in sockets:
            sock.close()
        assert server.stop() == 0
