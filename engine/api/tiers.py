"""Tiers: members per tier now, and the tiers over time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from engine.api.deps import AUTH_RESPONSES, StoreHolder, holder, require_key
from engine.projections.support import engine_time, ts
from engine.projections.tiers import tier_history, tier_mix
from engine.store.programs import program_book

router = APIRouter(tags=["tiers"], dependencies=[Depends(require_key)])


class TierShare(BaseModel):
    tier: str
    members: int
    share: float = Field(description="Fraction of all members")


class TierMonth(BaseModel):
    month: str
    members: dict[str, int] = Field(description="Members of each tier at the month's end")
    upgrades: int
    downgrades: int = Field(description="Moves down at yearly reviews")


class Tiers(BaseModel):
    engine_time: str | None
    mix: list[TierShare] = Field(description="Members per tier now, lowest tier first")
    history: list[TierMonth] = Field(description="Per month (UTC), oldest first")


@router.get("/tiers", response_model=Tiers, responses=AUTH_RESPONSES,
            summary="Members per tier now and over time")
def get_tiers(store: Annotated[StoreHolder, Depends(holder)]) -> Any:
    def read(s: Any) -> dict[str, Any]:
        return {"engine_time": ts(engine_time(s, "tiers")),
                "mix": tier_mix(s, program_book(s).current), "history": tier_history(s)}

    return store.run(read)
