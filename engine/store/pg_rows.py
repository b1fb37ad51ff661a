"""Many rows in one PostgreSQL statement: ``INSERT ... SELECT ... FROM unnest(arrays)``.

psycopg's ``executemany`` sends one execution of the prepared statement per row (pipelined),
and the server starts an executor for each: per row, that was most of what the workers and the
projector cost PostgreSQL. A statement of many ``VALUES`` rows has new text for every row
count, to convert, parse and plan each time. The form here has one text per statement, so it
is prepared once, and takes one array per column, so the server runs it once per batch. The
arrays go in psycopg's binary format: its text format quotes every element in Python, about
six times the cost per element here.

``execute_rows(cursor, sql, rows)`` takes the engine's own statements (``?`` placeholders):
an ``INSERT INTO t (columns) VALUES (...) [ON CONFLICT ...]`` whose values are placeholders
or literals becomes the unnest form, the column types taken from the DDL of
``engine/store/tables.py``. Anything else, a single row, rows that would update one conflicting
row twice (which one statement may not do, and which the row-by-row form does in order), or a
column of values of more than one type (which psycopg cannot put in one array) goes through
``executemany`` as before.

``lookup_form(sql)`` does the same for the projections' reads by key
(``SELECT ... FROM t WHERE key IN ({keys})``): one probe of the key's index per key, from one
array, whatever the table's statistics say. Before a table's first analysis (a fresh database
with a backlog), PostgreSQL planned the ``IN`` list over the lots' primary key as a sequential
scan of every lot, once per page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from engine.store.sql import pg_sql
from engine.store.tables import SIDE_TABLES

INSERT = re.compile(r"\s*INSERT INTO (\w+) \(([^)]*)\) VALUES \(([^)]*)\)(.*)\Z", re.DOTALL)
CONFLICT_UPDATE = re.compile(r"ON CONFLICT \(([^)]*)\) DO UPDATE", re.IGNORECASE)
SELECT_IN = re.compile(r"\s*SELECT (.+?) FROM (\w+) WHERE (\w+) IN \(\{keys\}\)\s*\Z",
                       re.DOTALL)
TABLE = re.compile(r"\s*CREATE TABLE IF NOT EXISTS (\w+) \((.*)\)\s*\Z", re.DOTALL)
NONE = type(None)
PLACEHOLDERS = ("?", "%s")
ARRAY_TYPES = {"TEXT": "text[]", "INTEGER": "integer[]", "BIGINT": "bigint[]"}


def column_types(ddls: Sequence[str] = SIDE_TABLES) -> dict[str, dict[str, str]]:
    """Each table's columns and their PostgreSQL array types, read off the DDL."""
    tables: dict[str, dict[str, str]] = {}
    for ddl in ddls:
        found = TABLE.match(ddl)
        if found is None:
            continue
        columns = {}
        for line in found.group(2).split("\n"):
            words = line.strip().rstrip(",").split()
            if len(words) >= 2 and words[1].upper() in ARRAY_TYPES:
                columns[words[0]] = ARRAY_TYPES[words[1].upper()]
        tables[found.group(1)] = columns
    return tables


COLUMN_TYPES = column_types()


@lru_cache(maxsize=256)
def unnest_form(sql: str) -> tuple[str, tuple[int, ...] | None] | None:
    """The unnest statement for ``sql`` and the positions, among the placeholders, of its
    ``ON CONFLICT ... DO UPDATE`` key (None without one); None when ``sql`` has no such form."""
    found = INSERT.match(sql)
    if found is None:
        return None
    table, tail = found.group(1), found.group(4)
    columns = [c.strip() for c in found.group(2).split(",")]
    values = [v.strip() for v in found.group(3).split(",")]
    types = COLUMN_TYPES.get(table, {})
    if len(values) != len(columns) or any(mark in tail for mark in PLACEHOLDERS):
        return None
    taken = [(c, v) for c, v in zip(columns, values) if v in PLACEHOLDERS]
    if not taken or any(c not in types for c, _ in taken):
        return None
    if any(v not in PLACEHOLDERS and not re.fullmatch(r"-?\d+|'[^']*'|NULL", v) for v in values):
        return None
    names = [c for c, _ in taken]
    select = ", ".join(f"u.{c}" if v in PLACEHOLDERS else v for c, v in zip(columns, values))
    arrays = ", ".join(f"%b::{types[c]}" for c in names)
    statement = (f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} "
                 f"FROM unnest({arrays}) AS u({', '.join(names)}){tail}")
    conflict = CONFLICT_UPDATE.search(tail)
    if conflict is None:
        return statement, None
    keys = [k.strip() for k in conflict.group(1).split(",")]
    if any(k not in names for k in keys):
        return None
    return statement, tuple(names.index(k) for k in keys)


def execute_rows(cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Write ``rows`` through ``sql`` (module docstring) on a psycopg cursor."""
    if not rows:
        return
    form = unnest_form(sql) if len(rows) > 1 else None
    if form is not None:
        statement, keys = form
        columns = [list(column) for column in zip(*rows)]
        if ((keys is None or len({tuple(r[i] for i in keys) for r in rows}) == len(rows))
                and all(len({type(v) for v in column} - {NONE}) <= 1 for column in columns)):
            cursor.execute(statement, columns)
            return
    cursor.executemany(pg_sql(sql), rows)


@lru_cache(maxsize=64)
def lookup_form(sql: str) -> str | None:
    """For ``SELECT columns FROM t WHERE key IN ({keys})`` over a text key, the statement
    taking all the keys as one array (module docstring); None for any other statement."""
    found = SELECT_IN.match(sql)
    if found is None:
        return None
    columns, table, key = found.groups()
    if COLUMN_TYPES.get(table, {}).get(key) != "text[]":
        return None
    return (f"SELECT x.* FROM unnest(%b::text[]) AS k(key) CROSS JOIN LATERAL ("
            f"SELECT {columns} FROM {table} WHERE {key} = k.key OFFSET 0) AS x")
