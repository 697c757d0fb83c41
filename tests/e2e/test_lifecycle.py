"""Lifecycle through both SDKs: Put/Get/DeleteBucketLifecycle with every kind of rule, the checks the cloud
makes on a configuration, and what a pass does, driven by the clock tests control (`ossbox lifecycle run
--now`, OssboxServer.run_lifecycle):

- Expiration by days, by CreatedBeforeDate and by Date, selected by prefix, tags, size and Not;
- transitions to colder classes (an archived object then needs a restore);
- under versioning: a delete marker, noncurrent versions expired and moved, a lone delete marker removed;
- multipart uploads aborted;
- the server's own pass, every --lifecycle-interval seconds.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
import time

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from oss2.models import (AbortMultipartUpload, BucketLifecycle, FilterNot, FilterNotTag, LifecycleExpiration,
                         LifecycleFilter, LifecycleRule, NoncurrentVersionExpiration,
                         NoncurrentVersionStorageTransition, StorageTransition, Tagging, TaggingRule)

from ossbox.lifecycle.runner import run_lifecycle_on
from server import start_server

from .conftest import fresh_oss2_bucket, v2_client
from .helpers import parse_error, signed_request

DAY = datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def lifecycle_server(tmp_path_factory):
    """A server of this module's own: a pass applies every bucket's rules, and no other test's."""
    running = start_server(str(tmp_path_factory.mktemp("lifecycle")))
    yield running
    assert running.stop() == 0


@pytest.fixture
def bucket(lifecycle_server):
    with fresh_oss2_bucket(lifecycle_server, "lc") as made:
        yield made


def run_pass(server, at: datetime.datetime):
    return run_lifecycle_on(server.data_dir, None, at.timestamp())


def in_days(days: float) -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc) + days * DAY


def keys(bucket: oss2.Bucket) -> list[str]:
    return [item.key for item in oss2.ObjectIteratorV2(bucket)]


def tagged(**tags) -> Tagging:
    rule = TaggingRule()
    for key, value in tags.items():
        rule.add(key, value)
    return Tagging(rule)


def refused(call) -> tuple[int, str, str]:
    with pytest.raises(oss2.exceptions.OssError) as excinfo:
        call()
    return excinfo.value.status, excinfo.value.code, excinfo.value.message


# ---- the configuration ----

def test_a_configuration_round_trips_through_oss2(bucket):
    assert refused(bucket.get_bucket_lifecycle)[:2] == (404, "NoSuchLifecycle")
    expiring = LifecycleRule("expire", "logs/", status=LifecycleRule.ENABLED,
                             expiration=LifecycleExpiration(days=30),
                             filter=LifecycleFilter([FilterNot("logs/keep/", FilterNotTag("hold", "yes"))],
                                                    object_size_greater_than=10, object_size_less_than=1 << 20))
    expiring.storage_transitions = [StorageTransition(days=10, storage_class="IA"),
                                    StorageTransition(days=20, storage_class="ColdArchive")]
    expiring.tagging = tagged(team="data")
    dated = LifecycleRule("dated", "old/", status=LifecycleRule.DISABLED,
                          expiration=LifecycleExpiration(created_before_date=datetime.date(2020, 1, 1)),
                          abort_multipart_upload=AbortMultipartUpload(created_before_date=datetime.date(2019, 6, 1)))
    versions = LifecycleRule("versions", "v/", status=LifecycleRule.ENABLED,
                             expiration=LifecycleExpiration(expired_detete_marker=True),
                             noncurrent_version_expiration=NoncurrentVersionExpiration(40),
                             noncurrent_version_sotrage_transitions=[
                                 NoncurrentVersionStorageTransition(10, "IA"),
                                 NoncurrentVersionStorageTransition(20, "Archive")])
    assert bucket.put_bucket_lifecycle(BucketLifecycle([expiring, dated, versions])).status == 200

    got = {rule.id: rule for rule in bucket.get_bucket_lifecycle().rules}
    assert list(got) == ["expire", "dated", "versions"]
    rule = got["expire"]
    assert (rule.prefix, rule.status, rule.expiration.days) == ("logs/", "Enabled", 30)
    assert [(t.days, t.storage_class) for t in rule.storage_transitions] == [(10, "IA"), (20, "ColdArchive")]
    assert rule.tagging.tag_set.tagging_rule == {"team": "data"}
    assert (rule.filter.object_size_greater_than, rule.filter.object_size_less_than) == (10, 1 << 20)
    assert [(n.prefix, n.tag.key, n.tag.value) for n in rule.filter.filter_not] == [("logs/keep/", "hold", "yes")]
    rule = got["dated"]
    assert (rule.status, rule.expiration.created_before_date) == ("Disabled", datetime.date(2020, 1, 1))
    assert rule.abort_multipart_upload.created_before_date == datetime.date(2019, 6, 1)
    rule = got["versions"]
    assert rule.expiration.expired_detete_marker is True
    assert rule.noncurrent_version_expiration.noncurrent_days == 40
    assert [(t.noncurrent_days, t.storage_class) for t in rule.noncurrent_version_sotrage_transitions] == \
        [(10, "IA"), (20, "Archive")]

    bucket.delete_bucket_lifecycle()
    bucket.delete_bucket_lifecycle()  # deleting what is not there succeeds too
    assert refused(bucket.get_bucket_lifecycle)[:2] == (404, "NoSuchLifecycle")


def test_a_configuration_round_trips_through_the_v2_sdk(lifecycle_server, bucket):
    client = v2_client(lifecycle_server)
    rule = oss.LifecycleRule(
        id="v2", prefix="data/", status="Enabled",
        expiration=oss.LifecycleRuleExpiration(days=90),
        transitions=[oss.LifecycleRuleTransition(days=30, storage_class="IA")],
        abort_multipart_upload=oss.LifecycleRuleAbortMultipartUpload(days=7),
        tags=[oss.Tag(key="env", value="test")],
        filter=oss.LifecycleRuleFilter(object_size_greater_than=1,
                                       nots=[oss.LifecycleRuleNot(prefix="data/tmp/")]))
    client.put_bucket_lifecycle(oss.PutBucketLifecycleRequest(
        bucket=bucket.bucket_name, lifecycle_configuration=oss.LifecycleConfiguration(rules=[rule])))
    (got,) = client.get_bucket_lifecycle(oss.GetBucketLifecycleRequest(
        bucket=bucket.bucket_name)).lifecycle_configuration.rules
    assert (got.id, got.prefix, got.status, got.expiration.days) == ("v2", "data/", "Enabled", 90)
    assert [(t.days, t.storage_class) for t in got.transitions] == [(30, "IA")]
    assert got.abort_multipart_upload.days == 7
    assert [(t.key, t.value) for t in got.tags] == [("env", "test")]
    assert got.filter.object_size_greater_than == 1 and [n.prefix for n in got.filter.nots] == ["data/tmp/"]
    client.delete_bucket_lifecycle(oss.DeleteBucketLifecycleRequest(bucket=bucket.bucket_name))
    with pytest.raises(oss.exceptions.OperationError) as missing:
        client.get_bucket_lifecycle(oss.GetBucketLifecycleRequest(bucket=bucket.bucket_name))
    assert (missing.value.unwrap().status_code, missing.value.unwrap().code) == (404, "NoSuchLifecycle")


def expire_after(days: int, prefix: str = "p/", **kwargs) -> LifecycleRule:
    return LifecycleRule(f"r-{prefix}-{days}", prefix, status=LifecycleRule.ENABLED,
                         expiration=LifecycleExpiration(days=days), **kwargs)


def with_transitions(rule: LifecycleRule, *transitions: tuple[int, str]) -> LifecycleRule:
    rule.storage_transitions = [StorageTransition(days=days, storage_class=cls) for days, cls in transitions]
    return rule


@pytest.mark.parametrize("rules,status,code", [
    # transitions to colder classes only, each later than the warmer one, all before the expiration
    ([with_transitions(expire_after(3), (4, "IA"))], 400, "InvalidArgument"),
    ([with_transitions(expire_after(6), (5, "IA"), (2, "Archive"))], 400, "InvalidArgument"),
    ([with_transitions(expire_after(6), (5, "Standard"))], 400, "InvalidArgument"),
    ([with_transitions(expire_after(9), (5, "IA"), (6, "IA"))], 400, "InvalidArgument"),
    # days and dates are not mixed in one rule
    ([with_transitions(LifecycleRule("m", "p/", status="Enabled", expiration=LifecycleExpiration(
        created_before_date=datetime.date(2020, 1, 1))), (30, "IA"))], 400, "InvalidRequest"),
    # Not must extend the rule's prefix
    ([expire_after(3, filter=LifecycleFilter([FilterNot("other/")]))], 400, "InvalidArgument"),
    # tags take object tags' characters
    ([expire_after(3, tagging=tagged(**{"%&": "x"}))], 400, "InvalidArgument"),
    # two rules with the same ID
    ([expire_after(3), expire_after(3)], 400, "InvalidArgument"),
])
def test_configurations_the_cloud_refuses(bucket, rules, status, code):
    assert refused(lambda: bucket.put_bucket_lifecycle(BucketLifecycle(rules)))[:2] == (status, code)
    assert refused(bucket.get_bucket_lifecycle)[:2] == (404, "NoSuchLifecycle")  # nothing was stored


def test_overlapping_rules_need_the_overlap_header(bucket):
    rules = BucketLifecycle([expire_after(3, "a/"), expire_after(5, "a/b/")])
    assert refused(lambda: bucket.put_bucket_lifecycle(rules)) == (400, "InvalidArgument",
                                                                   "Overlap for same action type Expiration")
    bucket.put_bucket_lifecycle(rules, headers={"x-oss-allow-same-action-overlap": "true"})
    assert len(bucket.get_bucket_lifecycle().rules) == 2
    # different actions, or tags no object can carry together, do not overlap
    abort = LifecycleRule("abort", "a/", status="Enabled", abort_multipart_upload=AbortMultipartUpload(days=1))
    bucket.put_bucket_lifecycle(BucketLifecycle([expire_after(3, "a/"), abort]))
    bucket.put_bucket_lifecycle(BucketLifecycle([expire_after(3, "a/", tagging=tagged(kind="x")),
                                                 expire_after(5, "a/b/", tagging=tagged(kind="y"))]))


@pytest.mark.parametrize("body,code", [
    (b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>p</Prefix><Status>On</Status>"
     b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>", "MalformedXML"),
    (b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>p</Prefix><Status>Enabled</Status>"
     b"<Expiration></Expiration></Rule></LifecycleConfiguration>", "MalformedXML"),
    (b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>p</Prefix><Status>Enabled</Status>"
     b"<Expiration><Days>0</Days></Expiration></Rule></LifecycleConfiguration>", "InvalidArgument"),
    (b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>p</Prefix><Status>Enabled</Status>"
     b"<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
     b"</Rule></LifecycleConfiguration>", "InvalidArgument"),
    (b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>p</Prefix><Status>Enabled</Status>"
     b"<Expiration><CreatedBeforeDate>2020-01-01T08:00:00.000Z</CreatedBeforeDate></Expiration>"
     b"</Rule></LifecycleConfiguration>", "InvalidArgument"),
    (b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>p</Prefix><Prefix>q</Prefix><Status>Enabled</Status>"
     b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>", "MalformedXML"),
    (b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>p</Prefix><Status>Enabled</Status></Rule>"
     b"</LifecycleConfiguration>", "MalformedXML"),
    (b"<LifecycleConfiguration></LifecycleConfiguration>", "MalformedXML"),
    (b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>p</Prefix><Status>Enabled</Status><Transition>"
     b"<Days>1</Days><StorageClass>IA</StorageClass><IsAccessTime>true</IsAccessTime>"
     b"<ReturnToStdWhenVisit>false</ReturnToStdWhenVisit></Transition></Rule></LifecycleConfiguration>",
     "InvalidArgument"),
    (b"<NotLifecycle/>", "MalformedXML"),
])
def test_malformed_documents_are_refused(bucket, body, code):
    response = signed_request(bucket.auth, "PUT", bucket.endpoint, bucket.bucket_name, params={"lifecycle": ""},
                              data=body)
    assert (response.status_code, parse_error(response.content)["Code"]) == (400, code), response.content
    assert refused(bucket.get_bucket_lifecycle)[:2] == (404, "NoSuchLifecycle")


# ---- what a pass does ----

def test_expiration_by_days_selects_by_prefix_tags_size_and_not(lifecycle_server, bucket):
    rule = expire_after(30, "logs/", tagging=tagged(team="data"),
                        filter=LifecycleFilter([FilterNot("logs/keep/")], object_size_greater_than=2))
    bucket.put_bucket_lifecycle(BucketLifecycle([rule]))
    team = {"x-oss-tagging": "team=data"}
    bucket.put_object("logs/a", b"expires", headers=team)
    bucket.put_object("logs/untagged", b"stays")
    bucket.put_object("logs/tiny", b"xy", headers=team)  # not greater than 2 bytes
    bucket.put_object("logs/keep/b", b"stays", headers=team)
    bucket.put_object("other/c", b"stays", headers=team)

    report = run_pass(lifecycle_server, in_days(29))
    assert report.expired == 0 and len(keys(bucket)) == 5
    report = run_pass(lifecycle_server, in_days(30.01))
    assert report.expired == 1
    assert keys(bucket) == ["logs/keep/b", "logs/tiny", "logs/untagged", "other/c"]
    assert run_pass(lifecycle_server, in_days(30.01)).expired == 0  # a pass is idempotent


def test_expiration_by_dates(lifecycle_server, bucket):
    tomorrow = (in_days(1)).date()
    rules = [LifecycleRule("before", "before/", status="Enabled",
                           expiration=LifecycleExpiration(created_before_date=tomorrow)),
             LifecycleRule("on", "on/", status="Enabled",
                           expiration=LifecycleExpiration(date=tomorrow + 10 * DAY)),
             LifecycleRule("off", "off/", status="Disabled", expiration=LifecycleExpiration(days=1))]
    bucket.put_bucket_lifecycle(BucketLifecycle(rules))
    for key in ("before/a", "on/a", "off/a"):
        bucket.put_object(key, b"x")
    assert run_pass(lifecycle_server, in_days(0)).expired == 1  # modified before tomorrow
    assert keys(bucket) == ["off/a", "on/a"]
    assert run_pass(lifecycle_server, in_days(12)).expired == 1  # the date has come; a disabled rule waits
    assert keys(bucket) == ["off/a"]


def test_transitions_move_objects_to_colder_classes(lifecycle_server, bucket):
    rule = with_transitions(LifecycleRule("cold", "", status="Enabled"), (30, "IA"), (60, "Archive"))
    bucket.put_bucket_lifecycle(BucketLifecycle([rule]))
    bucket.put_object("k", b"bytes")
    bucket.put_object("archived", b"bytes", headers={"x-oss-storage-class": "ColdArchive"})
    assert run_pass(lifecycle_server, in_days(31)).transitioned == 1  # a colder class is never warmed
    assert bucket.head_object("k").headers["x-oss-storage-class"] == "IA"
    assert bucket.get_object("k").read() == b"bytes"
    assert run_pass(lifecycle_server, in_days(61)).transitioned == 1
    assert bucket.head_object("k").headers["x-oss-storage-class"] == "Archive"
    assert bucket.head_object("archived").headers["x-oss-storage-class"] == "ColdArchive"
    assert refused(lambda: bucket.get_object("k"))[:2] == (403, "InvalidObjectState")


def test_versions_markers_and_noncurrent_versions(lifecycle_server, bucket):
    config = oss2.models.BucketVersioningConfig()
    config.status = "Enabled"
    bucket.put_bucket_versioning(config)
    rules = [LifecycleRule("current", "", status="Enabled", expiration=LifecycleExpiration(days=100),
                           noncurrent_version_expiration=NoncurrentVersionExpiration(20),
                           noncurrent_version_sotrage_transitions=[NoncurrentVersionStorageTransition(10, "IA")]),
             LifecycleRule("markers", "", status="Enabled",
                           expiration=LifecycleExpiration(expired_detete_marker=True))]
    bucket.put_bucket_lifecycle(BucketLifecycle(rules), headers={"x-oss-allow-same-action-overlap": "true"})
    old = bucket.put_object("k", b"old").versionid
    bucket.put_object("k", b"new")

    assert run_pass(lifecycle_server, in_days(11)).transitioned == 1  # the noncurrent version
    assert bucket.head_object("k", params={"versionId": old}).headers["x-oss-storage-class"] == "IA"
    assert bucket.head_object("k").headers["x-oss-storage-class"] == "Standard"
    assert run_pass(lifecycle_server, in_days(21)).noncurrent_expired == 1
    assert refused(lambda: bucket.head_object("k", params={"versionId": old}))[0] == 404

    report = run_pass(lifecycle_server, in_days(101))  # the current version goes under a delete marker ...
    assert report.expired == 1
    assert refused(lambda: bucket.get_object("k"))[:2] == (404, "NoSuchKey")
    versions = bucket.list_object_versions()
    assert (len(versions.versions), len(versions.delete_marker)) == (1, 1)
    run_pass(lifecycle_server, in_days(200))  # ... then, noncurrent for long enough, is expired too ...
    run_pass(lifecycle_server, in_days(200))  # ... and the marker, left alone, is removed
    versions = bucket.list_object_versions()
    assert (versions.versions, versions.delete_marker) == ([], [])


def test_multipart_uploads_are_aborted(lifecycle_server, bucket):
    rules = [LifecycleRule("abort", "tmp/", status="Enabled", abort_multipart_upload=AbortMultipartUpload(days=3))]
    bucket.put_bucket_lifecycle(BucketLifecycle(rules))
    stale = bucket.init_multipart_upload("tmp/big").upload_id
    bucket.upload_part("tmp/big", stale, 1, b"part")
    kept = bucket.init_multipart_upload("keep/big").upload_id
    assert run_pass(lifecycle_server, in_days(2)).uploads_aborted == 0
    assert run_pass(lifecycle_server, in_days(3.01)).uploads_aborted == 1
    assert [u.upload_id for u in oss2.MultipartUploadIterator(bucket)] == [kept]
    bucket.abort_multipart_upload("keep/big", kept)


def test_the_cli_runs_a_pass_as_if_at_a_date(lifecycle_server, bucket):
    bucket.put_bucket_lifecycle(BucketLifecycle([expire_after(5, "cli/")]))
    bucket.put_object("cli/a", b"x")
    command = [sys.executable, "-m", "ossbox", "lifecycle", "run", "--data-dir", lifecycle_server.data_dir]
    run = subprocess.run([*command, "--now", in_days(4).date().isoformat()], capture_output=True, text=True)
    assert run.returncode == 0 and "expired: 0" in run.stdout, run.stderr
    run = subprocess.run([*command, "--now", in_days(6).isoformat()], capture_output=True, text=True)
    assert run.returncode == 0 and "expired: 1" in run.stdout, run.stderr
    assert keys(bucket) == []
    run = subprocess.run([*command, "--now", "next tuesday"], capture_output=True, text=True)
    assert run.returncode == 2 and "ISO 8601" in run.stderr


def test_the_server_applies_the_rules_every_interval(tmp_path):
    running = start_server(str(tmp_path), "--lifecycle-interval", "1")
    try:
        with fresh_oss2_bucket(running, "lc") as made:
            tomorrow = in_days(1).date()
            made.put_bucket_lifecycle(BucketLifecycle([LifecycleRule(
                "all", "", status="Enabled", expiration=LifecycleExpiration(created_before_date=tomorrow))]))
            made.put_object("k", b"x")
            deadline = time.monotonic() + 20
            while keys(made) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert keys(made) == []
    finally:
        assert running.stop() == 0
