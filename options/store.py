"""The Redis store: the one module that knows the key schema (docs/redis-schema.md).

The schema is a public contract: the minimal deployment (the feed plus Redis) has no
other interface. Writers are async (the feed); readers come in sync and async forms
for the API and the dashboard.
"""

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime

from redis.exceptions import NoScriptError, ResponseError

from options.instruments import Instrument

PREFIX = "ot"


def tick_key(exchange: str, symbol: str) -> str:
    """Hash: latest state of one contract, fields as in options.fields.FIELDS."""
    return f"{PREFIX}:tick:{exchange}:{symbol}"


def chain_key(exchange: str, base: str, expiry: str) -> str:
    """Sorted set: the symbols of one expiry (YYYY-MM-DD), scored by strike."""
    return f"{PREFIX}:chain:{exchange}:{base}:{expiry}"


def expiries_key(exchange: str, base: str) -> str:
    """Sorted set: the expiry dates (YYYY-MM-DD) of one base, scored by expiry ms."""
    return f"{PREFIX}:expiries:{exchange}:{base}"


def bases_key(exchange: str) -> str:
    """Set: the base coins that have a chain index."""
    return f"{PREFIX}:bases:{exchange}"


def feed_key(exchange: str) -> str:
    """Hash: the feed's status (see FEED_STATUS_FIELDS)."""
    return f"{PREFIX}:feed:{exchange}"


def universe_channel(exchange: str) -> str:
    """Pub/sub channel: the symbol universe of an exchange changed (refresh, admin,
    expiry). The message is a short reason; the feed reloads the universe when told."""
    return f"{PREFIX}:universe:{exchange}"


def notify_universe_changed(client, exchange: str, reason: str = "changed") -> int:
    """Tell running feeds to reload the universe (sync client); returns listeners."""
    return client.publish(universe_channel(exchange), reason)


FEED_STATUS_FIELDS = (
    "state", "connections", "subscribed", "msgs_total", "msgs_per_s", "malformed",
    "reconnects", "last_msg_ts", "heartbeat_ts", "started_ts", "pid",
    "rejected_topics", "silent_topics", "redis_rtt_ms", "redis_errors", "flush_ms",
    "refresh_state", "refresh_error",
)  # fmt: skip


def expiry_ms(expiry: datetime) -> int:
    return int(expiry.timestamp() * 1000)


def queue_index(pipe, instruments: Iterable[Instrument]) -> None:
    """Queue the chain and expiry index entries of these instruments on a pipeline."""
    chains: dict[str, dict[str, float]] = {}
    expiries: dict[str, dict[str, int]] = {}
    bases: dict[str, set[str]] = {}
    for inst in instruments:
        key = chain_key(inst.exchange, inst.base, inst.expiry_key)
        chains.setdefault(key, {})[inst.symbol] = float(inst.strike)
        exp_key = expiries_key(inst.exchange, inst.base)
        expiries.setdefault(exp_key, {})[inst.expiry_key] = expiry_ms(inst.expiry)
        bases.setdefault(bases_key(inst.exchange), set()).add(inst.base)
    for key, members in chains.items():
        pipe.zadd(key, members)
    for key, members in expiries.items():
        pipe.zadd(key, members)
    for key, members in bases.items():
        pipe.sadd(key, *members)


async def a_replace_index(client, exchange: str, instruments: Iterable[Instrument]):
    """Make the chain indexes hold exactly these instruments (async client).

    Entries of contracts that left while no feed was running go too. One MULTI/EXEC,
    so a reader never sees a chain half-built."""
    old_keys = []
    for base in map(_text1, await client.smembers(bases_key(exchange))):
        old_keys.append(expiries_key(exchange, base))
        days = await client.zrange(expiries_key(exchange, base), 0, -1)
        old_keys += [chain_key(exchange, base, _text1(day)) for day in days]
    pipe = client.pipeline(transaction=True)
    if old_keys:
        pipe.delete(*old_keys, bases_key(exchange))
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
        pipe.zrem(chain_key(inst.exchange, inst.base, inst.expiry_key), inst.symbol)
        pipe.expire(tick_key(inst.exchange, inst.symbol), GONE_TICK_TTL_S)
        if (inst.base, inst.expiry_key) not in remaining_expiries:
            pipe.zrem(expiries_key(inst.exchange, inst.base), inst.expiry_key)


GONE_TICK_TTL_S = 24 * 3600


def _text1(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def queue_status(pipe, exchange: str, status: Mapping[str, object]) -> None:
    pipe.hset(feed_key(exchange), mapping=status)


# Readers ------------------------------------------------------------------------
# Each reader takes a redis-py client made with decode_responses=True: the sync client
# for Django views and commands, the asyncio one (a_* functions) for async views and
# consumers. A chain is two round trips: the index, then every contract in one pipeline.


def read_tick(client, exchange: str, symbol: str) -> dict[str, str]:
    """The latest state of one contract ({} when Redis has none)."""
    return client.hgetall(tick_key(exchange, symbol))


def read_status(client, exchange: str) -> dict[str, str]:
    return client.hgetall(feed_key(exchange))


def read_bases(client, exchange: str) -> list[str]:
    return sorted(client.smembers(bases_key(exchange)))


def read_expiries(client, exchange: str, base: str) -> list[tuple[str, int]]:
    """(YYYY-MM-DD, expiry ms) pairs, soonest first."""
    pairs = client.zrange(expiries_key(exchange, base), 0, -1, withscores=True)
    return [(day, int(score)) for day, score in pairs]


def read_chain_index(
    client, exchange: str, base: str, expiry: str
) -> list[tuple[str, float]]:
    """(symbol, strike) pairs of one expiry, by strike."""
    return client.zrange(chain_key(exchange, base, expiry), 0, -1, withscores=True)


def read_ticks(
    client, exchange: str, symbols: Iterable[str], fields=None
) -> list[dict]:
    """The latest state of each symbol, in order ({} for a symbol without data).
    With `fields`, only those fields (HMGET), which is cheaper for narrow views."""
    pipe = client.pipeline(transaction=False)
    _queue_reads(pipe, exchange, symbols, fields)
    return _rows(pipe.execute(), fields)


async def a_read_tick(client, exchange: str, symbol: str) -> dict[str, str]:
    return await client.hgetall(tick_key(exchange, symbol))


async def a_read_status(client, exchange: str) -> dict[str, str]:
    return await client.hgetall(feed_key(exchange))


async def a_read_expiries(client, exchange: str, base: str) -> list[tuple[str, int]]:
    pairs = await client.zrange(expiries_key(exchange, base), 0, -1, withscores=True)
    return [(day, int(score)) for day, score in pairs]


async def a_read_chain_index(client, exchange: str, base: str, expiry: str):
    return await client.zrange(
        chain_key(exchange, base, expiry), 0, -1, withscores=True
    )


async def a_read_ticks(client, exchange: str, symbols: Iterable[str], fields=None):
    pipe = client.pipeline(transaction=False)
    _queue_reads(pipe, exchange, symbols, fields)
    return _rows(await pipe.execute(), fields)


async def a_bulk_read_chain_index(reader, exchange: str, base: str, expiry: str):
    """a_read_chain_index through an options.bulkread.BulkReader."""
    return await reader.zrange_withscores(chain_key(exchange, base, expiry))


async def a_bulk_read_ticks(reader, exchange: str, symbols: Iterable[str], fields=None):
    """a_read_ticks through an options.bulkread.BulkReader: one round trip, replies
    parsed in C (the chain endpoint's read)."""
    keys = [tick_key(exchange, symbol) for symbol in symbols]
    if fields:
        return _rows(await reader.hmget(keys, fields), fields)
    return await reader.hgetall(keys)


def _queue_reads(pipe, exchange: str, symbols: Iterable[str], fields) -> None:
    for symbol in symbols:
        if fields:
            pipe.hmget(tick_key(exchange, symbol), fields)
        else:
            pipe.hgetall(tick_key(exchange, symbol))


def _rows(replies: list, fields) -> list[dict]:
    if not fields:
        return replies
    return [
        {f: v for f, v in zip(fields, values, strict=True) if v is not None}
        for values in replies
    ]


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
        self._key_prefix = tick_key(exchange, "")

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
        keys, args = [], []
        nargs = 0
        prefix = self._key_prefix
        for symbol, row in items:
            key = prefix + symbol
            keys.append(f"${len(key)}\r\n{key}\r\n")
            count = str(2 * len(row))
            args.append(f"${len(count)}\r\n{count}\r\n")
            args.extend(
                [f"${len(f)}\r\n{f}\r\n${len(v)}\r\n{v}\r\n" for f, v in row.items()]
            )
            nargs += 1 + 2 * len(row)
        nkeys = str(len(keys))
        head = (
            f"*{3 + len(keys) + nargs}\r\n$7\r\nEVALSHA\r\n$40\r\n{self.sha}\r\n"
            f"${len(nkeys)}\r\n{nkeys}\r\n"
        )
        return "".join([head, *keys, *args]).encode("ascii")

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


# Readers for the API (api/) ----------------------------------------------------------


async def a_read_bases(client, exchange: str) -> list[str]:
    """Async read_bases: the API tells an unknown exchange from an unknown base."""
    return sorted(await client.smembers(bases_key(exchange)))


# Readers for the dashboard (dashboard/) ----------------------------------------------


def read_exchanges(client) -> list[str]:
    """Exchanges that have chain indexes. A SCAN of the keyspace: for the overview
    page, not for hot paths."""
    keys = client.scan_iter(match=bases_key("*"), count=1000)
    return sorted({key[len(bases_key("")) :] for key in keys})


# The admin and the Celery tasks (sync) ------------------------------------------


def sync_client(url: str, timeout: float = 5.0):
    """A sync client for these readers and writers: the admin and the Celery tasks.
    Short timeouts, so an admin page stays usable while Redis is down."""
    import redis

    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
    )


def read_tick_ages(
    client, exchange: str, symbols: Iterable[str], now_ms: int | None = None
) -> list[float | None]:
    """Seconds since the feed last wrote each symbol (None without data), in order:
    one pipeline of HMGET recv_ts, ts. `ts` stands in when the profile has no
    recv_ts. Used by the admin's contract list, once per page."""
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.hmget(tick_key(exchange, symbol), ["recv_ts", "ts"])
    now_ms = _now_ms() if now_ms is None else now_ms
    ages: list[float | None] = []
    for recv_ts, ts in pipe.execute():
        stamp = recv_ts or ts
        ages.append(None if stamp is None else max(0.0, (now_ms - int(stamp)) / 1000))
    return ages


def refresh_key(exchange: str) -> str:
    """Hash: the outcome of the last symbol refreshes (see REFRESH_FIELDS)."""
    return f"{PREFIX}:refresh:{exchange}"


def refresh_lock_key(exchange: str) -> str:
    """String: held (redis-py Lock) while one process refreshes the universe."""
    return f"{PREFIX}:lock:refresh:{exchange}"


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
    pipe.hset(refresh_key(exchange), mapping=fields)
    if error:
        pipe.hincrby(refresh_key(exchange), "failures", 1)
    pipe.execute()


def record_refresh_skipped(client, exchange: str) -> None:
    """A refresh found the lock held and did nothing."""
    client.hset(refresh_key(exchange), "last_skip_ts", _now_ms())


def read_refresh(client, exchange: str) -> dict[str, str]:
    return client.hgetall(refresh_key(exchange))


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
