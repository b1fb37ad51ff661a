"""A page's row changes, kept until the transaction that records the projection's new position.

A projection folds a page through a ``PageWrites``: its SELECTs run at once, outside any
transaction, and its writes are kept; the runner then applies them and moves the position in
ONE transaction (``apply``). The write lock is held only while rows are written, not while a
page is folded, so runners of different projections fold at the same time.

Reading outside the transaction is safe because the runner's position check fails if another
runner committed a page of the projection since (rows and position move together), and no
projection reads, within a page, rows it wrote in that page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class PageWrites:
    """Cursor-like: ``execute`` of a SELECT reads through ``reader`` now; any other statement,
    and every ``executemany``, is kept for ``apply``."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.kept: list[tuple[bool, str, Any]] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if sql.lstrip()[:6].upper() == "SELECT":
            return self.reader.execute(sql, params)
        self.kept.append((False, sql, params))
        return None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.kept.append((True, sql, rows))

    def fetchall(self) -> list[Any]:
        return self.reader.fetchall()  # type: ignore[no-any-return]

    def fetchone(self) -> Any:
        return self.reader.fetchone()

    @property
    def description(self) -> Any:
        return self.reader.description

    def apply(self, cursor: Any) -> None:
        """Run the kept writes, in order, through the transaction's cursor."""
        for many, sql, params in self.kept:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
        self.kept = []
