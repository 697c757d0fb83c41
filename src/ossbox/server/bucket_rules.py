"""What a bucket's own rules say of a request: its referer rules (for requests without a signature in their
headers: anonymous ones and presigned URLs; operations/referer.py) and its policy (policy.py).

Strategy: the rules are judged on the bucket record read with what the request acts on, for the key
actually read. Reads pass them to storage as a gate, judged on the bucket read in the same query as the
object (one read, as without rules): a GetObject or HeadObject, what a symlink or a website's index or
error document leads to, a copy's source (under its own bucket's rules). Other operations judge them on
the bucket read first. Pattern matching runs wherever storage runs: off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aiohttp import web

from ..protocol.errors import OssError
from ..storage.records import BucketRecord, Permit
from .addressing import Address
from .context import ServerConfig
from .operations.policy import stored_policy_text
from .operations.referer import RefererConfiguration, referer_allowed, stored_referer
from .policy import Decision, RequestFacts, decide, parse_policy, policy_action

__all__ = ["BucketRules", "GATED_OPERATIONS"]

# Judged by storage on the bucket read with the object (storage.open_object / head_object's `gate`).
GATED_OPERATIONS = frozenset({"GetObject", "HeadObject"})


@dataclass(frozen=True)
class BucketRules:
    """One request's view of its bucket's rules."""

    bucket: str
    owner_id: str | None  # the owner's account when the owner signed it; None: anonymous
    referer: str | None  # the Referer, for a request without a signature in its headers; else None
    action: str  # as policies name it: oss:GetObject
    arn: str  # acs:oss:REGION:ACCOUNT:BUCKET
    facts: RequestFacts

    @classmethod
    def of(cls, request: web.Request, address: Address, operation: str, anonymous: bool, referer_applies: bool,
           config: ServerConfig) -> BucketRules:
        facts = RequestFacts(request.remote, request.secure, (
            ("acs:referer", request.headers.get("Referer", "")),
            ("acs:useragent", request.headers.get("User-Agent", "")),
            ("oss:prefix", address.param("prefix") or ""), ("oss:delimiter", address.param("delimiter") or "")))
        return cls(address.bucket, None if anonymous else config.owner_id,
                   request.headers.get("Referer", "") if referer_applies else None, policy_action(operation),
                   f"acs:oss:{config.region or 'cn-hangzhou'}:{config.owner_id}:{address.bucket}", facts)

    def decide(self, configs: dict, key: str | None, action: str | None = None) -> Decision:
        """The policy's decision on `action` (the request's by default) on `key` (None: the bucket); a
        Referer the bucket refuses raises AccessDenied."""
        if self.referer is not None:
            referer = stored_referer(configs)
            if referer != RefererConfiguration() and not referer_allowed(referer, self.referer or None):
                raise OssError("AccessDenied", "You are denied by bucket referer policy.")
        text = stored_policy_text(configs)
        if text is None:
            return Decision.NONE
        resource = self.arn if key is None else f"{self.arn}/{key}"
        return decide(parse_policy(text, self.bucket), action or self.action, resource, self.facts, self.owner_id)

    @staticmethod
    def has_policy(configs: dict) -> bool:
        return stored_policy_text(configs) is not None

    def for_source(self, bucket: str) -> BucketRules:
        """The rules of a copy's source, which is read (oss:GetObject), maybe in another bucket."""
        return replace(self, bucket=bucket, action="oss:GetObject", arn=f"{self.arn.rsplit(':', 1)[0]}:{bucket}")

    def permit_for(self, decision: Decision, permit: Permit | None) -> Permit | None:
        """The permit a request keeps once the policy has decided: refused, granted (None), or the ACLs'."""
        if decision is Decision.DENY:
            raise OssError("AccessDenied", "You are denied by bucket policy.")
        return None if decision is Decision.ALLOW else permit

    def gate(self, bucket: BucketRecord, key: str, permit: Permit | None) -> Permit | None:
        """storage's Gate: the rules judged on the bucket read with the object."""
        if not bucket.configs:
            return permit  # most buckets: no rules
        return self.permit_for(self.decide(bucket.configs, key), permit)
