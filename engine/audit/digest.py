"""The per-day digest that pins the whole ledger at the end of a day.

``digest(D) = sha256`` over the lines ``"<originator> <version> <hash>\\n"``, one per
originator, of the last chain link recorded before midnight UTC ending day D, sorted by
originator id (lowercase hex). Links carry the time they were written (``recorded_at``), so the
digest of a past day never changes while the ledger only grows: publish it (a ticket, an
e-mail to the auditor) and any later rewrite of a day's events, even with a recomputed chain,
gives another value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.audit.chain import day_end, digest_of_heads
from engine.audit.reads import Snapshot
from engine.store.app import LoyaltyStore


@dataclass(frozen=True, slots=True)
class DayDigest:
    day: date
    cutoff: str  # links recorded strictly before this (UTC) count
    digest: str
    originators: int
    events: int  # the versions the digest covers, all originators together

    def to_json(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "cutoff": self.cutoff, "digest": self.digest,
                "originators": self.originators, "events": self.events,
                "definition": "sha256 of sorted lines '<originator> <version> <hash>\\n' of "
                              "each originator's last chain link recorded before the cutoff"}


def day_digest(store: LoyaltyStore, day: date) -> DayDigest:
    cutoff = day_end(day)
    with Snapshot(store) as snapshot:
        heads = snapshot.heads_before(cutoff)
    return DayDigest(day=day, cutoff=cutoff, digest=digest_of_heads(heads),
                     originators=len(heads), events=sum(version for _, version, _ in heads))
