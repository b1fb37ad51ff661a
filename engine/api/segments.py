"""Churn-risk segments: the members of an RFM grade, page by page."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from engine.api.deps import AUTH_RESPONSES, StoreHolder, holder, require_key
from engine.api.params import MAX_PAGE
from engine.projections.churn import churn_segment, grade_counts

router = APIRouter(prefix="/segments", tags=["segments"], dependencies=[Depends(require_key)])

Grade = Literal["champion", "loyal", "regular", "at_risk"]


class ChurnMember(BaseModel):
    customer_id: str
    grade: Grade
    r_score: int = Field(description="Recency 1-3 (3: bought within the expected gap)")
    f_score: int = Field(description="Frequency 1-3 (regularity of repeat purchases)")
    m_score: int = Field(description="Monetary 1-3 (qualifying points against the tiers)")
    orders: int
    spend: str = Field(description="Order totals less refunds, in the program currency")
    gap_days: int = Field(description="Expected days between purchases (dominant category)")
    last_order_at: str | None
    at_risk_from: str = Field(description="When the member is (or was) at risk if quiet")
    recency_days: float | None = Field(None, description="Days since the last order (or the "
                                       "enrolment) at engine time")
    recency_ratio: float | None = Field(None, description="recency_days / gap_days")


class ChurnPage(BaseModel):
    grade: Grade
    engine_time: str | None = Field(description="The time the grades are judged at")
    total: int = Field(description="Members of this grade")
    counts: dict[str, int] = Field(description="Members of every grade")
    items: list[ChurnMember]
    next: str | None = Field(description="Pass as `after` for the next page; null on the last")


@router.get(
    "/churn",
    response_model=ChurnPage,
    responses=AUTH_RESPONSES,
    summary="Members of a churn-risk grade",
    description="RFM grades at engine time (the README's \"Churn risk\" section defines them): "
    "`champion`, `loyal`, `regular`, `at_risk`. Ordered by customer id; page with `after`.",
)
def get_churn(
    store: Annotated[StoreHolder, Depends(holder)],
    grade: Annotated[Grade, Query(description="The grade to list")] = "at_risk",
    after: Annotated[str | None, Query(max_length=128,
                                       description="Customer ids after this one")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Members per page")] = 100,
) -> Any:
    def read(s: Any) -> dict[str, Any]:
        return {**churn_segment(s, grade, after, limit), "counts": grade_counts(s)}

    return store.run(read)
