"""The messages of one generated stream, in the order they will be published."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.contract import Fact, encode


@dataclass(frozen=True)
class Record:
    at: datetime  # when it arrives; occurred_at for first sends
    seq: int
    line: bytes
    fact_type: str | None  # None for a malformed message


class Stream:
    """Collects the messages of one generated stream; ids are scoped by the seed."""

    def __init__(self, seed: int, start: datetime, end: datetime) -> None:
        self.seed, self.start, self.end = seed, start, end
        self.records: list[Record] = []
        self._seq = itertools.count(1)
        self._ids: dict[str, itertools.count[int]] = {}

    def new_id(self, prefix: str) -> str:
        number = next(self._ids.setdefault(prefix, itertools.count(1)))
        return f"{prefix}-{self.seed}-{number:06d}"

    def emit(self, fact_type: str, at: datetime, customer_id: str, data: dict[str, Any]) -> bool:
        """Add a valid message; False (and nothing added) when ``at`` is outside the window."""
        if not self.start <= at < self.end:
            return False
        fact = Fact(self.new_id("evt"), fact_type, at, customer_id, data)
        self.records.append(Record(at, next(self._seq), encode(fact), fact_type))
        return True

    def add(self, at: datetime, line: bytes, fact_type: str | None) -> None:
        """Add a raw line: a re-send of a valid message (its type) or a malformed one (None)."""
        self.records.append(Record(at, next(self._seq), line, fact_type))
