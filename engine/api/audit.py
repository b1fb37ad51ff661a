"""Audit endpoints: a member's awards explained and recomputed from the stored sources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from engine.api.deps import AUTH_RESPONSES, Problem, StoreHolder, holder, require_key
from engine.audit.explain import member_awards

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[Depends(require_key)])


class Source(BaseModel):
    """The stored source (fact, command, redemption or sweep) whose replay produced the award."""

    key: str
    kind: str
    topic: str
    partition: int
    offset: int
    id: str = Field(description="The fact's event_id, command id, request id or sweep time")
    from_version: int | None
    to_version: int | None
    payload: Any = Field(description="The message as it was accepted")


class Recomputed(BaseModel):
    lot_id: str
    rule: str
    program_version: int
    points: int
    status: str
    source_event_id: str
    order_id: str | None = None
    qualifying: int = 0


class Award(BaseModel):
    version: int = Field(description="The member version of the stored PointsEarned event")
    at: datetime | None
    lot_id: str | None
    rule: str | None
    program_version: int | None
    points: int | None
    status: str | None
    source_event_id: str | None
    order_id: str | None = None
    qualifying: int | None = None
    source: Source | None
    recomputed: Recomputed | None = Field(
        description="What replaying the member's sources under the recorded program versions "
                    "gives for this award; null when the replay does not produce it")
    matches: bool


class BrokenLink(BaseModel):
    version: int
    problem: str
    detail: str


class MemberAudit(BaseModel):
    customer_id: str
    member_id: str
    events: int
    verified: bool = Field(description="Every event reproduced by the replay and every hash "
                                       "link intact")
    mismatch_count: int
    broken_link: BrokenLink | None
    awards: list[Award]


@router.get(
    "/members/{customer_id}",
    response_model=MemberAudit,
    responses={**AUTH_RESPONSES, 404: {"model": Problem}},
    summary="A member's awards with their rule, program version, source and recomputed value",
)
def audit_member(customer_id: str, store: Annotated[StoreHolder, Depends(holder)]) -> Any:
    found = store.run(lambda s: member_awards(s, customer_id))
    if found is None:
        raise HTTPException(status_code=404, detail=f"no member with customer id {customer_id!r}")
    return found
