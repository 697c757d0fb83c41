"""Health, metrics and the access log (issue 13): `/-/health/live`, `/-/health/ready`, `/-/metrics` (Prometheus's
text format, summed across `--workers`, optionally behind a token) and `--access-log` as JSON lines. None of
these paths is ever a bucket."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import time

import oss2
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from server import start_server

from .conftest import REGION, empty_and_delete_oss2, oss2_auth, unique_bucket_name

KiB = 1 << 10


def scrape(endpoint: str, token: str | None = None) -> dict[tuple[str, tuple], float]:
    """Every sample of /-/metrics, by (name, sorted labels)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(f"{endpoint}/-/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def sample(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def fresh_connection_get(url: str) -> requests.Response:
    """A request on a connection of its own, so that with several workers the kernel spreads them."""
    with requests.Session() as session:
        return session.get(url, headers={"Connection": "close"}, timeout=30)


@pytest.fixture
def own_server(tmp_path):
    started = []

    def start(*args: str):
        running = start_server(str(tmp_path / f"data{len(started)}"), "--region", REGION, *args)
        started.append(running)
        return running
    yield start
    for running in started:
        running.stop()


def test_health_live_and_ready(server):
    live = requests.get(f"{server.endpoint}/-/health/live", timeout=10)
    assert live.status_code == 200 and live.text.strip() == "live"
    ready = requests.get(f"{server.endpoint}/-/health/ready", timeout=10)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"metadata": "ok", "data_dir": "ok"}}
    assert requests.head(f"{server.endpoint}/-/health/ready", timeout=10).status_code == 200


def test_not_ready_when_the_data_directory_takes_no_writes(own_server, tmp_path):
    running = own_server()
    assert requests.get(f"{running.endpoint}/-/health/ready", timeout=10).status_code == 200  # storage is open
    temporary = os.path.join(running.data_dir, "tmp")
    shutil.rmtree(temporary)
    with open(temporary, "w"):  # a file where the directory was: every write there fails
        pass
    try:
        ready = requests.get(f"{running.endpoint}/-/health/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["status"] == "unready"
        assert ready.json()["checks"]["metadata"] == "ok" and ready.json()["checks"]["data_dir"] != "ok"
        assert requests.get(f"{running.endpoint}/-/health/live", timeout=10).status_code == 200
    finally:
        os.remove(temporary)
        os.mkdir(temporary)
    assert requests.get(f"{running.endpoint}/-/health/ready", timeout=10).status_code == 200


def test_the_servers_paths_are_never_buckets(server):
    assert requests.put(f"{server.endpoint}/-/health/live", data=b"x", timeout=10).status_code == 405
    assert requests.delete(f"{server.endpoint}/-/metrics", timeout=10).status_code == 405
    missing = requests.get(f"{server.endpoint}/-/nothing", timeout=10)
    assert missing.status_code == 404 and "/-/health/live" in missing.text
    # a bucket named "-" cannot exist, however it is spelled (http.client sends the target as given)
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    connection.request("PUT", "/%2D/")
    refused = connection.getresponse()
    assert refused.status == 400 and b"InvalidBucketName" in refused.read()
    connection.close()


def test_virtual_hosted_bucket_keeps_its_dash_keys(own_server, resolve_to_loopback):
    running = own_server("--base-domain", "localhost")
    name = unique_bucket_name("dash")
    bucket = oss2.Bucket(oss2_auth("v4", running), running.endpoint, name, region=REGION)
    bucket.create_bucket()
    try:
        virtual = oss2.Bucket(oss2_auth("v4", running), f"http://localhost:{running.port}", name, region=REGION)
        virtual.put_object("-/metrics", b"an object, not the metrics")
        assert virtual.get_object("-/metrics").read() == b"an object, not the metrics"
        assert bucket.get_object("-/metrics").read() == b"an object, not the metrics"
    finally:
        empty_and_delete_oss2(bucket)


def test_metrics_count_requests_bytes_latency_and_storage(own_server):
    running = own_server()
    bucket = oss2.Bucket(oss2_auth("v4", running), running.endpoint, unique_bucket_name("metrics"), region=REGION)
    bucket.create_bucket()
    bodies = [os.urandom(n * KiB) for n in (1, 7, 64)]
    for index, body in enumerate(bodies):
        bucket.put_object(f"k{index}", body)
    for index in range(len(bodies)):
        assert bucket.get_object(f"k{index}").read() == bodies[index]
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("missing")
    bucket.put_object("cold", b"c" * 100, headers={"x-oss-storage-class": "IA"})

    samples = scrape(running.endpoint)
    assert sample(samples, "ossbox_requests_total", operation="PutObject", status="200") == 4
    assert sample(samples, "ossbox_requests_total", operation="GetObject", status="200") == 3
    assert sample(samples, "ossbox_requests_total", operation="GetObject", status="404") == 1
    assert sample(samples, "ossbox_requests_total", operation="PutBucket", status="200") == 1
    assert sample(samples, "ossbox_received_bytes_total", operation="PutObject") == sum(map(len, bodies)) + 100
    sent = sample(samples, "ossbox_sent_bytes_total", operation="GetObject")
    assert sum(map(len, bodies)) < sent < sum(map(len, bodies)) + 4 * 2 * KiB  # bodies and their headers
    assert sample(samples, "ossbox_request_duration_seconds_count", operation="GetObject") == 4
    assert sample(samples, "ossbox_request_duration_seconds_bucket", operation="GetObject", le="+Inf") == 4
    assert sample(samples, "ossbox_request_duration_seconds_sum", operation="GetObject") > 0
    assert sample(samples, "ossbox_stored_objects", bucket=bucket.bucket_name, storage_class="Standard") == 3
    assert sample(samples, "ossbox_stored_bytes", bucket=bucket.bucket_name,
                  storage_class="Standard") == sum(map(len, bodies))
    assert sample(samples, "ossbox_stored_objects", bucket=bucket.bucket_name, storage_class="IA") == 1
    assert sample(samples, "ossbox_requests_in_flight") == 1  # the scrape itself

    again = scrape(running.endpoint)
    assert sample(again, "ossbox_requests_total", operation="Metrics", status="200") == 1
    empty_and_delete_oss2(bucket)


def test_metrics_add_up_across_workers_and_keep_a_dead_workers_counts(own_server):
    running = own_server("--workers", "3")
    requests_made = 60
    for _ in range(requests_made):
        assert fresh_connection_get(f"{running.endpoint}/-/health/live").status_code == 200
    totals = set()
    for _ in range(6):  # whichever worker answers, the sum is the same
        samples = scrape(running.endpoint)
        totals.add(sample(samples, "ossbox_requests_total", operation="HealthLive", status="200"))
    assert totals == {requests_made}

    workers = [int(pid) for pid in open(f"/proc/{running.process.pid}/task/{running.process.pid}/children")
               .read().split()]
    assert len(workers) >= 3
    os.kill(workers[0], signal.SIGKILL)
    time.sleep(1)  # the parent starts another
    samples = scrape(running.endpoint)
    assert sample(samples, "ossbox_requests_total", operation="HealthLive", status="200") == requests_made
    assert sample(samples, "ossbox_requests_in_flight") == 1


def test_metrics_behind_a_token(own_server):
    running = own_server("--metrics-token", "s3cr3t-token")
    assert requests.get(f"{running.endpoint}/-/metrics", timeout=10).status_code == 401
    wrong = requests.get(f"{running.endpoint}/-/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401 and "ossbox_requests_total" not in wrong.text
    assert scrape(running.endpoint, "s3cr3t-token")
    assert requests.get(f"{running.endpoint}/-/health/live", timeout=10).status_code == 200  # health needs none


def test_access_log_is_json_lines_without_secrets(own_server, tmp_path):
    log_file = tmp_path / "access.log"
    running = own_server("--access-log", str(log_file))
    bucket = oss2.Bucket(oss2_auth("v4", running), running.endpoint, unique_bucket_name("log"), region=REGION)
    bucket.create_bucket()
    put = bucket.put_object("dir/ü key", b"logged body")
    url = bucket.sign_url("GET", "dir/ü key", 60)
    presigned = requests.get(url, timeout=10)
    assert presigned.content == b"logged body"
    requests.get(f"{running.endpoint}/-/health/live", timeout=10)

    deadline = time.monotonic() + 10
    while log_file.read_text().count("\n") < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    by_id = {line["request_id"]: line for line in lines}
    written = by_id[put.request_id]
    assert written["operation"] == "PutObject" and written["bucket"] == bucket.bucket_name
    assert written["key"] == "dir/ü key" and written["status"] == 200 and written["method"] == "PUT"
    assert written["bytes_in"] == len(b"logged body") and written["bytes_out"] > 0
    assert written["access_key_id"] == running.access_key_id and written["duration_ms"] >= 0
    read = by_id[presigned.headers["x-oss-request-id"]]
    assert read["operation"] == "GetObject" and read["access_key_id"] == running.access_key_id
    assert read["bytes_out"] > len(b"logged body")
    assert any(line["operation"] == "HealthLive" for line in lines)
    text = log_file.read_text()
    signature = dict(pair.split("=", 1) for pair in url.split("?", 1)[1].split("&"))["x-oss-signature"]
    assert running.access_key_secret not in text and signature not in text

    rotated = tmp_path / "access.log.1"
    log_file.rename(rotated)  # as logrotate does: the server opens a new file
    bucket.get_object("dir/ü key").read()
    deadline = time.monotonic() + 10
    while not log_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(log_file.read_text().splitlines()[0])["operation"] == "GetObject"
    empty_and_delete_oss2(bucket)


def test_a_malformed_metrics_token_is_refused_not_a_crash(own_server):
    running = own_server("--metrics-token", "s3cr3t-token")
    connection = http.client.HTTPConnection(running.host, running.port, timeout=10)
    connection.putrequest("GET", "/-/metrics")
    connection.putheader("Authorization", b"Bearer \xff\xfe")
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status == 401
    connection.close()


def test_readiness_names_what_failed_but_not_where(own_server):
    running = own_server()
    assert requests.get(f"{running.endpoint}/-/health/ready", timeout=10).status_code == 200
    temporary = os.path.join(running.data_dir, "tmp")
    shutil.rmtree(temporary)
    with open(temporary, "w"):
        pass
    try:
        ready = requests.get(f"{running.endpoint}/-/health/ready", timeout=10)
        assert ready.status_code == 503 and running.data_dir not in ready.text
    finally:
        os.remove(temporary)
        os.mkdir(temporary)
