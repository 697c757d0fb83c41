"""Encryption at rest: AES-256 in counter mode under one key kept in the data directory.

Strategy: every blob of an encrypted version is encrypted on its own, with a counter block derived from
its blob id (random, and never reused for other bytes: blobs are written once), so any byte range can be
read back without reading what precedes it: ranged reads and part copies decrypt only what they send.
Counter mode adds no integrity of its own; the CRC-64 recorded for every version (checked by clients and
by `ossbox check --deep`) says whether the bytes read back are the bytes written.

The key is 32 random bytes in `sse.key` (mode 0600), made on first use by whichever process gets there
first (an exclusive create; the others read it). Nodes sharing the data directory share it. Losing it
loses every encrypted object: back it up with the data directory.
"""

from __future__ import annotations

import hashlib
import os
import secrets

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..durable import fsync_dir

__all__ = ["BlobCipher", "KEY_FILE"]

KEY_FILE = "sse.key"
_KEY_BYTES = 32
_BLOCK = 16


def _load_or_create_key(data_dir: str, create: bool) -> bytes:
    path = os.path.join(data_dir, KEY_FILE)
    try:
        with open(path, "rb") as file:
            key = file.read()
    except FileNotFoundError:
        if not create:
            raise
        key = secrets.token_bytes(_KEY_BYTES)
        temporary = f"{path}.{secrets.token_hex(8)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, key)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(temporary, path)  # fails if another process made it first: then its key is the key
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
        fsync_dir(data_dir)
        with open(path, "rb") as file:
            key = file.read()
    if len(key) != _KEY_BYTES:
        raise ValueError(f"{path} does not hold a {_KEY_BYTES}-byte key")
    return key


class BlobCipher:
    def __init__(self, data_dir: str, create: bool = True) -> None:
        """The cipher of `data_dir`'s key, made if there is none (unless not `create`: FileNotFoundError)."""
        self._algorithm = algorithms.AES(_load_or_create_key(data_dir, create))

    def stream(self, blob_id: str, offset: int = 0):
        """A context that encrypts (or, the same in counter mode, decrypts) blob `blob_id`'s bytes from
        `offset` on, piece after piece, with `update()`."""
        nonce = hashlib.sha256(blob_id.encode("ascii")).digest()[:8]
        block, skip = divmod(offset, _BLOCK)
        context = Cipher(self._algorithm, modes.CTR(nonce + block.to_bytes(8, "big"))).encryptor()
        if skip:
            context.update(bytes(skip))
        return context

    def apply(self, blob_id: str, offset: int, data: bytes) -> bytes:
        """`data`, found at `offset` in blob `blob_id`, decrypted (or encrypted)."""
        return self.stream(blob_id, offset).update(data)
