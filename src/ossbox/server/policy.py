"""Bucket policies: the JSON document OSS takes, and what it decides for a request.

Strategy, as OSS evaluates: the statements whose principal, action, resource and conditions all match the
request apply; any applying Deny refuses it; an applying Allow grants it even where the ACLs would not;
with neither, the ACLs decide. ossbox knows two principals: the owner (whose access key signs requests)
and anonymous callers. As in OSS, a statement for Principal `*` concerns the owner only when it has a
Condition (or names the owner's account), and then only its Deny matters: the owner may do everything
else. Unlike OSS, the owner may always get, put and delete the policy itself, so that no policy locks out
the one key able to remove it (SECURITY.md).

Actions are `oss:` and the operation's name (HeadObject and GetObjectMeta are `oss:GetObject`, uploads of
every kind `oss:PutObject`, ...); resources `acs:oss:REGION:ACCOUNT:BUCKET` and `.../BUCKET/KEY`. Patterns
take `*` and `?`. Conditions: IpAddress and NotIpAddress on `acs:SourceIp`; StringEquals, StringNotEquals,
StringLike and StringNotLike on `acs:Referer`, `acs:UserAgent`, `acs:SourceVpc` (never set here),
`oss:Prefix` and `oss:Delimiter`; Bool on `acs:SecureTransport`. A policy using anything else is refused
when it is put, rather than evaluated wrongly.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import json
from dataclasses import dataclass

from ..protocol.errors import OssError
from ..protocol.patterns import wildcard_match

__all__ = ["Decision", "Policy", "RequestFacts", "parse_policy", "decide", "policy_action", "MAX_POLICY_BYTES"]

MAX_POLICY_BYTES = 16 * 1024
_ACTION_OF = {
    "HeadObject": "GetObject", "GetObjectMeta": "GetObject", "ListObjectsV2": "ListObjects",
    "CopyObject": "PutObject", "AppendObject": "PutObject", "PutSymlink": "PutObject",
    "InitiateMultipartUpload": "PutObject", "UploadPart": "PutObject", "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject", "DeleteMultipleObjects": "DeleteObject",
    "GetSymlink": "GetObject", "PutBucketTags": "PutBucketTagging", "GetBucketTags": "GetBucketTagging", "DeleteBucketTags": "DeleteBucketTagging",
}
_STRING_KEYS = frozenset({"acs:referer", "acs:useragent", "acs:sourcevpc", "oss:prefix", "oss:delimiter"})
_STRING_OPERATORS = frozenset({"StringEquals", "StringNotEquals", "StringLike", "StringNotLike"})
_IP_OPERATORS = frozenset({"IpAddress", "NotIpAddress"})


def policy_action(operation: str) -> str:
    return "oss:" + _ACTION_OF.get(operation, operation)


class Decision(enum.Enum):
    DENY = "deny"
    ALLOW = "allow"
    NONE = "none"  # no statement applies: the ACLs decide


@dataclass(frozen=True)
class Condition:
    operator: str
    key: str  # lower case: condition keys are matched without regard to case
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    principals: tuple[str, ...]
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class RequestFacts:
    """What conditions can ask of a request."""

    source_ip: str | None = None
    secure: bool = False
    values: tuple[tuple[str, str], ...] = ()  # (lower-case condition key, value) the request carries

    def value(self, key: str) -> str | None:
        return next((value for name, value in self.values if name == key), None)


def _invalid(message: str) -> OssError:
    return OssError("InvalidPolicyDocument", message)


def _strings(statement: dict, name: str, required: bool = True) -> tuple[str, ...]:
    value = statement.get(name)
    if value is None and not required:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) and item for item in items):
        raise _invalid(f"{name} must be a string or a list of strings.")
    return tuple(items)


def _conditions(value) -> tuple[Condition, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise _invalid("Condition must be an object.")
    conditions = []
    for operator, tests in value.items():
        if not isinstance(tests, dict) or not tests:
            raise _invalid(f"Condition {operator} must be an object of keys and values.")
        for key, values in tests.items():
            items = tuple(_strings({"value": values}, "value")) if not isinstance(values, bool) else (str(values),)
            condition = Condition(operator, key.lower(), tuple(item.lower() if operator == "Bool" else item
                                                               for item in items))
            _check_condition(condition)
            conditions.append(condition)
    return tuple(conditions)


def _check_condition(condition: Condition) -> None:
    if condition.operator in _IP_OPERATORS and condition.key == "acs:sourceip":
        for value in condition.values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise _invalid(f"{value!r} is not an IP address or network.") from None
        return
    if condition.operator in _STRING_OPERATORS and condition.key in _STRING_KEYS:
        return
    if condition.operator == "Bool" and condition.key == "acs:securetransport":
        if not set(condition.values) <= {"true", "false"}:
            raise _invalid("Bool takes true or false.")
        return
    raise _invalid(f"ossbox does not evaluate the condition {condition.operator!r} on {condition.key!r}.")


@functools.lru_cache(maxsize=256)  # a bucket's policy is read for every anonymous request to it
def parse_policy(text: str, bucket: str) -> Policy:
    """The policy `text` describes; 400 InvalidPolicyDocument if it is not one, or names another bucket."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than any policy is
        raise _invalid("The policy is not a JSON document.") from None
    if not isinstance(document, dict) or document.get("Version") != "1":
        raise _invalid("A policy is a JSON object with \"Version\": \"1\".")
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise _invalid("A policy needs a list of statements.")
    parsed = []
    for statement in statements:
        if not isinstance(statement, dict):
            raise _invalid("A statement is a JSON object.")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise _invalid("A statement's Effect is Allow or Deny.")
        actions = _strings(statement, "Action")
        if not all(action.startswith("oss:") for action in actions):
            raise _invalid("Actions are named oss:ACTION.")
        resources = _strings(statement, "Resource")
        for resource in resources:
            parts = resource.split(":", 4)
            if len(parts) != 5 or parts[:2] != ["acs", "oss"] or \
                    not wildcard_match(parts[4].split("/", 1)[0], bucket):
                raise _invalid(f"Resource {resource!r} is not in the bucket {bucket}.")
        principals = _strings(statement, "Principal", required=False) or ("*",)
        parsed.append(Statement(effect == "Allow", actions, resources, principals,
                                _conditions(statement.get("Condition"))))
    return Policy(tuple(parsed))


def _condition_holds(condition: Condition, facts: RequestFacts) -> bool:
    if condition.operator in _IP_OPERATORS:
        try:
            address = ipaddress.ip_address(facts.source_ip or "")
        except ValueError:
            return condition.operator == "NotIpAddress"
        inside = any(address in ipaddress.ip_network(value, strict=False) for value in condition.values)
        return inside if condition.operator == "IpAddress" else not inside
    if condition.operator == "Bool":
        return ("true" if facts.secure else "false") in condition.values
    value = facts.value(condition.key) or ""
    if condition.operator in ("StringEquals", "StringNotEquals"):
        equal = value in condition.values
        return equal if condition.operator == "StringEquals" else not equal
    like = any(wildcard_match(pattern, value) for pattern in condition.values)
    return like if condition.operator == "StringLike" else not like


def _concerns(statement: Statement, owner_id: str | None) -> bool:
    """Whether `statement` concerns the caller: for an anonymous one (`owner_id` None), statements for
    Principal `*`; for the owner, those naming its account, and those for `*` that have a Condition."""
    if owner_id is None:
        return "*" in statement.principals
    return owner_id in statement.principals or ("*" in statement.principals and bool(statement.conditions))


def decide(policy: Policy, action: str, resource: str, facts: RequestFacts, owner_id: str | None = None
           ) -> Decision:
    """What the statements concerning the caller (anonymous, or the owner with account `owner_id`) and
    applying to `action` on `resource` decide. The owner has every right already: only a Deny counts."""
    allowed = False
    for statement in policy.statements:
        if not _concerns(statement, owner_id):
            continue
        if not any(wildcard_match(pattern, action) for pattern in statement.actions):
            continue
        if not any(wildcard_match(pattern, resource) for pattern in statement.resources):
            continue
        if not all(_condition_holds(condition, facts) for condition in statement.conditions):
            continue
        if not statement.allow:
            return Decision.DENY
        allowed = owner_id is None
    return Decision.ALLOW if allowed else Decision.NONE
