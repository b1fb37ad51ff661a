"""Check one member: its hash chain, and its stored events against a replay of its sources.

The sources are replayed in the order they were applied (by the first member version each
produced) into a fresh ``Member``, under the program versions of the catalog; the events each
source produces must be, byte for byte, the stored events of its version span. Every stored
event must belong to some source's span, and a source that produced nothing (a re-sent fact)
must still produce nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.aggregates.member import Member
from engine.audit.chain import BrokenLink, first_break
from engine.audit.codec import Codec
from engine.audit.reads import Event, Link, SourceRow
from engine.audit.replay import apply_source
from engine.errors import LoyaltyError
from engine.program.model import ProgramBook

MEMBER_TOPIC = "engine.aggregates.member:Member."
DETAILS_PER_MEMBER = 20
RULE_OF_EVENT = {
    "PointsActivated": "pending", "PointsExpired": "expiry", "PointsRedeemed": "redemption",
    "PointsReversed": "refund", "QualifyingPointsLapsed": "tiers", "TierChanged": "tiers",
    "TierReviewed": "tiers", "ReferralLinked": "referral", "ReferralQualified": "referral",
    "ReferralClaimed": "referral", "ReferralRewarded": "referral", "ReferralRefused": "referral",
    "Enrolled": "enrolment",
}


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A stored event that the replay does not reproduce (or a replayed one not stored)."""

    customer_id: str | None
    member_id: str
    version: int | None
    event: str
    rule: str
    reason: str
    source: str | None
    expected: dict[str, Any] | None
    found: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {"member": self.customer_id, "member_id": self.member_id,
                "version": self.version, "event": self.event, "rule": self.rule,
                "reason": self.reason, "source": self.source, "expected": self.expected,
                "found": self.found}


@dataclass
class MemberResult:
    member_id: str
    customer_id: str | None = None
    events: int = 0  # stored events checked
    replayed: int = 0  # events the replay produced
    mismatch_count: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    broken_link: BrokenLink | None = None
    # version -> (recomputed event, source); filled when asked for (the API's explanations)
    recomputed: dict[int, tuple[Any, SourceRow]] = field(default_factory=dict)


def rule_of(name: str, fields: dict[str, Any] | None) -> str:
    if fields and name == "PointsEarned":
        return str(fields.get("rule"))
    return RULE_OF_EVENT.get(name, name)


class MemberCheck:
    """One member's check (see the module docstring)."""

    def __init__(self, member_id: str, events: list[Event], links: list[Link],
                 sources: list[SourceRow], programs: ProgramBook, codec: Codec,
                 keep: bool = False) -> None:
        self.result = MemberResult(member_id=member_id, events=len(events))
        self.member_id = member_id
        self.stored = {event[0]: event for event in events}
        self.events, self.links, self.sources = events, links, sources
        self.programs, self.codec, self.keep = programs, codec, keep
        if sources:
            self.result.customer_id = sources[0].customer_id

    def run(self) -> MemberResult:
        self.result.broken_link = first_break(self.member_id, self.events, self.links)
        if self.sources:
            self._replay()
        elif self._is_member():  # events with no source at all: who is it, and none explained
            _, fields = self.codec.describe_stored(self.member_id, *self.stored[1])
            self.result.customer_id = fields.get("customer_id")
            self._replay()
        return self.result

    def _is_member(self) -> bool:
        first = self.stored.get(1)
        return first is not None and first[1].startswith(MEMBER_TOPIC)

    # -- replay -----------------------------------------------------------------------------

    def _replay(self) -> None:
        member: Member | None = None
        expected_next = 1
        stored, codec = self.stored, self.codec
        for row in self.sources:
            if row.from_version is None:
                continue
            first, last = row.from_version, row.to_version or row.from_version - 1
            if first > expected_next:
                self._unexplained(expected_next, first - 1)
            elif first < expected_next:
                self._report(first, None, None, row, "this source claims versions an earlier "
                             f"source produced ({first}..{expected_next - 1})")
            expected_next = max(expected_next, last + 1)
            member, produced = self._apply(member, row)
            self.result.replayed += len(produced)
            for offset, event in enumerate(produced):
                version = first + offset
                found = stored.get(version) if version <= last else None
                if self.keep:
                    self.result.recomputed[version] = (event, row)
                if found is not None and found[1] == codec.topic(event) and (
                        codec.fast_state(event) == found[2]
                        or codec.same(event, found[1], found[2])):
                    continue
                reason = ("the replay produced an event this source did not store"
                          if version > last else
                          "the stored event is missing" if found is None else
                          "the stored event differs from the replay")
                self._report(version, event, found, row, reason)
            for version in range(first + len(produced), last + 1):
                self._report(version, None, stored.get(version), row,
                             "the replay did not produce this stored event")
        last_stored = self.events[-1][0] if self.events else 0
        if last_stored >= expected_next:
            self._unexplained(expected_next, last_stored)
        for row in self.sources:
            if row.from_version is None:
                member, produced = self._apply(member, row)
                for event in produced:
                    self._report(None, event, None, row, "this source produced nothing when "
                                 "it was applied, but the replay makes it produce events")

    def _apply(self, member: Member | None, row: SourceRow) -> tuple[Member | None, list[Any]]:
        try:
            member, _ = apply_source(member, row, self.programs)
        except LoyaltyError as exc:
            self._report(row.from_version, None, None, row,
                         f"the replay refuses this source: {exc}")
        except Exception as exc:  # noqa: BLE001  (a replay that crashes is a finding)
            self._report(row.from_version, None, None, row,
                         f"the replay fails on this source: {type(exc).__name__}: {exc}")
        if member is None:
            return None, []
        return member, list(member.collect_events())

    def _unexplained(self, first: int, last: int) -> None:
        for version in range(first, last + 1):
            found = self.stored.get(version)
            if found is not None:
                self._report(version, None, found, None,
                             "no stored source explains this event")

    def _report(self, version: int | None, event: Any, found: Event | None,
                row: SourceRow | None, reason: str) -> None:
        result = self.result
        result.mismatch_count += 1
        if len(result.mismatches) >= DETAILS_PER_MEMBER:
            return
        expected = self.codec.fields(event) if event is not None else None
        found_name, found_fields = (self.codec.describe_stored(self.member_id, *found)
                                    if found is not None else ("", None))
        name = type(event).__name__ if event is not None else found_name or "-"
        result.mismatches.append(Mismatch(
            customer_id=result.customer_id, member_id=self.member_id, version=version,
            event=name, rule=rule_of(name, expected or found_fields), reason=reason,
            source=row.key if row is not None else None, expected=expected,
            found=found_fields,
        ))
