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
