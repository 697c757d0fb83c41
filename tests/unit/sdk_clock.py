"""oss2's clock stopped at a fixed instant, so its signatures can be compared byte for byte."""

import datetime
import types
from email.utils import formatdate

import oss2.auth
import oss2.utils
import pytest

NOW = 1702743657  # Sat, 16 Dec 2023 16:20:57 GMT
NOW_V4 = "20231216T162057Z"


class _FrozenDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return datetime.datetime(2023, 12, 16, 16, 20, 57)


@pytest.fixture
def frozen_oss2(monkeypatch):
    """oss2's clock (Date header, V4 x-oss-date, presign expiry) stopped at NOW."""
    monkeypatch.setattr(oss2.auth, "datetime", _FrozenDatetime)
    monkeypatch.setattr(oss2.auth, "time", types.SimpleNamespace(time=lambda: NOW))
    monkeypatch.setattr(oss2.utils, "http_date", lambda timeval=None: formatdate(NOW if timeval is None else timeval,
                                                                                 usegmt=True))
