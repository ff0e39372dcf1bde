"""The 24 h history in the database: one row per chain (exchange, base, expiry) and
sampling slot, each field of every contract packed in one column
(options.history_codec). The contracts of a row are its `universe`, stored once for
every row that lists the same contracts. Layout and measured cost: docs/history.md.

Imported by options.models, so that Django finds the models.
"""

from django.db import models

# What a past chain keeps of each contract: what the chain page shows, plus what the
# analytics need (greeks, open interest, volume); `ts` is the exchange's time.
HISTORY_FIELDS = (
    "mark", "bid", "ask", "mark_iv", "bid_iv", "ask_iv", "underlying", "oi",
    "index", "bid_size", "ask_size", "last", "volume_24h", "delta", "gamma", "vega",
    "theta", "ts",
)  # fmt: skip


class SampleUniverse(models.Model):
    """The contracts of a sampled chain, in strike order: "symbol strike" lines."""

    digest = models.CharField(max_length=40, unique=True)
    contracts = models.TextField()

    def entries(self) -> list[tuple[str, float]]:
        lines = (line.split(" ") for line in self.contracts.splitlines())
        return [(symbol, float(strike)) for symbol, strike in lines]


class ChainSample(models.Model):
    exchange = models.CharField(max_length=32)
    base = models.CharField(max_length=16)
    expiry = models.CharField(max_length=10)  # YYYY-MM-DD, as in the Redis keys
    at_ms = models.BigIntegerField()  # start of the sampling slot, ms since the epoch
    universe = models.ForeignKey(SampleUniverse, on_delete=models.PROTECT)
    # One packed column per field of HISTORY_FIELDS (null: no contract had it), in
    # its order: SQLite reads a row's columns up to the last one asked for, so the
    # contract page's eight come first.
    mark = models.BinaryField(null=True)
    bid = models.BinaryField(null=True)
    ask = models.BinaryField(null=True)
    mark_iv = models.BinaryField(null=True)
    bid_iv = models.BinaryField(null=True)
    ask_iv = models.BinaryField(null=True)
    underlying = models.BinaryField(null=True)
    oi = models.BinaryField(null=True)
    index = models.BinaryField(null=True)
    bid_size = models.BinaryField(null=True)
    ask_size = models.BinaryField(null=True)
    last = models.BinaryField(null=True)
    volume_24h = models.BinaryField(null=True)
    delta = models.BinaryField(null=True)
    gamma = models.BinaryField(null=True)
    vega = models.BinaryField(null=True)
    theta = models.BinaryField(null=True)
    ts = models.BinaryField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "base", "expiry", "at_ms"],
                name="chainsample_chain_slot_uniq",
            )
        ]
        indexes = [models.Index(fields=["at_ms"], name="chainsample_at")]


class ContractHour(models.Model):
    """One contract's samples of one finished hour, rolled up from that hour's
    ChainSample rows (options.history_write.roll_up): a day of one contract is 24
    small rows instead of 1,440 rows of its whole chain."""

    exchange = models.CharField(max_length=32)
    base = models.CharField(max_length=16)
    expiry = models.CharField(max_length=10)
    symbol = models.CharField(max_length=64)
    hour_ms = models.BigIntegerField()  # start of the hour, ms since the epoch
    samples = models.IntegerField()  # the chain's samples of the hour rolled up
    data = models.BinaryField()  # options.history_codec.pack_hour

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "symbol", "hour_ms"],
                name="contracthour_symbol_hour_uniq",
            )
        ]
        indexes = [
            models.Index(
                fields=["exchange", "base", "expiry", "hour_ms"],
                name="contracthour_chain_hour",
            ),
            models.Index(fields=["hour_ms"], name="contracthour_hour"),
        ]


class RollUpMark(models.Model):
    """How far the hourly roll-up (options.history_hours) has looked, for its
    exchanges: it read every ChainSample up to `seen_id` when the current hour was
    `hour_ms`; those of an earlier hour are rolled up, and every id up to
    `sample_id` is in such an hour. Each minute's check then reads only the samples
    after `sample_id` (ids only grow: AUTOINCREMENT on SQLite, a sequence on
    PostgreSQL)."""

    scope = models.CharField(max_length=200, unique=True)  # exchanges; "" for all
    sample_id = models.BigIntegerField()
    seen_id = models.BigIntegerField()
    hour_ms = models.BigIntegerField()
