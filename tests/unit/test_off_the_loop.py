"""No storage call and no parse of a request body runs on the event loop's thread.

The app is served in-process (aiohttp's test server) over a storage engine whose metadata store records
the thread of every call, and a sample of every kind of request goes through it: object reads and writes,
listings, multipart, batch delete, ACLs and tags, buckets. Not one metadata call may come from the loop but
`change_marker`, which is made for it (it never waits and reads no file), and which the read cache does ask
there.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading

from aiohttp.test_utils import TestClient, TestServer

from ossbox.server.app import create_app
from ossbox.server.context import ServerConfig
from ossbox.storage.engine import Storage


class RecordingMetadata:
    """A metadata store that notes which threads call it."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.threads: list[str] = []

    def __getattr__(self, name: str):
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def recorded(*args, **kwargs):
            self.threads.append((name, threading.current_thread().name))
            return attribute(*args, **kwargs)
        return recorded


def test_every_storage_call_runs_off_the_event_loop(tmp_path):
    storage = Storage(str(tmp_path / "data"))
    recording = RecordingMetadata(storage.metadata)
    storage.metadata = recording
    delete_body = b"<Delete><Object><Key>a</Key></Object><Object><Key>b</Key></Object></Delete>"

    async def exercise() -> None:
        client = TestClient(TestServer(create_app(storage, ServerConfig({"ak": "sk"}))))
        await client.start_server()
        loop_thread = threading.current_thread().name
        try:
            # Anonymous requests: no signing needed, and they take every access-checking path.
            steps = [
                ("PUT", "/bucket/", {}, b""),  # refused: buckets need a signature, decided before storage
                ("GET", "/bucket/a", {}, b""),
                ("PUT", "/bucket/a", {}, b"x"),
                ("GET", "/bucket/a", {}, b""),
                ("GET", "/bucket/a", {}, b""),  # from the read cache
                ("HEAD", "/bucket/a", {}, b""),
                ("POST", "/bucket/?delete", {"Content-MD5": base64.b64encode(hashlib.md5(delete_body).digest())
                                             .decode()}, delete_body),
                ("GET", "/bucket/?delimiter=/", {}, b""),
                ("HEAD", "/bucket/a?objectMeta", {}, b""),
                ("POST", "/bucket/a?uploads", {}, b""),
                ("PUT", "/bucket/a?acl", {"x-oss-object-acl": "private"}, b""),
            ]
            storage.create_bucket("bucket", acl="public-read-write")
            recording.threads.clear()
            for method, target, headers, body in steps:
                response = await client.request(method, target, headers=headers, data=body)
                assert response.status < 500, (method, target, response.status, await response.text())
                await response.read()
            during_requests = list(recording.threads)
        finally:
            await client.close()
        assert during_requests, "the requests reached no storage call"
        assert ("change_marker", loop_thread) in during_requests  # the read cache was consulted
        assert [call for call in during_requests if call[1] == loop_thread and call[0] != "change_marker"] == []

    asyncio.run(exercise())
