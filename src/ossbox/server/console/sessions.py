"""Console sessions, kept server-side in the data directory so that every worker and node sees them.

Strategy: signing in makes a random token, given to the browser as the `ossbox_console` cookie, and a session
file named by the token's SHA-256 (`<data dir>/console/sessions/<hex digest>`), so the files do not hold what a
browser presents. The file says which access key id signed in, a mark of the secret it signed in with (an
HMAC, so the file reveals nothing of it), when the session expires and the CSRF token the page must send with
every request that changes something. A session whose secret is no longer the key's (rotated) is void. It is written to a temporary file and renamed into
place, so a reader sees all of it or none. Signing out removes the file: the cookie stops working in every
process at once. Expired files are removed when they are next looked up, and all of them whenever someone
signs in. Every method here blocks (file I/O): call them through `offload`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

__all__ = ["COOKIE", "SESSION_SECONDS", "Session", "SessionStore", "secret_mark"]

COOKIE = "ossbox_console"
SESSION_SECONDS = 12 * 3600
_MAX_TOKEN_LENGTH = 128  # token_urlsafe(32) is 43 characters; anything much longer is not one of ours


def secret_mark(secret: str) -> str:
    """What a session keeps of the secret it was opened with: enough to tell it changed, nothing to sign with."""
    return hmac.new(secret.encode("utf-8", "surrogateescape"), b"ossbox console session", "sha256").hexdigest()


@dataclass(frozen=True)
class Session:
    key_id: str
    expires: float  # epoch seconds
    csrf_token: str
    secret_mark: str

    def opened_with(self, secret: str | None) -> bool:
        """Whether `secret` is the one the session was opened with."""
        return secret is not None and hmac.compare_digest(self.secret_mark, secret_mark(secret))

    def csrf_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.csrf_token.encode(),
                                                         given.encode("utf-8", "surrogateescape"))


class SessionStore:
    def __init__(self, data_dir: str) -> None:
        self.directory = os.path.join(data_dir, "console", "sessions")

    def _path(self, token: str) -> str:
        return os.path.join(self.directory, hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest())

    def create(self, key_id: str, secret: str, now: float | None = None) -> tuple[str, Session]:
        """A new session for `key_id` signed in with `secret`: its token (the cookie's value) and the session.
        Expired ones go."""
        now = time.time() if now is None else now
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self._remove_expired(now)
        token = secrets.token_urlsafe(32)
        session = Session(key_id, now + SESSION_SECONDS, secrets.token_urlsafe(32), secret_mark(secret))
        document = json.dumps({"key_id": key_id, "expires": session.expires, "csrf_token": session.csrf_token,
                               "secret_mark": session.secret_mark})
        path = self._path(token)
        temporary = f"{path}.{secrets.token_hex(8)}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(document)
        os.replace(temporary, path)
        return token, session

    def find(self, token: str, now: float | None = None) -> Session | None:
        """The live session of `token`; None for an unknown, revoked or expired one (removed then)."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        path = self._path(token)
        try:
            with open(path) as file:
                stored = json.load(file)
            session = Session(stored["key_id"], stored["expires"], stored["csrf_token"], stored["secret_mark"])
        except (FileNotFoundError, ValueError, KeyError):
            return None
        if session.expires <= (time.time() if now is None else now):
            _remove(path)
            return None
        return session

    def revoke(self, token: str) -> None:
        _remove(self._path(token))

    def _remove_expired(self, now: float) -> None:
        """Sessions past their expiry, and temporary files a writer that crashed mid-write left."""
        for entry in os.scandir(self.directory):
            try:
                if entry.name.endswith(".tmp"):
                    stale = entry.stat().st_mtime < now - 60
                else:
                    with open(entry.path) as file:
                        stale = json.load(file)["expires"] <= now
            except (OSError, ValueError, KeyError):  # removed meanwhile, or being written
                continue
            if stale:
                _remove(entry.path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:  # another process removed it first
        pass
