"""What an operation gets besides its request: storage, the blocking-work pool, and who is asking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from typing import TYPE_CHECKING

from ...storage.records import Gate, Permit
from ..authorize import Access, permit
from ..offload import AsyncStorage, Offload
from ..policy import Decision

if TYPE_CHECKING:
    from ..bucket_rules import BucketRules

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    storage: AsyncStorage
    offload: Offload  # for blocking work other than storage calls: parsing large documents
    principal: str | None  # the access key id that signed the request; None when it is anonymous
    access: Access  # the operation's access class
    owner_id: str  # the owner shown in listings and ACLs
    follows_symlinks: bool = False  # whether reading a symlink reads its target (GetObject, HeadObject)
    # The bucket's rules for a request without a signature in its headers (bucket_rules.py), which reads
    # pass to storage as gates; for an anonymous batch delete in a bucket with a policy, its decision on a
    # key (and an action); for other operations, whether it granted this request whatever the ACLs say.
    rules: BucketRules | None = None
    policy: Callable[[str, str], Decision] | None = None
    policy_allows: bool = False

    def gate(self, source_bucket: str | None = None) -> Gate | None:
        """The gate of a read of this request's bucket, or of a copy's source in `source_bucket`."""
        if self.rules is None:
            return None
        return (self.rules if source_bucket is None else self.rules.for_source(source_bucket)).gate

    def permit(self, access: Access | None = None) -> Permit | None:
        """What storage must check on the records the operation acts on, for its access class or, for
        another object it touches (a copy's source), for `access`."""
        if access is None and self.policy_allows:
            return None
        return permit(self.principal, access or self.access)
