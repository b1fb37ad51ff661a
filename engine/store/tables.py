"""DDL of the engine's own tables, beside eventsourcing's: the same statements serve SQLite and
PostgreSQL (``?`` placeholders are rewritten for psycopg)."""

from __future__ import annotations

SIDE_TABLES: tuple[str, ...] = (
    # Next Kafka offset to apply per "topic#partition"; written in the transaction of the
    # events it produced, so the store is the source of truth of what was applied.
    # last_digest identifies the record at next_offset - 1, so a worker can tell that a
    # partition's log was replaced (a recreated topic, a broker that lost its log).
    """CREATE TABLE IF NOT EXISTS kafka_positions (
        key TEXT PRIMARY KEY,
        next_offset BIGINT NOT NULL,
        last_digest TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS position_resets (
        key TEXT NOT NULL,
        stored_offset BIGINT NOT NULL,
        log_end BIGINT NOT NULL,
        reason TEXT NOT NULL,
        detected_at TEXT NOT NULL
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
    "CREATE INDEX IF NOT EXISTS outbox_key ON outbox (msg_key)",
    # The unsent messages, read after every batch: without it that read scanned every message
    # ever sent, a cost per batch that grew with the history (5.8 us per fact over the first
    # 100,000 facts, 34.2 us over the fourth; BENCHMARKS.md, 2026-12-06, night).
    "CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (id) WHERE sent = 0",
    # How far in engine time each membership partition's members have been swept: every
    # referral claim due by then has been sent (engine/service.py). Fixed-width UTC text.
    """CREATE TABLE IF NOT EXISTS sweep_marks (
        kafka_partition INTEGER PRIMARY KEY,
        swept_to TEXT NOT NULL
    )""",
    # Referral claims a referrer received and has not decided yet, so that a worker taking
    # the partition over holds those referrers in memory.
    """CREATE TABLE IF NOT EXISTS referral_claims (
        command_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        kafka_partition INTEGER NOT NULL
    )""",
    # When each member's next activation, expiry, lapse or review falls due (NULL: none), as
    # of the last batch that saved it, so that a sweep finds the members a worker did not keep
    # in memory (engine/residency.py). Fixed-width UTC text.
    """CREATE TABLE IF NOT EXISTS member_due (
        customer_id TEXT PRIMARY KEY,
        kafka_partition INTEGER NOT NULL,
        due_at TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS member_due_at ON member_due (kafka_partition, due_at)",
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
    # One link of a hash chain per stored event, written in the events' transaction
    # (engine/audit/chain.py defines the hash); tamper evidence for auditors.
    """CREATE TABLE IF NOT EXISTS event_chain (
        originator_id TEXT NOT NULL,
        originator_version INTEGER NOT NULL,
        hash TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (originator_id, originator_version)
    )""",
    # -- read models (engine/projections/): each folded from the notification log, written
    # in the transaction that moves its position; times are fixed-width UTC text.
    """CREATE TABLE IF NOT EXISTS projection_meta (
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (name, key)
    )""",
    """CREATE TABLE IF NOT EXISTS lots (
        lot_key TEXT PRIMARY KEY,
        member_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        lot_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        points BIGINT NOT NULL,
        remaining BIGINT NOT NULL,
        expired BIGINT NOT NULL,
        status TEXT NOT NULL,
        earned_at TEXT NOT NULL,
        expires_at TEXT,
        warned INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS lots_member ON lots (member_id)",
    "CREATE INDEX IF NOT EXISTS lots_notice ON lots (expires_at) WHERE warned = 0",
    """CREATE TABLE IF NOT EXISTS tier_members (
        member_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        tier TEXT NOT NULL,
        since TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS tier_flows (
        month TEXT NOT NULL,
        tier TEXT NOT NULL,
        entered BIGINT NOT NULL,
        exited BIGINT NOT NULL,
        upgrades BIGINT NOT NULL,
        downgrades BIGINT NOT NULL,
        PRIMARY KEY (month, tier)
    )""",
    """CREATE TABLE IF NOT EXISTS churn (
        member_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        grade TEXT NOT NULL,
        r_score INTEGER NOT NULL,
        f_score INTEGER NOT NULL,
        m_score INTEGER NOT NULL,
        orders BIGINT NOT NULL,
        spend_minor BIGINT NOT NULL,
        gap_days INTEGER NOT NULL,
        last_order_at TEXT,
        at_risk_from TEXT NOT NULL,
        regrade_at TEXT,
        stats_json TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS churn_grade ON churn (grade, customer_id)",
    "CREATE INDEX IF NOT EXISTS churn_regrade ON churn (regrade_at)",
    """CREATE TABLE IF NOT EXISTS metrics_months (
        month TEXT PRIMARY KEY,
        enrolled BIGINT NOT NULL,
        orders BIGINT NOT NULL,
        revenue_minor BIGINT NOT NULL,
        refunds BIGINT NOT NULL,
        refunded_minor BIGINT NOT NULL,
        points_issued BIGINT NOT NULL,
        points_redeemed BIGINT NOT NULL,
        points_reversed BIGINT NOT NULL,
        points_expired BIGINT NOT NULL,
        redemptions BIGINT NOT NULL,
        reviews BIGINT NOT NULL,
        shares BIGINT NOT NULL,
        promoters BIGINT NOT NULL,
        passives BIGINT NOT NULL,
        detractors BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS member_months (
        month TEXT NOT NULL,
        member_id TEXT NOT NULL,
        orders BIGINT NOT NULL,
        reviews BIGINT NOT NULL,
        shares BIGINT NOT NULL,
        activity BIGINT NOT NULL,
        PRIMARY KEY (month, member_id)
    )""",
    "CREATE INDEX IF NOT EXISTS member_months_member ON member_months (member_id)",
)
