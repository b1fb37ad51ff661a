"""eventsourcing's JSON transcoding, through orjson: the same bytes, several times faster.

The library's JSONTranscoder writes compact JSON (``separators=(",", ":")``, non-ASCII kept)
and a registered type as ``{"_type_": name, "_data_": ...}``. orjson writes the same bytes for
the values event states hold here (str, int, bool, None, lists, dicts, and datetimes, Decimals
and UUIDs through the registered transcodings), so stored events do not depend on which encoder
wrote them. Anything unusual (a UUID, which orjson would write as a bare string; nested typed
values on decode) goes through the library's own code.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder

OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
TYPE_MARK = b'"_type_"'


class FastJSONTranscoder(JSONTranscoder):
    def encode(self, obj: Any) -> bytes:
        if isinstance(obj, dict) and not any(isinstance(v, UUID) for v in obj.values()):
            try:
                return orjson.dumps(obj, default=self._encode_obj, option=OPTIONS)
            except TypeError:
                pass
        return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        marks = data.count(TYPE_MARK)
        obj = orjson.loads(data)
        if not marks:
            return obj
        if not isinstance(obj, dict):
            return super().decode(data)
        restored = 0
        for key, value in obj.items():
            if isinstance(value, dict) and "_type_" in value:
                obj[key] = self._decode_obj(value)
                restored += 1
        return obj if restored == marks else super().decode(data)
