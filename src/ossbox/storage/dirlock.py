"""One owner per data directory: the server (all its workers) or `ossbox check --repair`, never two.

A second server on the same directory would sweep the first one's uploads in progress as orphans, and
its workers would be unknown to the first one's start-up sweep. The lock is a flock on `<data-dir>/lock`:
the kernel releases it when the last process holding the file exits, however it exits, so a crash never
leaves a stale lock behind, and forked workers share their parent's lock until the last of them stops.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO

__all__ = ["DataDirInUse", "lock_data_dir"]

LOCK_FILE = "lock"


class DataDirInUse(Exception):
    def __init__(self, data_dir: str, owner: str) -> None:
        holder = f" (pid {owner})" if owner else ""
        super().__init__(f"the data directory {data_dir} is in use by another ossbox process{holder}; "
                         "stop it first, or give this one its own --data-dir")


def lock_data_dir(data_dir: str) -> IO[str]:
    """Take the directory's lock and return the open lock file (keep it open for as long as you own the
    directory). Raises DataDirInUse when another process holds it."""
    os.makedirs(data_dir, exist_ok=True)
    file = open(os.path.join(data_dir, LOCK_FILE), "a+")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        owner = file.read().strip()
        file.close()
        raise DataDirInUse(data_dir, owner) from None
    try:  # only to name the owner in the error above: a full disk must not stop the server from starting
        file.truncate(0)
        file.write(f"{os.getpid()}\n")
        file.flush()
    except OSError:
        pass
    return file
