import sys
from pathlib import Path

import pytest
from pytest_postgresql import factories

sys.path.insert(0, str(Path(__file__).parent))

import postgres  # noqa: E402
from server import start_server  # noqa: E402

pytest_plugins = ["pytester"]  # tests/e2e/test_testing_plugin.py runs users' test suites

# Started only when no other PostgreSQL is available (tests/postgres.py).
postgresql_throwaway = factories.postgresql_proc(executable=postgres.pg_ctl(), port=None)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One real ossbox server for the whole session (tests use their own buckets), speaking S3 too."""
    running = start_server(str(tmp_path_factory.mktemp("ossbox-data")), "--s3-port", "0")
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="session")
def postgres_server(request) -> str:
    """An URL of the PostgreSQL server the tests use (tests/postgres.py says which)."""
    return postgres.server_url(request)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with postgres.fresh_database(postgres_server) as url:
        yield url
