"""Making file system changes durable, shared by the server's storage and the client's checkpoints."""

from __future__ import annotations

import os

__all__ = ["fsync_dir", "makedirs_durably"]


def fsync_dir(path: str) -> None:
    """Make a rename or creation inside directory `path` survive a crash."""
    fd = os.open(path or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def makedirs_durably(path: str) -> None:
    """os.makedirs(path, exist_ok=True), each directory it creates surviving a crash: every parent that
    gained an entry is synced, before anything is put in the new directory."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    makedirs_durably(parent)
    try:
        os.mkdir(path)
    except FileExistsError:  # made by a concurrent writer, which may not have synced its parent yet
        pass
    fsync_dir(parent)
