"""Building the small XML documents OSS and S3 answer with, byte-exact (OSS's without a namespace).

Strategy: a document is a root tag and a list of (tag, value) children, where a value is text (str, int,
bool), a nested list of children, or None (the element is left out). Building strings directly keeps the
output predictable (no `ns0:` prefixes, no self-closing surprises) and fast for 1000-key listings.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Children", "Fragment", "xml_document", "xml_fragment", "xml_text", "xml_text_document"]

Children = Iterable[tuple[str, object]]
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def xml_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # &, < and >, as xml.sax.saxutils.escape and html.escape(quote=False) do: importing either costs the
    # client's start-up urllib.request or a table of 2,000 HTML entities
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Fragment(str):
    """Content already rendered as XML (escaped where need be), placed inside its tag as it is: how a listing
    writes each of a thousand entries with one format instead of a walk over nested children."""


def _render(parts: list[str], children: Children) -> None:
    for tag, value in children:
        if value is None:
            continue
        if isinstance(value, Fragment):
            parts.append(f"<{tag}>{value}</{tag}>")
        elif isinstance(value, (list, tuple)):
            parts.append(f"<{tag}>")
            _render(parts, value)
            parts.append(f"</{tag}>")
        else:
            parts.append(f"<{tag}>{xml_text(value)}</{tag}>")


def xml_fragment(children: Children) -> Fragment:
    """`children` rendered once, to be placed many times."""
    parts: list[str] = []
    _render(parts, children)
    return Fragment("".join(parts))


def xml_document(root: str, children: Children, namespace: str | None = None) -> bytes:
    """`namespace`: the default namespace the root declares (S3's documents have one, OSS's none)."""
    parts = [_DECLARATION, f'<{root} xmlns="{namespace}">' if namespace else f"<{root}>"]
    _render(parts, children)
    parts.append(f"</{root}>")
    return "".join(parts).encode("utf-8")


def xml_text_document(root: str, text: object) -> bytes:
    """A document whose root holds only text, such as `<LocationConstraint>`."""
    return f"{_DECLARATION}<{root}>{xml_text(text)}</{root}>".encode("utf-8")
