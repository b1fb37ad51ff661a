"""The Member aggregate (skeleton: enrolment, spend points, activation)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from engine.contract import Fact
from engine.program.model import Program, ProgramBook
from engine.rules.spend import spend_points

MEMBER_NAMESPACE = uuid5(NAMESPACE_URL, "loyalty-engine:member")


def member_id(customer_id: str) -> UUID:
    return uuid5(MEMBER_NAMESPACE, customer_id)


class Member(Aggregate):
    """A loyalty member. Public methods decide; decorated methods only assign state."""

    @staticmethod
    def create_id(customer_id: str) -> UUID:  # type: ignore[override]
        return member_id(customer_id)

    @event("Enrolled")
    def __init__(self, customer_id: str, timestamp: datetime) -> None:
        self.customer_id = customer_id
        self.seen: set[str] = set()
        self.lots: dict[str, dict[str, Any]] = {}
        self.tier = "bronze"

    # -- commands -------------------------------------------------------------------------

    def apply_fact(self, fact: Fact, programs: ProgramBook) -> list[Any]:
        """Apply one fact once (idempotent by event_id); returns outgoing commands."""
        if fact.event_id in self.seen:
            return []
        self.advance(fact.occurred_at, programs)
        program = programs.in_force_at(fact.occurred_at)
        if fact.type == "order.placed":
            points = spend_points(fact.data, program)
            activates = fact.occurred_at + timedelta(days=program.pending_days)
            self._points_earned(
                lot_id=f"{fact.event_id}:spend",
                points=points,
                rule="spend",
                program_version=program.version,
                source_event_id=fact.event_id,
                status="pending",
                activates_at=activates.isoformat(),
                expires_at=None,
                order_id=fact.data["order_id"],
                qualifying=points,
                timestamp=fact.occurred_at,
            )
        else:
            self._fact_recorded(
                source_event_id=fact.event_id, fact_type=fact.type, outcome="recorded",
                timestamp=fact.occurred_at,
            )
        return []

    def advance(self, now: datetime, programs: ProgramBook) -> list[Any]:
        """Emit activations due up to engine time ``now``."""
        for lot in list(self.lots.values()):
            if lot["status"] == "pending" and datetime.fromisoformat(lot["activates_at"]) <= now:
                self._points_activated(
                    lot_id=lot["lot_id"], points=lot["remaining"],
                    timestamp=datetime.fromisoformat(lot["activates_at"]),
                )
        return []

    # -- events ---------------------------------------------------------------------------

    @event("PointsEarned")
    def _points_earned(
        self, lot_id: str, points: int, rule: str, program_version: int, source_event_id: str,
        status: str, activates_at: str | None, expires_at: str | None, order_id: str | None,
        qualifying: int, timestamp: datetime,
    ) -> None:
        self.seen.add(source_event_id)
        self.lots[lot_id] = {
            "lot_id": lot_id, "points": points, "remaining": points, "status": status,
            "activates_at": activates_at, "expires_at": expires_at, "order_id": order_id,
        }

    @event("PointsActivated")
    def _points_activated(self, lot_id: str, points: int, timestamp: datetime) -> None:
        self.lots[lot_id]["status"] = "active"

    @event("FactRecorded")
    def _fact_recorded(
        self, source_event_id: str, fact_type: str, outcome: str, timestamp: datetime
    ) -> None:
        self.seen.add(source_event_id)
