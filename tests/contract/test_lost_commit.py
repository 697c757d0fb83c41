"""PostgreSQL: a write whose COMMIT reaches the server but whose answer is lost (the network fails between)
is neither applied twice nor reported failed. The store asks the server whether the transaction committed
(txid_status) instead of running it again: a blind retry would find its own effect and misjudge it (a part
"replacing" itself releases its own blob; a create-only write finds its object there and says it exists).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest

from faultproxy import FaultProxy
from ossbox.storage.postgres import PostgresMetadata
from ossbox.storage.records import BucketRecord, PartRecord, UploadRecord
from test_metadata_contract import BUCKET, record


@pytest.fixture
def proxy(postgres_url):
    address = urlsplit(postgres_url)
    with FaultProxy(address.hostname, address.port or 5432) as running:
        yield running


@pytest.fixture
def store(postgres_url, proxy):
    """A store whose connections go through `proxy`, unencrypted so that it can see the COMMIT go by."""
    address = urlsplit(postgres_url)
    through = address._replace(netloc=f"{address.username or 'postgres'}@{proxy.host}:{proxy.port}",
                               query="sslmode=disable")
    opened = PostgresMetadata(urlunsplit(through))
    opened.create_bucket(BucketRecord(BUCKET, 1, "oss-test"))
    yield opened
    opened.close()


def test_a_create_only_write_whose_commit_answer_is_lost_succeeds_once(store, proxy):
    proxy.lose_reply_to(b"COMMIT")
    created, released = store.put_object(record("new"), overwrite=False)  # not ObjectExists from a second run
    assert released == [] and proxy.cuts == 1
    assert store.get_object(BUCKET, "new") == created


def test_a_part_whose_commit_answer_is_lost_does_not_release_its_own_blob(store, proxy):
    store.create_upload(UploadRecord("upload", BUCKET, "key", 1, {}))
    store.put_part("upload", PartRecord(1, "first", 10, '"a"', 1, 1))
    proxy.lose_reply_to(b"COMMIT")
    assert store.put_part("upload", PartRecord(1, "second", 10, '"b"', 2, 2)) == ["first"]
    assert proxy.cuts == 1
    assert [part.blob_id for part in store.list_parts("upload")] == ["second"]
