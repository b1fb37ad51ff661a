"""DDL of the engine's own tables, beside eventsourcing's: the same statements serve SQLite and
PostgreSQL (``?`` placeholders are rewritten for psycopg)."""

from __future__ import annotations

SIDE_TABLES: tuple[str, ...] = (
    # Next Kafka offset to apply per "topic#partition"; written in the transaction of the
    # events it produced, so the store is the source of truth of what was applied.
    """CREATE TABLE IF NOT EXISTS kafka_positions (
        key TEXT PRIMARY KEY,
        next_offset BIGINT NOT NULL
    )""",
    # Every message the worker refused, with the original bytes and why.
    """CREATE TABLE IF NOT EXISTS dead_letters (
        key TEXT PRIMARY KEY,
        topic TEXT NOT NULL,
        kafka_partition INTEGER NOT NULL,
        kafka_offset BIGINT NOT NULL,
        reason TEXT NOT NULL,
        payload TEXT NOT NULL,
        event_id TEXT,
        customer_id TEXT
    )""",
    # Messages to publish after the commit (dead letters, referral commands): an outbox, so a
    # crash between commit and send loses nothing.
    """CREATE TABLE IF NOT EXISTS outbox (
        id TEXT PRIMARY KEY,
        topic TEXT NOT NULL,
        msg_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0
    )""",
    # Every accepted source message (fact or command) with the span of member versions it
    # produced, for auditors who recompute awards from history.
    """CREATE TABLE IF NOT EXISTS source_facts (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        topic TEXT NOT NULL,
        kafka_partition INTEGER NOT NULL,
        kafka_offset BIGINT NOT NULL,
        event_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        from_version INTEGER,
        to_version INTEGER,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS source_facts_member ON source_facts (member_id)",
    """CREATE TABLE IF NOT EXISTS projection_positions (
        name TEXT PRIMARY KEY,
        notification_id BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS balances (
        member_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        available BIGINT NOT NULL,
        pending BIGINT NOT NULL,
        lifetime_earned BIGINT NOT NULL,
        redeemed BIGINT NOT NULL,
        reversed BIGINT NOT NULL,
        expired BIGINT NOT NULL,
        tier TEXT NOT NULL,
        qualifying_points BIGINT NOT NULL,
        last_activity TEXT,
        row_json TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS balances_customer ON balances (customer_id)",
    "CREATE INDEX IF NOT EXISTS balances_available ON balances (available)",
)
