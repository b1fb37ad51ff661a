"""What the projection writers share: time as sortable text, month keys, money in minor units,
batched SQL, and each projection's own small state (engine time) in ``projection_meta``.

Times in read-model tables are fixed-width UTC ISO strings (``2025-01-04T17:41:07.000000+00:00``)
so that SQL compares them as text on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from engine.store.app import LoyaltyStore
from engine.store.pg_rows import lookup_form

UTC = timezone.utc
CENT = Decimal("0.01")
MINOR = Decimal(10_000)  # money is kept in 1/10000 of the currency unit (the contract's scale)
IN_CHUNK = 500
ENGINE_TIME = "engine_time"
TEXT_CACHE = 1 << 18
_TEXTS: dict[datetime, str] = {}  # datetime -> fixed-width UTC text, see _utc_text


def ts(value: datetime | str | None) -> str | None:
    """A time as fixed-width UTC text (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.endswith("+00:00") and value[10:11] == "T" and value[16:17] == ":":
            if len(value) == 32 and value[19] == ".":
                return value  # already the fixed-width form
            if len(value) == 25:
                return value[:19] + ".000000+00:00"  # isoformat without microseconds
        value = datetime.fromisoformat(value)
    return _utc_text(value)


def utc_time_text(text: str) -> tuple[datetime, str]:
    """The datetime of an ISO time text (a stored event's time) and its fixed-width text
    (``ts``), which is remembered, so that ``ts`` of the datetime costs a lookup."""
    value = datetime.fromisoformat(text)
    fixed = ts(text) or ""
    if len(_TEXTS) >= TEXT_CACHE:
        _TEXTS.clear()
    _TEXTS[value] = fixed
    return value, fixed


def _utc_text(value: datetime) -> str:
    # isoformat of an aware datetime is slow, and the read side formats the same few times
    # over and over (every event of a fact shares its time): a bounded cache.
    text = _TEXTS.get(value)
    if text is None:
        if len(_TEXTS) >= TEXT_CACHE:
            _TEXTS.clear()
        utc = value if value.tzinfo is UTC else value.astimezone(UTC)
        text = _TEXTS[value] = utc.isoformat(timespec="microseconds")
    return text


def month_of(at: datetime) -> str:
    """The calendar month (UTC) of a time, as ``YYYY-MM``."""
    return _utc_text(at)[:7]


def to_minor(amount: str | Decimal) -> int:
    """A decimal money string as an exact count of 1/10000 units."""
    return int(Decimal(amount) * MINOR)


def from_minor(units: int) -> Decimal:
    return Decimal(units) / MINOR


def money_text(amount: Decimal) -> str:
    """Money for reading: two decimals, rounded half to even."""
    return str(amount.quantize(CENT, rounding=ROUND_HALF_EVEN))


def execute_many(store: LoyaltyStore, cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One statement over many rows through the page's cursor (on PostgreSQL, as one
    statement over arrays where it can: ``engine/store/pg_rows.py``)."""
    store.sql.execute_many(cursor, sql, rows)


def select_in(
    store: LoyaltyStore, cursor: Any, sql: str, keys: Iterable[str]
) -> list[dict[str, Any]]:
    """Run ``sql`` (whose one ``{keys}`` marks an ``IN (...)`` list) over the keys in chunks,
    through the page's cursor; rows come back as dicts. On PostgreSQL, where the statement has
    the form, all the keys go as one array (``engine/store/pg_rows.py``)."""
    found: list[dict[str, Any]] = []
    keys = list(dict.fromkeys(keys))  # each row once, as an IN list gives it
    lookup = lookup_form(sql) if store.sql.is_postgres else None
    if lookup is not None:
        runs = [(lookup, [keys])] if keys else []
    else:
        runs = [(sql.format(keys=", ".join("?" for _ in chunk)), chunk)
                for chunk in (keys[i:i + IN_CHUNK] for i in range(0, len(keys), IN_CHUNK))]
    for statement, params in runs:
        store.sql.execute(cursor, statement, params)
        names = [d[0] for d in cursor.description]
        found.extend(row if isinstance(row, dict) else dict(zip(names, row))
                     for row in cursor.fetchall())
    return found


def read_meta(store: LoyaltyStore, name: str, key: str, cursor: Any = None) -> str | None:
    sql = "SELECT value FROM projection_meta WHERE name = ? AND key = ?"
    if cursor is None:
        rows = store.sql.query(sql, (name, key))
        return str(rows[0]["value"]) if rows else None
    store.sql.execute(cursor, sql, (name, key))
    row = cursor.fetchone()
    if row is None:
        return None
    return str(row["value"] if isinstance(row, dict) else row[0])


def write_meta(store: LoyaltyStore, cursor: Any, name: str, key: str, value: str) -> None:
    store.sql.execute(
        cursor,
        "INSERT INTO projection_meta (name, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
        (name, key, value),
    )


def drop_meta(store: LoyaltyStore, cursor: Any, name: str) -> None:
    store.sql.execute(cursor, "DELETE FROM projection_meta WHERE name = ?", (name,))


def advance_engine_time(
    store: LoyaltyStore, cursor: Any, name: str, events: Sequence[Any]
) -> datetime | None:
    """Move the projection's engine time (the latest event time it has seen) past this page's
    events and record it with the page; returns it (None before any event)."""
    stored = read_meta(store, name, ENGINE_TIME, cursor)
    now = datetime.fromisoformat(stored) if stored else None
    latest = max((event.timestamp for event in events), default=None)
    if latest is not None and (now is None or latest > now):
        now = latest
    if now is not None and (stored is None or ts(now) != stored):
        write_meta(store, cursor, name, ENGINE_TIME, ts(now) or "")
    return now


def engine_time(store: LoyaltyStore, name: str) -> datetime | None:
    """The latest event time the projection ``name`` has folded (None when it is empty)."""
    stored = read_meta(store, name, ENGINE_TIME)
    return datetime.fromisoformat(stored) if stored else None
