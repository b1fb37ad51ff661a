"""The ledger's garbage-collector policy (engine/heap.py): it freezes what is alive between
batches, still reclaims frozen cyclic garbage once the heap has grown enough, and gives what
is freed back to the system."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.heap import MALLOC_TRIM, Heap, Trimmer


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_settling_freezes_what_is_alive_so_collections_skip_it() -> None:
    heap = Heap(growth=10**6)
    kept = [Node() for _ in range(1000)]
    heap.settle()
    assert gc.get_freeze_count() >= len(kept)
    assert heap.full_collections == 0


def test_frozen_cyclic_garbage_is_reclaimed_once_the_heap_has_grown() -> None:
    heap = Heap(growth=10**6)
    node = Node()
    gone = weakref.ref(node)
    heap.settle()  # frozen while alive
    del node
    gc.collect()
    assert gone() is not None  # the collector does not look at frozen objects
    heap.growth = 2.0
    heap.next_full = 0  # as if the heap had grown this far
    heap.settle()
    assert gone() is None
    assert heap.full_collections == 1
    assert heap.next_full > sys.getallocatedblocks()  # the next one after another doubling


def test_settling_trims_the_allocator_at_most_once_per_interval() -> None:
    trims: list[int] = []
    heap = Heap(growth=10**6, trimmer=Trimmer(every=3600.0, trim=lambda: trims.append(1)))
    heap.settle()
    assert trims == [] and heap.trimmer.trims == 0  # not since it started
    heap.trimmer.trimmed_at -= 3600.0
    heap.settle()
    heap.settle()
    assert trims == [1] and heap.trimmer.trims == 1


FRAGMENTED = """
from engine.heap import MALLOC_TRIM

def rss():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmRSS:")) // 1024

chunks = [bytes(4096) + bytes([i % 256]) for i in range(60_000)]  # about 240 MiB of malloc
kept = chunks[::50]  # one in fifty stays, so the heap cannot shrink from its top
del chunks
before = rss()
MALLOC_TRIM()
print(before, rss())
"""


@pytest.mark.skipif(MALLOC_TRIM is None or not sys.platform.startswith("linux"),
                    reason="glibc's malloc_trim")
def test_trimming_gives_freed_memory_in_the_middle_of_the_heap_back() -> None:
    done = subprocess.run([sys.executable, "-c", FRAGMENTED], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    before, after = map(int, done.stdout.split())
    assert before > 200  # MiB: freed, but still the process's
    assert after < before - 150
