"""Who may do what: the access decision, made on the records a request acts on.

Strategy: pure functions of the principal (the access key id that signed the request, None when it is
anonymous), the operation's access class and the ACLs involved. A signed request may do anything: there
is one access key and no policies. An anonymous request is judged by the object's ACL, or by the bucket's
where the object's is `default` or there is no object. (A bucket that does not exist is answered
NoSuchBucket before any of this, by dispatch and storage.)

`permit()` gives the predicate storage applies to the very record a call reads or replaces (inside the
transaction, for a write), so a decision is never made on one version while another is served.
"""

from __future__ import annotations

import enum
import functools

from ..protocol.errors import OssError
from ..storage.records import ObjectRecord, Permit

__all__ = ["Access", "effective_acl", "allows", "permit", "denied"]


class Access(enum.Enum):
    READ = "read"  # anonymous callers may where the ACL is public-read or public-read-write
    WRITE = "write"  # anonymous callers may where the ACL is public-read-write
    OWNER = "owner"  # only signed requests: bucket configuration, ACLs, tags, ListBuckets
    ANYONE = "anyone"  # no signature needed and no ACL judged: a browser's CORS preflight


def effective_acl(bucket_acl: str | None, object_acl: str | None = None) -> str:
    if object_acl is not None and object_acl != "default":
        return object_acl
    return bucket_acl or "private"


def allows(access: Access, acl: str) -> bool:
    """Whether an anonymous caller may do an `access` operation under `acl`."""
    if access is Access.READ:
        return acl in ("public-read", "public-read-write")
    return access is Access.WRITE and acl == "public-read-write"


def _anonymous_permits(access: Access, bucket_acl: str | None, record: ObjectRecord | None) -> bool:
    return allows(access, effective_acl(bucket_acl, record.acl if record is not None else None))


def permit(principal: str | None, access: Access) -> Permit | None:
    """What storage must check on the records a request acts on; None when nothing needs checking."""
    if principal is not None or access is Access.ANYONE:
        return None
    return functools.partial(_anonymous_permits, access)


def denied(**fields: str) -> OssError:
    return OssError("AccessDenied", "You have no right to access this object because of bucket acl.", **fields)
