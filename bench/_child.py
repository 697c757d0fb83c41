"""The Python side of each measured run, executed in a process of its own by bench/run.py.

    python bench/_child.py download ossbox|oss2|v2|boto3 ENDPOINT AK SK BUCKET KEY TARGET STORE PART_SIZE THREADS
    python bench/_child.py upload ossbox|boto3 ENDPOINT AK SK BUCKET KEY SOURCE STORE PART_SIZE THREADS
    python bench/_child.py write-md5 SOURCE TARGET
    python bench/_child.py loadgen URL BUCKET KEY AK SK CONNECTIONS SECONDS SIZE
    python bench/_child.py fsync-floor DIRECTORY THREADS SECONDS SIZE

Each prints one JSON line. Library calls are timed around the call alone, after the imports, so the
figure is the library's and not the interpreter's start-up; `peak_rss_kib` is the whole process's VmHWM.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from email.utils import formatdate

__all__ = ["S3_REGION", "s3_client", "signed_headers"]

V2_REGION = "cn-hangzhou"  # any region: the server is started without --region, so it accepts every scope
S3_REGION = "us-east-1"  # the S3 dialect's region when the server is started without one


def s3_client(endpoint: str, access_key_id: str, secret: str, connections: int = 10):
    """boto3 on ossbox's S3 port: SigV4, path-style addressing, otherwise boto3's defaults."""
    import boto3
    from botocore.config import Config
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"}, max_pool_connections=connections)
    return boto3.client("s3", endpoint_url=endpoint, region_name=S3_REGION, aws_access_key_id=access_key_id,
                        aws_secret_access_key=secret, config=config)


def _transfer_config(part_size: str, threads: str):
    """s3transfer (not the CRT client) with the bench's part size and threads, parted from the first byte
    as the OSS clients are (multiget_threshold=1, multipart_threshold=0)."""
    from boto3.s3.transfer import TransferConfig
    return TransferConfig(multipart_threshold=1, multipart_chunksize=int(part_size), max_concurrency=int(threads),
                          preferred_transfer_client="classic")


def signed_headers(bucket: str, key: str | None, access_key_id: str, secret: str, method: str = "GET",
                   content_type: str = "") -> dict[str, str]:
    """Date and a V1 Authorization for a plain GET (or `method`, with `content_type` and no Content-MD5),
    signed by the protocol core ossbox itself verifies with; with `content_type`, its header too."""
    from ossbox.protocol.signing import SignedParts, v1_authorization
    date = formatdate(usegmt=True)
    headers = {"date": date, **({"content-type": content_type} if content_type else {})}
    authorization = v1_authorization(SignedParts(method, bucket, key, headers=headers), access_key_id, secret)
    return {"Date": date, "Authorization": authorization, **({"Content-Type": content_type} if content_type else {})}


def _download(client: str, endpoint: str, ak: str, sk: str, bucket_name: str, key: str, target: str, store: str,
              part_size: str, threads: str) -> dict:
    if client == "boto3":
        s3 = s3_client(endpoint, ak, sk, int(threads))
        config = _transfer_config(part_size, threads)
        started = time.perf_counter()
        s3.download_file(bucket_name, key, target, Config=config)
        return {"seconds": time.perf_counter() - started}
    if client == "v2":
        import alibabacloud_oss_v2 as oss
        config = oss.config.load_default()
        config.credentials_provider = oss.credentials.StaticCredentialsProvider(ak, sk)
        config.region = V2_REGION
        config.endpoint = endpoint
        config.use_path_style = True
        downloader = oss.Client(config).downloader(part_size=int(part_size), parallel_num=int(threads))
        started = time.perf_counter()
        downloader.download_file(oss.GetObjectRequest(bucket=bucket_name, key=key), target)
        return {"seconds": time.perf_counter() - started}
    if client == "oss2":
        import oss2 as lib
    else:
        import ossbox.client as lib
    bucket = lib.Bucket(lib.Auth(ak, sk), endpoint, bucket_name)
    started = time.perf_counter()
    lib.resumable_download(bucket, key, target, store=lib.ResumableDownloadStore(root=store), multiget_threshold=1,
                           part_size=int(part_size), num_threads=int(threads))
    return {"seconds": time.perf_counter() - started}


def _upload(client: str, endpoint: str, ak: str, sk: str, bucket_name: str, key: str, source: str, store: str,
            part_size: str, threads: str) -> dict:
    if client == "boto3":
        s3 = s3_client(endpoint, ak, sk, int(threads))
        config = _transfer_config(part_size, threads)
        started = time.perf_counter()
        s3.upload_file(source, bucket_name, key, Config=config)
        return {"seconds": time.perf_counter() - started}
    import ossbox.client as lib
    bucket = lib.Bucket(lib.Auth(ak, sk), endpoint, bucket_name)
    started = time.perf_counter()
    lib.resumable_upload(bucket, key, source, store=lib.ResumableStore(root=store), multipart_threshold=0,
                         part_size=int(part_size), num_threads=int(threads))
    return {"seconds": time.perf_counter() - started}


def _write_md5(source: str, target: str) -> dict:
    """What a PUT cannot skip: the bytes written to a new file, hashed, and made durable."""
    digest = hashlib.md5()
    started = time.perf_counter()
    with open(source, "rb", buffering=0) as reader, open(target, "xb", buffering=0) as writer:
        while chunk := reader.read(1 << 20):
            digest.update(chunk)
            writer.write(chunk)
        os.fsync(writer.fileno())
    return {"seconds": time.perf_counter() - started, "md5": digest.hexdigest()}


async def _load(url: str, bucket: str, key: str, ak: str, sk: str, connections: int, seconds: float,
                size: int) -> dict:
    """`connections` keep-alive connections, each sending signed GETs back to back for `seconds`."""
    import aiohttp
    loop = asyncio.get_running_loop()
    counts = {"ok": 0, "bad": 0}

    async def worker(session, deadline: float) -> None:
        while loop.time() < deadline:
            async with session.get(url, headers=signed_headers(bucket, key, ak, sk)) as response:
                body = await response.read()
                counts["ok" if response.status == 200 and len(body) == size else "bad"] += 1

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        started = loop.time()
        await asyncio.gather(*(worker(session, started + seconds) for _ in range(connections)))
        elapsed = loop.time() - started
    return {"requests_per_second": counts["ok"] / elapsed, "errors": counts["bad"]}


def _fsync_floor(directory: str, threads: int, seconds: float, size: int) -> dict:
    """What a durable small PUT cannot skip, from `threads` threads for `seconds`: a new file of `size` bytes
    written and fsynced, renamed over a name of 32 per thread, and the directory fsynced. The calls release
    the GIL, so the threads wait on the disk together as a server's requests would."""
    import threading
    body, counts = os.urandom(size), [0] * threads
    deadline = time.perf_counter() + seconds

    def work(thread: int) -> None:
        temporary = os.path.join(directory, f".tmp-{thread}")
        while time.perf_counter() < deadline:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(descriptor, body)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.rename(temporary, os.path.join(directory, f"{thread}-{counts[thread] % 32}"))
            descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            counts[thread] += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(thread,)) for thread in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"ops_per_second": sum(counts) / (time.perf_counter() - started)}


def _own_peak_kib() -> int:
    """VmHWM: this address space's high-water mark. Not ru_maxrss, which also counts the parent's RSS at
    the fork, carried over by exec."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def main(argv: list[str]) -> None:
    command, args = argv[0], argv[1:]
    if command == "download":
        result = _download(*args)
    elif command == "upload":
        result = _upload(*args)
    elif command == "write-md5":
        result = _write_md5(*args)
    elif command == "loadgen":
        url, bucket, key, ak, sk, connections, seconds, size = args
        result = asyncio.run(_load(url, bucket, key, ak, sk, int(connections), float(seconds), int(size)))
    elif command == "fsync-floor":
        directory, threads, seconds, size = args
        result = _fsync_floor(directory, int(threads), float(seconds), int(size))
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(dict(result, peak_rss_kib=_own_peak_kib())))


if __name__ == "__main__":
    main(sys.argv[1:])
