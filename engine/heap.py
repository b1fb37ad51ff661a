"""The garbage collector in a process that holds members in memory (the worker's ledger).

Members, their lots and the store's caches live as long as the process, and every fact adds
to them, so the collector's oldest generation keeps growing; each of its collections walks all
of it again. Profiled on ingest (docs/perf/ingest-profile.md, BENCHMARKS.md), those
collections took 12-15% of the CPU per fact, and more as members accumulate, though they
find next to nothing: the heap is live, and what a fact leaves behind is freed by reference
counting.

So before each batch, what survived the batches before it is frozen (``gc.freeze``): the
collector leaves it alone and only walks what the next batch allocates. Frozen objects that
later become cyclic garbage would never be reclaimed, so once the heap has doubled since the
last full collection (or since the ledger started), it is unfrozen and collected once: a full
collection per doubling instead of one per quarter of growth. The heap's size is read as the
interpreter's allocated memory blocks, which costs a walk over its arenas; counting the frozen
objects (``gc.get_freeze_count``) walks every one of them, milliseconds per batch.
"""

from __future__ import annotations

import gc
import sys

GROWTH = 2.0


class Heap:
    def __init__(self, growth: float = GROWTH) -> None:
        self.growth = growth
        self.next_full = int(sys.getallocatedblocks() * growth)
        self.full_collections = 0

    def settle(self) -> None:
        """Call between batches: freeze what is alive now, after collecting it all once the
        heap has grown ``growth`` times since the last full collection."""
        if sys.getallocatedblocks() >= self.next_full:
            gc.unfreeze()
            gc.collect()
            self.full_collections += 1
            self.next_full = int(sys.getallocatedblocks() * self.growth)
        gc.freeze()
