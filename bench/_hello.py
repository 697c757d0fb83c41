"""The framework's ceiling for the small-GET case: a bare aiohttp app answering every request with the same
4 KiB from memory, in as many processes (sharing the port with SO_REUSEPORT) as ossbox runs workers.

    python bench/_hello.py PORT PROCESSES BODY_FILE
"""

from __future__ import annotations

import os
import sys

from aiohttp import web


def main(port: int, processes: int, body_file: str) -> None:
    with open(body_file, "rb") as file:
        body = file.read()

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/octet-stream")

    for _ in range(processes - 1):
        if os.fork() == 0:
            break
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=True, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
