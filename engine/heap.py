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

What the collector and reference counting free goes back to the C allocator, not to the
system: glibc's malloc keeps freed chunks in the middle of its heaps (it gives threads heaps
of their own, and the loop runs each batch and the outbox's store calls in threads) for reuse,
and only gives back memory at the very top. A batch's records, rows and events are freed
between members that stay, so the worker's RSS ratcheted up to the highest a batch ever
needed plus what fragmentation left: measured at 200,000 members, ``malloc_trim`` at the end
of a run gave back 231 of 942 MiB. So settling also trims, at most once every ``TRIM_EVERY``
seconds. A trim itself is cheap (5 ms on average), but the pages it gives back are faulted in
again by the batches after it: trimming every second, the worker took 641,499 page faults per
200,000 facts instead of 205,295, and 12 s more CPU (75.0 s against 62.9). So the trims come
at most every ten seconds: 4 per 200,000 facts. Where the C library has no ``malloc_trim``
(not glibc), nothing is trimmed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
import time
from collections.abc import Callable

GROWTH = 2.0
TRIM_EVERY = 10.0  # seconds


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``: give every free page of every malloc heap back to the
    system. None where the C library has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


MALLOC_TRIM = _malloc_trim()


class Trimmer:
    """Gives freed memory back to the system when called, at most once every ``every``
    seconds."""

    def __init__(self, every: float = TRIM_EVERY,
                 trim: Callable[[], object] | None = MALLOC_TRIM) -> None:
        self.every = every
        self.trim = trim
        self.trimmed_at = time.monotonic()
        self.trims = 0

    def __call__(self) -> None:
        if self.trim is not None and time.monotonic() - self.trimmed_at >= self.every:
            self.trim()
            self.trims += 1
            self.trimmed_at = time.monotonic()


class Heap:
    def __init__(self, growth: float = GROWTH, trimmer: Trimmer | None = None) -> None:
        self.growth = growth
        self.next_full = int(sys.getallocatedblocks() * growth)
        self.full_collections = 0
        self.trimmer = trimmer or Trimmer()

    def settle(self) -> None:
        """Call between batches: freeze what is alive now, after collecting it all once the
        heap has grown ``growth`` times since the last full collection; give freed memory back
        to the system (``trimmer``)."""
        if sys.getallocatedblocks() >= self.next_full:
            gc.unfreeze()
            gc.collect()
            self.full_collections += 1
            self.next_full = int(sys.getallocatedblocks() * self.growth)
        gc.freeze()
        self.trimmer()
