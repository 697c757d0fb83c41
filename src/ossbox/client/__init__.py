"""ossbox's OSS client: a drop-in replacement for the part of oss2 most programs use.

Import it where oss2 was imported (`import ossbox.client as oss2`): the names, call signatures, result
attributes and exceptions are oss2's, the signatures are computed by the same protocol core the ossbox
server verifies with, and the transport is urllib3 with pooled keep-alive connections.

Each name is imported from its module when first used (PEP 562), so importing this package, or a light
module of it such as `defaults`, costs next to nothing: the `ossbox` command reaches urllib3, XML and the
transfer machinery only when it sends a request.
"""

import sys as _sys

# The public modules, and every re-exported name beside the module that defines it: a new feature is one
# entry, e.g. `"download": ("ResumableDownloadStore", "resumable_download")`. `__all__` is all of them.
_PUBLIC_MODULES = ("credentials", "defaults", "exceptions", "http", "models")
_EXPORTS = {
    "api": ("Bucket", "Service"),
    "auth": ("AUTH_VERSION_1", "AUTH_VERSION_2", "AUTH_VERSION_4", "AnonymousAuth", "StsAuth", "make_auth", "Auth",
             "AuthV2", "AuthV4", "ProviderAuth", "ProviderAuthV2", "ProviderAuthV4"),
    "download": ("ResumableDownloadStore", "resumable_download"),
    "http": ("CaseInsensitiveDict", "Session"),
    "iterators": ("BucketIterator", "ObjectIterator", "ObjectIteratorV2"),
    "models": ("BUCKET_ACL_PRIVATE", "BUCKET_ACL_PUBLIC_READ", "BUCKET_ACL_PUBLIC_READ_WRITE", "PartInfo"),
    "upload": ("ResumableStore", "resumable_upload"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted([*_PUBLIC_MODULES, *_MODULE_OF])


def _module(name: str):
    # The import statement's own machinery (importlib.import_module is not), so that -X importtime shows it.
    __import__(f"{__name__}.{name}")
    return _sys.modules[f"{__name__}.{name}"]


def __getattr__(name: str):
    if name in _PUBLIC_MODULES:
        value = _module(name)
    elif name in _MODULE_OF:
        value = getattr(_module(_MODULE_OF[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
