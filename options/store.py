"""The write side of the Redis store (key names: options.keys; reads: options.read).

The feed's bulk tick writer, the chain index writes, the feed's status, the universe
notification and the refresh record. The schema (docs/redis-schema.md) is a public
contract: the minimal deployment (the feed plus Redis) has no other interface.
"""

import hashlib
import time
from collections.abc import Iterable, Mapping
from datetime import datetime

from redis.exceptions import NoScriptError, ResponseError

from options import keys
from options.instruments import Instrument


def notify_universe_changed(client, exchange: str, reason: str = "changed") -> int:
    """Tell running feeds to reload the universe (sync client); returns listeners."""
    return client.publish(keys.universe_channel(exchange), reason)


FEED_STATUS_FIELDS = (
    "state", "connections", "subscribed", "msgs_total", "msgs_per_s", "malformed",
    "reconnects", "last_msg_ts", "heartbeat_ts", "started_ts", "pid",
    "rejected_topics", "silent_topics", "redis_rtt_ms", "redis_errors", "flush_ms",
    "refresh_state", "refresh_error", "invalid", "invalid_fields",
)  # fmt: skip


def expiry_ms(expiry: datetime) -> int:
    return int(expiry.timestamp() * 1000)


def queue_index(pipe, instruments: Iterable[Instrument]) -> None:
    """Queue the chain and expiry index entries of these instruments on a pipeline."""
    chains: dict[str, dict[str, float]] = {}
    expiries: dict[str, dict[str, int]] = {}
    bases: dict[str, set[str]] = {}
    for inst in instruments:
        key = keys.chain(inst.exchange, inst.base, inst.expiry_key)
        chains.setdefault(key, {})[inst.symbol] = float(inst.strike)
        exp_key = keys.expiries(inst.exchange, inst.base)
        expiries.setdefault(exp_key, {})[inst.expiry_key] = expiry_ms(inst.expiry)
        bases.setdefault(keys.bases(inst.exchange), set()).add(inst.base)
    for key, members in chains.items():
        pipe.zadd(key, members)
    for key, members in expiries.items():
        pipe.zadd(key, members)
    for key, members in bases.items():
        pipe.sadd(key, *members)


async def a_replace_index(
    client, exchange: str, instruments: Iterable[Instrument], bases=None
):
    """Make the chain indexes hold exactly these instruments (async client): of
    every base, or of `bases` only (a shard leaves the others' indexes alone).

    Entries of contracts that left while no feed was running go too. One MULTI/EXEC,
    so a reader never sees a chain half-built."""
    old_keys = []
    indexed = list(map(_text1, await client.smembers(keys.bases(exchange))))
    for base in indexed if bases is None else set(indexed) & set(bases):
        old_keys.append(keys.expiries(exchange, base))
        days = await client.zrange(keys.expiries(exchange, base), 0, -1)
        old_keys += [keys.chain(exchange, base, _text1(day)) for day in days]
    pipe = client.pipeline(transaction=True)
    if old_keys:
        pipe.delete(*old_keys)
    if bases is None:
        pipe.delete(keys.bases(exchange))
    elif bases:
        pipe.srem(keys.bases(exchange), *bases)
    queue_index(pipe, instruments)
    await pipe.execute()


def queue_unindex(
    pipe, instruments: Iterable[Instrument], remaining: Iterable[Instrument]
) -> None:
    """Queue the removal of these instruments from the chain indexes; an expiry with
    no remaining instrument leaves the expiry index. Their tick hashes expire after a
    day, so the last state stays readable for a while."""
    remaining_expiries = {(i.base, i.expiry_key) for i in remaining}
    for inst in instruments:
        pipe.zrem(keys.chain(inst.exchange, inst.base, inst.expiry_key), inst.symbol)
        pipe.expire(keys.tick(inst.exchange, inst.symbol), GONE_TICK_TTL_S)
        if (inst.base, inst.expiry_key) not in remaining_expiries:
            pipe.zrem(keys.expiries(inst.exchange, inst.base), inst.expiry_key)


GONE_TICK_TTL_S = 24 * 3600


def _text1(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def status_key(exchange: str, shard: str = "") -> str:
    """Where a feed writes its status: its shard's hash, or the exchange's."""
    return keys.feed_shard(exchange, shard) if shard else keys.feed(exchange)


def queue_status(
    pipe, exchange: str, status: Mapping[str, object], shard: str = ""
) -> None:
    pipe.hset(status_key(exchange, shard), mapping=status)
    if shard:
        pipe.sadd(keys.feed_shards(exchange), shard)


# The feed's bulk writer ------------------------------------------------------------


class TickWriter:
    """Writes many contracts' changed fields in one command.

    Profiling showed redis-py's per-command packing and reply parsing taking a quarter
    of the feed's CPU at Bybit's real rate (2,100 HSETs per flush). So the whole flush
    is one EVALSHA of a short Lua script whose arguments are packed here in one pass:
    one command, one reply. Keys, fields and values are ASCII (the feed checks values).
    """

    SCRIPT = """
local a = 1
for i = 1, #KEYS do
  local n = tonumber(ARGV[a])
  redis.call('HSET', KEYS[i], unpack(ARGV, a + 1, a + n))
  a = a + n + 1
end
return #KEYS
"""

    def __init__(self, client, exchange: str):
        self.client = client
        self.exchange = exchange
        self.sha = hashlib.sha1(self.SCRIPT.encode()).hexdigest()
        self._key_prefix = keys.tick(exchange, "")

    CHUNK = 256  # contracts per command: bounds the packing's transient memory

    async def write(self, rows: Mapping[str, Mapping[str, str]]) -> int:
        """HSET every row; returns the number of contracts written."""
        items = [(symbol, row) for symbol, row in rows.items() if row]
        for start in range(0, len(items), self.CHUNK):
            command = self.command(items[start : start + self.CHUNK])
            try:
                await self._send(command)
            except NoScriptError:
                await self.client.script_load(self.SCRIPT)  # a new or restarted Redis
                await self._send(command)
        return len(items)

    def command(self, items: list[tuple[str, Mapping[str, str]]]) -> bytes:
        """One EVALSHA that HSETs every (symbol, fields) pair."""
        packed_keys, args = [], []
        nargs = 0
        prefix = self._key_prefix
        for symbol, row in items:
            key = prefix + symbol
            packed_keys.append(f"${len(key)}\r\n{key}\r\n")
            count = str(2 * len(row))
            args.append(f"${len(count)}\r\n{count}\r\n")
            args.extend(
                [f"${len(f)}\r\n{f}\r\n${len(v)}\r\n{v}\r\n" for f, v in row.items()]
            )
            nargs += 1 + 2 * len(row)
        nkeys = str(len(packed_keys))
        head = (
            f"*{3 + len(packed_keys) + nargs}\r\n$7\r\nEVALSHA\r\n$40\r\n{self.sha}\r\n"
            f"${len(nkeys)}\r\n{nkeys}\r\n"
        )
        return "".join([head, *packed_keys, *args]).encode("ascii")

    async def _send(self, command: bytes) -> int:
        pool = self.client.connection_pool
        conn = await pool.get_connection()
        try:
            await conn.send_packed_command(command, check_health=False)
            reply = await conn.read_response()
        except ResponseError:
            raise
        except BaseException:
            await conn.disconnect()
            raise
        finally:
            await pool.release(conn)
        return int(reply)


REFRESH_FIELDS = (
    "state", "last_run_ts", "last_ok_ts", "last_report", "last_error",
    "last_error_ts", "failures", "last_skip_ts",
)  # fmt: skip


def record_refresh(client, exchange: str, report: str, error: str = "") -> None:
    """Record one refresh attempt: `ok`, or `failed` with its error (`failures`
    counts the failed attempts since the last good one)."""
    now = str(_now_ms())
    fields = {"last_run_ts": now, "last_report": report}
    if error:
        fields.update(state="failed", last_error=error, last_error_ts=now)
    else:
        fields.update(state="ok", last_ok_ts=now, failures=0)
    pipe = client.pipeline(transaction=True)
    pipe.hset(keys.refresh(exchange), mapping=fields)
    if error:
        pipe.hincrby(keys.refresh(exchange), "failures", 1)
    pipe.execute()


def record_refresh_skipped(client, exchange: str) -> None:
    """A refresh found the lock held and did nothing."""
    client.hset(keys.refresh(exchange), "last_skip_ts", _now_ms())


def read_refresh(client, exchange: str) -> dict[str, str]:
    return client.hgetall(keys.refresh(exchange))


def _now_ms() -> int:
    return int(time.time() * 1000)
