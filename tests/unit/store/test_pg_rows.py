"""The engine's many-row statements and their one-statement form for PostgreSQL."""

from __future__ import annotations

import pytest

from engine.audit.chain import INSERT_LINK
from engine.projections.balances import UPSERT as UPSERT_BALANCE
from engine.projections.balances import UPSERT_LOT
from engine.projections.churn import UPSERT as UPSERT_CHURN
from engine.projections.member_events import INSERT_OUTBOX as INSERT_MEMBER_EVENT
from engine.projections.metrics import ADD_MEMBER_MONTH, ADD_MONTH
from engine.projections.tiers import ADD_FLOWS, UPSERT_MEMBER
from engine.store.pg_rows import column_types, execute_rows, lookup_form, unnest_form
from engine.store.recorders import (
    DELETE_CLAIM,
    INSERT_CLAIM,
    INSERT_DEAD_LETTER,
    INSERT_OUTBOX,
    INSERT_SOURCE_FACT,
    UPSERT_DUE,
    UPSERT_MARK,
    UPSERT_POSITION,
)

MANY_ROWS = [INSERT_LINK, UPSERT_BALANCE, UPSERT_LOT, UPSERT_CHURN, INSERT_MEMBER_EVENT,
             ADD_MEMBER_MONTH, ADD_MONTH, ADD_FLOWS, UPSERT_MEMBER, INSERT_CLAIM,
             INSERT_DEAD_LETTER, INSERT_OUTBOX, INSERT_SOURCE_FACT, UPSERT_DUE, UPSERT_MARK,
             UPSERT_POSITION]


@pytest.mark.parametrize("sql", MANY_ROWS, ids=lambda s: s.split()[2])
def test_every_many_row_statement_has_a_one_statement_form(sql: str):
    form = unnest_form(sql)
    assert form is not None
    statement, _ = form
    assert "?" not in statement and " VALUES " not in statement
    assert statement.count("%b::") == sql.count("?")  # one binary array per placeholder


def test_the_form_keeps_literals_and_types_each_array_from_the_ddl():
    statement, keys = unnest_form(INSERT_OUTBOX)  # type: ignore[misc]
    assert "SELECT u.id, u.topic, u.msg_key, u.payload, 0 FROM unnest(" in statement
    assert keys is None  # DO NOTHING: rows repeating a key are fine in one statement
    statement, keys = unnest_form(UPSERT_DUE)  # type: ignore[misc]
    assert "unnest(%b::text[], %b::integer[], %b::text[])" in statement
    assert keys == (0,)


def test_statements_without_the_form_are_left_alone():
    assert unnest_form(DELETE_CLAIM) is None
    assert unnest_form("INSERT INTO unknown_table (a) VALUES (?)") is None
    assert unnest_form("INSERT INTO outbox (id) VALUES (lower(?))") is None
    assert unnest_form("INSERT INTO sweep_marks (kafka_partition, swept_to) VALUES (?, ?) "
                       "ON CONFLICT (kafka_partition) DO UPDATE SET swept_to = ?") is None


def test_column_types_read_the_ddl():
    ddl = """CREATE TABLE IF NOT EXISTS t (
        a TEXT PRIMARY KEY,
        b BIGINT NOT NULL,
        c INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (a, b)
    )"""
    assert column_types([ddl, "CREATE INDEX IF NOT EXISTS i ON t (b)"]) == {
        "t": {"a": "text[]", "b": "bigint[]", "c": "integer[]"}}


class Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    def execute(self, sql: str, params: object) -> None:
        self.calls.append(("execute", sql, params))

    def executemany(self, sql: str, rows: object) -> None:
        self.calls.append(("executemany", sql, rows))


def test_rows_go_as_columns_in_one_statement():
    cursor = Recording()
    execute_rows(cursor, UPSERT_DUE, [("ann", 1, "t1"), ("bob", 2, None)])
    [(how, _, params)] = cursor.calls
    assert how == "execute"
    assert params == [["ann", "bob"], [1, 2], ["t1", None]]


def test_one_row_a_key_updated_twice_or_mixed_types_go_row_by_row():
    cursor = Recording()
    execute_rows(cursor, UPSERT_DUE, [("ann", 1, "t1")])
    execute_rows(cursor, UPSERT_DUE, [("ann", 1, "t1"), ("ann", 1, "t2")])
    execute_rows(cursor, INSERT_OUTBOX, [("m1", "t", "k", "p"), ("m1", "t", "k", "p")])
    execute_rows(cursor, DELETE_CLAIM, [("c1",), ("c2",)])
    execute_rows(cursor, UPSERT_DUE, [("ann", 1, "t1"), ("bob", 1.0, "t2")])  # int and float
    execute_rows(cursor, UPSERT_DUE, [])
    assert [c[0] for c in cursor.calls] == ["executemany", "executemany", "execute",
                                            "executemany", "executemany"]
    assert cursor.calls[1][1].startswith("INSERT INTO member_due") and "%s" in cursor.calls[1][1]


def test_reads_by_text_keys_take_one_array():
    assert lookup_form("SELECT * FROM lots WHERE lot_key IN ({keys})") == (
        "SELECT x.* FROM unnest(%b::text[]) AS k(key) CROSS JOIN LATERAL ("
        "SELECT * FROM lots WHERE lot_key = k.key OFFSET 0) AS x")
    assert lookup_form("SELECT * FROM sweep_marks WHERE kafka_partition IN ({keys})") is None
    assert lookup_form("SELECT * FROM lots WHERE lot_key IN ({keys}) AND warned = 0") is None
