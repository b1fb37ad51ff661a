"""Member endpoints: the balance view (now or as of a past time) and the member's history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from engine.api.deps import AUTH_RESPONSES, Problem, StoreHolder, holder, require_key
from engine.api.params import MAX_PAGE, parse_time
from engine.projections.member_view import balance_as_of, balance_view, member_history

router = APIRouter(prefix="/members", tags=["members"], dependencies=[Depends(require_key)])


class Expiring(BaseModel):
    points: int = Field(description="Active points that expire within 30 days of `as_of`")
    date: str | None = Field(None, description="The soonest of those expiry times (UTC)")


class Balance(BaseModel):
    """A member's balance view. Ledger: lifetime_earned - redeemed - reversed - expired =
    available + pending."""

    customer_id: str
    available: int = Field(description="Active points that can be redeemed now")
    pending: int = Field(description="Points still inside the return window")
    lifetime_earned: int
    redeemed: int = 0
    reversed: int = 0
    expired: int = 0
    shortfall: int = Field(0, description="Points a refund could not claw back")
    tier: str
    qualifying_points: int = Field(0, description="Points that count towards the tier")
    next_tier: str | None = Field(None, description="The next tier up (None at the top)")
    points_to_next_tier: int | None = None
    expiring_30d: Expiring | None = None
    last_activity: str | None = Field(None, description="Latest storefront fact (UTC)")
    as_of: str | None = Field(None, description="The time the view is judged at: `as_of`, "
                              "else the engine time (the latest event time folded)")

    model_config = {"extra": "allow"}


class HistoryItem(BaseModel):
    version: int = Field(description="The member's event number, from 1")
    type: str = Field(description="The event, e.g. PointsEarned (see docs/architecture.md)")
    at: str = Field(description="Engine time of the event (UTC)")
    data: dict[str, Any]


class History(BaseModel):
    customer_id: str
    items: list[HistoryItem]
    next: int | None = Field(description="Pass as `after` for the next page; null on the last")


NOT_FOUND = {**AUTH_RESPONSES, 400: {"model": Problem}, 404: {"model": Problem}}


@router.get(
    "/{customer_id}",
    response_model=Balance,
    responses=NOT_FOUND,
    summary="A member's balance view, now or as of a past time",
    description="Without `as_of`: the balance projection, judged at engine time. With `as_of`: "
    "the member's stored events stamped at or before that time folded into the same view "
    "(404 when the member had no event by then).",
)
async def get_member(
    customer_id: str,
    store: Annotated[StoreHolder, Depends(holder)],
    as_of: Annotated[str | None, Query(
        description="RFC 3339 time (encode `+` as `%2B`) or a date (midnight UTC)",
        examples=["2025-06-30T12:00:00Z"])] = None,
) -> Any:
    # The hot path: the projection's rows, read without leaving the event loop when the
    # store allows it. A past view folds the member's whole history: a worker thread's job.
    if as_of is None:
        row = await store.read(lambda s: balance_view(s, customer_id))
    else:
        at = parse_time(as_of, "as_of")
        row = await run_in_threadpool(store.run, lambda s: balance_as_of(s, customer_id, at))
    if row is None:
        when = f" at {as_of}" if as_of else ""
        raise HTTPException(status_code=404,
                            detail=f"no member with customer id {customer_id!r}{when}")
    return row


@router.get(
    "/{customer_id}/history",
    response_model=History,
    responses=NOT_FOUND,
    summary="A member's events, oldest first, page by page",
)
def get_history(
    customer_id: str,
    store: Annotated[StoreHolder, Depends(holder)],
    after: Annotated[int, Query(ge=0, description="Events after this version (0: from "
                                "the start)")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Events per page")] = 100,
) -> Any:
    page = store.run(lambda s: member_history(s, customer_id, after, limit))
    if page is None:
        raise HTTPException(status_code=404,
                            detail=f"no member with customer id {customer_id!r}")
    return page
