"""The ledger's garbage-collector policy (engine/heap.py): it freezes what is alive between
batches, and still reclaims frozen cyclic garbage once the heap has grown enough."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from engine.heap import Heap


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
