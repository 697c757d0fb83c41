"""The sync case: `ossbox sync` beside `aws s3 sync` and `rclone sync`, the last two on the server's S3 port.

Strategy: one directory of SMALL_FILES files of 4 KiB and LARGE_FILES of LARGE_MIB MiB is synced, by each tool
in turn, three times: up to an empty prefix of its own, up again with nothing changed (listing and comparing
only), and down to an empty directory. Every tool moves CONCURRENCY files at once (`-j`, aws-cli's
`max_concurrent_requests`, rclone's `--transfers`) and otherwise keeps its defaults (part sizes and thresholds).
One round is one such cycle per tool, the tools in order on even rounds and in reverse on odd ones (run.py's
`_alternate`); each phase's figure is the median of its rounds, a whole process's wall time (start-up
included, which is what a user waits for). The downloaded tree is checked file by file for its size, and in
the first round the large files for their bytes; each tool's prefix and download are removed after its cycle.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from _child import S3_REGION
from _setup import run, tool

__all__ = ["case"]

BUCKET = "bench-sync"
SMALL_FILES, SMALL_SIZE = 200, 4096
LARGE_FILES, LARGE_MIB = 3, 16
CONCURRENCY = 4
PHASES = ("up", "again", "down")
_PHASE_LABELS = {"up": "up to an empty prefix", "again": "up again, nothing changed",
                 "down": "down to an empty directory"}


def _make_tree(root: Path) -> dict[str, int]:
    """The synced directory; its files' relative paths and sizes."""
    for number in range(SMALL_FILES):
        path = root / f"small/{number % 10}/file-{number:03d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(SMALL_SIZE))
    for number in range(LARGE_FILES):
        (root / f"large-{number}.bin").write_bytes(os.urandom(LARGE_MIB << 20))
    return _sizes(root)


def _sizes(root: Path) -> dict[str, int]:
    return {str(path.relative_to(root)): path.stat().st_size for path in root.rglob("*") if path.is_file()}


def _aws() -> str:
    beside = Path(sys.executable).with_name("aws")  # awscli of the test extra, in the same virtualenv
    return str(beside) if beside.exists() else tool("aws")


class _Tools:
    """Each contender's up and down commands, and their environments."""

    def __init__(self, bench, work: Path):
        self.bench, self.work = bench, work
        server = bench.server
        self.ossbox_env = {"OSS_ENDPOINT": server.endpoint, "OSS_ACCESS_KEY_ID": bench.ak,
                           "OSS_ACCESS_KEY_SECRET": bench.sk}
        config = work / "aws-config"
        config.write_text(f"[default]\ns3 =\n  max_concurrent_requests = {CONCURRENCY}\n")
        self.aws_env = {"AWS_ACCESS_KEY_ID": bench.ak, "AWS_SECRET_ACCESS_KEY": bench.sk,
                        "AWS_DEFAULT_REGION": S3_REGION, "AWS_CONFIG_FILE": str(config),
                        "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def available(self) -> list[str]:
        names = ["ossbox sync", "aws s3 sync"]
        if shutil.which("rclone"):
            names.append("rclone sync")
        else:
            print("  sync: rclone is not installed, its rows are left out", file=sys.stderr)
        return names

    def command(self, name: str, source: str, destination: str) -> tuple[list[str], dict]:
        """`name`'s command syncing `source` to `destination`, where a remote one is `remote:PREFIX/`."""
        def remote(text: str, scheme: str) -> str:
            return scheme + BUCKET + "/" + text.removeprefix("remote:") if text.startswith("remote:") else text

        if name == "ossbox sync":
            return ([sys.executable, "-m", "ossbox", "sync", remote(source, "oss://"), remote(destination, "oss://"),
                     "-q", "-j", str(CONCURRENCY), "--checkpoint-dir", str(self.work / "checkpoints")],
                    self.ossbox_env)
        if name == "aws s3 sync":
            return ([_aws(), "--endpoint-url", self.bench.server.s3_endpoint, "s3", "sync", remote(source, "s3://"),
                     remote(destination, "s3://"), "--only-show-errors"], self.aws_env)
        return ([tool("rclone"), "--config", "", "sync", remote(source, "ossbox:"), remote(destination, "ossbox:"),
                 "--transfers", str(CONCURRENCY)], self.bench._rclone_environment())


def _empty_prefix(bucket, prefix: str) -> None:
    import oss2
    keys = [entry.key for entry in oss2.ObjectIterator(bucket, prefix=prefix)]
    for start in range(0, len(keys), 1000):
        bucket.batch_delete_objects(keys[start:start + 1000])


def _checked(tree: Path, copy: Path, expected: dict[str, int], number: int, name: str) -> None:
    if _sizes(copy) != expected:
        raise RuntimeError(f"{name} synced down a tree that differs from the source in names or sizes")
    if number == 0 and any(not filecmp.cmp(tree / f"large-{n}.bin", copy / f"large-{n}.bin", shallow=False)
                           for n in range(LARGE_FILES)):
        raise RuntimeError(f"{name} synced down large files whose bytes differ from the source's")


def case(bench, alternate: Callable) -> list[dict]:
    """Measure the sync case on `bench` (run.py's Bench) with run.py's `alternate`; the rows, as Row fields."""
    import oss2
    work = Path(bench.work, "sync")
    work.mkdir()
    tree = work / "tree"
    expected = _make_tree(tree)
    bucket = oss2.Bucket(oss2.Auth(bench.ak, bench.sk), bench.server.endpoint, BUCKET)
    bucket.create_bucket()
    tools = _Tools(bench, work)
    names = tools.available()
    seconds: dict[str, dict[str, list[float]]] = {name: {phase: [] for phase in PHASES} for name in names}

    def cycle(name: str) -> Callable[[int], float]:
        def measure(number: int) -> float:
            prefix, copy = f"{name.split()[0]}-{number}", work / f"down-{number}"
            steps = {"up": (str(tree), f"remote:{prefix}"), "again": (str(tree), f"remote:{prefix}"),
                     "down": (f"remote:{prefix}", str(copy))}
            try:
                for phase, (source, destination) in steps.items():
                    seconds[name][phase].append(run(*tools.command(name, source, destination)).seconds)
                _checked(tree, copy, expected, number, name)
            finally:
                shutil.rmtree(copy, ignore_errors=True)
                _empty_prefix(bucket, prefix + "/")
            return sum(seconds[name][phase][-1] for phase in PHASES)
        return measure

    alternate(bench.args.rounds, {name: cycle(name) for name in names}, "sync")
    bench.record("sync", seconds)
    shape = f"{SMALL_FILES} x 4 KiB + {LARGE_FILES} x {LARGE_MIB} MiB, {CONCURRENCY} files at once"
    rows = []
    for phase in PHASES:
        ours = statistics.median(seconds["ossbox sync"][phase])
        for reference in names[1:]:
            theirs = statistics.median(seconds[reference][phase])
            rows.append({"case": f"sync {_PHASE_LABELS[phase]} ({shape}): ossbox sync vs {reference} (S3 port)",
                         "ours": f"{ours:6.2f} s", "reference": f"{theirs:6.2f} s", "ratio": theirs / ours})
    return rows
