"""What an operation gets besides its request: storage, the blocking-work pool, and who is asking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...storage.records import Permit
from ..authorize import Access, permit
from ..offload import AsyncStorage, Offload
from ..policy import Decision

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    storage: AsyncStorage
    offload: Offload  # for blocking work other than storage calls: parsing large documents
    principal: str | None  # the access key id that signed the request; None when it is anonymous
    access: Access  # the operation's access class
    owner_id: str  # the owner shown in listings and ACLs
    follows_symlinks: bool = False  # whether reading a symlink reads its target (GetObject, HeadObject)
    # For an anonymous caller of a bucket with a policy: what it decides for an action on a key (or on the
    # bucket, for None); and whether it granted this request, whatever the ACLs say.
    policy: Callable[[str, str | None], Decision] | None = None
    policy_allows: bool = False

    def permit(self, access: Access | None = None) -> Permit | None:
        """What storage must check on the records the operation acts on, for its access class or, for
        another object it touches (a copy's source), for `access`."""
        if access is None and self.policy_allows:
            return None
        return permit(self.principal, access or self.access)
