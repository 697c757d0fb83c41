"""What can go wrong in storage, in storage's own terms; the server maps these to OSS error codes."""

__all__ = ["StorageError", "BucketNotFound", "BucketExists", "BucketNotEmpty", "ObjectNotFound", "ObjectExists"]


class StorageError(Exception):
    pass


class BucketNotFound(StorageError):
    pass


class BucketExists(StorageError):
    pass


class BucketNotEmpty(StorageError):
    pass


class ObjectNotFound(StorageError):
    pass


class ObjectExists(StorageError):
    """The key exists and the write asked not to overwrite it."""
