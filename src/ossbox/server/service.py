"""The server's own paths, beside the buckets: `/-/health/live`, `/-/health/ready`, `/-/metrics` and the web
console under `/-/console/`.

Strategy: a request is for these when its raw path starts with `/-/` and its Host does not name a bucket
(virtual-hosted addressing, where `/-/...` is an object key). No bucket can be named `-` (OSS names are 3 to 63
characters), so path-style addressing never reaches a bucket here either. Liveness says the process answers;
readiness that the metadata store answers a query and the data directory takes a write, each within
`_READY_TIMEOUT` seconds (a hung network file system makes the server unready, not the probe hang).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from ..protocol.errors import OssError
from .addressing import host_bucket
from .context import ServerConfig
from .dispatch import ACCESS, REQUEST_ID, Accessed, Services, new_request_id
from .metrics import STORAGE_ERRORS, metrics_response

__all__ = ["PREFIX", "is_service_request", "service_response"]

log = logging.getLogger("ossbox.server")

PREFIX = "/-/"
_CONSOLE = "/-/console"
_READY_TIMEOUT = 5.0
# How the metrics and the access log name these paths' requests (the console's API requests name their own).
_OPERATIONS = {"/-/health/live": "HealthLive", "/-/health/ready": "HealthReady", "/-/metrics": "Metrics"}


def is_service_request(request: web.Request, config: ServerConfig) -> bool:
    if not request.raw_path.startswith(PREFIX):
        return False
    try:
        return host_bucket(request.host, config.base_domain) is None
    except OssError:  # a Host that is not UTF-8: the OSS dialect refuses it
        return False


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", headers={"Cache-Control": "no-store"})


async def _ready(services: Services) -> web.Response:
    storage = services.storage.engine
    checks = {
        "metadata": lambda: storage.metadata.list_buckets("", "", 1),
        "data_dir": storage.blobs.probe,
    }
    results = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(services.offload(check), _READY_TIMEOUT)
            results[name] = "ok"
        except asyncio.TimeoutError:
            results[name] = f"no answer within {_READY_TIMEOUT:g} s"
        except Exception as error:  # noqa: BLE001 - whatever fails, the answer is "not ready"
            # the details (paths, a database's address) go to the log, not to whoever asks
            log.warning("not ready: the %s check failed: %s: %s", name, type(error).__name__, error)
            results[name] = "failed: see the server's log"
    ready = all(result == "ok" for result in results.values())
    return web.json_response({"status": "ready" if ready else "unready", "checks": results},
                             status=200 if ready else 503, headers={"Cache-Control": "no-store"})


async def service_response(request: web.Request, services: Services, reclaim) -> web.StreamResponse:
    """The answer of one of the server's own paths; a failure there is a logged 500, counted like any other."""
    try:
        return await _route(request, services, reclaim)
    except ConnectionError:
        raise  # the client left: nobody to answer
    except Exception:
        log.exception("internal error in %s %s", request.method, request.path)
        STORAGE_ERRORS.labels("internal").inc()
        return _plain(500, "Internal error: the server's log says more.")


async def _route(request: web.Request, services: Services, reclaim) -> web.StreamResponse:
    path = request.path
    console = path == _CONSOLE or path.startswith(_CONSOLE + "/")
    request[ACCESS] = Accessed(_OPERATIONS.get(path, "Console" if console else "-"), None, None, None)
    if console:
        from .console import handle as console_response  # the console's modules load with its first request

        return await console_response(request, services, reclaim)
    request[REQUEST_ID] = new_request_id()
    if request.method not in ("GET", "HEAD"):
        return _plain(405, f"{path} answers GET and HEAD only.")
    if path == "/-/health/live":
        return _plain(200, "live")
    if path == "/-/health/ready":
        return await _ready(services)
    if path == "/-/metrics":
        return await metrics_response(request, services.storage.engine, services.offload, services.config.metrics_token)
    return _plain(404, f"{path}: no such path. The server's own are /-/health/live, /-/health/ready, /-/metrics "
                       f"and /-/console/.")
