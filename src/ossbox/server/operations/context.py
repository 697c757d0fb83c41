"""What an operation gets besides its request: storage, the blocking-work pool, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass

from ...storage.records import Permit
from ..authorize import Access, permit
from ..offload import AsyncStorage, Offload

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    storage: AsyncStorage
    offload: Offload  # for blocking work other than storage calls: parsing large documents
    principal: str | None  # the access key id that signed the request; None when it is anonymous
    access: Access  # the operation's access class
    owner_id: str  # the owner shown in listings and ACLs
    follows_symlinks: bool = False  # whether reading a symlink reads its target (GetObject, HeadObject)

    def permit(self, access: Access | None = None) -> Permit | None:
        """What storage must check on the records the operation acts on, for its access class or, for
        another object it touches (a copy's source), for `access`."""
        return permit(self.principal, access or self.access)
