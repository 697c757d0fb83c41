"""Comparing with the official SDKs: oss2's clock stopped at a fixed instant, so its signatures can be
compared byte for byte, and headers seen as the server sees them."""

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


def lowered(headers) -> dict[str, str]:
    """Headers as the server's SignedParts holds them: lowercased names, values as received."""
    result = {}
    for name, value in headers.items():
        if value is None:
            continue
        if isinstance(value, bytes):
            value = value.decode("utf-8", "surrogateescape")
        result.setdefault(name.lower(), value)
    return result
