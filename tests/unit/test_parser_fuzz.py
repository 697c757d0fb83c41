"""The coverage-guided fuzzer (tests/fuzz/parsers.py) runs for a bounded time without a crash or a
super-linear input. Slow tier; OSSBOX_COVERAGE_FUZZ_SECONDS sets its length (default 60)."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

SECONDS = int(os.environ.get("OSSBOX_COVERAGE_FUZZ_SECONDS", "60"))
HARNESS = pathlib.Path(__file__).parent.parent / "fuzz" / "parsers.py"


@pytest.mark.slow
def test_request_parsers_survive_coverage_guided_fuzzing(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    run = subprocess.run(
        # No RSS limit: libFuzzer reads its peak RSS from getrusage, which carries over exec the peak of the
        # pytest worker that started it (gigabytes after the 10,000-part test), not its own.
        [sys.executable, str(HARNESS), f"-max_total_time={SECONDS}", "-max_len=65536", "-timeout=10",
         "-rss_limit_mb=0", f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=SECONDS + 120,
    )
    done = re.search(r"Done (\d+) runs in (\d+) second", run.stderr)
    assert run.returncode == 0 and done, run.stderr[-3000:]
    print(f"\ncoverage-guided fuzzing: {done.group(1)} inputs in {done.group(2)} s, no crash, no super-linear input")
