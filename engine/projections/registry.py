"""Every read model the engine keeps, in the order they are brought up to date, and replay.

A projection whose ``version`` differs from the one recorded with its rows (a new table, a
changed fold) is dropped and rebuilt from history on the next catch-up, so an upgraded engine
never serves rows folded by older code.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence

from engine.errors import ConfigurationError
from engine.projections.balances import BalanceProjection
from engine.projections.churn import ChurnProjection
from engine.projections.metrics import MetricsProjection
from engine.projections.parallel import catch_up_split
from engine.projections.runner import Projection, catch_up_many
from engine.projections.support import write_meta
from engine.projections.tiers import TierProjection
from engine.store.app import LoyaltyStore

REPLAY_PAGE = 10_000  # fewer, larger transactions while rebuilding
VERSIONS = {"balances": 2, "tiers": 1, "churn": 1, "metrics": 1}


def projections() -> list[Projection]:
    return [BalanceProjection(), TierProjection(), ChurnProjection(), MetricsProjection()]


def names() -> list[str]:
    return [p.name for p in projections()]


def named(selected: Sequence[str] | None) -> list[Projection]:
    """The projections of these names (all when None); raises ConfigurationError naming the
    known ones for an unknown name."""
    every = projections()
    if not selected:
        return every
    known = {p.name: p for p in every}
    unknown = [n for n in selected if n not in known]
    if unknown:
        raise ConfigurationError(f"no projection named {', '.join(unknown)}; the projections "
                                 f"are {', '.join(known)}")
    return [known[n] for n in selected]


def catch_up_all(store: LoyaltyStore, progress: Callable[[int], None] | None = None) -> int:
    """Bring every projection up to date; returns the events read."""
    chosen = projections()
    _upgrade(store, chosen)
    return catch_up_many(store, chosen, progress=progress)


def reset(store: LoyaltyStore, chosen: Sequence[Projection]) -> None:
    """Drop the rows and positions of these projections, in one transaction. The outbox is
    kept: events already announced are not announced again by the rebuild."""
    with store.sql.transaction() as cur:
        for projection in chosen:
            projection.reset(store, cur)
            store.sql.execute(cur, "DELETE FROM projection_positions WHERE name = ?",
                              (projection.name,))
            write_meta(store, cur, projection.name, "version",
                       str(VERSIONS.get(projection.name, 1)))


def replay(store: LoyaltyStore, selected: Sequence[str] | None = None,
           progress: Callable[[int], None] | None = None) -> int:
    """Drop the chosen read models (all when None) and fold the whole history again; returns
    the events read."""
    chosen = named(selected)
    reset(store, chosen)
    # The fold allocates millions of short-lived objects that reference counting frees; the
    # collector's passes over the growing heap cost 15% of the CPU on the ingest path
    # (docs/perf/ingest-profile.md). Forked replay processes inherit this.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return catch_up_split(store, chosen, page=REPLAY_PAGE, progress=progress)
    finally:
        if enabled:
            gc.enable()


def _upgrade(store: LoyaltyStore, chosen: Sequence[Projection]) -> None:
    recorded = {r["name"]: r["value"] for r in store.sql.query(
        "SELECT name, value FROM projection_meta WHERE key = 'version'")}
    stale = [p for p in chosen if recorded.get(p.name) != str(VERSIONS.get(p.name, 1))]
    if stale:
        reset(store, stale)
