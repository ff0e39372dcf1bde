"""The channel layer's JSON, decoded once per process rather than once per socket.

channels-redis's pub/sub layer hands the same published bytes to every consumer of a
group and each consumer decodes them: 200 sockets on a 230-contract chain meant 200
json.loads of ~150 kB four times a second, which alone saturated a core in
bench/dashboard_bench.py. This serializer keeps the wire format (JSON, so the feed's
orjson PUBLISH in options/live.py is unchanged), decodes with orjson, and returns the
same dict to every consumer of the same bytes. Consumers must treat events as
read-only (ChainConsumer.chain_update does). Registered for "json" in apps.py.

`forget_channel` frees what the layer keeps for a consumer that has ended.
"""

from collections import OrderedDict

import orjson
from channels_redis.serializers import BaseMessageSerializer, registry

MEMO_SIZE = 8  # recent messages: a group's consumers all decode one within milliseconds


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


async def forget_channel(layer, channel: str) -> None:
    """Drop an ended consumer's channel: its queue and its Redis subscription.

    channels-redis's pub/sub layer (4.3) drops them only when the consumer's pending
    receive() is cancelled. When a socket closes just after that receive() returned
    an event, Channels never calls it again, and the layer keeps the channel with the
    events queued for it for good (django/channels_redis#276): about a third of the
    sockets of a burst, 2 MB per 300 (bench/socket_bursts.py). Uses the layer's
    per-loop internals, as of the pinned channels-redis; other layers are left as
    they are."""
    get_layer = getattr(layer, "_get_layer", None)
    if get_layer is None:
        return
    loop_layer = get_layer()
    channels = getattr(loop_layer, "channels", {})
    if channels.pop(channel, None) is not None:
        await loop_layer._get_shard(channel).unsubscribe(channel)
