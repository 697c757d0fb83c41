"""What can go wrong in storage, in storage's own terms; the server maps these to OSS error codes."""

__all__ = ["StorageError", "BucketNotFound", "BucketExists", "BucketNotEmpty", "ObjectNotFound", "ObjectExists", "UploadNotFound",
           "InvalidPart", "InvalidPartOrder", "PartTooSmall"]


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


class UploadNotFound(StorageError):
    pass


class InvalidPart(StorageError):
    """A part named at completion was never uploaded, or its ETag differs."""


class InvalidPartOrder(StorageError):
    """Parts named at completion are not in strictly ascending order."""


class PartTooSmall(StorageError):
    """A part other than the last is smaller than the minimum part size."""
