"""Program model (skeleton: spend and pending only; the full file format extends it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Program:
    version: int = 1
    content_hash: str = ""
    effective_from: datetime = EPOCH
    currency: str = "SAR"
    points_per_unit: int = 1
    pending_days: int = 14


@dataclass
class ProgramBook:
    """Every published version, oldest first; answers which one was in force at a time."""

    versions: list[Program] = field(default_factory=list)

    def in_force_at(self, at: datetime) -> Program:
        current = self.versions[0] if self.versions else default_program()
        for program in self.versions:
            if program.effective_from <= at:
                current = program
        return current


def default_program() -> Program:
    return Program()
