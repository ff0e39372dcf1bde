"""The read model: async readers that return options.rows' typed rows.

The API and the dashboard read Redis only through these. Every reader uses the
running loop's clients (options.clients); many hashes are read in one round trip
through the BulkReader, replies parsed in C (a 200-contract chain is the index, then
one round trip for every contract). An unknown name raises NotFound, which says
which of exchange, base, expiry or symbol it was.

The admin's tick ages are the one sync reader: Django's admin is sync.
"""

import time
from collections.abc import Iterable, Sequence

from options import clients, keys
from options.quote import QUOTED, Strike, indexed_strikes, quotes_of
from options.rows import (
    PRICE_FIELDS,
    STAMP_FIELDS,
    Chain,
    Expiry,
    FeedHealth,
    Tick,
    age_ms,
    atm_index,
    centre_price,
    chain_rows,
    feed_health,
    freshest_index,
    sharded_health,
    stamp_ms,
    usable,
)


class NotFound(LookupError):
    """Redis has no such exchange, base, expiry or symbol; `field` says which."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def now_ms() -> int:
    return int(time.time() * 1000)


# Chains and contracts -------------------------------------------------------------


async def read_chain(
    exchange: str,
    base: str,
    expiry: str,
    *,
    strike_min: float | None = None,
    strike_max: float | None = None,
    fields: Sequence[str] | None = None,
    remember: bool = True,
) -> Chain:
    """The chain of one expiry, only strikes within the bounds (inclusive), each
    contract with only `fields` (all it has when None; each of them, None when the
    contract lacks it). Values that cannot be used are None (options.rows.usable).
    The ATM row is found from the selected contracts' valid prices whatever the
    fields. `remember=False`: the check of each hash does not keep it for the next
    read (options.rows.usable), for a reader that comes back only after every
    contract has changed (the history, once a minute)."""
    index = await _zrange(keys.chain(exchange, base, expiry))
    if not index:
        raise await _missing(exchange, base, expiry)
    if strike_min is not None or strike_max is not None:
        index = within(index, strike_min, strike_max)
    wanted = _wanted(fields)
    states = await _hashes([keys.tick(exchange, s) for s, _ in index], wanted)
    return _chain((exchange, base, expiry), index, states, fields, remember)


def _wanted(fields: Sequence[str] | None) -> list[str] | None:
    """The fields to read: the asked ones and the prices a chain is centred on."""
    return None if fields is None else list(dict.fromkeys((*fields, *PRICE_FIELDS)))


def _chain(names, index, states, fields, remember: bool = True) -> Chain:
    """A Chain from its index and its contracts' states, read with _wanted(fields)."""
    asked = None if fields is None else frozenset(fields)
    states = [
        usable(state, asked, keys.tick(names[0], symbol) if remember else "")
        for state, (symbol, _) in zip(states, index, strict=True)
    ]
    narrow = fields is not None and len(_wanted(fields)) > len(fields)
    return chain_of(names, index, states, fields if narrow else None)


def chain_of(names, index, states, keep=None) -> Chain:
    """The Chain of (exchange, base, expiry) from its index ((symbol, strike) pairs)
    and each contract's usable state; the ATM row is found from every field of the
    states, which then keep only the fields in `keep` (all when None).
    options.history builds past chains with it too."""
    price = centre_price(states)
    if keep is not None:
        keep = set(keep)
        states = [{f: v for f, v in s.items() if f in keep} for s in states]
    rows = chain_rows(
        Tick(symbol, state, strike)
        for (symbol, strike), state in zip(index, states, strict=True)
    )
    atm = atm_index([row.strike for row in rows], float(price)) if price else None
    return Chain(*names, rows, price, atm)


async def read_chains(
    exchange: str, base: str, *, fields: Sequence[str] | None = None
) -> list[tuple[Expiry, Chain]]:
    """Every expiry of a base with its whole chain, soonest first, in three round
    trips (the expiries, their indexes, every contract)."""
    expiries = await read_expiries(exchange, base)
    indexes = await _zranges([keys.chain(exchange, base, e.expiry) for e in expiries])
    flat = [keys.tick(exchange, s) for index in indexes for s, _ in index]
    states = iter(await _hashes(flat, _wanted(fields)))
    return [
        (e, _chain((exchange, base, e.expiry), index, [next(states) for _ in index],
                   fields))
        for e, index in zip(expiries, indexes, strict=True)
    ]  # fmt: skip


async def read_quotes(exchange: str, base: str) -> list[tuple[Expiry, list[Strike]]]:
    """Every expiry of a base, soonest first, as the analytics read it: each
    strike's call and put Quote (options.quote), in three round trips; the same
    numbers as read_chains' rows give, without a dict or a Tick per contract."""
    expiries = await read_expiries(exchange, base)
    indexes = await _zranges([keys.chain(exchange, base, e.expiry) for e in expiries])
    flat = [keys.tick(exchange, s) for index in indexes for s, _ in index]
    found = iter(quotes_of(await _values(flat, QUOTED)))
    return [
        (e, indexed_strikes(index, [next(found) for _ in index]))
        for e, index in zip(expiries, indexes, strict=True)
    ]


def within(index, low: float | None, high: float | None) -> list:
    low = -float("inf") if low is None else low
    high = float("inf") if high is None else high
    return [(symbol, strike) for symbol, strike in index if low <= strike <= high]


async def read_tick(exchange: str, symbol: str) -> Tick:
    (state,) = await _hashes([keys.tick(exchange, symbol)])
    if not state:
        raise await _missing(exchange, symbol=symbol)
    return Tick(symbol, usable(state))


async def read_expiries(exchange: str, base: str) -> list[Expiry]:
    """The expiries that have a chain index, soonest first."""
    pairs = await _zrange(keys.expiries(exchange, base))
    if not pairs:
        raise await _missing(exchange, base)
    return [Expiry(day, int(ms)) for day, ms in pairs]


async def read_strikes(
    exchange: str, base: str, expiry: str | None = None
) -> list[float]:
    """The strikes of one expiry, or of every expiry of the base, ascending."""
    if expiry:
        days = [expiry]
    else:
        days = [day for day, _ in await _zrange(keys.expiries(exchange, base))]
    indexes = await _zranges([keys.chain(exchange, base, day) for day in days])
    strikes = {strike for index in indexes for _, strike in index}
    if not strikes:
        raise await _missing(exchange, base, expiry)
    return sorted(strikes)


# What exists --------------------------------------------------------------------


async def read_bases(exchange: str) -> list[str]:
    """The base coins of an exchange that have chain indexes."""
    return sorted(await clients.async_client().smembers(keys.bases(exchange)))


async def read_exchanges() -> list[str]:
    """Exchanges that have chain indexes. A SCAN of the keyspace: for the overview
    page, not for hot paths."""
    found = set()
    async for key in clients.async_client().scan_iter(keys.bases("*"), count=1000):
        found.add(keys.exchange_of_bases(key))
    return sorted(found)


async def read_index_prices(
    exchange: str, bases: Iterable[str]
) -> dict[str, str | None]:
    """The index price of each base (options.rows.freshest_index over the contracts
    of its nearest expiry); None for a base without one. Three round trips."""
    bases = list(bases)
    expiries = await _zranges([keys.expiries(exchange, base) for base in bases])
    nearest = [(b, e[0][0]) for b, e in zip(bases, expiries, strict=True) if e]
    chains = await _zranges([keys.chain(exchange, b, day) for b, day in nearest])
    symbols = [[s for s, _ in index] for index in chains]
    flat = [keys.tick(exchange, s) for group in symbols for s in group]
    states = iter(map(usable, await _hashes(flat, ("index", *STAMP_FIELDS))))
    prices = dict.fromkeys(bases)
    for (base, _), group in zip(nearest, symbols, strict=True):
        prices[base] = freshest_index([next(states) for _ in group])
    return prices


async def read_feed_health(exchange: str) -> FeedHealth:
    """The feed's health; with shards (several feeds side by side), the whole
    exchange's, each shard's in `shards` (a feed without a shard among them)."""
    names = sorted(await clients.async_client().smembers(keys.feed_shards(exchange)))
    statuses = await _hashes(
        [keys.feed(exchange), *(keys.feed_shard(exchange, n) for n in names)]
    )
    now = now_ms()
    if not names:
        return feed_health(exchange, statuses[0], now)
    parts = [
        feed_health(exchange, status, now, name)
        for name, status in zip(names, statuses[1:], strict=True)
    ]
    if statuses[0]:
        parts.insert(0, feed_health(exchange, statuses[0], now))
    return sharded_health(exchange, parts)


async def read_feed_status(exchange: str) -> dict[str, str]:
    """The feed's raw status hash ({} when no feed ever ran): every field of
    options.store's status, for exporters (options.metrics)."""
    (status,) = await _hashes([keys.feed(exchange)])
    return status


# The admin (sync) ---------------------------------------------------------------


def read_tick_ages(
    client, exchange: str, symbols: Iterable[str], now: int | None = None
) -> list[float | None]:
    """Seconds since the feed last wrote each symbol (None without data), in order:
    one pipeline on a sync client. Used by the admin's contract list, once a page."""
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.hmget(keys.tick(exchange, symbol), STAMP_FIELDS)
    now = now_ms() if now is None else now
    ages = []
    for values in pipe.execute():
        age = age_ms(stamp_ms(_pairs(STAMP_FIELDS, values)), now)
        ages.append(None if age is None else age / 1000)
    return ages


# Raw reads: the BulkReader where the URL allows it, else a pipeline -----------------


async def _missing(exchange, base=None, expiry=None, symbol=None) -> NotFound:
    """The NotFound for an empty read: which name is unknown."""
    known = await read_bases(exchange)
    if not known:
        return NotFound("exchange", f"unknown exchange {exchange!r}")
    if symbol is not None:
        return NotFound("symbol", f"no data for symbol {symbol!r} on {exchange}")
    if base not in known:
        message = f"unknown base {base!r} on {exchange}; known: {', '.join(known)}"
        return NotFound("base", message)
    return NotFound("expiry", f"no expiry {expiry} for {exchange} {base}")


async def _hashes(
    hash_keys: list[str], fields: Sequence[str] | None = None
) -> list[dict[str, str]]:
    """Each hash as a dict ({} when missing); only `fields` when given (HMGET)."""
    if fields is not None:
        return [_pairs(fields, values) for values in await _values(hash_keys, fields)]
    bulk = clients.bulk_reader()
    if bulk is not None:
        return await bulk.hgetall(hash_keys)
    pipe = clients.async_client().pipeline(transaction=False)
    for key in hash_keys:
        pipe.hgetall(key)
    return await pipe.execute()


async def _values(
    hash_keys: list[str], fields: Sequence[str]
) -> list[list[str | None]]:
    """The fields of each hash, in order (HMGET: None where absent)."""
    bulk = clients.bulk_reader()
    if bulk is not None:
        return await bulk.hmget(hash_keys, fields)
    pipe = clients.async_client().pipeline(transaction=False)
    for key in hash_keys:
        pipe.hmget(key, fields)
    return await pipe.execute()


async def _zrange(key: str) -> list[tuple[str, float]]:
    (members,) = await _zranges([key])
    return members


async def _zranges(zset_keys: list[str]) -> list[list[tuple[str, float]]]:
    """Every member of each sorted set with its score, in order."""
    bulk = clients.bulk_reader()
    if bulk is not None:
        return await bulk.zranges_withscores(zset_keys)
    pipe = clients.async_client().pipeline(transaction=False)
    for key in zset_keys:
        pipe.zrange(key, 0, -1, withscores=True)
    return await pipe.execute()


def _pairs(fields: Sequence[str], values: Sequence[str | None]) -> dict[str, str]:
    return {f: v for f, v in zip(fields, values, strict=True) if v is not None}
