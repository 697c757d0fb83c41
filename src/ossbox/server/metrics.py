"""What `/-/metrics` shows, in Prometheus's text format, through prometheus_client.

Strategy: each request is counted once it is answered (`observe`): by operation and status, its latency, the
bytes it read and wrote. With `--workers N` the parent points prometheus_client at a directory of its own
(`PROMETHEUS_MULTIPROC_DIR`, set before this module is first imported), every worker writes its samples there,
and a scrape, whichever worker answers it, sums them all: what a worker counted before it died still counts.
What is stored (objects and bytes by bucket and storage class) is read from the metadata, so every node and
worker shows the same figures; counting a large store takes a while, so a worker reads it at most once every
`STORED_TTL` seconds, however many scrapes arrive meanwhile (they share the one reading in progress).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import os
import time

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from ..storage.engine import Storage

__all__ = ["IN_FLIGHT", "STORAGE_ERRORS", "STORED_TTL", "UNKNOWN_OPERATION", "observe", "metrics_response"]

STORED_TTL = 30.0  # seconds a reading of what is stored is shown before it is read again

# The label of requests that name no operation (a target that cannot be parsed).
UNKNOWN_OPERATION = "-"

REQUESTS = Counter("ossbox_requests", "Requests answered, by operation and HTTP status.", ["operation", "status"])
LATENCY = Histogram("ossbox_request_duration_seconds",
                    "Seconds from a request's arrival to the end of its response, by operation.", ["operation"],
                    buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300))
RECEIVED = Counter("ossbox_received_bytes", "Request body bytes read, by operation.", ["operation"])
SENT = Counter("ossbox_sent_bytes", "Response bytes written, headers included, by operation.", ["operation"])
IN_FLIGHT = Gauge("ossbox_requests_in_flight", "Requests being handled.", multiprocess_mode="livesum")
STORAGE_ERRORS = Counter("ossbox_storage_errors",
                         "Requests failed by the server's storage: disk_full, metadata_unavailable, "
                         "out_of_descriptors, or internal (a 500).", ["kind"])


def observe(operation: str, status: int, seconds: float, received: int, sent: int) -> None:
    requests, latency, received_bytes, sent_bytes = _series(operation, status)
    requests.inc()
    latency.observe(seconds)
    if received:
        received_bytes.inc(received)
    sent_bytes.inc(sent)


@functools.cache  # operations and statuses come from fixed tables: a few hundred series at most
def _series(operation: str, status: int) -> tuple:
    """The series a request of `operation` answered with `status` counts in (`labels()` costs a request as
    much as counting)."""
    return REQUESTS.labels(operation, str(status)), LATENCY.labels(operation), RECEIVED.labels(operation), \
        SENT.labels(operation)


class _Stored:
    """Objects and bytes stored, per bucket and storage class (latest versions), as read just before."""

    def __init__(self, usage: list[tuple[str, str, int, int]]) -> None:
        self._usage = usage

    def collect(self):
        objects = GaugeMetricFamily("ossbox_stored_objects", "Objects stored (latest versions).",
                                    labels=["bucket", "storage_class"])
        size = GaugeMetricFamily("ossbox_stored_bytes", "Bytes stored (latest versions).",
                                 labels=["bucket", "storage_class"])
        for bucket, storage_class, count, total in self._usage:
            objects.add_metric([bucket, storage_class], count)
            size.add_metric([bucket, storage_class], total)
        return [objects, size]


def _stored_usage(storage: Storage) -> list[tuple[str, str, int, int]]:
    metadata = storage.metadata
    return [(bucket.name, storage_class, usage.count, usage.size)
            for bucket in metadata.iter_buckets()
            for storage_class, usage in sorted(metadata.bucket_usage(bucket.name).items())]


class _StoredReading:
    """This worker's last reading of what is stored, and the lock that lets one scrape at a time refresh it."""

    def __init__(self) -> None:
        self.usage: list[tuple[str, str, int, int]] = []
        self.read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def current(self, storage: Storage, offload) -> list[tuple[str, str, int, int]]:
        if time.monotonic() - self.read_at < STORED_TTL:
            return self.usage
        async with self._lock:  # scrapes arriving meanwhile wait for this reading instead of starting their own
            if time.monotonic() - self.read_at >= STORED_TTL:
                self.usage = await offload(_stored_usage, storage)
                self.read_at = time.monotonic()
        return self.usage


_STORED = _StoredReading()


def _registry(usage: list[tuple[str, str, int, int]]) -> CollectorRegistry:
    registry = CollectorRegistry()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # several workers: every one's samples
        MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    registry.register(_Stored(usage))
    return registry


class _Process:
    """This process's own metrics (the default registry), for a scrape's registry of its own."""

    def collect(self):
        return REGISTRY.collect()


def authorized(request: web.Request, token: str | None) -> bool:
    """Whether the request may read the metrics: always without a token, else with `Authorization: Bearer
    <token>` (compared in constant time)."""
    if token is None:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"),
                                                              token.encode("utf-8", "surrogateescape"))


async def metrics_response(request: web.Request, storage: Storage, offload, token: str | None) -> web.Response:
    if not authorized(request, token):
        return web.Response(status=401, text="/-/metrics needs the server's metrics token as a bearer token.\n",
                            headers={"WWW-Authenticate": 'Bearer realm="ossbox metrics"'})
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # OpenMetrics when asked for
    usage = await _STORED.current(storage, offload)
    body = await offload(lambda: encode(_registry(usage)))
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response

