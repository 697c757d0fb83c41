"""Lifecycle rules: what a bucket's lifecycle configuration says, the checks the cloud makes when one is
put, and which objects, versions and uploads a rule selects.

A rule selects keys by prefix, then objects by the tags it lists (all must be on the object), by size
bounds and by `Not` (a longer prefix, with or without a tag, left out). Its actions: Expiration (after
`days`, of objects last modified before a date, of everything from a date on, or of a delete marker left
with no version under it), Transition to colder storage classes, AbortMultipartUpload, and for noncurrent
versions NoncurrentVersionExpiration and NoncurrentVersionTransition.

Ages are exact: `days` have passed once days x 86,400 seconds have gone by since the last modification
(for a noncurrent version, since the version that replaced it was written; for an upload, since it was
initiated). A date means midnight UTC at its start.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

from ..protocol.errors import OssError
from ..storage.records import ObjectRecord

__all__ = ["Rule", "Expiration", "Transition", "NoncurrentTransition", "AbortUploads", "Not", "Filter",
           "LIFECYCLE_CONFIG", "TRANSITION_CLASSES", "MAX_RULES", "DAY", "validate", "rules_to_json",
           "rules_from_json", "midnight"]

LIFECYCLE_CONFIG = "lifecycle"  # the rules' name among a bucket's configurations (BucketRecord.configs)
MAX_RULES = 1000
# Where each class may go: only to a colder one.
TRANSITION_CLASSES = ("IA", "Archive", "ColdArchive", "DeepColdArchive")
_COLDNESS = {"Standard": 0, **{name: rank + 1 for rank, name in enumerate(TRANSITION_CLASSES)}}
DAY = 86400  # seconds: lifecycle ages count whole days exactly


def midnight(date: datetime.date) -> float:
    """The epoch second at which `date` begins, in UTC."""
    return datetime.datetime.combine(date, datetime.time(), datetime.timezone.utc).timestamp()


def coldness(storage_class: str) -> int:
    return _COLDNESS.get(storage_class, 0)


@dataclass(frozen=True)
class Expiration:
    days: int | None = None
    created_before: datetime.date | None = None  # objects last modified before this date
    date: datetime.date | None = None  # every object, from this date on
    expired_delete_marker: bool | None = None  # True: remove a delete marker with no version under it

    def due(self, mtime: float, now: float) -> bool:
        if self.days is not None:
            return now - mtime >= self.days * DAY
        if self.created_before is not None:
            return mtime < midnight(self.created_before)
        return self.date is not None and now >= midnight(self.date)


@dataclass(frozen=True)
class Transition:
    storage_class: str
    days: int | None = None
    created_before: datetime.date | None = None
    is_access_time: bool | None = None
    return_to_std_when_visit: bool | None = None
    allow_small_file: bool | None = None

    def due(self, mtime: float, now: float) -> bool:
        if self.days is not None:
            return now - mtime >= self.days * DAY
        return self.created_before is not None and mtime < midnight(self.created_before)


@dataclass(frozen=True)
class NoncurrentTransition:
    storage_class: str
    noncurrent_days: int
    is_access_time: bool | None = None
    return_to_std_when_visit: bool | None = None
    allow_small_file: bool | None = None


@dataclass(frozen=True)
class AbortUploads:
    days: int | None = None
    created_before: datetime.date | None = None

    def due(self, initiated: float, now: float) -> bool:
        if self.days is not None:
            return now - initiated >= self.days * DAY
        return self.created_before is not None and initiated < midnight(self.created_before)


@dataclass(frozen=True)
class Not:
    prefix: str
    tag: tuple[str, str] | None = None


@dataclass(frozen=True)
class Filter:
    size_greater_than: int | None = None
    size_less_than: int | None = None
    nots: tuple[Not, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    prefix: str = ""
    enabled: bool = True
    expiration: Expiration | None = None
    transitions: tuple[Transition, ...] = ()
    abort_uploads: AbortUploads | None = None
    tags: tuple[tuple[str, str], ...] = ()
    noncurrent_expiration_days: int | None = None
    noncurrent_transitions: tuple[NoncurrentTransition, ...] = ()
    filter: Filter = field(default_factory=Filter)

    def selects_key(self, key: str) -> bool:
        """Whether the rule's prefix holds `key` and no tagless `Not` leaves it out (an upload, or a delete
        marker, has no tags for a tag filter to judge)."""
        return key.startswith(self.prefix) and not any(
            key.startswith(excluded.prefix) and excluded.tag is None for excluded in self.filter.nots)

    def selects(self, record: ObjectRecord) -> bool:
        """Whether the rule applies to an object version: prefix, tags, size and `Not`."""
        if not record.key.startswith(self.prefix):
            return False
        if any(record.tags.get(key) != value for key, value in self.tags):
            return False
        bounds = self.filter
        if bounds.size_greater_than is not None and not record.size > bounds.size_greater_than:
            return False
        if bounds.size_less_than is not None and not record.size < bounds.size_less_than:
            return False
        return not any(record.key.startswith(excluded.prefix)
                       and (excluded.tag is None or record.tags.get(excluded.tag[0]) == excluded.tag[1])
                       for excluded in bounds.nots)

    def action_types(self) -> list[str]:
        present = [("Expiration", self.expiration), ("Transition", self.transitions),
                   ("AbortMultipartUpload", self.abort_uploads),
                   ("NoncurrentVersionExpiration", self.noncurrent_expiration_days),
                   ("NoncurrentVersionTransition", self.noncurrent_transitions)]
        return [name for name, action in present if action]


# ---- the checks of PutBucketLifecycle ----

def _invalid(message: str, code: str = "InvalidArgument") -> OssError:
    return OssError(code, message)


def validate(rules: list[Rule], allow_overlap: bool = False) -> list[Rule]:
    """The rules, with an ID generated where none was given, or the first reason the cloud refuses them."""
    if not 1 <= len(rules) <= MAX_RULES:
        raise _invalid(f"A lifecycle configuration holds 1 to {MAX_RULES} rules.", "MalformedXML")
    named = [rule if rule.id else _with_id(rule) for rule in rules]
    ids = [rule.id for rule in named]
    if len(set(ids)) != len(ids):
        raise _invalid("Rule IDs must be unique.")
    for rule in named:
        _validate_rule(rule)
    if not allow_overlap:
        _refuse_overlaps(named)
    return named


def _with_id(rule: Rule) -> Rule:
    return replace(rule, id=str(uuid.uuid4()))


def _validate_rule(rule: Rule) -> None:
    if len(rule.id) > 255:
        raise _invalid("A rule ID is at most 255 characters.")
    if not rule.action_types():
        raise _invalid(f"Rule {rule.id} has no action.", "MalformedXML")
    expiration = rule.expiration
    if expiration is not None:
        given = [value for value in (expiration.days, expiration.created_before, expiration.date)
                 if value is not None]
        if expiration.expired_delete_marker and given:
            raise _invalid("ExpiredObjectDeleteMarker cannot be given with Days, Date or CreatedBeforeDate.")
        if len(given) != 1 and not expiration.expired_delete_marker:
            raise _invalid("Expiration needs exactly one of Days, Date or CreatedBeforeDate, or "
                           "ExpiredObjectDeleteMarker.", "MalformedXML")
        if expiration.expired_delete_marker and (rule.tags or rule.filter.size_greater_than is not None
                                                 or rule.filter.size_less_than is not None):
            raise _invalid("ExpiredObjectDeleteMarker cannot be combined with tag or size filters.")
    _check_transitions(rule)
    _check_noncurrent(rule)
    _check_filter(rule)


def _check_transitions(rule: Rule) -> None:
    transitions = rule.transitions
    for transition in transitions:
        if transition.storage_class not in TRANSITION_CLASSES:
            raise _invalid(f"A transition goes to one of {', '.join(TRANSITION_CLASSES)}, not "
                           f"{transition.storage_class!r}.")
        if (transition.days is None) == (transition.created_before is None):
            raise _invalid("A transition needs exactly one of Days or CreatedBeforeDate.", "MalformedXML")
        _check_access_time(transition, rule)
    if len({t.storage_class for t in transitions}) != len(transitions):
        raise _invalid("A rule has at most one transition to each storage class.")
    expiration = rule.expiration
    by_days = [t for t in transitions if t.days is not None]
    by_date = [t for t in transitions if t.created_before is not None]
    if expiration is not None and ((expiration.days is not None and by_date)
                                   or (expiration.created_before is not None and by_days)):
        raise _invalid("Expiration and transitions of one rule must all count days or all give dates.",
                       "InvalidRequest")
    if by_days and by_date:
        raise _invalid("Transitions of one rule must all count days or all give dates.", "InvalidRequest")
    ordered = sorted(transitions, key=lambda t: coldness(t.storage_class))
    for warmer, colder in zip(ordered, ordered[1:]):
        if warmer.days is not None and not colder.days > warmer.days:
            raise _invalid(f"The transition to {colder.storage_class} must come after the one to "
                           f"{warmer.storage_class}: more days.")
        if warmer.created_before is not None and not colder.created_before < warmer.created_before:
            raise _invalid(f"The transition to {colder.storage_class} must take older objects than the one to "
                           f"{warmer.storage_class}: an earlier CreatedBeforeDate.")
    for transition in transitions:
        if expiration is not None and expiration.days is not None and not expiration.days > transition.days:
            raise _invalid("Objects must expire after every transition: Expiration Days must exceed each "
                           "transition's Days.")
        if (expiration is not None and expiration.created_before is not None
                and not expiration.created_before < transition.created_before):
            raise _invalid("Objects must expire after every transition: Expiration CreatedBeforeDate must be "
                           "earlier than each transition's.")


def _check_noncurrent(rule: Rule) -> None:
    if rule.noncurrent_expiration_days is not None and rule.noncurrent_expiration_days < 1:
        raise _invalid("NoncurrentDays must be a positive number.")
    transitions = rule.noncurrent_transitions
    for transition in transitions:
        if transition.storage_class not in TRANSITION_CLASSES:
            raise _invalid(f"A transition goes to one of {', '.join(TRANSITION_CLASSES)}, not "
                           f"{transition.storage_class!r}.")
        _check_access_time(transition, rule)
    if len({t.storage_class for t in transitions}) != len(transitions):
        raise _invalid("A rule has at most one noncurrent transition to each storage class.")
    ordered = sorted(transitions, key=lambda t: coldness(t.storage_class))
    for warmer, colder in zip(ordered, ordered[1:]):
        if not colder.noncurrent_days > warmer.noncurrent_days:
            raise _invalid(f"The noncurrent transition to {colder.storage_class} must come after the one to "
                           f"{warmer.storage_class}: more NoncurrentDays.")
    expiry = rule.noncurrent_expiration_days
    if expiry is not None and any(not expiry > t.noncurrent_days for t in transitions):
        raise _invalid("Noncurrent versions must expire after every noncurrent transition.")


def _check_access_time(transition: Transition | NoncurrentTransition, rule: Rule) -> None:
    if transition.is_access_time:
        raise _invalid("Transitions by last access time need access tracking (PutBucketAccessMonitor), which "
                       "ossbox does not have; use the last modification time.")
    if transition.return_to_std_when_visit is not None:
        raise _invalid("ReturnToStdWhenVisit applies to transitions by last access time only.")
    if transition.allow_small_file is not None and (rule.filter.size_greater_than is not None
                                                    or rule.filter.size_less_than is not None):
        raise _invalid("AllowSmallFile cannot be combined with ObjectSizeGreaterThan or ObjectSizeLessThan.")


def _check_filter(rule: Rule) -> None:
    bounds = rule.filter
    for bound in (bounds.size_greater_than, bounds.size_less_than):
        if bound is not None and bound < 0:
            raise _invalid("Object size bounds cannot be negative.")
    if (bounds.size_greater_than is not None and bounds.size_less_than is not None
            and not bounds.size_greater_than < bounds.size_less_than):
        raise _invalid("ObjectSizeGreaterThan must be less than ObjectSizeLessThan.")
    if len(bounds.nots) > 1:
        raise _invalid("A filter holds at most one Not.")
    for excluded in bounds.nots:
        if not excluded.prefix.startswith(rule.prefix) or excluded.prefix == rule.prefix and excluded.tag is None:
            raise _invalid("The prefix of Not must extend the rule's prefix.")
        if excluded.tag is not None and excluded.tag in rule.tags:
            raise _invalid("The tag of Not cannot be one of the rule's tags.")


def _refuse_overlaps(rules: list[Rule]) -> None:
    """Two rules whose objects can coincide may not both take the same kind of action (unless the request
    allows it with `x-oss-allow-same-action-overlap`). Quadratic in the rules, which are at most 1000."""
    for index, first in enumerate(rules):
        for second in rules[index + 1:]:
            if not (first.prefix.startswith(second.prefix) or second.prefix.startswith(first.prefix)):
                continue
            first_tags = dict(first.tags)
            if any(first_tags.get(key, value) != value for key, value in second.tags):
                continue  # no object carries both tag values
            shared = [kind for kind in first.action_types() if kind in second.action_types()]
            if shared:
                raise _invalid(f"Overlap for same action type {shared[0]}")


# ---- stored as JSON in the bucket's record ----

def rules_to_json(rules: Iterable[Rule]) -> list[dict]:
    def encode(value):
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, dict):
            return {name: encode(item) for name, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [encode(item) for item in value]
        return value
    return [encode(asdict(rule)) for rule in rules]


def _date(text: str | None) -> datetime.date | None:
    return None if text is None else datetime.date.fromisoformat(text)


def rules_from_json(stored: list[dict]) -> list[Rule]:
    def dated(values: dict, cls):
        return cls(**{name: _date(value) if name in ("created_before", "date") else value
                      for name, value in values.items()})

    rules = []
    for item in stored:
        bounds = item["filter"]
        rules.append(Rule(
            id=item["id"], prefix=item["prefix"], enabled=item["enabled"],
            expiration=dated(item["expiration"], Expiration) if item["expiration"] else None,
            transitions=tuple(dated(t, Transition) for t in item["transitions"]),
            abort_uploads=dated(item["abort_uploads"], AbortUploads) if item["abort_uploads"] else None,
            tags=tuple(tuple(pair) for pair in item["tags"]),
            noncurrent_expiration_days=item["noncurrent_expiration_days"],
            noncurrent_transitions=tuple(NoncurrentTransition(**t) for t in item["noncurrent_transitions"]),
            filter=Filter(bounds["size_greater_than"], bounds["size_less_than"],
                          tuple(Not(n["prefix"], tuple(n["tag"]) if n["tag"] else None) for n in bounds["nots"])),
        ))
    return rules
