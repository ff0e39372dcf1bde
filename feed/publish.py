"""The dashboard's live updates (options.live): after every flush, the rows it wrote,
one message per watched chain.

A live update costs the feed a full row and its JSON per changed contract, and at full
rate every contract changes at every flush. A chain nobody watches needs none of it,
and at a time most chains have no viewer. So the message of a chain is built only while
its channel has a subscriber (a daphne process with a page on it, or anyone else):
PUBSUB NUMSUB, asked in the same round trip as the publish, tells which. A chain that
gains a viewer gets all its rows at the next flush, since its page may have missed
changes between its snapshot and then. While anyone has a pattern subscription
(`redis-cli psubscribe 'asgi__group__chain.*'`), every chain counts as watched.
The runner writes the watched chains' contracts first (take_watched) and publishes
before it writes the rest, so that a page's change never waits for that write.
"""

import logging
from collections.abc import Iterable, Mapping

from redis.exceptions import RedisError

from feed.conflate import Conflator
from options import live
from options.instruments import Instrument

log = logging.getLogger(__name__)


class LivePublisher:
    def __init__(self, redis, exchange: str, conflator: Conflator):
        self.redis = redis
        self.exchange = exchange
        self.conflator = conflator
        self.changed: set[str] = set()  # written since the last publish
        self.watched: set[bytes] | None = None  # channels with a viewer; None: all
        self._universe: Mapping[str, Instrument] = {}
        self._channel_of: dict[str, bytes] = {}  # symbol -> its chain's channel
        self._chains: dict[bytes, tuple[str, str]] = {}  # channel -> (base, expiry)
        self._hot: set[str] = set()  # the contracts of the watched chains

    def take_watched(self, pending: dict) -> list:
        """Take the items of the watched chains' contracts out of a flush's pending
        ones (all of them until the first publish has told who watches)."""
        if self.watched is None:
            items = list(pending.items())
            pending.clear()
            return items
        hot = self._hot
        few, many = (hot, pending) if len(hot) < len(pending) else (pending, hot)
        symbols = [symbol for symbol in few if symbol in many]
        return [(symbol, pending.pop(symbol)) for symbol in symbols]

    def note(self, symbols: Iterable[str]) -> None:
        """Contracts just written to Redis: they go out with the next publish."""
        self.changed.update(symbols)

    async def publish(self, instruments: Mapping[str, Instrument], at: int) -> None:
        """One message per watched chain naming its contracts written since the last
        publish, with full rows; `at` is the flush point. Rows are built one chain at
        a time, which bounds the memory this takes."""
        if not self.changed:
            return
        self._follow(instruments)
        changed, self.changed = self.changed, set()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for channel, symbols in self._by_chain(changed).items():
                    pipe.publish(channel, self._message(channel, symbols, at))
                pipe.pubsub_numpat()
                pipe.pubsub_numsub(*self._chains)
                *_, numpat, numsub = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.debug("feed %s: live update not published: %s", self.exchange, exc)
            return
        self._watch(numpat, numsub)

    def _follow(self, instruments: Mapping[str, Instrument]) -> None:
        """Each contract's chain channel, worked out once per universe."""
        if instruments is self._universe:
            return
        self._universe = instruments
        self._channel_of, self._chains = {}, {}
        for symbol, inst in instruments.items():
            group = live.chain_group(self.exchange, inst.base, inst.expiry_key)
            channel = live.group_channel(group).encode()
            self._channel_of[symbol] = channel
            self._chains.setdefault(channel, (inst.base, inst.expiry_key))
        if self.watched is not None:
            watched = self.watched
            self._hot = {s for s, c in self._channel_of.items() if c in watched}

    def _by_chain(self, symbols: Iterable[str]) -> dict[bytes, list[str]]:
        watched, channel_of = self.watched, self._channel_of
        chains: dict[bytes, list[str]] = {}
        for symbol in symbols:
            channel = channel_of.get(symbol)
            if channel is not None and (watched is None or channel in watched):
                chains.setdefault(channel, []).append(symbol)
        return chains

    def _message(self, channel: bytes, symbols: list[str], at: int) -> bytes:
        row = self.conflator.row
        rows = {symbol: r for symbol in symbols if (r := row(symbol))}
        base, expiry = self._chains[channel]
        return live.chain_message(self.exchange, base, expiry, rows, at)

    def _watch(self, numpat: int, numsub: list[tuple[bytes, int]]) -> None:
        """Note which chains have a viewer now; one that just gained one gets all
        its rows next time."""
        if numpat:
            watched = set(self._chains)
        else:
            watched = {channel for channel, count in numsub if count}
        before = set(self._chains) if self.watched is None else self.watched
        gained = watched - before
        if gained:
            self.note(s for s, c in self._channel_of.items() if c in gained)
        if watched != self.watched:
            self._hot = {s for s, c in self._channel_of.items() if c in watched}
        self.watched = watched
