import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from server import start_server  # noqa: E402


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One real ossbox server for the whole session (tests use their own buckets)."""
    running = start_server(str(tmp_path_factory.mktemp("ossbox-data")))
    yield running
    assert running.stop() == 0
