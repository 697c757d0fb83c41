"""conftest.py for the copied oss2 test tree; oss2_suite.py installs it as the run directory's conftest.py.

It makes the suite fail fast against a local endpoint, keeps one hung test from stalling the run, deselects
by exact node id, replaces the cloud KMS service by client-side RSA encryption and makes oss2's checkpoint
writes atomic (a client-side race in one test).
"""

import json
import os
import signal
import tempfile

import oss2
import pytest
import tests.common

# oss2 hands this one value to requests as timeout= (connect and read); its default is 60 s. OssTestCase
# snapshots it at collection time and restores it in every setUp, so setting it here is enough.
oss2.defaults.connect_timeout = 10
# Only the iterators (ObjectIterator, ...) retry, and only on 5xx; oss2's default is 3.
oss2.defaults.request_retries = 1
# Wall-clock limit per test in seconds (pytest-timeout is not a dependency); setUp, the test body and
# tearDown all run in pytest's "call" phase.
CASE_TIMEOUT = 300


class CaseTimeout(BaseException):
    """A BaseException, so the tests' `except Exception:` (and retry loops) do not swallow it."""


def _on_alarm(signum, frame):
    signal.alarm(2)  # the first raise may land in a bare `except:` (OssTestCase.setUp has one): raise again
    raise CaseTimeout(f"test ran longer than {CASE_TIMEOUT} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(CASE_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def pytest_collection_modifyitems(config, items):
    """Drop the node ids in OSS2_SUITE_DESELECT; pytest's --deselect matches prefixes, so
    `--deselect ...::test_check_endpoint` would also drop test_check_endpoint1."""
    unwanted = set(os.environ.get("OSS2_SUITE_DESELECT", "").split())
    dropped = [item for item in items if item.nodeid in unwanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item.nodeid not in unwanted]


# test_upload.py and test_download.py pick at random among the plain bucket, an RSA CryptoBucket and a KMS
# CryptoBucket. The KMS one asks Alibaba Cloud's KMS service (not OSS) for data keys, which no local run can
# reach; client-side RSA encryption drives the same server paths, so it stands in for KMS.
_set_up = tests.common.OssTestCase.setUp


def _set_up_without_kms(self):
    _set_up(self)
    self.kms_crypto_bucket = self.rsa_crypto_bucket


tests.common.OssTestCase.setUp = _set_up_without_kms


# oss2's record store rewrites a checkpoint in place (open "w", then json.dump) after every part, and its get()
# deletes a record it cannot parse. test_download.py::test_tmp_file_removed reads the record from one download
# thread while another rewrites it, so now and then it reads a truncated file and fails on None: a race inside
# the client that no server can cause or avoid. Writing the record atomically takes the race out of the test
# and leaves everything it checks about the server as it was.
def _put_atomically(self, key, value):
    path = os.path.join(self.dir, key)
    with tempfile.NamedTemporaryFile("w", dir=self.dir, delete=False) as f:
        json.dump(value, f)
    os.replace(f.name, path)


oss2.resumable._ResumableStoreBase.put = _put_atomically
