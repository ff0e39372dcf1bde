"""The store's field names for one contract's latest state, and the field profiles.

These names are part of the public Redis schema (docs/redis-schema.md): every exchange
adapter maps its own names onto them, and every reader uses them.
"""

FIELDS = (
    "bid", "bid_size", "bid_iv",
    "ask", "ask_size", "ask_iv",
    "last", "mark", "mark_iv",
    "index", "underlying",
    "oi", "volume_24h", "turnover_24h", "total_volume", "total_turnover",
    "high_24h", "low_24h", "change_24h",
    "delta", "gamma", "vega", "theta",
    "predicted_delivery",
    "ts", "recv_ts",
)  # fmt: skip

# The chain's prices plus every field the analytics read (options.analytics.FIELDS).
ESSENTIAL = (
    "bid", "ask", "mark", "mark_iv", "underlying", "oi", "volume_24h", "delta",
    "gamma", "ts",
)  # fmt: skip

PROFILES = {
    "full": FIELDS,
    "essential": ESSENTIAL,
    "critical": ("bid", "ask", "mark", "mark_iv", "ts"),
}


def profile_fields(name: str) -> tuple[str, ...]:
    """The fields of a profile; ValueError names the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown field profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None
