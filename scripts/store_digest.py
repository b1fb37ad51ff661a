#!/usr/bin/env python3
"""A digest of everything a run wrote to a SQLite store, table by table, to show that a change
to the engine's speed left its results alone:

    scripts/bench_breakdown.py --facts 30000 --keep /tmp/before     # on the old code
    scripts/bench_breakdown.py --facts 30000 --keep /tmp/after      # on the new code
    scripts/store_digest.py /tmp/before/loyalty.sqlite /tmp/after/loyalty.sqlite

Each table's rows are read in primary-key order (the events table by notification id, so the
log's order counts too) and hashed; the columns that hold a wall-clock reading are left out
(``event_chain.recorded_at``: bookkeeping, never part of a link's hash). With two stores it
prints the tables that differ and exits 1 when any does.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys

WALL_CLOCK = {("event_chain", "recorded_at"), ("position_resets", "detected_at")}


def digests(path: str) -> dict[str, tuple[int, str]]:
    """``table -> (rows, sha256 of its rows)`` for every table of the store."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out = {}
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")
                       if (table, r[1]) not in WALL_CLOCK]
            keys = [r[1] for r in sorted(conn.execute(f"PRAGMA table_info({table})"),
                                         key=lambda r: r[5]) if r[5]]
            order = ", ".join(keys) if keys else "rowid"
            if table == "stored_events":  # eventsourcing's table: log order is its rowid
                order = "rowid"
            digest, count = hashlib.sha256(), 0
            cols = ", ".join(columns)
            for row in conn.execute(f"SELECT {cols} FROM {table} ORDER BY {order}"):
                digest.update(repr(row).encode())
                count += 1
            out[table] = (count, digest.hexdigest())
        return out
    finally:
        conn.close()


def main(paths: list[str]) -> int:
    if len(paths) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    found = [digests(p) for p in paths]
    if len(found) == 1:
        for table, (count, digest) in found[0].items():
            print(f"{table:24} {count:>9,} {digest[:16]}")
        return 0
    a, b = found
    differ = 0
    for table in sorted(set(a) | set(b)):
        same = a.get(table) == b.get(table)
        differ += not same
        print(f"{'same' if same else 'DIFFERENT':10} {table:24} {a.get(table)} {b.get(table)}"
              if not same else f"same       {table:24} {a[table][0]:>9,} rows")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
