"""Program versions in the store: the ProgramCatalog aggregate, seeded with the shipped default.

The catalog's version 1 is always the shipped default in force from the epoch, so awards made
before any merchant file was published name a version an auditor can look up.
"""

from __future__ import annotations

from datetime import datetime

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from engine.aggregates.program import CATALOG_ID, ProgramCatalog
from engine.errors import InvalidProgram
from engine.program.model import EPOCH, Program, ProgramBook, default_text
from engine.store.app import LoyaltyStore

RETRIES = 5


def load_catalog(store: LoyaltyStore) -> ProgramCatalog | None:
    try:
        return store.app.repository.get(CATALOG_ID)  # type: ignore[no-any-return]
    except AggregateNotFoundError:
        return None


def catalog_version(store: LoyaltyStore) -> int:
    """The catalog aggregate's version (0 when nothing was published): cheap, for polling."""
    return store.aggregate_version(CATALOG_ID)


def program_book(store: LoyaltyStore) -> ProgramBook:
    """Every published version. The book is a function of the catalog's events, which are
    never changed, so it is built (each version's file parsed) once per catalog version and
    kept on the store; each call costs one look-up of the catalog's latest version."""
    version = catalog_version(store)
    kept = store.book_at
    if kept is not None and kept[0] == version:
        return kept[1]
    catalog = load_catalog(store)
    book = catalog.book() if catalog is not None else ProgramBook()
    # Keyed by the version actually loaded: a version published in between is seen next time.
    store.book_at = (catalog.version if catalog is not None else 0, book)
    return book


def publish_program(store: LoyaltyStore, text: str, effective_from: datetime,
                    published_at: datetime) -> Program:
    """Validate and record ``text`` as the next version; nothing is recorded on error."""
    for _ in range(RETRIES):
        catalog = load_catalog(store)
        if catalog is None:
            catalog = ProgramCatalog(timestamp=EPOCH)
            catalog.publish(default_text(), effective_from=EPOCH, published_at=EPOCH)
        program = catalog.publish(text, effective_from=effective_from, published_at=published_at)
        try:
            store.save([catalog])
        except IntegrityError:
            continue  # another publisher got there first: read the catalog again
        return program
    raise InvalidProgram("the program catalog kept changing while publishing; try again")


def show_program(store: LoyaltyStore, version: int | None) -> tuple[Program, str]:
    """A version (the latest when None) and its file text."""
    catalog = load_catalog(store)
    if catalog is None:
        if version not in (None, 1):
            raise InvalidProgram(f"there is no program version {version} (only the shipped "
                                 "default, version 1, is in force)")
        from engine.program.model import default_program

        return default_program(), default_text()
    record = catalog.versions[-1] if version is None else next(
        (v for v in catalog.versions if v["version"] == version), None)
    if record is None:
        raise InvalidProgram(f"there is no program version {version} "
                             f"(published: 1 to {len(catalog.versions)})")
    return catalog.program(record["version"]), record["text"]


def program_history(store: LoyaltyStore) -> list[dict[str, object]]:
    catalog = load_catalog(store)
    if catalog is None:
        return [{"version": 1, "effective_from": EPOCH.isoformat(), "content_hash": None}]
    return [{k: v[k] for k in ("version", "effective_from", "content_hash")}
            for v in catalog.versions]
