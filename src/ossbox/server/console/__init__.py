"""The web console under `/-/console/`: a page in the browser that is a thin client over the OSS API.

Strategy: the page's every action on buckets and objects is an OSS API request sent to
`/-/console/api/<bucket>/<key>?<query>` and handled by `dispatch.respond()` in the console's dialect
(dialect.py): the same codecs, operations, ACLs, policies and conditions as any SDK's request, identified by a
server-side session (sessions.py) instead of a signature. Beside the API: signing in and out (signin.py),
presigned links to share an object (share.py) and the page's own files (assets.py); routes.py says which is
which. Nothing a session needs lives in one process: sessions are files in the data directory, so every worker
and every node sharing it sees a sign-in and a sign-out at once.
"""

from .routes import handle

__all__ = ["handle"]
