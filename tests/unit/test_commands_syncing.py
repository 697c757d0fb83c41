"""`ossbox sync`'s pure rules: which paths the include/exclude globs keep, and when a file must be copied."""

from __future__ import annotations

import pytest

from ossbox.commands.syncing import Entry, included, reason_to_copy


@pytest.mark.parametrize("relative, rules, expected", [
    ("a.txt", (), True),
    ("a.log", (("exclude", "*.log"),), False),
    ("deep/er/a.log", (("exclude", "*.log"),), False),  # `*` matches `/` too, as in aws-cli
    ("tmp/x/y", (("exclude", "tmp/*"),), False),
    ("other/tmp/y", (("exclude", "tmp/*"),), True),
    # the last matching rule wins
    ("a.jpg", (("exclude", "*"), ("include", "*.jpg")), True),
    ("a.png", (("exclude", "*"), ("include", "*.jpg")), False),
    ("a.jpg", (("include", "*.jpg"), ("exclude", "*")), False),
    ("keep/a.log", (("exclude", "*.log"), ("include", "keep/*")), True),
    ("keep/a.log", (("include", "keep/*"), ("exclude", "*.log")), False),
    ("a b+%ü.txt", (("exclude", "a b+%ü.*"),), False),
    ("[x]", (("exclude", "[[]x]"),), False),
    ("A.LOG", (("exclude", "*.log"),), True),  # case matters, on every system
])
def test_the_last_matching_rule_decides(relative, rules, expected):
    assert included(relative, rules) is expected


OLD, NEW = 1_700_000_000, 1_700_000_100


@pytest.mark.parametrize("source, destination, compare, expected", [
    (Entry(5, OLD), None, "mtime", "missing"),
    (Entry(5, OLD), Entry(6, NEW), "mtime", "size differs"),
    (Entry(5, NEW), Entry(5, OLD), "mtime", "newer"),
    (Entry(5, OLD), Entry(5, NEW), "mtime", None),  # the destination is newer: kept
    (Entry(5, OLD), Entry(5, OLD), "mtime", None),  # what a download leaves (the object's time on the file)
    (Entry(5, NEW), Entry(5, OLD), "size", None),
    (Entry(5, NEW), Entry(4, OLD), "size", "size differs"),
    (Entry(5, NEW), Entry(5, OLD), "checksum", None),  # left to the contents
    (Entry(5, NEW), Entry(4, NEW), "checksum", "size differs"),
    (Entry(5, NEW), None, "checksum", "missing"),
])
def test_what_is_copied(source, destination, compare, expected):
    assert reason_to_copy(source, destination, compare) == expected
