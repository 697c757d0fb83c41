"""ossbox's OSS client: a drop-in replacement for the part of oss2 most programs use.

Import it where oss2 was imported (`import ossbox.client as oss2`): the names, call signatures, result
attributes and exceptions are oss2's, the signatures are computed by the same protocol core the ossbox
server verifies with, and the transport is urllib3 with pooled keep-alive connections.
"""

from types import ModuleType as _ModuleType

# Re-exported names are imported as `name as name` (explicit re-exports) and `__all__` is every one of them,
# so a new feature is one import line, e.g.
# `from .download import ResumableDownloadStore as ResumableDownloadStore, resumable_download as resumable_download`
from . import credentials as credentials, defaults as defaults, exceptions as exceptions
from . import http as http, models as models
from .api import Bucket as Bucket, Service as Service
from .download import ResumableDownloadStore as ResumableDownloadStore, resumable_download as resumable_download
from .upload import ResumableStore as ResumableStore, resumable_upload as resumable_upload
from .auth import AUTH_VERSION_1 as AUTH_VERSION_1, AUTH_VERSION_2 as AUTH_VERSION_2, AUTH_VERSION_4 as AUTH_VERSION_4
from .auth import AnonymousAuth as AnonymousAuth, StsAuth as StsAuth, make_auth as make_auth
from .auth import Auth as Auth, AuthV2 as AuthV2, AuthV4 as AuthV4
from .auth import ProviderAuth as ProviderAuth, ProviderAuthV2 as ProviderAuthV2, ProviderAuthV4 as ProviderAuthV4
from .http import CaseInsensitiveDict as CaseInsensitiveDict, Session as Session
from .iterators import BucketIterator as BucketIterator, ObjectIterator as ObjectIterator
from .iterators import ObjectIteratorV2 as ObjectIteratorV2
from .models import BUCKET_ACL_PRIVATE as BUCKET_ACL_PRIVATE, BUCKET_ACL_PUBLIC_READ as BUCKET_ACL_PUBLIC_READ
from .models import BUCKET_ACL_PUBLIC_READ_WRITE as BUCKET_ACL_PUBLIC_READ_WRITE, PartInfo as PartInfo

_PUBLIC_MODULES = {"credentials", "defaults", "exceptions", "http", "models"}
__all__ = sorted(name for name, value in globals().items()
                 if not name.startswith("_") and (not isinstance(value, _ModuleType) or name in _PUBLIC_MODULES))
