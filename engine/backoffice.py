"""Back-office commands on members outside the stream: redemptions and sweeps.

Both load the member fresh from the store (the worker may hold it in memory), change it, and
save its events with a ``source_facts`` row (so auditors can replay them) and any outgoing
commands, in one transaction; a concurrent write by the worker is detected by the store's
version check and the whole step is retried on the fresh member.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import IntegrityError

from engine.aggregates.commands import Command
from engine.aggregates.member import Member, Redemption
from engine.contract import COMMANDS_TOPIC
from engine.errors import LoyaltyError, UnknownMember
from engine.store.app import LoyaltyStore
from engine.store.programs import program_book
from engine.service import backoff
from engine.settlement import mark_all_swept
from engine.store.recorders import SideWrites

RETRIES = 50
BACKOFFICE_TOPIC = "backoffice"


class ConflictPersisted(LoyaltyError):
    """The member kept changing under a back-office command; nothing was written."""


@dataclass
class SweepReport:
    members: int = 0
    changed: int = 0
    events: int = 0


def _side(member: Member, kind: str, source_id: str, payload: dict[str, Any], before: int,
          commands: Iterable[Command]) -> SideWrites:
    side = SideWrites()
    side.source_facts.append((
        f"{kind}:{member.id.hex}:{source_id}:{before + 1}", kind, BACKOFFICE_TOPIC, 0, 0,
        source_id,
        member.customer_id, member.id.hex, before + 1, member.version,
        orjson.dumps(payload).decode(),
    ))
    for command in commands:
        side.outbox.append((command.command_id, COMMANDS_TOPIC, command.customer_id,
                            command.to_json().decode()))
    return side


def redeem(store: LoyaltyStore, customer_id: str, reward: str, request_id: str,
           at: datetime) -> Redemption:
    """Redeem ``reward`` for the member; the same ``request_id`` returns the same result and
    spends once. Raises RedemptionRefused (short balance, unknown reward) or UnknownMember."""
    for attempt in range(RETRIES):
        if attempt:
            backoff(attempt)
        member = store.get_member(customer_id)
        if member is None:
            raise UnknownMember(f"no member with customer id {customer_id!r}")
        before = member.version
        result = member.redeem(request_id, reward, at, program_book(store))
        if member.version == before:
            return result  # the same request again: nothing to write
        payload = {"request_id": request_id, "reward": reward, "at": at.isoformat()}
        try:
            store.save([member], _side(member, "redemption", request_id, payload, before,
                                       result.commands))
        except IntegrityError:
            continue
        return result
    raise ConflictPersisted(f"member {customer_id!r} kept changing; the redemption was not "
                            "made, try again")


def sweep_member(store: LoyaltyStore, customer_id: str, now: datetime) -> int:
    """Bring one member's activations, expiries and tier reviews up to ``now``; returns how
    many events that wrote (0 when nothing was due)."""
    programs = program_book(store)
    for attempt in range(RETRIES):
        if attempt:
            backoff(attempt)
        member = store.get_member(customer_id)
        if member is None:
            return 0
        before = member.version
        commands = member.advance(now, programs)
        if member.version == before:
            return 0
        payload = {"now": now.isoformat()}
        try:
            store.save([member], _side(member, "sweep", now.isoformat(), payload, before,
                                       commands))
        except IntegrityError:
            continue
        return member.version - before
    raise ConflictPersisted(f"member {customer_id!r} kept changing during the sweep")


def member_ids(store: LoyaltyStore) -> list[str]:
    rows = store.sql.query("SELECT DISTINCT customer_id FROM source_facts ORDER BY customer_id")
    return [r["customer_id"] for r in rows]


def sweep(store: LoyaltyStore, now: datetime,
          progress: Callable[[int], None] | None = None) -> SweepReport:
    """Sweep every member up to ``now``; running it twice changes nothing the second time."""
    report = SweepReport()
    for customer_id in member_ids(store):
        written = sweep_member(store, customer_id, now)
        report.members += 1
        report.changed += bool(written)
        report.events += written
        if progress is not None:
            progress(1)
    mark_all_swept(store, now)
    return report
