"""The read side's records: decoded straight from the stored JSON, they carry what the
library's mapper gives (the fields and time of every event), and their time as ``ts`` text."""

from __future__ import annotations

from engine.demo.generate import generate
from engine.projections.records import Decoder, raw_page, read
from engine.projections.support import ts
from tests.support.read_side import feed


def test_records_agree_with_the_library_mapper(store):
    feed(store, generate(customers=30, days=120, seed=5))
    decoder = Decoder(store.app.mapper)
    records = read(store, decoder, 0, 100_000)
    assert len(records) == store.max_notification_id() > 500
    assert len({r.name for r in records}) >= 8
    mapper = Decoder(store.app.mapper)
    for row, record in zip(raw_page(store, 0, 100_000), records, strict=True):
        expected = mapper._slow(*row)  # through the library's mapper
        assert (record.id, record.key, record.version, record.name, record.qualname,
                record.member) == (expected.id, expected.key, expected.version, expected.name,
                                   expected.qualname, expected.member)
        assert record.fields == expected.fields
        assert record.timestamp == expected.timestamp
        assert record.at == expected.at == ts(record.timestamp)


def test_raw_pages_are_the_library_notifications_page_by_page(store):
    feed(store, generate(customers=10, days=60, seed=3))
    last = store.max_notification_id()
    assert last > 100
    for after, limit in ((0, 40), (40, 1), (57, 1000), (last, 10)):
        expected = [(n.id, n.originator_id.hex, n.originator_version, n.topic, bytes(n.state))
                    for n in store.notifications(after, limit)]
        assert [tuple(row) for row in raw_page(store, after, limit)] == expected
    assert list(raw_page(store, last, 10)) == []
