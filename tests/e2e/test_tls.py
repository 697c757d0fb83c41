"""HTTPS (issue 13): `ossbox serve --tls-cert --tls-key` serves TLS on its ports, and SIGHUP reloads the
certificate, in every worker. Driven by oss2, the v2 SDK, boto3 on the S3 port, ossbox's client and CLI, and
curl, each verifying the server against a throwaway certificate authority."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import alibabacloud_oss_v2 as oss
import boto3
import oss2
import pytest
from botocore.config import Config as BotoConfig
from cryptography import x509
from server import start_server
from tlscerts import make_authority

from ossbox import client

from .conftest import REGION, empty_and_delete_oss2, oss2_auth, unique_bucket_name, v2_client

MiB = 1 << 20


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    return make_authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, authority):
    directory = tmp_path_factory.mktemp("tls")
    issued = authority.issue(directory)
    running = start_server(str(directory / "data"), "--tls-cert", str(issued.cert_file), "--tls-key",
                           str(issued.key_file), "--s3-port", "0", "--region", REGION)
    yield running
    assert running.stop() == 0


@pytest.fixture
def trusted(monkeypatch, authority):
    """oss2 and the v2 SDK (both on requests) trust the test authority."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(authority.ca_file))


@pytest.fixture
def https_bucket(tls_server, trusted):
    bucket = oss2.Bucket(oss2_auth("v4", tls_server), tls_server.endpoint, unique_bucket_name("tls"), region=REGION)
    bucket.create_bucket()
    yield bucket
    empty_and_delete_oss2(bucket)


def served_certificate_serial(port: int, ca_file) -> int:
    context = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def test_the_server_announces_https(tls_server):
    assert tls_server.endpoint.startswith("https://") and tls_server.s3_endpoint.startswith("https://")


def test_oss2_over_https(https_bucket):
    body = os.urandom(3 * MiB + 17)
    https_bucket.put_object("big", body)
    assert https_bucket.get_object("big").read() == body
    assert https_bucket.get_object("big", byte_range=(MiB, MiB + 9)).read() == body[MiB:MiB + 10]
    etag = https_bucket.head_object("big").etag
    with pytest.raises(oss2.exceptions.NotModified):
        https_bucket.get_object("big", headers={"If-None-Match": f'"{etag}"'})


def test_v2_sdk_over_https(tls_server, https_bucket):
    v2 = v2_client(tls_server)
    v2.put_object(oss.PutObjectRequest(bucket=https_bucket.bucket_name, key="v2", body=b"over tls"))
    got = v2.get_object(oss.GetObjectRequest(bucket=https_bucket.bucket_name, key="v2"))
    assert got.body.read() == b"over tls"


def test_boto3_on_the_s3_port_over_https(tls_server, https_bucket, authority):
    s3 = boto3.client("s3", endpoint_url=tls_server.s3_endpoint, region_name="us-east-1",
                      aws_access_key_id=tls_server.access_key_id, aws_secret_access_key=tls_server.access_key_secret,
                      verify=str(authority.ca_file), config=BotoConfig(s3={"addressing_style": "path"}))
    s3.put_object(Bucket=https_bucket.bucket_name, Key="s3", Body=b"s3 over tls")
    assert s3.get_object(Bucket=https_bucket.bucket_name, Key="s3")["Body"].read() == b"s3 over tls"


def test_ossbox_client_verifies_and_downloads(tls_server, https_bucket, authority, tmp_path):
    body = os.urandom(5 * MiB + 3)
    https_bucket.put_object("resumable", body)
    auth = client.Auth(tls_server.access_key_id, tls_server.access_key_secret)
    verified = client.Bucket(auth, tls_server.endpoint, https_bucket.bucket_name,
                             session=client.Session(ca_bundle=str(authority.ca_file)))
    target = tmp_path / "out"
    client.resumable_download(verified, "resumable", str(target), multiget_threshold=MiB, part_size=MiB,
                              num_threads=4)
    assert target.read_bytes() == body

    unverified = client.Bucket(auth, tls_server.endpoint, https_bucket.bucket_name)  # the system's authorities
    with pytest.raises(client.exceptions.RequestError, match="CERTIFICATE_VERIFY_FAILED"):
        unverified.get_object("resumable")
    insecure = client.Bucket(auth, tls_server.endpoint, https_bucket.bucket_name,
                             session=client.Session(verify=False))
    assert insecure.get_object("resumable", byte_range=(0, 9)).read() == body[:10]


def run_cli(tls_server, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OSS_ACCESS_KEY_ID": tls_server.access_key_id,
           "OSS_ACCESS_KEY_SECRET": tls_server.access_key_secret}
    env.pop("SSL_CERT_FILE", None)
    return subprocess.run([sys.executable, "-m", "ossbox", "-e", tls_server.endpoint, *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_verifies_by_default_and_takes_ca_bundle_or_insecure(tls_server, https_bucket, authority, tmp_path):
    https_bucket.put_object("cli", b"cli over tls")
    url = f"oss://{https_bucket.bucket_name}/cli"

    refused = run_cli(tls_server, "cp", url, str(tmp_path / "refused"))
    assert refused.returncode == 3
    assert "cannot be verified" in refused.stderr and "--ca-bundle" in refused.stderr
    assert not (tmp_path / "refused").exists()

    verified = run_cli(tls_server, "--ca-bundle", str(authority.ca_file), "cp", url, str(tmp_path / "verified"))
    assert verified.returncode == 0, verified.stderr
    assert (tmp_path / "verified").read_bytes() == b"cli over tls"

    insecure = run_cli(tls_server, "cp", "--insecure", url, str(tmp_path / "insecure"))
    assert insecure.returncode == 0, insecure.stderr
    assert "not verified" in insecure.stderr and insecure.stderr.count("warning") == 1
    assert (tmp_path / "insecure").read_bytes() == b"cli over tls"


def test_curl_over_https(tls_server, https_bucket, authority, tmp_path):
    body = os.urandom(2 * MiB)
    https_bucket.put_object("curl", body)
    url = https_bucket.sign_url("GET", "curl", 60)
    output = tmp_path / "curl"
    subprocess.run(["curl", "-sSf", "--cacert", str(authority.ca_file), "-o", str(output), url], check=True,
                   timeout=60)
    assert hashlib.md5(output.read_bytes()).digest() == hashlib.md5(body).digest()


def test_plain_http_to_the_https_port_is_refused_and_the_server_goes_on(tls_server, https_bucket):
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.settimeout(10)
        try:
            answer = raw.recv(1024)
        except ConnectionResetError:
            answer = b""
        assert not answer.startswith(b"HTTP/1.1 200")
    https_bucket.put_object("after", b"still serving")
    assert https_bucket.get_object("after").read() == b"still serving"


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_reloads_the_certificate_in_every_worker(tmp_path, authority, workers):
    first = authority.issue(tmp_path, "first")
    running = start_server(str(tmp_path / "data"), "--tls-cert", str(first.cert_file), "--tls-key",
                           str(first.key_file), "--workers", str(workers))
    try:
        assert served_certificate_serial(running.port, authority.ca_file) == first.serial
        second = authority.issue(tmp_path, "second")  # written over the first's files
        running.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while True:  # several connections, so that with two workers both are seen (the kernel spreads them)
            serials = {served_certificate_serial(running.port, authority.ca_file) for _ in range(12)}
            if serials == {second.serial} or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert serials == {second.serial}

        second.cert_file.write_text("not a certificate")  # a renewal caught half-written
        running.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert {served_certificate_serial(running.port, authority.ca_file) for _ in range(6)} == {second.serial}
        assert running.process.poll() is None
    finally:
        assert running.stop() == 0


def test_an_unusable_certificate_stops_the_server_at_start(tmp_path, authority):
    issued = authority.issue(tmp_path)
    issued.key_file.write_text("not a key")
    result = subprocess.run([sys.executable, "-m", "ossbox", "serve", "--port", "0", "--data-dir",
                             str(tmp_path / "data"), "--tls-cert", str(issued.cert_file), "--tls-key",
                             str(issued.key_file)], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "cannot serve HTTPS" in result.stderr

    alone = subprocess.run([sys.executable, "-m", "ossbox", "serve", "--port", "0", "--data-dir",
                            str(tmp_path / "data"), "--tls-cert", str(issued.cert_file)],
                           capture_output=True, text=True, timeout=30)
    assert alone.returncode != 0 and "go together" in alone.stderr


def test_a_worker_replaced_after_the_files_went_bad_serves_the_last_good_certificate(tmp_path, authority):
    issued = authority.issue(tmp_path, "good")
    running = start_server(str(tmp_path / "data"), "--tls-cert", str(issued.cert_file), "--tls-key",
                           str(issued.key_file), "--workers", "2")
    try:
        issued.cert_file.write_text("garbage, as a failed renewal leaves it")
        workers = [int(pid) for pid in
                   open(f"/proc/{running.process.pid}/task/{running.process.pid}/children").read().split()]
        for pid in workers:  # more crashes than the parent's give-up count, each replaced by a new worker
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        serials: set[int] = set()  # none while no worker answers
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                serials = {served_certificate_serial(running.port, authority.ca_file) for _ in range(6)}
                break
            except OSError:
                time.sleep(0.2)
        assert serials == {issued.serial}
        assert running.process.poll() is None
    finally:
        assert running.stop() == 0
