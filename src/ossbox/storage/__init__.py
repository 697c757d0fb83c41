"""The storage engine: SQLite metadata plus blob files, behind the small interface the server uses."""

from .engine import ObjectSnapshot, Storage

__all__ = ["Storage", "ObjectSnapshot"]
