"""Matching `*` and `?` patterns (referer lists, bucket policies) without regular expressions."""

from __future__ import annotations

__all__ = ["wildcard_match"]


def wildcard_match(pattern: str, text: str) -> bool:
    """Whether `text` matches `pattern` (`*`: any run, `?`: any one character). The classic greedy scan
    with one backtrack point: at most len(pattern) x len(text) steps. Patterns are the bucket owner's and
    bounded in length; callers match untrusted text against them off the event loop."""
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] in ("?", text[t]):
            p, t = p + 1, t + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, resume = p, t
            p += 1
        elif star != -1:
            p, resume = star + 1, resume + 1
            t = resume
        else:
            return False
    return all(char == "*" for char in pattern[p:])
