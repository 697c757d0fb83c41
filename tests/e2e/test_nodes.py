"""Several `ossbox serve` nodes on one PostgreSQL and one blob directory answer every request alike.

Three nodes (processes on one machine: what they share is the database and the directory, as nodes on
several machines would with a shared filesystem) serve one data set. The tests write through one node and
read through the others; race overwrites, appends and multipart uploads across nodes; kill a node with
SIGKILL under load; restart PostgreSQL under load, and take it away for a while. Acknowledged writes are
recorded and read back whole through every node; none may be lost, none torn.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import oss2
import pytest
import requests

from postgres import PrivateCluster
from server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, RunningServer, start_server

BUCKET = "shared"
NODES = 3


def node_bucket(server: RunningServer, name: str = BUCKET, timeout: float = 30) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, name, connect_timeout=timeout)


@dataclass
class Cluster:
    url: str
    data_dir: str
    extra: tuple[str, ...] = ()
    nodes: list[RunningServer] = field(default_factory=list)
    database: PrivateCluster | None = None  # when the test may stop and restart PostgreSQL

    def start(self, count: int = NODES) -> None:
        self.nodes = [self.start_node() for _ in range(count)]

    def start_node(self) -> RunningServer:
        return start_server(self.data_dir, "--metadata", self.url, *self.extra, timeout=60)

    def bucket(self, index: int, name: str = BUCKET) -> oss2.Bucket:
        return node_bucket(self.nodes[index], name)

    def stop(self) -> list[int]:
        return [node.stop() for node in self.nodes]


@pytest.fixture
def cluster(postgres_url, tmp_path):
    running = Cluster(postgres_url, str(tmp_path / "data"))
    running.start()
    running.bucket(0).create_bucket()
    yield running
    assert running.stop() == [0] * NODES


def check_data_dir(cluster: Cluster) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ossbox", "check", "--deep", "--data-dir", cluster.data_dir,
                           "--metadata", cluster.url], capture_output=True, text=True, timeout=300)


def raw_get(server: RunningServer, key: str, headers: dict[str, str] | None = None) -> requests.Response:
    bucket = node_bucket(server)
    return requests.get(bucket.sign_url("GET", key, 300, headers=headers), headers=headers, timeout=30)


# ---- every node answers alike ----


def test_every_node_answers_every_request_identically(cluster):
    data = os.urandom(300_000)
    cluster.bucket(1).put_object("dir/a", data, headers={"x-oss-meta-who": "node1", "Content-Type": "text/x"})
    for index in range(NODES):
        head = cluster.bucket(index).head_object("dir/a")  # read-after-write on every node
        assert (head.content_length, head.headers["x-oss-meta-who"], head.content_type) == (300_000, "node1", "text/x")
    heads = [cluster.bucket(i).head_object("dir/a").headers for i in range(NODES)]
    fields = ("ETag", "Last-Modified", "x-oss-hash-crc64ecma", "Content-Length")
    assert len({tuple(h[f] for f in fields) for h in heads}) == 1
    etag = heads[0]["ETag"]
    for index in range(NODES):
        node = cluster.nodes[index]
        assert raw_get(node, "dir/a", {"If-None-Match": etag}).status_code == 304
        assert raw_get(node, "dir/a", {"If-Match": '"0000"'}).status_code == 412
        ranged = raw_get(node, "dir/a", {"Range": "bytes=100000-100099"})
        assert ranged.status_code == 206 and ranged.content == data[100000:100100]
    for i in range(30):
        cluster.bucket(i % NODES).put_object(f"dir/sub{i % 4}/k{i}", b"x")
    listings = [[(o.key, o.etag, o.size) for o in oss2.ObjectIterator(cluster.bucket(i), prefix="dir/", delimiter="/")]
                for i in range(NODES)]
    assert listings[0] == listings[1] == listings[2] and len(listings[0]) == 5  # dir/a and four prefixes
    cluster.bucket(2).delete_object("dir/a")
    assert not cluster.bucket(0).object_exists("dir/a")


def test_concurrent_overwrites_across_nodes_leave_one_whole_version(cluster):
    bodies = {(t, n): os.urandom(150_000) + f"{t}:{n}".encode() for t in range(6) for n in range(8)}

    def writer(thread: int) -> None:
        for number in range(8):
            cluster.bucket((thread + number) % NODES).put_object("hot", bodies[(thread, number)])

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = {cluster.bucket(i).get_object("hot").read() for i in range(NODES)}
    assert len(final) == 1 and final.pop() in bodies.values()
    checked = check_data_dir(cluster)
    assert checked.returncode == 0, checked.stdout + checked.stderr  # nothing lost, nothing leaked


def test_appends_across_nodes_and_their_races(cluster):
    position = 0
    for i in range(12):
        position = cluster.bucket(i % NODES).append_object("log", position, f"{i},".encode()).next_position
    assert cluster.bucket(2).get_object("log").read() == b"".join(f"{i},".encode() for i in range(12))
    for _ in range(5):
        start = threading.Barrier(NODES)
        outcomes: list = [None] * NODES

        def append(index: int) -> None:
            start.wait()
            try:
                outcomes[index] = cluster.bucket(index).append_object("log", position, f"n{index};".encode())
            except oss2.exceptions.PositionNotEqualToLength as error:
                outcomes[index] = error

        threads = [threading.Thread(target=append, args=(i,)) for i in range(NODES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [o for o in outcomes if not isinstance(o, Exception)]
        assert len(winners) == 1, outcomes
        position = winners[0].next_position
        assert all(int(o.headers["x-oss-next-append-position"]) == position
                   for o in outcomes if isinstance(o, Exception))
    assert len({cluster.bucket(i).get_object("log").read() for i in range(NODES)}) == 1


def test_multipart_with_each_part_sent_to_another_node(cluster):
    parts = [os.urandom(120 * 1024) for _ in range(5)] + [b"tail"]
    upload_id = cluster.bucket(0).init_multipart_upload("mp").upload_id
    infos = [oss2.models.PartInfo(n, cluster.bucket(n % NODES).upload_part("mp", upload_id, n, data).etag)
             for n, data in enumerate(parts, 1)]
    assert [p.part_number for p in cluster.bucket(1).list_parts("mp", upload_id).parts] == list(range(1, 7))
    cluster.bucket(2).complete_multipart_upload("mp", upload_id, infos)
    for index in range(NODES):
        assert cluster.bucket(index).get_object("mp").read() == b"".join(parts)


# ---- a node killed under load ----


@dataclass
class Ledger:
    """Per key, the bodies acknowledged (in order) and those whose fate is unknown (the request failed)."""

    acknowledged: dict[str, bytes] = field(default_factory=dict)
    unknown: dict[str, set[bytes]] = field(default_factory=lambda: collections.defaultdict(set))
    writes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, key: str, body: bytes) -> None:
        with self.lock:
            self.acknowledged[key] = body
            self.unknown[key].clear()
            self.writes += 1

    def failed(self, key: str, body: bytes) -> None:
        with self.lock:
            self.unknown[key].add(body)

    def verify(self, bucket: oss2.Bucket) -> tuple[int, list[str]]:
        verified, problems = 0, []
        for key, body in self.acknowledged.items():
            try:
                stored = bucket.get_object(key).read()
            except oss2.exceptions.NoSuchKey:
                problems.append(f"{key}: acknowledged write lost")
                continue
            if stored == body:
                verified += 1
            elif stored not in self.unknown[key]:
                problems.append(f"{key}: holds neither the acknowledged body nor one in flight")
        return verified, problems


def run_traffic(cluster: Cluster, ledger: Ledger, stop: threading.Event, threads: int = 6,
                targets: list[int] | None = None) -> list[threading.Thread]:
    """Writers, each on keys of its own, spreading PUTs and multipart uploads over the nodes in `targets`."""
    def write(thread: int) -> None:
        counter = itertools.count()
        while not stop.is_set():
            number = next(counter)
            key = f"load/{thread}/{number % 5}"
            body = hashlib.sha256(f"{thread}/{number}".encode()).digest() * (512 + number % 7 * 1024)
            node = (targets or list(range(len(cluster.nodes))))[number % len(targets or cluster.nodes)]
            try:
                node_bucket(cluster.nodes[node], timeout=5).put_object(key, body)
            except (oss2.exceptions.RequestError, oss2.exceptions.ServerError) as error:
                ledger.failed(key, body)
                if isinstance(error, oss2.exceptions.ServerError):
                    assert error.status == 503, error  # an outage answers 503, nothing else
                time.sleep(0.05)
                continue
            ledger.ack(key, body)

    started = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
    for thread in started:
        thread.start()
    return started


def test_a_node_killed_under_load_loses_no_acknowledged_write(cluster):
    ledger, stop = Ledger(), threading.Event()
    writers = run_traffic(cluster, ledger, stop)
    time.sleep(2)
    victim = cluster.nodes[1]
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait()
    time.sleep(2)  # the traffic goes on; requests to the dead node fail and are retried elsewhere later
    cluster.nodes[1] = cluster.start_node()  # restarted independently; the others never stopped
    time.sleep(1)
    stop.set()
    for thread in writers:
        thread.join(60)
    results = [ledger.verify(cluster.bucket(index)) for index in range(NODES)]
    print(f"\nnode killed under load: {ledger.writes} acknowledged writes; verified through every node: "
          f"{[verified for verified, _ in results]}; lost: {sum(len(p) for _, p in results)}")
    assert all(not problems for _, problems in results), results
    assert ledger.writes > 0


# ---- PostgreSQL restarted and away ----


@pytest.fixture
def private_cluster(tmp_path):
    database = PrivateCluster(str(tmp_path))
    running = Cluster(database.url, str(tmp_path / "data"), database=database)
    running.start()
    running.bucket(0).create_bucket()
    yield running
    try:
        assert running.stop() == [0] * NODES
    finally:
        database.destroy()


def probe_statuses(cluster: Cluster, seconds: float) -> tuple[collections.Counter, float, float | None]:
    """GETs through every node for `seconds`: their statuses, the longest one, and when (after the start)
    the last failure was answered."""
    statuses: collections.Counter = collections.Counter()
    longest, last_failure = 0.0, None
    began = time.monotonic()
    session = requests.Session()
    urls = [node_bucket(node).sign_url("GET", "probe", 600) for node in cluster.nodes]
    while time.monotonic() - began < seconds:
        for url in urls:
            started = time.monotonic()
            try:
                status = session.get(url, timeout=60).status_code
            except requests.RequestException as error:
                status = type(error).__name__
            longest = max(longest, time.monotonic() - started)
            statuses[status] += 1
            if status != 200:
                last_failure = time.monotonic() - began
        time.sleep(0.05)
    return statuses, longest, last_failure


def test_postgresql_restarted_under_load(private_cluster):
    cluster = private_cluster
    cluster.bucket(0).put_object("probe", b"probe")
    ledger, stop = Ledger(), threading.Event()
    writers = run_traffic(cluster, ledger, stop, threads=4)
    probed: list = []
    probe = threading.Thread(target=lambda: probed.extend(probe_statuses(cluster, 10)))
    probe.start()
    time.sleep(1.5)
    cluster.database.restart()
    probe.join()
    statuses, longest, last_failure = probed
    stop.set()
    for thread in writers:
        thread.join(60)
    results = [ledger.verify(cluster.bucket(index)) for index in range(NODES)]
    print(f"\nPostgreSQL restarted under load: probe statuses {dict(statuses)}, longest request {longest:.2f} s, "
          f"last failure {last_failure} s into the probe; {ledger.writes} acknowledged writes, "
          f"lost {sum(len(p) for _, p in results)}")
    assert set(statuses) <= {200, 503}, statuses
    assert all(not problems for _, problems in results), results
    assert all(node.process.poll() is None for node in cluster.nodes)


def test_postgresql_away_answers_503_then_service_resumes_by_itself(private_cluster):
    cluster = private_cluster
    cluster.bucket(0).put_object("probe", b"probe")
    cluster.database.stop()
    down = time.monotonic()
    statuses, longest, _ = probe_statuses(cluster, 12)
    assert statuses.keys() == {503}, statuses  # never a hang, never a crash, never a 500
    assert longest < 15, longest  # the store gives up after its 10 s of retries
    assert all(node.process.poll() is None for node in cluster.nodes)
    cluster.database.start()
    back = time.monotonic()
    recovered = None
    while time.monotonic() - back < 30:
        if all(raw_get(node, "probe").status_code == 200 for node in cluster.nodes):
            recovered = time.monotonic() - back
            break
        time.sleep(0.2)
    print(f"\nPostgreSQL away {back - down:.1f} s: statuses {dict(statuses)}, longest request {longest:.2f} s; "
          f"every node served again {recovered:.2f} s after it returned")
    assert recovered is not None
    cluster.bucket(1).put_object("after", b"back")
    assert cluster.bucket(2).get_object("after").read() == b"back"


# ---- the shared orphan sweep ----


def test_the_shared_sweep_takes_old_orphans_and_spares_writes_in_flight(postgres_url, tmp_path):
    cluster = Cluster(postgres_url, str(tmp_path / "data"), extra=("--sweep-interval", "1"))
    cluster.start(2)
    try:
        bucket = cluster.bucket(0)
        bucket.create_bucket()
        bucket.put_object("kept", b"kept")
        blobs = os.path.join(cluster.data_dir, "blobs")
        old, young = os.path.join(blobs, "aa", "bb", "aabb" + "0" * 28), os.path.join(blobs, "cc", "dd", "ccdd" + "0" * 28)
        for path in (old, young):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as file:
                file.write(b"orphan")
        os.utime(old, (time.time() - 7200, time.time() - 7200))  # older than any write in flight could be
        tmp_old = os.path.join(cluster.data_dir, "tmp", "stale")
        with open(tmp_old, "wb") as file:
            file.write(b"x")
        os.utime(tmp_old, (time.time() - 7200, time.time() - 7200))
        deadline = time.monotonic() + 90
        while (os.path.exists(old) or os.path.exists(tmp_old)) and time.monotonic() < deadline:
            bucket.put_object("busy", os.urandom(1000))  # writes keep flowing while the nodes sweep
            time.sleep(0.2)
        assert not os.path.exists(old) and not os.path.exists(tmp_old)
        assert os.path.exists(young)  # young enough to be some node's write in flight
        assert bucket.get_object("kept").read() == b"kept"
    finally:
        assert cluster.stop() == [0, 0]
