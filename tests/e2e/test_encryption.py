"""Server-side encryption through both SDKs and our client: what a write names (or its bucket's default)
is answered on every write and read, the bytes on disk are ciphertext, and every way of reading or
copying them gives the bytes written back, whole or in ranges.

- PUT, GET (whole, ranged, parallel ranged downloads), HEAD, CopyObject in both directions, multipart with
  part copies, appends (past the compaction of their extents), the bucket's default (PutBucketEncryption,
  or headers on PutBucket), GetBucketInfo;
- the errors OSS gives: an unknown algorithm, a key id without KMS, encryption named on a part;
- `ossbox check --deep` decrypts to verify, and notices a tampered blob or a missing key.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from oss2.models import PartInfo, ServerSideEncryptionRule

from ossbox import client
from ossbox.client.checkpoint import ResumableDownloadStore
from ossbox.storage.engine import MAX_EXTENTS, Storage
from ossbox.storage.records import Encryption

from .conftest import v2_client

SSE = "x-oss-server-side-encryption"
KEY_ID = "x-oss-server-side-encryption-key-id"
DATA = "x-oss-server-side-data-encryption"


def marked(size: int) -> bytes:
    """Bytes that say where they came from, so that a blob file holding them in the clear is found."""
    marker = os.urandom(8).hex().encode()
    return (b"PLAINTEXT-" + marker + b"-") * (size // 27 + 1)


def files_holding(server, data: bytes) -> list[str]:
    needle = data[:27]
    return [path for path in glob.glob(os.path.join(server.data_dir, "blobs", "*", "*", "*"))
            if needle in open(path, "rb").read()]


def test_encrypted_objects_are_ciphertext_on_disk_and_read_back_whole_and_in_ranges(server, bucket):
    data = marked(3 << 20)
    written = bucket.put_object("secret", data, headers={SSE: "AES256"})
    assert written.headers[SSE] == "AES256" and KEY_ID not in written.headers
    assert files_holding(server, data) == []
    assert bucket.get_object("secret").read() == data
    for first, last in ((0, 0), (5, 30), (1_000_001, 2_500_000), (len(data) - 17, len(data) - 1)):
        assert bucket.get_object("secret", byte_range=(first, last)).read() == data[first:last + 1]
    head = bucket.head_object("secret")
    assert (head.headers[SSE], head.content_length) == ("AES256", len(data))
    small = marked(100)
    bucket.put_object("small", small, headers={SSE: "SM4"})
    assert bucket.get_object("small").read() == small and files_holding(server, small) == []
    plain = marked(1000)
    bucket.put_object("plain", plain)
    assert SSE not in bucket.head_object("plain").headers
    assert len(files_holding(server, plain)) == 1  # the others stay as they are


def test_kms_names_a_key_and_keeps_its_data_algorithm(server, bucket):
    default = bucket.put_object("kms", b"x", headers={SSE: "KMS"})
    assert default.headers[KEY_ID] and DATA not in default.headers
    assert bucket.put_object("kms2", b"x", headers={SSE: "KMS"}).headers[KEY_ID] == default.headers[KEY_ID]
    named = bucket.put_object("named", b"x", headers={SSE: "KMS", KEY_ID: "my-key", DATA: "SM4"})
    assert (named.headers[KEY_ID], named.headers[DATA]) == ("my-key", "SM4")
    assert bucket.get_object("named").headers[KEY_ID] == "my-key"
    client_v2 = v2_client(server)
    result = client_v2.put_object(oss.PutObjectRequest(bucket=bucket.bucket_name, key="v2", body=b"v2 bytes",
                                                       server_side_encryption="KMS", server_side_data_encryption="SM4"))
    assert (result.headers[SSE], result.headers[DATA]) == ("KMS", "SM4")
    got = client_v2.get_object(oss.GetObjectRequest(bucket=bucket.bucket_name, key="v2"))
    assert (got.body.read(), got.server_side_encryption) == (b"v2 bytes", "KMS")


@pytest.mark.parametrize("headers,code", [
    ({SSE: "DES"}, "InvalidEncryptionAlgorithmError"),
    ({SSE: "AES256", KEY_ID: "k"}, "InvalidArgument"),
    ({SSE: "KMS", DATA: "AES"}, "InvalidArgument"),
])
def test_encryption_a_write_cannot_have(bucket, headers, code):
    with pytest.raises(oss2.exceptions.OssError) as refused:
        bucket.put_object("k", b"x", headers=headers)
    assert (refused.value.status, refused.value.code) == (400, code)
    assert not bucket.object_exists("k")


def test_copies_take_the_requests_encryption_not_the_sources(server, bucket):
    data = marked(2 << 20)
    bucket.put_object("encrypted", data, headers={SSE: "KMS"})
    bucket.copy_object(bucket.bucket_name, "encrypted", "copied")  # the copy is in the clear ...
    assert SSE not in bucket.head_object("copied").headers
    assert bucket.get_object("copied").read() == data and len(files_holding(server, data)) == 1
    bucket.copy_object(bucket.bucket_name, "copied", "again", headers={SSE: "AES256"})  # ... this one not
    assert bucket.head_object("again").headers[SSE] == "AES256"
    assert bucket.get_object("again").read() == data and len(files_holding(server, data)) == 1
    bucket.copy_object(bucket.bucket_name, "again", "both", headers={SSE: "SM4"})
    assert bucket.get_object("both", byte_range=(7, 70000)).read() == data[7:70001]


def test_multipart_uploads_encrypt_every_part(server, bucket):
    source = marked(300_000)
    bucket.put_object("source", source, headers={SSE: "AES256"})
    started = bucket.init_multipart_upload("parts", headers={SSE: "KMS", DATA: "SM4"})
    assert (started.headers[SSE], started.headers[DATA]) == ("KMS", "SM4")
    first = marked(150_000)
    with pytest.raises(oss2.exceptions.InvalidArgument):  # a part takes the upload's encryption
        bucket.upload_part("parts", started.upload_id, 1, first, headers={SSE: "KMS"})
    part1 = bucket.upload_part("parts", started.upload_id, 1, first)
    assert (part1.headers[SSE], part1.headers[KEY_ID]) == ("KMS", started.headers[KEY_ID])
    part2 = bucket.upload_part_copy(bucket.bucket_name, "source", (1000, 200_999), "parts", started.upload_id, 2)
    parts = [PartInfo(1, part1.etag), PartInfo(2, part2.etag)]
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.complete_multipart_upload("parts", started.upload_id, parts, headers={SSE: "AES256"})
    done = bucket.complete_multipart_upload("parts", started.upload_id, parts)
    assert done.headers[SSE] == "KMS"
    expected = first + source[1000:201_000]
    assert bucket.get_object("parts").read() == expected
    assert bucket.get_object("parts", byte_range=(149_990, 150_020)).read() == expected[149_990:150_021]
    assert files_holding(server, first) == [] and files_holding(server, source) == []


def test_appends_keep_the_first_appends_encryption_past_compaction(server, bucket):
    pieces = [marked(64) + bytes([index % 251]) for index in range(MAX_EXTENTS + 6)]
    first = bucket.append_object("log", 0, pieces[0], headers={SSE: "KMS"})
    assert first.headers[SSE] == "KMS"
    position = len(pieces[0])
    for piece in pieces[1:]:
        appended = bucket.append_object("log", position, piece, headers={SSE: "AES256"})  # ignored after the first
        assert appended.headers[SSE] == "KMS"
        position += len(piece)
    data = b"".join(pieces)
    assert bucket.get_object("log").read() == data
    assert bucket.get_object("log", byte_range=(100, 2000)).read() == data[100:2001]
    assert files_holding(server, pieces[0]) == []


def test_a_parallel_ranged_download_of_an_encrypted_object(server, remote, tmp_path):
    arranged, tested = remote
    data = os.urandom(5 * (256 << 10) + 77)
    arranged.put_object("object", data, headers={SSE: "AES256"})
    target = tmp_path / "out.bin"
    client.resumable_download(tested, "object", str(target), multiget_threshold=256 << 10, part_size=256 << 10,
                              num_threads=4, store=ResumableDownloadStore(str(tmp_path / "store")))
    assert target.read_bytes() == data


def test_the_buckets_default_encryption(server, bucket, make_bucket):
    with pytest.raises(oss2.exceptions.NoSuchServerSideEncryptionRule):
        bucket.get_bucket_encryption()
    rule = ServerSideEncryptionRule()
    rule.sse_algorithm = "KMS"
    rule.kms_data_encryption = "SM4"
    bucket.put_bucket_encryption(rule)
    got = bucket.get_bucket_encryption()
    assert (got.sse_algorithm, got.kms_master_keyid, got.kms_data_encryption) == ("KMS", None, "SM4")
    info = bucket.get_bucket_info().bucket_encryption_rule
    assert (info.sse_algorithm, info.kms_data_encryption) == ("KMS", "SM4")
    data = marked(10_000)
    written = bucket.put_object("defaulted", data)
    assert (written.headers[SSE], written.headers[DATA]) == ("KMS", "SM4") and written.headers[KEY_ID]
    assert bucket.put_object("named", b"x", headers={SSE: "AES256"}).headers[SSE] == "AES256"  # a name wins
    assert bucket.get_object("defaulted").read() == data and files_holding(server, data) == []
    rule.sse_algorithm, rule.kms_master_keyid = "AES256", "k"
    with pytest.raises(oss2.exceptions.InvalidArgument):
        bucket.put_bucket_encryption(rule)
    rule.sse_algorithm, rule.kms_master_keyid = "random", None
    with pytest.raises(oss2.exceptions.InvalidEncryptionAlgorithmError):
        bucket.put_bucket_encryption(rule)
    client_v2 = v2_client(server)
    client_v2.delete_bucket_encryption(oss.DeleteBucketEncryptionRequest(bucket=bucket.bucket_name))
    assert SSE not in bucket.put_object("after", b"x").headers
    client_v2.put_bucket_encryption(oss.PutBucketEncryptionRequest(
        bucket=bucket.bucket_name, server_side_encryption_rule=oss.ServerSideEncryptionRule(
            apply_server_side_encryption_by_default=oss.ApplyServerSideEncryptionByDefault(sse_algorithm="SM4"))))
    got = client_v2.get_bucket_encryption(oss.GetBucketEncryptionRequest(bucket=bucket.bucket_name))
    assert got.server_side_encryption_rule.apply_server_side_encryption_by_default.sse_algorithm == "SM4"

    created = make_bucket()  # a bucket created with encryption headers has that default from the start
    created.delete_bucket()
    created.create_bucket(oss2.BUCKET_ACL_PRIVATE, headers={SSE: "KMS", KEY_ID: "bucket-key"})
    assert created.get_bucket_info().bucket_encryption_rule.kms_master_keyid == "bucket-key"
    assert created.put_object("k", b"x").headers[KEY_ID] == "bucket-key"


def run_check(data_dir: str) -> str:
    return subprocess.run([sys.executable, "-m", "ossbox", "check", "--data-dir", data_dir, "--deep"],
                          capture_output=True, text=True).stdout


def test_check_deep_decrypts_and_notices_tampering_and_a_missing_key(tmp_path):
    data_dir = str(tmp_path / "data")
    storage = Storage(data_dir)
    storage.create_bucket("b")
    writer = storage.new_blob(encrypted=True)
    writer.write(b"secret bytes" * 1000)
    blob = writer.commit()
    storage.commit_object("b", "k", blob, "", encryption=Encryption("AES256"))
    storage.close()
    assert run_check(data_dir).endswith("0 problem(s)\n")
    path = glob.glob(os.path.join(data_dir, "blobs", "*", "*", blob.blob_id))[0]
    with open(path, "r+b") as file:
        file.seek(100)
        byte = file.read(1)
        file.seek(100)
        file.write(bytes([byte[0] ^ 1]))
    assert "crc-mismatch" in run_check(data_dir)
    os.unlink(os.path.join(data_dir, "sse.key"))
    assert "missing-key" in run_check(data_dir)


def test_an_empty_appendable_object_keeps_its_encryption(bucket):
    bucket.append_object("empty", 0, b"")  # in the clear
    rule = ServerSideEncryptionRule()
    rule.sse_algorithm = "AES256"
    bucket.put_bucket_encryption(rule)  # a default that came later is not the object's
    appended = bucket.append_object("empty", 0, b"hello")
    assert SSE not in appended.headers and bucket.get_object("empty").read() == b"hello"
