"""Member endpoints: the balance view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from engine.api.deps import AUTH_RESPONSES, Problem, StoreHolder, holder, require_key
from engine.projections.balances import read_balance

router = APIRouter(prefix="/members", tags=["members"], dependencies=[Depends(require_key)])


class Balance(BaseModel):
    """A member's balance view, as the balance projection holds it."""

    customer_id: str
    available: int = Field(description="Active points that can be redeemed now")
    pending: int = Field(description="Points still inside the return window")
    lifetime_earned: int
    redeemed: int = 0
    reversed: int = 0
    expired: int = 0
    tier: str
    qualifying_points: int = 0
    last_activity: str | None = None

    model_config = {"extra": "allow"}


@router.get(
    "/{customer_id}",
    response_model=Balance,
    responses={**AUTH_RESPONSES, 404: {"model": Problem}},
    summary="A member's balance view",
)
def get_member(customer_id: str, store: Annotated[StoreHolder, Depends(holder)]) -> Any:
    row = store.run(lambda s: read_balance(s, customer_id))
    if row is None:
        raise HTTPException(status_code=404, detail=f"no member with customer id {customer_id!r}")
    return row
