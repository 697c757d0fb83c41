"""What can go wrong in storage, in storage's own terms; the server maps these to OSS error codes."""

__all__ = ["StorageError", "BucketNotFound", "BucketExists", "BucketNotEmpty", "ObjectNotFound", "ObjectExists", "UploadNotFound",
           "InvalidPart", "InvalidPartOrder", "PartTooSmall", "ObjectChanged", "ObjectNotAppendable",
           "PositionMismatch"]


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


class ObjectChanged(StorageError):
    """A conditional replace found the object changed meanwhile; `current` is what it found."""

    def __init__(self, current) -> None:
        super().__init__(current.key if current else "")
        self.current = current


class ObjectNotAppendable(StorageError):
    pass


class PositionMismatch(StorageError):
    """An append's position is not the object's length, given as `next_position`."""

    def __init__(self, key: str, next_position: int) -> None:
        super().__init__(key)
        self.next_position = next_position
