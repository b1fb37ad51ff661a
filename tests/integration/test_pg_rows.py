"""On a real PostgreSQL database, many rows in one statement leave the tables as psycopg's
row-by-row ``executemany`` of the same statement does, and a read by keys from one array finds
what the ``IN`` list finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.audit.chain import INSERT_LINK
from engine.config import Settings
from engine.projections.metrics import ADD_MONTH, MONTH_COUNTERS
from engine.projections.support import select_in
from engine.store import open_store
from engine.store.pg_rows import execute_rows
from engine.store.recorders import INSERT_OUTBOX, UPSERT_DUE, UPSERT_MARK
from engine.store.sql import pg_sql

ZEROS = (0,) * (len(MONTH_COUNTERS) - 1)
BEFORE: list[tuple[str, tuple[Any, ...]]] = [
    (UPSERT_DUE, ("ann", 1, "2026-01-01")),
    (UPSERT_MARK, (3, "2026-02-01")),
    (ADD_MONTH, ("2026-01", 5, *ZEROS)),
]
BATCH: list[tuple[str, list[tuple[Any, ...]]]] = [
    (INSERT_LINK, [("a" * 32, v, f"h{v}", f"p{v}", "t") for v in range(1, 4)]),
    (INSERT_OUTBOX, [("m1", "topic", "k", "one"), ("m2", "topic", "k", "two"),
                     ("m1", "topic", "k", "again")]),  # a repeated id is skipped
    (UPSERT_DUE, [("ann", 2, None), ("bob", 0, "2026-03-01")]),
    (UPSERT_MARK, [(3, "2026-01-15"), (4, "2026-04-01")]),  # 3 does not move back
    (ADD_MONTH, [("2026-01", 2, *ZEROS), ("2026-02", 7, *ZEROS)]),
]
TABLES = {"event_chain": "originator_id, originator_version", "outbox": "id",
          "member_due": "customer_id", "sweep_marks": "kafka_partition",
          "metrics_months": "month"}


def tables_after(pg_url: str, tmp_path: Path, *, as_one: bool) -> dict[str, list[Any]]:
    store = open_store(Settings(store_url=pg_url, data_dir=tmp_path))
    try:
        with store.sql.transaction() as cur:
            for table in TABLES:
                cur.execute(f"DELETE FROM {table}")
            for sql, row in BEFORE:
                cur.execute(pg_sql(sql), row)
            for sql, rows in BATCH:
                if as_one:
                    execute_rows(cur, sql, rows)
                else:
                    cur.executemany(pg_sql(sql), rows)
        return {table: store.sql.query(f"SELECT * FROM {table} ORDER BY {key}")
                for table, key in TABLES.items()}
    finally:
        store.close()


def test_one_statement_leaves_the_tables_as_row_by_row_does(pg_url: str, tmp_path: Path):
    row_by_row = tables_after(pg_url, tmp_path, as_one=False)
    as_one = tables_after(pg_url, tmp_path, as_one=True)
    assert as_one == row_by_row
    assert [r["payload"] for r in as_one["outbox"]] == ["one", "two"]
    assert [r["swept_to"] for r in as_one["sweep_marks"]] == ["2026-02-01", "2026-04-01"]
    assert [r["enrolled"] for r in as_one["metrics_months"]] == [7, 7]
    assert as_one["member_due"][0] == {"customer_id": "ann", "kafka_partition": 2,
                                       "due_at": None}


def test_a_read_by_keys_from_one_array_finds_what_the_in_list_finds(pg_url: str,
                                                                     tmp_path: Path):
    store = open_store(Settings(store_url=pg_url, data_dir=tmp_path))
    try:
        with store.sql.transaction() as cur:
            cur.executemany("INSERT INTO tier_members (member_id, customer_id, tier, since) "
                            "VALUES (%s, %s, %s, %s)",
                            [(f"m{i}", f"c{i}", "Gold", "t") for i in range(1200)])
        sql = "SELECT * FROM tier_members WHERE member_id IN ({keys})"
        keys = ["m5", "nobody", "m1100", "m5", *(f"m{i}" for i in range(600, 1000))]
        with store.sql.transaction() as cur:
            as_one = select_in(store, cur, sql, keys)
            store.sql.is_postgres = False  # the chunked IN lists, on the same connection
            try:
                in_lists = select_in(store, cur, sql, keys)
            finally:
                store.sql.is_postgres = True
        assert sorted(as_one, key=str) == sorted(in_lists, key=str)
        assert len(as_one) == 402
    finally:
        store.close()
