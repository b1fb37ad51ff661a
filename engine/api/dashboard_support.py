"""What the back-office dashboard reads that no other router serves: the dead letters (paged),
the program in force with its history and catalog, a check of a draft program file, a churn
grade sorted any way with each member's usual categories (also as CSV, for a win-back
campaign), and the lots of a member that expire next.

Like every router but health, these need the X-API-Key header.
"""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from engine.api.deps import AUTH_RESPONSES, Problem, StoreHolder, holder, require_key
from engine.errors import InvalidProgram
from engine.program.load import canonical_content, parse_program
from engine.program.model import Program
from engine.projections.balances import read_balance, read_lots
from engine.projections.churn import ChurnProjection
from engine.projections.churn_fold import recency
from engine.projections.support import engine_time, from_minor, money_text
from engine.store import LoyaltyStore
from engine.store.dead_letters import count_dead_letters
from engine.store.programs import program_book, program_history, show_program

router = APIRouter(tags=["dashboard"], dependencies=[Depends(require_key)])

MAX_PAGE = 500
Grade = Literal["champion", "loyal", "regular", "at_risk"]
SortKey = Literal["customer_id", "recency", "orders", "spend", "gap", "last_order"]
USUAL_CATEGORIES = 3


class DeadLetter(BaseModel):
    topic: str
    partition: int
    offset: int
    reason: str = Field(description="Why the worker refused the message, in words")
    event_id: str | None = None
    customer_id: str | None = None
    payload: str = Field(description="The original message (UTF-8, undecodable bytes replaced)")


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]
    total: int
    limit: int
    offset: int


class Tier(BaseModel):
    name: str
    threshold: int
    multiplier: str
    entry_bonus: int


class Reward(BaseModel):
    name: str = Field(description="What to ask for; `free_product` rewards as `name:SKU`")
    kind: str
    points: int
    value: str | None = None
    sku_points: dict[str, int] = {}


class ProgramVersion(BaseModel):
    version: int
    effective_from: str
    content_hash: str | None = None


class ProgramView(BaseModel):
    version: int = Field(description="The version in force now")
    latest_version: int = Field(description="The latest published (may start later)")
    effective_from: str
    content_hash: str
    currency: str
    tiers: list[Tier]
    rewards: list[Reward]
    settings: dict[str, Any] = Field(description="Every resolved setting of the version")
    text: str = Field(description="The program file as published")
    history: list[ProgramVersion] = Field(description="Every published version, oldest first")


class DraftCheck(BaseModel):
    valid: bool
    errors: list[str] = Field(description="Each problem as `key: reason` (empty when valid)")
    settings: dict[str, Any] | None = None
    changes: list[dict[str, Any]] = Field(
        default=[], description="Settings that differ from the version in force: "
        "`{key, current, draft}` with dotted keys")


class ChurnRow(BaseModel):
    customer_id: str
    grade: Grade
    recency_days: float | None = Field(description="Days since the last order (or the "
                                       "enrolment) at engine time")
    last_order_at: str | None
    orders: int
    spend: str = Field(description="Order totals less refunds, in the program currency")
    gap_days: int = Field(description="Expected days between purchases")
    categories: list[str] = Field(description="Usual categories, most ordered first")
    r_score: int
    f_score: int
    m_score: int
    at_risk_from: str


class ChurnList(BaseModel):
    grade: Grade
    engine_time: str | None
    sort: SortKey
    order: Literal["asc", "desc"]
    total: int
    limit: int
    offset: int
    items: list[ChurnRow]


class Lot(BaseModel):
    lot_id: str
    rule: str | None
    remaining: int = Field(description="Points of the lot not yet spent")
    earned_at: str | None
    expires_at: str


class Expiring(BaseModel):
    customer_id: str
    engine_time: str | None
    lots: list[Lot] = Field(description="Active lots with points left, soonest expiry first")


@router.get(
    "/segments/churn/members",
    response_model=ChurnList,
    responses=AUTH_RESPONSES,
    summary="A churn-risk grade, sorted and paged, with each member's usual categories",
    description="The list a merchant takes into a win-back campaign. `recency` sorts by days "
    "since the last order; ties are broken by customer id.",
)
def get_churn_members(
    store: Annotated[StoreHolder, Depends(holder)],
    grade: Grade = "at_risk",
    sort: SortKey = "recency",
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    now, rows = store.run(lambda s: _churn_rows(s, grade))
    ranked = _sorted(rows, sort, order)
    return {"grade": grade, "engine_time": _iso(now) if now else None, "sort": sort,
            "order": order, "total": len(ranked), "limit": limit, "offset": offset,
            "items": ranked[offset:offset + limit]}


CSV_MAX_ROWS = 100_000
CSV_COLUMNS = ("customer_id", "grade", "recency_days", "last_order_at", "orders", "spend",
               "gap_days", "categories", "r_score", "f_score", "m_score", "at_risk_from")


@router.get(
    "/segments/churn/members.csv",
    responses={**AUTH_RESPONSES, 200: {"content": {"text/csv": {}}}},
    response_class=Response,
    summary="A churn-risk grade as CSV (UTF-8 with a byte-order mark), at most "
            f"{CSV_MAX_ROWS:,} rows per request; X-Total-Count tells how many there are",
)
def get_churn_csv(
    store: Annotated[StoreHolder, Depends(holder)],
    grade: Grade = "at_risk",
    sort: SortKey = "recency",
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=CSV_MAX_ROWS)] = CSV_MAX_ROWS,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    _, rows = store.run(lambda s: _churn_rows(s, grade))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in _sorted(rows, sort, order)[offset:offset + limit]:
        writer.writerow([" ".join(row[c]) if c == "categories" else row[c] for c in CSV_COLUMNS])
    return Response(content="\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="churn-{grade}.csv"',
                             "X-Total-Count": str(len(rows))})


@router.get(
    "/members/{customer_id}/expiring",
    response_model=Expiring,
    responses={**AUTH_RESPONSES, 404: {"model": Problem}},
    summary="A member's points lots that expire next, with their dates",
)
def get_expiring(
    customer_id: str,
    store: Annotated[StoreHolder, Depends(holder)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 10,
) -> Any:
    def read(s: LoyaltyStore) -> dict[str, Any] | None:
        if read_balance(s, customer_id) is None:
            return None
        lots = [lot for lot in read_lots(s, customer_id)
                if lot["status"] == "active" and lot["remaining"] > 0 and lot["expires_at"]]
        return {"customer_id": customer_id,
                "engine_time": _iso(engine_time(s, "balances")) if engine_time(s, "balances")
                else None,
                "lots": [{k: lot[k] for k in ("lot_id", "rule", "remaining", "earned_at",
                                               "expires_at")} for lot in lots[:limit]]}

    found = store.run(read)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no member with customer id {customer_id!r}")
    return found


def _churn_rows(store: LoyaltyStore, grade: str) -> tuple[datetime | None, list[dict[str, Any]]]:
    now = engine_time(store, ChurnProjection.name)
    rows = store.sql.query(
        "SELECT customer_id, grade, r_score, f_score, m_score, orders, spend_minor, gap_days, "
        "last_order_at, at_risk_from, stats_json FROM churn WHERE grade = ? "
        "ORDER BY customer_id", (grade,))
    found = []
    for row in rows:
        stats = orjson.loads(row["stats_json"])
        counts: dict[str, int] = stats.get("categories") or {}
        usual = sorted(counts, key=lambda c: (-counts[c], c))[:USUAL_CATEGORIES]
        found.append({
            "customer_id": row["customer_id"], "grade": row["grade"],
            "recency_days": recency(stats, now)["recency_days"] if now is not None else None,
            "last_order_at": row["last_order_at"], "orders": int(row["orders"]),
            "spend": money_text(from_minor(int(row["spend_minor"]))),
            "spend_minor": int(row["spend_minor"]), "gap_days": int(row["gap_days"]),
            "categories": usual, "r_score": int(row["r_score"]), "f_score": int(row["f_score"]),
            "m_score": int(row["m_score"]), "at_risk_from": row["at_risk_from"],
        })
    return now, found


SORT_KEYS: dict[str, Any] = {
    "customer_id": lambda r: r["customer_id"],
    "recency": lambda r: r["recency_days"] or 0.0,
    "orders": lambda r: r["orders"],
    "spend": lambda r: r["spend_minor"],
    "gap": lambda r: r["gap_days"],
    "last_order": lambda r: r["last_order_at"] or "",
}


def _sorted(rows: list[dict[str, Any]], sort: str, order: str) -> list[dict[str, Any]]:
    """Rows by the sort key, ties by customer id (ascending either way)."""
    by_id = sorted(rows, key=SORT_KEYS["customer_id"])
    if sort == "customer_id":
        return by_id[::-1] if order == "desc" else by_id
    return sorted(by_id, key=SORT_KEYS[sort], reverse=order == "desc")  # stable: ties by id


@router.get(
    "/dead-letters",
    response_model=DeadLetterPage,
    responses=AUTH_RESPONSES,
    summary="Messages the worker refused, and why (paged)",
)
def get_dead_letters(
    store: Annotated[StoreHolder, Depends(holder)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    def read(s: LoyaltyStore) -> dict[str, Any]:
        rows = s.sql.query(
            "SELECT topic, kafka_partition, kafka_offset, reason, payload, event_id, customer_id "
            "FROM dead_letters ORDER BY topic, kafka_partition, kafka_offset LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return {"items": [_dead_letter(r) for r in rows], "total": count_dead_letters(s),
                "limit": limit, "offset": offset}

    return store.run(read)


@router.get(
    "/program",
    response_model=ProgramView,
    responses=AUTH_RESPONSES,
    summary="The program version in force, its catalog and the version history",
)
def get_program(store: Annotated[StoreHolder, Depends(holder)]) -> Any:
    now = datetime.now(timezone.utc)  # the request's time, read at the edge

    def read(s: LoyaltyStore) -> tuple[Program, str, list[dict[str, Any]]]:
        version = program_book(s).in_force_at(now).version
        return (*show_program(s, version), program_history(s))

    program, text, history = store.run(read)
    return {
        "version": program.version,
        "latest_version": max(int(str(h["version"])) for h in history),
        "effective_from": _iso(program.effective_from),
        "content_hash": program.content_hash,
        "currency": program.currency,
        "tiers": [{"name": t.name, "threshold": t.threshold, "multiplier": str(t.multiplier),
                   "entry_bonus": t.entry_bonus} for t in program.tiers],
        "rewards": [{"name": name, "kind": r.kind, "points": r.points,
                     "value": None if r.value is None else str(r.value),
                     "sku_points": dict(r.sku_points)} for name, r in program.rewards.items()],
        "settings": canonical_content(program),
        "text": text,
        "history": [{**h, "effective_from": _iso(h["effective_from"])} for h in history],
    }


@router.post(
    "/program/drafts/check",
    response_model=DraftCheck,
    responses={**AUTH_RESPONSES, 413: {"model": Problem}},
    summary="Validate a draft program file and list what it would change",
    description="Send the TOML text as the request body (`text/plain`). Nothing is recorded.",
)
def check_draft(
    store: Annotated[StoreHolder, Depends(holder)],
    text: Annotated[str, Body(media_type="text/plain", max_length=200_000)],
) -> Any:
    try:
        draft = parse_program(text)
    except InvalidProgram as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        if len(lines) > 1 and lines[0].endswith(":"):
            lines = lines[1:]
        return {"valid": False, "errors": lines, "settings": None, "changes": []}
    current: Program = store.run(lambda s: show_program(s, None)[0])
    before, after = canonical_content(current), canonical_content(draft)
    return {"valid": True, "errors": [], "settings": after,
            "changes": [{"key": k, "current": a, "draft": b}
                        for k, a, b in _differences(before, after)]}


def _differences(before: Any, after: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[tuple[str, Any, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            name = f"{prefix}.{key}" if prefix else str(key)
            found += _differences(before.get(key), after.get(key), name)
        return found
    return [] if before == after else [(prefix, before, after)]


def _dead_letter(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "topic": row["topic"],
        "partition": row["kafka_partition"],
        "offset": row["kafka_offset"],
        "reason": row["reason"],
        "event_id": row["event_id"],
        "customer_id": row["customer_id"],
        "payload": base64.b64decode(row["payload"]).decode("utf-8", errors="replace"),
    }


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)

