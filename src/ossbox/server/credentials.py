"""The server's access key: given explicitly, or generated once and kept in the data directory.

Strategy: there is no well-known default. Without an explicit pair, the first start writes a random
pair to `<data dir>/credentials.json` (mode 0600, created exclusively) and shows the secret that once;
later starts, and other nodes sharing the directory, read the file.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass

__all__ = ["Credentials", "load_or_create_credentials", "CREDENTIALS_FILE"]

CREDENTIALS_FILE = "credentials.json"
_ALPHANUMERIC = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    access_key_secret: str
    generated: bool = False  # created by this call: the secret has not been shown before
    path: str | None = None


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def load_or_create_credentials(data_dir: str, access_key_id: str | None = None,
                               access_key_secret: str | None = None) -> Credentials:
    if access_key_id or access_key_secret:
        if not (access_key_id and access_key_secret):
            raise ValueError("give both the access key id and its secret, or neither")
        return Credentials(access_key_id, access_key_secret)
    path = os.path.join(data_dir, CREDENTIALS_FILE)
    stored = _read(path)
    if stored is not None:
        return stored
    os.makedirs(data_dir, exist_ok=True)
    created = Credentials("LTAI" + _random(20), _random(30), generated=True, path=path)
    # Written whole under a temporary name, then linked into place, which fails if another node sharing
    # the data directory got there first: nobody ever reads a half-written file, and the first pair wins.
    temporary = f"{path}.{os.getpid()}.{_random(8)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump({"access_key_id": created.access_key_id, "access_key_secret": created.access_key_secret}, file)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read(path)
    finally:
        os.unlink(temporary)
    return created


def _read(path: str) -> Credentials | None:
    try:
        with open(path, encoding="utf-8") as file:
            stored = json.load(file)
    except FileNotFoundError:
        return None
    return Credentials(stored["access_key_id"], stored["access_key_secret"], path=path)
