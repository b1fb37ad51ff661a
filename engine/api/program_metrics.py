"""Program metrics over a period, overall and per month."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from engine.api.deps import AUTH_RESPONSES, Problem, StoreHolder, holder, require_key
from engine.api.params import check_month
from engine.projections.metrics import program_metrics
from engine.store.programs import program_book

router = APIRouter(tags=["metrics"], dependencies=[Depends(require_key)])


class Figures(BaseModel):
    """The README's "Program metrics" section defines every figure. Money is a decimal
    string; rates are fractions 0..1; null where the figure has no denominator."""

    orders: int
    revenue: str
    average_order_value: str | None
    buyers: int
    purchase_frequency: float | None = Field(description="Orders per buyer")
    repeat_purchase_rate: float | None = Field(description="Returning buyers / buyers")
    redemption_rate: float | None = Field(description="Points redeemed / points issued")
    points_issued: int
    points_redeemed: int
    points_reversed: int
    points_expired: int
    liability_points: int = Field(description="Points members hold at the end of the period")
    liability_money: str | None = Field(description="liability_points x point_value")
    nps: float | None = Field(description="(promoters - detractors) / responses x 100")
    survey_responses: int
    active_members: int
    new_members: int
    reviews_per_active_member: float | None
    shares_per_active_member: float | None

    model_config = {"extra": "allow"}


class Month(Figures):
    month: str


class Metrics(BaseModel):
    from_: str = Field(alias="from", description="First month (UTC calendar months)")
    to: str
    currency: str
    point_value: str | None = Field(description="Money per point, by the catalog's cheapest "
                                    "reward with a fixed value")
    overall: Figures
    months: list[Month] | None = None

    model_config = {"populate_by_name": True}


@router.get(
    "/metrics",
    response_model=Metrics,
    response_model_by_alias=True,
    responses={**AUTH_RESPONSES, 400: {"model": Problem}},
    summary="Program metrics for a period, overall and per month",
)
def get_metrics(
    store: Annotated[StoreHolder, Depends(holder)],
    from_: Annotated[str | None, Query(alias="from", description="First month, e.g. 2025-01 "
                                       "(default: the first with data)")] = None,
    to: Annotated[str | None, Query(description="Last month, inclusive (default: the "
                                    "latest with data)")] = None,
    by: Annotated[Literal["month", "total"], Query(description="`month` adds one entry per "
                                                   "month; `total` only the period")] = "month",
) -> Any:
    start, end = check_month(from_, "from"), check_month(to, "to")
    if start and end and start > end:
        raise HTTPException(status_code=400, detail=f"from ({start}) is after to ({end})")
    return store.run(lambda s: program_metrics(s, program_book(s).current, start, end,
                                               by_month=by == "month"))
