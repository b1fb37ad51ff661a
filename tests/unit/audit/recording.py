"""An in-memory engine for audit tests: applies facts, commands, redemptions and sweeps to
members as the service layer does, and keeps what the store would hold for an auditor: each
member's stored events, chain links and source rows with their version spans."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.application import Application

from engine.aggregates.commands import Command
from engine.aggregates.member import Member, member_id
from engine.audit.chain import chain_rows
from engine.audit.codec import Codec
from engine.audit.member_check import MemberCheck, MemberResult
from engine.audit.reads import SourceRow
from engine.contract import Fact, encode
from engine.program.model import ProgramBook


class Recording:
    """Members, and per member id (hex): stored events, links and sources."""

    def __init__(self, programs: ProgramBook) -> None:
        self.programs = programs
        self.app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.codec = Codec(self.app.mapper)
        self.members: dict[str, Member] = {}
        self.events: dict[str, list[tuple[int, str, bytes]]] = defaultdict(list)
        self.links: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        self.sources: dict[str, list[SourceRow]] = defaultdict(list)
        self.outbox: list[Command] = []
        self._offset = 0

    # -- the kinds of source -----------------------------------------------------------

    def fact(self, fact: Fact) -> None:
        member, before = self._member(fact.customer_id, fact.occurred_at)
        self.outbox.extend(member.apply_fact(fact, self.programs))
        self._record(member, before, "fact", fact.event_id, encode(fact).decode())

    def command(self, command: Command) -> None:
        member, before = self._member(command.customer_id, command.occurred_at)
        self.outbox.extend(member.apply_command(command, self.programs))
        self._record(member, before, "command", command.command_id, command.to_json().decode())
        if member.referral_claims:  # every claim is in: decide it at once, as a settle
            self.settle(command.customer_id, command.occurred_at)

    def settle(self, customer: str, until: datetime) -> None:
        member, before = self._member(customer, until)
        self.outbox.extend(member.settle_referrals(until, None, self.programs))
        self._record(member, before, "settle", until.isoformat(),
                     orjson.dumps({"until": until.isoformat(), "before": None}).decode())

    def redemption(self, customer: str, request_id: str, reward: str, at: datetime) -> None:
        member, before = self._member(customer, at)
        result = member.redeem(request_id, reward, at, self.programs)
        self.outbox.extend(result.commands)
        self._record(member, before, "redemption", request_id, orjson.dumps(
            {"request_id": request_id, "reward": reward, "at": at.isoformat()}).decode())

    def sweep(self, customer: str, now: datetime) -> None:
        member, before = self._member(customer, now)
        self.outbox.extend(member.advance(now, self.programs))
        self._record(member, before, "sweep", now.isoformat(),
                     orjson.dumps({"now": now.isoformat()}).decode())

    def deliver(self) -> None:
        """Apply the commands waiting in the outbox (and those they cause)."""
        while self.outbox:
            self.command(self.outbox.pop(0))

    # -- the audit --------------------------------------------------------------------------

    def check(self, customer: str, keep: bool = False) -> MemberResult:
        oid = member_id(customer).hex
        return MemberCheck(oid, self.events[oid], self.links[oid], self.sources[oid],
                           self.programs, self.codec, keep=keep).run()

    def source(self, customer: str, source_id: str) -> SourceRow:
        return next(r for r in self.sources[member_id(customer).hex] if r.source_id == source_id)

    def replace_source(self, customer: str, source_id: str, **changes: Any) -> None:
        rows = self.sources[member_id(customer).hex]
        for index, row in enumerate(rows):
            if row.source_id == source_id:
                values = {**row.to_json(), "payload": row.payload, **changes}
                rows[index] = SourceRow(
                    key=row.key, kind=row.kind, topic=row.topic, partition=row.partition,
                    offset=row.offset, source_id=row.source_id, customer_id=row.customer_id,
                    member_id=row.member_id, from_version=values["from_version"],
                    to_version=values["to_version"], payload=values["payload"])

    # -- plumbing ---------------------------------------------------------------------------

    def _member(self, customer: str, at: datetime) -> tuple[Member, int]:
        member = self.members.get(customer)
        if member is None:
            member = self.members[customer] = Member(customer_id=customer, timestamp=at)
            return member, 0
        return member, member.version

    def _record(self, member: Member, before: int, kind: str, source_id: str,
                payload: str) -> None:
        oid = member.id.hex
        stored = [self.app.mapper.to_stored_event(e) for e in member.collect_events()]
        previous = {oid: self.links[oid][-1][1]} if self.links[oid] else {}
        for row in chain_rows(stored, previous, "2025-01-01T00:00:00.000000+00:00"):
            self.links[oid].append((row[1], row[2], row[3]))
        self.events[oid].extend((s.originator_version, s.topic, s.state) for s in stored)
        after = member.version
        span = (before + 1, after) if after > before else (None, None)
        self._offset += 1
        self.sources[oid].append(SourceRow(
            key=f"{kind}#{self._offset}", kind=kind, topic="test", partition=0,
            offset=self._offset, source_id=source_id, customer_id=member.customer_id,
            member_id=oid, from_version=span[0], to_version=span[1], payload=payload))
