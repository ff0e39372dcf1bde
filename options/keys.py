"""Every Redis key and channel name of the store (docs/redis-schema.md), and nothing
else: the one module that spells `ot:`.

The schema is a public contract (the minimal deployment, the feed plus Redis, has no
other interface): names are only ever added, never changed.
"""

PREFIX = "ot"


def tick(exchange: str, symbol: str) -> str:
    """Hash: latest state of one contract, fields as in options.fields.FIELDS."""
    return f"{PREFIX}:tick:{exchange}:{symbol}"


def chain(exchange: str, base: str, expiry: str) -> str:
    """Sorted set: the symbols of one expiry (YYYY-MM-DD), scored by strike."""
    return f"{PREFIX}:chain:{exchange}:{base}:{expiry}"


def expiries(exchange: str, base: str) -> str:
    """Sorted set: the expiry dates (YYYY-MM-DD) of one base, scored by expiry ms."""
    return f"{PREFIX}:expiries:{exchange}:{base}"


def bases(exchange: str) -> str:
    """Set: the base coins that have a chain index."""
    return f"{PREFIX}:bases:{exchange}"


def exchange_of_bases(key: str) -> str:
    """The exchange named by a `bases` key (the overview finds exchanges by SCAN)."""
    return key[len(bases("")) :]


def feed(exchange: str) -> str:
    """Hash: the feed's status (options.store.FEED_STATUS_FIELDS)."""
    return f"{PREFIX}:feed:{exchange}"


def alert_rules(exchange: str) -> str:
    """Hash: the enabled market alert rules of an exchange, `rules` (JSON, as
    alerts.rules.Rule.to_dict) and `version` (changes with every write)."""
    return f"{PREFIX}:alert-rules:{exchange}"


def alert_rules_channel(exchange: str) -> str:
    """Pub/sub channel: the alert rules of an exchange changed; the message is the
    new version. The feed reloads the rules when told (and checks every second)."""
    return f"{PREFIX}:alert-rules-changed:{exchange}"


def alert_events(exchange: str) -> str:
    """Stream, capped: market alert rule firings, written by the feed and stored as
    AlertEvent rows by the web side (alerts.ruleset)."""
    return f"{PREFIX}:alert-events:{exchange}"


def feed_shard(exchange: str, shard: str) -> str:
    """Hash: the status of one of several feeds side by side (`--shard NAME`, each
    with its own base coins), the fields of `feed`."""
    return f"{PREFIX}:feed:{exchange}:{shard}"


def feed_shards(exchange: str) -> str:
    """Set: the names of the shards that have written a status."""
    return f"{PREFIX}:feeds:{exchange}"


def refresh(exchange: str) -> str:
    """Hash: the outcome of the last symbol refreshes (options.store.REFRESH_FIELDS)."""
    return f"{PREFIX}:refresh:{exchange}"


def refresh_lock(exchange: str) -> str:
    """String: held (redis-py Lock) while one process refreshes the universe."""
    return f"{PREFIX}:lock:refresh:{exchange}"


def universe_channel(exchange: str) -> str:
    """Pub/sub channel: the symbol universe of an exchange changed (refresh, admin,
    expiry). The message is a short reason; the feed reloads the universe when told."""
    return f"{PREFIX}:universe:{exchange}"


def alert(exchange: str, problem: str) -> str:
    """String, with an expiry: a system alert (alerts.system) is firing; whoever
    sets it (SET NX) sends the alert, whoever deletes it sends the all-clear."""
    return f"{PREFIX}:alert:{exchange}:{problem}"


def contracts(exchange: str, base: str) -> str:
    """Hash: the universe the feed subscribes, one base coin: symbol -> the listed
    fields (options.contracts). Written by every refresh and the admin; read by the
    feed, which needs no database."""
    return f"{PREFIX}:contracts:{exchange}:{base}"


def contract_bases(exchange: str) -> str:
    """Hash: base coin -> how many contracts its `contracts` hash holds (0: none
    tracked). A base missing here is unknown (a Redis that lost its data), which the
    feed tells apart from a base whose contracts all left."""
    return f"{PREFIX}:contracts:{exchange}"
