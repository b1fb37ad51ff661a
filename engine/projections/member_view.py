"""A member as the back office reads it: the balance view (now, or as of any past time) and the
member's event history, page by page.

"Now" is engine time (the latest event time the balance projection has folded) unless the
caller names a time; the wall clock is never read here. The view as of ``T`` folds the member's
stored events stamped at or before ``T`` with the same pure folds as the projection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from engine.aggregates.member import member_id
from engine.program.model import EPOCH, Program
from engine.projections.balance_fold import fold
from engine.projections.balances import read_balance, read_lots
from engine.projections.lots_fold import expiring_within, fold_lots, lots_touched
from engine.projections.runner import META_FIELDS
from engine.projections.support import engine_time, ts
from engine.rules.expiry import EXPIRING_SOON_DAYS
from engine.rules.tiers import next_tier
from engine.store.app import LoyaltyStore
from engine.store.programs import program_book


def compose_view(row: Mapping[str, Any], lots: Iterable[Mapping[str, Any]], at: datetime,
                 program: Program) -> dict[str, Any]:
    """The balance view from a balance row and the member's lots, judged at ``at``: points
    expiring within 30 days (and the soonest date) and the next tier under ``program``."""
    points, soonest = expiring_within(lots, at, EXPIRING_SOON_DAYS)
    upcoming, to_next = next_tier(row["tier"], row["qualifying_points"], program)
    view = {k: _json(v) for k, v in row.items()}
    view["last_activity"] = ts(row["last_activity"])
    view.update({
        "expiring_30d": {"points": points, "date": soonest},
        "next_tier": upcoming, "points_to_next_tier": to_next, "as_of": ts(at),
    })
    return view


def balance_view(store: LoyaltyStore, customer_id: str,
                 now: datetime | None = None) -> dict[str, Any] | None:
    """The member's current balance view from the projection (None for an unknown member),
    judged at ``now`` or, by default, at engine time."""
    row = read_balance(store, customer_id)
    if row is None:
        return None
    at = now or engine_time(store, "balances") or EPOCH
    return compose_view(row, read_lots(store, customer_id), at,
                        program_book(store).in_force_at(at))


def balance_as_of(store: LoyaltyStore, customer_id: str,
                  at: datetime) -> dict[str, Any] | None:
    """The balance view as it was at ``at``, folded from the member's stored events stamped at
    or before it (None when the member had no event by then)."""
    row: dict[str, Any] | None = None
    lots: dict[str, dict[str, Any]] = {}
    for event in member_events(store, customer_id):
        if event.timestamp > at:
            continue
        kind, fields = type(event).__name__, event.__dict__
        row = fold(row, kind, event.timestamp, fields)
        # An event can name a lot made by a later-stamped one (a back-dated command);
        # such a lot did not exist yet at ``at``.
        if all(lot_id in lots for lot_id in lots_touched(kind, fields)):
            fold_lots(lots, kind, event.timestamp, fields)
    if row is None:
        return None
    return compose_view(row, lots.values(), at, program_book(store).in_force_at(at))


def member_events(store: LoyaltyStore, customer_id: str, after: int = 0,
                  limit: int | None = None) -> list[Any]:
    """The member's stored events after version ``after``, oldest first, decoded."""
    stored = store.app.recorder.select_events(member_id(customer_id), gt=after or None,
                                              limit=limit)
    return [store.app.mapper.to_domain_event(s) for s in stored]


def member_history(store: LoyaltyStore, customer_id: str, after: int = 0,
                   limit: int = 100) -> dict[str, Any] | None:
    """One page of the member's history: events after version ``after``, at most ``limit``;
    ``next`` is the ``after`` of the following page (None on the last). None for an unknown
    member."""
    events = member_events(store, customer_id, after, limit + 1)
    if not events and (after == 0 or not member_events(store, customer_id, 0, 1)):
        return None
    page = events[:limit]
    return {
        "customer_id": customer_id,
        "items": [{"version": e.originator_version, "type": type(e).__name__,
                   "at": ts(e.timestamp),
                   "data": {k: _json(v) for k, v in e.__dict__.items()
                            if k not in META_FIELDS}} for e in page],
        "next": page[-1].originator_version if len(events) > limit else None,
    }


def _json(value: Any) -> Any:
    return ts(value) if isinstance(value, datetime) else value
