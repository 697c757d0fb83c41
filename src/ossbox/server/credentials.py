"""The server's access key: given explicitly, or generated once and kept in the data directory.

Strategy: there is no well-known default. Without an explicit pair, the first start writes a random
pair to `<data dir>/credentials.json` (mode 0600, created exclusively) and shows the secret that once;
later starts read the file.
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
    try:
        with open(path, encoding="utf-8") as file:
            stored = json.load(file)
        return Credentials(stored["access_key_id"], stored["access_key_secret"], path=path)
    except FileNotFoundError:
        pass
    os.makedirs(data_dir, exist_ok=True)
    created = Credentials("LTAI" + _random(20), _random(30), generated=True, path=path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump({"access_key_id": created.access_key_id, "access_key_secret": created.access_key_secret}, file)
    return created
