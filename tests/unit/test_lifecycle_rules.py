"""Lifecycle rules and one pass over real storage: what is due when, what a rule selects, the stored form,
and a pass that never acts on a version other than the one it judged."""

import datetime
import time

import pytest

from ossbox.lifecycle.rules import (AbortUploads, Expiration, Filter, Not, NoncurrentTransition, Rule,
                                    Transition, midnight, rules_from_json, rules_to_json, validate)
from ossbox.lifecycle.runner import run_lifecycle
from ossbox.protocol.errors import OssError
from ossbox.storage.engine import Storage
from ossbox.storage.records import ObjectRecord

DAY = 86400
NOW = 1_800_000_000.0


def record(key: str, size: int = 10, tags: dict | None = None) -> ObjectRecord:
    return ObjectRecord(bucket="b", key=key, size=size, etag="", crc64=0, mtime=0, extents=(), tags=tags or {})


def test_ages_are_exact_and_dates_are_midnight_utc():
    assert midnight(datetime.date(2027, 1, 2)) == datetime.datetime(2027, 1, 2, tzinfo=datetime.timezone.utc).timestamp()
    assert not Expiration(days=2).due(NOW, NOW + 2 * DAY - 1) and Expiration(days=2).due(NOW, NOW + 2 * DAY)
    before = datetime.date(2027, 1, 2)
    assert Expiration(created_before=before).due(midnight(before) - 1, 0)
    assert not Expiration(created_before=before).due(midnight(before), 10 * NOW)
    assert not Expiration(date=before).due(0, midnight(before) - 1) and Expiration(date=before).due(0, midnight(before))
    assert Transition("IA", days=1).due(0, DAY) and AbortUploads(days=1).due(0, DAY)
    assert not Expiration(expired_delete_marker=True).due(0, 10 * NOW)  # it removes markers only


def test_what_a_rule_selects():
    rule = Rule("r", "logs/", tags=(("team", "a"),),
                filter=Filter(size_greater_than=1, size_less_than=100, nots=(Not("logs/keep/", ("hold", "y")),)))
    assert rule.selects(record("logs/x", tags={"team": "a"}))
    assert not rule.selects(record("other/x", tags={"team": "a"}))
    assert not rule.selects(record("logs/x", tags={"team": "b"}))
    assert not rule.selects(record("logs/x", size=1, tags={"team": "a"}))
    assert not rule.selects(record("logs/x", size=100, tags={"team": "a"}))
    assert rule.selects(record("logs/keep/x", tags={"team": "a"}))  # Not needs its tag too
    assert not rule.selects(record("logs/keep/x", tags={"team": "a", "hold": "y"}))
    assert rule.selects_key("logs/keep/x") and not Rule("r", "a/", filter=Filter(nots=(Not("a/b"),))).selects_key("a/b/c")


def test_the_stored_form_round_trips():
    rules = [Rule("a", "p/", False, Expiration(created_before=datetime.date(2020, 1, 1)),
                  (Transition("IA", created_before=datetime.date(2020, 6, 1)),),
                  AbortUploads(days=3), (("k", "v"),), 30, (NoncurrentTransition("Archive", 10, False),),
                  Filter(1, 5, (Not("p/q", ("x", "y")),)))]
    assert rules_from_json(rules_to_json(rules)) == rules


def test_validation_names_ids_and_refuses_overlaps():
    (named,) = validate([Rule("", "p/", expiration=Expiration(days=1))])
    assert len(named.id) == 36
    overlapping = [Rule("a", "p/", expiration=Expiration(days=1)), Rule("b", "p/q", expiration=Expiration(days=2))]
    with pytest.raises(OssError, match="Overlap for same action type Expiration"):
        validate(overlapping)
    assert validate(overlapping, allow_overlap=True) == overlapping


@pytest.fixture
def storage(tmp_path):
    s = Storage(str(tmp_path / "data"))
    s.create_bucket("b")
    yield s
    s.close()


def put(storage: Storage, key: str, data: bytes) -> ObjectRecord:
    writer = storage.new_blob()
    writer.write(data)
    return storage.commit_object("b", key, writer.commit(), "")


def expire_all_after(storage: Storage, days: int) -> None:
    storage.update_bucket("b", configs={"lifecycle": rules_to_json([Rule("r", "", expiration=Expiration(days=days))])})


def test_a_pass_leaves_a_version_written_after_it_judged(storage, monkeypatch):
    expire_all_after(storage, 1)
    put(storage, "k", b"old")
    judged = storage.metadata.list_versions("b", b"", b"", None, 1000)  # what the pass reads ...
    put(storage, "k", b"new")  # ... before this write replaces it
    monkeypatch.setattr(storage.metadata, "list_versions", lambda *args: judged if args[2] == b"" else [])
    report = run_lifecycle(storage, time.time() + 2 * DAY)
    assert report.expired == 0
    monkeypatch.undo()
    with storage.open_object("b", "k") as snapshot:
        assert snapshot.record.seq == judged[0].seq + 1  # the new version, still there


def test_a_pass_moves_only_the_version_it_judged(storage, monkeypatch):
    storage.update_bucket("b", configs={"lifecycle": rules_to_json([Rule("r", "", transitions=(
        Transition("Archive", days=1),))])})
    put(storage, "k", b"old")
    judged = storage.metadata.list_versions("b", b"", b"", None, 1000)
    put(storage, "k", b"new")
    monkeypatch.setattr(storage.metadata, "list_versions", lambda *args: judged if args[2] == b"" else [])
    assert run_lifecycle(storage, time.time() + 2 * DAY).transitioned == 0
    monkeypatch.undo()
    assert storage.head_object("b", "k").storage_class == "Standard"
    assert run_lifecycle(storage, time.time() + 2 * DAY).transitioned == 1
    assert storage.head_object("b", "k").storage_class == "Archive"


def test_a_pass_reads_keys_across_pages(storage, monkeypatch):
    import ossbox.lifecycle.runner as runner

    monkeypatch.setattr(runner, "_PAGE", 3)
    expire_all_after(storage, 1)
    storage.update_bucket("b", versioning="Enabled")
    for index in range(4):
        for version in range(2):
            put(storage, f"k{index}", b"v%d" % version)
    report = run_lifecycle(storage, time.time() + 2 * DAY)
    assert report.expired == 4  # each key once, its versions read together across page ends


def test_a_noncurrent_version_that_became_current_again_is_left(storage, monkeypatch):
    storage.update_bucket("b", versioning="Enabled", configs={"lifecycle": rules_to_json([
        Rule("r", "", noncurrent_expiration_days=1, noncurrent_transitions=())])})
    put(storage, "k", b"v1")
    newer = put(storage, "k", b"v2")
    judged = storage.metadata.list_versions("b", b"", b"", None, 1000)  # v2 current, v1 noncurrent ...
    storage.delete_objects("b", [("k", newer.version_id)])  # ... until v2 is deleted: v1 is current again
    monkeypatch.setattr(storage.metadata, "list_versions", lambda *args: judged if args[2] == b"" else [])
    assert run_lifecycle(storage, time.time() + 2 * DAY).noncurrent_expired == 0
    monkeypatch.undo()
    assert storage.head_object("b", "k").seq == judged[1].seq
