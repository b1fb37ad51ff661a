"""Redemptions: spend a member's active points on a catalog reward, idempotent by request id."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from engine.api.deps import AUTH_RESPONSES, Problem, StoreHolder, holder, require_key
from engine.backoffice import redeem
from engine.errors import RedemptionRefused, UnknownMember
from engine.projections.registry import catch_up_all
from engine.store import LoyaltyStore

router = APIRouter(prefix="/members", tags=["redemptions"], dependencies=[Depends(require_key)])


class RedemptionRequest(BaseModel):
    reward: str = Field(min_length=1, max_length=200,
                        description="A catalog reward, e.g. `ten-percent-off` or "
                        "`free-product:SKU`", examples=["ten-percent-off"])
    request_id: str = Field(min_length=1, max_length=128,
                            description="Idempotency key: the same id returns the same result "
                            "and spends once", examples=["pos-7731-0001"])


class RedemptionResult(BaseModel):
    customer_id: str
    reward: str
    points: int = Field(description="Points taken from the member's active lots")
    coupon: str = Field(description="The coupon code to give the customer")
    request_id: str
    at: str


def _redeem_and_project(store: LoyaltyStore, customer_id: str, body: RedemptionRequest,
                        at: datetime) -> Any:
    """Redeem, then bring the read models up to date so the next read shows the new balance."""
    result = redeem(store, customer_id, body.reward, body.request_id, at)
    catch_up_all(store)
    return result


@router.post(
    "/{customer_id}/redemptions",
    response_model=RedemptionResult,
    status_code=201,
    responses={**AUTH_RESPONSES, 404: {"model": Problem}, 409: {"model": Problem}},
    summary="Redeem points for a reward",
    description="Takes points from the active lots that expire soonest and returns a coupon "
    "code. The same `request_id` returns the same result without spending twice. A short "
    "balance is refused (409) with the available amount in the message.",
)
def create_redemption(customer_id: str, body: RedemptionRequest,
                      store: Annotated[StoreHolder, Depends(holder)]) -> Any:
    at = datetime.now(timezone.utc)  # the request's time, read at the edge
    try:
        result = store.run(lambda s: _redeem_and_project(s, customer_id, body, at))
    except UnknownMember:
        raise HTTPException(status_code=404,
                            detail=f"no member with customer id {customer_id!r}") from None
    except RedemptionRefused as exc:
        raise HTTPException(status_code=409, detail=exc.reason) from None
    return {"customer_id": result.customer_id, "reward": result.reward,
            "points": result.points, "coupon": result.coupon, "request_id": result.request_id,
            "at": result.at.isoformat() if hasattr(result.at, "isoformat") else str(result.at)}
