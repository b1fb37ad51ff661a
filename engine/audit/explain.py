"""One member's awards as an auditor reads them: each with its rule, program version, the
stored source that produced it and the value a replay of the sources recomputes."""

from __future__ import annotations

from typing import Any

import orjson

from engine.aggregates.member import member_id
from engine.audit.codec import Codec
from engine.audit.member_check import MemberCheck
from engine.audit.reads import Snapshot, SourceRow
from engine.store.app import LoyaltyStore

AWARD_FIELDS = ("lot_id", "rule", "program_version", "points", "status", "source_event_id",
                "order_id", "qualifying")


def member_awards(store: LoyaltyStore, customer_id: str) -> dict[str, Any] | None:
    """The member's awards (``PointsEarned`` events, oldest first) explained; None when the
    store knows no such member."""
    oid = member_id(customer_id).hex
    codec = Codec(store.app.mapper)
    with Snapshot(store) as snapshot:
        programs = snapshot.programs()
        page = snapshot.page([oid])
    events, sources = page.events.get(oid, []), page.sources.get(oid, [])
    if not events and not sources:
        return None
    result = MemberCheck(oid, events, page.links.get(oid, []), sources, programs, codec,
                         keep=True).run()
    awards = []
    for version, topic, state in events:
        name, fields = codec.describe_stored(oid, version, topic, state)
        if name != "PointsEarned":
            continue
        kept = result.recomputed.get(version)
        recomputed = None
        if kept is not None and type(kept[0]).__name__ == "PointsEarned":
            recomputed = {k: v for k, v in codec.fields(kept[0]).items() if k in AWARD_FIELDS}
        stored = {k: fields.get(k) for k in AWARD_FIELDS}
        source = _source_of(version, sources)
        awards.append({
            "version": version, "at": fields.get("timestamp"), **stored,
            "source": _describe(source) if source is not None else None,
            "recomputed": recomputed,
            "matches": recomputed is not None and recomputed == stored,
        })
    broken = result.broken_link
    return {
        "customer_id": customer_id, "member_id": oid, "events": result.events,
        "verified": result.mismatch_count == 0 and broken is None,
        "mismatch_count": result.mismatch_count,
        "broken_link": None if broken is None else {
            "version": broken.version, "problem": broken.problem, "detail": broken.detail},
        "awards": awards,
    }


def _source_of(version: int, sources: list[SourceRow]) -> SourceRow | None:
    for row in sources:
        if row.from_version is not None and row.to_version is not None \
                and row.from_version <= version <= row.to_version:
            return row
    return None


def _describe(row: SourceRow) -> dict[str, Any]:
    try:
        payload = orjson.loads(row.payload)
    except orjson.JSONDecodeError:
        payload = row.payload
    return {**row.to_json(), "payload": payload}
