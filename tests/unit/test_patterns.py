"""`*` and `?` patterns, checked against fnmatch (without its character classes) on every small case."""

import fnmatch
import itertools

import pytest

from ossbox.protocol.patterns import wildcard_match


@pytest.mark.parametrize("pattern,text,expected", [
    ("", "", True), ("", "a", False), ("*", "", True), ("a*", "a", True), ("*a", "ba", True),
    ("http://*.good.com/*", "http://www.good.com/page", True), ("http://*.good.com/*", "http://good.com/", False),
    ("a?c", "abc", True), ("a?c", "ac", False), ("*a*b*", "xxaxxbxx", True), ("*a*b", "ab_a_b", True),
    ("*a*b", "ab_a", False), ("**", "anything", True),
])
def test_examples(pattern, text, expected):
    assert wildcard_match(pattern, text) is expected


def test_agrees_with_fnmatch_on_every_short_case():
    for pattern_chars in itertools.product("ab*?", repeat=4):
        pattern = "".join(pattern_chars)
        for length in range(6):
            for text_chars in itertools.product("ab", repeat=length):
                text = "".join(text_chars)
                assert wildcard_match(pattern, text) == fnmatch.fnmatchcase(text, pattern), (pattern, text)
