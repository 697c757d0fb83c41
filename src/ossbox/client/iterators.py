"""Iterators over whole listings (buckets, objects v1 and v2), fetching one page at a time, as oss2's do.

Each page request goes through a `Retry` policy of `max_retries` attempts in all (default
`defaults.request_retries`). Objects and common prefixes of a page come sorted by key, a prefix as a
`SimplifiedObjectInfo` whose `is_prefix()` is True.
"""

from __future__ import annotations

from . import defaults
from .models import SimplifiedObjectInfo
from .retry import Retry

__all__ = ["BucketIterator", "ObjectIterator", "ObjectIteratorV2"]


class _BaseIterator:
    def __init__(self, marker, max_retries):
        self.is_truncated = True
        self.next_marker = marker
        self.retry = Retry(max(defaults.get(max_retries, defaults.request_retries), 1) - 1)
        self.entries = []

    def _fetch(self):
        """Fill `self.entries` with the next page; return (is_truncated, next_marker)."""
        raise NotImplementedError

    def __iter__(self):
        return self

    def __next__(self):
        while not self.entries:
            if not self.is_truncated:
                raise StopIteration
            self.is_truncated, self.next_marker = self.retry.call(self._fetch)
        return self.entries.pop(0)


def _page_entries(result):
    prefixes = [SimplifiedObjectInfo(prefix, None, None, None, None, None) for prefix in result.prefix_list]
    return sorted(result.object_list + prefixes, key=lambda entry: entry.key)


class BucketIterator(_BaseIterator):
    def __init__(self, service, prefix="", marker="", max_keys=100, max_retries=None):
        super().__init__(marker, max_retries)
        self.service = service
        self.prefix = prefix
        self.max_keys = max_keys

    def _fetch(self):
        result = self.service.list_buckets(prefix=self.prefix, marker=self.next_marker, max_keys=self.max_keys)
        self.entries = result.buckets
        return result.is_truncated, result.next_marker


class ObjectIterator(_BaseIterator):
    def __init__(self, bucket, prefix="", delimiter="", marker="", max_keys=100, max_retries=None, headers=None):
        super().__init__(marker, max_retries)
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter
        self.max_keys = max_keys
        self.headers = headers

    def _fetch(self):
        result = self.bucket.list_objects(prefix=self.prefix, delimiter=self.delimiter, marker=self.next_marker,
                                          max_keys=self.max_keys, headers=self.headers)
        self.entries = _page_entries(result)
        return result.is_truncated, result.next_marker


class ObjectIteratorV2(_BaseIterator):
    def __init__(self, bucket, prefix="", delimiter="", continuation_token="", start_after="", fetch_owner=False,
                 encoding_type="url", max_keys=100, max_retries=None, headers=None):
        super().__init__(continuation_token, max_retries)
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter
        self.start_after = start_after
        self.fetch_owner = fetch_owner
        self.encoding_type = encoding_type
        self.max_keys = max_keys
        self.headers = headers

    def _fetch(self):
        result = self.bucket.list_objects_v2(prefix=self.prefix, delimiter=self.delimiter,
                                             continuation_token=self.next_marker, start_after=self.start_after,
                                             fetch_owner=self.fetch_owner, encoding_type=self.encoding_type,
                                             max_keys=self.max_keys, headers=self.headers)
        self.entries = _page_entries(result)
        return result.is_truncated, result.next_continuation_token
