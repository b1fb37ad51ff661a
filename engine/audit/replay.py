"""Apply a stored source (fact, command, redemption, sweep, settle) to a member as the engine
did.

Verification and simulation share this step. Payloads are not re-validated against the
schemas: they were validated when accepted, and a source the engine could not have accepted
shows up as a replay that refuses or disagrees with the stored events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from engine.aggregates.commands import Command
from engine.aggregates.member import Member
from engine.audit.reads import SourceRow
from engine.contract import Fact
from engine.errors import InvalidFact
from engine.program.model import ProgramBook

KINDS = ("fact", "command", "redemption", "sweep", "settle")


class BadSource(InvalidFact):
    """A stored source that cannot be read back (unknown kind, broken payload)."""


def parse_fact(payload: str | bytes) -> Fact:
    """The fact of a stored payload, built as ``engine.contract.decode`` builds it."""
    try:
        obj = orjson.loads(payload)
        occurred_at = datetime.fromisoformat(obj["occurred_at"].upper()).astimezone(UTC)
        return Fact(event_id=obj["event_id"], type=obj["type"], occurred_at=occurred_at,
                    customer_id=obj["customer_id"], data=obj["data"])
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise BadSource(f"stored fact cannot be read: {exc}") from None


def parse(row: SourceRow) -> tuple[datetime, Any]:
    """(engine time of the source, its parsed form) for any kind."""
    kind = row.kind
    if kind == "fact":
        fact = parse_fact(row.payload)
        return fact.occurred_at, fact
    if kind == "command":
        command = Command.from_json(row.payload)
        return command.occurred_at, command
    try:
        body = orjson.loads(row.payload)
        if kind == "redemption":
            at = datetime.fromisoformat(body["at"])
            return at, (str(body["request_id"]), str(body["reward"]), at)
        if kind == "sweep":
            return datetime.fromisoformat(body["now"]), None
        if kind == "settle":
            until = datetime.fromisoformat(body["until"])
            before = body["before"]
            return until, None if before is None else datetime.fromisoformat(before)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise BadSource(f"stored {kind} cannot be read: {exc}") from None
    raise BadSource(f"unknown source kind {kind!r} (known: {', '.join(KINDS)})")


def apply_source(member: Member | None, row: SourceRow, programs: ProgramBook,
                 parsed: tuple[datetime, Any] | None = None) -> tuple[Member, list[Command]]:
    """Apply ``row`` to ``member`` (enrolling the member when it is None, as the worker does for
    a first fact or command); returns the member and the commands for other members. Raises
    the engine's errors (RejectedFact, RedemptionRefused, BadSource) like the live path; events
    already triggered stay pending on the member."""
    at, body = parsed if parsed is not None else parse(row)
    kind = row.kind
    if member is None:
        if kind not in ("fact", "command"):
            raise BadSource(f"a {kind} cannot enrol member {row.customer_id!r}")
        member = Member(customer_id=row.customer_id, timestamp=at)
    if kind == "fact":
        return member, member.apply_fact(body, programs)
    if kind == "command":
        return member, member.apply_command(body, programs)
    if kind == "redemption":
        request_id, reward, when = body
        return member, list(member.redeem(request_id, reward, when, programs).commands)
    if kind == "settle":
        return member, member.settle_referrals(at, body, programs)
    return member, member.advance(at, programs)
