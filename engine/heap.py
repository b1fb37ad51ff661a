"""The garbage collector in a process that holds members in memory (the worker's ledger).

Members, their lots and the store's caches live as long as the process, and every fact adds
to them, so the collector's oldest generation keeps growing; each of its collections walks all
of it again. Profiled on ingest (docs/perf/ingest-profile.md, BENCHMARKS.md), those
collections took 12-15% of the CPU per fact, and more as members accumulate, though they
find next to nothing: the heap is live, and what a fact leaves behind is freed by reference
counting.

So before each batch, what survived the batches before it is frozen (``gc.freeze``): the
collector leaves it alone and only walks what the next batch allocates. Frozen objects that
later become cyclic garbage would never be reclaimed, so once the frozen heap has doubled since
the last full collection, it is unfrozen and collected once: a full collection per doubling
instead of one per quarter of growth.
"""

from __future__ import annotations

import gc

FIRST_FULL = 2_000_000  # frozen objects at which the first full collection runs
GROWTH = 2.0


class Heap:
    def __init__(self, first_full: int = FIRST_FULL, growth: float = GROWTH) -> None:
        self.next_full = first_full
        self.growth = growth
        self.full_collections = 0

    def settle(self) -> None:
        """Call between batches: freeze what is alive now, or collect it all once it has
        grown ``growth`` times since the last full collection."""
        if gc.get_freeze_count() >= self.next_full:
            gc.unfreeze()
            gc.collect()
            self.full_collections += 1
            gc.freeze()
            self.next_full = max(self.next_full, int(gc.get_freeze_count() * self.growth))
            return
        gc.freeze()
