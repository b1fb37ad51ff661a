"""The tier read model: each member's current tier (``tier_members``) and the monthly tier
flows (``tier_flows``, folded by ``tier_fold``). Announces every tier change on
``loyalty.member-events``."""

from __future__ import annotations

from typing import Any

from engine.program.model import Program
from engine.projections import member_events
from engine.projections.balance_fold import LOWEST_TIER
from engine.projections.records import Record
from engine.projections.support import (
    advance_engine_time,
    drop_meta,
    execute_many,
    select_in,
)
from engine.projections.tier_fold import Flows, fold_flows, members_over_time
from engine.store.app import LoyaltyStore

UPSERT_MEMBER = (
    "INSERT INTO tier_members (member_id, customer_id, tier, since) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (member_id) DO UPDATE SET tier = excluded.tier, since = excluded.since"
)
ADD_FLOWS = (
    "INSERT INTO tier_flows (month, tier, entered, exited, upgrades, downgrades) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (month, tier) DO UPDATE SET "
    "entered = tier_flows.entered + excluded.entered, "
    "exited = tier_flows.exited + excluded.exited, "
    "upgrades = tier_flows.upgrades + excluded.upgrades, "
    "downgrades = tier_flows.downgrades + excluded.downgrades"
)


class TierProjection:
    name = "tiers"

    def apply_page(self, store: LoyaltyStore, cursor: Any, events: list[Record]) -> None:
        page = [e for e in events if e.member and e.name in ("Enrolled", "TierChanged")]
        changed = {e.key for e in page if e.name == "TierChanged"}
        members = {r["member_id"]: dict(r) for r in select_in(
            store, cursor, "SELECT * FROM tier_members WHERE member_id IN ({keys})", changed)}
        flows: Flows = {}
        notices = []
        for event in page:
            kind, key, fields = event.name, event.key, event.fields
            fold_flows(flows, kind, event.timestamp, fields)
            if kind == "Enrolled":
                members[key] = {"member_id": key, "customer_id": fields["customer_id"],
                                "tier": LOWEST_TIER, "since": event.at}
                continue
            member = members[key]
            member["tier"], member["since"] = fields["to_tier"], event.at
            notices.append(member_events.tier_changed(
                member["customer_id"], event.version, event.timestamp, fields))
        execute_many(store, cursor, UPSERT_MEMBER, [
            (m["member_id"], m["customer_id"], m["tier"], m["since"])
            for _, m in sorted(members.items())])
        execute_many(store, cursor, ADD_FLOWS, [
            (month, tier, *cell) for (month, tier), cell in sorted(flows.items())])
        advance_engine_time(store, cursor, self.name, events)
        member_events.write(store, cursor, notices)

    def reset(self, store: LoyaltyStore, cursor: Any) -> None:
        store.sql.execute(cursor, "DELETE FROM tier_members")
        store.sql.execute(cursor, "DELETE FROM tier_flows")
        drop_meta(store, cursor, self.name)


def tier_order(names: list[str], program: Program) -> list[str]:
    """The program's tiers lowest first, then any other names seen (renamed tiers)."""
    known = [t.name for t in program.tiers]
    return known + sorted(set(names) - set(known))


def tier_mix(store: LoyaltyStore, program: Program) -> list[dict[str, Any]]:
    """Members per tier now, in the program's order (tiers nobody is in count 0)."""
    counts = {r["tier"]: int(r["n"]) for r in store.sql.query(
        "SELECT tier, COUNT(*) AS n FROM tier_members GROUP BY tier")}
    total = sum(counts.values())
    return [{"tier": name, "members": counts.get(name, 0),
             "share": round(counts.get(name, 0) / total, 4) if total else 0.0}
            for name in tier_order(list(counts), program)]


def tier_history(store: LoyaltyStore) -> list[dict[str, Any]]:
    """Per month: members of each tier at the month's end, upgrades and downgrades."""
    rows = store.sql.query(
        "SELECT month, tier, entered, exited, upgrades, downgrades FROM tier_flows")
    return members_over_time([{k: (int(v) if k not in ("month", "tier") else v)
                               for k, v in r.items()} for r in rows])
