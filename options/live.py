"""The live-update contract between the feed (publisher) and the dashboard (consumers).

Right after each flush (every 100 ms by default, once the rows are in Redis) the feed
publishes one message per (exchange, base, expiry) group that names the contracts
written, each with its full latest row, so a lost message heals with the next one.
How often a page hears of it is the dashboard's business: each socket sends as soon as
its page may have a message, at most 10 a second (dashboard.consumers). Consumers
receive them through the channel layer (channels-redis's pub/sub layer with the JSON
serializer, see settings.CHANNEL_LAYERS). The feed does not import channels: its
process stays small, so it PUBLISHes the JSON itself to the Redis channel that the
pub/sub layer uses for a group (`{prefix}__group__{group}`, channels-redis 4.x); the
consumer tests exercise that agreement with the real layer.
"""

import orjson

EVENT_TYPE = "chain.update"  # handled by ChainConsumer.chain_update
LAYER_PREFIX = "asgi"  # must equal CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]


def chain_group(exchange: str, base: str, expiry: str) -> str:
    """The group of everyone watching one chain (expiry as YYYY-MM-DD)."""
    return f"chain.{exchange}.{base}.{expiry}"


def group_channel(group: str, prefix: str = LAYER_PREFIX) -> str:
    """The Redis channel on which the pub/sub layer delivers a group's messages."""
    return f"{prefix}__group__{group}"


def chain_message(exchange: str, base: str, expiry: str, rows: dict, at: int) -> bytes:
    """{"type": "chain.update", "exchange", "base", "expiry", "at", "rows": {symbol:
    row}}; `at` is the flush that wrote the rows (ms since the epoch, a multiple of
    the feed's flush interval), unique per message of a group."""
    return orjson.dumps(
        {
            "type": EVENT_TYPE,
            "exchange": exchange,
            "base": base,
            "expiry": expiry,
            "at": at,
            "rows": rows,
        }
    )
