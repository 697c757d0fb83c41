"""Larger objects: byte-identical round trips through put/get and the SDKs' ranged, parallel downloaders.

The 50 MiB cases take about 3 s each on 2 cores; they are not marked slow.
"""

from __future__ import annotations

import hashlib
import os

import alibabacloud_oss_v2 as oss
import oss2
import pytest

from .helpers import crc64, etag_of

MiB = 1 << 20


def _file_digest(path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _resumable_download(bucket, key, path, tmp_path, **kwargs):
    store = oss2.ResumableDownloadStore(root=str(tmp_path), dir="oss2-checkpoints")
    oss2.resumable_download(bucket, key, str(path), store=store, **kwargs)
    assert not [p for p in os.listdir(path.parent) if ".tmp-" in p]  # the temp file was renamed


def test_resumable_download_in_ranged_parts(bucket, tmp_path):
    """A 3 MiB object (+ an odd tail) fetched in 256 KiB ranges by 4 threads with If-Match."""
    data = os.urandom(3 * MiB + 12345)
    bucket.put_object("medium", data)
    target = tmp_path / "medium.bin"
    _resumable_download(bucket, "medium", target, tmp_path, multiget_threshold=MiB, part_size=256 * 1024,
                        num_threads=4)
    assert target.read_bytes() == data


def test_v2_downloader(v2, tmp_path):
    data = os.urandom(2 * MiB + 777)
    v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key="medium", body=data))
    target = tmp_path / "v2.bin"
    result = v2.client.downloader(part_size=256 * 1024, parallel_num=3).download_file(
        oss.GetObjectRequest(bucket=v2.name, key="medium"), str(target))
    assert result.written == len(data)
    assert target.read_bytes() == data


# The signature version does not matter for big bodies: run these once, not once per signer.
@pytest.mark.parametrize("sig", ["v4"])
def test_50_mib_round_trip_oss2(bucket, tmp_path):
    data = os.urandom(50 * MiB)
    expected_md5 = hashlib.md5(data).hexdigest()
    result = bucket.put_object("big", data)
    assert result.crc == crc64(data)
    assert result.resp.headers["ETag"] == etag_of(data)
    got = bucket.get_object("big")
    body = got.read()
    assert len(body) == len(data) and hashlib.md5(body).hexdigest() == expected_md5
    del body
    # ranged parallel download (8 MiB parts, 4 threads; oss2 checks the combined CRC)
    target = tmp_path / "big.bin"
    _resumable_download(bucket, "big", target, tmp_path, multiget_threshold=MiB, part_size=8 * MiB, num_threads=4)
    assert os.path.getsize(target) == len(data)
    assert _file_digest(target) == expected_md5
    # below the threshold: one plain GET straight into the file
    target2 = tmp_path / "big-plain.bin"
    _resumable_download(bucket, "big", target2, tmp_path, multiget_threshold=100 * MiB)
    assert _file_digest(target2) == expected_md5


@pytest.mark.parametrize("v2sig", ["v4"])
def test_50_mib_round_trip_v2(v2, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(50 * MiB))
    expected_md5 = _file_digest(source)
    with open(source, "rb") as f:
        result = v2.client.put_object(oss.PutObjectRequest(bucket=v2.name, key="big", body=f))
    assert result.etag.strip('"').lower() == expected_md5
    target = tmp_path / "v2-big.bin"
    v2.client.downloader().download_file(oss.GetObjectRequest(bucket=v2.name, key="big"), str(target))
    assert _file_digest(target) == expected_md5
    got = v2.client.get_object(oss.GetObjectRequest(bucket=v2.name, key="big", range_header="bytes=10485760-",
                                                    range_behavior="standard"))
    tail = got.body.read()
    assert got.status_code == 206 and len(tail) == 40 * MiB
    with open(source, "rb") as f:
        f.seek(10 * MiB)
        assert tail == f.read()
