"""The access log (`ossbox serve --access-log [FILE]`): one JSON object per line for every request answered.

Strategy: a line holds what was asked and how it went (request id, method, operation, bucket, key, status,
bytes, duration, the access key id that signed it, the client's address) and never the request target: a
presigned URL's query carries its signature. Lines go through a queue to a thread that writes them, so a slow
disk never stalls the event loop. A file is opened in append mode (every worker appends whole lines) and
reopened when it is moved or removed, as logrotate does.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
import sys
import time

from aiohttp import web

from .dispatch import ACCESS, REQUEST_ID

__all__ = ["AccessLog", "STDERR"]

STDERR = "-"


class AccessLog:
    def __init__(self, destination: str) -> None:
        """`destination` is a file's path, or `-` for standard error."""
        handler = (logging.StreamHandler(sys.stderr) if destination == STDERR
                   else logging.handlers.WatchedFileHandler(destination, encoding="utf-8"))
        handler.setFormatter(logging.Formatter("%(message)s"))
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._listener = logging.handlers.QueueListener(self._queue, handler)
        self._listener.start()

    def write(self, request: web.Request, status: int, received: int, sent: int, seconds: float) -> None:
        accessed = request.get(ACCESS)
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "request_id": request.get(REQUEST_ID),
            "remote": request.remote,
            "method": request.method,
            "operation": accessed.operation if accessed else None,
            "bucket": accessed.bucket if accessed else None,
            "key": accessed.key if accessed else None,
            "status": status,
            "bytes_in": received,
            "bytes_out": sent,
            "duration_ms": round(seconds * 1000, 3),
            "access_key_id": accessed.principal if accessed else None,
            "user_agent": request.headers.get("User-Agent"),
        }
        # ensure_ascii: a key's lone surrogates (bytes that were not UTF-8) cannot break the line's encoding
        self._queue.put(logging.makeLogRecord({"msg": json.dumps(entry), "levelno": logging.INFO}))

    def close(self) -> None:
        self._listener.stop()  # writes what is queued first
