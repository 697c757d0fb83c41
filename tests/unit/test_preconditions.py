"""Conditional requests: RFC 9110 §13.2.2 evaluation order, ETag comparison and whole-second dates."""

import pytest

from ossbox.protocol.dates import http_date
from ossbox.protocol.preconditions import Outcome, etag_matches, evaluate

ETAG = '"5D41402ABC4B2A76B9719D911017C592"'
BARE = "5D41402ABC4B2A76B9719D911017C592"
OTHER = '"00000000000000000000000000000000"'
MTIME = 1700000000  # Tue, 14 Nov 2023 22:13:20 GMT
LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT"
BEFORE = "Tue, 14 Nov 2023 22:13:19 GMT"
AFTER = "Tue, 14 Nov 2023 22:13:21 GMT"
FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"
GARBAGE = "not a date"

PROCEED = Outcome.PROCEED
NOT_MODIFIED = Outcome.NOT_MODIFIED
FAILED = Outcome.PRECONDITION_FAILED


def test_fixture_dates_are_consistent():
    assert http_date(MTIME) == LAST_MODIFIED
    assert http_date(MTIME - 1) == BEFORE
    assert http_date(MTIME + 1) == AFTER


def test_outcome_values_are_http_statuses():
    assert (PROCEED.value, NOT_MODIFIED.value, FAILED.value) == (200, 304, 412)


def test_no_conditions_proceed():
    assert evaluate(ETAG, MTIME) is PROCEED


# ---- If-Match (strong comparison) ----

IF_MATCH = [
    (ETAG, PROCEED),
    (BARE, PROCEED),  # oss2 sends the ETag without quotes
    ("*", PROCEED),
    (f" {ETAG} ", PROCEED),
    (f"{OTHER}, {ETAG}", PROCEED),
    (f"{OTHER},{BARE}", PROCEED),
    (f"{OTHER} ,  *", PROCEED),
    (OTHER, FAILED),
    (f"{OTHER}, {OTHER}", FAILED),
    (f"W/{ETAG}", FAILED),  # a weak tag never matches strongly
    (f"w/{ETAG}", FAILED),
    (f"W/{BARE}", FAILED),
    (f"W/{ETAG}, {OTHER}", FAILED),
    (BARE.lower(), FAILED),  # opaque tags compare byte for byte
    (f'"{BARE}', FAILED),  # unbalanced quote is not the same tag
    ("", FAILED),
]


@pytest.mark.parametrize("if_match, outcome", IF_MATCH, ids=[row[0] or "empty" for row in IF_MATCH])
def test_if_match(if_match, outcome):
    assert evaluate(ETAG, MTIME, if_match=if_match) is outcome


def test_if_match_compares_against_a_bare_object_etag_too():
    assert evaluate(BARE, MTIME, if_match=ETAG) is PROCEED
    assert evaluate(BARE, MTIME, if_match=BARE) is PROCEED


def test_multipart_etag_matches_if_match():
    etag = '"A1B2C3D4E5F60718293A4B5C6D7E8F90-3"'
    assert evaluate(etag, MTIME, if_match="A1B2C3D4E5F60718293A4B5C6D7E8F90-3") is PROCEED
    assert evaluate(etag, MTIME, if_match="A1B2C3D4E5F60718293A4B5C6D7E8F90") is FAILED


# ---- If-Unmodified-Since ----

IF_UNMODIFIED_SINCE = [
    (LAST_MODIFIED, PROCEED),  # equal passes: compared at whole seconds
    (AFTER, PROCEED),
    (FUTURE, PROCEED),
    (BEFORE, FAILED),
    ("Thu, 01 Jan 1970 00:00:00 GMT", FAILED),
    (GARBAGE, PROCEED),  # unparseable: ignored
    ("", PROCEED),
    ("Tuesday, 14-Nov-23 22:13:19 GMT", FAILED),  # RFC 850
    ("Tue Nov 14 22:13:19 2023", FAILED),  # asctime
    ("Tue Nov 14 22:13:20 2023", PROCEED),
]


@pytest.mark.parametrize("since, outcome", IF_UNMODIFIED_SINCE, ids=[row[0] or "empty" for row in IF_UNMODIFIED_SINCE])
def test_if_unmodified_since(since, outcome):
    assert evaluate(ETAG, MTIME, if_unmodified_since=since) is outcome


# ---- If-None-Match (weak comparison) ----

IF_NONE_MATCH = [
    (ETAG, NOT_MODIFIED),
    (BARE, NOT_MODIFIED),
    (f"W/{ETAG}", NOT_MODIFIED),  # weak comparison: a weak tag matches
    (f"W/{BARE}", NOT_MODIFIED),
    ("*", NOT_MODIFIED),
    (f"{OTHER}, {ETAG}", NOT_MODIFIED),
    (f"{OTHER},W/{ETAG}", NOT_MODIFIED),
    (OTHER, PROCEED),
    (f"W/{OTHER}", PROCEED),
    (f"{OTHER}, {OTHER}", PROCEED),
    ("", PROCEED),
]


@pytest.mark.parametrize("if_none_match, outcome", IF_NONE_MATCH, ids=[row[0] or "empty" for row in IF_NONE_MATCH])
def test_if_none_match(if_none_match, outcome):
    assert evaluate(ETAG, MTIME, if_none_match=if_none_match) is outcome


# ---- If-Modified-Since ----

IF_MODIFIED_SINCE = [
    (LAST_MODIFIED, NOT_MODIFIED),  # equal: not modified since
    (AFTER, NOT_MODIFIED),
    (FUTURE, NOT_MODIFIED),  # a future date gives 304
    (BEFORE, PROCEED),
    ("Thu, 01 Jan 1970 00:00:00 GMT", PROCEED),
    (GARBAGE, PROCEED),
    ("", PROCEED),
    ("Tuesday, 14-Nov-23 22:13:20 GMT", NOT_MODIFIED),  # RFC 850
    ("Tue Nov 14 22:13:19 2023", PROCEED),  # asctime
]


@pytest.mark.parametrize("since, outcome", IF_MODIFIED_SINCE, ids=[row[0] or "empty" for row in IF_MODIFIED_SINCE])
def test_if_modified_since(since, outcome):
    assert evaluate(ETAG, MTIME, if_modified_since=since) is outcome


# ---- precedence (RFC 9110 §13.2.2) ----

PRECEDENCE = [
    # 1. If-Match false -> 412, whatever else is present
    (dict(if_match=OTHER, if_none_match=ETAG), FAILED),
    (dict(if_match=OTHER, if_modified_since=LAST_MODIFIED), FAILED),
    (dict(if_match=OTHER, if_unmodified_since=FUTURE), FAILED),
    (dict(if_match=OTHER, if_unmodified_since=FUTURE, if_none_match="*", if_modified_since=FUTURE), FAILED),
    # If-Match present (and true) means If-Unmodified-Since is ignored
    (dict(if_match=ETAG, if_unmodified_since=BEFORE), PROCEED),
    (dict(if_match="*", if_unmodified_since=BEFORE), PROCEED),
    # ... but a false If-Match is still 412 even when If-Unmodified-Since would pass
    (dict(if_match=f"W/{ETAG}", if_unmodified_since=FUTURE), FAILED),
    # 2. If-Unmodified-Since false -> 412 beats a 304 from If-None-Match / If-Modified-Since
    (dict(if_unmodified_since=BEFORE, if_none_match=ETAG), FAILED),
    (dict(if_unmodified_since=BEFORE, if_modified_since=FUTURE), FAILED),
    # 3. If-None-Match true -> 304
    (dict(if_match=ETAG, if_none_match=ETAG), NOT_MODIFIED),
    (dict(if_unmodified_since=LAST_MODIFIED, if_none_match="*"), NOT_MODIFIED),
    # If-None-Match present means If-Modified-Since is ignored
    (dict(if_none_match=OTHER, if_modified_since=FUTURE), PROCEED),
    (dict(if_none_match=OTHER, if_modified_since=LAST_MODIFIED), PROCEED),
    (dict(if_none_match=ETAG, if_modified_since=BEFORE), NOT_MODIFIED),
    # 4. If-Modified-Since (only without If-None-Match)
    (dict(if_match=ETAG, if_modified_since=LAST_MODIFIED), NOT_MODIFIED),
    (dict(if_match=ETAG, if_modified_since=BEFORE), PROCEED),
    # unparseable dates are ignored, the other conditions still apply
    (dict(if_unmodified_since=GARBAGE, if_none_match=ETAG), NOT_MODIFIED),
    (dict(if_unmodified_since=GARBAGE, if_modified_since=GARBAGE), PROCEED),
    (dict(if_match=ETAG, if_unmodified_since=GARBAGE, if_none_match=OTHER, if_modified_since=GARBAGE), PROCEED),
    # the ranged-download combination oss2 sends for each part
    (dict(if_match=BARE, if_unmodified_since=LAST_MODIFIED), PROCEED),
]


@pytest.mark.parametrize("conditions, outcome", PRECEDENCE, ids=[str(sorted(row[0])) + str(i) for i, row in enumerate(PRECEDENCE)])
def test_precedence(conditions, outcome):
    assert evaluate(ETAG, MTIME, **conditions) is outcome


def test_if_match_false_beats_everything():
    assert evaluate(
        ETAG, MTIME, if_match=OTHER, if_unmodified_since=FUTURE, if_none_match=ETAG, if_modified_since=FUTURE
    ) is FAILED


def test_whole_second_comparison_of_modification_time():
    # Last-Modified carries whole seconds, so an object modified at MTIME is "not modified since" MTIME.
    assert evaluate(ETAG, MTIME, if_modified_since=http_date(MTIME)) is NOT_MODIFIED
    assert evaluate(ETAG, MTIME, if_unmodified_since=http_date(MTIME)) is PROCEED
    assert evaluate(ETAG, MTIME, if_modified_since=http_date(MTIME - 1)) is PROCEED
    assert evaluate(ETAG, MTIME, if_unmodified_since=http_date(MTIME - 1)) is FAILED


def test_dates_with_a_numeric_zone_are_converted_to_utc():
    # 23:13:20 +0100 is 22:13:20 GMT
    assert evaluate(ETAG, MTIME, if_modified_since="Tue, 14 Nov 2023 23:13:20 +0100") is NOT_MODIFIED
    assert evaluate(ETAG, MTIME, if_unmodified_since="Tue, 14 Nov 2023 23:13:19 +0100") is FAILED


# ---- etag_matches ----

MATCHES = [
    # header, etag, weak, expected
    ('"abc"', '"abc"', False, True),
    ("abc", '"abc"', False, True),
    ('"abc"', "abc", False, True),
    ('W/"abc"', '"abc"', False, False),
    ('W/"abc"', '"abc"', True, True),
    ('"abc"', 'W/"abc"', True, True),
    ('"abd"', '"abc"', True, False),
    ('"a", "b" ,"abc"', '"abc"', False, True),
    ("*", '"abc"', False, True),
    ("*", '"abc"', True, True),
    ('"ABC"', '"abc"', True, False),
]


@pytest.mark.parametrize("header, etag, weak, expected", MATCHES)
def test_etag_matches(header, etag, weak, expected):
    assert etag_matches(header, etag, weak=weak) is expected
