"""The ProgramCatalog aggregate: every published version of the program file (one catalog).

Publishing validates the file (``InvalidProgram`` names the key and the reason, and nothing is
recorded), numbers the version and records its text, content hash and effective time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from engine.errors import InvalidProgram
from engine.program.load import parse_program
from engine.program.model import Program, ProgramBook

CATALOG_ID = uuid5(NAMESPACE_URL, "loyalty-engine:program-catalog")


class ProgramCatalog(Aggregate):
    """The program versions, oldest first. Its id is fixed: there is one catalog."""

    @staticmethod
    def create_id() -> UUID:  # type: ignore[override]
        return CATALOG_ID

    @event("Opened")
    def __init__(self, timestamp: datetime) -> None:
        self.versions: list[dict[str, Any]] = []

    def publish(
        self, text: str, effective_from: datetime, published_at: datetime | None = None
    ) -> Program:
        """Validate ``text`` and record it as the next version, in force from
        ``effective_from`` (timezone-aware). The event is stamped ``published_at``, or
        ``effective_from`` when not given (no clock is read here).

        Raises InvalidProgram for a bad file, a file identical to the current version, or an
        effective time before the current version's."""
        if effective_from.tzinfo is None:
            raise InvalidProgram("effective_from must have a UTC offset")
        version = len(self.versions) + 1
        program = parse_program(text, version=version, effective_from=effective_from)
        if self.versions:
            current = self.versions[-1]
            if current["content_hash"] == program.content_hash:
                raise InvalidProgram(
                    f"this program is identical to the current version {current['version']} "
                    f"(content hash {program.content_hash[:12]}); nothing to publish")
            previous = datetime.fromisoformat(current["effective_from"])
            if effective_from < previous:
                raise InvalidProgram(
                    f"effective_from {effective_from.isoformat()} is before version "
                    f"{current['version']}'s {previous.isoformat()}; versions take effect in "
                    "order")
        self._version_published(
            version=version, content_hash=program.content_hash, text=text,
            effective_from=effective_from.isoformat(),
            timestamp=published_at or effective_from,
        )
        return program

    @event("VersionPublished")
    def _version_published(self, version: int, content_hash: str, text: str,
                           effective_from: str, timestamp: datetime) -> None:
        self.versions.append({"version": version, "content_hash": content_hash, "text": text,
                              "effective_from": effective_from})

    def book(self) -> ProgramBook:
        """Every version as a ``Program``, oldest first (parses the recorded texts)."""
        return ProgramBook([
            parse_program(v["text"], version=v["version"],
                          effective_from=datetime.fromisoformat(v["effective_from"]))
            for v in self.versions
        ])

    def program(self, version: int) -> Program:
        """One version; raise InvalidProgram when there is no such version."""
        for record in self.versions:
            if record["version"] == version:
                return parse_program(record["text"], version=version,
                                     effective_from=datetime.fromisoformat(
                                         record["effective_from"]))
        raise InvalidProgram(f"there is no program version {version} "
                             f"(published: 1 to {len(self.versions)})")
