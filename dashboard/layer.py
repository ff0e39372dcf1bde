"""The channel layer's JSON, decoded once per process rather than once per socket.

channels-redis's pub/sub layer hands the same published bytes to every consumer of a
group and each consumer decodes them: 200 sockets on a 230-contract chain meant 200
json.loads of ~150 kB four times a second, which alone saturated a core in
bench/dashboard_bench.py. This serializer keeps the wire format (JSON, so the feed's
orjson PUBLISH in options/live.py is unchanged), decodes with orjson, and returns the
same dict to every consumer of the same bytes. Consumers must treat events as
read-only (ChainConsumer.chain_update does). Registered for "json" in apps.py.
"""

from collections import OrderedDict

import orjson
from channels_redis.serializers import BaseMessageSerializer, registry

MEMO_SIZE = 32  # recent messages: enough for every group of a busy exchange


class SharedJSONSerializer(BaseMessageSerializer):
    as_bytes = staticmethod(orjson.dumps)
    from_bytes = staticmethod(orjson.loads)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._memo: OrderedDict[int, tuple[bytes, dict]] = OrderedDict()

    def deserialize(self, message):
        # Keyed by identity: the layer queues one bytes object for all its channels.
        hit = self._memo.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
        value = super().deserialize(message)
        self._memo[id(message)] = (message, value)
        if len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)
        return value


def install() -> None:
    registry.register_serializer("json", SharedJSONSerializer)
